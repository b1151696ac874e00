//! Search and suggestion latency of the knowledge index on a generated corpus (half Chinese,
//! half English), its build time, size and the process's memory, next to PostgreSQL
//! full-text search (`to_tsvector('simple', …)` with a GIN index, which does not segment
//! Chinese) on the same corpus and queries when PostgreSQL is reachable.
//!
//! `cargo bench -p aftercare-knowledge` (`KNOWLEDGE_BENCH_N` articles, default 10,000;
//! `KNOWLEDGE_BENCH_QUERIES` queries per measurement, default 500). One client, one thread.

use std::time::{Duration, Instant};

use aftercare_knowledge::domain::{Actor, ActorKind, Article, Kind, NewVersion, Visibility};
use aftercare_knowledge::index::{Indexable, SearchIndex, SearchQuery};
use uuid::Uuid;

const ZH: &[&str] = &[
    "洗衣机",
    "冰箱",
    "空调",
    "电视",
    "路由器",
    "热水器",
    "微波炉",
    "洗碗机",
    "吸尘器",
    "烤箱",
    "漏水",
    "不制冷",
    "无法开机",
    "噪音",
    "异味",
    "报错",
    "断电",
    "重启",
    "维修",
    "更换",
    "密封圈",
    "排水管",
    "进水管",
    "遥控器",
    "滤网",
    "压缩机",
    "电源",
    "指示灯",
    "温度",
    "程序",
    "处理方法",
    "检查",
    "清洁",
    "安装",
    "保修",
    "退货",
    "配件",
    "固件",
    "升级",
    "设置",
    "底部",
    "顶部",
    "后面",
    "门封",
    "显示屏",
    "按钮",
    "声音",
    "震动",
    "加热",
    "制冷",
];
const EN: &[&str] = &[
    "washing",
    "machine",
    "fridge",
    "freezer",
    "router",
    "heater",
    "microwave",
    "dishwasher",
    "vacuum",
    "oven",
    "leak",
    "leaking",
    "noise",
    "smell",
    "error",
    "power",
    "restart",
    "repair",
    "replace",
    "seal",
    "hose",
    "drain",
    "remote",
    "filter",
    "compressor",
    "light",
    "temperature",
    "program",
    "fix",
    "check",
    "clean",
    "install",
    "warranty",
    "return",
    "spare",
    "firmware",
    "update",
    "settings",
    "bottom",
    "door",
    "display",
    "button",
    "sound",
    "vibration",
    "heating",
    "cooling",
    "wifi",
    "connection",
    "pairing",
    "battery",
];

/// A small deterministic generator (xorshift64*), so every run indexes the same corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[usize::try_from(self.next() % words.len() as u64).unwrap_or(0)]
    }

    fn text(&mut self, words: &[&str], n: usize, chinese: bool) -> String {
        let picked: Vec<&str> = (0..n).map(|_| self.pick(words)).collect();
        if chinese {
            picked.concat()
        } else {
            picked.join(" ")
        }
    }
}

fn actor(id: &str) -> Actor {
    Actor {
        kind: ActorKind::Agent,
        id: id.into(),
        name: id.into(),
    }
}

fn article(rng: &mut Rng, i: usize) -> (Article, String, String) {
    let chinese = i.is_multiple_of(2);
    let (words, language) = if chinese { (ZH, "zh-CN") } else { (EN, "en") };
    let title = rng.text(words, 6, chinese);
    let body = rng.text(words, 80, chinese);
    let mut a = Article::create(
        Uuid::now_v7(),
        Kind::Troubleshooting,
        if i.is_multiple_of(10) {
            Visibility::Internal
        } else {
            Visibility::Public
        },
        None,
        vec![],
        vec![],
        vec![],
        "agents/bench",
        NewVersion {
            language: language.into(),
            title: title.clone(),
            body: body.clone(),
            change_note: String::new(),
            source_version: None,
        },
        Uuid::now_v7(),
        1,
    );
    a.submit(1, None, String::new(), actor("agents/bench"), 2)
        .expect("submit");
    a.approve(2, actor("agents/lead"), String::new(), 3)
        .expect("approve");
    a.publish(3, 4).expect("publish");
    (a, title, body)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(name: &str, mut latencies: Vec<Duration>) -> (Duration, Duration) {
    latencies.sort();
    let (p50, p99) = (percentile(&latencies, 0.50), percentile(&latencies, 0.99));
    println!(
        "{name:<44} n={:<6} p50={:>8.3} ms  p99={:>8.3} ms  max={:>8.3} ms",
        latencies.len(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    (p50, p99)
}

fn dir_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

/// The variable naming an index folder: the process then only serves queries from it.
const SERVE: &str = "KNOWLEDGE_BENCH_SERVE";

/// A process holding only the index (as the service does), answering searches and
/// suggestions, reports its memory: the corpus the main process generated is not in it.
async fn serve(dir: &str, queries_n: usize) {
    let before = rss_kib();
    let index = SearchIndex::open(std::path::Path::new(dir)).expect("open the index");
    let opened = rss_kib();
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut latencies = Vec::with_capacity(queries_n * 2);
    for i in 0..queries_n {
        let chinese = i.is_multiple_of(2);
        let (words, language) = if chinese { (ZH, "zh") } else { (EN, "en") };
        let q = rng.text(words, 3, chinese);
        let t = Instant::now();
        index
            .search(&SearchQuery {
                text: q,
                public_only: true,
                limit: 10,
                ..SearchQuery::default()
            })
            .expect("search");
        let text = format!(
            "{} {}",
            rng.text(words, 4, chinese),
            rng.text(words, 40, chinese)
        );
        index
            .search(&SearchQuery {
                text,
                language: Some(language.into()),
                public_only: true,
                limit: 5,
                ..SearchQuery::default()
            })
            .expect("suggest");
        latencies.push(t.elapsed());
    }
    println!(
        "serving process (index only, {} documents): RSS {:.1} MiB at start, {:.1} MiB with the index open (jieba dictionary loaded), {:.1} MiB after {queries_n} searches and {queries_n} suggestions (peak {:.1} MiB)",
        index.documents(),
        before as f64 / 1024.0,
        opened as f64 / 1024.0,
        rss_kib() as f64 / 1024.0,
        status_kib("VmHWM:") as f64 / 1024.0,
    );
    report("  search + suggestion in that process", latencies);
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n = env("KNOWLEDGE_BENCH_N", 10_000);
    let queries_n = env("KNOWLEDGE_BENCH_QUERIES", 500);
    if let Ok(dir) = std::env::var(SERVE) {
        serve(&dir, queries_n).await;
        return;
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let rss_start = rss_kib();
    let corpus: Vec<(Article, String, String)> = (0..n).map(|i| article(&mut rng, i)).collect();
    let dir = tempfile::tempdir().expect("a temporary folder");
    let index = SearchIndex::open(dir.path()).expect("open the index");
    let started = Instant::now();
    for (batch, chunk) in corpus.chunks(1_000).enumerate() {
        let items = chunk
            .iter()
            .map(|(a, _, _)| Indexable {
                id: a.id,
                article: Some(a.clone()),
            })
            .collect();
        index
            .apply(items, i64::try_from(batch + 1).unwrap_or(i64::MAX))
            .await
            .expect("index a batch");
    }
    let build = started.elapsed();
    println!(
        "corpus: {n} articles (half zh-CN, half en; 10% internal); index build {:.2} s, {} documents, {:.1} MiB on disk, process RSS {:.1} MiB (was {:.1} MiB before the corpus)",
        build.as_secs_f64(),
        index.documents(),
        dir_size(dir.path()) as f64 / 1_048_576.0,
        rss_kib() as f64 / 1024.0,
        rss_start as f64 / 1024.0,
    );

    // Queries: half Chinese (3 words run together, as typed), half English.
    let queries: Vec<String> = (0..queries_n)
        .map(|i| {
            if i.is_multiple_of(2) {
                rng.text(ZH, 3, true)
            } else {
                rng.text(EN, 3, false)
            }
        })
        .collect();
    let mut search = Vec::with_capacity(queries.len());
    let mut found = 0;
    for q in &queries {
        let t = Instant::now();
        let hits = index
            .search(&SearchQuery {
                text: q.clone(),
                public_only: true,
                limit: 10,
                ..SearchQuery::default()
            })
            .expect("search");
        search.push(t.elapsed());
        found += usize::from(!hits.hits.is_empty());
    }
    let (_, search_p99) = report("search (10 hits, public, all languages)", search);
    println!("  queries with a hit: {found}/{}", queries.len());

    // Suggestions: a subject and a description of a ticket, in the reader's language.
    let mut suggest = Vec::with_capacity(queries.len());
    for i in 0..queries.len() {
        let chinese = i.is_multiple_of(2);
        let (words, language) = if chinese { (ZH, "zh") } else { (EN, "en") };
        let text = format!(
            "{} {}",
            rng.text(words, 4, chinese),
            rng.text(words, 40, chinese)
        );
        let t = Instant::now();
        let mut hits = index
            .search(&SearchQuery {
                text,
                language: Some(language.into()),
                public_only: true,
                limit: 5,
                ..SearchQuery::default()
            })
            .expect("suggest")
            .hits;
        hits.retain(|h| h.score >= 0.3);
        suggest.push(t.elapsed());
    }
    let (_, suggest_p99) = report("suggestion (subject + description, 5 hits)", suggest);
    println!(
        "bench process RSS after the queries {:.1} MiB (corpus in memory)",
        rss_kib() as f64 / 1024.0
    );
    drop(index);
    let child = std::process::Command::new(std::env::current_exe().expect("this program"))
        .env(SERVE, dir.path())
        .env("KNOWLEDGE_BENCH_QUERIES", queries_n.to_string())
        .output()
        .expect("run the serving process");
    print!("{}", String::from_utf8_lossy(&child.stdout));

    // PostgreSQL full-text search on the same corpus.
    let Some(db) = aftercare_platform::testing::TestDatabase::postgres().await else {
        println!("postgresql: unreachable, comparison skipped");
        return;
    };
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(db.url())
        .await
        .expect("connect");
    sqlx::query("CREATE TABLE docs (id TEXT PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL)")
        .execute(&pool)
        .await
        .expect("create");
    let started = Instant::now();
    for chunk in corpus.chunks(500) {
        let mut qb =
            sqlx::QueryBuilder::<sqlx::Postgres>::new("INSERT INTO docs (id, title, body) ");
        qb.push_values(chunk, |mut b, (a, title, body)| {
            b.push_bind(a.id.to_string())
                .push_bind(title)
                .push_bind(body);
        });
        qb.build().execute(&pool).await.expect("insert");
    }
    sqlx::query(
        "CREATE INDEX docs_fts ON docs USING GIN ((setweight(to_tsvector('simple', title), 'A') || to_tsvector('simple', body)))",
    )
    .execute(&pool)
    .await
    .expect("index");
    let pg_build = started.elapsed();
    let size: i64 = sqlx::query_scalar("SELECT pg_total_relation_size('docs')")
        .fetch_one(&pool)
        .await
        .expect("size");
    println!(
        "postgresql: load + GIN index {:.2} s, table with index {:.1} MiB",
        pg_build.as_secs_f64(),
        size as f64 / 1_048_576.0
    );
    let mut pg = Vec::with_capacity(queries.len());
    let mut pg_found = 0;
    for q in &queries {
        let t = Instant::now();
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM docs
             WHERE (setweight(to_tsvector('simple', title), 'A') || to_tsvector('simple', body)) @@ plainto_tsquery('simple', $1)
             ORDER BY ts_rank(setweight(to_tsvector('simple', title), 'A') || to_tsvector('simple', body), plainto_tsquery('simple', $1)) DESC
             LIMIT 10",
        )
        .bind(q)
        .fetch_all(&pool)
        .await
        .expect("pg search");
        pg.push(t.elapsed());
        pg_found += usize::from(!rows.is_empty());
    }
    let (_, pg_p99) = report("postgresql full-text (same queries)", pg);
    println!(
        "  queries with a hit: {pg_found}/{} (Chinese is not segmented: a run of Han characters is one token)",
        queries.len()
    );
    println!(
        "ratio p99 postgresql / tantivy: search {:.1}x; tantivy suggestion p99 {:.3} ms",
        pg_p99.as_secs_f64() / search_p99.as_secs_f64().max(1e-9),
        suggest_p99.as_secs_f64() * 1e3
    );
    pool.close().await;
}

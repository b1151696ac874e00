//! The feedback service's figures: classification latency of a 200-character Chinese comment
//! (jieba segmentation + lexicon), and `GetFeedbackStats` over 100,000 responses through gRPC
//! on SQLite (and PostgreSQL when reachable).
//!
//! `cargo bench -p aftercare-feedback` (`FEEDBACK_BENCH_RESPONSES`, default 100,000;
//! `FEEDBACK_BENCH_CALLS` stats calls per measurement, default 50).

use std::time::{Duration, Instant};

use aftercare_feedback::{FeedbackService, classify};
use aftercare_platform::auth::{Principal, Role};
use aftercare_platform::testing::{TestDatabase, TestService};
use aftercare_platform::time::{now_micros, to_timestamp};
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::feedback::v1 as pb;
use aftercare_proto::aftercare::feedback::v1::feedback_service_client::FeedbackServiceClient;

const FRAGMENTS: &[&str] = &[
    "师傅上门很晚，",
    "态度也不好，",
    "非常不满意。",
    "客服很耐心地解释了保修政策，",
    "洗衣机用了两个月就开始漏水，",
    "物流太慢了，等了一个星期才到货，",
    "发票到现在还没有开，",
    "维修之后噪音小了很多，",
    "总体来说还可以，但是希望下次能更快一点。",
    "感谢王师傅的认真负责，",
    "电话打了好几次都没人接，",
    "价格有点贵，不过质量不错。",
];

fn comment(seed: usize) -> String {
    let mut text = String::new();
    let mut i = seed;
    while text.chars().count() < 200 {
        text.push_str(FRAGMENTS[i % FRAGMENTS.len()]);
        i = i.wrapping_mul(7).wrapping_add(3);
    }
    text.chars().take(200).collect()
}

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration, Duration) {
    samples.sort();
    let at = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    (at(0.50), at(0.99), *samples.last().unwrap())
}

fn bench_classification() {
    let comments: Vec<String> = (0..500).map(comment).collect();
    let started = Instant::now();
    let _ = classify("预热");
    println!(
        "jieba dictionary load (once per process): {:?}",
        started.elapsed()
    );
    for text in comments.iter().take(50) {
        std::hint::black_box(classify(text));
    }
    let mut samples = Vec::with_capacity(5_000);
    for round in 0..10 {
        for text in &comments {
            let started = Instant::now();
            std::hint::black_box(classify(text));
            samples.push(started.elapsed());
        }
        let _ = round;
    }
    let (p50, p99, max) = percentiles(samples);
    println!(
        "classify a 200-character Chinese comment: p50 {p50:?}  p99 {p99:?}  max {max:?}  (5,000 calls)"
    );
}

async fn bench_stats(db: TestDatabase, label: &str, responses: usize, calls: usize) {
    let service = TestService::start(&FeedbackService::new(), &db).await;
    let pool = service.db().writer().clone();
    let now = now_micros();
    let day = 86_400_000_000_i64;
    let regions = ["cn-east", "cn-north", "eu-west", "us-east"];
    let started = Instant::now();
    let mut tx = pool.begin().await.expect("begin");
    for i in 0..responses {
        let id = uuid::Uuid::now_v7().to_string();
        let time = now - (i as i64 % 90) * day - (i as i64 % 1000) * 1_000_000;
        sqlx::query(
            "INSERT INTO responses (id, invitation_id, survey_id, customer, ticket, csat_score, nps_score, ces_score,
                comment, language, channel, detractor, region, team, agent, recorder, version, create_time, update_time)
             VALUES ($1, $2, $3, $4, '', $5, $6, $7, '', 'zh-CN', $8, $9, $10, $11, $12, '{}', 1, $13, $13)",
        )
        .bind(&id)
        .bind(uuid::Uuid::now_v7().to_string())
        .bind("0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b")
        .bind(format!("customers/{}", i % 5000))
        .bind((i % 5 + 1) as i64)
        .bind((i % 11) as i64)
        .bind((i % 7 + 1) as i64)
        .bind((i % 6 + 1) as i64)
        .bind(i64::from(i % 5 < 2))
        .bind(regions[i % regions.len()])
        .bind(format!("teams/{}", i % 20))
        .bind(format!("agents/{}", i % 200))
        .bind(time)
        .execute(&mut *tx)
        .await
        .expect("insert a response");
    }
    tx.commit().await.expect("commit");
    println!(
        "[{label}] loaded {responses} responses in {:?}",
        started.elapsed()
    );
    let client = FeedbackServiceClient::new(service.channel());
    let analyst = Principal {
        subject: "analysts/bench".into(),
        roles: vec![Role::Analyst],
        region: None,
        customer: None,
        scopes: Vec::new(),
        display_name: None,
        via: None,
    };
    for (name, group_by, interval) in [
        ("90 days by day", vec![], common::Interval::Day),
        (
            "90 days by week, region and channel",
            vec![
                pb::FeedbackStatsDimension::Region,
                pb::FeedbackStatsDimension::Channel,
            ],
            common::Interval::Week,
        ),
        (
            "90 days by month and agent",
            vec![pb::FeedbackStatsDimension::Agent],
            common::Interval::Month,
        ),
    ] {
        let mut samples = Vec::with_capacity(calls);
        let mut groups = 0;
        for _ in 0..calls {
            let request = service.request(
                &analyst,
                pb::GetFeedbackStatsRequest {
                    start_time: Some(to_timestamp(now - 91 * day)),
                    end_time: Some(to_timestamp(now + day)),
                    interval: interval as i32,
                    group_by: group_by.iter().map(|d| *d as i32).collect(),
                    filter: String::new(),
                },
            );
            let started = Instant::now();
            let response = client
                .clone()
                .get_feedback_stats(request)
                .await
                .expect("stats")
                .into_inner();
            samples.push(started.elapsed());
            groups = response.groups.len();
        }
        let (p50, p99, max) = percentiles(samples);
        println!(
            "[{label}] stats over {responses} responses, {name} ({groups} groups): p50 {p50:?}  p99 {p99:?}  max {max:?}"
        );
    }
    service.stop().await;
}

fn main() {
    let responses = std::env::var("FEEDBACK_BENCH_RESPONSES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let calls = std::env::var("FEEDBACK_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    bench_classification();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        bench_stats(TestDatabase::sqlite(), "sqlite", responses, calls).await;
        if let Some(db) = TestDatabase::postgres().await {
            bench_stats(db, "postgres", responses, calls).await;
        }
    });
}

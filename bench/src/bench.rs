//! `make bench`: every figure of issue #13 in one run and one table.
//!
//! 1. The platform as a user starts it (`aftercare up`, SQLite, a fresh data folder): time to
//!    ready, idle RSS; ticket create / get / list / reply through the gateway (REST and gRPC)
//!    and direct, at a fixed concurrency; loaded RSS.
//! 2. The engines in the same run: SQLite outside sqlx and through sqlx, PostgreSQL through a
//!    pool of the services' size; single-row autocommit and batched.
//! 3. The platform on PostgreSQL: direct create, for the PostgreSQL ratio.
//! 4. Reads at scale: tickets loaded in bulk into the stopped platform's database, get and
//!    list p99 at the small and the large count.
//! 5. The ratios the issue sets goals on.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aftercare_platform::testing::TestDatabase;
use anyhow::Context as _;
use serde_json::json;

use crate::load::{self, Mode, Outcome};
use crate::ops::{Clients, Op, Route};
use crate::platform::{Launch, Platform, SERVICES};
use crate::report::Report;
use crate::{bulk, engine};

/// The settings of a run.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// The `aftercare` binary to start (build it with `cargo build --release`).
    #[arg(long, default_value = "target/release/aftercare")]
    pub binary: PathBuf,
    /// Concurrent clients of each closed-loop load.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Measured time of each load (`5s`, `1m`).
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Unmeasured warm-up before each load.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,
    /// Offer the API loads open loop at this many calls per second instead of closed loop
    /// (latency then counts from each call's due time).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Tickets for the small read-at-scale measurement.
    #[arg(long, default_value_t = 10_000)]
    pub small: u64,
    /// Tickets for the large read-at-scale measurement (0 skips both).
    #[arg(long, default_value_t = 1_000_000)]
    pub large: u64,
    /// Skip the platform-on-PostgreSQL run and the PostgreSQL engine figures.
    #[arg(long)]
    pub no_postgres: bool,
    /// Where the JSON goes (default `target/bench/<UTC time>.json`).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Keep the data folders (their paths are printed) instead of removing them.
    #[arg(long)]
    pub keep: bool,
}

/// Random secrets for one run (hex, 64 characters).
fn secret() -> String {
    let a = uuid::Uuid::new_v4().simple().to_string();
    let b = uuid::Uuid::new_v4().simple().to_string();
    format!("{a}{b}")
}

/// A fresh data folder and the launch settings of the platform on it.
pub struct Scratch {
    dir: tempfile::TempDir,
    /// How the platform is started.
    pub launch: Launch,
}

impl Scratch {
    /// A new data folder under the system's temporary folder.
    pub fn new(binary: &std::path::Path, prefix: &str) -> anyhow::Result<Self> {
        let binary = std::fs::canonicalize(binary).with_context(|| {
            format!(
                "no aftercare binary at {} (cargo build --release --bin aftercare)",
                binary.display()
            )
        })?;
        let dir = tempfile::Builder::new().prefix(prefix).tempdir()?;
        let launch = Launch {
            binary,
            data_dir: dir.path().join("data"),
            principal_secret: secret(),
            jwt_secret: secret(),
            database_urls: BTreeMap::new(),
        };
        Ok(Self { dir, launch })
    }

    /// Keeps the folder after the run; returns its path.
    pub fn keep(self) -> PathBuf {
        self.dir.keep()
    }
}

fn megabytes(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Samples the platform's RSS every 100 ms until dropped; the peak is kept.
struct RssPeak {
    peak: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl RssPeak {
    fn watch(pid: u32) -> Self {
        let peak = Arc::new(AtomicU64::new(0));
        let seen = peak.clone();
        let task = tokio::spawn(async move {
            loop {
                if let Ok(rss) = crate::platform::rss_of(pid) {
                    seen.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Self { peak, task }
    }

    fn peak(self) -> u64 {
        self.task.abort();
        self.peak.load(Ordering::Relaxed)
    }
}

fn mode(args: &BenchArgs) -> Mode {
    match args.rate {
        Some(rate) => Mode::Open {
            rate,
            max_in_flight: 4_096,
        },
        None => Mode::Closed {
            clients: args.clients,
        },
    }
}

fn machine() -> serde_json::Value {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("MemTotal:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0.0, |kb| kb as f64 / (1024.0 * 1024.0));
    json!(format!("{cores} cores, {cpu}, {memory:.0} GB"))
}

fn commit() -> String {
    std::process::Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Runs the whole benchmark; prints the table and writes the JSON.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let started = chrono::Utc::now();
    let mut report = Report::default();
    report.header.push((
        "date".into(),
        json!(started.format("%Y-%m-%d %H:%M UTC").to_string()),
    ));
    report.header.push(("machine".into(), machine()));
    report.header.push(("commit".into(), json!(commit())));
    report
        .header
        .push(("binary".into(), json!(args.binary.display().to_string())));
    report.header.push((
        "load".into(),
        json!(format!(
            "{}, {:?} measured after {:?} warm-up, per figure; generator on the same cores",
            mode(&args),
            args.duration,
            args.warmup
        )),
    ));
    eprintln!("bench: the platform on SQLite");
    let scratch = Scratch::new(&args.binary, "aftercare-bench-")?;
    let template = api_figures(&args, &scratch.launch, &mut report).await?;
    eprintln!("bench: the engines");
    engine_figures(&args, &scratch.launch, &mut report).await?;
    if args.no_postgres {
        report.section("the platform on PostgreSQL");
        report.missing(
            "postgres.create.direct",
            "create  direct gRPC",
            "/s",
            "--no-postgres",
        );
    } else {
        eprintln!("bench: the platform on PostgreSQL");
        postgres_platform(&args, &scratch.launch, &mut report).await?;
    }
    if args.large > 0 {
        scale_figures(&args, &scratch.launch, &template, &mut report).await?;
    }
    ratios(&args, &mut report);
    println!("{}", report.table());
    let path = args.json.clone().unwrap_or_else(|| {
        PathBuf::from("target/bench").join(format!("{}.json", started.format("%Y-%m-%dT%H%M%SZ")))
    });
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&path, serde_json::to_string_pretty(&report.json())?)?;
    println!("figures written to {}", path.display());
    if args.keep {
        println!("data kept in {}", scratch.keep().display());
    }
    Ok(())
}

/// Part 1: start, idle, the API loads, loaded. Returns the id of a ticket to copy in bulk.
async fn api_figures(
    args: &BenchArgs,
    launch: &Launch,
    report: &mut Report,
) -> anyhow::Result<String> {
    let platform = Platform::start(launch).await?;
    report.section("the platform (aftercare up, SQLite)");
    report.value(
        "platform.ready",
        "time to ready (spawn → every health SERVING)",
        platform.ready.as_secs_f64(),
        "s",
        "goal ≤ 0.5 s",
    );
    // Settled: the first relays and health polls have run.
    tokio::time::sleep(Duration::from_secs(2)).await;
    report.value(
        "platform.rss.idle",
        "idle RSS",
        megabytes(platform.rss()?),
        "MB",
        "goal ≤ 60 MB",
    );
    let clients = Clients::connect(
        platform.gateway,
        platform.service("tickets"),
        &launch.principal_secret,
        &launch.jwt_secret,
        args.clients,
        8,
    )
    .await?;
    let mut clients = clients;
    clients.tickets = clients.create_tickets(256).await?;
    let template = clients.tickets[0]
        .strip_prefix("tickets/")
        .context("a ticket name")?
        .to_owned();
    let clients = Arc::new(clients);
    report.section(format!(
        "tickets through the API ({}; one customer per call of 8, get/reply on 256 tickets)",
        mode(args)
    ));
    let peak = RssPeak::watch(platform.pid()?);
    for op in Op::ALL {
        for route in Route::ALL {
            eprintln!("bench: {} by {}", op.name(), route.name());
            let outcome = load::run(
                mode(args),
                args.warmup,
                args.duration,
                clients.call(op, route),
            )
            .await;
            report.load(
                &format!("api.{}.{}", key(op.name()), key(route.name())),
                &format!("{:<8} {}", op.name(), route.name()),
                &outcome,
            );
        }
    }
    report.value(
        "platform.rss.loaded_peak",
        "loaded RSS (peak during the loads)",
        megabytes(peak.peak()),
        "MB",
        "",
    );
    report.value(
        "platform.rss.after",
        "RSS after the loads",
        megabytes(platform.rss()?),
        "MB",
        "",
    );
    drop(clients);
    platform.stop().await?;
    Ok(template)
}

fn key(name: &str) -> String {
    name.to_lowercase()
        .replace([' ', '-'], "_")
        .trim_end_matches("_25")
        .to_owned()
}

/// Part 2: the engines.
async fn engine_figures(
    args: &BenchArgs,
    launch: &Launch,
    report: &mut Report,
) -> anyhow::Result<()> {
    let duration = args.duration;
    let dir = launch.data_dir.join("engines");
    std::fs::create_dir_all(&dir)?;
    report.section(format!(
        "engines (rows/s; WAL, synchronous=NORMAL; {} tasks through sqlx)",
        args.clients
    ));
    for (batch, label, key) in [
        (1, "autocommit", "autocommit"),
        (engine::BATCH, "100 per transaction", "batched"),
    ] {
        let path = dir.join(format!("rusqlite-{key}.db"));
        let rate =
            tokio::task::spawn_blocking(move || engine::rusqlite_inserts(&path, batch, duration))
                .await??;
        report.value(
            &format!("engine.sqlite.rusqlite.{key}"),
            &format!("SQLite rusqlite 1 thread, {label}"),
            rate,
            "/s",
            "",
        );
    }
    for (batch, label, key) in [
        (1, "autocommit", "autocommit"),
        (engine::BATCH, "100 per transaction", "batched"),
    ] {
        let url = format!("sqlite://{}", dir.join(format!("sqlx-{key}.db")).display());
        let db = engine::open(&url).await?;
        let rate = engine::sqlx_inserts(&db, args.clients, batch, duration).await?;
        db.close().await;
        report.value(
            &format!("engine.sqlite.sqlx.{key}"),
            &format!("SQLite sqlx (platform's pool), {label}"),
            rate,
            "/s",
            "",
        );
    }
    let postgres = if args.no_postgres {
        Err("--no-postgres".to_owned())
    } else {
        match TestDatabase::postgres().await {
            Some(db) => Ok(db),
            None => Err(
                "PostgreSQL is unreachable (AFTERCARE_TEST_POSTGRES_URL, default \
                 postgres://postgres@127.0.0.1:5432/postgres)"
                    .to_owned(),
            ),
        }
    };
    let pool = aftercare_platform::db::PoolSettings::default().max_connections;
    for (batch, label, key) in [
        (1, "autocommit", "autocommit"),
        (engine::BATCH, "100 per transaction", "batched"),
    ] {
        let label = format!("PostgreSQL sqlx pool of {pool}, {label}");
        let key = format!("engine.postgres.sqlx.{key}");
        match &postgres {
            Ok(test_db) => {
                let db = engine::open(test_db.url()).await?;
                let rate = engine::sqlx_inserts(&db, args.clients, batch, duration).await?;
                db.close().await;
                report.value(&key, &label, rate, "/s", "");
            }
            Err(why) => report.missing(&key, &label, "/s", why),
        }
    }
    Ok(())
}

/// Part 3: the platform with every service on PostgreSQL, direct create.
async fn postgres_platform(
    args: &BenchArgs,
    launch: &Launch,
    report: &mut Report,
) -> anyhow::Result<()> {
    report.section("the platform on PostgreSQL (aftercare up, one database per service)");
    let mut databases = Vec::new();
    for _ in SERVICES {
        match TestDatabase::postgres().await {
            Some(db) => databases.push(db),
            None => {
                report.missing(
                    "postgres.create.direct",
                    "create   direct gRPC",
                    "/s",
                    "PostgreSQL is unreachable",
                );
                return Ok(());
            }
        }
    }
    let mut launch = launch.clone();
    launch.data_dir = launch.data_dir.join("postgres");
    for (name, db) in SERVICES.iter().zip(&databases) {
        launch.database_urls.insert(name, db.url().to_owned());
    }
    let platform = Platform::start(&launch).await?;
    report.value(
        "postgres.ready",
        "time to ready",
        platform.ready.as_secs_f64(),
        "s",
        "",
    );
    let clients = Arc::new(
        Clients::connect(
            platform.gateway,
            platform.service("tickets"),
            &launch.principal_secret,
            &launch.jwt_secret,
            args.clients,
            8,
        )
        .await?,
    );
    for route in [Route::Gateway, Route::Direct] {
        let outcome: Outcome = load::run(
            mode(args),
            args.warmup,
            args.duration,
            clients.call(Op::Create, route),
        )
        .await;
        report.load(
            &format!("postgres.create.{}", key(route.name())),
            &format!("create   {}", route.name()),
            &outcome,
        );
    }
    drop(clients);
    platform.stop().await?;
    drop(databases);
    Ok(())
}

/// Part 4: get and list at the small and the large ticket count.
async fn scale_figures(
    args: &BenchArgs,
    launch: &Launch,
    template: &str,
    report: &mut Report,
) -> anyhow::Result<()> {
    let database = launch.data_dir.join("tickets.db");
    for (size, label) in [(args.small, "small"), (args.large, "large")] {
        eprintln!("bench: loading {size} tickets");
        let path = database.clone();
        let template = template.to_owned();
        let loaded =
            tokio::task::spawn_blocking(move || bulk::fill(&path, &template, size)).await??;
        let platform = Platform::start(launch).await?;
        report.section(format!(
            "reads at {} tickets (direct gRPC, {})",
            crate::report::number(loaded.total as f64),
            mode(args)
        ));
        report.value(
            &format!("scale.{label}.tickets"),
            "tickets in the database",
            loaded.total as f64,
            "",
            &format!(
                "{} loaded in bulk in {:.1} s",
                crate::report::number(loaded.inserted as f64),
                loaded.elapsed.as_secs_f64()
            ),
        );
        report.value(
            &format!("scale.{label}.ready"),
            "time to ready",
            platform.ready.as_secs_f64(),
            "s",
            "",
        );
        let mut clients = Clients::connect(
            platform.gateway,
            platform.service("tickets"),
            &launch.principal_secret,
            &launch.jwt_secret,
            args.clients,
            1,
        )
        .await?;
        clients.tickets = loaded.sample;
        let clients = Arc::new(clients);
        for op in [Op::Get, Op::List] {
            let outcome = load::run(
                mode(args),
                args.warmup,
                args.duration,
                clients.call(op, Route::Direct),
            )
            .await;
            report.load(
                &format!("scale.{label}.{}", key(op.name())),
                op.name(),
                &outcome,
            );
        }
        report.value(
            &format!("scale.{label}.rss"),
            "RSS after the reads",
            megabytes(platform.rss()?),
            "MB",
            "",
        );
        drop(clients);
        platform.stop().await?;
    }
    Ok(())
}

/// Part 5: the ratios of the goals.
fn ratios(args: &BenchArgs, report: &mut Report) {
    report.section("ratios (issue #13's goals)");
    for op in ["create", "get", "list", "reply"] {
        let gateway = report.number(&format!("api.{op}.gateway_grpc"));
        let rest = report.number(&format!("api.{op}.gateway_rest"));
        let direct = report.number(&format!("api.{op}.direct_grpc"));
        let goal = if op == "create" || op == "get" {
            "goal ≥ 0.85"
        } else {
            ""
        };
        report.ratio(
            &format!("ratio.{op}.gateway_grpc_over_direct"),
            &format!("{op}: gateway gRPC / direct"),
            gateway,
            direct,
            goal,
        );
        report.ratio(
            &format!("ratio.{op}.gateway_rest_over_direct"),
            &format!("{op}: gateway REST / direct"),
            rest,
            direct,
            "",
        );
    }
    for op in ["create", "get"] {
        let p99 = |route: &str| {
            report
                .get(&format!("api.{op}.{route}"))
                .and_then(|figure| figure.p99_ms)
        };
        match (p99("gateway_grpc"), p99("direct_grpc")) {
            (Some(gateway), Some(direct)) => report.value(
                &format!("ratio.{op}.p99_added_ms"),
                &format!("{op}: p99 added by the gateway (gRPC)"),
                gateway - direct,
                "ms",
                "goal ≤ 1 ms",
            ),
            _ => report.missing(
                &format!("ratio.{op}.p99_added_ms"),
                &format!("{op}: p99 added by the gateway (gRPC)"),
                "ms",
                "a figure it needs is missing",
            ),
        }
    }
    report.ratio(
        "ratio.create_over_sqlite_autocommit",
        "direct create / SQLite autocommit (rusqlite)",
        report.number("api.create.direct_grpc"),
        report.number("engine.sqlite.rusqlite.autocommit"),
        "goal ≥ 0.25",
    );
    report.ratio(
        "ratio.postgres_create_over_insert",
        "PostgreSQL direct create / PostgreSQL insert",
        report.number("postgres.create.direct_grpc"),
        report.number("engine.postgres.sqlx.autocommit"),
        "goal ≥ 0.5",
    );
    // django-helpdesk was measured once, by hand, before this bench existed (issue #13).
    report.ratio(
        "ratio.create_rest_over_django",
        "gateway REST create / django-helpdesk 81/s",
        report.number("api.create.gateway_rest"),
        Some(81.0),
        "goal ≥ 50; django not measured in this run (issue #13's figure)",
    );
    if args.large > 0 {
        for op in ["get", "list"] {
            let p99 = |size: &str| {
                report
                    .get(&format!("scale.{size}.{op}"))
                    .and_then(|figure| figure.p99_ms)
            };
            report.ratio(
                &format!("ratio.{op}.p99_large_over_small"),
                &format!(
                    "{op}: p99 at {} / p99 at {}",
                    crate::report::number(args.large as f64),
                    crate::report::number(args.small as f64)
                ),
                p99("large"),
                p99("small"),
                "goal ≤ 1.5",
            );
        }
    }
}

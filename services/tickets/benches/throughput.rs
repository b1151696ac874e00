//! Create, get, list and statistics throughput and latency percentiles of the tickets
//! service over gRPC, on SQLite and on PostgreSQL (when reachable), next to the raw single-row insert
//! rate of the same database.
//!
//! `cargo bench -p aftercare-tickets` (set `TICKETS_BENCH_N` to change the number of calls
//! per measurement, default 1,000). Every loop is bounded; only 127.0.0.1 is contacted.
//! The tickets name 100 real customers of a customers service (on SQLite) started
//! alongside, created before measuring.

use std::time::{Duration, Instant};

use aftercare_customers::CustomersService;
use aftercare_platform::auth::{Principal, Role};
use aftercare_platform::testing::{TestDatabase, TestService};
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::customers::v1 as customers_pb;
use aftercare_proto::aftercare::customers::v1::customer_service_client::CustomerServiceClient;
use aftercare_proto::aftercare::tickets::v1 as pb;
use aftercare_proto::aftercare::tickets::v1::ticket_service_client::TicketServiceClient;
use aftercare_tickets::{CustomersEndpoint, TicketsService};

const CONCURRENCY: usize = 8;

/// How many customers the tickets are spread over.
const CUSTOMERS: usize = 100;

/// How many GetTicketStats calls are measured (over all the tickets created).
const STATS_CALLS: usize = 20;

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn lead() -> Principal {
    Principal {
        subject: "agents/bench".into(),
        roles: vec![Role::Lead],
        region: None,
        customer: None,
        scopes: vec![],
        display_name: None,
        via: None,
    }
}

fn new_ticket(customers: &[String], i: usize) -> pb::CreateTicketRequest {
    pb::CreateTicketRequest {
        ticket: Some(pb::Ticket {
            customer: customers[i % customers.len()].clone(),
            channel: common::Channel::Web as i32,
            subject: format!("Washing machine {i} won't turn on"),
            description: "Since yesterday it shows E3 and does not start. 洗衣机无法开机。".into(),
            region: "eu-west".into(),
            ..Default::default()
        }),
        request_id: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    }
}

/// Latencies of one measurement.
struct Run {
    name: &'static str,
    wall: Duration,
    latencies: Vec<Duration>,
}

impl Run {
    fn report(mut self, backend: &str) {
        self.latencies.sort();
        let pct = |p: f64| {
            let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
            self.latencies[i].as_secs_f64() * 1_000.0
        };
        println!(
            "{backend:<8} {:<22} {:>6} calls {:>9.0} /s   p50 {:>7.2} ms   p90 {:>7.2} ms   p99 {:>7.2} ms",
            self.name,
            self.latencies.len(),
            self.latencies.len() as f64 / self.wall.as_secs_f64(),
            pct(0.50),
            pct(0.90),
            pct(0.99),
        );
    }
}

async fn measure<F, Fut>(name: &'static str, n: usize, concurrency: usize, call: F) -> Run
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let start = Instant::now();
    let per_worker = n / concurrency;
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let call = call.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(per_worker);
                for i in 0..per_worker {
                    let t = Instant::now();
                    call(w * per_worker + i).await;
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(n);
    for worker in workers {
        latencies.extend(worker.await.expect("a bench worker"));
    }
    Run {
        name,
        wall: start.elapsed(),
        latencies,
    }
}

async fn bench(db: TestDatabase, n: usize) {
    let backend = match db.backend() {
        aftercare_platform::db::Backend::Sqlite => "sqlite",
        aftercare_platform::db::Backend::Postgres => "postgres",
    };
    let customers_db = TestDatabase::sqlite();
    let customers_service = TestService::start(&CustomersService, &customers_db).await;
    let customers = create_customers(&customers_service).await;
    let definition = TicketsService::new().with_customers(CustomersEndpoint {
        channel: customers_service.channel(),
        principals: customers_service.principals().clone(),
    });
    let service = TestService::start(&definition, &db).await;
    let client = TicketServiceClient::new(service.channel());
    let lead = lead();
    // Requests are signed up front (signing is the gateway's cost, not the service's).
    let creates: Vec<_> = (0..n)
        .map(|i| service.request(&lead, new_ticket(&customers, i)))
        .collect();
    let creates = std::sync::Arc::new(std::sync::Mutex::new(
        creates.into_iter().map(Some).collect::<Vec<_>>(),
    ));
    let names = std::sync::Arc::new(std::sync::Mutex::new(vec![String::new(); n]));

    for (label, concurrency) in [
        ("create (1 client)", 1),
        ("create (8 clients)", CONCURRENCY),
    ] {
        let count = n / 2;
        let offset = if concurrency == 1 { 0 } else { n / 2 };
        let (client, creates, names) = (client.clone(), creates.clone(), names.clone());
        measure(label, count, concurrency, move |i| {
            let (mut client, creates, names) = (client.clone(), creates.clone(), names.clone());
            async move {
                let request = creates.lock().unwrap()[offset + i]
                    .take()
                    .expect("a request");
                let ticket = client
                    .create_ticket(request)
                    .await
                    .expect("create")
                    .into_inner()
                    .ticket
                    .unwrap();
                names.lock().unwrap()[offset + i] = ticket.name;
            }
        })
        .await
        .report(backend);
    }
    let names: Vec<String> = names.lock().unwrap().clone();
    let gets: Vec<_> = (0..n)
        .map(|i| {
            Some(service.request(
                &lead,
                pb::GetTicketRequest {
                    name: names[i].clone(),
                },
            ))
        })
        .collect();
    let gets = std::sync::Arc::new(std::sync::Mutex::new(gets));
    {
        let (client, gets) = (client.clone(), gets.clone());
        measure("get (8 clients)", n, CONCURRENCY, move |i| {
            let (mut client, gets) = (client.clone(), gets.clone());
            async move {
                let request = gets.lock().unwrap()[i].take().expect("a request");
                client.get_ticket(request).await.expect("get");
            }
        })
        .await
        .report(backend);
    }
    let lists: Vec<_> = (0..n / 5)
        .map(|i| {
            Some(service.request(
                &lead,
                pb::ListTicketsRequest {
                    page_size: 50,
                    filter: format!(
                        "customer = \"{}\" AND status = NEW",
                        customers[i % customers.len()]
                    ),
                    ..Default::default()
                },
            ))
        })
        .collect();
    let lists = std::sync::Arc::new(std::sync::Mutex::new(lists));
    {
        let (client, lists) = (client.clone(), lists.clone());
        measure("list 50 (8 clients)", n / 5, CONCURRENCY, move |i| {
            let (mut client, lists) = (client.clone(), lists.clone());
            async move {
                let request = lists.lock().unwrap()[i].take().expect("a request");
                client.list_tickets(request).await.expect("list");
            }
        })
        .await
        .report(backend);
    }
    // Statistics over every ticket created above, by hour and region: aggregated in the
    // database, so the service reads one row per group, not one per ticket.
    let stats: Vec<_> = (0..STATS_CALLS)
        .map(|_| {
            Some(service.request(
                &lead,
                pb::GetTicketStatsRequest {
                    start_time: Some(prost_types::Timestamp {
                        seconds: chrono_now() - 86_400,
                        nanos: 0,
                    }),
                    group_by: vec![
                        pb::TicketStatsDimension::Period as i32,
                        pb::TicketStatsDimension::Region as i32,
                    ],
                    interval: common::Interval::Hour as i32,
                    ..Default::default()
                },
            ))
        })
        .collect();
    let stats = std::sync::Arc::new(std::sync::Mutex::new(stats));
    {
        let (client, stats) = (client.clone(), stats.clone());
        measure("stats hour x region", STATS_CALLS, 1, move |i| {
            let (mut client, stats) = (client.clone(), stats.clone());
            async move {
                let request = stats.lock().unwrap()[i].take().expect("a request");
                let total = client
                    .get_ticket_stats(request)
                    .await
                    .expect("stats")
                    .into_inner()
                    .total
                    .expect("a total");
                assert!(total.created_count >= 1);
            }
        })
        .await
        .report(backend);
    }
    // The raw rate of the same database: one row per transaction, one writer.
    let database = service.db().clone();
    sqlx::query(
        "CREATE TABLE bench_raw (id TEXT PRIMARY KEY, payload TEXT NOT NULL, at BIGINT NOT NULL)",
    )
    .execute(database.writer())
    .await
    .expect("create the raw table");
    let raw = {
        let database = database.clone();
        measure("raw insert (1 writer)", n, 1, move |i| {
            let database = database.clone();
            async move {
                let mut tx = database.begin().await.expect("begin");
                sqlx::query("INSERT INTO bench_raw (id, payload, at) VALUES ($1, $2, $3)")
                    .bind(uuid::Uuid::now_v7().to_string())
                    .bind(format!("row {i}"))
                    .bind(i as i64)
                    .execute(&mut *tx)
                    .await
                    .expect("insert");
                tx.commit().await.expect("commit");
            }
        })
        .await
    };
    raw.report(backend);
    service.stop().await;
    customers_service.stop().await;
}

/// Resolves `CUSTOMERS` email identities to (new) customers, as the tickets service does,
/// returning their names.
async fn create_customers(customers: &TestService) -> Vec<String> {
    let client = CustomerServiceClient::new(customers.channel());
    let mut names = Vec::with_capacity(CUSTOMERS);
    for i in 0..CUSTOMERS {
        let request = customers.request(
            &Principal::service("tickets"),
            customers_pb::ResolveIdentityRequest {
                identity: Some(common::ChannelIdentity {
                    channel: common::Channel::Email as i32,
                    handle: format!("bench-{i}@example.com"),
                    provider: String::new(),
                }),
                hints: Some(customers_pb::ResolveIdentityHints {
                    display_name: format!("Bench customer {i}"),
                    ..Default::default()
                }),
                lookup_only: false,
            },
        );
        let customer = client
            .clone()
            .resolve_identity(request)
            .await
            .expect("resolve a customer")
            .into_inner()
            .customer
            .expect("a customer");
        names.push(customer.name);
    }
    names
}

fn main() {
    let n: usize = std::env::var("TICKETS_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
        .clamp(80, 100_000)
        / 80
        * 80; // every measurement splits evenly over its clients
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        println!("tickets service, {n} calls per measurement, {CONCURRENCY} concurrent clients where noted");
        bench(TestDatabase::sqlite(), n).await;
        if let Some(db) = TestDatabase::postgres().await {
            bench(db, n).await;
        }
    });
}

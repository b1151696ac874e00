//! Faults in the cluster (each service its own `aftercare serve` process on PostgreSQL and
//! NATS JetStream), with nothing lost: the bus stopped for 20 s in the middle of a create load,
//! the database restarted in the middle of one, and the consuming service killed in the middle
//! of one. Each prints its figures.

use std::collections::BTreeMap;
use std::time::Duration;

use aftercare_journeys::Sandbox;
use aftercare_journeys::cluster::{Cluster, Load, Options, delivered, delivered_by, new_ticket};
use aftercare_platform::auth::Role;
use aftercare_platform::testing::poll_until;
use aftercare_proto::aftercare::tickets::v1 as pb;
use pb::ticket_service_client::TicketServiceClient;
use sqlx::Connection as _;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

const CLIENTS: usize = 4;
const PAUSE: Duration = Duration::from_millis(50);

/// The outbox rows of the database at `url` not yet published.
async fn pending_outbox(url: &str) -> i64 {
    let Ok(mut conn) = sqlx::PgConnection::connect(url).await else {
        return -1;
    };
    sqlx::query_scalar("SELECT COUNT(*) FROM aftercare_outbox WHERE published_at IS NULL")
        .fetch_one(&mut conn)
        .await
        .unwrap_or(-1)
}

/// The process ids of the cluster's processes, by name.
fn pids(cluster: &Cluster) -> BTreeMap<String, Option<u32>> {
    cluster
        .processes
        .iter()
        .map(|p| (p.name.clone(), p.pid()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_stopped_for_20_s_holds_the_events_and_delivers_each_once_after() {
    const OUTAGE: Duration = Duration::from_secs(20);
    let Some(mut cluster) = Cluster::start_with(Options {
        private_nats: true,
        ..Options::default()
    })
    .await
    else {
        return;
    };
    let token = cluster.token("agents/cluster", Role::Lead, Some("eu-west"));
    let channel = cluster.channel().await;
    let started_as = pids(&cluster);

    // The path works before the fault: a ticket's creation reaches the timeline.
    let mut tickets = TicketServiceClient::new(channel.clone());
    let first = tickets
        .create_ticket(Sandbox::request(
            &token,
            new_ticket("before@example.com", "Before"),
        ))
        .await
        .unwrap_or_else(|status| panic!("create: {status:?}\n{}", cluster.logs()))
        .into_inner()
        .ticket
        .expect("a ticket");
    poll_until(
        "the first ticket on the timeline",
        Duration::from_secs(15),
        || {
            let (channel, token, first) = (channel.clone(), token.clone(), first.clone());
            async move {
                let (found, _) = delivered(&channel, &token, std::slice::from_ref(&first))
                    .await
                    .ok()?;
                (found == 1).then_some(())
            }
        },
    )
    .await;

    // A create load; NATS stopped 2 s in, for 20 s; the load goes on 2 s after it returns.
    let load = Load::start(channel.clone(), &token, CLIENTS, PAUSE, "nats");
    tokio::time::sleep(Duration::from_secs(2)).await;
    cluster.nats_server().stop();
    let down_at = load.elapsed();
    let acknowledged_at_stop = load.acknowledged();
    let tickets_db = cluster.database_url("tickets").to_owned();
    poll_until(
        "creates acknowledged and held in the outbox while NATS is down",
        Duration::from_secs(10),
        || {
            let (tickets_db, acknowledged) = (tickets_db.clone(), load.acknowledged());
            async move {
                (acknowledged >= acknowledged_at_stop + 20
                    && pending_outbox(&tickets_db).await >= 20)
                    .then_some(())
            }
        },
    )
    .await;
    tokio::time::sleep(OUTAGE.saturating_sub(load.elapsed() - down_at)).await;
    let held = pending_outbox(&tickets_db).await;
    // The relays' gauges show the backlog (each replica measures the shared outbox).
    let tickets_metrics = cluster.process("tickets-1").metrics;
    let gauge = |name: &'static str| {
        aftercare_journeys::cluster::metric_at(tickets_metrics, name, &[("service", "tickets")])
    };
    let pending_gauge = gauge("aftercare_outbox_pending").await.unwrap_or(0.0);
    let oldest_age = gauge("aftercare_outbox_oldest_pending_age_seconds")
        .await
        .unwrap_or(0.0);
    eprintln!(
        "nats down: aftercare_outbox_pending {pending_gauge}, \
         aftercare_outbox_oldest_pending_age_seconds {oldest_age:.1}"
    );
    assert!(
        pending_gauge >= 20.0 && oldest_age >= 5.0,
        "the outbox gauges show the held events: {pending_gauge} pending, oldest {oldest_age} s"
    );
    cluster.nats_server().start_again().await;
    let up_at = load.elapsed();
    let returned = tokio::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let report = load.finish().await;
    let during = report.acknowledged_between(down_at, up_at);
    eprintln!(
        "nats stopped {down_at:.1?}..{up_at:.1?}: {} sent, {} acknowledged ({during} while NATS was down), \
         failed by code {:?}, {held} events held in the tickets outbox when NATS returned",
        report.sent,
        report.acknowledged.len(),
        report.failed
    );
    assert!(
        report.failed.is_empty(),
        "writes keep succeeding while NATS is down: {:?}\n{}",
        report.failed,
        cluster.logs()
    );

    // Every acknowledged creation reaches the timeline after NATS returns, with no restart.
    let acknowledged: Vec<pb::Ticket> = report
        .acknowledged
        .iter()
        .map(|(_, ticket)| ticket.clone())
        .collect();
    let (found, duplicates) = delivered_by(
        &channel,
        &token,
        &acknowledged,
        returned + Duration::from_secs(60),
    )
    .await;
    let recovery = returned.elapsed();
    eprintln!(
        "nats outage: {} delivered to the customers timeline {recovery:.1?} after NATS returned; \
         lost {}, duplicates {}",
        found,
        acknowledged.len() - found,
        duplicates.len()
    );
    assert_eq!(
        found,
        acknowledged.len(),
        "every acknowledged creation is on the timeline within 60 s of NATS returning\n{}",
        cluster.logs()
    );
    assert!(duplicates.is_empty(), "each creation once: {duplicates:?}");
    poll_until(
        "the outbox gauges back to 0 once every event is published",
        Duration::from_secs(10),
        || async {
            (gauge("aftercare_outbox_pending").await == Some(0.0)
                && gauge("aftercare_outbox_oldest_pending_age_seconds").await == Some(0.0))
            .then_some(())
        },
    )
    .await;
    for process in &mut cluster.processes {
        assert!(process.alive(), "{} still runs", process.name);
    }
    assert_eq!(pids(&cluster), started_as, "no process was restarted");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_load_loses_no_acknowledged_write() {
    let Some(mut cluster) = Cluster::start_with(Options {
        private_postgres: true,
        ..Options::default()
    })
    .await
    else {
        return;
    };
    let token = cluster.token("agents/cluster", Role::Lead, Some("eu-west"));
    let channel = cluster.channel().await;
    let started_as = pids(&cluster);
    let server = cluster.postgres_server();

    // A create load; the cluster's PostgreSQL stopped 2 s in and started 3 s later (every
    // connection of every process is cut); the load goes on 3 s after.
    let load = Load::start(channel.clone(), &token, CLIENTS, PAUSE, "pg");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stopping = server.clone();
    tokio::task::spawn_blocking(move || stopping.stop())
        .await
        .expect("the server stops");
    let down_at = load.elapsed();
    let replica = cluster.process("tickets-1").addr;
    let customers = cluster.process("customers").addr;
    for (name, addr) in [("tickets-1", replica), ("customers", customers)] {
        poll_until(
            &format!("{name} NOT_SERVING while its database is down"),
            Duration::from_secs(10),
            || async move {
                (aftercare_journeys::cluster::health_of(addr).await
                    == Some(ServingStatus::NotServing))
                .then_some(())
            },
        )
        .await;
    }
    tokio::time::sleep(Duration::from_secs(3).saturating_sub(load.elapsed() - down_at)).await;
    let starting = server.clone();
    tokio::task::spawn_blocking(move || starting.start_again())
        .await
        .expect("the server starts");
    let up_at = load.elapsed();
    let returned = tokio::time::Instant::now();
    for process in &cluster.processes {
        let addr = process.addr;
        poll_until(
            &format!("{} SERVING once its database is back", process.name),
            Duration::from_secs(20),
            || async move {
                (aftercare_journeys::cluster::health_of(addr).await == Some(ServingStatus::Serving))
                    .then_some(())
            },
        )
        .await;
    }
    let serving_after = returned.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let report = load.finish().await;
    let after = report.acknowledged_between(up_at, Duration::MAX);
    eprintln!(
        "postgres down {down_at:.1?}..{up_at:.1?}: {} sent, {} acknowledged ({after} after it returned), \
         failed by code {:?}; every process SERVING {serving_after:.1?} after it returned",
        report.sent,
        report.acknowledged.len(),
        report.failed
    );
    assert!(
        report
            .failed
            .keys()
            .all(|code| ["Unavailable", "Aborted", "DeadlineExceeded"].contains(&code.as_str())),
        "a database outage shows as a retryable code only (never INTERNAL or UNKNOWN): {:?}",
        report.failed
    );
    assert!(
        after > 0,
        "creates succeed again after the database returned"
    );

    // Every acknowledged ticket exists, and its creation reached the timeline once.
    let mut tickets = TicketServiceClient::new(channel.clone());
    let mut lost = Vec::new();
    for (_, ticket) in &report.acknowledged {
        let got = tickets
            .get_ticket(Sandbox::request(
                &token,
                pb::GetTicketRequest {
                    name: ticket.name.clone(),
                },
            ))
            .await;
        match got {
            Ok(_) => {}
            Err(status) if status.code() == Code::NotFound => lost.push(ticket.name.clone()),
            Err(status) => panic!("read {} back: {status:?}", ticket.name),
        }
    }
    let acknowledged: Vec<pb::Ticket> = report
        .acknowledged
        .iter()
        .map(|(_, ticket)| ticket.clone())
        .collect();
    let (found, duplicates) = delivered_by(
        &channel,
        &token,
        &acknowledged,
        tokio::time::Instant::now() + Duration::from_secs(60),
    )
    .await;
    eprintln!(
        "postgres restart: lost {}, {found} of {} creations on the timeline {:.1?} after it returned, duplicates {}",
        lost.len(),
        acknowledged.len(),
        returned.elapsed(),
        duplicates.len()
    );
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    assert_eq!(
        found,
        acknowledged.len(),
        "every acknowledged creation reaches the timeline\n{}",
        cluster.logs()
    );
    assert!(duplicates.is_empty(), "each creation once: {duplicates:?}");
    for process in &mut cluster.processes {
        assert!(process.alive(), "{} still runs", process.name);
    }
    assert_eq!(pids(&cluster), started_as, "no process was restarted");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consuming_service_killed_under_load_gets_its_events_again_and_applies_each_once() {
    // A short ack wait bounds the test: what the killed process had pulled is delivered again
    // 5 s after it was sent, not 30 s.
    let Some(mut cluster) = Cluster::start_with(Options {
        ack_wait: Some(Duration::from_secs(5)),
        ..Options::default()
    })
    .await
    else {
        return;
    };
    let token = cluster.token("agents/cluster", Role::Lead, Some("eu-west"));
    let channel = cluster.channel().await;

    // A create load; the customers process (whose timeline consumes every TicketCreated) is
    // killed (SIGKILL) 2 s in, with deliveries pulled and unacknowledged, and started again.
    let load = Load::start(channel.clone(), &token, CLIENTS, PAUSE, "consumer");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before_kill = load.acknowledged();
    cluster.process("customers").kill();
    let killed_at = load.elapsed();
    cluster.process("customers").restart().await;
    let back_at = load.elapsed();
    let returned = tokio::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let report = load.finish().await;
    eprintln!(
        "customers killed at {killed_at:.1?}, serving again at {back_at:.1?}: {} sent, {} acknowledged \
         ({before_kill} before the kill), failed by code {:?}",
        report.sent,
        report.acknowledged.len(),
        report.failed
    );
    assert!(
        report.failed.keys().all(|code| code == "Unavailable"),
        "a killed dependency shows as UNAVAILABLE only: {:?}",
        report.failed
    );
    assert!(before_kill > 0, "events were flowing when it was killed");

    // Every acknowledged creation reaches the timeline exactly once: what the killed process
    // had pulled but not acknowledged is delivered again (after the ack wait) and applied once.
    let acknowledged: Vec<pb::Ticket> = report
        .acknowledged
        .iter()
        .map(|(_, ticket)| ticket.clone())
        .collect();
    let (found, duplicates) = delivered_by(
        &channel,
        &token,
        &acknowledged,
        returned + Duration::from_secs(60),
    )
    .await;
    eprintln!(
        "consumer killed: {found} of {} creations on the timeline {:.1?} after it returned; lost {}, duplicates {}",
        acknowledged.len(),
        returned.elapsed(),
        acknowledged.len() - found,
        duplicates.len()
    );
    assert_eq!(
        found,
        acknowledged.len(),
        "every acknowledged creation reaches the timeline within 60 s\n{}",
        cluster.logs()
    );
    assert!(duplicates.is_empty(), "each creation once: {duplicates:?}");
    cluster.stop().await;
}

//! `aftercare up` (every service in one process, SQLite, the in-process bus) killed with
//! SIGKILL in the middle of a create load through the gateway: after it starts again, every
//! create that was acknowledged is there, with its `TicketCreated` outbox row, and the event is
//! delivered (the ticket is on its customer's timeline, once). Prints its figures.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aftercare_journeys::Sandbox;
use aftercare_journeys::cluster::{Load, Process, delivered_by, free_addr, hex_secret};
use aftercare_platform::auth::Role;
use aftercare_platform::config::{GatewayConfig, Secret};
use aftercare_proto::aftercare::tickets::v1 as pb;
use pb::ticket_service_client::TicketServiceClient;
use sqlx::Connection as _;
use tonic::transport::Channel;

/// Clients of the load, each opening tickets one after another.
const CLIENTS: usize = 8;
/// The pause after each call (so that clients refused while the process is down do not spin).
const PAUSE: Duration = Duration::from_millis(10);

/// The subjects (ticket names) of the `TicketCreated` rows in the outbox of the tickets
/// database at `path`.
async fn created_in_outbox(path: &std::path::Path) -> BTreeSet<String> {
    let url = format!("sqlite://{}?mode=ro", path.display());
    let mut conn = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("open the tickets database");
    let subjects: Vec<String> = sqlx::query_scalar(
        "SELECT subject FROM aftercare_outbox WHERE event_type = 'aftercare.events.v1.TicketCreated'",
    )
    .fetch_all(&mut conn)
    .await
    .expect("read the outbox");
    subjects.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_killed_under_create_load_keeps_every_acknowledged_create_and_delivers_its_event() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let gateway_addr = free_addr();
    let jwt_secret = hex_secret();
    let mut env = BTreeMap::from([
        (
            "AFTERCARE_DATA_DIR".to_owned(),
            dir.path().display().to_string(),
        ),
        (
            "AFTERCARE_GATEWAY__JWT_SECRET".to_owned(),
            jwt_secret.clone(),
        ),
        (
            "AFTERCARE_GATEWAY__LISTEN".to_owned(),
            gateway_addr.to_string(),
        ),
        (
            "AFTERCARE_TELEMETRY__METRICS_LISTEN".to_owned(),
            free_addr().to_string(),
        ),
        (
            "AFTERCARE_TELEMETRY__LOG_FILTER".to_owned(),
            "warn".to_owned(),
        ),
        (
            "AFTERCARE_EVENTS__RELAY_INTERVAL".to_owned(),
            "50ms".to_owned(),
        ),
    ]);
    for service in ["tickets", "customers", "workforce", "feedback", "knowledge"] {
        env.insert(
            format!("AFTERCARE_SERVICES__{}__LISTEN", service.to_uppercase()),
            free_addr().to_string(),
        );
    }
    let metrics = env["AFTERCARE_TELEMETRY__METRICS_LISTEN"].parse().unwrap();
    let mut up = Process::new(
        "up",
        gateway_addr,
        metrics,
        &["up"],
        env,
        dir.path().join("up.log"),
    );
    up.restart().await;
    let token = aftercare_gateway::mint_dev_token(
        &GatewayConfig {
            jwt_secret: Some(Secret::new(jwt_secret)),
            ..GatewayConfig::default()
        },
        "agents/durability",
        &[Role::Lead],
        Some("eu-west"),
        None,
        Duration::from_secs(3_600),
    )
    .expect("a development token");
    let channel = Channel::from_shared(format!("http://{gateway_addr}"))
        .unwrap()
        .connect()
        .await
        .expect("connect to the gateway");

    // Killed (SIGKILL) 2 s into the load, with creates in flight, and started again.
    let load = Load::start(channel.clone(), &token, CLIENTS, PAUSE, "durable");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before_kill = load.acknowledged();
    up.kill();
    let killed_at = load.elapsed();
    up.restart().await;
    let back_at = load.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let report = load.finish().await;
    eprintln!(
        "up killed at {killed_at:.1?} ({before_kill} acknowledged), serving again at \
         {back_at:.1?}: {} sent, {} acknowledged, failed by code {:?}",
        report.sent,
        report.acknowledged.len(),
        report.failed
    );
    assert!(before_kill > 0, "creates were acknowledged before the kill");
    let acknowledged: Vec<pb::Ticket> = report
        .acknowledged
        .iter()
        .map(|(_, ticket)| ticket.clone())
        .collect();

    // Every acknowledged create is stored...
    let mut tickets = TicketServiceClient::new(channel.clone());
    let mut missing = Vec::new();
    for ticket in &acknowledged {
        let found = tickets
            .get_ticket(Sandbox::request(
                &token,
                pb::GetTicketRequest {
                    name: ticket.name.clone(),
                },
            ))
            .await;
        if found.is_err() {
            missing.push(ticket.name.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "acknowledged creates lost: {missing:?}\n{}",
        up.log()
    );
    // ...with its outbox event...
    let outbox = created_in_outbox(&dir.path().join("tickets.db")).await;
    let without_event: Vec<&str> = acknowledged
        .iter()
        .map(|ticket| ticket.name.as_str())
        .filter(|name| !outbox.contains(*name))
        .collect();
    assert!(
        without_event.is_empty(),
        "acknowledged creates without their TicketCreated outbox row: {without_event:?}"
    );
    // ...and the event is delivered: each creation on its customer's timeline, once.
    let (found, duplicates) = delivered_by(
        &channel,
        &token,
        &acknowledged,
        tokio::time::Instant::now() + Duration::from_secs(30),
    )
    .await;
    eprintln!(
        "{found} of {} acknowledged creations delivered to the timeline; duplicates {}",
        acknowledged.len(),
        duplicates.len()
    );
    assert_eq!(
        found,
        acknowledged.len(),
        "every acknowledged creation is delivered within 30 s of the restart\n{}",
        up.log()
    );
    assert!(duplicates.is_empty(), "each creation once: {duplicates:?}");
    up.kill();
}

//! Honest status codes under a database fault: tickets and customers on a PostgreSQL server of
//! the test's own, eight clients opening tickets through the gateway, and a fast restart of
//! that server in the middle. Nothing acknowledged may be lost, and no call may end
//! `INTERNAL` (a client retries `UNAVAILABLE`; `INTERNAL` says the server has a bug).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aftercare_journeys::{Databases, PrivatePostgres, Sandbox};
use aftercare_platform::auth::Role;
use aftercare_proto::aftercare::common::v1::{Channel, ChannelIdentity};
use aftercare_proto::aftercare::tickets::v1 as pb;
use pb::ticket_service_client::TicketServiceClient;
use tokio::sync::Mutex;
use tonic::Code;

const CLIENTS: usize = 8;
const LOAD_FOR: Duration = Duration::from_secs(6);
const RESTART_AFTER: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_loses_nothing_and_no_call_ends_internal() {
    let Some(server) = PrivatePostgres::start() else {
        return;
    };
    let sandbox = Sandbox::start(Databases::On(server.url()))
        .await
        .expect("the sandbox starts");
    let token = sandbox.token("agents/load", Role::Agent, Some("eu-west"));
    let channel = sandbox.channel().await;
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let failed = Arc::new(Mutex::new(BTreeMap::<String, usize>::new()));
    let started = tokio::time::Instant::now();
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let (channel, token) = (channel.clone(), token.clone());
        let (acknowledged, failed) = (acknowledged.clone(), failed.clone());
        clients.push(tokio::spawn(async move {
            let mut tickets = TicketServiceClient::new(channel);
            let mut sent = 0usize;
            while started.elapsed() < LOAD_FOR {
                sent += 1;
                let ticket = pb::Ticket {
                    customer_identity: Some(ChannelIdentity {
                        channel: Channel::Email as i32,
                        handle: format!("load-{client}-{sent}@example.com"),
                        ..Default::default()
                    }),
                    subject: format!("Load {client}/{sent}"),
                    description: "The washing machine does not start.".into(),
                    region: "eu-west".into(),
                    ..Default::default()
                };
                let request = Sandbox::request(
                    &token,
                    pb::CreateTicketRequest {
                        ticket: Some(ticket),
                        request_id: uuid::Uuid::now_v7().to_string(),
                        ..Default::default()
                    },
                );
                match tickets.create_ticket(request).await {
                    Ok(response) => {
                        let ticket = response.into_inner().ticket.expect("a ticket");
                        acknowledged.lock().await.push(ticket.name);
                    }
                    Err(status) => {
                        *failed
                            .lock()
                            .await
                            .entry(format!("{:?}: {}", status.code(), status.message()))
                            .or_default() += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            sent
        }));
    }
    tokio::time::sleep(RESTART_AFTER).await;
    let restart = tokio::task::spawn_blocking(move || {
        server.restart();
        server
    });
    let server = restart.await.expect("the restart finishes");
    let mut sent = 0;
    for client in clients {
        sent += client.await.expect("a client finishes");
    }
    let acknowledged = acknowledged.lock().await.clone();
    let failed = failed.lock().await.clone();
    eprintln!(
        "postgres restart: {sent} sent, {} acknowledged, failed by code: {failed:?}",
        acknowledged.len()
    );
    assert!(
        failed.keys().all(|code| !code.starts_with("Internal")),
        "no call may end INTERNAL: {failed:?}"
    );
    assert!(!acknowledged.is_empty(), "the load made progress");

    // Every acknowledged ticket exists after the restart (read back through the gateway,
    // retrying while the services reconnect).
    let mut tickets = TicketServiceClient::new(channel);
    let mut lost = Vec::new();
    for name in &acknowledged {
        let mut found = None;
        for _ in 0..50 {
            let request = Sandbox::request(&token, pb::GetTicketRequest { name: name.clone() });
            match tickets.get_ticket(request).await {
                Ok(_) => {
                    found = Some(true);
                    break;
                }
                Err(status) if status.code() == Code::NotFound => {
                    found = Some(false);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        if found != Some(true) {
            lost.push(name.clone());
        }
    }
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    sandbox.stop().await;
    server.stop();
}

/// Health says NOT_SERVING while the database is down, and SERVING again once it is back,
/// without a restart of the service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_follows_the_database_down_and_up() {
    use aftercare_platform::testing::poll_until;
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;
    let Some(server) = PrivatePostgres::start() else {
        return;
    };
    let sandbox = Sandbox::start(Databases::On(server.url()))
        .await
        .expect("the sandbox starts");
    let tickets = sandbox.service_addr("tickets").expect("tickets runs");
    let status = || async move {
        let channel = tonic::transport::Channel::from_shared(format!("http://{tickets}"))
            .ok()?
            .connect()
            .await
            .ok()?;
        let answer = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .ok()?;
        Some(answer.into_inner().status)
    };
    const SERVING: i32 = 1;
    const NOT_SERVING: i32 = 2;
    assert_eq!(status().await, Some(SERVING));
    let server = tokio::task::spawn_blocking(move || {
        server.stop();
        server
    })
    .await
    .expect("the server stops");
    poll_until(
        "NOT_SERVING while the database is down",
        Duration::from_secs(10),
        || async { (status().await == Some(NOT_SERVING)).then_some(()) },
    )
    .await;
    let server = tokio::task::spawn_blocking(move || {
        server.start_again();
        server
    })
    .await
    .expect("the server starts");
    poll_until(
        "SERVING once the database is back",
        Duration::from_secs(15),
        || async { (status().await == Some(SERVING)).then_some(()) },
    )
    .await;
    sandbox.stop().await;
    server.stop();
}

//! The cluster on one machine: customers, two tickets replicas and the gateway as separate
//! `aftercare serve` processes on PostgreSQL and NATS JetStream. A journey through the gateway,
//! balanced across the replicas, with events crossing processes; then a replica is killed
//! (SIGKILL) in the middle of a create load.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aftercare_journeys::Sandbox;
use aftercare_journeys::cluster::{Cluster, new_ticket, served};
use aftercare_platform::auth::Role;
use aftercare_platform::testing::poll_until;
use aftercare_proto::aftercare::customers::v1 as customers_pb;
use aftercare_proto::aftercare::tickets::v1 as pb;
use customers_pb::customer_service_client::CustomerServiceClient;
use pb::ticket_service_client::TicketServiceClient;
use tokio::sync::Mutex;

/// How many timeline entries of `customer` stand for `ticket`'s creation.
async fn creations_on_timeline(
    customers: &mut CustomerServiceClient<tonic::transport::Channel>,
    token: &str,
    customer: &str,
    ticket: &str,
) -> usize {
    let request = Sandbox::request(
        token,
        customers_pb::ListTimelineEntriesRequest {
            parent: customer.to_owned(),
            page_size: 500,
            ..Default::default()
        },
    );
    customers
        .list_timeline_entries(request)
        .await
        .map(|response| {
            response
                .into_inner()
                .timeline_entries
                .iter()
                .filter(|entry| {
                    entry.subject == ticket && entry.event_type.ends_with("TicketCreated")
                })
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_serves_balances_and_survives_a_killed_replica() {
    let Some(mut cluster) = Cluster::start().await else {
        return;
    };
    let token = cluster.token("agents/cluster", Role::Lead, Some("eu-west"));
    let channel = cluster.channel().await;
    let mut tickets = TicketServiceClient::new(channel.clone());
    let customers = CustomerServiceClient::new(channel.clone());

    // A journey: tickets opened through the gateway land on both replicas, and each one's
    // TicketCreated crosses NATS to the customers process's timeline.
    let mut first = Vec::new();
    for i in 0..12 {
        let created = tickets
            .create_ticket(Sandbox::request(
                &token,
                new_ticket("ana.silva@example.com", &format!("Leak {i}")),
            ))
            .await
            .unwrap_or_else(|status| panic!("create {i}: {status:?}\n{}", cluster.logs()))
            .into_inner()
            .ticket
            .expect("a ticket");
        first.push(created);
    }
    let by_replica = [
        cluster.process("tickets-1").served("CreateTicket").await,
        cluster.process("tickets-2").served("CreateTicket").await,
    ];
    assert!(
        by_replica.iter().all(|n| *n > 0),
        "both replicas serve: {by_replica:?}"
    );
    let customer = first[0].customer.clone();
    for ticket in &first {
        let name = ticket.name.clone();
        poll_until(
            &format!("{name} on the customer's timeline"),
            Duration::from_secs(15),
            || {
                let (mut customers, token, customer, name) = (
                    customers.clone(),
                    token.clone(),
                    customer.clone(),
                    name.clone(),
                );
                async move {
                    (creations_on_timeline(&mut customers, &token, &customer, &name).await == 1)
                        .then_some(())
                }
            },
        )
        .await;
    }

    // A create load, and tickets-2 killed in the middle of it.
    let acknowledged = Arc::new(Mutex::new(Vec::<pb::Ticket>::new()));
    let failed = Arc::new(Mutex::new(BTreeMap::<String, usize>::new()));
    let started = tokio::time::Instant::now();
    let mut clients = Vec::new();
    for client in 0..6 {
        let (channel, token) = (channel.clone(), token.clone());
        let (acknowledged, failed) = (acknowledged.clone(), failed.clone());
        clients.push(tokio::spawn(async move {
            let mut tickets = TicketServiceClient::new(channel);
            let mut sent = 0usize;
            while started.elapsed() < Duration::from_secs(5) {
                sent += 1;
                let request = Sandbox::request(
                    &token,
                    new_ticket(
                        &format!("load-{client}@example.com"),
                        &format!("Load {sent}"),
                    ),
                );
                match tickets.create_ticket(request).await {
                    Ok(response) => acknowledged
                        .lock()
                        .await
                        .push(response.into_inner().ticket.expect("a ticket")),
                    Err(status) => {
                        *failed
                            .lock()
                            .await
                            .entry(format!("{:?}", status.code()))
                            .or_default() += 1;
                    }
                }
            }
            sent
        }));
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    cluster.process("tickets-2").kill();
    let killed_at = started.elapsed();
    let mut sent = 0;
    for client in clients {
        sent += client.await.expect("a client finishes");
    }
    let acknowledged = acknowledged.lock().await.clone();
    let failed = failed.lock().await.clone();
    eprintln!(
        "kill a tickets replica at {killed_at:?}: {sent} sent, {} acknowledged, failed by code {failed:?}",
        acknowledged.len()
    );
    assert!(
        failed.keys().all(|code| code == "Unavailable"),
        "a killed replica shows as UNAVAILABLE only: {failed:?}"
    );
    assert!(
        failed.values().sum::<usize>() <= 12,
        "the gateway stops sending to the dead replica at once: {failed:?}"
    );

    // Nothing acknowledged is lost, and each creation reached the timeline exactly once.
    for ticket in &acknowledged {
        let got = tickets
            .get_ticket(Sandbox::request(
                &token,
                pb::GetTicketRequest {
                    name: ticket.name.clone(),
                },
            ))
            .await;
        assert!(
            got.is_ok(),
            "{} was acknowledged but is lost: {got:?}",
            ticket.name
        );
    }
    for ticket in &acknowledged {
        let (name, customer) = (ticket.name.clone(), ticket.customer.clone());
        poll_until(
            &format!("{name}'s creation on the timeline once"),
            Duration::from_secs(20),
            || {
                let (mut customers, token, customer, name) = (
                    customers.clone(),
                    token.clone(),
                    customer.clone(),
                    name.clone(),
                );
                async move {
                    (creations_on_timeline(&mut customers, &token, &customer, &name).await == 1)
                        .then_some(())
                }
            },
        )
        .await;
    }

    // The replica comes back and is sent calls again.
    let before = cluster.process("tickets-2").served("CreateTicket").await;
    assert_eq!(before, 0, "a restarted process starts its counters at zero");
    cluster.process("tickets-2").restart().await;
    let replica = cluster.process("tickets-2").metrics;
    poll_until(
        "the restarted replica to be sent calls",
        Duration::from_secs(15),
        || {
            let (mut tickets, token) = (tickets.clone(), token.clone());
            async move {
                let _ = tickets
                    .create_ticket(Sandbox::request(
                        &token,
                        new_ticket("back@example.com", "Back"),
                    ))
                    .await;
                (served(replica, "CreateTicket").await > 0).then_some(())
            }
        },
    )
    .await;
    cluster.stop().await;
}

//! The cluster on one machine: customers, two tickets replicas and the gateway as separate
//! `aftercare serve` processes on PostgreSQL and NATS JetStream. A journey through the gateway,
//! balanced across the replicas, with events crossing processes; then a replica is killed
//! (SIGKILL) in the middle of a create load. Live changes across replicas: a watcher on one
//! replica sees, in order, every change made through the other (the feed is the tickets' own
//! events on NATS JetStream), and one that reconnects, to either replica, with its last resume
//! token gets every change it missed, once, before the live ones.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aftercare_journeys::Sandbox;
use aftercare_journeys::cluster::{Cluster, metric_at, new_ticket, served};
use aftercare_platform::auth::{Principal, Role};
use aftercare_platform::testing::poll_until;
use aftercare_proto::aftercare::customers::v1 as customers_pb;
use aftercare_proto::aftercare::tickets::v1 as pb;
use customers_pb::customer_service_client::CustomerServiceClient;
use futures::StreamExt as _;
use pb::TicketChangeType as C;
use pb::ticket_service_client::TicketServiceClient;
use tokio::sync::Mutex;
use tonic::transport::Channel;

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

type Watch = tonic::Streaming<pb::WatchTicketsResponse>;

fn lead() -> Principal {
    Principal {
        subject: "agents/watch-lead".into(),
        roles: vec![Role::Lead],
        region: None,
        customer: None,
        scopes: Vec::new(),
        display_name: Some("Watch lead".into()),
        via: None,
    }
}

/// The next change about one of `tickets` (other messages skipped), within 15 s.
async fn next_change(watch: &mut Watch, tickets: &[String]) -> pb::WatchTicketsResponse {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(15), watch.next())
            .await
            .expect("a change within 15 s")
            .expect("the stream is open")
            .expect("a change, not an error");
        if message
            .ticket
            .as_ref()
            .is_some_and(|t| tickets.contains(&t.name))
        {
            return message;
        }
    }
}

/// The changes one client makes, in order: what a watcher should see.
struct Writer {
    client: TicketServiceClient<Channel>,
    tickets: Vec<pb::Ticket>,
    expected: Vec<(String, i32)>,
}

impl Writer {
    async fn create(&mut self, cluster: &Cluster, subject: &str) -> usize {
        let ticket = self
            .client
            .create_ticket(cluster.signed(
                &lead(),
                "tickets",
                new_ticket("watch@example.com", subject),
            ))
            .await
            .unwrap_or_else(|status| panic!("create: {status:?}\n{}", cluster.logs()))
            .into_inner()
            .ticket
            .expect("a ticket");
        self.expected.push((ticket.name.clone(), C::Created as i32));
        self.tickets.push(ticket);
        self.tickets.len() - 1
    }

    async fn tag(&mut self, cluster: &Cluster, i: usize, tag: &str) {
        let ticket = self
            .client
            .add_ticket_tags(cluster.signed(
                &lead(),
                "tickets",
                pb::AddTicketTagsRequest {
                    name: self.tickets[i].name.clone(),
                    tags: vec![tag.to_owned()],
                    etag: self.tickets[i].etag.clone(),
                },
            ))
            .await
            .expect("tagged")
            .into_inner()
            .ticket
            .expect("a ticket");
        self.expected.push((ticket.name.clone(), C::Updated as i32));
        self.tickets[i] = ticket;
    }

    async fn assign(&mut self, cluster: &Cluster, i: usize, team: &str) {
        let ticket = self
            .client
            .assign_ticket(cluster.signed(
                &lead(),
                "tickets",
                pb::AssignTicketRequest {
                    name: self.tickets[i].name.clone(),
                    etag: self.tickets[i].etag.clone(),
                    team: team.to_owned(),
                    ..Default::default()
                },
            ))
            .await
            .expect("assigned")
            .into_inner()
            .ticket
            .expect("a ticket");
        self.expected
            .push((ticket.name.clone(), C::Assigned as i32));
        self.tickets[i] = ticket;
    }

    fn names(&self) -> Vec<String> {
        self.tickets.iter().map(|t| t.name.clone()).collect()
    }
}

async fn watch(
    cluster: &mut Cluster,
    replica: &str,
    resume_token: &str,
) -> Result<Watch, tonic::Status> {
    let channel = cluster.channel_to(replica).await;
    TicketServiceClient::new(channel)
        .watch_tickets(cluster.signed(
            &lead(),
            "tickets",
            pb::WatchTicketsRequest {
                region: "eu-west".into(),
                resume_token: resume_token.to_owned(),
                ..Default::default()
            },
        ))
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_on_one_replica_sees_every_change_made_through_the_other_and_resumes() {
    let Some(mut cluster) = Cluster::start().await else {
        return;
    };
    let customers_metrics = cluster.process("customers").metrics;
    let timeline_handled = || {
        metric_at(
            customers_metrics,
            "aftercare_events_handled_total",
            &[("consumer", "customers-timeline"), ("outcome", "handled")],
        )
    };
    let handled_before = timeline_handled().await.unwrap_or(0.0);
    let mut on_a = watch(&mut cluster, "tickets-1", "")
        .await
        .unwrap_or_else(|status| panic!("watch tickets-1: {status:?}\n{}", cluster.logs()));
    let mut writer = Writer {
        client: TicketServiceClient::new(cluster.channel_to("tickets-2").await),
        tickets: Vec::new(),
        expected: Vec::new(),
    };
    // Changes through replica B only, interleaved across tickets.
    let t1 = writer.create(&cluster, "Watched one").await;
    let t2 = writer.create(&cluster, "Watched two").await;
    writer.tag(&cluster, t1, "noisy").await;
    writer.assign(&cluster, t2, "teams/washers").await;
    writer.tag(&cluster, t2, "urgent").await;
    writer.assign(&cluster, t1, "teams/dryers").await;
    let names = writer.names();
    let mut seen = Vec::new();
    let mut last = String::new();
    for _ in 0..writer.expected.len() {
        let change = next_change(&mut on_a, &names).await;
        assert!(!change.event_id.is_empty() && !change.resume_token.is_empty());
        seen.push((change.ticket.unwrap().name, change.change_type));
        last = change.resume_token;
    }
    assert_eq!(
        seen, writer.expected,
        "replica A's watcher sees B's changes, in order"
    );

    // The watcher goes away; changes go on; it comes back, on replica B, with its token.
    drop(on_a);
    let before_break = writer.expected.len();
    let t3 = writer.create(&cluster, "While away").await;
    writer.tag(&cluster, t1, "while-away").await;
    writer.assign(&cluster, t3, "teams/ovens").await;
    let mut on_b = watch(&mut cluster, "tickets-2", &last)
        .await
        .unwrap_or_else(|status| panic!("resume on tickets-2: {status:?}\n{}", cluster.logs()));
    writer.tag(&cluster, t2, "after").await;
    let names = writer.names();
    let mut resumed = Vec::new();
    for _ in before_break..writer.expected.len() {
        let change = next_change(&mut on_b, &names).await;
        resumed.push((change.ticket.unwrap().name, change.change_type));
    }
    assert_eq!(
        resumed,
        writer.expected[before_break..],
        "the missed changes, then the live one, none twice"
    );
    let extra = tokio::time::timeout(Duration::from_millis(500), async {
        loop {
            match on_b.next().await {
                Some(Ok(message)) if message.change_type == C::Heartbeat as i32 => {}
                other => return other,
            }
        }
    })
    .await;
    assert!(extra.is_err(), "nothing more: {extra:?}");

    // A token the stream no longer keeps, or from another feed, is refused, not silently
    // followed.
    let other = watch(&mut cluster, "tickets-1", "sOTHER.3")
        .await
        .unwrap_err();
    assert_eq!(other.code(), tonic::Code::Aborted, "{other:?}");

    // The metrics the dashboard and the alerts read are recorded, and move.
    poll_until(
        "the timeline consumer's handled count to grow by the 3 creations",
        Duration::from_secs(15),
        || async {
            (timeline_handled().await.unwrap_or(0.0) >= handled_before + 3.0).then_some(())
        },
    )
    .await;
    let tickets_metrics = cluster.process("tickets-2").metrics;
    poll_until(
        "the outbox gauges of tickets-2 at 0 once everything is published",
        Duration::from_secs(10),
        || async {
            let pending = metric_at(
                tickets_metrics,
                "aftercare_outbox_pending",
                &[("service", "tickets")],
            )
            .await;
            let age = metric_at(
                tickets_metrics,
                "aftercare_outbox_oldest_pending_age_seconds",
                &[("service", "tickets")],
            )
            .await;
            (pending == Some(0.0) && age == Some(0.0)).then_some(())
        },
    )
    .await;
    assert!(
        metric_at(
            customers_metrics,
            "aftercare_events_consumer_pending",
            &[("consumer", "customers-timeline")]
        )
        .await
        .is_some(),
        "the timeline consumer's pending gauge"
    );
    // The SLA sweep (every 10 s) counts the open tickets with an SLA by region and target.
    let at_risk = poll_until(
        "the SLA gauges for eu-west",
        Duration::from_secs(25),
        || async {
            let at_risk = metric_at(
                tickets_metrics,
                "aftercare_tickets_sla_at_risk",
                &[("region", "eu-west"), ("target", "resolution")],
            )
            .await?;
            let breached = metric_at(
                tickets_metrics,
                "aftercare_tickets_sla_breached",
                &[("region", "eu-west"), ("target", "first_response")],
            )
            .await?;
            Some((at_risk, breached))
        },
    )
    .await;
    assert_eq!(
        at_risk,
        (0.0, 0.0),
        "fresh tickets are neither at risk nor breached"
    );
    cluster.stop().await;
}

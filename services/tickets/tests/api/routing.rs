//! Routing by the workforce service on create and on `auto_route`, and creates that never
//! wait long or fail for a slow or absent workforce or knowledge service.

use std::time::{Duration, Instant};

use aftercare_platform::auth::{Principal, PrincipalVerifier, Role};
use aftercare_platform::config::RoutingRequirement;
use aftercare_platform::events::{EventBus, SubscriptionFilter, decode_payload};
use aftercare_platform::on_both_databases;
use aftercare_platform::testing::{TestDatabase, TestService, poll_until};
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::events::v1 as ev;
use aftercare_proto::aftercare::tickets::v1 as pb;
use aftercare_proto::aftercare::workforce::v1 as wf;
use aftercare_proto::aftercare::workforce::v1::workforce_service_client::WorkforceServiceClient;
use aftercare_tickets::ServiceEndpoint;
use aftercare_workforce::WorkforceService;
use tokio::net::TcpListener;

use super::support::{App, lead, spawn_app, spawn_app_configured, spawn_app_with, ticket};

/// The workforce service with a shift on at all hours, a washing-machines skill, and two
/// available agents of `eu-west` on that shift: Ada with the skill, Bo without.
struct Workforce {
    service: TestService,
    ada: String,
    bo: String,
    _db: TestDatabase,
}

fn wf_admin() -> Principal {
    Principal {
        subject: "admins/root".into(),
        roles: vec![Role::Admin],
        region: None,
        customer: None,
        scopes: vec![],
        display_name: None,
        via: None,
    }
}

async fn workforce() -> Workforce {
    let db = TestDatabase::sqlite();
    let service = TestService::start(&WorkforceService::default(), &db).await;
    let mut client = WorkforceServiceClient::new(service.channel());
    let admin = wf_admin();
    let shift = client
        .create_shift(
            service.request(
                &admin,
                wf::CreateShiftRequest {
                    shift: Some(wf::Shift {
                        display_name: "Always".into(),
                        time_zone: "Europe/Berlin".into(),
                        intervals: (1..=7)
                            .map(|weekday| wf::ShiftInterval {
                                weekday,
                                start_minute: 0,
                                duration: Some(prost_types::Duration {
                                    seconds: 86_400,
                                    nanos: 0,
                                }),
                            })
                            .collect(),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
            ),
        )
        .await
        .expect("a shift")
        .into_inner()
        .shift
        .unwrap();
    let washers = client
        .create_skill(service.request(
            &admin,
            wf::CreateSkillRequest {
                skill: Some(wf::Skill {
                    display_name: "Washing machines".into(),
                    category: wf::SkillCategory::ProductLine as i32,
                    code: "washing-machines".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await
        .expect("a skill")
        .into_inner()
        .skill
        .unwrap();
    let mut names = Vec::new();
    for (display_name, skills) in [
        (
            "Ada",
            vec![wf::AgentSkill {
                skill: washers.name.clone(),
                level: 4,
            }],
        ),
        ("Bo", vec![]),
    ] {
        let agent = client
            .create_agent(service.request(
                &admin,
                wf::CreateAgentRequest {
                    agent: Some(wf::Agent {
                        display_name: display_name.into(),
                        email: format!("{}@example.com", display_name.to_lowercase()),
                        roles: vec![wf::AgentRole::Agent as i32],
                        region: "eu-west".into(),
                        languages: vec!["en".into(), "zh".into()],
                        shift: shift.name.clone(),
                        skills,
                        max_concurrent_tickets: 5,
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
            ))
            .await
            .expect("an agent")
            .into_inner()
            .agent
            .unwrap();
        client
            .set_presence(service.request(
                &admin,
                wf::SetPresenceRequest {
                    name: format!("{}/presence", agent.name),
                    state: wf::PresenceState::Available as i32,
                    ..Default::default()
                },
            ))
            .await
            .expect("available");
        names.push(agent.name);
    }
    Workforce {
        service,
        ada: names[0].clone(),
        bo: names[1].clone(),
        _db: db,
    }
}

fn washer(customer: &str, subject: &str) -> pb::Ticket {
    pb::Ticket {
        product: Some(pb::Product {
            product_line: "washing-machines".into(),
            ..Default::default()
        }),
        ..ticket(customer, "eu-west", subject)
    }
}

async fn a_ticket_needing_a_skill_is_routed_to_the_agent_who_has_it(db: TestDatabase) {
    let workforce = workforce().await;
    let app = spawn_app_with(db, |s| {
        s.with_workforce(ServiceEndpoint {
            channel: workforce.service.channel(),
            principals: workforce.service.principals().clone(),
        })
    })
    .await;
    let mut events = app
        .tickets
        .bus()
        .subscribe(
            "test",
            SubscriptionFilter::all().with_type::<ev::TicketAssigned>(),
        )
        .await
        .unwrap();

    // Opened by the customer (whom routing would refuse): routed as the service's own work.
    let routed = app
        .create(
            &app.customer("c1"),
            washer(app.name("c1"), "The washing machine leaks"),
        )
        .await;
    let stored = app.get(&lead(), &routed.name).await.unwrap();
    assert_eq!(stored.assignee, workforce.ada);
    assert_eq!(stored.status, pb::TicketStatus::Open as i32);
    let delivery = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("an event in time")
        .expect("a delivery")
        .expect("no bus error");
    let assigned: ev::TicketAssigned = decode_payload(delivery.event()).unwrap();
    delivery.ack().await.unwrap();
    assert!(assigned.auto_routed);
    assert_eq!(assigned.ticket.unwrap().assignee, workforce.ada);
    assert_eq!(
        assigned.actor.unwrap().r#type,
        common::ActorType::System as i32
    );

    // Given an assignee or a team, a ticket is not routed.
    let given = app
        .create(
            &lead(),
            pb::Ticket {
                assignee: workforce.bo.clone(),
                ..washer(app.name("c1"), "Another leak")
            },
        )
        .await;
    assert_eq!(given.assignee, workforce.bo);
    let queued = app
        .create(
            &lead(),
            pb::Ticket {
                team: "teams/washers".into(),
                ..washer(app.name("c2"), "A third leak")
            },
        )
        .await;
    assert_eq!(queued.assignee, "");
    // Asked not to be routed, a ticket waits in its queue though Ada could take it.
    let skipped = app
        .client
        .clone()
        .create_ticket(app.req(
            &lead(),
            pb::CreateTicketRequest {
                ticket: Some(washer(app.name("c2"), "A leak for the queue")),
                skip_routing: true,
                ..Default::default()
            },
        ))
        .await
        .expect("create without routing")
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(skipped.assignee, "");
    let stored = app.get(&lead(), &skipped.name).await.unwrap();
    assert_eq!(
        (stored.assignee.as_str(), stored.status),
        ("", pb::TicketStatus::New as i32)
    );

    // auto_route: Bo's ticket goes to the agent with the skill, recorded as routed.
    let rerouted = app
        .client
        .clone()
        .assign_ticket(app.req(
            &lead(),
            pb::AssignTicketRequest {
                name: given.name.clone(),
                etag: given.etag.clone(),
                auto_route: true,
                ..Default::default()
            },
        ))
        .await
        .expect("auto_route")
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(rerouted.assignee, workforce.ada);
    // The next assignment event is that re-route (a ticket created with an assignee has
    // no assignment event of its own).
    let delivery = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("an event in time")
        .expect("a delivery")
        .expect("no bus error");
    let assigned: ev::TicketAssigned = decode_payload(delivery.event()).unwrap();
    delivery.ack().await.unwrap();
    let snapshot = assigned.ticket.unwrap();
    assert_eq!(
        (
            snapshot.name.as_str(),
            snapshot.assignee.as_str(),
            assigned.previous_assignee.as_str(),
            assigned.auto_routed
        ),
        (
            given.name.as_str(),
            workforce.ada.as_str(),
            workforce.bo.as_str(),
            true
        )
    );
}

/// Certifies `agent` with `code` (issued now, no expiry) as the workforce admin.
async fn certify(workforce: &Workforce, agent: &str, code: &str) {
    use aftercare_proto::aftercare::workforce::v1::training_service_client::TrainingServiceClient;
    TrainingServiceClient::new(workforce.service.channel())
        .create_certification(workforce.service.request(
            &wf_admin(),
            wf::CreateCertificationRequest {
                parent: agent.into(),
                certification: Some(wf::Certification {
                    code: code.into(),
                    display_name: code.into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await
        .expect("a certification");
}

async fn a_ticket_needing_a_certification_by_configuration_goes_only_to_a_certified_agent(
    db: TestDatabase,
) {
    let workforce = workforce().await;
    certify(&workforce, &workforce.bo, "dryer-repair").await;
    let app = spawn_app_configured(
        db,
        |s| {
            s.with_workforce(ServiceEndpoint {
                channel: workforce.service.channel(),
                principals: workforce.service.principals().clone(),
            })
        },
        |config| {
            config.routing.requirements = vec![RoutingRequirement {
                kind: Some("AFTER_SALES".into()),
                product_line: Some("dryers".into()),
                certifications: vec!["dryer-repair".into()],
                ..Default::default()
            }];
        },
    )
    .await;
    let dryer = |customer: &str, kind: pb::TicketKind, subject: &str| pb::Ticket {
        kind: kind as i32,
        product: Some(pb::Product {
            product_line: "dryers".into(),
            ..Default::default()
        }),
        ..ticket(customer, "eu-west", subject)
    };
    // Ada and Bo can both take a dryer ticket; an after-sales one needs the certification
    // only Bo holds, so every one goes to Bo, however the load is spread.
    for i in 0..3 {
        let repair = app
            .create(
                &lead(),
                dryer(
                    app.name("c1"),
                    pb::TicketKind::AfterSales,
                    &format!("Dryer {i} needs a repair"),
                ),
            )
            .await;
        assert_eq!(repair.assignee, workforce.bo, "repair {i}");
    }
    // An inquiry about a dryer matches no rule: Ada, with less load, takes it.
    let inquiry = app
        .create(
            &lead(),
            dryer(
                app.name("c2"),
                pb::TicketKind::Inquiry,
                "Which dryer programme for wool?",
            ),
        )
        .await;
    assert_eq!(inquiry.assignee, workforce.ada);
}

#[tokio::test]
async fn an_unknown_kind_in_the_routing_requirements_stops_the_start() {
    let db = TestDatabase::sqlite();
    let definition = aftercare_tickets::TicketsService::new();
    let mut config = aftercare_platform::config::Config::default();
    config.routing.requirements = vec![RoutingRequirement {
        kind: Some("REPAIRS".into()),
        certifications: vec!["dryer-repair".into()],
        ..Default::default()
    }];
    config.services.tickets.database_url = Some(aftercare_platform::config::Secret::new(db.url()));
    let err = aftercare_platform::service::start(
        &definition,
        std::sync::Arc::new(config),
        std::sync::Arc::new(aftercare_platform::events::InProcessBus::new()),
        PrincipalVerifier::random(),
        Some(TcpListener::bind("127.0.0.1:0").await.unwrap()),
        tokio_util::sync::CancellationToken::new(),
    )
    .await
    .expect_err("the start is refused");
    assert!(
        format!("{err:#}").contains("routing.requirements[0].kind: `REPAIRS` is not a ticket kind"),
        "{err:#}"
    );
}

/// An address where nothing listens (a port bound and released).
async fn nothing_listening() -> ServiceEndpoint {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    endpoint(addr)
}

/// An address that accepts connections and never answers, and the task holding them.
async fn never_answering() -> (ServiceEndpoint, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (endpoint(addr), task)
}

fn endpoint(addr: std::net::SocketAddr) -> ServiceEndpoint {
    ServiceEndpoint {
        channel: tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect_lazy(),
        principals: PrincipalVerifier::random(),
    }
}

/// The longest a create may take when a peer is down or slow: its 300 ms deadline, plus a
/// generous margin for the create itself on a loaded machine.
const AT_MOST: Duration = Duration::from_secs(3);

async fn timed_create(app: &App, max_suggestions: i32) -> (pb::CreateTicketResponse, Duration) {
    let started = Instant::now();
    let response = app
        .client
        .clone()
        .create_ticket(app.req(
            &lead(),
            pb::CreateTicketRequest {
                ticket: Some(washer(app.name("c1"), "The washing machine leaks")),
                max_suggestions,
                ..Default::default()
            },
        ))
        .await
        .expect("the create succeeds")
        .into_inner();
    (response, started.elapsed())
}

async fn with_workforce_down_or_slow_a_ticket_is_created_unassigned_in_time(db: TestDatabase) {
    let down = nothing_listening().await;
    let mut app = spawn_app_with(db, move |s| s.with_workforce(down)).await;
    let (response, took) = timed_create(&app, 0).await;
    let created = response.ticket.unwrap();
    assert_eq!(created.assignee, "");
    assert_eq!(created.status, pb::TicketStatus::New as i32);
    assert!(took < AT_MOST, "{took:?}");

    let (slow, holder) = never_answering().await;
    app.restart_with(move |s| s.with_workforce(slow)).await;
    let (response, took) = timed_create(&app, 0).await;
    let created = response.ticket.unwrap();
    assert_eq!(created.assignee, "");
    // It waited for routing, and no longer than its deadline allows.
    assert!(took >= Duration::from_millis(250), "{took:?}");
    assert!(took < AT_MOST, "{took:?}");
    let stored = app.get(&lead(), &created.name).await.unwrap();
    assert_eq!(stored.assignee, "");
    holder.abort();
}

async fn with_knowledge_down_or_slow_a_ticket_is_created_without_suggestions_in_time(
    db: TestDatabase,
) {
    let down = nothing_listening().await;
    let mut app = spawn_app_with(db, move |s| s.with_knowledge(down)).await;
    let (response, took) = timed_create(&app, 3).await;
    assert!(response.ticket.is_some());
    assert!(response.suggested_articles.is_empty());
    assert!(took < AT_MOST, "{took:?}");

    let (slow, holder) = never_answering().await;
    app.restart_with(move |s| s.with_knowledge(slow)).await;
    let (response, took) = timed_create(&app, 3).await;
    let created = response.ticket.unwrap();
    assert!(response.suggested_articles.is_empty());
    assert!(took >= Duration::from_millis(250), "{took:?}");
    assert!(took < AT_MOST, "{took:?}");
    assert!(app.get(&lead(), &created.name).await.is_ok());
    holder.abort();
}

on_both_databases!(
    a_ticket_needing_a_skill_is_routed_to_the_agent_who_has_it,
    with_workforce_down_or_slow_a_ticket_is_created_unassigned_in_time,
    with_knowledge_down_or_slow_a_ticket_is_created_without_suggestions_in_time,
    a_ticket_routed_from_the_queue_is_assigned_once_and_a_taken_one_is_left_alone,
    a_ticket_needing_a_certification_by_configuration_goes_only_to_a_certified_agent,
);

/// A `TicketRouted` from the workforce service (a queued ticket held for `agent`), as
/// published on the bus.
fn ticket_routed(ticket: &str, agent: &str) -> aftercare_platform::events::Event {
    use prost::Name as _;
    let routed = ev::TicketRouted {
        ticket: ticket.into(),
        agent: agent.into(),
        agent_display_name: "Ada".into(),
        queue_reason: "no agent of eu-west on shift".into(),
        ..Default::default()
    };
    aftercare_platform::events::Event {
        id: uuid::Uuid::now_v7().to_string(),
        r#type: ev::TicketRouted::full_name(),
        source: "workforce".into(),
        subject: ticket.into(),
        payload: Some(prost_types::Any::from_msg(&routed).unwrap()),
        ..Default::default()
    }
}

async fn a_ticket_routed_from_the_queue_is_assigned_once_and_a_taken_one_is_left_alone(
    db: TestDatabase,
) {
    let app = spawn_app(db).await;
    let mut events = app
        .tickets
        .bus()
        .subscribe(
            "test",
            SubscriptionFilter::all().with_type::<ev::TicketAssigned>(),
        )
        .await
        .unwrap();
    let waiting = app
        .create(&lead(), washer(app.name("c1"), "The washing machine leaks"))
        .await;
    assert_eq!(waiting.assignee, "");
    let taken = app
        .create(
            &lead(),
            pb::Ticket {
                assignee: "agents/bo".into(),
                ..washer(app.name("c1"), "Another leak")
            },
        )
        .await;
    let later = app
        .create(&lead(), washer(app.name("c2"), "A third leak"))
        .await;

    // Delivered twice: assigned once. The taken ticket keeps its agent; the last event
    // (ordered after the others) tells when they have all been handled.
    let routed = ticket_routed(&waiting.name, "agents/ada");
    let bus = app.tickets.bus();
    bus.publish(&routed).await.unwrap();
    bus.publish(&routed).await.unwrap();
    bus.publish(&ticket_routed(&taken.name, "agents/ada"))
        .await
        .unwrap();
    bus.publish(&ticket_routed(&later.name, "agents/cy"))
        .await
        .unwrap();
    poll_until(
        "the last routed ticket assigned",
        Duration::from_secs(10),
        || async {
            let got = app.get(&lead(), &later.name).await.unwrap();
            (got.assignee == "agents/cy").then_some(())
        },
    )
    .await;

    let assigned = app.get(&lead(), &waiting.name).await.unwrap();
    assert_eq!(assigned.assignee, "agents/ada");
    assert_eq!(assigned.status, pb::TicketStatus::Open as i32);
    let kept = app.get(&lead(), &taken.name).await.unwrap();
    assert_eq!(
        (kept.assignee.as_str(), &kept.etag),
        ("agents/bo", &taken.etag)
    );

    let mut seen = Vec::new();
    while seen.last().map(|(name, _, _)| name) != Some(&later.name) {
        let delivery = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("an event in time")
            .expect("a delivery")
            .expect("no bus error");
        let event: ev::TicketAssigned = decode_payload(delivery.event()).unwrap();
        delivery.ack().await.unwrap();
        assert_eq!(
            event.actor.unwrap().r#type,
            common::ActorType::System as i32
        );
        let snapshot = event.ticket.unwrap();
        seen.push((snapshot.name, snapshot.assignee, event.auto_routed));
    }
    assert_eq!(
        seen,
        vec![
            (waiting.name.clone(), "agents/ada".to_owned(), true),
            (later.name.clone(), "agents/cy".to_owned(), true),
        ],
        "one assignment per routed waiting ticket, none for the taken one"
    );

    // Resolved meanwhile: a later routing leaves it alone.
    let resolved = app
        .client
        .clone()
        .resolve_ticket(app.req(
            &lead(),
            pb::ResolveTicketRequest {
                name: later.name.clone(),
                etag: app.get(&lead(), &later.name).await.unwrap().etag,
                resolution_summary: "Fixed on the phone".into(),
            },
        ))
        .await
        .expect("resolved")
        .into_inner()
        .ticket
        .unwrap();
    bus.publish(&ticket_routed(&later.name, "agents/ada"))
        .await
        .unwrap();
    bus.publish(&ticket_routed(&waiting.name, "agents/dee"))
        .await
        .unwrap();
    let fresh = app
        .create(&lead(), washer(app.name("c2"), "A fourth leak"))
        .await;
    bus.publish(&ticket_routed(&fresh.name, "agents/ada"))
        .await
        .unwrap();
    poll_until(
        "the fresh routed ticket assigned",
        Duration::from_secs(10),
        || async {
            let got = app.get(&lead(), &fresh.name).await.unwrap();
            (got.assignee == "agents/ada").then_some(())
        },
    )
    .await;
    let after = app.get(&lead(), &later.name).await.unwrap();
    assert_eq!(
        (after.assignee.as_str(), after.status, &after.etag),
        (
            "agents/cy",
            pb::TicketStatus::Resolved as i32,
            &resolved.etag
        )
    );
    let still = app.get(&lead(), &waiting.name).await.unwrap();
    assert_eq!(
        (still.assignee.as_str(), &still.etag),
        ("agents/ada", &assigned.etag)
    );
}

//! RouteTicket: eligibility, scores and reasons; certifications; load from ticket events;
//! holds under concurrency; follow-the-sun and the queue.

use std::collections::HashMap;
use std::time::Duration;

use aftercare_platform::events::{
    EventBus as _, Handled, SubscriptionFilter, decode_payload, handle,
};
use aftercare_platform::testing::{TestDatabase, poll_until};
use aftercare_platform::time::{now_micros, to_timestamp};
use aftercare_proto::aftercare::events::v1::{
    TicketAssigned, TicketResolved, TicketRouted, TicketSnapshot,
};
use aftercare_proto::aftercare::tickets::v1::TicketStatus;
use aftercare_proto::aftercare::workforce::v1 as pb;
use aftercare_workforce::{FollowTheSun, LOAD_CONSUMER, LoadTracker, Settings};
use tonic::Code;

use super::harness::{
    App, admin, agent, always, bad_fields, customer, event, spawn_app, spawn_app_configured,
    spawn_app_with, tickets_service,
};

aftercare_platform::on_both_databases!(
    the_best_agent_is_chosen_and_the_choice_is_explained,
    certifications_count_only_while_active_and_unexpired,
    load_follows_ticket_events_once_each_and_ignores_late_ones,
    fifty_concurrent_routings_fill_ten_agents_exactly_to_capacity,
    with_nobody_on_shift_the_ticket_follows_the_sun_or_queues,
    bad_routes_and_outsiders_are_refused,
    a_held_ticket_is_confirmed_by_its_assignment_and_a_reroute_holds_nobody_twice,
    queued_tickets_go_to_an_agent_coming_online_most_urgent_and_oldest_first,
    two_agents_coming_online_at_once_take_each_queued_ticket_once,
    follow_the_sun_policies_come_from_the_configuration_per_region,
    presence_heartbeats_never_overwrite_the_load_routing_holds,
    a_new_team_member_is_routed_as_one_at_once,
);

/// Creates an available agent on `shift` with `skills`.
async fn on_duty(
    app: &App,
    name: &str,
    region: &str,
    shift: &str,
    skills: Vec<pb::AgentSkill>,
    capacity: i32,
) -> pb::Agent {
    let mut a = agent(
        name,
        &format!("{}@example.com", name.to_lowercase().replace(' ', ".")),
        region,
    );
    a.shift = shift.into();
    a.skills = skills;
    a.max_concurrent_tickets = capacity;
    let created = app.create_agent(a).await;
    app.set_presence(&created.name, pb::PresenceState::Available)
        .await;
    created
}

async fn route(app: &App, request: pb::RouteTicketRequest) -> pb::RouteTicketResponse {
    app.client()
        .route_ticket(app.req(&tickets_service(), request))
        .await
        .expect("routing answers")
        .into_inner()
}

fn exclusions(response: &pb::RouteTicketResponse) -> Vec<(i32, i32)> {
    response
        .exclusions
        .iter()
        .map(|e| (e.reason, e.agent_count))
        .collect()
}

fn ticket() -> String {
    format!("tickets/{}", uuid::Uuid::now_v7())
}

async fn the_best_agent_is_chosen_and_the_choice_is_explained(db: TestDatabase) {
    let app = spawn_app(db).await;
    let on = app.create_shift("Always", "Europe/Berlin", always()).await;
    let off = app.create_shift("Never", "Europe/Berlin", vec![]).await;
    let washers = app
        .create_skill(
            pb::SkillCategory::ProductLine,
            "washing-machines",
            "Washers",
        )
        .await;
    let level = |n| {
        vec![pb::AgentSkill {
            skill: washers.name.clone(),
            level: n,
        }]
    };
    let expert = on_duty(&app, "Ada", "eu-west", &on.name, level(5), 5).await;
    let novice = on_duty(&app, "Bo", "eu-west", &on.name, level(2), 5).await;
    let away = on_duty(&app, "Cy", "eu-west", &on.name, level(5), 5).await;
    app.set_presence(&away.name, pb::PresenceState::Away).await;
    on_duty(&app, "Di", "eu-west", &on.name, vec![], 5).await;
    on_duty(&app, "Ed", "eu-west", &off.name, level(5), 5).await;
    let response = route(
        &app,
        pb::RouteTicketRequest {
            product_line: "Washing-Machines".into(),
            region: "eu-west".into(),
            language: "en-GB".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(response.considered_agents, 5);
    let names: Vec<&str> = response
        .candidates
        .iter()
        .map(|c| c.agent.as_str())
        .collect();
    assert_eq!(names, [expert.name.as_str(), novice.name.as_str()]);
    let best = &response.candidates[0];
    assert_eq!(best.factors.len(), 6);
    assert_eq!(best.factors[0].points, 35.0);
    assert_eq!(
        best.factors[2].points, 10.0,
        "en serves en-GB by primary subtag"
    );
    assert!(best.on_shift);
    assert!(best.reasons.iter().any(|r| r == "skill Washers level 5"));
    assert!(best.score > response.candidates[1].score);
    assert_eq!(
        exclusions(&response),
        [
            (pb::RoutingExclusionReason::NotAvailable as i32, 1),
            (pb::RoutingExclusionReason::Skill as i32, 1),
            (pb::RoutingExclusionReason::OffShift as i32, 1),
        ]
    );
    // Without a ticket nothing is held.
    assert_eq!(app.get_agent(&expert.name).await.active_tickets, 0);
    // Excluding the expert leaves the novice.
    let response = route(
        &app,
        pb::RouteTicketRequest {
            product_line: "washing-machines".into(),
            exclude_agents: vec![expert.name.clone()],
            max_candidates: 1,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(response.candidates.len(), 1);
    assert_eq!(response.candidates[0].agent, novice.name);
    assert_eq!(
        response.exclusions[0].reason,
        pb::RoutingExclusionReason::Excluded as i32
    );
}

async fn certify(
    app: &App,
    agent: &str,
    code: &str,
    state: i64,
    expire_time: Option<i64>,
) -> String {
    let id = uuid::Uuid::now_v7().to_string();
    let now = now_micros();
    sqlx::query(
        "INSERT INTO certifications (id, agent_id, code, display_name, course_id, enrolment_id,
            skills, issue_time, expire_time, state, issuer, revoke_time, revoke_reason, version,
            create_time, update_time)
         VALUES ($1, $2, $3, $3, NULL, NULL, ',', $4, $5, $6, 'admins/root', NULL, NULL, 1, $4, $4)",
    )
    .bind(id.clone())
    .bind(agent.trim_start_matches("agents/").to_owned())
    .bind(code.to_owned())
    .bind(now - 1_000_000)
    .bind(expire_time)
    .bind(state)
    .execute(app.service.db().writer())
    .await
    .unwrap();
    id
}

async fn certifications_count_only_while_active_and_unexpired(db: TestDatabase) {
    let app = spawn_app(db).await;
    let on = app.create_shift("Always", "UTC", always()).await;
    let certified = on_duty(&app, "Ada", "eu-west", &on.name, vec![], 5).await;
    let revoked = on_duty(&app, "Bo", "eu-west", &on.name, vec![], 5).await;
    let lapsed = on_duty(&app, "Cy", "eu-west", &on.name, vec![], 5).await;
    let now = now_micros();
    let cert = certify(
        &app,
        &certified.name,
        "washer-repair-l2",
        1,
        Some(now + 3_600_000_000),
    )
    .await;
    certify(&app, &revoked.name, "washer-repair-l2", 3, None).await;
    // Past its expiry but not yet swept: it counts for nothing already.
    certify(&app, &lapsed.name, "washer-repair-l2", 1, Some(now - 1)).await;
    let request = || pb::RouteTicketRequest {
        required_certifications: vec!["washer-repair-l2".into()],
        ..Default::default()
    };
    let response = route(&app, request()).await;
    let names: Vec<&str> = response
        .candidates
        .iter()
        .map(|c| c.agent.as_str())
        .collect();
    assert_eq!(names, [certified.name.as_str()]);
    assert_eq!(
        exclusions(&response),
        [(pb::RoutingExclusionReason::Certification as i32, 2)]
    );
    sqlx::query("UPDATE certifications SET expire_time = $2 WHERE id = $1")
        .bind(cert)
        .bind(now_micros() - 1)
        .execute(app.service.db().writer())
        .await
        .unwrap();
    let response = route(&app, request()).await;
    assert!(response.candidates.is_empty());
    assert_eq!(
        exclusions(&response),
        [(pb::RoutingExclusionReason::Certification as i32, 3)]
    );
}

fn snapshot(ticket: &str, assignee: &str, status: TicketStatus, micros: i64) -> TicketSnapshot {
    TicketSnapshot {
        name: ticket.into(),
        assignee: assignee.into(),
        status: status as i32,
        update_time: Some(to_timestamp(micros)),
        ..Default::default()
    }
}

fn assigned(ticket: &str, assignee: &str, micros: i64) -> aftercare_platform::events::Event {
    event(
        ticket,
        micros,
        &TicketAssigned {
            ticket: Some(snapshot(ticket, assignee, TicketStatus::Open, micros)),
            auto_routed: true,
            ..Default::default()
        },
    )
}

async fn load_follows_ticket_events_once_each_and_ignores_late_ones(db: TestDatabase) {
    let app = spawn_app(db).await;
    let ada = app
        .create_agent(agent("Ada", "ada@example.com", "eu-west"))
        .await;
    let bo = app
        .create_agent(agent("Bo", "bo@example.com", "eu-west"))
        .await;
    let t0 = now_micros();
    let first = ticket();
    let second = ticket();
    app.publish(&assigned(&first, &ada.name, t0)).await;
    app.publish(&assigned(&second, &ada.name, t0 + 1)).await;
    poll_until("two tickets on ada", Duration::from_secs(5), || async {
        (app.get_agent(&ada.name).await.active_tickets == 2).then_some(())
    })
    .await;
    // A redelivery is recognised by the inbox and changes nothing.
    let (feed, _) = tokio::sync::broadcast::channel(8);
    let tracker = LoadTracker::new(feed);
    let again = assigned(&first, &ada.name, t0);
    let db = app.service.db();
    assert_eq!(
        handle(db, LOAD_CONSUMER, &again, &tracker).await.unwrap(),
        Handled::Applied
    );
    assert_eq!(
        handle(db, LOAD_CONSUMER, &again, &tracker).await.unwrap(),
        Handled::Duplicate
    );
    assert_eq!(app.get_agent(&ada.name).await.active_tickets, 2);
    // Resolved: ada carries one; a late, older assignment of that ticket is ignored.
    let resolved = event(
        &first,
        t0 + 10,
        &TicketResolved {
            ticket: Some(snapshot(&first, &ada.name, TicketStatus::Resolved, t0 + 10)),
            ..Default::default()
        },
    );
    app.publish(&resolved).await;
    app.publish(&assigned(&first, &ada.name, t0 + 5)).await;
    // Reassigned: the second ticket moves from ada to bo.
    app.publish(&assigned(&second, &bo.name, t0 + 20)).await;
    poll_until(
        "the second ticket on bo",
        Duration::from_secs(5),
        || async { (app.get_agent(&bo.name).await.active_tickets == 1).then_some(()) },
    )
    .await;
    assert_eq!(app.get_agent(&ada.name).await.active_tickets, 0);
    let presence = app
        .set_presence(&bo.name, pb::PresenceState::Available)
        .await;
    assert_eq!(presence.active_tickets, 1);
    assert!(presence.last_assign_time.is_some());
}

async fn fifty_concurrent_routings_fill_ten_agents_exactly_to_capacity(db: TestDatabase) {
    let app = spawn_app(db).await;
    let on = app.create_shift("Always", "UTC", always()).await;
    let mut agents = Vec::new();
    for i in 0..10 {
        agents.push(
            on_duty(
                &app,
                &format!("Agent {i:02}"),
                "eu-west",
                &on.name,
                vec![],
                5,
            )
            .await
            .name,
        );
    }
    let tickets: Vec<String> = (0..50).map(|_| ticket()).collect();
    let routings = tickets.iter().map(|t| {
        let mut client = app.client();
        let request = app.req(
            &tickets_service(),
            pb::RouteTicketRequest {
                ticket: t.clone(),
                region: "eu-west".into(),
                ..Default::default()
            },
        );
        async move { client.route_ticket(request).await }
    });
    let responses = futures::future::join_all(routings).await;
    let mut per_agent: HashMap<String, usize> = HashMap::new();
    for response in responses {
        let response = response.expect("every routing answers").into_inner();
        let chosen = &response
            .candidates
            .first()
            .expect("every ticket gets an agent")
            .agent;
        *per_agent.entry(chosen.clone()).or_default() += 1;
    }
    assert_eq!(per_agent.values().sum::<usize>(), 50);
    assert_eq!(per_agent.len(), 10);
    assert!(per_agent.values().all(|n| *n == 5), "{per_agent:?}");
    for name in &agents {
        assert_eq!(app.get_agent(name).await.active_tickets, 5);
    }
    let held: i64 =
        sqlx::query_scalar("SELECT COUNT(DISTINCT ticket_id) FROM ticket_load WHERE held = 1")
            .fetch_one(app.service.db().reader())
            .await
            .unwrap();
    assert_eq!(held, 50);
    // The 51st waits, with the reason recorded.
    let late = ticket();
    let response = route(
        &app,
        pb::RouteTicketRequest {
            ticket: late.clone(),
            ..Default::default()
        },
    )
    .await;
    assert!(response.candidates.is_empty());
    assert_eq!(
        exclusions(&response),
        [(pb::RoutingExclusionReason::AtCapacity as i32, 10)]
    );
    let reason: String =
        sqlx::query_scalar("SELECT reason FROM routing_queue WHERE ticket_id = $1")
            .bind(late.trim_start_matches("tickets/").to_owned())
            .fetch_one(app.service.db().reader())
            .await
            .unwrap();
    assert_eq!(reason, "no eligible agent: 10 at capacity");
}

async fn with_nobody_on_shift_the_ticket_follows_the_sun_or_queues(db: TestDatabase) {
    let setup = |app: App| async move {
        let day = app.create_shift("Always", "Asia/Shanghai", always()).await;
        let night = app.create_shift("Never", "Europe/Berlin", vec![]).await;
        let eu = on_duty(&app, "Ada", "eu-west", &night.name, vec![], 5).await;
        let cn = on_duty(&app, "Bo", "cn-east", &day.name, vec![], 5).await;
        (app, eu, cn)
    };
    let (app, _eu, cn) = setup(spawn_app(db).await).await;
    let response = route(
        &app,
        pb::RouteTicketRequest {
            region: "eu-west".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(response.candidates.len(), 1);
    let chosen = &response.candidates[0];
    assert_eq!(chosen.agent, cn.name);
    assert_eq!(chosen.region, "cn-east");
    assert!(
        chosen
            .reasons
            .iter()
            .any(|r| r.starts_with("follow-the-sun"))
    );
    assert_eq!(chosen.factors[3].points, 0.0, "no region points abroad");
    drop(app);
    // With a queue policy for eu-west the ticket waits instead.
    let mut settings = Settings::default();
    settings
        .follow_the_sun
        .insert("eu-west".into(), FollowTheSun::Queue);
    let (app, _, _) = setup(spawn_app_with(TestDatabase::sqlite(), settings).await).await;
    let waiting = ticket();
    let response = route(
        &app,
        pb::RouteTicketRequest {
            ticket: waiting.clone(),
            region: "eu-west".into(),
            ..Default::default()
        },
    )
    .await;
    assert!(response.candidates.is_empty());
    assert_eq!(
        exclusions(&response),
        [
            (pb::RoutingExclusionReason::Region as i32, 1),
            (pb::RoutingExclusionReason::OffShift as i32, 1),
        ]
    );
    let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM routing_queue")
        .fetch_one(app.service.db().reader())
        .await
        .unwrap();
    assert_eq!(queued, 1);
}

async fn bad_routes_and_outsiders_are_refused(db: TestDatabase) {
    let app = spawn_app(db).await;
    let bad = app
        .client()
        .route_ticket(app.req(
            &tickets_service(),
            pb::RouteTicketRequest {
                ticket: "t-1".into(),
                priority: 9,
                teams: vec!["teams/x".into()],
                required_certifications: vec!["Bad Code".into()],
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&bad),
        [
            "ticket",
            "priority",
            "required_certifications[0]",
            "teams[0]"
        ]
    );
    let unknown = app
        .client()
        .route_ticket(app.req(
            &tickets_service(),
            pb::RouteTicketRequest {
                required_skills: vec![pb::RequiredSkill {
                    skill: "skills/0192f0c4-0000-7000-8000-000000000001".into(),
                    min_level: 2,
                }],
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&unknown), ["required_skills[0].skill"]);
    let denied = app
        .client()
        .route_ticket(app.req(&customer(), pb::RouteTicketRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}

async fn a_held_ticket_is_confirmed_by_its_assignment_and_a_reroute_holds_nobody_twice(
    db: TestDatabase,
) {
    let app = spawn_app(db).await;
    let on = app.create_shift("Always", "UTC", always()).await;
    let ada = on_duty(&app, "Ada", "eu-west", &on.name, vec![], 5).await;
    let t = ticket();
    let request = || pb::RouteTicketRequest {
        ticket: t.clone(),
        ..Default::default()
    };
    let first = route(&app, request()).await;
    assert_eq!(first.candidates[0].agent, ada.name);
    assert!(
        first.candidates[0]
            .reasons
            .iter()
            .any(|r| r == "held for this ticket")
    );
    assert_eq!(app.get_agent(&ada.name).await.active_tickets, 1);
    // Routing the same ticket again before its assignment moves the hold, not adds one.
    route(&app, request()).await;
    assert_eq!(app.get_agent(&ada.name).await.active_tickets, 1);
    // The tickets service assigns it: the hold becomes the assignment.
    app.publish(&assigned(&t, &ada.name, now_micros())).await;
    poll_until("the hold confirmed", Duration::from_secs(5), || async {
        let held: i64 = sqlx::query_scalar("SELECT held FROM ticket_load WHERE ticket_id = $1")
            .bind(t.trim_start_matches("tickets/").to_owned())
            .fetch_one(app.service.db().reader())
            .await
            .ok()?;
        (held == 0).then_some(())
    })
    .await;
    let again = route(&app, request()).await;
    assert_eq!(again.candidates.len(), 1);
    assert_eq!(app.get_agent(&ada.name).await.active_tickets, 1);
}

/// Creates an agent on `shift` with `capacity`, offline.
async fn offline(app: &App, name: &str, shift: &str, capacity: i32) -> pb::Agent {
    let mut a = agent(
        name,
        &format!("{}@example.com", name.to_lowercase()),
        "eu-west",
    );
    a.shift = shift.into();
    a.max_concurrent_tickets = capacity;
    app.create_agent(a).await
}

/// Routes `ticket` with `priority` for eu-west; nobody can take it, so it queues.
async fn queue(app: &App, ticket: &str, priority: pb::RoutingPriority) {
    let response = route(
        app,
        pb::RouteTicketRequest {
            ticket: ticket.into(),
            region: "eu-west".into(),
            priority: priority as i32,
            ..Default::default()
        },
    )
    .await;
    assert!(response.candidates.is_empty(), "{ticket} queues");
}

/// The agent each queued ticket is held for (`None`: waiting), by ticket name.
async fn queued(app: &App) -> HashMap<String, Option<String>> {
    let rows: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT ticket_id, agent_id FROM routing_queue")
            .fetch_all(app.service.db().reader())
            .await
            .unwrap();
    rows.into_iter()
        .map(|(t, a)| (format!("tickets/{t}"), a.map(|a| format!("agents/{a}"))))
        .collect()
}

async fn queued_tickets_go_to_an_agent_coming_online_most_urgent_and_oldest_first(
    db: TestDatabase,
) {
    let app = spawn_app(db).await;
    let mut published = app
        .service
        .bus()
        .subscribe(
            "test",
            SubscriptionFilter::all().with_type::<TicketRouted>(),
        )
        .await
        .unwrap();
    let on = app.create_shift("Always", "UTC", always()).await;
    let ada = offline(&app, "Ada", &on.name, 2).await;
    let (oldest, newer, urgent) = (ticket(), ticket(), ticket());
    queue(&app, &oldest, pb::RoutingPriority::Normal).await;
    queue(&app, &newer, pb::RoutingPriority::Normal).await;
    queue(&app, &urgent, pb::RoutingPriority::High).await;
    assert!(queued(&app).await.values().all(Option::is_none));

    // Ada comes online with room for two: the urgent one, then the oldest.
    let presence = app
        .set_presence(&ada.name, pb::PresenceState::Available)
        .await;
    assert_eq!(presence.active_tickets, 2);
    let held = queued(&app).await;
    assert_eq!(held[&urgent].as_deref(), Some(ada.name.as_str()));
    assert_eq!(held[&oldest].as_deref(), Some(ada.name.as_str()));
    assert_eq!(held[&newer], None, "no room for the third");
    assert_eq!(app.get_agent(&ada.name).await.active_tickets, 2);
    // Each hold is published for the tickets service to assign, in queue order.
    let first = next_routed(&mut published).await;
    let second = next_routed(&mut published).await;
    assert_eq!(
        [
            (first.ticket.as_str(), first.agent.as_str()),
            (second.ticket.as_str(), second.agent.as_str())
        ],
        [
            (urgent.as_str(), ada.name.as_str()),
            (oldest.as_str(), ada.name.as_str())
        ]
    );
    assert_eq!(first.agent_display_name, "Ada");
    assert!(!first.queue_reason.is_empty());
    assert!(first.queue_time.is_some() && first.route_time.is_some());
    assert!(first.queue_time.unwrap().seconds <= first.route_time.unwrap().seconds);

    // The tickets service assigns the urgent one: it leaves the queue.
    app.publish(&assigned(&urgent, &ada.name, now_micros()))
        .await;
    poll_until(
        "the assigned ticket dequeued",
        Duration::from_secs(5),
        || async { (!queued(&app).await.contains_key(&urgent)).then_some(()) },
    )
    .await;
    // Resolving it frees a place: the waiting ticket goes to Ada, within her capacity.
    let resolved = event(
        &urgent,
        now_micros(),
        &TicketResolved {
            ticket: Some(snapshot(
                &urgent,
                &ada.name,
                TicketStatus::Resolved,
                now_micros(),
            )),
            ..Default::default()
        },
    );
    app.publish(&resolved).await;
    poll_until(
        "the third ticket routed",
        Duration::from_secs(5),
        || async {
            (queued(&app).await[&newer].as_deref() == Some(ada.name.as_str())).then_some(())
        },
    )
    .await;
    assert_eq!(app.get_agent(&ada.name).await.active_tickets, 2);
    let third = next_routed(&mut published).await;
    assert_eq!(
        (third.ticket.as_str(), third.agent.as_str()),
        (newer.as_str(), ada.name.as_str())
    );
}

/// The next `TicketRouted` the service publishes.
async fn next_routed(published: &mut aftercare_platform::events::Subscription) -> TicketRouted {
    let delivery = tokio::time::timeout(Duration::from_secs(10), published.next())
        .await
        .expect("a TicketRouted in time")
        .expect("a delivery")
        .expect("no bus error");
    let routed = decode_payload(delivery.event()).unwrap();
    delivery.ack().await.unwrap();
    routed
}

async fn two_agents_coming_online_at_once_take_each_queued_ticket_once(db: TestDatabase) {
    let app = spawn_app(db).await;
    let on = app.create_shift("Always", "UTC", always()).await;
    let ada = offline(&app, "Ada", &on.name, 3).await;
    let bo = offline(&app, "Bo", &on.name, 3).await;
    let tickets: Vec<String> = (0..5).map(|_| ticket()).collect();
    for t in &tickets {
        queue(&app, t, pb::RoutingPriority::Normal).await;
    }
    let (a, b) = futures::join!(
        app.set_presence(&ada.name, pb::PresenceState::Available),
        app.set_presence(&bo.name, pb::PresenceState::Available),
    );
    // Each ticket is held once, for one of them, and neither goes over capacity; whatever
    // one pass left (the other held the ticket meanwhile) the sweep would place.
    let held = queued(&app).await;
    let mut per_agent: HashMap<String, i64> = HashMap::new();
    for agent in held.values().flatten() {
        *per_agent.entry(agent.clone()).or_default() += 1;
    }
    let loads: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ticket_load WHERE held = 1")
        .fetch_one(app.service.db().reader())
        .await
        .unwrap();
    assert_eq!(
        loads,
        per_agent.values().sum::<i64>(),
        "one hold per ticket"
    );
    assert_eq!(loads, 5, "{held:?}");
    for (name, reported) in [(&ada.name, a.active_tickets), (&bo.name, b.active_tickets)] {
        let load = i64::from(app.get_agent(name).await.active_tickets);
        assert!(load <= 3, "{name} over capacity: {load}");
        assert_eq!(load, per_agent.get(name).copied().unwrap_or(0));
        assert!(i64::from(reported) <= load);
    }
}

async fn follow_the_sun_policies_come_from_the_configuration_per_region(db: TestDatabase) {
    use aftercare_platform::config::{FollowTheSunMode, FollowTheSunPolicy};
    let setup = |app: App| async move {
        let on = app.create_shift("Always", "UTC", always()).await;
        let off = app.create_shift("Never", "Europe/Berlin", vec![]).await;
        on_duty(&app, "Ada", "eu-west", &off.name, vec![], 5).await;
        let bo = on_duty(&app, "Bo", "cn-east", &on.name, vec![], 5).await;
        let cy = on_duty(&app, "Cy", "us-east", &on.name, vec![], 5).await;
        // Cy carries three tickets: by load, Bo is the better choice anywhere.
        app.client()
            .set_presence(app.req(
                &admin(),
                pb::SetPresenceRequest {
                    name: format!("{}/presence", cy.name),
                    state: pb::PresenceState::Available as i32,
                    active_tickets: Some(3),
                    ..Default::default()
                },
            ))
            .await
            .expect("a load override");
        (app, bo.name, cy.name)
    };
    let from = |region: &str| pb::RouteTicketRequest {
        region: region.into(),
        ..Default::default()
    };
    let chosen = |r: &pb::RouteTicketResponse| r.candidates.first().map(|c| c.agent.clone());

    // The defaults: nobody on shift in eu-west, so the ticket goes to whoever is best
    // anywhere; a region without agents likewise.
    let backend = db.backend();
    let (app, bo, _) = setup(spawn_app(db).await).await;
    assert_eq!(
        chosen(&route(&app, from("eu-west")).await),
        Some(bo.clone())
    );
    assert_eq!(chosen(&route(&app, from("ap-south")).await), Some(bo));
    drop(app);

    // Configured: eu-west tries us-east first, every other region queues.
    let again = match backend {
        aftercare_platform::db::Backend::Postgres => TestDatabase::postgres()
            .await
            .expect("PostgreSQL, as for the first part"),
        _ => TestDatabase::sqlite(),
    };
    let (app, bo, cy) = setup(
        spawn_app_configured(again, |config| {
            config.routing.follow_the_sun.insert(
                "eu-west".into(),
                FollowTheSunPolicy::Regions(vec!["us-east".into(), "cn-east".into()]),
            );
            config.routing.default_follow_the_sun =
                FollowTheSunPolicy::Mode(FollowTheSunMode::Queue);
        })
        .await,
    )
    .await;
    let response = route(&app, from("eu-west")).await;
    assert_eq!(chosen(&response), Some(cy), "us-east before cn-east");
    assert_eq!(response.candidates[1].agent, bo);
    assert!(
        response.candidates[0]
            .reasons
            .iter()
            .any(|r| r.starts_with("follow-the-sun"))
    );
    let waiting = route(&app, from("ap-south")).await;
    assert!(waiting.candidates.is_empty(), "ap-south queues");
    // In its own region a ticket is routed as ever.
    assert_eq!(chosen(&route(&app, from("cn-east")).await), Some(bo));
}

async fn presence_heartbeats_never_overwrite_the_load_routing_holds(db: TestDatabase) {
    let app = spawn_app(db).await;
    let on = app.create_shift("Always", "UTC", always()).await;
    let ada = on_duty(&app, "Ada", "eu-west", &on.name, vec![], 100).await;
    // Forty tickets held for Ada while she sends forty heartbeats, interleaved: each
    // heartbeat reads her agent and writes her presence; none may write back a load it read
    // before a hold committed.
    let tickets: Vec<String> = (0..40).map(|_| ticket()).collect();
    let mut calls: Vec<futures::future::BoxFuture<'_, ()>> = Vec::new();
    for t in &tickets {
        let mut client = app.client();
        let request = app.req(
            &tickets_service(),
            pb::RouteTicketRequest {
                ticket: t.clone(),
                ..Default::default()
            },
        );
        calls.push(Box::pin(async move {
            let response = client.route_ticket(request).await.expect("routing answers");
            assert_eq!(response.into_inner().candidates.len(), 1, "held for Ada");
        }));
        let mut client = app.client();
        let beat = app.req(
            &admin(),
            pb::SetPresenceRequest {
                name: format!("{}/presence", ada.name),
                state: pb::PresenceState::Available as i32,
                ..Default::default()
            },
        );
        calls.push(Box::pin(async move {
            client.set_presence(beat).await.expect("a heartbeat");
        }));
    }
    futures::future::join_all(calls).await;
    let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ticket_load WHERE agent_id = $1")
        .bind(ada.name.trim_start_matches("agents/").to_owned())
        .fetch_one(app.service.db().reader())
        .await
        .unwrap();
    assert_eq!(held, 40);
    assert_eq!(app.get_agent(&ada.name).await.active_tickets, 40);
    // A heartbeat answers the load as it is.
    let presence = app
        .set_presence(&ada.name, pb::PresenceState::Available)
        .await;
    assert_eq!(presence.active_tickets, 40);
}

async fn a_new_team_member_is_routed_as_one_at_once(db: TestDatabase) {
    let app = spawn_app(db).await;
    let on = app.create_shift("Always", "UTC", always()).await;
    let team = app
        .create_team("Washers", "eu-west", pb::EscalationTier::FirstLine)
        .await;
    let ada = on_duty(&app, "Ada", "eu-west", &on.name, vec![], 5).await;
    let for_team = || pb::RouteTicketRequest {
        teams: vec![team.name.clone()],
        ..Default::default()
    };
    // Routed once before she joins (what routing read is kept): nobody in the team.
    assert!(route(&app, for_team()).await.candidates.is_empty());
    app.add_member(&team.name, &ada.name).await;
    let response = route(&app, for_team()).await;
    assert_eq!(
        response.candidates.first().map(|c| c.agent.as_str()),
        Some(ada.name.as_str())
    );
    // And routed as a non-member at once after she leaves.
    app.client()
        .remove_team_member(app.req(
            &admin(),
            pb::RemoveTeamMemberRequest {
                team: team.name.clone(),
                agent: ada.name.clone(),
            },
        ))
        .await
        .expect("an admin removes a member");
    assert!(route(&app, for_team()).await.candidates.is_empty());
}

//! SlaService, due times applied at create, pauses and the sweep.

use std::time::Duration;

use aftercare_platform::auth::{Principal, Role};
use aftercare_platform::events::{EventBus, SubscriptionFilter, decode_payload};
use aftercare_platform::on_both_databases;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::events::v1 as ev;

use aftercare_proto::aftercare::tickets::v1 as pb;
use aftercare_proto::aftercare::tickets::v1::sla_service_client::SlaServiceClient;
use prost_types::FieldMask;

use super::support::{App, agent, bad_fields, lead, precondition, spawn_app, ticket};

fn admin() -> Principal {
    Principal {
        subject: "agents/admin".into(),
        roles: vec![Role::Admin],
        region: None,
        customer: None,
        scopes: vec![],
        display_name: None,
        via: None,
    }
}

fn minutes(m: i64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: m * 60,
        nanos: 0,
    }
}

fn sla(app: &App) -> SlaServiceClient<tonic::transport::Channel> {
    SlaServiceClient::new(app.tickets.channel())
}

fn office_calendar(region: &str) -> pb::BusinessCalendar {
    let day = |weekday: pb::Weekday| pb::BusinessDayHours {
        weekday: weekday as i32,
        intervals: vec![pb::BusinessHoursInterval {
            start_time_of_day: "09:00".into(),
            end_time_of_day: "18:00".into(),
        }],
    };
    pb::BusinessCalendar {
        display_name: "Shanghai centre".into(),
        region: region.into(),
        time_zone: "Asia/Shanghai".into(),
        weekly_hours: vec![day(pb::Weekday::Monday), day(pb::Weekday::Tuesday)],
        holidays: vec![pb::Holiday {
            date: "2027-02-05".into(),
            display_name: "Spring Festival".into(),
        }],
        ..Default::default()
    }
}

fn policy(
    first_response: i64,
    resolution: i64,
    percent: i32,
    rules: Vec<pb::SlaEscalationRule>,
) -> pb::SlaPolicy {
    pb::SlaPolicy {
        display_name: "Urgent".into(),
        conditions: Some(pb::SlaPolicyConditions {
            regions: vec!["eu-west".into()],
            ..Default::default()
        }),
        first_response_target: Some(minutes(first_response)),
        resolution_target: Some(minutes(resolution)),
        at_risk_threshold_percent: percent,
        escalation_rules: rules,
        ..Default::default()
    }
}

async fn next(events: &mut aftercare_platform::events::Subscription) -> ev::Event {
    let delivery = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("an event in time")
        .expect("a delivery")
        .expect("no bus error");
    let event = delivery.event().clone();
    delivery.ack().await.unwrap();
    event
}

async fn create_policy(app: &App, p: pb::SlaPolicy) -> pb::SlaPolicy {
    sla(app)
        .create_sla_policy(app.req(
            &admin(),
            pb::CreateSlaPolicyRequest {
                sla_policy: Some(p),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .sla_policy
        .unwrap()
}

async fn policies_and_calendars_are_created_read_listed_updated_and_deleted(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut client = sla(&app);
    let request_id = uuid::Uuid::new_v4().to_string();
    let calendar = client
        .create_business_calendar(app.req(
            &admin(),
            pb::CreateBusinessCalendarRequest {
                business_calendar: Some(office_calendar("cn-east")),
                request_id: request_id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .business_calendar
        .unwrap();
    assert!(calendar.name.starts_with("businessCalendars/"));
    assert_eq!(
        calendar.weekly_hours[0].intervals[0].end_time_of_day,
        "18:00"
    );
    // A retry returns the same calendar; another for the same centre is refused.
    let again = client
        .create_business_calendar(app.req(
            &admin(),
            pb::CreateBusinessCalendarRequest {
                business_calendar: Some(office_calendar("cn-east")),
                request_id,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .business_calendar
        .unwrap();
    assert_eq!(again.name, calendar.name);
    let status = client
        .create_business_calendar(app.req(
            &admin(),
            pb::CreateBusinessCalendarRequest {
                business_calendar: Some(office_calendar("cn-east")),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::AlreadyExists);

    let created = create_policy(
        &app,
        pb::SlaPolicy {
            business_calendar: calendar.name.clone(),
            ..policy(60, 480, 0, vec![])
        },
    )
    .await;
    let read = client
        .get_sla_policy(app.req(
            &agent("a1", "eu-west"),
            pb::GetSlaPolicyRequest {
                name: created.name.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .sla_policy
        .unwrap();
    assert_eq!(read, created);
    let listed = client
        .list_sla_policies(app.req(
            &lead(),
            pb::ListSlaPoliciesRequest {
                filter: "region = \"eu-west\"".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .sla_policies;
    assert_eq!(listed.len(), 1);
    let updated = client
        .update_sla_policy(app.req(
            &admin(),
            pb::UpdateSlaPolicyRequest {
                sla_policy: Some(pb::SlaPolicy {
                    display_name: "Renamed".into(),
                    rank: 5,
                    ..created.clone()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["display_name".into()],
                }),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .sla_policy
        .unwrap();
    assert_eq!(updated.display_name, "Renamed");
    assert_eq!(updated.rank, 0);
    let stale = client
        .update_sla_policy(app.req(
            &admin(),
            pb::UpdateSlaPolicyRequest {
                sla_policy: Some(created.clone()),
                update_mask: Some(FieldMask {
                    paths: vec!["rank".into()],
                }),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(precondition(&stale), "ETAG");
    // The calendar is in use; agents may not write.
    let status = client
        .delete_business_calendar(app.req(
            &admin(),
            pb::DeleteBusinessCalendarRequest {
                name: calendar.name.clone(),
                etag: calendar.etag.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(precondition(&status), "IN_USE");
    let status = client
        .delete_sla_policy(app.req(
            &agent("a1", "eu-west"),
            pb::DeleteSlaPolicyRequest {
                name: updated.name.clone(),
                etag: updated.etag.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    client
        .delete_sla_policy(app.req(
            &admin(),
            pb::DeleteSlaPolicyRequest {
                name: updated.name.clone(),
                etag: updated.etag.clone(),
            },
        ))
        .await
        .unwrap();
    let status = client
        .get_sla_policy(app.req(&admin(), pb::GetSlaPolicyRequest { name: updated.name }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
    let cal = client
        .update_business_calendar(app.req(
            &admin(),
            pb::UpdateBusinessCalendarRequest {
                business_calendar: Some(pb::BusinessCalendar {
                    time_zone: "Europe/Berlin".into(),
                    ..calendar.clone()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["time_zone".into()],
                }),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .business_calendar
        .unwrap();
    assert_eq!(cal.time_zone, "Europe/Berlin");
    let calendars = client
        .list_business_calendars(app.req(
            &lead(),
            pb::ListBusinessCalendarsRequest {
                filter: "region = \"cn-east\"".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .business_calendars;
    assert_eq!(calendars.len(), 1);
    client
        .delete_business_calendar(app.req(
            &admin(),
            pb::DeleteBusinessCalendarRequest {
                name: cal.name.clone(),
                etag: cal.etag,
            },
        ))
        .await
        .unwrap();
}

async fn bad_policies_and_calendars_name_every_field(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut client = sla(&app);
    let bad = pb::SlaPolicy {
        display_name: String::new(),
        rank: -1,
        conditions: Some(pb::SlaPolicyConditions {
            kinds: vec![9],
            customer_tiers: vec!["GOLD".into()],
            regions: vec!["EU".into()],
            ..Default::default()
        }),
        first_response_target: Some(prost_types::Duration {
            seconds: 90,
            nanos: 0,
        }),
        resolution_target: None,
        at_risk_threshold_percent: 100,
        business_calendar: "calendars/1".into(),
        escalation_rules: vec![pb::SlaEscalationRule {
            trigger: 0,
            action: None,
        }],
        ..Default::default()
    };
    let status = client
        .create_sla_policy(app.req(
            &admin(),
            pb::CreateSlaPolicyRequest {
                sla_policy: Some(bad),
                request_id: "x".into(),
            },
        ))
        .await
        .unwrap_err();
    let fields = bad_fields(&status);
    for field in [
        "sla_policy.display_name",
        "sla_policy.rank",
        "sla_policy.conditions.kinds[0]",
        "sla_policy.conditions.customer_tiers[0]",
        "sla_policy.conditions.regions[0]",
        "sla_policy.first_response_target",
        "sla_policy.resolution_target",
        "sla_policy.at_risk_threshold_percent",
        "sla_policy.business_calendar",
        "sla_policy.escalation_rules[0].trigger",
        "sla_policy.escalation_rules[0].action",
        "request_id",
    ] {
        assert!(
            fields.iter().any(|f| f == field),
            "{field} missing from {fields:?}"
        );
    }
    let bad = pb::BusinessCalendar {
        display_name: String::new(),
        region: "Shanghai".into(),
        service_centre: "Centre 1".into(),
        time_zone: "Mars/Olympus".into(),
        weekly_hours: vec![pb::BusinessDayHours {
            weekday: 1,
            intervals: vec![
                pb::BusinessHoursInterval {
                    start_time_of_day: "13:00".into(),
                    end_time_of_day: "18:00".into(),
                },
                pb::BusinessHoursInterval {
                    start_time_of_day: "09:00".into(),
                    end_time_of_day: "12:00".into(),
                },
                pb::BusinessHoursInterval {
                    start_time_of_day: "19:00".into(),
                    end_time_of_day: "25:00".into(),
                },
            ],
        }],
        holidays: vec![pb::Holiday {
            date: "2027-13-01".into(),
            display_name: String::new(),
        }],
        ..Default::default()
    };
    let status = client
        .create_business_calendar(app.req(
            &admin(),
            pb::CreateBusinessCalendarRequest {
                business_calendar: Some(bad),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap_err();
    let fields = bad_fields(&status);
    for field in [
        "business_calendar.display_name",
        "business_calendar.region",
        "business_calendar.service_centre",
        "business_calendar.time_zone",
        "business_calendar.weekly_hours[0].intervals[1]",
        "business_calendar.weekly_hours[0].intervals[2]",
        "business_calendar.holidays[0].date",
    ] {
        assert!(
            fields.iter().any(|f| f == field),
            "{field} missing from {fields:?}"
        );
    }
    let count = |table: &'static str| app.count(table);
    assert_eq!(count("sla_policies").await, 0);
    assert_eq!(count("business_calendars").await, 0);
}

async fn a_matching_policy_gives_due_times_and_a_pause_moves_them(db: TestDatabase) {
    let app = spawn_app(db).await;
    let p = create_policy(&app, policy(60, 600, 0, vec![])).await;
    let t = app
        .create(&lead(), ticket(app.name("c1"), "eu-west", "Fridge"))
        .await;
    let s = t.sla.clone().unwrap();
    assert_eq!(s.policy, p.name);
    assert_eq!(s.state, pb::SlaState::OnTrack as i32);
    let created = t.create_time.unwrap().seconds;
    assert_eq!(s.first_response_due_time.unwrap().seconds, created + 3_600);
    assert_eq!(s.resolution_due_time.unwrap().seconds, created + 36_000);
    // Another region matches no policy.
    let other = app
        .create(&lead(), ticket(app.name("c1"), "cn-east", "Fridge"))
        .await;
    assert_eq!(other.sla.unwrap().state, pb::SlaState::None as i32);
    // Paused for a while, then resumed: the due times move on by the pause.
    let mut client = app.client.clone();
    let pending = client
        .change_ticket_status(app.req(
            &lead(),
            pb::ChangeTicketStatusRequest {
                name: t.name.clone(),
                etag: t.etag.clone(),
                status: pb::TicketStatus::Pending as i32,
                reason: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(
        pending.sla.as_ref().unwrap().state,
        pb::SlaState::Paused as i32
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let open = client
        .change_ticket_status(app.req(
            &lead(),
            pb::ChangeTicketStatusRequest {
                name: t.name.clone(),
                etag: pending.etag.clone(),
                status: pb::TicketStatus::Open as i32,
                reason: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    let moved = open.sla.clone().unwrap().first_response_due_time.unwrap();
    let before = s.first_response_due_time.unwrap();
    let shift =
        (moved.seconds - before.seconds) as f64 + f64::from(moved.nanos - before.nanos) / 1e9;
    assert!((1.0..5.0).contains(&shift), "moved by {shift} s");
    // Changing the region re-evaluates the policy: none matches there.
    let updated = client
        .update_ticket(app.req(
            &lead(),
            pb::UpdateTicketRequest {
                ticket: Some(pb::Ticket {
                    region: "cn-east".into(),
                    ..open.clone()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["region".into()],
                }),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(updated.sla.unwrap().state, pb::SlaState::None as i32);
}

async fn the_sweep_marks_at_risk_and_breached_and_escalates_by_policy(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut events = app
        .tickets
        .bus()
        .subscribe(
            "test",
            SubscriptionFilter::all()
                .with_type::<ev::TicketSlaAtRisk>()
                .with_type::<ev::TicketSlaBreached>()
                .with_type::<ev::TicketEscalated>(),
        )
        .await
        .unwrap();
    use pb::sla_escalation_rule::Action;
    let rules = vec![
        pb::SlaEscalationRule {
            trigger: pb::SlaEscalationTrigger::FirstResponseAtRisk as i32,
            action: Some(Action::RaisePriority(pb::RaisePriorityAction {
                priority: 0,
            })),
        },
        pb::SlaEscalationRule {
            trigger: pb::SlaEscalationTrigger::FirstResponseBreached as i32,
            action: Some(Action::EscalateLevel(pb::EscalateLevelAction {
                level: 0,
                team: "teams/leads".into(),
            })),
        },
    ];
    // 1 % of a minute: at risk after 0.6 s.
    create_policy(&app, policy(1, 10, 1, rules)).await;
    let t = app
        .create(&lead(), ticket(app.name("c1"), "eu-west", "Heater"))
        .await;
    assert_eq!(t.priority, pb::TicketPriority::Normal as i32);
    let at_risk = next(&mut events).await;
    let payload: ev::TicketSlaAtRisk = decode_payload(&at_risk).unwrap();
    assert_eq!(payload.target, pb::SlaTargetKind::FirstResponse as i32);
    assert_eq!(payload.used_percent, 1);
    let seen = app.get(&lead(), &t.name).await.unwrap();
    assert_eq!(seen.priority, pb::TicketPriority::High as i32);
    assert!(seen.sla.as_ref().unwrap().at_risk);
    assert_eq!(
        seen.sla.as_ref().unwrap().state,
        pb::SlaState::AtRisk as i32
    );
    // Move the first-response due time into the past, as if a minute went by.
    sqlx::query("UPDATE tickets SET first_response_due = 0, sla_next_check = 0")
        .execute(app.tickets.db().writer())
        .await
        .unwrap();
    let breached = next(&mut events).await;
    let payload: ev::TicketSlaBreached = decode_payload(&breached).unwrap();
    assert_eq!(payload.target, pb::SlaTargetKind::FirstResponse as i32);
    let escalated = next(&mut events).await;
    let payload: ev::TicketEscalated = decode_payload(&escalated).unwrap();
    assert_eq!(payload.level, pb::EscalationLevel::Specialist as i32);
    assert_eq!(
        payload.sla_trigger,
        pb::SlaEscalationTrigger::FirstResponseBreached as i32
    );
    let seen = app.get(&lead(), &t.name).await.unwrap();
    let s = seen.sla.unwrap();
    assert!(s.breached && s.first_response_breached);
    assert_eq!(s.state, pb::SlaState::Breached as i32);
    assert_eq!(seen.team, "teams/leads");
    let history = app
        .client
        .clone()
        .list_ticket_history(app.req(
            &lead(),
            pb::ListTicketHistoryRequest {
                parent: t.name.clone(),
                filter: "actor.type = SYSTEM".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .history_entries;
    let kinds: Vec<i32> = history.iter().map(|h| h.event_kind).collect();
    assert!(kinds.contains(&(pb::HistoryEventKind::SlaAtRisk as i32)));
    assert!(kinds.contains(&(pb::HistoryEventKind::SlaBreached as i32)));
    assert!(kinds.contains(&(pb::HistoryEventKind::Escalated as i32)));
    let listed = app
        .client
        .clone()
        .list_tickets(app.req(
            &lead(),
            pb::ListTicketsRequest {
                filter: "sla_breached = true AND sla_state = BREACHED".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .tickets;
    assert_eq!(listed.len(), 1);
}

async fn calendars_page_in_region_and_centre_order(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut client = sla(&app);
    for region in ["eu-west", "cn-east", "us-east"] {
        client
            .create_business_calendar(app.req(
                &admin(),
                pb::CreateBusinessCalendarRequest {
                    business_calendar: Some(office_calendar(region)),
                    request_id: String::new(),
                },
            ))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    for _ in 0..5 {
        let page = client
            .list_business_calendars(app.req(
                &lead(),
                pb::ListBusinessCalendarsRequest {
                    page_size: 1,
                    page_token: token.clone(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.business_calendars.into_iter().map(|c| c.region));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, ["cn-east", "eu-west", "us-east"]);
}

async fn a_named_customer_brings_their_tier_and_a_tier_policy_applies(db: TestDatabase) {
    let app = spawn_app(db).await;
    let vip = app
        .new_customer(
            "Vera",
            aftercare_proto::aftercare::customers::v1::CustomerTier::Vip,
        )
        .await;
    let p = create_policy(
        &app,
        pb::SlaPolicy {
            display_name: "VIP".into(),
            conditions: Some(pb::SlaPolicyConditions {
                customer_tiers: vec!["VIP".into()],
                ..Default::default()
            }),
            ..policy(30, 300, 0, vec![])
        },
    )
    .await;
    let t = app
        .create(&lead(), ticket(&vip, "cn-east", "Dishwasher leaks"))
        .await;
    assert_eq!(t.customer, vip);
    assert_eq!(t.customer_tier, "VIP");
    assert_eq!(t.customer_display_name, "Vera");
    let s = t.sla.unwrap();
    assert_eq!(s.policy, p.name);
    assert_eq!(s.state, pb::SlaState::OnTrack as i32);
    let created = t.create_time.unwrap().seconds;
    assert_eq!(s.first_response_due_time.unwrap().seconds, created + 1_800);
    // A customer of another tier matches no policy.
    let other = app
        .create(
            &lead(),
            ticket(app.name("c1"), "cn-east", "Dishwasher leaks"),
        )
        .await;
    assert_ne!(other.customer_tier, "VIP");
    assert_eq!(other.sla.unwrap().state, pb::SlaState::None as i32);
}

async fn calendar_edits_and_deletes_recompute_running_due_times(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut client = sla(&app);
    let calendar = client
        .create_business_calendar(app.req(
            &admin(),
            pb::CreateBusinessCalendarRequest {
                business_calendar: Some(office_calendar("eu-west")),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .business_calendar
        .unwrap();
    create_policy(&app, policy(60, 600, 0, vec![])).await;
    let t = app
        .create(&lead(), ticket(app.name("c1"), "eu-west", "Fridge"))
        .await;
    let created = t.create_time.unwrap();
    let s = t.sla.clone().unwrap();
    assert_eq!(s.calendar, calendar.name);
    // Nine office hours a day on two weekdays: ten hours take longer than ten hours.
    let before = s.resolution_due_time.unwrap();
    assert!(before.seconds > created.seconds + 36_000);
    // Open around the clock every day from now on.
    let all_day = [
        pb::Weekday::Monday,
        pb::Weekday::Tuesday,
        pb::Weekday::Wednesday,
        pb::Weekday::Thursday,
        pb::Weekday::Friday,
        pb::Weekday::Saturday,
        pb::Weekday::Sunday,
    ]
    .into_iter()
    .map(|weekday| pb::BusinessDayHours {
        weekday: weekday as i32,
        intervals: vec![pb::BusinessHoursInterval {
            start_time_of_day: "00:00".into(),
            end_time_of_day: "24:00".into(),
        }],
    })
    .collect();
    let updated = client
        .update_business_calendar(app.req(
            &admin(),
            pb::UpdateBusinessCalendarRequest {
                business_calendar: Some(pb::BusinessCalendar {
                    weekly_hours: all_day,
                    holidays: vec![],
                    ..calendar.clone()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["weekly_hours".into(), "holidays".into()],
                }),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .business_calendar
        .unwrap();
    let expected = prost_types::Timestamp {
        seconds: created.seconds + 36_000,
        nanos: created.nanos,
    };
    let mut seen = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let sla = app.get(&lead(), &t.name).await.unwrap().sla.unwrap();
        seen = sla.resolution_due_time;
        if seen == Some(expected) {
            assert_eq!(sla.calendar, calendar.name);
            assert_eq!(
                sla.first_response_due_time.unwrap().seconds,
                created.seconds + 3_600
            );
            break;
        }
    }
    assert_eq!(seen, Some(expected));
    // Deleted (no policy names it): the ticket falls back to around the clock, as the
    // region has no other calendar.
    client
        .delete_business_calendar(app.req(
            &admin(),
            pb::DeleteBusinessCalendarRequest {
                name: updated.name.clone(),
                etag: updated.etag.clone(),
            },
        ))
        .await
        .unwrap();
    let mut calendar_seen = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let sla = app.get(&lead(), &t.name).await.unwrap().sla.unwrap();
        calendar_seen = Some(sla.calendar.clone());
        if sla.calendar.is_empty() {
            assert_eq!(sla.resolution_due_time, Some(expected));
            break;
        }
    }
    assert_eq!(calendar_seen.as_deref(), Some(""));
}

on_both_databases!(
    calendar_edits_and_deletes_recompute_running_due_times,
    a_named_customer_brings_their_tier_and_a_tier_policy_applies,
    calendars_page_in_region_and_centre_order,
    policies_and_calendars_are_created_read_listed_updated_and_deleted,
    bad_policies_and_calendars_name_every_field,
    a_matching_policy_gives_due_times_and_a_pause_moves_them,
    the_sweep_marks_at_risk_and_breached_and_escalates_by_policy,
);

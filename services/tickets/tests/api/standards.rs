//! The default service standards a fresh install starts with: created once per database,
//! applied to new tickets, editable, and never re-created after an edit or a delete.

use aftercare_platform::on_both_databases;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::customers::v1 as customers_pb;
use aftercare_proto::aftercare::tickets::v1 as pb;
use aftercare_proto::aftercare::tickets::v1::sla_service_client::SlaServiceClient;
use prost_types::FieldMask;

use super::support::{App, admin, lead, spawn_app_with, ticket};

fn sla(app: &App) -> SlaServiceClient<tonic::transport::Channel> {
    SlaServiceClient::new(app.tickets.channel())
}

fn micros(t: &Option<prost_types::Timestamp>) -> i64 {
    let t = t.as_ref().expect("a time");
    t.seconds * 1_000_000 + i64::from(t.nanos) / 1_000
}

fn seconds(d: &Option<prost_types::Duration>) -> i64 {
    d.as_ref().expect("a duration").seconds
}

async fn policies(app: &App) -> Vec<pb::SlaPolicy> {
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = sla(app)
            .list_sla_policies(app.req(
                &admin(),
                pb::ListSlaPoliciesRequest {
                    page_size: 7,
                    page_token: page_token.clone(),
                    ..Default::default()
                },
            ))
            .await
            .expect("list policies")
            .into_inner();
        all.extend(page.sla_policies);
        if page.next_page_token.is_empty() {
            return all;
        }
        page_token = page.next_page_token;
    }
}

async fn defaults(db: TestDatabase) -> App {
    spawn_app_with(db, |s| s.with_default_standards(true)).await
}

async fn a_new_ticket_on_a_fresh_install_has_first_response_and_resolution_due_times(
    db: TestDatabase,
) {
    let app = defaults(db).await;
    let standard = app
        .create(
            &lead(),
            pb::Ticket {
                kind: pb::TicketKind::TechnicalSupport as i32,
                priority: pb::TicketPriority::Urgent as i32,
                ..ticket(app.name("c1"), "eu-west", "The dishwasher leaks")
            },
        )
        .await;
    let sla = standard.sla.clone().expect("an SLA");
    assert_ne!(sla.state, pb::SlaState::None as i32, "{sla:?}");
    assert!(!sla.policy.is_empty());
    let created = micros(&standard.create_time);
    // Urgent: 30 minutes and 8 hours, around the clock.
    assert_eq!(
        micros(&sla.first_response_due_time) - created,
        30 * 60_000_000
    );
    assert_eq!(
        micros(&sla.resolution_due_time) - created,
        8 * 3_600_000_000
    );

    // A VIP's urgent ticket: half.
    let vip = app
        .new_customer("Very important", customers_pb::CustomerTier::Vip)
        .await;
    let fast = app
        .create(
            &lead(),
            pb::Ticket {
                priority: pb::TicketPriority::Urgent as i32,
                ..ticket(&vip, "eu-west", "The dishwasher leaks")
            },
        )
        .await;
    let fast_sla = fast.sla.expect("an SLA");
    assert_ne!(fast_sla.policy, sla.policy);
    let created = micros(&fast.create_time);
    assert_eq!(
        micros(&fast_sla.first_response_due_time) - created,
        15 * 60_000_000
    );
    assert_eq!(
        micros(&fast_sla.resolution_due_time) - created,
        4 * 3_600_000_000
    );

    // Normal priority counts in working hours: due at least as late as around the clock.
    let normal = app
        .create(
            &lead(),
            pb::Ticket {
                kind: pb::TicketKind::Inquiry as i32,
                priority: pb::TicketPriority::Normal as i32,
                ..ticket(app.name("c2"), "eu-west", "Which detergent?")
            },
        )
        .await;
    let normal_sla = normal.sla.expect("an SLA");
    let created = micros(&normal.create_time);
    assert!(micros(&normal_sla.first_response_due_time) - created >= 2 * 3_600_000_000);
    assert!(micros(&normal_sla.resolution_due_time) - created >= 9 * 3_600_000_000);
    assert!(!normal_sla.calendar.is_empty());
    assert_ne!(normal_sla.calendar, sla.calendar);
}

async fn the_defaults_are_created_once_and_a_second_start_adds_none(db: TestDatabase) {
    let mut app = defaults(db).await;
    assert_eq!(app.count("sla_policies").await, 20);
    assert_eq!(app.count("business_calendars").await, 2);
    assert_eq!(app.count("service_setup").await, 1);
    let before: Vec<String> = policies(&app).await.into_iter().map(|p| p.name).collect();
    app.restart_with(|s| s.with_default_standards(true)).await;
    app.restart_with(|s| s.with_default_standards(true)).await;
    assert_eq!(app.count("sla_policies").await, 20);
    assert_eq!(app.count("business_calendars").await, 2);
    assert_eq!(app.count("service_setup").await, 1);
    let after: Vec<String> = policies(&app).await.into_iter().map(|p| p.name).collect();
    assert_eq!(before, after);
}

async fn an_edited_default_stays_edited_and_a_deleted_one_stays_deleted_after_restart(
    db: TestDatabase,
) {
    let mut app = defaults(db).await;
    let listed = policies(&app).await;
    assert_eq!(listed.len(), 20);
    let (edited, deleted) = (&listed[0], &listed[1]);
    let updated = sla(&app)
        .update_sla_policy(app.req(
            &admin(),
            pb::UpdateSlaPolicyRequest {
                sla_policy: Some(pb::SlaPolicy {
                    first_response_target: Some(prost_types::Duration {
                        seconds: 600,
                        nanos: 0,
                    }),
                    display_name: "Our own VIP urgent".into(),
                    ..edited.clone()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["first_response_target".into(), "display_name".into()],
                }),
            },
        ))
        .await
        .expect("an admin edits a default")
        .into_inner()
        .sla_policy
        .expect("a policy");
    sla(&app)
        .delete_sla_policy(app.req(
            &admin(),
            pb::DeleteSlaPolicyRequest {
                name: deleted.name.clone(),
                etag: deleted.etag.clone(),
            },
        ))
        .await
        .expect("an admin deletes a default");
    app.restart_with(|s| s.with_default_standards(true)).await;
    let after = policies(&app).await;
    assert_eq!(after.len(), 19);
    assert!(after.iter().all(|p| p.name != deleted.name));
    let kept = after
        .iter()
        .find(|p| p.name == edited.name)
        .expect("the edited default");
    assert_eq!(kept, &updated);
    assert_eq!(kept.display_name, "Our own VIP urgent");
    assert_eq!(seconds(&kept.first_response_target), 600);
}

async fn a_database_with_its_own_standards_gets_no_defaults(db: TestDatabase) {
    let mut app = spawn_app_with(db, |s| s).await;
    sla(&app)
        .create_sla_policy(app.req(
            &admin(),
            pb::CreateSlaPolicyRequest {
                sla_policy: Some(pb::SlaPolicy {
                    display_name: "Ours".into(),
                    first_response_target: Some(prost_types::Duration {
                        seconds: 3_600,
                        nanos: 0,
                    }),
                    resolution_target: Some(prost_types::Duration {
                        seconds: 7_200,
                        nanos: 0,
                    }),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await
        .expect("an admin creates a policy");
    app.restart_with(|s| s.with_default_standards(true)).await;
    assert_eq!(app.count("sla_policies").await, 1);
    assert_eq!(app.count("business_calendars").await, 0);
    assert_eq!(app.count("service_setup").await, 1);
}

on_both_databases!(
    a_new_ticket_on_a_fresh_install_has_first_response_and_resolution_due_times,
    the_defaults_are_created_once_and_a_second_start_adds_none,
    an_edited_default_stays_edited_and_a_deleted_one_stays_deleted_after_restart,
    a_database_with_its_own_standards_gets_no_defaults,
);

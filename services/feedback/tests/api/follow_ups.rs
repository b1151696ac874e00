//! The closed loop with the real tickets service: a detractor or a severe complaint opens
//! one follow-up ticket linked to the original, retried while tickets is down; contacts,
//! closing with a re-survey, overdue escalation.

use std::time::Duration;

use aftercare_platform::auth::Role;
use aftercare_platform::on_both_databases;
use aftercare_platform::testing::{TestDatabase, poll_until};
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::feedback::v1 as pb;
use aftercare_proto::aftercare::tickets::v1 as tickets_pb;
use tonic::Code;

use super::harness::{
    App, csat_survey, customer, lead, resolved, spawn_app, spawn_app_configured, spawn_app_with,
    spawn_loop, staff,
};

const JOURNEY: &str = "师傅上门很晚，态度也不好，非常不满意";

/// Resolves `ticket` (as an event) and waits for its invitation.
async fn invitation_for(app: &App, ticket: &tickets_pb::Ticket) -> pb::Invitation {
    let event = resolved(&ticket.name, &ticket.customer, &ticket.region);
    let delivered = app.deliver("tickets", &ticket.name, &event).await;
    app.redeliver(&delivered).await;
    poll_until("the invitation", Duration::from_secs(8), || async {
        let list = app
            .client
            .clone()
            .list_invitations(app.req(
                &lead(),
                pb::ListInvitationsRequest {
                    parent: "surveys/-".into(),
                    filter: format!("ticket = \"{}\"", ticket.name),
                    ..Default::default()
                },
            ))
            .await
            .ok()?
            .into_inner()
            .invitations;
        list.into_iter().next()
    })
    .await
}

async fn links_of(app: &App, ticket: &str) -> Vec<tickets_pb::TicketLink> {
    let tickets = app.tickets.as_ref().unwrap();
    let mut request = tonic::Request::new(tickets_pb::ListTicketLinksRequest {
        parent: ticket.into(),
        ..Default::default()
    });
    tickets
        .principals
        .attach(&lead(), "tickets", request.metadata_mut());
    tickets
        .client
        .clone()
        .list_ticket_links(request)
        .await
        .expect("links")
        .into_inner()
        .links
}

async fn a_dissatisfied_customer_gets_one_linked_follow_up_and_is_re_invited_after_it_closes(
    db: TestDatabase,
) {
    let app = spawn_loop(db).await;
    let survey = app.create_survey(csat_survey()).await;
    let original = app.open_ticket("c1", "cn-east").await;
    let invitation = invitation_for(&app, &original).await;
    assert_eq!(invitation.language, "zh-CN");
    let me = customer(&original.customer);
    let answered = app
        .client
        .clone()
        .create_response(app.req(
            &me,
            pb::CreateResponseRequest {
                response: Some(pb::Response {
                    invitation: invitation.name.clone(),
                    csat_score: Some(1),
                    comment: JOURNEY.into(),
                    ..Default::default()
                }),
                request_id: uuid::Uuid::now_v7().to_string(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .response
        .unwrap();
    assert!(answered.detractor);
    let classification = answered.classification.clone().unwrap();
    assert_eq!(classification.sentiment, pb::Sentiment::Negative as i32);
    assert_eq!(
        classification.topic,
        pb::FeedbackTopic::ServiceAttitude as i32
    );
    assert!(
        classification.matched_terms.iter().any(|t| t == "很晚"),
        "{classification:?}"
    );
    assert!(
        !answered.triggered_follow_up.is_empty(),
        "the follow-up is opened at once"
    );
    let follow_ups = app.follow_ups("").await;
    assert_eq!(follow_ups.len(), 1);
    let f = &follow_ups[0];
    assert_eq!(f.name, answered.triggered_follow_up);
    assert_eq!(f.original_ticket, original.name);
    assert!(
        f.reasons.contains(&(pb::FollowUpReason::LowCsat as i32)),
        "{:?}",
        f.reasons
    );
    assert_eq!(f.status, pb::FollowUpStatus::Open as i32);
    let due = f.due_time.unwrap().seconds - answered.create_time.unwrap().seconds;
    assert!(
        (24 * 3600 - 2..=24 * 3600 + 2).contains(&due),
        "due in 24 h, got {due} s"
    );
    let follow_up_ticket = app.ticket(&f.ticket).await;
    assert_eq!(follow_up_ticket.customer, original.customer);
    let links = links_of(&app, &f.ticket).await;
    assert!(
        links.iter().any(|l| l.linked_ticket == original.name
            && l.link_type == tickets_pb::TicketLinkType::FollowUpOf as i32),
        "{links:?}"
    );
    assert_eq!(app.events("FollowUpOpened").await, 1);

    let agent = staff(Role::Agent, "cn-east");
    let contacted = app
        .client
        .clone()
        .record_follow_up_contact(app.req(
            &agent,
            pb::RecordFollowUpContactRequest {
                name: f.name.clone(),
                etag: f.etag.clone(),
                channel: common::Channel::Phone as i32,
                contact_time: None,
                note: "called the customer, apologised".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .follow_up
        .unwrap();
    assert_eq!(contacted.status, pb::FollowUpStatus::Contacted as i32);
    assert!(contacted.on_time);
    let stale = app
        .client
        .clone()
        .close_follow_up(app.req(
            &agent,
            pb::CloseFollowUpRequest {
                name: f.name.clone(),
                etag: f.etag.clone(),
                outcome: pb::FollowUpOutcome::Resolved as i32,
                resurvey: true,
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::FailedPrecondition);
    let closed = app
        .client
        .clone()
        .close_follow_up(app.req(
            &agent,
            pb::CloseFollowUpRequest {
                name: f.name.clone(),
                etag: contacted.etag.clone(),
                outcome: pb::FollowUpOutcome::Resolved as i32,
                note: "technician sent again, fixed".into(),
                resurvey: true,
                resurvey_survey: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .follow_up
        .unwrap();
    assert_eq!(closed.status, pb::FollowUpStatus::Closed as i32);
    assert!(closed.notes.contains("apologised") && closed.notes.contains("fixed"));
    assert!(
        closed.resurvey_invitation.starts_with(&survey.name),
        "{closed:?}"
    );
    let again = app
        .client
        .clone()
        .get_invitation(app.req(
            &me,
            pb::GetInvitationRequest {
                name: closed.resurvey_invitation.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .invitation
        .unwrap();
    assert_eq!(again.follow_up, f.name);
    let second = app
        .client
        .clone()
        .create_response(app.req(
            &me,
            pb::CreateResponseRequest {
                response: Some(pb::Response {
                    invitation: again.name.clone(),
                    csat_score: Some(5),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .response
        .unwrap();
    assert_eq!(second.answered_follow_up, f.name);
    assert_eq!(second.previous_response, answered.name);
    assert_eq!(app.events("FollowUpClosed").await, 1);
    assert_eq!(app.follow_ups("").await.len(), 1);

    let now = aftercare_platform::time::now_micros();
    let stats = app
        .client
        .clone()
        .get_feedback_stats(app.req(
            &lead(),
            pb::GetFeedbackStatsRequest {
                start_time: Some(aftercare_platform::time::to_timestamp(now - 86_400_000_000)),
                end_time: Some(aftercare_platform::time::to_timestamp(
                    now + 2 * 86_400_000_000,
                )),
                interval: common::Interval::Day as i32,
                group_by: Vec::new(),
                filter: "region = \"cn-east\"".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .total
        .unwrap();
    assert_eq!(
        stats.csat_distribution,
        [1, 0, 0, 0, 1],
        "the detractor and the second answer"
    );
    assert_eq!(stats.follow_ups_opened, 1);
    assert_eq!(stats.follow_ups_due, 1);
    assert_eq!(stats.follow_ups_on_time, 1);
    assert_eq!(stats.sentiment_negative, 1);
}

async fn a_correction_that_makes_a_comment_a_severe_complaint_opens_a_follow_up(db: TestDatabase) {
    let app = spawn_loop(db).await;
    let survey = app.create_survey(csat_survey()).await;
    let c1 = app.customer_name("c1");
    let invitation = app.invite(&survey.name, &c1, "").await;
    let submitted = app
        .submit(&invitation.token, Some(4), "The engineer came on Tuesday")
        .await
        .unwrap();
    assert!(!submitted.follow_up_opened);
    let response = app.response(&submitted.response).await;
    let done = app
        .client
        .clone()
        .reclassify_feedback(app.req(
            &lead(),
            pb::ReclassifyFeedbackRequest {
                name: response.name.clone(),
                etag: response.etag.clone(),
                severity: pb::FeedbackSeverity::High as i32,
                sentiment: pb::Sentiment::Negative as i32,
                note: "the customer complained on the phone".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(done.opened_follow_up.starts_with("followUps/"), "{done:?}");
    let f = app.follow_ups("reason = SEVERE_COMPLAINT").await;
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].source_feedback, response.name);
    let Some(pb::reclassify_feedback_response::Feedback::Response(changed)) = done.feedback else {
        panic!("a response")
    };
    assert_eq!(changed.triggered_follow_up, done.opened_follow_up);
    let again = app
        .client
        .clone()
        .reclassify_feedback(app.req(
            &lead(),
            pb::ReclassifyFeedbackRequest {
                name: response.name.clone(),
                etag: changed.etag.clone(),
                severity: pb::FeedbackSeverity::Critical as i32,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(
        again.opened_follow_up.is_empty(),
        "one follow-up per feedback"
    );
    assert_eq!(app.follow_ups("").await.len(), 1);
}

async fn while_tickets_is_down_the_follow_up_waits_and_then_exactly_one_ticket_is_made(
    db: TestDatabase,
) {
    let mut app = spawn_loop(db).await;
    let survey = app.create_survey(csat_survey()).await;
    let c2 = app.customer_name("c2");
    let invitation = app.invite(&survey.name, &c2, "").await;
    app.stop_tickets().await;
    let submitted = app.submit(&invitation.token, Some(2), "").await.unwrap();
    assert!(!submitted.follow_up_opened);
    assert_eq!(app.count("pending_follow_ups").await, 1);
    poll_until("a failed retry", Duration::from_secs(8), || async {
        let attempts: i64 = sqlx::query_scalar("SELECT attempts FROM pending_follow_ups")
            .fetch_one(app.feedback.db().reader())
            .await
            .ok()?;
        (attempts >= 2).then_some(())
    })
    .await;
    assert!(app.follow_ups("").await.is_empty());
    app.restart_tickets().await;
    sqlx::query("UPDATE pending_follow_ups SET next_attempt_time = 0")
        .execute(app.feedback.db().writer())
        .await
        .unwrap();
    let f = poll_until("the follow-up", Duration::from_secs(8), || async {
        app.follow_ups("").await.into_iter().next()
    })
    .await;
    assert_eq!(app.count("pending_follow_ups").await, 0);
    assert_eq!(f.customer, c2);
    let tickets = app.tickets.as_ref().unwrap();
    let mut request = tonic::Request::new(tickets_pb::ListTicketsRequest {
        filter: format!("customer = \"{c2}\""),
        ..Default::default()
    });
    tickets
        .principals
        .attach(&lead(), "tickets", request.metadata_mut());
    let made = tickets
        .client
        .clone()
        .list_tickets(request)
        .await
        .unwrap()
        .into_inner()
        .tickets;
    assert_eq!(made.len(), 1, "exactly one follow-up ticket");
    assert_eq!(made[0].name, f.ticket);
    let response = app.response(&submitted.response).await;
    assert_eq!(response.triggered_follow_up, f.name);
}

async fn an_overdue_follow_up_is_escalated_by_the_sweep_once(db: TestDatabase) {
    let app = spawn_loop(db).await;
    let c1 = app.customer_name("c1");
    let item = app
        .client
        .clone()
        .create_feedback_item(app.req(&lead(), pb::CreateFeedbackItemRequest {
            feedback_item: Some(pb::FeedbackItem {
                channel: common::Channel::Social as i32,
                customer: c1.clone(),
                text: "The charger sparks and smoke came out, this is dangerous! I will post it to the press.".into(),
                region: "eu-west".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        }))
        .await
        .unwrap()
        .into_inner()
        .feedback_item
        .unwrap();
    let classification = item.classification.clone().unwrap();
    assert_eq!(
        classification.severity,
        pb::FeedbackSeverity::Critical as i32
    );
    assert!(!item.triggered_follow_up.is_empty());
    let f = app.follow_ups("").await.remove(0);
    assert_eq!(f.reasons, [pb::FollowUpReason::SevereComplaint as i32]);
    sqlx::query("UPDATE follow_ups SET due_time = 1, original_due_time = 1")
        .execute(app.feedback.db().writer())
        .await
        .unwrap();
    let overdue = poll_until("the overdue follow-up", Duration::from_secs(8), || async {
        app.follow_ups("status = OVERDUE").await.into_iter().next()
    })
    .await;
    assert!(overdue.overdue);
    app.wait_events("FollowUpOverdue", 1).await;
    let late = app
        .client
        .clone()
        .record_follow_up_contact(app.req(
            &lead(),
            pb::RecordFollowUpContactRequest {
                name: overdue.name.clone(),
                etag: overdue.etag.clone(),
                channel: common::Channel::Email as i32,
                contact_time: None,
                note: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .follow_up
        .unwrap();
    assert!(!late.on_time && late.overdue);
    assert_eq!(app.events("FollowUpOverdue").await, 1);
    let analyst = app
        .client
        .clone()
        .update_follow_up(app.req(
            &staff(Role::Analyst, "eu-west"),
            pb::UpdateFollowUpRequest {
                follow_up: Some(late.clone()),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["notes".into()],
                }),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(analyst.code(), Code::PermissionDenied);
    let hidden = app
        .client
        .clone()
        .get_follow_up(app.req(
            &staff(Role::Agent, "cn-east"),
            pb::GetFollowUpRequest {
                name: late.name.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
}

async fn follow_up_requests_name_their_bad_fields(db: TestDatabase) {
    let app = spawn_app(db).await;
    let status = app
        .client
        .clone()
        .close_follow_up(app.req(
            &lead(),
            pb::CloseFollowUpRequest {
                name: "followUps/x".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        super::harness::bad_fields(&status),
        ["name", "etag", "outcome"]
    );
    let status = app
        .client
        .clone()
        .list_follow_ups(app.req(
            &customer("customers/0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a01"),
            pb::ListFollowUpsRequest::default(),
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

async fn the_follow_up_is_due_in_business_hours_when_a_calendar_is_configured(db: TestDatabase) {
    use aftercare_platform::time::calendar::{BusinessCalendar, HOUR, OpenInterval};
    // A centre open one hour a day (09:00–10:00 Shanghai time), closed on weekends: 24
    // business hours are more than four weeks of calendar time.
    let mut weekly: [Vec<OpenInterval>; 7] = Default::default();
    for day in weekly.iter_mut().take(5) {
        day.push(OpenInterval::parse("09:00", "10:00").expect("an interval"));
    }
    let calendar = BusinessCalendar::new(chrono_tz::Asia::Shanghai, weekly, Default::default());
    let rules = aftercare_feedback::LoopRules {
        business_hours: Some(calendar.clone()),
        ..aftercare_feedback::LoopRules::default()
    };
    let mut app = spawn_app_with(db, rules).await;
    app.start_tickets().await;
    let survey = app.create_survey(csat_survey()).await;
    let invitation = app.invite(&survey.name, &app.customer_name("c1"), "").await;
    let before = aftercare_platform::time::now_micros();
    let submitted = app
        .submit(&invitation.token, Some(1), "")
        .await
        .expect("a detractor answers");
    let after = aftercare_platform::time::now_micros();
    assert!(submitted.follow_up_opened, "{submitted:?}");
    let due = submitted
        .follow_up_due_time
        .as_ref()
        .and_then(aftercare_platform::time::from_timestamp)
        .expect("a due time");
    let (earliest, latest) = (
        calendar.add(before, 24 * HOUR).expect("a due time"),
        calendar.add(after, 24 * HOUR).expect("a due time"),
    );
    assert!(
        earliest <= due && due <= latest,
        "{due} not in {earliest}..={latest}"
    );
    assert!(due > after + 28 * 24 * HOUR, "{due}");
}

async fn the_configurations_feedback_section_sets_the_detractor_threshold_and_the_hours(
    db: TestDatabase,
) {
    use aftercare_platform::config::{BusinessHoursConfig, FeedbackConfig};
    use aftercare_platform::time::calendar::HOUR;
    // CSAT 3 is a detractor here, and the 8-hour standard counts in one open hour a day.
    let config = FeedbackConfig {
        csat_detractor_max: 3,
        follow_up_within: Duration::from_secs(8 * 3600),
        business_hours: Some(BusinessHoursConfig {
            time_zone: "Asia/Shanghai".into(),
            weekly: ["mon", "tue", "wed", "thu", "fri"]
                .into_iter()
                .map(|day| (day.to_owned(), vec!["09:00-10:00".to_owned()]))
                .collect(),
            holidays: Vec::new(),
        }),
        ..FeedbackConfig::default()
    };
    let calendar = config
        .business_hours
        .as_ref()
        .and_then(|hours| hours.calendar("feedback.business_hours").ok())
        .expect("a calendar");
    let mut app = spawn_app_configured(db, config).await;
    app.start_tickets().await;
    let survey = app.create_survey(csat_survey()).await;
    let invitation = app.invite(&survey.name, &app.customer_name("c1"), "").await;
    let before = aftercare_platform::time::now_micros();
    let submitted = app
        .submit(&invitation.token, Some(3), "")
        .await
        .expect("a CSAT 3 answer");
    let after = aftercare_platform::time::now_micros();
    assert!(submitted.follow_up_opened, "{submitted:?}");
    let due = submitted
        .follow_up_due_time
        .as_ref()
        .and_then(aftercare_platform::time::from_timestamp)
        .expect("a due time");
    let (earliest, latest) = (
        calendar.add(before, 8 * HOUR).expect("a due time"),
        calendar.add(after, 8 * HOUR).expect("a due time"),
    );
    assert!(
        earliest <= due && due <= latest,
        "{due} not in {earliest}..={latest}"
    );
}

on_both_databases!(
    the_configurations_feedback_section_sets_the_detractor_threshold_and_the_hours,
    the_follow_up_is_due_in_business_hours_when_a_calendar_is_configured,
    a_correction_that_makes_a_comment_a_severe_complaint_opens_a_follow_up,
    a_dissatisfied_customer_gets_one_linked_follow_up_and_is_re_invited_after_it_closes,
    while_tickets_is_down_the_follow_up_waits_and_then_exactly_one_ticket_is_made,
    an_overdue_follow_up_is_escalated_by_the_sweep_once,
    follow_up_requests_name_their_bad_fields,
);

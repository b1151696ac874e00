//! Invitations: manual ones with tokens, lookups, visibility, and those the consumer makes
//! when tickets are resolved (once, with cooldowns, quiet periods and consent).

use std::time::Duration;

use aftercare_platform::auth::Role;
use aftercare_platform::on_both_databases;
use aftercare_platform::testing::{TestDatabase, poll_until};
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::customers::v1 as customers_pb;
use aftercare_proto::aftercare::events::v1 as ev;
use aftercare_proto::aftercare::feedback::v1 as pb;
use tonic::Code;

use super::harness::{
    App, bad_fields, csat_survey, customer, lead, resolved, spawn_app, staff, uuid_for,
};

const ALICE: &str = "customers/0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a01";
const BOB: &str = "customers/0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a02";

async fn invitations(
    app: &App,
    principal: &aftercare_platform::auth::Principal,
    filter: &str,
) -> Vec<pb::Invitation> {
    app.client
        .clone()
        .list_invitations(app.req(
            principal,
            pb::ListInvitationsRequest {
                parent: "surveys/-".into(),
                filter: filter.into(),
                ..Default::default()
            },
        ))
        .await
        .expect("list invitations")
        .into_inner()
        .invitations
}

async fn a_manual_invitation_gives_a_token_that_looks_up_the_survey(db: TestDatabase) {
    let app = spawn_app(db).await;
    let survey = app.create_survey(csat_survey()).await;
    let invitation = app.invite(&survey.name, ALICE, "").await;
    assert_eq!(invitation.status, pb::InvitationStatus::Sent as i32);
    assert_eq!(invitation.token.len(), 43);
    assert!(invitation.expire_time.is_some());
    let looked_up = app
        .client
        .clone()
        .lookup_invitation(tonic::Request::new(pb::LookupInvitationRequest {
            token: invitation.token.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(looked_up.invitation, invitation.name);
    assert_eq!(looked_up.status, pb::InvitationStatus::Sent as i32);
    let shown = looked_up.survey.unwrap();
    assert_eq!(shown.questions.len(), 2);
    assert!(shown.creator.is_none() && shown.regions.is_empty());
    let stored: String = sqlx::query_scalar("SELECT token_hash FROM invitations")
        .fetch_one(app.feedback.db().reader())
        .await
        .unwrap();
    assert_ne!(stored, invitation.token, "the token is stored hashed");
    let got = app
        .client
        .clone()
        .get_invitation(app.req(
            &lead(),
            pb::GetInvitationRequest {
                name: invitation.name.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .invitation
        .unwrap();
    assert!(got.token.is_empty(), "the token is never shown again");
    assert_eq!(app.events("SurveyInvitationSent").await, 1);
    for token in ["x".repeat(43), "short".to_owned()] {
        let unknown = app
            .client
            .clone()
            .lookup_invitation(tonic::Request::new(pb::LookupInvitationRequest { token }))
            .await
            .unwrap_err();
        assert_eq!(unknown.code(), Code::NotFound);
    }
}

async fn create_invitation_names_every_bad_field(db: TestDatabase) {
    let app = spawn_app(db).await;
    let status = app
        .client
        .clone()
        .create_invitation(app.req(
            &lead(),
            pb::CreateInvitationRequest {
                parent: "surveys/nope".into(),
                invitation: Some(pb::Invitation {
                    customer: "alice".into(),
                    ticket: "tickets/1".into(),
                    channel: 99,
                    language: "english!".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&status),
        [
            "parent",
            "invitation.customer",
            "invitation.ticket",
            "invitation.channel",
            "invitation.language"
        ]
    );
    let mut disabled = csat_survey();
    disabled.enabled = false;
    let disabled = app.create_survey(disabled).await;
    let status = app
        .client
        .clone()
        .create_invitation(app.req(
            &lead(),
            pb::CreateInvitationRequest {
                parent: disabled.name,
                invitation: Some(pb::Invitation {
                    customer: ALICE.into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(app.count("invitations").await, 0);
}

async fn customers_see_only_their_own_invitations_and_staff_their_region(db: TestDatabase) {
    let app = spawn_app(db).await;
    let survey = app.create_survey(csat_survey()).await;
    app.deliver(
        "tickets",
        "tickets/a",
        &resolved(&format!("tickets/{}", uuid_for("ta")), ALICE, "cn-east"),
    )
    .await;
    app.deliver(
        "tickets",
        "tickets/b",
        &resolved(&format!("tickets/{}", uuid_for("tb")), BOB, "eu-west"),
    )
    .await;
    poll_until("two invitations", Duration::from_secs(5), || async {
        (app.count("invitations").await == 2).then_some(())
    })
    .await;
    let mine = invitations(&app, &customer(ALICE), "").await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].customer, ALICE);
    let east = invitations(&app, &staff(Role::Agent, "cn-east"), "").await;
    assert_eq!(east.len(), 1);
    assert_eq!(east[0].region, "cn-east");
    assert_eq!(invitations(&app, &lead(), "").await.len(), 2);
    assert_eq!(
        invitations(&app, &lead(), "status = SENT AND region = \"eu-west\"")
            .await
            .len(),
        1
    );
    let bobs = invitations(&app, &lead(), &format!("customer = \"{BOB}\"")).await;
    let hidden = app
        .client
        .clone()
        .get_invitation(app.req(
            &customer(ALICE),
            pb::GetInvitationRequest {
                name: bobs[0].name.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
    let _ = survey;
}

async fn a_resolved_ticket_invites_once_in_the_customers_language_even_when_delivered_twice(
    db: TestDatabase,
) {
    let app = spawn_app(db).await;
    app.create_survey(csat_survey()).await;
    let ticket = format!("tickets/{}", uuid_for("t1"));
    let event = app
        .deliver("tickets", &ticket, &resolved(&ticket, ALICE, "cn-east"))
        .await;
    app.redeliver(&event).await;
    let again = app
        .deliver("tickets", &ticket, &resolved(&ticket, ALICE, "cn-east"))
        .await;
    let _ = again;
    poll_until("the invitation", Duration::from_secs(5), || async {
        (app.count("invitations").await == 1).then_some(())
    })
    .await;
    poll_until("three handled events", Duration::from_secs(5), || async {
        let handled: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM aftercare_inbox")
            .fetch_one(app.feedback.db().reader())
            .await
            .unwrap_or_default();
        (handled >= 2).then_some(())
    })
    .await;
    let all = invitations(&app, &lead(), "").await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].language, "zh-CN");
    assert_eq!(all[0].ticket, ticket);
    assert_eq!(all[0].channel, common::Channel::Chat as i32);
    assert_eq!(all[0].team, "teams/0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b");
}

async fn no_invitation_within_the_cooldown_or_after_consent_is_withdrawn(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut survey = csat_survey();
    survey.customer_cooldown = Some(prost_types::Duration {
        seconds: 30 * 24 * 3600,
        nanos: 0,
    });
    app.create_survey(survey).await;
    let first = format!("tickets/{}", uuid_for("c1"));
    app.deliver("tickets", &first, &resolved(&first, ALICE, "cn-east"))
        .await;
    poll_until("the first invitation", Duration::from_secs(5), || async {
        (app.count("invitations").await == 1).then_some(())
    })
    .await;
    app.deliver(
        "customers",
        BOB,
        &ev::ConsentChanged {
            customer: BOB.into(),
            channel: common::Channel::Chat as i32,
            purpose: customers_pb::ConsentPurpose::Survey as i32,
            state: customers_pb::ConsentState::Withdrawn as i32,
            ..Default::default()
        },
    )
    .await;
    poll_until("the consent", Duration::from_secs(5), || async {
        (app.count("survey_consents").await == 1).then_some(())
    })
    .await;
    let second = format!("tickets/{}", uuid_for("c2"));
    app.deliver("tickets", &second, &resolved(&second, ALICE, "cn-east"))
        .await;
    let third = format!("tickets/{}", uuid_for("c3"));
    app.deliver("tickets", &third, &resolved(&third, BOB, "cn-east"))
        .await;
    poll_until("every event handled", Duration::from_secs(5), || async {
        let handled: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM aftercare_inbox")
            .fetch_one(app.feedback.db().reader())
            .await
            .unwrap_or_default();
        (handled >= 4).then_some(())
    })
    .await;
    assert_eq!(app.count("invitations").await, 1);
    let survey = app
        .client
        .clone()
        .list_surveys(app.req(&lead(), pb::ListSurveysRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .surveys
        .remove(0);
    let refused = app
        .client
        .clone()
        .create_invitation(app.req(
            &lead(),
            pb::CreateInvitationRequest {
                parent: survey.name,
                invitation: Some(pb::Invitation {
                    customer: BOB.into(),
                    channel: common::Channel::Chat as i32,
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
}

async fn a_delayed_invitation_is_sent_by_the_sweep_unless_the_ticket_reopened(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut survey = csat_survey();
    survey.send_delay = Some(prost_types::Duration {
        seconds: 3600,
        nanos: 0,
    });
    app.create_survey(survey).await;
    let kept = format!("tickets/{}", uuid_for("d1"));
    let reopened = format!("tickets/{}", uuid_for("d2"));
    app.deliver("tickets", &kept, &resolved(&kept, ALICE, "cn-east"))
        .await;
    app.deliver("tickets", &reopened, &resolved(&reopened, BOB, "cn-east"))
        .await;
    poll_until(
        "two pending invitations",
        Duration::from_secs(5),
        || async {
            (invitations(&app, &lead(), "status = PENDING").await.len() == 2).then_some(())
        },
    )
    .await;
    assert_eq!(app.events("SurveyInvitationSent").await, 0);
    app.deliver(
        "tickets",
        &reopened,
        &ev::TicketReopened {
            ticket: Some(ev::TicketSnapshot {
                name: reopened.clone(),
                customer: BOB.into(),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await;
    poll_until("the reopening", Duration::from_secs(5), || async {
        (app.count("reopened_tickets").await == 1).then_some(())
    })
    .await;
    sqlx::query("UPDATE invitations SET schedule_time = 0")
        .execute(app.feedback.db().writer())
        .await
        .unwrap();
    // The sweep handles each due invitation in its own transaction: wait for both.
    let (sent, expired) = poll_until(
        "the delayed invitation sent and the reopened one expired",
        Duration::from_secs(5),
        || async {
            let sent = invitations(&app, &lead(), "status = SENT").await;
            let expired = invitations(&app, &lead(), "status = EXPIRED").await;
            (!sent.is_empty() && !expired.is_empty()).then(|| (sent[0].clone(), expired))
        },
    )
    .await;
    assert_eq!(sent.ticket, kept);
    assert!(sent.expire_time.is_some());
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].ticket, reopened);
    assert_eq!(app.events("SurveyInvitationSent").await, 1);
}

on_both_databases!(
    a_delayed_invitation_is_sent_by_the_sweep_unless_the_ticket_reopened,
    a_manual_invitation_gives_a_token_that_looks_up_the_survey,
    create_invitation_names_every_bad_field,
    customers_see_only_their_own_invitations_and_staff_their_region,
    a_resolved_ticket_invites_once_in_the_customers_language_even_when_delivered_twice,
    no_invitation_within_the_cooldown_or_after_consent_is_withdrawn,
);

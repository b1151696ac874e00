//! Responses: by token once, retried with the same request id, validated against the
//! survey version the invitation was sent with; recorded by staff or the customer.

use aftercare_platform::auth::Role;
use aftercare_platform::on_both_databases;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::feedback::v1 as pb;
use tonic::Code;
use tonic_types::StatusExt as _;

use super::harness::{bad_fields, csat_survey, customer, lead, spawn_app, staff};

const ALICE: &str = "customers/0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a01";
const BOB: &str = "customers/0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a02";

async fn a_token_answers_once_and_a_retry_with_the_request_id_returns_the_first(db: TestDatabase) {
    let app = spawn_app(db).await;
    let survey = app.create_survey(csat_survey()).await;
    let invitation = app.invite(&survey.name, ALICE, "").await;
    let request_id = uuid::Uuid::now_v7().to_string();
    let submit = |csat: i32| {
        let mut client = app.client.clone();
        let request = tonic::Request::new(pb::SubmitResponseRequest {
            token: invitation.token.clone(),
            csat_score: Some(csat),
            comment: "Great service, thank you!".into(),
            request_id: request_id.clone(),
            ..Default::default()
        });
        async move { client.submit_response(request).await }
    };
    let first = submit(5).await.unwrap().into_inner();
    assert!(!first.follow_up_opened);
    let retried = submit(5).await.unwrap().into_inner();
    assert_eq!(retried.response, first.response);
    let second = app
        .client
        .clone()
        .submit_response(tonic::Request::new(pb::SubmitResponseRequest {
            token: invitation.token.clone(),
            csat_score: Some(4),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(second.code(), Code::FailedPrecondition);
    assert_eq!(app.count("responses").await, 1);
    let response = app.response(&first.response).await;
    assert_eq!(response.csat_score, Some(5));
    assert_eq!(response.customer, ALICE);
    assert_eq!(response.language, "en");
    let classification = response.classification.unwrap();
    assert_eq!(classification.sentiment, pb::Sentiment::Positive as i32);
    assert_eq!(
        classification.method,
        pb::ClassificationMethod::Rules as i32
    );
    assert!(!response.detractor);
    let looked_up = app
        .client
        .clone()
        .lookup_invitation(tonic::Request::new(pb::LookupInvitationRequest {
            token: invitation.token.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(looked_up.status, pb::InvitationStatus::Answered as i32);
    assert_eq!(app.events("SurveyResponseReceived").await, 1);
    assert_eq!(app.events("FeedbackClassified").await, 1);
}

async fn a_score_outside_its_scale_and_an_unknown_question_are_named_and_nothing_is_written(
    db: TestDatabase,
) {
    let app = spawn_app(db).await;
    let survey = app.create_survey(csat_survey()).await;
    let invitation = app.invite(&survey.name, ALICE, "").await;
    let status = app
        .client
        .clone()
        .submit_response(tonic::Request::new(pb::SubmitResponseRequest {
            token: invitation.token.clone(),
            csat_score: Some(6),
            nps_score: Some(9),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["csat_score", "nps_score"]);
    let missing = app
        .client
        .clone()
        .submit_response(tonic::Request::new(pb::SubmitResponseRequest {
            token: invitation.token.clone(),
            comment: "ok".into(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&missing), ["csat_score"]);
    assert_eq!(app.count("responses").await, 0);
    assert_eq!(app.events("SurveyResponseReceived").await, 0);
}

async fn an_expired_token_is_refused_naming_the_token(db: TestDatabase) {
    let app = spawn_app(db).await;
    let survey = app.create_survey(csat_survey()).await;
    let invitation = app.invite(&survey.name, ALICE, "").await;
    sqlx::query("UPDATE invitations SET expire_time = 1")
        .execute(app.feedback.db().writer())
        .await
        .unwrap();
    let status = app
        .submit(&invitation.token, Some(3), "")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    let violation = &status
        .get_error_details()
        .precondition_failure()
        .cloned()
        .unwrap()
        .violations[0];
    assert_eq!(violation.r#type, "EXPIRED");
    assert_eq!(violation.subject, "token");
    let looked_up = app
        .client
        .clone()
        .lookup_invitation(tonic::Request::new(pb::LookupInvitationRequest {
            token: invitation.token,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(looked_up.status, pb::InvitationStatus::Expired as i32);
}

async fn editing_a_survey_keeps_the_questions_invitations_were_sent_with(db: TestDatabase) {
    let app = spawn_app(db).await;
    let survey = app.create_survey(csat_survey()).await;
    let before = app.invite(&survey.name, ALICE, "").await;
    let mut nps_only = survey.clone();
    nps_only.questions = vec![pb::SurveyQuestion {
        r#type: pb::QuestionType::Nps as i32,
        texts: [("en".to_owned(), "Would you recommend us?".to_owned())].into(),
        required: true,
    }];
    nps_only.titles = [("en".to_owned(), "Recommend?".to_owned())].into();
    app.client
        .clone()
        .update_survey(app.req(
            &lead(),
            pb::UpdateSurveyRequest {
                survey: Some(nps_only),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["questions".into(), "titles".into()],
                }),
            },
        ))
        .await
        .unwrap();
    let after = app.invite(&survey.name, BOB, "").await;
    let shown = |token: String| {
        let client = app.client.clone();
        async move {
            client
                .clone()
                .lookup_invitation(tonic::Request::new(pb::LookupInvitationRequest { token }))
                .await
                .unwrap()
                .into_inner()
                .survey
                .unwrap()
        }
    };
    assert_eq!(
        shown(before.token.clone()).await.questions[0].r#type,
        pb::QuestionType::Csat as i32
    );
    assert_eq!(
        shown(after.token.clone()).await.questions[0].r#type,
        pb::QuestionType::Nps as i32
    );
    app.submit(&before.token, Some(4), "").await.unwrap();
    let refused = app.submit(&after.token, Some(4), "").await.unwrap_err();
    assert_eq!(bad_fields(&refused), ["csat_score", "nps_score"]);
}

async fn staff_and_the_customer_record_responses_within_their_reach(db: TestDatabase) {
    let app = spawn_app(db).await;
    let survey = app.create_survey(csat_survey()).await;
    let alices = app.invite(&survey.name, ALICE, "").await;
    let bobs = app.invite(&survey.name, BOB, "").await;
    let create = |principal: aftercare_platform::auth::Principal, invitation: &str, csat: i32| {
        let request = app.req(
            &principal,
            pb::CreateResponseRequest {
                response: Some(pb::Response {
                    invitation: invitation.into(),
                    csat_score: Some(csat),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        );
        let mut client = app.client.clone();
        async move { client.create_response(request).await }
    };
    let denied = create(customer(ALICE), &bobs.name, 4).await.unwrap_err();
    assert_eq!(denied.code(), Code::NotFound);
    let own = create(customer(ALICE), &alices.name, 4)
        .await
        .unwrap()
        .into_inner()
        .response
        .unwrap();
    assert_eq!(own.recorder.unwrap().id, ALICE);
    let analyst = create(staff(Role::Analyst, "eu-west"), &bobs.name, 4)
        .await
        .unwrap_err();
    assert_eq!(analyst.code(), Code::PermissionDenied);
    let by_phone = app.req(
        &lead(),
        pb::CreateResponseRequest {
            response: Some(pb::Response {
                invitation: bobs.name.clone(),
                csat_score: Some(3),
                comment: "还可以".into(),
                channel: aftercare_proto::aftercare::common::v1::Channel::Phone as i32,
                ..Default::default()
            }),
            request_id: String::new(),
        },
    );
    let recorded = app
        .client
        .clone()
        .create_response(by_phone)
        .await
        .unwrap()
        .into_inner()
        .response
        .unwrap();
    assert_eq!(recorded.language, "zh-CN");
    let list = |principal: aftercare_platform::auth::Principal, filter: &str| {
        let request = app.req(
            &principal,
            pb::ListResponsesRequest {
                filter: filter.into(),
                ..Default::default()
            },
        );
        let mut client = app.client.clone();
        async move { client.list_responses(request).await }
    };
    assert_eq!(
        list(customer(ALICE), "")
            .await
            .unwrap()
            .into_inner()
            .responses
            .len(),
        1
    );
    assert_eq!(
        list(lead(), "").await.unwrap().into_inner().responses.len(),
        2
    );
    assert_eq!(
        list(lead(), "csat_score >= 4")
            .await
            .unwrap()
            .into_inner()
            .responses
            .len(),
        1
    );
    assert_eq!(
        list(lead(), "channel = PHONE AND detractor = false")
            .await
            .unwrap()
            .into_inner()
            .responses
            .len(),
        1
    );
    assert_eq!(
        bad_fields(&list(lead(), "mood = HAPPY").await.unwrap_err()),
        ["filter"]
    );
}

on_both_databases!(
    a_token_answers_once_and_a_retry_with_the_request_id_returns_the_first,
    a_score_outside_its_scale_and_an_unknown_question_are_named_and_nothing_is_written,
    an_expired_token_is_refused_naming_the_token,
    editing_a_survey_keeps_the_questions_invitations_were_sent_with,
    staff_and_the_customer_record_responses_within_their_reach,
);

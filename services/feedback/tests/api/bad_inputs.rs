//! Every RPC not covered by its own bad-input test refuses a malformed request with
//! INVALID_ARGUMENT naming each bad field (reads, lists, updates, deletes, the follow-up
//! contact, reclassification), before any authorisation or lookup.

use aftercare_platform::on_both_databases;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::feedback::v1 as pb;
use prost_types::FieldMask;

use super::harness::{bad_fields, lead, spawn_app};

const MALFORMED: &str = "surveys/not-a-uuid";
const BAD_PAGE_TOKEN: &str = "not a page token";
const BAD_FILTER: &str = "no_such_field = 1";

/// Asserts `status` is INVALID_ARGUMENT naming (at least) each of `expected`.
fn names(rpc: &str, status: &tonic::Status, expected: &[&str]) {
    let fields = bad_fields(status);
    for field in expected {
        assert!(
            fields.iter().any(|f| f == field),
            "{rpc}: {field} not in {fields:?}"
        );
    }
}

async fn reads_and_lists_name_their_bad_fields(db: TestDatabase) {
    let app = spawn_app(db).await;
    let client = || app.client.clone();
    let who = lead();

    let status = client()
        .get_survey(app.req(
            &who,
            pb::GetSurveyRequest {
                name: MALFORMED.into(),
            },
        ))
        .await
        .unwrap_err();
    names("GetSurvey", &status, &["name"]);
    let status = client()
        .get_invitation(app.req(
            &who,
            pb::GetInvitationRequest {
                name: "invitations/x".into(),
            },
        ))
        .await
        .unwrap_err();
    names("GetInvitation", &status, &["name"]);
    let status = client()
        .get_response(app.req(
            &who,
            pb::GetResponseRequest {
                name: "responses/x".into(),
            },
        ))
        .await
        .unwrap_err();
    names("GetResponse", &status, &["name"]);
    let status = client()
        .get_feedback_item(app.req(
            &who,
            pb::GetFeedbackItemRequest {
                name: "feedbackItems/x".into(),
            },
        ))
        .await
        .unwrap_err();
    names("GetFeedbackItem", &status, &["name"]);
    let status = client()
        .get_follow_up(app.req(
            &who,
            pb::GetFollowUpRequest {
                name: "followUps/x".into(),
            },
        ))
        .await
        .unwrap_err();
    names("GetFollowUp", &status, &["name"]);

    let status = client()
        .list_surveys(app.req(
            &who,
            pb::ListSurveysRequest {
                page_size: -1,
                page_token: BAD_PAGE_TOKEN.into(),
                filter: BAD_FILTER.into(),
            },
        ))
        .await
        .unwrap_err();
    names(
        "ListSurveys",
        &status,
        &["page_size", "page_token", "filter"],
    );
    let status = client()
        .list_responses(app.req(
            &who,
            pb::ListResponsesRequest {
                page_size: -1,
                page_token: BAD_PAGE_TOKEN.into(),
                filter: BAD_FILTER.into(),
            },
        ))
        .await
        .unwrap_err();
    names(
        "ListResponses",
        &status,
        &["page_size", "page_token", "filter"],
    );
    let status = client()
        .list_feedback_items(app.req(
            &who,
            pb::ListFeedbackItemsRequest {
                page_size: -1,
                page_token: BAD_PAGE_TOKEN.into(),
                filter: BAD_FILTER.into(),
            },
        ))
        .await
        .unwrap_err();
    names(
        "ListFeedbackItems",
        &status,
        &["page_size", "page_token", "filter"],
    );
    let status = client()
        .list_invitations(app.req(
            &who,
            pb::ListInvitationsRequest {
                parent: "surveys/x".into(),
                page_size: -1,
                page_token: BAD_PAGE_TOKEN.into(),
                filter: BAD_FILTER.into(),
            },
        ))
        .await
        .unwrap_err();
    names(
        "ListInvitations",
        &status,
        &["parent", "page_size", "page_token", "filter"],
    );
    let status = client()
        .list_follow_ups(app.req(
            &who,
            pb::ListFollowUpsRequest {
                page_size: -1,
                page_token: BAD_PAGE_TOKEN.into(),
                filter: BAD_FILTER.into(),
            },
        ))
        .await
        .unwrap_err();
    names(
        "ListFollowUps",
        &status,
        &["page_size", "page_token", "filter"],
    );
}

async fn writes_name_their_bad_fields_and_change_nothing(db: TestDatabase) {
    let app = spawn_app(db).await;
    let client = || app.client.clone();
    let who = lead();

    let status = client()
        .update_survey(app.req(
            &who,
            pb::UpdateSurveyRequest {
                survey: Some(pb::Survey {
                    name: MALFORMED.into(),
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["no_such_field".into()],
                }),
            },
        ))
        .await
        .unwrap_err();
    names("UpdateSurvey", &status, &["survey.name", "update_mask"]);
    let status = client()
        .delete_survey(app.req(
            &who,
            pb::DeleteSurveyRequest {
                name: MALFORMED.into(),
                etag: "not an etag".into(),
            },
        ))
        .await
        .unwrap_err();
    names("DeleteSurvey", &status, &["name"]);
    let status = client()
        .record_follow_up_contact(app.req(
            &who,
            pb::RecordFollowUpContactRequest {
                name: "followUps/x".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    names("RecordFollowUpContact", &status, &["name"]);
    let status = client()
        .reclassify_feedback(app.req(
            &who,
            pb::ReclassifyFeedbackRequest {
                name: "feedbackItems/x".into(),
                etag: "not an etag".into(),
                topic: 999,
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    names("ReclassifyFeedback", &status, &["name", "topic"]);
    let status = client()
        .lookup_invitation(tonic::Request::new(pb::LookupInvitationRequest {
            token: String::new(),
        }))
        .await
        .unwrap_err();
    names("LookupInvitation", &status, &["token"]);

    let status = client()
        .update_follow_up(app.req(
            &who,
            pb::UpdateFollowUpRequest {
                follow_up: Some(pb::FollowUp {
                    name: "followUps/x".into(),
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["no_such_field".into()],
                }),
            },
        ))
        .await
        .unwrap_err();
    names(
        "UpdateFollowUp",
        &status,
        &["follow_up.name", "update_mask"],
    );
    let status = client()
        .create_response(app.req(
            &who,
            pb::CreateResponseRequest {
                response: Some(pb::Response {
                    invitation: "invitations/x".into(),
                    csat_score: Some(9),
                    ..Default::default()
                }),
                request_id: "not a uuid".into(),
            },
        ))
        .await
        .unwrap_err();
    names(
        "CreateResponse",
        &status,
        &["response.invitation", "request_id"],
    );

    let surveys = client()
        .list_surveys(app.req(&who, pb::ListSurveysRequest::default()))
        .await
        .expect("list surveys")
        .into_inner();
    assert!(surveys.surveys.is_empty(), "{surveys:?}");
}

on_both_databases!(
    reads_and_lists_name_their_bad_fields,
    writes_name_their_bad_fields_and_change_nothing,
);

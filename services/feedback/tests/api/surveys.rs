//! Surveys: create, read, list, update with etags and versions, delete, authorisation.

use aftercare_platform::auth::Role;
use aftercare_platform::on_both_databases;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::feedback::v1 as pb;
use tonic::Code;

use super::harness::{bad_fields, csat_survey, customer, lead, spawn_app, staff};

async fn a_lead_creates_a_survey_and_reads_it_back(db: TestDatabase) {
    let app = spawn_app(db).await;
    let created = app.create_survey(csat_survey()).await;
    assert!(created.name.starts_with("surveys/"));
    assert_eq!(created.etag, "\"1\"");
    assert_eq!(created.invitation_ttl.unwrap().seconds, 7 * 24 * 3600);
    assert_eq!(created.titles["zh-CN"], "服务评价");
    let got = app
        .client
        .clone()
        .get_survey(app.req(
            &staff(Role::Agent, "cn-east"),
            pb::GetSurveyRequest {
                name: created.name.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .survey
        .unwrap();
    assert_eq!(got, created);
    let missing = app
        .client
        .clone()
        .get_survey(app.req(
            &lead(),
            pb::GetSurveyRequest {
                name: format!("surveys/{}", uuid::Uuid::now_v7()),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}

async fn create_survey_names_every_bad_field_and_writes_nothing(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut survey = csat_survey();
    survey.default_language = "fr".into();
    survey.questions[1].r#type = pb::QuestionType::Csat as i32;
    survey.trigger = 0;
    survey.invitation_ttl = Some(prost_types::Duration {
        seconds: 60,
        nanos: 0,
    });
    survey.regions = vec!["CN East".into()];
    let status = app
        .client
        .clone()
        .create_survey(app.req(
            &lead(),
            pb::CreateSurveyRequest {
                survey: Some(survey),
                request_id: "retry-1".into(),
            },
        ))
        .await
        .unwrap_err();
    let fields = bad_fields(&status);
    for expected in [
        "survey.default_language",
        "survey.questions[1].type",
        "survey.trigger",
        "survey.invitation_ttl",
        "survey.regions[0]",
        "request_id",
    ] {
        assert!(
            fields.iter().any(|f| f == expected),
            "{expected} not in {fields:?}"
        );
    }
    assert_eq!(app.count("surveys").await, 0);
}

async fn a_retried_create_returns_the_first_survey_and_another_request_is_already_exists(
    db: TestDatabase,
) {
    let app = spawn_app(db).await;
    let request_id = uuid::Uuid::now_v7().to_string();
    let create = |survey: pb::Survey| {
        let mut client = app.client.clone();
        let request = app.req(
            &lead(),
            pb::CreateSurveyRequest {
                survey: Some(survey),
                request_id: request_id.clone(),
            },
        );
        async move { client.create_survey(request).await }
    };
    let first = create(csat_survey())
        .await
        .unwrap()
        .into_inner()
        .survey
        .unwrap();
    let again = create(csat_survey())
        .await
        .unwrap()
        .into_inner()
        .survey
        .unwrap();
    assert_eq!(first, again);
    let mut other = csat_survey();
    other.enabled = false;
    assert_eq!(create(other).await.unwrap_err().code(), Code::AlreadyExists);
    assert_eq!(app.count("surveys").await, 1);
}

async fn agents_and_customers_may_not_manage_surveys(db: TestDatabase) {
    let app = spawn_app(db).await;
    for principal in [
        staff(Role::Agent, "cn-east"),
        customer("customers/0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b"),
    ] {
        let status = app
            .client
            .clone()
            .create_survey(app.req(
                &principal,
                pb::CreateSurveyRequest {
                    survey: Some(csat_survey()),
                    request_id: String::new(),
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
    }
    let survey = app.create_survey(csat_survey()).await;
    let status = app
        .client
        .clone()
        .get_survey(app.req(
            &customer("customers/0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b"),
            pb::GetSurveyRequest { name: survey.name },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

async fn a_stale_etag_is_refused_and_nothing_changes(db: TestDatabase) {
    let app = spawn_app(db).await;
    let survey = app.create_survey(csat_survey()).await;
    let mask = |paths: &[&str]| {
        Some(prost_types::FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        })
    };
    let mut change = survey.clone();
    change.enabled = false;
    change.regions = vec!["cn-east".into()];
    let updated = app
        .client
        .clone()
        .update_survey(app.req(
            &lead(),
            pb::UpdateSurveyRequest {
                survey: Some(change.clone()),
                update_mask: mask(&["enabled", "regions"]),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .survey
        .unwrap();
    assert!(!updated.enabled);
    assert_eq!(updated.regions, ["cn-east"]);
    assert_eq!(updated.etag, "\"2\"");
    assert_eq!(updated.titles, survey.titles);
    let stale = app
        .client
        .clone()
        .update_survey(app.req(
            &lead(),
            pb::UpdateSurveyRequest {
                survey: Some(change),
                update_mask: mask(&["enabled"]),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::FailedPrecondition);
    let mut bad = updated.clone();
    bad.questions.clear();
    let status = app
        .client
        .clone()
        .update_survey(app.req(
            &lead(),
            pb::UpdateSurveyRequest {
                survey: Some(bad),
                update_mask: mask(&["questions", "etag"]),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["update_mask"]);
    let now = app
        .client
        .clone()
        .get_survey(app.req(&lead(), pb::GetSurveyRequest { name: survey.name }))
        .await
        .unwrap()
        .into_inner()
        .survey
        .unwrap();
    assert_eq!(now, updated);
}

async fn surveys_are_listed_newest_first_filtered_and_paged(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut names = Vec::new();
    for i in 0..3 {
        let mut survey = csat_survey();
        survey.enabled = i != 1;
        survey.regions = if i == 2 {
            vec!["cn-east".into()]
        } else {
            Vec::new()
        };
        names.push(app.create_survey(survey).await.name);
    }
    let list = |filter: &str, token: &str, size: i32| {
        let mut client = app.client.clone();
        let request = app.req(
            &lead(),
            pb::ListSurveysRequest {
                page_size: size,
                page_token: token.into(),
                filter: filter.into(),
            },
        );
        async move { client.list_surveys(request).await }
    };
    let first = list("", "", 2).await.unwrap().into_inner();
    assert_eq!(
        first
            .surveys
            .iter()
            .map(|s| s.name.clone())
            .collect::<Vec<_>>(),
        [names[2].clone(), names[1].clone()]
    );
    let second = list("", &first.next_page_token, 2)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.surveys.len(), 1);
    assert_eq!(second.surveys[0].name, names[0]);
    assert!(second.next_page_token.is_empty());
    let enabled = list("enabled = true", "", 0).await.unwrap().into_inner();
    assert_eq!(enabled.surveys.len(), 2);
    let regional = list("region = \"cn-east\" AND trigger = TICKET_RESOLVED", "", 0)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(regional.surveys.len(), 1);
    assert_eq!(
        bad_fields(&list("colour = RED", "", 0).await.unwrap_err()),
        ["filter"]
    );
    assert_eq!(
        bad_fields(
            &list("enabled = true", &first.next_page_token, 0)
                .await
                .unwrap_err()
        ),
        ["page_token"]
    );
}

async fn a_survey_with_invitations_cannot_be_deleted(db: TestDatabase) {
    let app = spawn_app(db).await;
    let unused = app.create_survey(csat_survey()).await;
    let used = app.create_survey(csat_survey()).await;
    app.invite(
        &used.name,
        "customers/0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b",
        "",
    )
    .await;
    let delete = |name: &str, etag: &str| {
        let mut client = app.client.clone();
        let request = app.req(
            &lead(),
            pb::DeleteSurveyRequest {
                name: name.into(),
                etag: etag.into(),
            },
        );
        async move { client.delete_survey(request).await }
    };
    assert_eq!(
        delete(&unused.name, "\"7\"").await.unwrap_err().code(),
        Code::FailedPrecondition
    );
    delete(&unused.name, &unused.etag).await.unwrap();
    assert_eq!(
        delete(&used.name, &used.etag).await.unwrap_err().code(),
        Code::FailedPrecondition
    );
    assert_eq!(app.count("surveys").await, 1);
}

on_both_databases!(
    a_lead_creates_a_survey_and_reads_it_back,
    create_survey_names_every_bad_field_and_writes_nothing,
    a_retried_create_returns_the_first_survey_and_another_request_is_already_exists,
    agents_and_customers_may_not_manage_surveys,
    a_stale_etag_is_refused_and_nothing_changes,
    surveys_are_listed_newest_first_filtered_and_paged,
    a_survey_with_invitations_cannot_be_deleted,
);

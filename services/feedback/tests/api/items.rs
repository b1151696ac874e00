//! Feedback items: classified on arrival, validated, visible by reach, reclassified by staff
//! with the correction kept.

use aftercare_platform::auth::Role;
use aftercare_platform::on_both_databases;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::feedback::v1 as pb;
use tonic::Code;

use super::harness::{App, bad_fields, customer, lead, spawn_app, staff};

const ALICE: &str = "customers/0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a01";
const BOB: &str = "customers/0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a02";

async fn create(
    app: &App,
    principal: &aftercare_platform::auth::Principal,
    item: pb::FeedbackItem,
) -> Result<pb::FeedbackItem, tonic::Status> {
    Ok(app
        .client
        .clone()
        .create_feedback_item(app.req(
            principal,
            pb::CreateFeedbackItemRequest {
                feedback_item: Some(item),
                request_id: String::new(),
            },
        ))
        .await?
        .into_inner()
        .feedback_item
        .expect("an item"))
}

fn item(text: &str) -> pb::FeedbackItem {
    pb::FeedbackItem {
        channel: common::Channel::Social as i32,
        text: text.into(),
        ..Default::default()
    }
}

async fn an_item_is_classified_on_arrival_and_anonymous_complaints_open_nothing(db: TestDatabase) {
    let app = spawn_app(db).await;
    let agent = staff(Role::Agent, "cn-east");
    let created = create(&app, &agent, item("师傅上门很晚，态度也不好，非常不满意"))
        .await
        .unwrap();
    assert_eq!(
        created.region, "cn-east",
        "staff record feedback of their region"
    );
    assert_eq!(created.language, "zh-CN");
    let c = created.classification.clone().unwrap();
    assert_eq!(c.sentiment, pb::Sentiment::Negative as i32);
    assert_eq!(c.topic, pb::FeedbackTopic::ServiceAttitude as i32);
    assert!(c.sentiment_score < -0.25);
    assert!(c.matched_terms.iter().any(|t| t == "态度"));
    assert_eq!(c.method, pb::ClassificationMethod::Rules as i32);
    let angry = create(
        &app,
        &lead(),
        item("Worst service ever, I will file a complaint and never buy again"),
    )
    .await
    .unwrap();
    assert_eq!(
        angry.classification.unwrap().severity,
        pb::FeedbackSeverity::High as i32
    );
    assert!(
        angry.triggered_follow_up.is_empty(),
        "anonymous feedback opens no follow-up"
    );
    assert_eq!(app.count("pending_follow_ups").await, 0);
    assert_eq!(app.events("FeedbackItemReceived").await, 2);
    let got = app
        .client
        .clone()
        .get_feedback_item(app.req(
            &lead(),
            pb::GetFeedbackItemRequest {
                name: created.name.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .feedback_item
        .unwrap();
    assert_eq!(got, created);
}

async fn create_item_names_every_bad_field_and_writes_nothing(db: TestDatabase) {
    let app = spawn_app(db).await;
    let future = aftercare_platform::time::to_timestamp(
        aftercare_platform::time::now_micros() + 3_600_000_000,
    );
    let status = create(
        &app,
        &lead(),
        pb::FeedbackItem {
            channel: 0,
            customer: "bob".into(),
            region: "East China".into(),
            text: "   ".into(),
            source_uri: "x".repeat(3000),
            receive_time: Some(future),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(
        bad_fields(&status),
        [
            "feedback_item.channel",
            "feedback_item.customer",
            "feedback_item.region",
            "feedback_item.text",
            "feedback_item.source_uri",
            "feedback_item.receive_time"
        ]
    );
    assert_eq!(app.count("feedback_items").await, 0);
}

async fn customers_record_and_read_only_their_own_feedback(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mine = create(
        &app,
        &customer(ALICE),
        item("Quick and friendly support, thanks"),
    )
    .await
    .unwrap();
    assert_eq!(mine.customer, ALICE);
    let as_bob = create(
        &app,
        &customer(ALICE),
        pb::FeedbackItem {
            customer: BOB.into(),
            ..item("bad")
        },
    )
    .await
    .unwrap_err();
    assert_eq!(as_bob.code(), Code::PermissionDenied);
    create(
        &app,
        &lead(),
        pb::FeedbackItem {
            customer: BOB.into(),
            region: "eu-west".into(),
            ..item("The parcel arrived late and damaged")
        },
    )
    .await
    .unwrap();
    let list = |principal: aftercare_platform::auth::Principal, filter: &str| {
        let request = app.req(
            &principal,
            pb::ListFeedbackItemsRequest {
                filter: filter.into(),
                ..Default::default()
            },
        );
        let mut client = app.client.clone();
        async move { client.list_feedback_items(request).await }
    };
    let alices = list(customer(ALICE), "")
        .await
        .unwrap()
        .into_inner()
        .feedback_items;
    assert_eq!(alices.len(), 1);
    assert_eq!(
        list(lead(), "")
            .await
            .unwrap()
            .into_inner()
            .feedback_items
            .len(),
        2
    );
    assert_eq!(
        list(lead(), "sentiment = NEGATIVE")
            .await
            .unwrap()
            .into_inner()
            .feedback_items
            .len(),
        1
    );
    assert_eq!(
        list(lead(), "sentiment = POSITIVE AND channel = SOCIAL")
            .await
            .unwrap()
            .into_inner()
            .feedback_items
            .len(),
        1
    );
    assert_eq!(
        list(staff(Role::Agent, "cn-east"), "")
            .await
            .unwrap()
            .into_inner()
            .feedback_items
            .len(),
        1
    );
    assert_eq!(
        bad_fields(&list(lead(), "severity = EXTREME").await.unwrap_err()),
        ["filter"]
    );
}

async fn a_correction_is_kept_as_manual_with_its_history(db: TestDatabase) {
    let app = spawn_app(db).await;
    let created = create(
        &app,
        &lead(),
        item("The invoice shows a charge I do not recognise"),
    )
    .await
    .unwrap();
    let reclassify = |etag: &str, principal: aftercare_platform::auth::Principal| {
        let request = app.req(
            &principal,
            pb::ReclassifyFeedbackRequest {
                name: created.name.clone(),
                etag: etag.into(),
                topic: pb::FeedbackTopic::Billing as i32,
                severity: pb::FeedbackSeverity::Medium as i32,
                sentiment: pb::Sentiment::Negative as i32,
                sentiment_score: None,
                note: "billing dispute".into(),
            },
        );
        let mut client = app.client.clone();
        async move { client.reclassify_feedback(request).await }
    };
    let denied = reclassify(&created.etag, customer(ALICE))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let done = reclassify(&created.etag, lead())
        .await
        .unwrap()
        .into_inner();
    let Some(pb::reclassify_feedback_response::Feedback::FeedbackItem(changed)) = done.feedback
    else {
        panic!("an item")
    };
    let c = changed.classification.clone().unwrap();
    assert_eq!(c.method, pb::ClassificationMethod::Manual as i32);
    assert_eq!(c.topic, pb::FeedbackTopic::Billing as i32);
    assert_eq!(c.sentiment_score, -0.75);
    assert_eq!(c.confidence, 1.0);
    assert_eq!(c.note, "billing dispute");
    assert_ne!(changed.etag, created.etag);
    assert!(done.opened_follow_up.is_empty());
    let stale = reclassify(&created.etag, lead()).await.unwrap_err();
    assert_eq!(stale.code(), Code::FailedPrecondition);
    assert_eq!(app.count("classification_history").await, 2);
    assert_eq!(app.events("FeedbackClassified").await, 2);
    let bad = app
        .client
        .clone()
        .reclassify_feedback(app.req(
            &lead(),
            pb::ReclassifyFeedbackRequest {
                name: created.name.clone(),
                etag: changed.etag.clone(),
                sentiment: pb::Sentiment::Positive as i32,
                sentiment_score: Some(-0.9),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&bad), ["sentiment_score"]);
    let nothing = app
        .client
        .clone()
        .reclassify_feedback(app.req(
            &lead(),
            pb::ReclassifyFeedbackRequest {
                name: "tickets/1".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&nothing), ["name", "etag", "topic"]);
}

async fn a_channel_identity_is_resolved_to_a_customer(db: TestDatabase) {
    let app = spawn_app(db).await;
    let identity = |handle: &str| common::ChannelIdentity {
        channel: common::Channel::Email as i32,
        handle: handle.into(),
        provider: String::new(),
    };
    let created = create(
        &app,
        &lead(),
        pb::FeedbackItem {
            customer_identity: Some(identity("li.wei@example.com")),
            ..item("Thanks for the quick fix")
        },
    )
    .await
    .unwrap();
    assert!(created.customer.starts_with("customers/"), "{created:?}");
    let again = create(
        &app,
        &lead(),
        pb::FeedbackItem {
            customer_identity: Some(identity("LI.WEI@example.com")),
            ..item("Second note")
        },
    )
    .await
    .unwrap();
    assert_eq!(again.customer, created.customer, "one person, one customer");
    let status = create(
        &app,
        &lead(),
        pb::FeedbackItem {
            customer_identity: Some(common::ChannelIdentity::default()),
            ..item("x")
        },
    )
    .await
    .unwrap_err();
    assert_eq!(
        bad_fields(&status),
        [
            "feedback_item.customer_identity.channel",
            "feedback_item.customer_identity.handle"
        ]
    );
}

on_both_databases!(
    a_channel_identity_is_resolved_to_a_customer,
    an_item_is_classified_on_arrival_and_anonymous_complaints_open_nothing,
    create_item_names_every_bad_field_and_writes_nothing,
    customers_record_and_read_only_their_own_feedback,
    a_correction_is_kept_as_manual_with_its_history,
);

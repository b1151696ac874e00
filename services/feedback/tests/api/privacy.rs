//! Erasure: `CustomerErased` scrubs the customer's free text and contact data.

use std::time::Duration;

use aftercare_platform::on_both_databases;
use aftercare_platform::testing::{TestDatabase, poll_until};
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::events::v1 as ev;
use aftercare_proto::aftercare::feedback::v1 as pb;

use super::harness::{csat_survey, lead, spawn_app};

const ALICE: &str = "customers/0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a01";
const BOB: &str = "customers/0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a02";

async fn an_erased_customers_free_text_is_scrubbed_and_others_are_kept(db: TestDatabase) {
    let app = spawn_app(db).await;
    let survey = app.create_survey(csat_survey()).await;
    let a = app.invite(&survey.name, ALICE, "").await;
    let b = app.invite(&survey.name, BOB, "").await;
    let alices = app
        .submit(
            &a.token,
            Some(4),
            "My address is 12 Long Road, call me on 555-0101",
        )
        .await
        .unwrap();
    let bobs = app
        .submit(&b.token, Some(4), "Helpful agent")
        .await
        .unwrap();
    let item = app
        .client
        .clone()
        .create_feedback_item(app.req(
            &lead(),
            pb::CreateFeedbackItemRequest {
                feedback_item: Some(pb::FeedbackItem {
                    channel: common::Channel::Email as i32,
                    customer: ALICE.into(),
                    subject: "About my order".into(),
                    text: "Please email alice@example.com about the refund".into(),
                    source_uri: "mid:abc@example.com".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .feedback_item
        .unwrap();
    app.deliver(
        "customers",
        ALICE,
        &ev::CustomerErased {
            customer: ALICE.into(),
            ..Default::default()
        },
    )
    .await;
    poll_until("the erasure", Duration::from_secs(5), || async {
        app.response(&alices.response)
            .await
            .comment
            .is_empty()
            .then_some(())
    })
    .await;
    let scrubbed = app.response(&alices.response).await;
    assert_eq!(scrubbed.csat_score, Some(4), "scores stay for statistics");
    assert!(scrubbed.classification.unwrap().matched_terms.is_empty());
    assert_eq!(app.response(&bobs.response).await.comment, "Helpful agent");
    let item = app
        .client
        .clone()
        .get_feedback_item(app.req(&lead(), pb::GetFeedbackItemRequest { name: item.name }))
        .await
        .unwrap()
        .into_inner()
        .feedback_item
        .unwrap();
    assert!(item.text.is_empty() && item.subject.is_empty() && item.source_uri.is_empty());
}

on_both_databases!(an_erased_customers_free_text_is_scrubbed_and_others_are_kept);

//! Statistics aggregated in SQL.

use aftercare_platform::auth::Role;
use aftercare_platform::on_both_databases;
use aftercare_platform::testing::TestDatabase;
use aftercare_platform::time::{now_micros, to_timestamp};
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::feedback::v1 as pb;
use tonic::Code;

use super::harness::{bad_fields, csat_survey, customer, lead, spawn_app, staff};

const ALICE: &str = "customers/0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a01";
const BOB: &str = "customers/0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a02";
const CAROL: &str = "customers/0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a03";

fn request(group_by: Vec<pb::FeedbackStatsDimension>, filter: &str) -> pb::GetFeedbackStatsRequest {
    let now = now_micros();
    pb::GetFeedbackStatsRequest {
        start_time: Some(to_timestamp(now - 2 * 86_400_000_000)),
        end_time: Some(to_timestamp(now + 86_400_000_000)),
        interval: common::Interval::Day as i32,
        group_by: group_by.into_iter().map(|d| d as i32).collect(),
        filter: filter.into(),
    }
}

async fn stats_show_csat_response_rate_and_sentiment(db: TestDatabase) {
    let app = spawn_app(db).await;
    let survey = app.create_survey(csat_survey()).await;
    let a = app.invite(&survey.name, ALICE, "").await;
    let b = app.invite(&survey.name, BOB, "").await;
    app.invite(&survey.name, CAROL, "").await;
    app.submit(&a.token, Some(5), "Excellent, very helpful staff")
        .await
        .unwrap();
    app.submit(&b.token, Some(4), "").await.unwrap();
    app.client
        .clone()
        .create_feedback_item(app.req(
            &lead(),
            pb::CreateFeedbackItemRequest {
                feedback_item: Some(pb::FeedbackItem {
                    channel: common::Channel::Email as i32,
                    text: "The delivery was late and the box was damaged".into(),
                    region: "eu-west".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap();
    let stats = app
        .client
        .clone()
        .get_feedback_stats(app.req(&lead(), request(Vec::new(), "")))
        .await
        .unwrap()
        .into_inner();
    let total = stats.total.unwrap();
    assert_eq!(total.invitations_sent, 3);
    assert_eq!(total.invitations_answered, 2);
    assert!((total.response_rate.unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(total.responses, 2);
    assert_eq!(total.csat_count, 2);
    assert_eq!(total.csat_average, Some(4.5));
    assert_eq!(total.csat_satisfied_ratio, Some(1.0));
    assert_eq!(total.csat_distribution, [0, 0, 0, 1, 1]);
    assert_eq!(total.nps, None);
    assert_eq!(total.feedback_items, 1);
    assert_eq!(total.sentiment_positive, 1);
    assert_eq!(total.sentiment_negative, 1);
    assert_eq!(stats.groups.len(), 1);
    let by_channel = app
        .client
        .clone()
        .get_feedback_stats(app.req(
            &lead(),
            request(
                vec![
                    pb::FeedbackStatsDimension::Channel,
                    pb::FeedbackStatsDimension::Topic,
                ],
                "",
            ),
        ))
        .await
        .unwrap()
        .into_inner();
    let email: Vec<_> = by_channel
        .groups
        .iter()
        .filter(|g| g.channel == common::Channel::Email as i32)
        .collect();
    assert!(!email.is_empty());
    assert!(
        email
            .iter()
            .all(|g| g.metrics.as_ref().unwrap().responses == 0)
    );
    let filtered = app
        .client
        .clone()
        .get_feedback_stats(app.req(&lead(), request(Vec::new(), "channel = EMAIL")))
        .await
        .unwrap()
        .into_inner()
        .total
        .unwrap();
    assert_eq!(filtered.feedback_items, 1);
    assert_eq!(filtered.responses, 0);
    let east = app
        .client
        .clone()
        .get_feedback_stats(app.req(&staff(Role::Agent, "cn-east"), request(Vec::new(), "")))
        .await
        .unwrap()
        .into_inner()
        .total
        .unwrap();
    assert_eq!(
        east.feedback_items, 0,
        "an agent sees their region (and unregioned feedback) only"
    );
    assert_eq!(east.responses, 2);
}

async fn bad_stats_requests_name_their_fields(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut bad = request(
        vec![
            pb::FeedbackStatsDimension::Region,
            pb::FeedbackStatsDimension::Region,
        ],
        "colour = RED",
    );
    bad.end_time = bad.start_time;
    let status = app
        .client
        .clone()
        .get_feedback_stats(app.req(&lead(), bad))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["end_time", "group_by[1]", "filter"]);
    let mut hourly = request(Vec::new(), "");
    hourly.start_time = Some(to_timestamp(now_micros() - 100 * 86_400_000_000));
    hourly.interval = common::Interval::Hour as i32;
    let status = app
        .client
        .clone()
        .get_feedback_stats(app.req(&lead(), hourly))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["interval"]);
    let denied = app
        .client
        .clone()
        .get_feedback_stats(app.req(&customer(ALICE), request(Vec::new(), "")))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}

async fn stats_and_lists_filter_by_any_of_a_comments_topics(db: TestDatabase) {
    let app = spawn_app(db).await;
    let survey = app.create_survey(csat_survey()).await;
    let a = app.invite(&survey.name, ALICE, "").await;
    let b = app.invite(&survey.name, BOB, "").await;
    // Attitude first, response speed second.
    let late = app
        .submit(&a.token, Some(1), "师傅上门很晚，态度也不好，非常不满意")
        .await
        .unwrap();
    app.submit(
        &b.token,
        Some(2),
        "The invoice charged me twice, please refund",
    )
    .await
    .unwrap();
    let response = app.response(&late.response).await;
    let topics = response.classification.as_ref().unwrap().topics.clone();
    assert_eq!(
        topics,
        [
            pb::FeedbackTopic::ServiceAttitude as i32,
            pb::FeedbackTopic::ResponseSpeed as i32
        ]
    );
    let total = |filter: &'static str| {
        let app = &app;
        async move {
            app.client
                .clone()
                .get_feedback_stats(app.req(&lead(), request(Vec::new(), filter)))
                .await
                .unwrap()
                .into_inner()
                .total
                .unwrap()
        }
    };
    let speed = total("topic = RESPONSE_SPEED").await;
    assert_eq!(speed.responses, 1, "{speed:?}");
    assert_eq!(speed.csat_distribution, [1, 0, 0, 0, 0]);
    assert_eq!(speed.sentiment_negative, 1);
    assert_eq!(speed.invitations_sent, 0, "invitations have no topic");
    let attitude = total("topic = SERVICE_ATTITUDE").await;
    assert_eq!(attitude.responses, 1);
    let billing = total("topic = BILLING").await;
    assert_eq!(billing.csat_distribution, [0, 1, 0, 0, 0]);
    let not_speed = total("topic != RESPONSE_SPEED").await;
    assert_eq!(not_speed.csat_distribution, [0, 1, 0, 0, 0]);
    assert_eq!(total("topic = AFTER_SALES_REPAIR").await.responses, 0);
    // Grouped by topic, a comment counts under its primary topic.
    let grouped = app
        .client
        .clone()
        .get_feedback_stats(app.req(
            &lead(),
            request(vec![pb::FeedbackStatsDimension::Topic], ""),
        ))
        .await
        .unwrap()
        .into_inner();
    let negative_in = |topic: pb::FeedbackTopic| {
        grouped
            .groups
            .iter()
            .filter(|g| g.topic == topic as i32)
            .map(|g| g.metrics.as_ref().unwrap().sentiment_negative)
            .sum::<i64>()
    };
    assert_eq!(negative_in(pb::FeedbackTopic::ServiceAttitude), 1);
    assert_eq!(negative_in(pb::FeedbackTopic::ResponseSpeed), 0);
    // Lists filter the same way.
    let listed = app
        .client
        .clone()
        .list_responses(app.req(
            &lead(),
            pb::ListResponsesRequest {
                filter: "topic = RESPONSE_SPEED".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .responses;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, late.response);
}

on_both_databases!(
    stats_and_lists_filter_by_any_of_a_comments_topics,
    stats_show_csat_response_rate_and_sentiment,
    bad_stats_requests_name_their_fields
);

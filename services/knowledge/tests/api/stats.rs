//! Statistics: views, helpfulness, deflection, searches and gaps, by period.

use aftercare_platform::on_both_databases;
use aftercare_platform::testing::TestDatabase;
use aftercare_platform::time::{now_micros, to_timestamp};
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::knowledge::v1 as pb;
use tonic::Code;

use super::support::*;

async fn stats_count_views_ratings_searches_gaps_and_deflections_per_period(db: TestDatabase) {
    let app = spawn_app(db).await;
    let live = app
        .live("en", "Reset the router", "Hold the reset button.")
        .await;
    for reader in ["c1", "c2"] {
        app.c()
            .view_article(app.req(
                &customer(reader),
                pb::ViewArticleRequest {
                    name: live.name.clone(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap();
    }
    app.c()
        .rate_article(app.req(
            &customer("c1"),
            pb::RateArticleRequest {
                name: live.name.clone(),
                helpfulness: pb::ArticleHelpfulness::Helpful as i32,
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    app.search(&customer("c1"), "router").await;
    app.search(&customer("c1"), "nothing matches this").await;
    let suggested = app
        .c()
        .suggest_articles(app.req(
            &customer("c1"),
            pb::SuggestArticlesRequest {
                subject: "Reset the router".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    app.c()
        .record_suggestion_outcome(app.req(
            &customer("c1"),
            pb::RecordSuggestionOutcomeRequest {
                suggestion: suggested.suggestion.clone(),
                outcome: pb::SuggestionOutcome::Deflected as i32,
                article: live.name.clone(),
                ticket: String::new(),
            },
        ))
        .await
        .unwrap();
    let now = now_micros();
    let today = now - now.rem_euclid(86_400_000_000);
    let request = pb::GetKnowledgeStatsRequest {
        start_time: Some(to_timestamp(today - 2 * 86_400_000_000)),
        end_time: Some(to_timestamp(today + 86_400_000_000)),
        interval: common::Interval::Day as i32,
        ..Default::default()
    };
    let stats = app
        .c()
        .get_knowledge_stats(app.req(&analyst(), request.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stats.periods.len(), 3);
    let total = stats.total.unwrap();
    assert_eq!((total.searches, total.zero_result_searches), (2, 1));
    assert_eq!(total.zero_result_rate, Some(0.5));
    assert_eq!((total.suggestion_sets, total.deflections), (1, 1));
    assert_eq!(total.deflection_rate, Some(1.0));
    assert_eq!(
        (
            total.views,
            total.helpful_ratings,
            total.not_helpful_ratings
        ),
        (2, 1, 0)
    );
    assert_eq!(total.helpfulness_ratio, Some(1.0));
    assert_eq!(
        (total.articles_published, total.content_gaps_opened),
        (1, 1)
    );
    let today = stats.periods.last().unwrap().metrics.unwrap();
    assert_eq!(today.views, 2);
    assert_eq!(stats.periods[0].metrics.unwrap().views, 0);
    let top = &stats.top_articles[0];
    assert_eq!(
        (top.article.as_str(), top.title.as_str(), top.views),
        (live.name.as_str(), "Reset the router", 2)
    );
    assert_eq!((top.suggestions, top.deflections), (1, 1));
    // Sliced by a language nothing was read in.
    let zh = app
        .c()
        .get_knowledge_stats(app.req(
            &analyst(),
            pb::GetKnowledgeStatsRequest {
                language: "zh-CN".into(),
                interval: common::Interval::Month as i32,
                ..request.clone()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(zh.total.unwrap().views, 0);
    assert_eq!(
        app.c()
            .get_knowledge_stats(app.req(&agent("a"), request.clone()))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let bad = app
        .c()
        .get_knowledge_stats(app.req(
            &analyst(),
            pb::GetKnowledgeStatsRequest {
                start_time: Some(to_timestamp(now)),
                end_time: Some(to_timestamp(now + 100 * 86_400_000_000)),
                interval: common::Interval::Hour as i32,
                language: "??".into(),
                top_articles_limit: -1,
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    let mut fields = bad_fields(&bad);
    fields.sort();
    assert_eq!(fields, ["interval", "language", "top_articles_limit"]);
    let missing = app
        .c()
        .get_knowledge_stats(app.req(&analyst(), pb::GetKnowledgeStatsRequest::default()))
        .await
        .unwrap_err();
    let mut fields = bad_fields(&missing);
    fields.sort();
    assert_eq!(fields, ["end_time", "start_time"]);
}

on_both_databases!(stats_count_views_ratings_searches_gaps_and_deflections_per_period);

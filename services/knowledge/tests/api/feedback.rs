//! Ratings, and content gaps: searches that found nothing, grouped, counted and resolved.

use aftercare_platform::on_both_databases;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::knowledge::v1 as pb;
use tonic::Code;

use super::support::*;

fn rate(
    name: &str,
    helpfulness: pb::ArticleHelpfulness,
    comment: &str,
    reader: &str,
) -> pb::RateArticleRequest {
    pb::RateArticleRequest {
        name: name.into(),
        helpfulness: helpfulness as i32,
        comment: comment.into(),
        language: String::new(),
        reader_id: reader.into(),
    }
}

async fn a_second_rating_replaces_the_first_and_moves_the_counts(db: TestDatabase) {
    let app = spawn_app(db).await;
    let live = app.live("en", "Pairing", "Hold the button.").await;
    let first = app
        .c()
        .rate_article(app.req(
            &customer("c1"),
            rate(&live.name, pb::ArticleHelpfulness::Helpful, "", ""),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((first.helpful_count, first.not_helpful_count), (1, 0));
    let second = app
        .c()
        .rate_article(app.req(
            &customer("c1"),
            rate(
                &live.name,
                pb::ArticleHelpfulness::NotHelpful,
                "Did not work <b>at all</b>",
                "",
            ),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((second.helpful_count, second.not_helpful_count), (0, 1));
    assert_eq!(
        second.rating.as_ref().unwrap().name,
        first.rating.as_ref().unwrap().name
    );
    assert_eq!(second.rating.unwrap().comment, "Did not work <b>at all</b>");
    let anonymous_needs_id = app
        .c()
        .rate_article(app.req(
            &anonymous(),
            rate(&live.name, pb::ArticleHelpfulness::Helpful, "", ""),
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&anonymous_needs_id), ["reader_id"]);
    let anon = app
        .c()
        .rate_article(app.req(
            &anonymous(),
            rate(&live.name, pb::ArticleHelpfulness::Helpful, "", "cookie-1"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((anon.helpful_count, anon.not_helpful_count), (1, 1));
    let bad = app
        .c()
        .rate_article(app.req(
            &customer("c1"),
            rate(
                "articles/1",
                pb::ArticleHelpfulness::Unspecified,
                &"x".repeat(1001),
                "",
            ),
        ))
        .await
        .unwrap_err();
    let mut fields = bad_fields(&bad);
    fields.sort();
    assert_eq!(fields, ["comment", "helpfulness", "name"]);
    let draft = app
        .draft(
            &author(),
            pb::ArticleVisibility::Public,
            "en",
            "Draft",
            "Body",
        )
        .await;
    let not_live = app
        .c()
        .rate_article(app.req(
            &customer("c1"),
            rate(&draft.name, pb::ArticleHelpfulness::Helpful, "", ""),
        ))
        .await
        .unwrap_err();
    assert_eq!(not_live.code(), Code::NotFound);
    let list = |filter: &str| pb::ListArticleRatingsRequest {
        parent: live.name.clone(),
        filter: filter.into(),
        ..Default::default()
    };
    let with_comment = app
        .c()
        .list_article_ratings(app.req(
            &agent("a"),
            list("helpfulness = NOT_HELPFUL AND has_comment = true"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(with_comment.ratings.len(), 1);
    let all = app
        .c()
        .list_article_ratings(app.req(
            &agent("a"),
            pb::ListArticleRatingsRequest {
                parent: "articles/-".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.ratings.len(), 2);
    let denied = app
        .c()
        .list_article_ratings(app.req(&customer("c1"), list("")))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert_eq!(
        app.events()
            .await
            .iter()
            .filter(|e| e.ends_with("ArticleRated"))
            .count(),
        3
    );
}

async fn searches_that_find_nothing_become_gaps_that_an_article_resolves(db: TestDatabase) {
    let app = spawn_app(db).await;
    let first = app.search(&customer("c1"), "Bluetooth PAIRING fails").await;
    assert!(first.hits.is_empty());
    assert!(first.content_gap.starts_with("contentGaps/"));
    let again = app
        .search_with(
            &customer("c2"),
            pb::SearchArticlesRequest {
                query: "  bluetooth pairing fails!! ".into(),
                product_line: "Headset-H1".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(again.content_gap, first.content_gap);
    app.search(&customer("c1"), "zzz typo").await;
    let list = |filter: &str| pb::ListContentGapsRequest {
        filter: filter.into(),
        ..Default::default()
    };
    let open = app
        .c()
        .list_content_gaps(app.req(&agent("a"), list("state = OPEN")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(open.content_gaps.len(), 2);
    let gap = open.content_gaps[0].clone();
    assert_eq!(gap.name, first.content_gap);
    assert_eq!(gap.normalized_query, "bluetooth pairing fails");
    assert_eq!(gap.search_count, 2);
    assert_eq!(gap.product_lines, ["headset-h1"]);
    assert_eq!(
        gap.sample_queries,
        ["bluetooth pairing fails!!", "Bluetooth PAIRING fails"]
    );
    let popular = app
        .c()
        .list_content_gaps(app.req(&agent("a"), list("search_count >= 2")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(popular.content_gaps.len(), 1);

    let article = app
        .live("en", "Bluetooth pairing fails", "Reset the headset.")
        .await;
    let resolve = |etag: &str| pb::ResolveContentGapRequest {
        name: gap.name.clone(),
        etag: etag.into(),
        article: article.name.clone(),
        note: "new article".into(),
    };
    let stale = app
        .c()
        .resolve_content_gap(app.req(&author(), resolve("\"7\"")))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::FailedPrecondition);
    let denied = app
        .c()
        .resolve_content_gap(app.req(&customer("c1"), resolve(&gap.etag)))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let resolved = app
        .c()
        .resolve_content_gap(app.req(&author(), resolve(&gap.etag)))
        .await
        .unwrap()
        .into_inner()
        .content_gap
        .unwrap();
    assert_eq!(resolved.state, pb::ContentGapState::Resolved as i32);
    assert_eq!(resolved.resolving_article, article.name);
    let open = app
        .c()
        .list_content_gaps(app.req(&agent("a"), list("state = OPEN")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        open.content_gaps
            .iter()
            .map(|g| g.normalized_query.as_str())
            .collect::<Vec<_>>(),
        ["zzz typo"]
    );
    // The query finds the article now.
    assert_eq!(
        app.search(&customer("c1"), "bluetooth pairing fails")
            .await
            .hits
            .len(),
        1
    );
    let typo = open.content_gaps[0].clone();
    let dismissed = app
        .c()
        .dismiss_content_gap(app.req(
            &author(),
            pb::DismissContentGapRequest {
                name: typo.name.clone(),
                etag: typo.etag.clone(),
                note: "typo".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .content_gap
        .unwrap();
    assert_eq!(dismissed.state, pb::ContentGapState::Dismissed as i32);
    app.search(&customer("c1"), "zzz typo").await;
    let got = app
        .c()
        .get_content_gap(app.req(
            &agent("a"),
            pb::GetContentGapRequest {
                name: typo.name.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .content_gap
        .unwrap();
    assert_eq!(
        (got.state, got.search_count),
        (pb::ContentGapState::Dismissed as i32, 2)
    );
    let bad = app
        .c()
        .list_content_gaps(app.req(
            &agent("a"),
            pb::ListContentGapsRequest {
                filter: "size = 1".into(),
                order_by: "name".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    let mut fields = bad_fields(&bad);
    fields.sort();
    assert_eq!(fields, ["filter", "order_by"]);
    assert_eq!(
        app.events()
            .await
            .iter()
            .filter(|e| e.ends_with("ContentGapRecorded"))
            .count(),
        4
    );
}

async fn an_erased_customer_disappears_from_ratings_suggestions_and_searches(db: TestDatabase) {
    use aftercare_platform::events::{Event, EventBus as _};
    use aftercare_proto::aftercare::events::v1::CustomerErased;
    use prost::Name as _;

    let app = spawn_app(db).await;
    let live = app.live("en", "Pairing", "Hold the button.").await;
    app.c()
        .rate_article(app.req(
            &customer("c1"),
            rate(
                &live.name,
                pb::ArticleHelpfulness::NotHelpful,
                "I am Li Wei, call me",
                "",
            ),
        ))
        .await
        .unwrap();
    app.c()
        .suggest_articles(app.req(
            &customer("c1"),
            pb::SuggestArticlesRequest {
                subject: "Pairing".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    app.search(&customer("c1"), "pairing").await;
    let erased = CustomerErased {
        customer: "customers/c1".into(),
        ..Default::default()
    };
    let event = Event {
        id: uuid::Uuid::now_v7().to_string(),
        r#type: CustomerErased::full_name(),
        source: "customers".into(),
        subject: "customers/c1".into(),
        payload: Some(prost_types::Any::from_msg(&erased).unwrap()),
        ..Default::default()
    };
    app.svc.bus().publish(&event).await.unwrap();
    let db = app.svc.db().reader().clone();
    aftercare_platform::testing::poll_until("the erasure to apply", std::time::Duration::from_secs(5), || {
        let db = db.clone();
        async move {
            let left: i64 = sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM article_ratings WHERE rater LIKE '%customers/c1%' OR comment <> '')
                      + (SELECT COUNT(*) FROM suggestion_sets WHERE customer = 'customers/c1' OR actor_subject = 'customers/c1')
                      + (SELECT COUNT(*) FROM searches WHERE actor_subject = 'customers/c1')",
            )
            .fetch_one(&db)
            .await
            .ok()?;
            (left == 0).then_some(())
        }
    })
    .await;
    let article = app
        .c()
        .get_article(app.req(
            &agent("a"),
            pb::GetArticleRequest {
                name: live.name.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .article
        .unwrap();
    assert_eq!(article.not_helpful_count, 1, "counts stay");
}

on_both_databases!(
    an_erased_customer_disappears_from_ratings_suggestions_and_searches,
    a_second_rating_replaces_the_first_and_moves_the_counts,
    searches_that_find_nothing_become_gaps_that_an_article_resolves,
);

//! Suggestions while a ticket is written, and what came of them.

use aftercare_platform::on_both_databases;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::knowledge::v1 as pb;
use tonic::Code;

use super::support::*;

fn suggest(subject: &str, description: &str) -> pb::SuggestArticlesRequest {
    pb::SuggestArticlesRequest {
        subject: subject.into(),
        description: description.into(),
        channel: common::Channel::Web as i32,
        ..Default::default()
    }
}

async fn a_ticket_being_written_gets_public_articles_that_match_it(db: TestDatabase) {
    let app = spawn_app(db).await;
    let public = app
        .live("zh-CN", "洗衣机底部漏水的处理方法", "检查排水管是否松动。")
        .await;
    let internal = app
        .draft(
            &author(),
            pb::ArticleVisibility::Internal,
            "zh-CN",
            "洗衣机漏水的内部处理流程",
            "联系二线。",
        )
        .await;
    app.publish(&internal).await;
    let response = app
        .c()
        .suggest_articles(app.req(
            &customer("c1"),
            suggest("洗衣机漏水", "昨天开始洗衣机底部一直漏水，怎么办？"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        response
            .hits
            .iter()
            .map(|h| h.article.as_str())
            .collect::<Vec<_>>(),
        [public.name.as_str()]
    );
    assert!(response.suggestion.starts_with("suggestions/"));
    assert!(
        app.events()
            .await
            .contains(&"aftercare.events.v1.ArticlesSuggested".to_owned())
    );
    let staff = app
        .c()
        .suggest_articles(app.req(&agent("a"), suggest("洗衣机漏水", "")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(staff.hits.len(), 2);
    let nothing = app
        .c()
        .suggest_articles(app.req(
            &customer("c1"),
            suggest("Invoice address", "Change my billing address"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(nothing.hits.is_empty() && nothing.suggestion.is_empty());
    assert_eq!(
        app.count("content_gaps").await,
        0,
        "suggestions do not record gaps"
    );

    let outcome = |who, suggestion: &str, outcome: pb::SuggestionOutcome, article: &str| {
        let app = &app;
        let request = pb::RecordSuggestionOutcomeRequest {
            suggestion: suggestion.into(),
            outcome: outcome as i32,
            article: article.into(),
            ticket: String::new(),
        };
        async move {
            app.c()
                .record_suggestion_outcome(app.req(&who, request))
                .await
        }
    };
    let not_suggested = outcome(
        customer("c1"),
        &response.suggestion,
        pb::SuggestionOutcome::Deflected,
        &internal.name,
    )
    .await
    .unwrap_err();
    assert_eq!(bad_fields(&not_suggested), ["article"]);
    let someone_else = outcome(
        customer("c2"),
        &response.suggestion,
        pb::SuggestionOutcome::Deflected,
        "",
    )
    .await
    .unwrap_err();
    assert_eq!(someone_else.code(), Code::NotFound);
    outcome(
        customer("c1"),
        &response.suggestion,
        pb::SuggestionOutcome::Deflected,
        &public.name,
    )
    .await
    .unwrap();
    let twice = outcome(
        customer("c1"),
        &response.suggestion,
        pb::SuggestionOutcome::TicketCreated,
        "",
    )
    .await
    .unwrap_err();
    assert_eq!(twice.code(), Code::FailedPrecondition);
    // A set left without an outcome for over a day counts as abandoned.
    let late = app
        .c()
        .suggest_articles(app.req(&customer("c1"), suggest("洗衣机漏水", "")))
        .await
        .unwrap()
        .into_inner();
    sqlx::query("UPDATE suggestion_sets SET time = time - 90000000000 WHERE id = $1")
        .bind(late.suggestion.trim_start_matches("suggestions/"))
        .execute(app.svc.db().writer())
        .await
        .unwrap();
    let too_late = outcome(
        customer("c1"),
        &late.suggestion,
        pb::SuggestionOutcome::Deflected,
        "",
    )
    .await
    .unwrap_err();
    assert_eq!(too_late.code(), Code::FailedPrecondition);
    let bad = outcome(
        customer("c1"),
        "suggestions/x",
        pb::SuggestionOutcome::Unspecified,
        "",
    )
    .await
    .unwrap_err();
    let mut fields = bad_fields(&bad);
    fields.sort();
    assert_eq!(fields, ["outcome", "suggestion"]);
}

async fn a_suggestion_request_needs_some_text_and_sane_limits(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut request = suggest(" ", "");
    request.min_score = 2.0;
    request.max_suggestions = -1;
    request.customer = "people/1".into();
    let bad = app
        .c()
        .suggest_articles(app.req(&service(), request))
        .await
        .unwrap_err();
    let mut fields = bad_fields(&bad);
    fields.sort();
    assert_eq!(
        fields,
        ["customer", "max_suggestions", "min_score", "subject"]
    );
    let long = app
        .c()
        .suggest_articles(app.req(&service(), suggest(&"a".repeat(301), &"b".repeat(10_001))))
        .await
        .unwrap_err();
    let mut fields = bad_fields(&long);
    fields.sort();
    assert_eq!(fields, ["description", "subject"]);
}

on_both_databases!(
    a_ticket_being_written_gets_public_articles_that_match_it,
    a_suggestion_request_needs_some_text_and_sane_limits,
);

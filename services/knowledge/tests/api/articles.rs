//! Articles: create (with its first version, idempotently), get, list, update, delete,
//! versions and translations.

use aftercare_platform::on_both_databases;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::knowledge::v1 as pb;
use tonic::Code;

use super::support::*;

async fn an_article_and_its_first_version_are_written_together_or_not_at_all(db: TestDatabase) {
    let app = spawn_app(db).await;
    let bad = app
        .c()
        .create_article(app.req(
            &author(),
            pb::CreateArticleRequest {
                article: Some(pb::Article {
                    kind: 0,
                    tags: vec!["x".repeat(65)],
                    category: "nonsense".into(),
                    ..Default::default()
                }),
                initial_version: Some(pb::ArticleVersion {
                    language: "english".into(),
                    title: " ".into(),
                    body: "body".into(),
                    ..Default::default()
                }),
                request_id: "retry-1".into(),
            },
        ))
        .await
        .unwrap_err();
    let mut fields = bad_fields(&bad);
    fields.sort();
    assert_eq!(
        fields,
        [
            "article.category",
            "article.kind",
            "article.tags",
            "initial_version.language",
            "initial_version.title",
            "request_id"
        ]
    );
    assert_eq!(app.count("articles").await, 0);
    assert_eq!(app.count("article_versions").await, 0);

    let article = app
        .draft(
            &author(),
            pb::ArticleVisibility::Unspecified,
            "zh-cn",
            "洗衣机无法开机",
            "检查电源。",
        )
        .await;
    assert_eq!(article.state, pb::ArticleState::Draft as i32);
    assert_eq!(article.visibility, pb::ArticleVisibility::Public as i32);
    assert_eq!(article.default_language, "zh-CN");
    assert_eq!(article.title, "洗衣机无法开机");
    assert_eq!(article.author, "agents/author");
    assert!(!article.live);
    assert_eq!(article.etag, "\"1\"");
    assert_eq!(app.count("article_versions").await, 1);
    let got = app
        .c()
        .get_article(app.req(
            &agent("other"),
            pb::GetArticleRequest {
                name: article.name.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .article
        .unwrap();
    assert_eq!(got, article);
}

async fn a_create_with_a_request_id_is_made_once_and_a_reused_key_is_refused(db: TestDatabase) {
    let app = spawn_app(db).await;
    let request = |title: &str| pb::CreateArticleRequest {
        article: Some(pb::Article {
            kind: pb::ArticleKind::Faq as i32,
            ..Default::default()
        }),
        initial_version: Some(version("en", title, "Answer.")),
        request_id: "0190a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b".into(),
    };
    let first = app
        .c()
        .create_article(app.req(&author(), request("Q?")))
        .await
        .unwrap()
        .into_inner();
    let again = app
        .c()
        .create_article(app.req(&author(), request("Q?")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        first.article.as_ref().unwrap().name,
        again.article.as_ref().unwrap().name
    );
    assert_eq!(first.initial_version, again.initial_version);
    let other = app
        .c()
        .create_article(app.req(&author(), request("Other?")))
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::AlreadyExists);
    // The key is the caller's own: another author's same key makes another article.
    app.c()
        .create_article(app.req(&agent("b"), request("Q?")))
        .await
        .unwrap();
    assert_eq!(app.count("articles").await, 2);
}

async fn customers_cannot_write_and_read_only_live_public_articles(db: TestDatabase) {
    let app = spawn_app(db).await;
    let denied = app
        .c()
        .create_article(app.req(
            &customer("c1"),
            pb::CreateArticleRequest {
                article: Some(pb::Article {
                    kind: pb::ArticleKind::Faq as i32,
                    ..Default::default()
                }),
                initial_version: Some(version("en", "Mine", "Body")),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let draft = app
        .draft(
            &author(),
            pb::ArticleVisibility::Public,
            "en",
            "Reset",
            "Hold the button.",
        )
        .await;
    let get = |name: String| {
        let app = &app;
        async move {
            app.c()
                .get_article(app.req(&customer("c1"), pb::GetArticleRequest { name }))
                .await
        }
    };
    assert_eq!(
        get(draft.name.clone()).await.unwrap_err().code(),
        Code::NotFound
    );
    app.publish(&draft).await;
    assert!(
        get(draft.name.clone())
            .await
            .unwrap()
            .into_inner()
            .article
            .unwrap()
            .live
    );
    let internal = app
        .draft(
            &author(),
            pb::ArticleVisibility::Internal,
            "en",
            "Escalation matrix",
            "Call L2.",
        )
        .await;
    let internal = app.publish(&internal).await;
    assert_eq!(
        get(internal.name.clone()).await.unwrap_err().code(),
        Code::NotFound
    );
    let view = app
        .c()
        .view_article(app.req(
            &customer("c1"),
            pb::ViewArticleRequest {
                name: internal.name.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(view.code(), Code::NotFound);
    let listed = app
        .c()
        .list_articles(app.req(&customer("c1"), pb::ListArticlesRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(listed.code(), Code::PermissionDenied);
}

async fn updates_need_the_current_etag_and_a_mask(db: TestDatabase) {
    let app = spawn_app(db).await;
    let article = app
        .draft(
            &author(),
            pb::ArticleVisibility::Public,
            "en",
            "Wi-Fi drops",
            "Move the router.",
        )
        .await;
    let update = |etag: &str, paths: &[&str], tags: Vec<String>| pb::UpdateArticleRequest {
        article: Some(pb::Article {
            name: article.name.clone(),
            etag: etag.into(),
            tags,
            visibility: pb::ArticleVisibility::Internal as i32,
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }),
    };
    let updated = app
        .c()
        .update_article(app.req(
            &author(),
            update(
                &article.etag,
                &["tags", "visibility"],
                vec![" WiFi ".into(), "router".into()],
            ),
        ))
        .await
        .unwrap()
        .into_inner()
        .article
        .unwrap();
    assert_eq!(updated.tags, ["wifi", "router"]);
    assert_eq!(updated.visibility, pb::ArticleVisibility::Internal as i32);
    assert_eq!(updated.etag, "\"2\"");
    let stale = app
        .c()
        .update_article(app.req(
            &author(),
            update(&article.etag, &["tags"], vec!["x".into()]),
        ))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::FailedPrecondition);
    let bad = app
        .c()
        .update_article(app.req(
            &author(),
            update(&updated.etag, &["title", "tags"], vec![String::new()]),
        ))
        .await
        .unwrap_err();
    let mut fields = bad_fields(&bad);
    fields.sort();
    assert_eq!(fields, ["article.tags", "update_mask"]);
    let now = app
        .c()
        .get_article(app.req(
            &author(),
            pb::GetArticleRequest {
                name: article.name.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .article
        .unwrap();
    assert_eq!(now, updated);
}

async fn a_draft_can_be_deleted_but_a_published_article_only_archived(db: TestDatabase) {
    let app = spawn_app(db).await;
    let draft = app
        .draft(
            &author(),
            pb::ArticleVisibility::Public,
            "en",
            "Draft",
            "Body",
        )
        .await;
    let delete = |name: &str, etag: &str| pb::DeleteArticleRequest {
        name: name.into(),
        etag: etag.into(),
    };
    let stale = app
        .c()
        .delete_article(app.req(&author(), delete(&draft.name, "\"9\"")))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::FailedPrecondition);
    app.c()
        .delete_article(app.req(&author(), delete(&draft.name, &draft.etag)))
        .await
        .unwrap();
    assert_eq!(app.count("article_versions").await, 0);
    let live = app.live("en", "Live", "Body").await;
    let refused = app
        .c()
        .delete_article(app.req(&author(), delete(&live.name, &live.etag)))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let missing = app
        .c()
        .delete_article(app.req(&author(), delete(&draft.name, &draft.etag)))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}

async fn lists_filter_order_and_page(db: TestDatabase) {
    let app = spawn_app(db).await;
    app.draft(
        &author(),
        pb::ArticleVisibility::Public,
        "en",
        "One",
        "Body",
    )
    .await;
    app.draft(
        &author(),
        pb::ArticleVisibility::Public,
        "zh-CN",
        "二",
        "正文",
    )
    .await;
    app.live("en", "Three", "Body").await;
    let list = |filter: &str, size: i32, token: &str| pb::ListArticlesRequest {
        filter: filter.into(),
        page_size: size,
        page_token: token.into(),
        order_by: String::new(),
    };
    let drafts = app
        .c()
        .list_articles(app.req(&agent("x"), list("state = DRAFT", 0, "")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(drafts.articles.len(), 2);
    let zh = app
        .c()
        .list_articles(app.req(&agent("x"), list("language = \"zh-CN\"", 0, "")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        zh.articles
            .iter()
            .map(|a| a.title.as_str())
            .collect::<Vec<_>>(),
        ["二"]
    );
    let live = app
        .c()
        .list_articles(app.req(&agent("x"), list("live = true", 0, "")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(live.articles[0].title, "Three");
    let first = app
        .c()
        .list_articles(app.req(&agent("x"), list("", 2, "")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        first
            .articles
            .iter()
            .map(|a| a.title.as_str())
            .collect::<Vec<_>>(),
        ["Three", "二"]
    );
    let second = app
        .c()
        .list_articles(app.req(&agent("x"), list("", 2, &first.next_page_token)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        second
            .articles
            .iter()
            .map(|a| a.title.as_str())
            .collect::<Vec<_>>(),
        ["One"]
    );
    assert!(second.next_page_token.is_empty());
    let other_query = app
        .c()
        .list_articles(app.req(
            &agent("x"),
            list("state = DRAFT", 2, &first.next_page_token),
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&other_query), ["page_token"]);
    let bad = app
        .c()
        .list_articles(app.req(&agent("x"), list("colour = RED", 0, "")))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&bad), ["filter"]);
}

async fn every_edit_is_a_version_and_translations_go_stale_when_the_source_changes(
    db: TestDatabase,
) {
    let app = spawn_app(db).await;
    let article = app
        .draft(
            &author(),
            pb::ArticleVisibility::Public,
            "en",
            "Fix a leak",
            "Tighten the hose.",
        )
        .await;
    let first = article.translations[0].latest_version.clone();
    let add = |v: pb::ArticleVersion, base: &str| pb::CreateArticleVersionRequest {
        parent: article.name.clone(),
        article_version: Some(v),
        base_version: base.into(),
        request_id: String::new(),
    };
    let mut zh = version("zh-CN", "修理漏水", "拧紧水管。");
    zh.source_version = first.clone();
    let translated = app
        .c()
        .create_article_version(app.req(&author(), add(zh, "")))
        .await
        .unwrap()
        .into_inner();
    let t = translated.article.unwrap();
    assert_eq!(t.translations.len(), 2);
    assert!(!t.translations.iter().any(|t| t.outdated));
    let edited = app
        .c()
        .create_article_version(app.req(
            &agent("editor"),
            add(
                version("en", "Fix a leak", "Tighten the hose clamp."),
                &first,
            ),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(edited.article_version.as_ref().unwrap().version_number, 3);
    assert_eq!(
        edited.article_version.as_ref().unwrap().author,
        "agents/editor"
    );
    let zh = edited
        .article
        .unwrap()
        .translations
        .into_iter()
        .find(|t| t.language == "zh-CN")
        .unwrap();
    assert!(zh.outdated);
    // An edit from an old base is refused, and nothing is written.
    let stale = app
        .c()
        .create_article_version(app.req(&author(), add(version("en", "Old", "Old"), &first)))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::FailedPrecondition);
    let bad = app
        .c()
        .create_article_version(app.req(&author(), add(version("", "", ""), "nonsense")))
        .await
        .unwrap_err();
    let mut fields = bad_fields(&bad);
    fields.sort();
    assert_eq!(
        fields,
        [
            "article_version.body",
            "article_version.language",
            "article_version.title",
            "base_version"
        ]
    );
    assert_eq!(app.count("article_versions").await, 3);
    // Restoring the first version is a new version with its content.
    let old = app
        .c()
        .get_article_version(app.req(
            &author(),
            pb::GetArticleVersionRequest {
                name: first.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .article_version
        .unwrap();
    let latest = edited.article_version.unwrap().name;
    let restored = app
        .c()
        .create_article_version(app.req(
            &author(),
            add(version("en", &old.title, &old.body), &latest),
        ))
        .await
        .unwrap()
        .into_inner()
        .article_version
        .unwrap();
    assert_eq!(restored.body, "Tighten the hose.");
    let versions = app
        .c()
        .list_article_versions(app.req(
            &author(),
            pb::ListArticleVersionsRequest {
                parent: article.name.clone(),
                page_size: 2,
                filter: "language = \"en\"".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        versions
            .article_versions
            .iter()
            .map(|v| v.version_number)
            .collect::<Vec<_>>(),
        [4, 3]
    );
    assert!(!versions.next_page_token.is_empty());
}

async fn malformed_names_and_missing_etags_are_refused_before_anything_is_read(db: TestDatabase) {
    let app = spawn_app(db).await;
    let c = app.c();
    let who = admin();
    let mut seen = Vec::new();
    seen.push(bad_fields(
        &c.clone()
            .get_article(app.req(
                &who,
                pb::GetArticleRequest {
                    name: "articles/nope".into(),
                },
            ))
            .await
            .unwrap_err(),
    ));
    seen.push(bad_fields(
        &c.clone()
            .delete_article(app.req(
                &who,
                pb::DeleteArticleRequest {
                    name: "tickets/1".into(),
                    etag: String::new(),
                },
            ))
            .await
            .unwrap_err(),
    ));
    seen.push(bad_fields(
        &c.clone()
            .get_article_version(app.req(
                &who,
                pb::GetArticleVersionRequest {
                    name: "articles/x/versions/y".into(),
                },
            ))
            .await
            .unwrap_err(),
    ));
    seen.push(bad_fields(
        &c.clone()
            .list_article_versions(app.req(
                &who,
                pb::ListArticleVersionsRequest {
                    parent: String::new(),
                    filter: "title = \"x\"".into(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap_err(),
    ));
    seen.push(bad_fields(
        &c.clone()
            .submit_article_for_review(app.req(
                &who,
                pb::SubmitArticleForReviewRequest {
                    name: String::new(),
                    etag: String::new(),
                    reviewers: vec!["people/1".into()],
                    note: "n".repeat(1001),
                },
            ))
            .await
            .unwrap_err(),
    ));
    seen.push(bad_fields(
        &c.clone()
            .approve_article(app.req(
                &who,
                pb::ApproveArticleRequest {
                    name: "articles/1".into(),
                    etag: String::new(),
                    comment: "c".repeat(5001),
                },
            ))
            .await
            .unwrap_err(),
    ));
    seen.push(bad_fields(
        &c.clone()
            .publish_article(app.req(
                &who,
                pb::PublishArticleRequest {
                    name: "articles".into(),
                    etag: String::new(),
                },
            ))
            .await
            .unwrap_err(),
    ));
    seen.push(bad_fields(
        &c.clone()
            .archive_article(app.req(
                &who,
                pb::ArchiveArticleRequest {
                    name: "articles/1".into(),
                    etag: "\"1\"".into(),
                    reason: "r".repeat(1001),
                },
            ))
            .await
            .unwrap_err(),
    ));
    seen.push(bad_fields(
        &c.clone()
            .list_categories(app.req(
                &who,
                pb::ListCategoriesRequest {
                    filter: "parent = categories".into(),
                    page_size: -5,
                    ..Default::default()
                },
            ))
            .await
            .unwrap_err(),
    ));
    seen.push(bad_fields(
        &c.clone()
            .get_content_gap(app.req(
                &who,
                pb::GetContentGapRequest {
                    name: "gaps/1".into(),
                },
            ))
            .await
            .unwrap_err(),
    ));
    seen.push(bad_fields(
        &c.clone()
            .dismiss_content_gap(app.req(
                &who,
                pb::DismissContentGapRequest {
                    name: "contentGaps/1".into(),
                    etag: String::new(),
                    note: String::new(),
                },
            ))
            .await
            .unwrap_err(),
    ));
    seen.push(bad_fields(
        &c.clone()
            .list_article_ratings(app.req(
                &who,
                pb::ListArticleRatingsRequest {
                    parent: "articles/x".into(),
                    filter: "helpfulness = MAYBE".into(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap_err(),
    ));
    for fields in &mut seen {
        fields.sort();
    }
    assert_eq!(
        seen,
        [
            vec!["name"],
            vec!["etag", "name"],
            vec!["name"],
            vec!["filter", "parent"],
            vec!["etag", "name", "note", "reviewers"],
            vec!["comment", "etag", "name"],
            vec!["etag", "name"],
            vec!["name", "reason"],
            vec!["filter", "page_size"],
            vec!["name"],
            vec!["etag", "name"],
            vec!["filter", "parent"],
        ]
    );
    // Well-formed names of nothing are NOT_FOUND.
    let missing = format!("articles/{}", uuid::Uuid::now_v7());
    let status = c
        .clone()
        .get_article(app.req(
            &who,
            pb::GetArticleRequest {
                name: missing.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let status = c
        .clone()
        .publish_article(app.req(
            &who,
            pb::PublishArticleRequest {
                name: missing,
                etag: "\"1\"".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}

on_both_databases!(
    an_article_and_its_first_version_are_written_together_or_not_at_all,
    a_create_with_a_request_id_is_made_once_and_a_reused_key_is_refused,
    customers_cannot_write_and_read_only_live_public_articles,
    updates_need_the_current_etag_and_a_mask,
    a_draft_can_be_deleted_but_a_published_article_only_archived,
    lists_filter_order_and_page,
    every_edit_is_a_version_and_translations_go_stale_when_the_source_changes,
    malformed_names_and_missing_etags_are_refused_before_anything_is_read,
);

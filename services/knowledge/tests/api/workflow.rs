//! The workflow: draft → in review → approved/rejected → published → archived, who may move
//! it, and what readers see meanwhile.

use aftercare_platform::on_both_databases;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::knowledge::v1 as pb;
use tonic::Code;

use super::support::*;

async fn authors_submit_reviewers_approve_and_admins_publish_and_archive(db: TestDatabase) {
    let app = spawn_app(db).await;
    let draft = app
        .draft(
            &author(),
            pb::ArticleVisibility::Public,
            "en",
            "Reset the router",
            "Hold reset 10 s.",
        )
        .await;
    let submit = |a: &pb::Article| pb::SubmitArticleForReviewRequest {
        name: a.name.clone(),
        etag: a.etag.clone(),
        reviewers: vec![],
        note: "please check".into(),
    };
    let denied = app
        .c()
        .submit_article_for_review(app.req(&customer("c"), submit(&draft)))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let in_review = app
        .c()
        .submit_article_for_review(app.req(&author(), submit(&draft)))
        .await
        .unwrap()
        .into_inner()
        .article
        .unwrap();
    assert_eq!(in_review.state, pb::ArticleState::InReview as i32);
    let review = in_review.last_review.clone().unwrap();
    assert_eq!(review.decision, pb::ReviewDecision::Pending as i32);
    assert_eq!(review.submitter.unwrap().id, "agents/author");
    assert_eq!(review.versions.len(), 1);
    let approve = |p, a: &pb::Article| {
        let app = &app;
        let request = pb::ApproveArticleRequest {
            name: a.name.clone(),
            etag: a.etag.clone(),
            comment: "ok".into(),
        };
        async move { app.c().approve_article(app.req(&p, request)).await }
    };
    assert_eq!(
        approve(agent("peer"), &in_review).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    // A reviewer who wrote a version under review may not approve it.
    let lead_article = app
        .draft(
            &reviewer(),
            pb::ArticleVisibility::Public,
            "en",
            "Lead's own",
            "Body",
        )
        .await;
    let lead_in_review = app
        .c()
        .submit_article_for_review(app.req(&reviewer(), submit(&lead_article)))
        .await
        .unwrap()
        .into_inner()
        .article
        .unwrap();
    assert_eq!(
        approve(reviewer(), &lead_in_review)
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let approved = approve(reviewer(), &in_review)
        .await
        .unwrap()
        .into_inner()
        .article
        .unwrap();
    assert_eq!(approved.state, pb::ArticleState::Approved as i32);
    assert_eq!(
        approved.last_review.clone().unwrap().reviewer.unwrap().id,
        "agents/lead"
    );
    let publish = |p, a: &pb::Article| {
        let app = &app;
        let request = pb::PublishArticleRequest {
            name: a.name.clone(),
            etag: a.etag.clone(),
        };
        async move { app.c().publish_article(app.req(&p, request)).await }
    };
    assert_eq!(
        publish(reviewer(), &approved).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    let stale = app
        .c()
        .publish_article(app.req(
            &admin(),
            pb::PublishArticleRequest {
                name: approved.name.clone(),
                etag: in_review.etag.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::FailedPrecondition);
    let published = publish(admin(), &approved)
        .await
        .unwrap()
        .into_inner()
        .article
        .unwrap();
    assert_eq!(published.state, pb::ArticleState::Published as i32);
    assert!(published.live);
    assert!(published.publish_time.is_some());
    assert_eq!(published.published_versions.len(), 1);
    // Publishing again is not a transition from PUBLISHED.
    assert_eq!(
        publish(admin(), &published).await.unwrap_err().code(),
        Code::FailedPrecondition
    );
    let archived = app
        .c()
        .archive_article(app.req(
            &admin(),
            pb::ArchiveArticleRequest {
                name: published.name.clone(),
                etag: published.etag.clone(),
                reason: "product discontinued".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .article
        .unwrap();
    assert_eq!(archived.state, pb::ArticleState::Archived as i32);
    assert!(!archived.live);
    assert!(archived.published_versions.is_empty());
    let events = app.events().await;
    assert_eq!(
        events,
        [
            "aftercare.events.v1.ArticlePublished",
            "aftercare.events.v1.ArticleArchived"
        ]
    );
    // Who did what and when is kept.
    assert_eq!(app.count("article_history").await, 7);
}

async fn a_rejection_needs_a_comment_and_sends_the_article_back_to_draft(db: TestDatabase) {
    let app = spawn_app(db).await;
    let draft = app
        .draft(
            &author(),
            pb::ArticleVisibility::Public,
            "en",
            "Billing FAQ",
            "Invoices monthly.",
        )
        .await;
    let submitted = app
        .c()
        .submit_article_for_review(app.req(
            &author(),
            pb::SubmitArticleForReviewRequest {
                name: draft.name.clone(),
                etag: draft.etag.clone(),
                reviewers: vec!["agents/trainer".into()],
                note: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .article
        .unwrap();
    assert_eq!(submitted.reviewers, ["agents/trainer"]);
    let reject = |p, comment: &str| {
        let app = &app;
        let request = pb::RejectArticleRequest {
            name: submitted.name.clone(),
            etag: submitted.etag.clone(),
            comment: comment.into(),
        };
        async move { app.c().reject_article(app.req(&p, request)).await }
    };
    assert_eq!(
        bad_fields(&reject(reviewer(), " ").await.unwrap_err()),
        ["comment"]
    );
    // Only the reviewers asked may review.
    assert_eq!(
        reject(reviewer(), "no").await.unwrap_err().code(),
        Code::PermissionDenied
    );
    let mut trainer = agent("trainer");
    trainer.roles = vec![aftercare_platform::auth::Role::Trainer];
    let rejected = reject(trainer, "Add the VAT rules.")
        .await
        .unwrap()
        .into_inner()
        .article
        .unwrap();
    assert_eq!(rejected.state, pb::ArticleState::Draft as i32);
    let review = rejected.last_review.unwrap();
    assert_eq!(review.decision, pb::ReviewDecision::Rejected as i32);
    assert_eq!(review.comment, "Add the VAT rules.");
}

async fn a_new_draft_of_a_published_article_keeps_the_published_content_readable(db: TestDatabase) {
    let app = spawn_app(db).await;
    let live = app
        .live(
            "en",
            "Pairing headphones",
            "Hold the button for five seconds.",
        )
        .await;
    let latest = live.translations[0].latest_version.clone();
    app.c()
        .create_article_version(app.req(
            &author(),
            pb::CreateArticleVersionRequest {
                parent: live.name.clone(),
                article_version: Some(version("en", "Pairing headphones (new)", "Open the app.")),
                base_version: latest,
                request_id: String::new(),
            },
        ))
        .await
        .unwrap();
    let view = app
        .c()
        .view_article(app.req(
            &customer("c"),
            pb::ViewArticleRequest {
                name: live.name.clone(),
                language: "en-GB".into(),
                preview: false,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let article = view.article.unwrap();
    assert_eq!(article.state, pb::ArticleState::Draft as i32);
    assert!(article.live);
    assert_eq!(view.version.unwrap().title, "Pairing headphones");
    assert_eq!(article.view_count, 1);
    let preview = app
        .c()
        .view_article(app.req(
            &author(),
            pb::ViewArticleRequest {
                name: live.name.clone(),
                language: String::new(),
                preview: true,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(preview.version.unwrap().title, "Pairing headphones (new)");
    assert_eq!(preview.article.unwrap().view_count, 1);
    let denied = app
        .c()
        .view_article(app.req(
            &customer("c"),
            pb::ViewArticleRequest {
                name: live.name.clone(),
                language: String::new(),
                preview: true,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}

async fn readers_get_their_language_and_fall_back_to_the_source_language(db: TestDatabase) {
    let app = spawn_app(db).await;
    let draft = app
        .draft(
            &author(),
            pb::ArticleVisibility::Public,
            "en",
            "Descaling",
            "Use vinegar.",
        )
        .await;
    let with_zh = app
        .c()
        .create_article_version(app.req(
            &author(),
            pb::CreateArticleVersionRequest {
                parent: draft.name.clone(),
                article_version: Some(version("zh-CN", "除垢", "用醋。")),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .article
        .unwrap();
    let live = app.publish(&with_zh).await;
    assert_eq!(live.published_versions.len(), 2);
    let view = |language: &str| {
        let app = &app;
        let request = pb::ViewArticleRequest {
            name: live.name.clone(),
            language: language.into(),
            preview: false,
        };
        async move {
            app.c()
                .view_article(app.req(&anonymous(), request))
                .await
                .unwrap()
                .into_inner()
                .version
                .unwrap()
        }
    };
    assert_eq!(view("zh-CN").await.title, "除垢");
    assert_eq!(view("zh").await.title, "除垢");
    assert_eq!(view("fr").await.title, "Descaling");
    let bad = app
        .c()
        .view_article(app.req(
            &anonymous(),
            pb::ViewArticleRequest {
                name: "articles/x".into(),
                language: "??".into(),
                preview: false,
            },
        ))
        .await
        .unwrap_err();
    let mut fields = bad_fields(&bad);
    fields.sort();
    assert_eq!(fields, ["language", "name"]);
}

on_both_databases!(
    authors_submit_reviewers_approve_and_admins_publish_and_archive,
    a_rejection_needs_a_comment_and_sends_the_article_back_to_draft,
    a_new_draft_of_a_published_article_keeps_the_published_content_readable,
    readers_get_their_language_and_fall_back_to_the_source_language,
);

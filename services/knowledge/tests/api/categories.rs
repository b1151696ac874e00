//! Categories: a tree of names per language.

use aftercare_platform::on_both_databases;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::knowledge::v1 as pb;
use tonic::Code;

use super::support::*;

fn category(parent: &str, name: &str) -> pb::CreateCategoryRequest {
    pb::CreateCategoryRequest {
        category: Some(pb::Category {
            parent: parent.into(),
            display_names: [
                ("en".to_owned(), name.to_owned()),
                ("zh-CN".to_owned(), format!("{name}类")),
            ]
            .into(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

async fn categories_form_a_tree_and_only_empty_ones_are_deleted(db: TestDatabase) {
    let app = spawn_app(db).await;
    let create = |p, r| {
        let app = &app;
        async move {
            app.c()
                .create_category(app.req(&p, r))
                .await
                .map(|r| r.into_inner().category.unwrap())
        }
    };
    assert_eq!(
        create(author(), category("", "Home"))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let bad = create(
        reviewer(),
        pb::CreateCategoryRequest {
            category: Some(pb::Category {
                parent: "x".into(),
                ..Default::default()
            }),
            request_id: "nope".into(),
        },
    )
    .await
    .unwrap_err();
    let mut fields = bad_fields(&bad);
    fields.sort();
    assert_eq!(
        fields,
        ["category.display_names", "category.parent", "request_id"]
    );
    let root = create(reviewer(), category("", "Appliances"))
        .await
        .unwrap();
    let mut chain = vec![root.clone()];
    for level in 2..=5 {
        let parent = chain.last().unwrap().name.clone();
        chain.push(
            create(reviewer(), category(&parent, &format!("Level {level}")))
                .await
                .unwrap(),
        );
    }
    let too_deep = create(reviewer(), category(&chain[4].name, "Level 6"))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&too_deep), ["category.parent"]);
    // Moving the root under its own descendant is refused.
    let moved = app
        .c()
        .update_category(app.req(
            &reviewer(),
            pb::UpdateCategoryRequest {
                category: Some(pb::Category {
                    name: root.name.clone(),
                    etag: root.etag.clone(),
                    parent: chain[2].name.clone(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["parent".into()],
                }),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&moved), ["category.parent"]);
    let renamed = app
        .c()
        .update_category(app.req(
            &reviewer(),
            pb::UpdateCategoryRequest {
                category: Some(pb::Category {
                    name: root.name.clone(),
                    etag: root.etag.clone(),
                    display_order: 3,
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["display_order".into()],
                }),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .category
        .unwrap();
    assert_eq!(renamed.display_order, 3);
    assert_eq!(
        renamed.display_names.get("zh-CN").map(String::as_str),
        Some("Appliances类")
    );
    let children = app
        .c()
        .list_categories(app.req(
            &customer("c"),
            pb::ListCategoriesRequest {
                filter: format!("parent = \"{}\"", root.name),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(children.categories.len(), 1);
    let under = app
        .c()
        .list_categories(app.req(
            &customer("c"),
            pb::ListCategoriesRequest {
                filter: format!("ancestor = \"{}\"", root.name),
                page_size: 3,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(under.categories.len(), 3);
    assert!(!under.next_page_token.is_empty());
    // A category with children or articles is not deleted.
    let delete = |c: &pb::Category| pb::DeleteCategoryRequest {
        name: c.name.clone(),
        etag: c.etag.clone(),
    };
    let busy = app
        .c()
        .delete_category(app.req(&reviewer(), delete(&renamed)))
        .await
        .unwrap_err();
    assert_eq!(busy.code(), Code::FailedPrecondition);
    let leaf = chain[4].clone();
    let draft = app
        .draft(
            &author(),
            pb::ArticleVisibility::Public,
            "en",
            "In leaf",
            "Body",
        )
        .await;
    let filed = app
        .c()
        .update_article(app.req(
            &author(),
            pb::UpdateArticleRequest {
                article: Some(pb::Article {
                    name: draft.name.clone(),
                    etag: draft.etag.clone(),
                    category: leaf.name.clone(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["category".into()],
                }),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .article
        .unwrap();
    let live = app.publish(&filed).await;
    let counted = app
        .c()
        .get_category(app.req(
            &customer("c"),
            pb::GetCategoryRequest {
                name: root.name.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .category
        .unwrap();
    assert_eq!(
        counted.article_count, 1,
        "live articles of descendants count"
    );
    assert_eq!(
        app.c()
            .delete_category(app.req(&reviewer(), delete(&leaf)))
            .await
            .unwrap_err()
            .code(),
        Code::FailedPrecondition
    );
    app.c()
        .archive_article(app.req(
            &admin(),
            pb::ArchiveArticleRequest {
                name: live.name.clone(),
                etag: live.etag.clone(),
                reason: String::new(),
            },
        ))
        .await
        .unwrap();
    assert_eq!(
        app.c()
            .delete_category(app.req(&reviewer(), delete(&leaf)))
            .await
            .unwrap_err()
            .code(),
        Code::FailedPrecondition,
        "archived articles still count"
    );
    let stale = app
        .c()
        .delete_category(app.req(
            &reviewer(),
            pb::DeleteCategoryRequest {
                name: chain[3].name.clone(),
                etag: "\"9\"".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::FailedPrecondition);
    let missing = app
        .c()
        .get_category(app.req(
            &customer("c"),
            pb::GetCategoryRequest {
                name: format!("categories/{}", uuid::Uuid::now_v7()),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}

async fn a_category_create_with_a_request_id_is_made_once(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut request = category("", "Phones");
    request.request_id = "0190a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6c".into();
    let first = app
        .c()
        .create_category(app.req(&reviewer(), request.clone()))
        .await
        .unwrap()
        .into_inner();
    let again = app
        .c()
        .create_category(app.req(&reviewer(), request.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.category.unwrap().name, again.category.unwrap().name);
    let mut other = category("", "Tablets");
    other.request_id = request.request_id.clone();
    assert_eq!(
        app.c()
            .create_category(app.req(&reviewer(), other))
            .await
            .unwrap_err()
            .code(),
        Code::AlreadyExists
    );
    assert_eq!(app.count("categories").await, 1);
}

on_both_databases!(
    categories_form_a_tree_and_only_empty_ones_are_deleted,
    a_category_create_with_a_request_id_is_made_once,
);

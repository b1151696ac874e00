//! Search: Chinese segmented, English stemmed, title over body, filters, highlights, pages,
//! and what customers may never find.

use aftercare_platform::on_both_databases;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::knowledge::v1 as pb;
use tonic::Code;

use super::support::*;

async fn a_chinese_question_finds_the_segmented_article(db: TestDatabase) {
    let app = spawn_app(db).await;
    app.live(
        "zh-CN",
        "洗衣机底部漏水的处理方法",
        "检查排水管和进水管是否松动，必要时更换密封圈。",
    )
    .await;
    app.live("zh-CN", "冰箱不制冷怎么办", "检查温控器设置。")
        .await;
    let found = app.search(&customer("c"), "洗衣机漏水怎么办").await;
    assert_eq!(titles(&found)[0], "洗衣机底部漏水的处理方法");
    let hit = &found.hits[0];
    assert_eq!(hit.language, "zh-CN");
    let highlighted: Vec<String> = hit
        .title_highlights
        .iter()
        .map(|r| {
            hit.title
                .chars()
                .skip(r.start as usize)
                .take(r.length as usize)
                .collect()
        })
        .collect();
    assert!(
        highlighted.contains(&"洗衣机".to_owned()),
        "{highlighted:?}"
    );
    assert!(highlighted.contains(&"漏水".to_owned()), "{highlighted:?}");
    assert!(hit.score > 0.0 && hit.score <= 1.0);
    assert!(found.content_gap.is_empty());
}

async fn an_english_word_finds_its_stem_and_title_matches_rank_first(db: TestDatabase) {
    let app = spawn_app(db).await;
    app.live(
        "en",
        "Cleaning the filter",
        "If the machine is leaking, the filter may be blocked.",
    )
    .await;
    app.live(
        "en",
        "How to fix a leak under the washing machine",
        "Check the hoses and the door seal.",
    )
    .await;
    let found = app.search(&customer("c"), "leaking").await;
    assert_eq!(
        titles(&found),
        [
            "How to fix a leak under the washing machine",
            "Cleaning the filter"
        ]
    );
    let snippet = &found.hits[1];
    let range = &snippet.snippet_highlights[0];
    let word: String = snippet
        .snippet
        .chars()
        .skip(range.start as usize)
        .take(range.length as usize)
        .collect();
    assert_eq!(word, "leaking");
    // Chinese and English in one query.
    app.live("zh-CN", "路由器 reset 方法", "长按 reset 键。")
        .await;
    let mixed = app.search(&customer("c"), "路由器 resetting").await;
    assert_eq!(titles(&mixed)[0], "路由器 reset 方法");
}

async fn drafts_and_internal_articles_never_reach_a_customer(db: TestDatabase) {
    let app = spawn_app(db).await;
    app.draft(
        &author(),
        pb::ArticleVisibility::Public,
        "en",
        "Firmware rollback",
        "Draft steps.",
    )
    .await;
    let internal = app
        .draft(
            &author(),
            pb::ArticleVisibility::Internal,
            "en",
            "Firmware escalation",
            "Internal steps.",
        )
        .await;
    app.publish(&internal).await;
    for reader in [customer("c"), anonymous(), service()] {
        let found = app.search(&reader, "firmware").await;
        assert!(found.hits.is_empty(), "{:?}", titles(&found));
    }
    let staff = app.search(&agent("a"), "firmware").await;
    assert_eq!(titles(&staff), ["Firmware escalation"]);
}

async fn archived_articles_leave_the_index(db: TestDatabase) {
    let app = spawn_app(db).await;
    let live = app
        .live("en", "Old remote pairing", "Press both buttons.")
        .await;
    assert_eq!(app.search(&customer("c"), "remote").await.hits.len(), 1);
    app.c()
        .archive_article(app.req(
            &admin(),
            pb::ArchiveArticleRequest {
                name: live.name,
                etag: live.etag,
                reason: String::new(),
            },
        ))
        .await
        .unwrap();
    assert!(app.search(&customer("c"), "remote").await.hits.is_empty());
}

async fn searches_filter_by_category_product_line_kind_and_language_and_page(db: TestDatabase) {
    let app = spawn_app(db).await;
    let category = app
        .c()
        .create_category(app.req(
            &reviewer(),
            pb::CreateCategoryRequest {
                category: Some(pb::Category {
                    display_names: [("en".to_owned(), "Routers".to_owned())].into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .category
        .unwrap();
    for i in 0..5 {
        let draft = app
            .draft(
                &author(),
                pb::ArticleVisibility::Public,
                "en",
                &format!("Router guide {i}"),
                "router",
            )
            .await;
        let draft = if i == 0 {
            app.c()
                .update_article(app.req(
                    &author(),
                    pb::UpdateArticleRequest {
                        article: Some(pb::Article {
                            name: draft.name.clone(),
                            etag: draft.etag.clone(),
                            category: category.name.clone(),
                            product_lines: vec!["router-x2".into()],
                            ..Default::default()
                        }),
                        update_mask: Some(prost_types::FieldMask {
                            paths: vec!["category".into(), "product_lines".into()],
                        }),
                    },
                ))
                .await
                .unwrap()
                .into_inner()
                .article
                .unwrap()
        } else {
            draft
        };
        app.publish(&draft).await;
    }
    let request = |f: &dyn Fn(&mut pb::SearchArticlesRequest)| {
        let mut r = pb::SearchArticlesRequest {
            query: "router".into(),
            ..Default::default()
        };
        f(&mut r);
        r
    };
    let in_category = app
        .search_with(
            &customer("c"),
            request(&|r| r.category = category.name.clone()),
        )
        .await
        .unwrap();
    assert_eq!(titles(&in_category), ["Router guide 0"]);
    assert_eq!(in_category.hits[0].category, category.name);
    // Articles for all products match a product line too.
    let x2 = app
        .search_with(
            &customer("c"),
            request(&|r| r.product_line = "router-x2".into()),
        )
        .await
        .unwrap();
    assert_eq!(x2.hits.len(), 5);
    let other = app
        .search_with(
            &customer("c"),
            request(&|r| r.product_line = "router-x9".into()),
        )
        .await
        .unwrap();
    assert_eq!(other.hits.len(), 4);
    let faq = app
        .search_with(
            &customer("c"),
            request(&|r| r.kind = pb::ArticleKind::Faq as i32),
        )
        .await
        .unwrap();
    assert!(faq.hits.is_empty());
    let in_french = app
        .search_with(&customer("c"), request(&|r| r.language = "fr".into()))
        .await
        .unwrap();
    assert_eq!(in_french.hits.len(), 5, "falls back to the source language");
    let first = app
        .search_with(&customer("c"), request(&|r| r.page_size = 2))
        .await
        .unwrap();
    assert_eq!(first.hits.len(), 2);
    assert_eq!(first.total_size, 5);
    let mut seen = titles(&first);
    let mut token = first.next_page_token.clone();
    while !token.is_empty() {
        let page = app
            .search_with(
                &customer("c"),
                request(&|r| {
                    r.page_size = 2;
                    r.page_token = token.clone();
                }),
            )
            .await
            .unwrap();
        seen.extend(titles(&page));
        token = page.next_page_token;
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 5);
    assert_eq!(
        app.count("searches").await,
        6,
        "only first pages are logged"
    );
}

async fn bad_searches_name_every_bad_field(db: TestDatabase) {
    let app = spawn_app(db).await;
    let bad = app
        .search_with(
            &customer("c"),
            pb::SearchArticlesRequest {
                query: "x".repeat(501),
                language: "not a tag".into(),
                category: "categories/1".into(),
                kind: 42,
                page_size: -1,
                page_token: "garbage".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    let mut fields = bad_fields(&bad);
    fields.sort();
    assert_eq!(
        fields,
        [
            "category",
            "kind",
            "language",
            "page_size",
            "page_token",
            "query"
        ]
    );
    let empty = app
        .search_with(&customer("c"), pb::SearchArticlesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&empty), ["query"]);
    let unsigned = app
        .c()
        .search_articles(tonic::Request::new(pb::SearchArticlesRequest {
            query: "x".into(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(unsigned.code(), Code::Unauthenticated);
    assert_eq!(app.count("searches").await, 0);
}

on_both_databases!(
    a_chinese_question_finds_the_segmented_article,
    an_english_word_finds_its_stem_and_title_matches_rank_first,
    drafts_and_internal_articles_never_reach_a_customer,
    archived_articles_leave_the_index,
    searches_filter_by_category_product_line_kind_and_language_and_page,
    bad_searches_name_every_bad_field,
);

//! The index is derived data: rebuilt when missing, brought up to date when behind, and kept
//! by each replica on its own.

use std::time::Duration;

use aftercare_platform::on_both_databases;
use aftercare_platform::testing::{TestDatabase, poll_until};
use aftercare_proto::aftercare::knowledge::v1 as pb;
use aftercare_proto::aftercare::knowledge::v1::knowledge_service_client::KnowledgeServiceClient;

use super::support::*;

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

async fn a_missing_index_is_rebuilt_from_the_database(db: TestDatabase) {
    let app = spawn_app(db).await;
    app.live(
        "en",
        "How to fix a leak under the washing machine",
        "Check the hoses.",
    )
    .await;
    let dir = app.index.path().to_owned();
    let svc_dir = dir.clone();
    let app = {
        let App { svc, db, index, .. } = app;
        svc.stop().await;
        std::fs::remove_dir_all(&svc_dir).unwrap();
        let svc = start(&db, &svc_dir).await;
        let client = KnowledgeServiceClient::new(svc.channel());
        App {
            svc,
            client,
            db,
            index,
        }
    };
    let found = app.search(&customer("c"), "leaking").await;
    assert_eq!(
        titles(&found),
        ["How to fix a leak under the washing machine"]
    );
}

async fn a_change_committed_before_a_crash_reaches_the_index_on_restart(db: TestDatabase) {
    let app = spawn_app(db).await;
    let draft = app
        .draft(
            &author(),
            pb::ArticleVisibility::Public,
            "zh-CN",
            "洗衣机底部漏水的处理方法",
            "检查水管。",
        )
        .await;
    // The index as it was before the publication: what a crash between the database commit
    // and the index commit leaves behind.
    let before = tempfile::tempdir().unwrap();
    copy_dir(app.index.path(), before.path());
    app.publish(&draft).await;
    let app = app.restart(Some(before.path().to_owned())).await;
    let found = app.search(&customer("c"), "洗衣机漏水怎么办").await;
    assert_eq!(titles(&found), ["洗衣机底部漏水的处理方法"]);
}

async fn a_second_replica_on_the_same_database_keeps_its_own_index_up_to_date(db: TestDatabase) {
    let app = spawn_app(db).await;
    let other_dir = tempfile::tempdir().unwrap();
    let other = start(&app.db, other_dir.path()).await;
    let other_client = KnowledgeServiceClient::new(other.channel());
    app.live("en", "Replacing the door seal", "Pull the old seal out.")
        .await;
    let found = poll_until(
        "the other replica to index the article",
        Duration::from_secs(5),
        || {
            let mut client = other_client.clone();
            let request = other.request(
                &customer("c"),
                pb::SearchArticlesRequest {
                    query: "seal".into(),
                    ..Default::default()
                },
            );
            async move {
                let response = client.search_articles(request).await.ok()?.into_inner();
                (!response.hits.is_empty()).then_some(response)
            }
        },
    )
    .await;
    assert_eq!(titles(&found), ["Replacing the door seal"]);
    other.stop().await;
}

on_both_databases!(
    a_missing_index_is_rebuilt_from_the_database,
    a_change_committed_before_a_crash_reaches_the_index_on_restart,
    a_second_replica_on_the_same_database_keeps_its_own_index_up_to_date,
);

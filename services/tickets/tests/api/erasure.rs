//! Erasure: `CustomerErased` scrubs the customer from every text the tickets database keeps.

use aftercare_platform::events::{Event, EventBus as _};
use aftercare_platform::on_both_databases;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::events::v1::CustomerErased;
use aftercare_proto::aftercare::tickets::v1 as pb;
use prost::Name as _;
use sqlx::Row as _;

use super::support::{App, lead, spawn_app, ticket};

/// Every text value in every table of the tickets database, one string.
async fn every_text(app: &App) -> String {
    let db = app.tickets.db();
    let tables: Vec<String> = match db.backend() {
        aftercare_platform::db::Backend::Sqlite => {
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        aftercare_platform::db::Backend::Postgres => {
            sqlx::query_scalar("SELECT tablename::TEXT FROM pg_tables WHERE schemaname = 'public'")
        }
    }
    .fetch_all(db.reader())
    .await
    .expect("the tables");
    let mut all = String::new();
    for table in tables {
        // The outbox keeps published events for the retention period (events.retention).
        if table == "aftercare_outbox" || table.starts_with("_sqlx") {
            continue;
        }
        let rows = sqlx::query(&format!("SELECT * FROM {table}"))
            .fetch_all(db.reader())
            .await
            .expect("the rows");
        for row in rows {
            for i in 0..row.len() {
                if let Ok(Some(text)) = row.try_get::<Option<String>, _>(i) {
                    all.push_str(&table);
                    all.push(':');
                    all.push_str(&text);
                    all.push('\n');
                }
            }
        }
    }
    all
}

async fn an_erased_customer_leaves_no_personal_string_in_the_tickets_database(db: TestDatabase) {
    let app = spawn_app(db).await;
    let customer = app.name("c1").to_owned();
    let mut draft = ticket(&customer, "eu-west", "Washer leaks, call Ilse Brandt");
    draft.description = "Reach me at ilse.brandt@example.com or +49 30 9876 5432".into();
    let created = app.create(&app.customer("c1"), draft).await;
    app.client
        .clone()
        .create_message(app.req(
            &app.customer("c1"),
            pb::CreateMessageRequest {
                parent: created.name.clone(),
                message: Some(pb::TicketMessage {
                    visibility: pb::MessageVisibility::Public as i32,
                    body: "Ilse Brandt again: ilse.brandt@example.com".into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
        ))
        .await
        .expect("the customer replies");
    let display_name = created.customer_display_name.clone();
    let personal = ["Ilse Brandt", "ilse.brandt@example.com", "9876 5432"];
    let before = every_text(&app).await;
    assert!(
        before.contains("ilse.brandt@example.com"),
        "the test can see the data"
    );

    let erased = CustomerErased {
        customer: customer.clone(),
        ..Default::default()
    };
    let event = Event {
        id: uuid::Uuid::now_v7().to_string(),
        r#type: CustomerErased::full_name(),
        source: "customers".into(),
        subject: customer.clone(),
        payload: Some(prost_types::Any::from_msg(&erased).unwrap()),
        ..Default::default()
    };
    app.tickets.bus().publish(&event).await.unwrap();
    // Delivered twice: applied once, and nothing breaks.
    app.tickets.bus().publish(&event).await.unwrap();
    let leaks = |all: &str| -> Vec<String> {
        all.lines()
            .filter(|line| {
                personal
                    .iter()
                    .chain(std::iter::once(&display_name.as_str()))
                    .any(|p| p.len() >= 4 && line.contains(p))
            })
            .map(str::to_owned)
            .collect()
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let left = leaks(&every_text(&app).await);
        if left.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "personal strings left after the erasure: {left:#?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let kept = app
        .get(&lead(), &created.name)
        .await
        .expect("staff still read it");
    assert_eq!(kept.customer, customer);
    assert_eq!(kept.status, created.status);
}

on_both_databases!(an_erased_customer_leaves_no_personal_string_in_the_tickets_database);

//! The loyalty ledger: entries, balance invariants, idempotency, merges.

use std::time::Duration;

use aftercare_platform::auth::Principal;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::customers::v1 as pb;
use pb::LoyaltyEntryKind as Kind;
use tonic::Code;

use super::harness::{App, admin, agent, as_customer, bad_fields, customer, lead, spawn_app};

aftercare_platform::on_both_databases!(
    the_ledger_keeps_every_entry_and_the_balance_never_goes_negative,
    concurrent_redemptions_never_overdraw,
    a_retried_entry_counts_once,
    bad_entries_name_every_bad_field_and_write_nothing,
    entries_list_newest_first_and_customers_read_only_their_own,
    a_merge_transfers_the_balance_with_a_pair_of_adjustments,
    loyalty_changes_reach_the_timeline,
);

fn entry(kind: Kind, points: i64, reason: &str) -> pb::LoyaltyEntry {
    pb::LoyaltyEntry {
        kind: kind as i32,
        points,
        reason: reason.into(),
        ..Default::default()
    }
}

async fn record_as(
    app: &App,
    principal: &Principal,
    customer: &str,
    entry: pb::LoyaltyEntry,
    request_id: &str,
) -> Result<pb::RecordLoyaltyEntryResponse, tonic::Status> {
    Ok(app
        .client
        .clone()
        .record_loyalty_entry(app.req(
            principal,
            pb::RecordLoyaltyEntryRequest {
                parent: customer.into(),
                entry: Some(entry),
                request_id: request_id.into(),
            },
        ))
        .await?
        .into_inner())
}

async fn record(
    app: &App,
    customer: &str,
    entry: pb::LoyaltyEntry,
) -> Result<pb::RecordLoyaltyEntryResponse, tonic::Status> {
    record_as(app, &Principal::service("orders"), customer, entry, "").await
}

async fn balance(app: &App, customer: &str) -> pb::LoyaltyBalance {
    app.client
        .clone()
        .get_loyalty_balance(app.req(
            &admin(),
            pb::GetLoyaltyBalanceRequest {
                name: format!("{customer}/loyaltyBalance"),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .balance
        .unwrap()
}

async fn the_ledger_keeps_every_entry_and_the_balance_never_goes_negative(db: TestDatabase) {
    let app = spawn_app(db).await;
    let li = app.create(customer("Li Wei")).await;
    let empty = balance(&app, &li.name).await;
    assert_eq!(empty.balance, 0);
    assert!(empty.last_entry_time.is_none());

    let mut earn = entry(Kind::Earn, 100, "Purchase order 4711");
    earn.reference = "order:4711".into();
    earn.spend_minor = 5_000;
    let earned = record(&app, &li.name, earn).await.unwrap();
    assert_eq!(earned.entry.as_ref().unwrap().balance_after, 100);
    assert_eq!(earned.balance.unwrap().balance, 100);
    record(&app, &li.name, entry(Kind::Redeem, -30, "Voucher"))
        .await
        .unwrap();

    let status = record(&app, &li.name, entry(Kind::Redeem, -80, "Too much"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(app.count("loyalty_entries").await, 2);
    assert_eq!(balance(&app, &li.name).await.balance, 70);

    record(&app, &li.name, entry(Kind::Expire, -70, "Points lapsed"))
        .await
        .unwrap();
    record(
        &app,
        &li.name,
        entry(Kind::Adjust, 5, "Goodwill for late repair"),
    )
    .await
    .unwrap();
    let totals = balance(&app, &li.name).await;
    assert_eq!(
        (
            totals.balance,
            totals.lifetime_earned,
            totals.lifetime_redeemed,
            totals.lifetime_expired,
            totals.lifetime_spend_minor
        ),
        (5, 100, 30, 70, 5_000)
    );
    assert_eq!(totals.currency_code, "EUR");
    assert!(totals.last_entry_time.is_some());
    assert_eq!(app.events("LoyaltyEntryRecorded").await, 4);

    let status = app
        .client
        .clone()
        .delete_customer(app.req(
            &admin(),
            pb::DeleteCustomerRequest {
                name: li.name.clone(),
                etag: li.etag.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::FailedPrecondition,
        "a customer with a ledger stays"
    );
}

async fn concurrent_redemptions_never_overdraw(db: TestDatabase) {
    let app = spawn_app(db).await;
    let li = app.create(customer("Li Wei")).await;
    record(&app, &li.name, entry(Kind::Earn, 100, "Welcome bonus"))
        .await
        .unwrap();
    let calls = (0..10).map(|_| record(&app, &li.name, entry(Kind::Redeem, -30, "Voucher")));
    let results = futures::future::join_all(calls).await;
    let granted = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(granted, 3);
    for refused in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(refused.code(), Code::FailedPrecondition);
    }
    assert_eq!(balance(&app, &li.name).await.balance, 10);
    assert_eq!(app.count("loyalty_entries").await, 4);
}

async fn a_retried_entry_counts_once(db: TestDatabase) {
    let app = spawn_app(db).await;
    let li = app.create(customer("Li Wei")).await;
    let request_id = uuid::Uuid::new_v4().to_string();
    let orders = Principal::service("orders");
    let calls = (0..5).map(|_| {
        record_as(
            &app,
            &orders,
            &li.name,
            entry(Kind::Earn, 50, "Survey answered"),
            &request_id,
        )
    });
    let names: std::collections::HashSet<String> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.expect("every retry succeeds").entry.unwrap().name)
        .collect();
    assert_eq!(names.len(), 1);
    assert_eq!(balance(&app, &li.name).await.balance, 50);
    assert_eq!(app.count("loyalty_entries").await, 1);
    assert_eq!(app.events("LoyaltyEntryRecorded").await, 1);
}

async fn bad_entries_name_every_bad_field_and_write_nothing(db: TestDatabase) {
    let app = spawn_app(db).await;
    let li = app.create(customer("Li Wei")).await;
    let mut bad = entry(Kind::Redeem, 10, "");
    bad.spend_minor = 100;
    bad.reference = "r".repeat(201);
    let status = record_as(&app, &admin(), "customers/nope", bad, "nope")
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&status),
        [
            "parent",
            "request_id",
            "entry.points",
            "entry.reason",
            "entry.reference",
            "entry.spend_minor"
        ]
    );
    let status = record(&app, &li.name, entry(Kind::Unspecified, 10, "x"))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["entry.kind"]);
    let status = record(&app, &li.name, entry(Kind::Adjust, 0, "x"))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["entry.points"]);
    for principal in [agent("eu-west"), as_customer(&li.name)] {
        let status = record_as(&app, &principal, &li.name, entry(Kind::Earn, 10, "x"), "")
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
    }
    assert_eq!(app.count("loyalty_entries").await, 0);
    assert_eq!(balance(&app, &li.name).await.balance, 0);
}

async fn entries_list_newest_first_and_customers_read_only_their_own(db: TestDatabase) {
    let app = spawn_app(db).await;
    let li = app.create(customer("Li Wei")).await;
    let other = app.create(customer("Other")).await;
    for points in [10, 20, 30] {
        record(&app, &li.name, entry(Kind::Earn, points, "Purchase"))
            .await
            .unwrap();
    }
    record(&app, &li.name, entry(Kind::Redeem, -5, "Voucher"))
        .await
        .unwrap();
    let list =
        |principal: Principal, parent: &str, page_size: i32, page_token: String, filter: &str| {
            app.req(
                &principal,
                pb::ListLoyaltyEntriesRequest {
                    parent: parent.into(),
                    page_size,
                    page_token,
                    filter: filter.into(),
                },
            )
        };
    let mut client = app.client.clone();
    let mut points = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_loyalty_entries(list(as_customer(&li.name), &li.name, 3, token, ""))
            .await
            .unwrap()
            .into_inner();
        points.extend(page.entries.iter().map(|e| e.points));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(points, [-5, 30, 20, 10]);
    let redeemed = client
        .list_loyalty_entries(list(admin(), &li.name, 0, String::new(), "kind = REDEEM"))
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(redeemed.len(), 1);
    let status = client
        .list_loyalty_entries(list(
            as_customer(&other.name),
            &li.name,
            0,
            String::new(),
            "",
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = client
        .get_loyalty_balance(app.req(
            &as_customer(&other.name),
            pb::GetLoyaltyBalanceRequest {
                name: format!("{}/loyaltyBalance", li.name),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = client
        .get_loyalty_balance(app.req(
            &admin(),
            pb::GetLoyaltyBalanceRequest {
                name: li.name.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["name"]);
}

async fn a_merge_transfers_the_balance_with_a_pair_of_adjustments(db: TestDatabase) {
    let app = spawn_app(db).await;
    let survivor = app.create(customer("Li Wei")).await;
    let duplicate = app.create(customer("Wei Li")).await;
    record(&app, &survivor.name, entry(Kind::Earn, 10, "Purchase"))
        .await
        .unwrap();
    record(&app, &duplicate.name, entry(Kind::Earn, 40, "Purchase"))
        .await
        .unwrap();
    let merged = app
        .client
        .clone()
        .merge_customers(app.req(
            &lead(),
            pb::MergeCustomersRequest {
                survivor: survivor.name.clone(),
                merged: duplicate.name.clone(),
                survivor_etag: survivor.etag.clone(),
                merged_etag: duplicate.etag.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(merged.loyalty_points_transferred, 40);
    assert_eq!(balance(&app, &survivor.name).await.balance, 50);
    assert_eq!(balance(&app, &duplicate.name).await.balance, 0);
    assert_eq!(
        app.count("loyalty_entries").await,
        4,
        "both ledgers stay append-only"
    );
}

async fn loyalty_changes_reach_the_timeline(db: TestDatabase) {
    let app = spawn_app(db).await;
    let li = app.create(customer("Li Wei")).await;
    record(
        &app,
        &li.name,
        entry(Kind::Earn, 100, "Purchase order 4711"),
    )
    .await
    .unwrap();
    let mut summaries = Vec::new();
    for _ in 0..100 {
        summaries = app
            .client
            .clone()
            .list_timeline_entries(app.req(
                &admin(),
                pb::ListTimelineEntriesRequest {
                    parent: li.name.clone(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .timeline_entries
            .into_iter()
            .map(|e| e.summary)
            .collect();
        if !summaries.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        summaries,
        ["Loyalty points earned: +100 (Purchase order 4711)"]
    );
}

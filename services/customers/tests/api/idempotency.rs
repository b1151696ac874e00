//! Idempotency keys: scoped to (caller, method, parent), bound to their request.

use aftercare_platform::auth::Principal;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::common::v1::Channel;
use aftercare_proto::aftercare::customers::v1 as pb;
use tonic::Code;

use super::harness::{App, admin, as_customer, customer, lead, spawn_app};

aftercare_platform::on_both_databases!(
    another_callers_key_never_finds_the_first_callers_result,
    a_replay_returns_the_first_result_and_a_reused_key_for_another_request_is_refused,
    a_customers_identity_key_never_replays_another_customers_identity,
    a_reused_key_for_another_merge_or_erasure_is_refused_and_changes_nothing,
);

const KEY: &str = "0190a000-0000-7000-8000-00000000abcd";

async fn create_as(
    app: &App,
    principal: &Principal,
    display_name: &str,
) -> Result<pb::Customer, tonic::Status> {
    Ok(app
        .client
        .clone()
        .create_customer(app.req(
            principal,
            pb::CreateCustomerRequest {
                customer: Some(customer(display_name)),
                request_id: KEY.into(),
            },
        ))
        .await?
        .into_inner()
        .customer
        .unwrap())
}

async fn another_callers_key_never_finds_the_first_callers_result(db: TestDatabase) {
    let app = spawn_app(db).await;
    let first = create_as(&app, &admin(), "Li Wei").await.unwrap();
    // Another caller sending the same key makes their own customer and learns nothing of
    // the first.
    let second = create_as(&app, &lead(), "Anna Schmidt").await.unwrap();
    assert_ne!(second.name, first.name);
    assert_eq!(second.display_name, "Anna Schmidt");
    assert_eq!(app.count("customers").await, 2);
}

async fn a_replay_returns_the_first_result_and_a_reused_key_for_another_request_is_refused(
    db: TestDatabase,
) {
    let app = spawn_app(db).await;
    let first = create_as(&app, &admin(), "Li Wei").await.unwrap();
    let again = create_as(&app, &admin(), "Li Wei").await.unwrap();
    assert_eq!(again.name, first.name);
    let events = app.count("aftercare_outbox").await;
    let status = create_as(&app, &admin(), "Someone else").await.unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    assert_eq!(app.count("customers").await, 1);
    assert_eq!(app.count("aftercare_outbox").await, events);
}

async fn a_customers_identity_key_never_replays_another_customers_identity(db: TestDatabase) {
    let app = spawn_app(db).await;
    let a = app.create(customer("A")).await;
    let b = app.create(customer("B")).await;
    let add = |principal: Principal, parent: String, handle: &str| {
        let request = app.req(
            &principal,
            pb::AddIdentityRequest {
                parent,
                identity: Some(pb::CustomerIdentity {
                    channel: Channel::Email as i32,
                    handle: handle.into(),
                    ..Default::default()
                }),
                request_id: KEY.into(),
            },
        );
        let mut client = app.client.clone();
        async move {
            client
                .add_identity(request)
                .await
                .map(|r| r.into_inner().identity.unwrap())
        }
    };
    let mine = add(as_customer(&a.name), a.name.clone(), "a@example.com")
        .await
        .unwrap();
    let theirs = add(as_customer(&b.name), b.name.clone(), "b@example.com")
        .await
        .unwrap();
    assert!(theirs.name.starts_with(&b.name), "{}", theirs.name);
    assert_eq!(theirs.handle, "b@example.com");
    // A cannot replay their key against B's record (refused before anything is read).
    let status = add(as_customer(&a.name), b.name.clone(), "a@example.com")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let replay = add(as_customer(&a.name), a.name.clone(), "a@example.com")
        .await
        .unwrap();
    assert_eq!(replay.name, mine.name);
    let status = add(as_customer(&a.name), a.name.clone(), "other@example.com")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    assert_eq!(app.count("identities").await, 2);
}

async fn a_reused_key_for_another_merge_or_erasure_is_refused_and_changes_nothing(
    db: TestDatabase,
) {
    let app = spawn_app(db).await;
    let survivor = app.create(customer("Li Wei")).await;
    let merged = app.create(customer("Wei Li")).await;
    let other = app.create(customer("Li W.")).await;
    let merge = |merged: &pb::Customer| {
        let request = app.req(
            &lead(),
            pb::MergeCustomersRequest {
                survivor: survivor.name.clone(),
                merged: merged.name.clone(),
                survivor_etag: survivor.etag.clone(),
                merged_etag: merged.etag.clone(),
                request_id: KEY.into(),
                ..Default::default()
            },
        );
        let mut client = app.client.clone();
        async move { client.merge_customers(request).await }
    };
    merge(&merged).await.unwrap();
    merge(&merged)
        .await
        .expect("a replay returns the first merge");
    let status = merge(&other).await.unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    let other_now = app.get(&other.name).await.unwrap();
    assert!(other_now.merged_into.is_empty());
    assert_eq!(other_now.etag, other.etag);

    let erase = |target: &pb::Customer, reason: &str| {
        let request = app.req(
            &admin(),
            pb::EraseCustomerRequest {
                name: target.name.clone(),
                etag: target.etag.clone(),
                reason: reason.into(),
                request_id: KEY.into(),
            },
        );
        let mut client = app.client.clone();
        async move { client.erase_customer(request).await }
    };
    erase(&other_now, "DSR-1").await.unwrap();
    let status = erase(&other_now, "DSR-2").await.unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    assert_eq!(app.count("erasures").await, 1);
}

//! Merging duplicate customers.

use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::common::v1::Channel;
use aftercare_proto::aftercare::customers::v1 as pb;
use tonic::Code;

use super::harness::{App, admin, agent, bad_fields, customer, lead, spawn_app};

aftercare_platform::on_both_databases!(
    a_merge_moves_identities_and_the_old_id_resolves_to_the_survivor,
    merges_settle_conflicts_by_policy_and_flatten_chains,
    a_retried_merge_returns_the_first_result,
    merges_need_a_manager_current_etags_and_live_customers,
);

fn merge_request(survivor: &pb::Customer, merged: &pb::Customer) -> pb::MergeCustomersRequest {
    pb::MergeCustomersRequest {
        survivor: survivor.name.clone(),
        merged: merged.name.clone(),
        survivor_etag: survivor.etag.clone(),
        merged_etag: merged.etag.clone(),
        attribute_policy: 0,
        request_id: String::new(),
    }
}

async fn merge(
    app: &App,
    request: pb::MergeCustomersRequest,
) -> Result<pb::MergeCustomersResponse, tonic::Status> {
    Ok(app
        .client
        .clone()
        .merge_customers(app.req(&lead(), request))
        .await?
        .into_inner())
}

async fn a_merge_moves_identities_and_the_old_id_resolves_to_the_survivor(db: TestDatabase) {
    let app = spawn_app(db).await;
    // Yesterday a phone call in Shanghai, today an email in Frankfurt: two records.
    let by_phone = app
        .resolve(Channel::Phone, "+86 138 0013 8000")
        .await
        .unwrap();
    let by_email = app
        .resolve(Channel::Email, "li.wei@example.com")
        .await
        .unwrap();
    let survivor = by_phone.customer.unwrap();
    let duplicate = by_email.customer.unwrap();

    let merged = merge(&app, merge_request(&survivor, &duplicate))
        .await
        .unwrap();
    assert_eq!(merged.identities_moved, 1);
    let gone = merged.merged.unwrap();
    assert_eq!(gone.merged_into, survivor.name);
    assert!(gone.merge_time.is_some());

    let resolved = app
        .resolve(Channel::Email, "LI.WEI@example.com")
        .await
        .unwrap();
    assert!(!resolved.created);
    assert_eq!(resolved.customer.unwrap().name, survivor.name);

    let stored = app.get(&duplicate.name).await.unwrap();
    assert_eq!(stored.merged_into, survivor.name);
    let followed = app
        .client
        .clone()
        .get_customer(app.req(
            &admin(),
            pb::GetCustomerRequest {
                name: duplicate.name.clone(),
                resolve_merged: true,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .customer
        .unwrap();
    assert_eq!(followed.name, survivor.name);

    let identities = app
        .client
        .clone()
        .list_identities(app.req(
            &admin(),
            pb::ListIdentitiesRequest {
                parent: survivor.name.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .identities;
    assert_eq!(identities.len(), 2);

    let listed = app
        .client
        .clone()
        .list_customers(app.req(&admin(), pb::ListCustomersRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .customers;
    assert_eq!(listed.len(), 1, "merged customers are left out by default");
    let with_merged = app
        .client
        .clone()
        .list_customers(app.req(
            &admin(),
            pb::ListCustomersRequest {
                show_merged: true,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .customers;
    assert_eq!(with_merged.len(), 2);
    assert_eq!(app.events("CustomersMerged").await, 1);

    let mut change = stored.clone();
    change.display_name = "Too late".into();
    let status = app
        .client
        .clone()
        .update_customer(app.req(
            &admin(),
            pb::UpdateCustomerRequest {
                customer: Some(change),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["display_name".into()],
                }),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
}

async fn merges_settle_conflicts_by_policy_and_flatten_chains(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut a = customer("Li Wei");
    a.attributes = [("card".to_owned(), "A".to_owned())].into();
    a.emails = vec![pb::CustomerEmail {
        address: "li@example.com".into(),
        label: String::new(),
        primary: true,
    }];
    let a = app.create(a).await;
    let mut b = customer("Wei Li");
    b.locale = "zh-CN".into();
    b.tier = pb::CustomerTier::Vip as i32;
    b.attributes = [("card".to_owned(), "B".to_owned())].into();
    b.emails = vec![pb::CustomerEmail {
        address: "wei@example.com".into(),
        label: String::new(),
        primary: true,
    }];
    let b = app.create(b).await;
    let c = app.create(customer("L. Wei")).await;

    let mut request = merge_request(&a, &b);
    request.attribute_policy = pb::MergeAttributePolicy::PreferMerged as i32;
    let first = merge(&app, request).await.unwrap();
    let a2 = first.survivor.unwrap();
    assert_eq!(a2.display_name, "Wei Li");
    assert_eq!(a2.locale, "zh-CN");
    assert_eq!(a2.attributes["card"], "B");
    assert_eq!(a2.tier, pb::CustomerTier::Vip as i32);
    assert_eq!(a2.emails.len(), 2);
    assert_eq!(a2.emails.iter().filter(|e| e.primary).count(), 1);
    assert_eq!(app.events("CustomerTierChanged").await, 1);

    // Now A itself turns out to be a duplicate of C: B must follow to C.
    let second = merge(&app, merge_request(&c, &a2)).await.unwrap();
    assert_eq!(second.repointed_customers, vec![b.name.clone()]);
    assert_eq!(app.get(&b.name).await.unwrap().merged_into, c.name);
    let c2 = second.survivor.unwrap();
    assert_eq!(
        c2.display_name, "L. Wei",
        "the survivor's name is kept by default"
    );
    assert_eq!(c2.tier, pb::CustomerTier::Vip as i32);
}

async fn a_retried_merge_returns_the_first_result(db: TestDatabase) {
    let app = spawn_app(db).await;
    let a = app
        .resolve(Channel::Email, "a@example.com")
        .await
        .unwrap()
        .customer
        .unwrap();
    let b = app
        .resolve(Channel::Email, "b@example.com")
        .await
        .unwrap()
        .customer
        .unwrap();
    let mut request = merge_request(&a, &b);
    request.request_id = uuid::Uuid::new_v4().to_string();
    let calls = (0..4).map(|_| merge(&app, request.clone()));
    let results = futures::future::join_all(calls).await;
    for result in &results {
        let response = result.as_ref().expect("every retry succeeds");
        assert_eq!(response.identities_moved, 1);
        assert_eq!(response.merged.as_ref().unwrap().merged_into, a.name);
    }
    assert_eq!(app.events("CustomersMerged").await, 1);
}

async fn merges_need_a_manager_current_etags_and_live_customers(db: TestDatabase) {
    let app = spawn_app(db).await;
    let a = app.create(customer("A")).await;
    let b = app.create(customer("B")).await;
    let c = app.create(customer("C")).await;
    let status = app
        .client
        .clone()
        .merge_customers(app.req(&agent("eu-west"), merge_request(&a, &b)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    let mut stale = merge_request(&a, &b);
    stale.merged_etag = "41".into();
    assert_eq!(
        merge(&app, stale).await.unwrap_err().code(),
        Code::FailedPrecondition
    );

    let status = merge(&app, merge_request(&a, &a)).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["merged"]);
    let status = merge(
        &app,
        pb::MergeCustomersRequest {
            survivor: "customers/nope".into(),
            attribute_policy: 9,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(
        bad_fields(&status),
        [
            "survivor",
            "merged",
            "survivor_etag",
            "merged_etag",
            "attribute_policy"
        ]
    );

    merge(&app, merge_request(&a, &b)).await.unwrap();
    let b_now = app.get(&b.name).await.unwrap();
    let a_now = app.get(&a.name).await.unwrap();
    let status = merge(&app, merge_request(&c, &b_now)).await.unwrap_err();
    assert_eq!(
        status.code(),
        Code::FailedPrecondition,
        "a merged customer cannot merge again"
    );
    assert_eq!(app.get(&c.name).await.unwrap(), c);
    assert_eq!(app.get(&a.name).await.unwrap(), a_now);
    assert_eq!(app.events("CustomersMerged").await, 1);
}

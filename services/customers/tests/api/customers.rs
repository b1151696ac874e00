//! Customers: create, get, list, update, delete; validation and authorisation.

use std::collections::HashSet;

use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::common::v1::Channel;
use aftercare_proto::aftercare::customers::v1 as pb;
use prost_types::FieldMask;
use tonic::Code;

use super::harness::{admin, agent, as_customer, bad_fields, customer, lead, spawn_app};

aftercare_platform::on_both_databases!(
    a_created_customer_reads_back_normalised_with_defaults,
    concurrent_creates_with_one_request_id_make_one_customer,
    bad_input_names_every_bad_field_and_writes_nothing,
    an_unknown_organisation_is_refused,
    update_changes_only_the_masked_fields_and_publishes_events,
    stale_etag_is_refused_and_nothing_changes,
    update_masks_naming_output_only_or_unknown_fields_are_refused,
    a_customer_reads_and_edits_only_their_own_profile,
    agents_read_their_region_and_change_nothing,
    list_filters_matches_text_and_pages_without_gaps_or_repeats,
    delete_needs_the_current_etag_and_a_manager,
    calls_without_a_signed_principal_are_unauthenticated,
);

fn full_customer() -> pb::Customer {
    pb::Customer {
        display_name: "  Li Wei ".into(),
        given_name: "Wei".into(),
        family_name: "Li".into(),
        locale: "zh-CN".into(),
        time_zone: "Asia/Shanghai".into(),
        region: "cn-east".into(),
        emails: vec![pb::CustomerEmail {
            address: " Li.Wei@Example.COM".into(),
            label: "work".into(),
            primary: true,
        }],
        phones: vec![pb::CustomerPhone {
            number: "138 0013 8000".into(),
            label: "mobile".into(),
            primary: true,
        }],
        addresses: vec![pb::CustomerAddress {
            address_lines: vec!["88 Century Avenue".into()],
            locality: "Shanghai".into(),
            country_code: "cn".into(),
            ..Default::default()
        }],
        attributes: [("preferred_contact_hours".to_owned(), "9-18".to_owned())].into(),
        internal_attributes: [("credit_hold".to_owned(), "no".to_owned())].into(),
        origin_channel: Channel::Phone as i32,
        ..Default::default()
    }
}

async fn a_created_customer_reads_back_normalised_with_defaults(db: TestDatabase) {
    let app = spawn_app(db).await;
    let created = app.create(full_customer()).await;
    assert!(created.name.starts_with("customers/"));
    assert_eq!(created.display_name, "Li Wei");
    assert_eq!(created.emails[0].address, "li.wei@example.com");
    assert_eq!(created.phones[0].number, "+8613800138000");
    assert_eq!(created.addresses[0].country_code, "CN");
    assert_eq!(created.tier, pb::CustomerTier::Standard as i32);
    assert_eq!(
        created.lifecycle_stage,
        pb::CustomerLifecycleStage::New as i32
    );
    assert_eq!(created.internal_attributes["credit_hold"], "no");
    assert!(!created.etag.is_empty());
    assert!(created.create_time.is_some() && created.update_time.is_some());
    let read = app.get(&created.name).await.unwrap();
    assert_eq!(read, created);
    assert_eq!(app.events("CustomerCreated").await, 1);
}

async fn concurrent_creates_with_one_request_id_make_one_customer(db: TestDatabase) {
    let app = spawn_app(db).await;
    let request_id = uuid::Uuid::new_v4().to_string();
    let calls = (0..8).map(|_| {
        let mut client = app.client.clone();
        let request = app.req(
            &admin(),
            pb::CreateCustomerRequest {
                customer: Some(customer("Anna Schmidt")),
                request_id: request_id.clone(),
            },
        );
        async move { client.create_customer(request).await }
    });
    let names: HashSet<String> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|result| result.expect("create").into_inner().customer.unwrap().name)
        .collect();
    assert_eq!(names.len(), 1);
    assert_eq!(app.count("customers").await, 1);
    assert_eq!(app.events("CustomerCreated").await, 1);
}

async fn bad_input_names_every_bad_field_and_writes_nothing(db: TestDatabase) {
    let app = spawn_app(db).await;
    let bad = pb::Customer {
        display_name: " ".into(),
        locale: "english please".into(),
        time_zone: "Mars/Olympus".into(),
        region: "EU West".into(),
        emails: vec![pb::CustomerEmail {
            address: "not-an-email".into(),
            ..Default::default()
        }],
        phones: vec![pb::CustomerPhone {
            number: "0151 1234 5678".into(),
            ..Default::default()
        }],
        addresses: vec![pb::CustomerAddress {
            country_code: "Germany".into(),
            ..Default::default()
        }],
        organisation: "acme".into(),
        tier: 42,
        attributes: [("Bad Key".to_owned(), "v".to_owned())].into(),
        ..Default::default()
    };
    let status = app
        .client
        .clone()
        .create_customer(app.req(
            &admin(),
            pb::CreateCustomerRequest {
                customer: Some(bad),
                request_id: "not-a-uuid".into(),
            },
        ))
        .await
        .unwrap_err();
    let fields = bad_fields(&status);
    for expected in [
        "request_id",
        "customer.display_name",
        "customer.locale",
        "customer.time_zone",
        "customer.region",
        "customer.emails[0].address",
        "customer.phones[0].number",
        "customer.addresses[0].address_lines",
        "customer.addresses[0].country_code",
        "customer.organisation",
        "customer.tier",
        "customer.attributes.Bad Key",
    ] {
        assert!(
            fields.iter().any(|f| f == expected),
            "{expected} missing from {fields:?}"
        );
    }
    let status = app
        .client
        .clone()
        .create_customer(app.req(&admin(), pb::CreateCustomerRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["customer"]);
    assert_eq!(app.count("customers").await, 0);
    assert_eq!(app.count("aftercare_outbox").await, 0);
}

async fn an_unknown_organisation_is_refused(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut with_org = customer("Contoso buyer");
    with_org.organisation = format!("organisations/{}", uuid::Uuid::now_v7());
    let status = app
        .client
        .clone()
        .create_customer(app.req(
            &admin(),
            pb::CreateCustomerRequest {
                customer: Some(with_org),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["customer.organisation"]);
    assert_eq!(app.count("customers").await, 0);
}

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

async fn update(
    app: &super::harness::App,
    principal: &aftercare_platform::auth::Principal,
    customer: pb::Customer,
    paths: &[&str],
) -> Result<pb::Customer, tonic::Status> {
    Ok(app
        .client
        .clone()
        .update_customer(app.req(
            principal,
            pb::UpdateCustomerRequest {
                customer: Some(customer),
                update_mask: mask(paths),
            },
        ))
        .await?
        .into_inner()
        .customer
        .unwrap())
}

async fn update_changes_only_the_masked_fields_and_publishes_events(db: TestDatabase) {
    let app = spawn_app(db).await;
    let created = app.create(full_customer()).await;
    let mut change = created.clone();
    change.display_name = "Li Wei (VIP)".into();
    change.given_name = "ignored: not in the mask".into();
    change.tier = pb::CustomerTier::Vip as i32;
    change.attributes = [("vip_note".to_owned(), "prefers WeChat".to_owned())].into();
    let updated = update(
        &app,
        &lead(),
        change,
        &[
            "display_name",
            "tier",
            "attributes.vip_note",
            "attributes.preferred_contact_hours",
        ],
    )
    .await
    .unwrap();
    assert_eq!(updated.display_name, "Li Wei (VIP)");
    assert_eq!(updated.given_name, "Wei");
    assert_eq!(updated.tier, pb::CustomerTier::Vip as i32);
    assert_eq!(updated.attributes.len(), 1, "{:?}", updated.attributes);
    assert_eq!(updated.attributes["vip_note"], "prefers WeChat");
    assert_ne!(updated.etag, created.etag);
    assert_eq!(app.get(&created.name).await.unwrap(), updated);
    assert_eq!(app.events("CustomerUpdated").await, 1);
    assert_eq!(app.events("CustomerTierChanged").await, 1);

    // Sending the current values changes nothing and keeps the etag.
    let same = update(&app, &lead(), updated.clone(), &["display_name"])
        .await
        .unwrap();
    assert_eq!(same.etag, updated.etag);
    assert_eq!(app.events("CustomerUpdated").await, 1);
}

async fn stale_etag_is_refused_and_nothing_changes(db: TestDatabase) {
    let app = spawn_app(db).await;
    let created = app.create(customer("Anna Schmidt")).await;
    let mut first = created.clone();
    first.display_name = "Anna S.".into();
    update(&app, &admin(), first, &["display_name"])
        .await
        .unwrap();
    let mut stale = created.clone();
    stale.display_name = "Anna Schmidt-Meyer".into();
    let status = update(&app, &admin(), stale, &["display_name"])
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(
        app.get(&created.name).await.unwrap().display_name,
        "Anna S."
    );
    let mut garbage = created.clone();
    garbage.etag = "W/\"nope\"".into();
    let status = update(&app, &admin(), garbage, &["display_name"])
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
}

async fn update_masks_naming_output_only_or_unknown_fields_are_refused(db: TestDatabase) {
    let app = spawn_app(db).await;
    let created = app.create(customer("Anna Schmidt")).await;
    for paths in [
        &["etag"][..],
        &["merged_into"],
        &["origin_channel"],
        &["colour"],
        &[],
    ] {
        let status = update(&app, &admin(), created.clone(), paths)
            .await
            .unwrap_err();
        assert_eq!(bad_fields(&status), ["update_mask"], "{paths:?}");
    }
    let mut bad = created.clone();
    bad.tier = 0;
    bad.display_name = String::new();
    bad.etag = String::new();
    let status = update(&app, &admin(), bad, &["tier", "display_name"])
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&status),
        ["customer.etag", "customer.tier", "customer.display_name"]
    );
    assert_eq!(app.get(&created.name).await.unwrap(), created);
}

async fn a_customer_reads_and_edits_only_their_own_profile(db: TestDatabase) {
    let app = spawn_app(db).await;
    let me = app.create(full_customer()).await;
    let other = app.create(customer("Someone Else")).await;
    let caller = as_customer(&me.name);
    let mut client = app.client.clone();

    let mine = client
        .get_customer(app.req(
            &caller,
            pb::GetCustomerRequest {
                name: me.name.clone(),
                resolve_merged: false,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .customer
        .unwrap();
    assert!(
        mine.internal_attributes.is_empty(),
        "internal attributes leaked"
    );
    assert_eq!(mine.attributes.len(), 1);

    let status = client
        .get_customer(app.req(
            &caller,
            pb::GetCustomerRequest {
                name: other.name.clone(),
                resolve_merged: false,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    let mut change = mine.clone();
    change.display_name = "Wei".into();
    let renamed = update(&app, &caller, change.clone(), &["display_name"])
        .await
        .unwrap();
    assert_eq!(renamed.display_name, "Wei");

    for path in [
        "tier",
        "internal_attributes",
        "internal_attributes.credit_hold",
        "lifecycle_stage",
    ] {
        let mut change = renamed.clone();
        change.tier = pb::CustomerTier::Vip as i32;
        change.lifecycle_stage = pb::CustomerLifecycleStage::Active as i32;
        let status = update(&app, &caller, change, &[path]).await.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{path}");
    }
    let mut theirs = other.clone();
    theirs.display_name = "Hijacked".into();
    let status = update(&app, &caller, theirs, &["display_name"])
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    let status = client
        .list_customers(app.req(&caller, pb::ListCustomersRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = client
        .create_customer(app.req(
            &caller,
            pb::CreateCustomerRequest {
                customer: Some(customer("Sock puppet")),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let admin_view = app.get(&me.name).await.unwrap();
    assert_eq!(admin_view.internal_attributes["credit_hold"], "no");
    assert_eq!(admin_view.tier, pb::CustomerTier::Standard as i32);
    assert_eq!(
        app.get(&other.name).await.unwrap().display_name,
        "Someone Else"
    );
}

async fn agents_read_their_region_and_change_nothing(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut berlin = customer("Anna Schmidt");
    berlin.region = "eu-west".into();
    let berlin = app.create(berlin).await;
    let mut shanghai = customer("Li Wei");
    shanghai.region = "cn-east".into();
    let shanghai = app.create(shanghai).await;
    let unassigned = app.create(customer("Walk-in")).await;
    let ada = agent("eu-west");
    let mut client = app.client.clone();

    let get = |name: &str| {
        app.req(
            &ada,
            pb::GetCustomerRequest {
                name: name.into(),
                resolve_merged: false,
            },
        )
    };
    assert!(client.get_customer(get(&berlin.name)).await.is_ok());
    assert!(client.get_customer(get(&unassigned.name)).await.is_ok());
    let status = client.get_customer(get(&shanghai.name)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    let listed: HashSet<String> = client
        .list_customers(app.req(&ada, pb::ListCustomersRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .customers
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(
        listed,
        HashSet::from([berlin.name.clone(), unassigned.name.clone()])
    );

    let mut change = berlin.clone();
    change.display_name = "Changed by an agent".into();
    let status = update(&app, &ada, change, &["display_name"])
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = client
        .create_customer(app.req(
            &ada,
            pb::CreateCustomerRequest {
                customer: Some(customer("New")),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(app.count("customers").await, 3);
}

async fn list_all(
    app: &super::harness::App,
    request: pb::ListCustomersRequest,
) -> Result<Vec<pb::Customer>, tonic::Status> {
    Ok(app
        .client
        .clone()
        .list_customers(app.req(&admin(), request))
        .await?
        .into_inner()
        .customers)
}

async fn list_filters_matches_text_and_pages_without_gaps_or_repeats(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut vip = full_customer();
    vip.tier = pb::CustomerTier::Vip as i32;
    let vip = app.create(vip).await;
    let mut names = vec![vip.name.clone()];
    for i in 0..6 {
        let mut c = customer(&format!("Customer {i}"));
        c.region = if i % 2 == 0 { "eu-west" } else { "us-east" }.into();
        names.push(app.create(c).await.name);
    }

    let filtered = list_all(
        &app,
        pb::ListCustomersRequest {
            filter: "tier = VIP".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(filtered.len(), 1);
    assert_eq!(filtered[0].name, vip.name);
    let europe = list_all(
        &app,
        pb::ListCustomersRequest {
            filter:
                r#"region = "eu-west" AND tier != VIP AND create_time > "2020-01-01T00:00:00Z""#
                    .into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(europe.len(), 3);

    for query in ["EXAMPLE.com", "li wei", "+86 138-0013-8000", "13800138"] {
        let found = list_all(
            &app,
            pb::ListCustomersRequest {
                query: query.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(found.len(), 1, "{query}");
        assert_eq!(found[0].name, vip.name, "{query}");
    }

    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = app
            .client
            .clone()
            .list_customers(app.req(
                &admin(),
                pb::ListCustomersRequest {
                    page_size: 3,
                    page_token: token.clone(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(page.customers.len() <= 3);
        seen.extend(page.customers.into_iter().map(|c| c.name));
        if seen.len() == 3 {
            // An insert between pages does not shift the pages that follow.
            app.create(customer("Late arrival")).await;
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    names.reverse();
    assert_eq!(seen, names, "newest first, every customer once");

    let status = list_all(
        &app,
        pb::ListCustomersRequest {
            filter: "colour = RED".into(),
            page_token: "garbage".into(),
            page_size: -1,
            query: "x".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(
        bad_fields(&status),
        ["filter", "query", "page_size", "page_token"]
    );
}

async fn delete_needs_the_current_etag_and_a_manager(db: TestDatabase) {
    let app = spawn_app(db).await;
    let created = app.create(customer("Mistake")).await;
    app.resolve(Channel::Email, "mistake@example.com")
        .await
        .unwrap();
    let delete = |principal: aftercare_platform::auth::Principal, etag: &str| {
        app.req(
            &principal,
            pb::DeleteCustomerRequest {
                name: created.name.clone(),
                etag: etag.into(),
            },
        )
    };
    let mut client = app.client.clone();
    let status = client
        .delete_customer(delete(agent("eu-west"), &created.etag))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = client
        .delete_customer(delete(admin(), "999"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    client
        .delete_customer(delete(admin(), &created.etag))
        .await
        .unwrap();
    assert_eq!(
        app.get(&created.name).await.unwrap_err().code(),
        Code::NotFound
    );
    let status = client
        .delete_customer(delete(admin(), &created.etag))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(app.count("customers").await, 1);
}

async fn calls_without_a_signed_principal_are_unauthenticated(db: TestDatabase) {
    let app = spawn_app(db).await;
    let status = app
        .client
        .clone()
        .list_customers(pb::ListCustomersRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
}

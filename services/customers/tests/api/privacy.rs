//! Data export and erasure.

use aftercare_customers::{TIMELINE_CONSUMER, TimelineProjection};
use aftercare_platform::auth::Principal;
use aftercare_platform::events::{Event, decode_payload, handle};
use aftercare_platform::testing::TestDatabase;
use aftercare_platform::time::to_timestamp;
use aftercare_proto::aftercare::common::v1::Channel;
use aftercare_proto::aftercare::customers::v1 as pb;
use aftercare_proto::aftercare::events::v1::{CustomerErased, TicketCreated, TicketSnapshot};
use prost::{Message as _, Name as _};
use sqlx::Row as _;
use tonic::Code;

use super::harness::{App, admin, agent, as_customer, bad_fields, customer, lead, spawn_app};

aftercare_platform::on_both_databases!(
    an_export_holds_everything_about_the_customer,
    an_export_through_a_merged_record_needs_a_caller_who_reaches_the_survivor,
    erasure_leaves_nothing_personal_and_keeps_the_statistics,
    erasure_needs_a_manager_the_current_etag_and_a_live_survivor,
);

/// Every personal string the scenario stores.
const PERSONAL: &[&str] = &[
    "Li Wei",
    "li.wei@example.com",
    "+8613800138000",
    "wxid_liwei",
    "Purchase order 4711",
    "order:4711",
    "Washer leaks water",
    "Wei Li",
    "wei.li@example.com",
    "88 Century Avenue",
    "prefers WeChat",
];

/// A customer with everything: profile, identities, consent, ledger, timeline, and a merged
/// duplicate with its own identity. Returns (customer, duplicate) as they are at the end.
async fn rich_customer(app: &App) -> (pb::Customer, pb::Customer) {
    let mut li = customer("Li Wei");
    li.region = "cn-east".into();
    li.tier = pb::CustomerTier::Vip as i32;
    li.given_name = "Wei".into();
    li.family_name = "Li".into();
    li.emails = vec![pb::CustomerEmail {
        address: "li.wei@example.com".into(),
        label: String::new(),
        primary: true,
    }];
    li.addresses = vec![pb::CustomerAddress {
        address_lines: vec!["88 Century Avenue".into()],
        country_code: "CN".into(),
        ..Default::default()
    }];
    li.internal_attributes = [("vip_note".to_owned(), "prefers WeChat".to_owned())].into();
    let li = app.create(li).await;
    let mut client = app.client.clone();
    for (channel, handle, provider) in [
        (Channel::Phone, "+86 138 0013 8000", ""),
        (Channel::Social, "wxid_liwei", "wechat"),
    ] {
        client
            .add_identity(app.req(
                &admin(),
                pb::AddIdentityRequest {
                    parent: li.name.clone(),
                    identity: Some(pb::CustomerIdentity {
                        channel: channel as i32,
                        handle: handle.into(),
                        provider: provider.into(),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
            ))
            .await
            .unwrap();
    }
    client
        .set_consent(app.req(
            &as_customer(&li.name),
            pb::SetConsentRequest {
                parent: li.name.clone(),
                channel: Channel::Email as i32,
                purpose: pb::ConsentPurpose::Marketing as i32,
                state: pb::ConsentState::Granted as i32,
                source: "portal".into(),
                decide_time: None,
            },
        ))
        .await
        .unwrap();
    client
        .record_loyalty_entry(app.req(
            &Principal::service("orders"),
            pb::RecordLoyaltyEntryRequest {
                parent: li.name.clone(),
                entry: Some(pb::LoyaltyEntry {
                    kind: pb::LoyaltyEntryKind::Earn as i32,
                    points: 120,
                    reason: "Purchase order 4711".into(),
                    reference: "order:4711".into(),
                    spend_minor: 9_900,
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap();
    let ticket = TicketCreated {
        ticket: Some(TicketSnapshot {
            name: "tickets/1".into(),
            number: 1,
            customer: li.name.clone(),
            channel: Channel::Phone as i32,
            region: "cn-east".into(),
            subject: "Washer leaks water".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let event = Event {
        id: uuid::Uuid::now_v7().to_string(),
        r#type: TicketCreated::full_name(),
        source: "tickets".into(),
        subject: "tickets/1".into(),
        time: Some(to_timestamp(1_750_000_000_000_000)),
        trace_context: Default::default(),
        payload: Some(prost_types::Any::from_msg(&ticket).unwrap()),
    };
    handle(
        app.service.db(),
        TIMELINE_CONSUMER,
        &event,
        &TimelineProjection,
    )
    .await
    .unwrap();

    // The loyalty and consent events reach the timeline through the relay: wait for them.
    for _ in 0..100 {
        let entries = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM timeline_entries")
            .fetch_one(app.service.db().reader())
            .await
            .unwrap();
        if entries == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let mut dup = customer("Wei Li");
    dup.emails = vec![pb::CustomerEmail {
        address: "wei.li@example.com".into(),
        label: String::new(),
        primary: false,
    }];
    let dup = app.create(dup).await;
    let li = app.get(&li.name).await.unwrap();
    client
        .merge_customers(app.req(
            &lead(),
            pb::MergeCustomersRequest {
                survivor: li.name.clone(),
                merged: dup.name.clone(),
                survivor_etag: li.etag.clone(),
                merged_etag: dup.etag.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    (
        app.get(&li.name).await.unwrap(),
        app.get(&dup.name).await.unwrap(),
    )
}

async fn export(
    app: &App,
    principal: &Principal,
    name: &str,
) -> Result<pb::ExportCustomerDataResponse, tonic::Status> {
    Ok(app
        .client
        .clone()
        .export_customer_data(app.req(
            principal,
            pb::ExportCustomerDataRequest { name: name.into() },
        ))
        .await?
        .into_inner())
}

async fn an_export_holds_everything_about_the_customer(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (li, dup) = rich_customer(&app).await;
    let data = export(&app, &as_customer(&li.name), &li.name)
        .await
        .unwrap();
    let exported = data.customer.unwrap();
    assert!(
        exported.internal_attributes.is_empty(),
        "internal attributes are staff-only, also in the customer's own export"
    );
    let staff = export(&app, &admin(), &li.name).await.unwrap();
    assert_eq!(
        staff.customer.unwrap().internal_attributes["vip_note"],
        "prefers WeChat"
    );
    assert_eq!(exported.emails.len(), 2, "the duplicate's email moved in");
    assert_eq!(data.identities.len(), 2);
    assert_eq!(data.consents.len(), 1);
    assert_eq!(data.loyalty_balance.unwrap().balance, 120);
    assert_eq!(data.loyalty_entries.len(), 1);
    assert_eq!(data.loyalty_entries[0].reason, "Purchase order 4711");
    assert_eq!(
        data.timeline_entries.len(),
        3,
        "ticket, loyalty and consent"
    );
    assert_eq!(data.merged_customers, vec![dup.name.clone()]);
    assert!(data.export_time.is_some());

    let via_old_id = export(&app, &admin(), &dup.name).await.unwrap();
    assert_eq!(via_old_id.customer.unwrap().name, li.name);
    for principal in [agent("cn-east"), as_customer(&dup.name)] {
        let status = export(&app, &principal, &li.name).await.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
    }
    let status = export(&app, &admin(), "customers/").await.unwrap_err();
    assert_eq!(bad_fields(&status), ["name"]);
}

async fn an_export_through_a_merged_record_needs_a_caller_who_reaches_the_survivor(
    db: TestDatabase,
) {
    let app = spawn_app(db).await;
    let (li, dup) = rich_customer(&app).await;
    // The duplicate's principal names the merged record only: following `merged_into` to
    // the survivor is refused, and nothing of the survivor's data comes back.
    let status = export(&app, &as_customer(&dup.name), &dup.name)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(!status.message().contains("Li Wei"));
    let via_old_id = export(&app, &lead(), &dup.name).await.unwrap();
    assert_eq!(via_old_id.customer.unwrap().name, li.name);
}

async fn erase(
    app: &App,
    principal: &Principal,
    customer: &pb::Customer,
    request_id: &str,
) -> Result<pb::EraseCustomerResponse, tonic::Status> {
    Ok(app
        .client
        .clone()
        .erase_customer(app.req(
            principal,
            pb::EraseCustomerRequest {
                name: customer.name.clone(),
                etag: customer.etag.clone(),
                reason: "DSR-2025-0042".into(),
                request_id: request_id.into(),
            },
        ))
        .await?
        .into_inner())
}

/// Every text column of the service's own tables, one string per row.
async fn stored_text(app: &App) -> Vec<String> {
    let queries = [
        "SELECT display_name || given_name || family_name || locale || time_zone || emails || phones || addresses || attributes || internal_attributes || search_text AS t FROM customers",
        "SELECT handle || provider AS t FROM identities",
        "SELECT source || actor_name AS t FROM consents",
        "SELECT reason || reference || actor_name AS t FROM loyalty_entries",
        "SELECT summary || subject || actor_name AS t FROM timeline_entries",
        "SELECT outcome AS t FROM erasures",
        "SELECT repointed AS t FROM merges",
    ];
    let mut text = Vec::new();
    for query in queries {
        for row in sqlx::query(query)
            .fetch_all(app.service.db().reader())
            .await
            .unwrap()
        {
            text.push(row.try_get::<String, _>("t").unwrap());
        }
    }
    text
}

async fn erasure_leaves_nothing_personal_and_keeps_the_statistics(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (li, dup) = rich_customer(&app).await;
    let request_id = uuid::Uuid::new_v4().to_string();
    let erased = erase(&app, &admin(), &li, &request_id).await.unwrap();
    assert_eq!(erased.identities_removed, 2);
    assert_eq!(erased.consents_removed, 1);
    assert_eq!(erased.loyalty_entries_anonymised, 1);
    assert_eq!(erased.timeline_entries_anonymised, 3);
    for field in [
        "display_name",
        "given_name",
        "family_name",
        "emails",
        "addresses",
        "internal_attributes",
    ] {
        assert!(
            erased.cleared_fields.iter().any(|f| f == field),
            "{field} not cleared"
        );
    }
    assert!(erased.kept_fields.iter().any(|f| f == "tier"));

    let now = app.get(&li.name).await.unwrap();
    assert!(now.erased && now.erase_time.is_some());
    assert_eq!(now.display_name, "Erased customer");
    assert!(
        now.emails.is_empty() && now.addresses.is_empty() && now.internal_attributes.is_empty()
    );
    assert_eq!(
        (now.region.as_str(), now.tier),
        ("cn-east", pb::CustomerTier::Vip as i32)
    );
    assert!(app.get(&dup.name).await.unwrap().erased);

    for text in stored_text(&app).await {
        for personal in PERSONAL {
            assert!(
                !text.contains(personal),
                "`{personal}` survived erasure in `{text}`"
            );
        }
    }
    // Statistics stay: the ledger's points and the timeline's shape.
    let data = export(&app, &admin(), &li.name).await.unwrap();
    assert_eq!(data.loyalty_balance.unwrap().lifetime_earned, 120);
    assert_eq!(data.loyalty_entries[0].points, 120);
    assert_eq!(data.timeline_entries.len(), 3);
    assert!(data.timeline_entries.iter().any(|e| e.region == "cn-east"));
    assert!(
        data.timeline_entries
            .iter()
            .all(|e| e.summary.is_empty() && e.actor.is_none())
    );
    assert!(data.identities.is_empty() && data.consents.is_empty());

    let payload = sqlx::query("SELECT envelope FROM aftercare_outbox WHERE event_type = $1")
        .bind(CustomerErased::full_name())
        .fetch_one(app.service.db().reader())
        .await
        .unwrap()
        .try_get::<Vec<u8>, _>("envelope")
        .unwrap();
    let event = Event::decode(payload.as_slice()).unwrap();
    let erased_event: CustomerErased = decode_payload(&event).unwrap();
    assert_eq!(erased_event.customer, li.name);
    assert_eq!(erased_event.merged_customers, vec![dup.name.clone()]);
    assert_eq!(erased_event.reason, "DSR-2025-0042");

    // A retry returns the first result; the handles are free again.
    let retried = erase(&app, &admin(), &li, &request_id).await.unwrap();
    assert_eq!(retried.identities_removed, 2);
    let fresh = app.resolve(Channel::Phone, "13800138000").await.unwrap();
    assert!(fresh.created);
    assert_ne!(fresh.customer.unwrap().name, li.name);
}

async fn erasure_needs_a_manager_the_current_etag_and_a_live_survivor(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (li, dup) = rich_customer(&app).await;
    let status = erase(&app, &agent("cn-east"), &li, "").await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = erase(&app, &as_customer(&li.name), &li, "")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let mut stale = li.clone();
    stale.etag = "1".into();
    assert_eq!(
        erase(&app, &admin(), &stale, "").await.unwrap_err().code(),
        Code::FailedPrecondition
    );
    assert_eq!(
        erase(&app, &admin(), &dup, "").await.unwrap_err().code(),
        Code::FailedPrecondition
    );
    let status = app
        .client
        .clone()
        .erase_customer(app.req(
            &admin(),
            pb::EraseCustomerRequest {
                name: li.name.clone(),
                etag: String::new(),
                reason: " ".into(),
                request_id: "x".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["etag", "reason", "request_id"]);
    assert!(!app.get(&li.name).await.unwrap().erased);

    erase(&app, &admin(), &li, "").await.unwrap();
    let erased = app.get(&li.name).await.unwrap();
    assert_eq!(
        erase(&app, &admin(), &erased, "").await.unwrap_err().code(),
        Code::FailedPrecondition
    );
    let mut change = erased.clone();
    change.display_name = "Li Wei".into();
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

//! The loyalty ledger: record entries, list them, read the balance.

use aftercare_platform::auth::Principal;
use aftercare_platform::time::{now_micros, to_timestamp};
use aftercare_proto::aftercare::customers::v1 as pb;
use aftercare_proto::aftercare::events::v1::LoyaltyEntryRecorded;
use sqlx::{Any, Transaction};
use uuid::Uuid;

use super::Api;
use super::customers::load;
use super::parse::{GetBalance, ListLoyalty, RecordLoyalty};
use super::{access, access_to, check, check_request, remember, request_key};
use crate::convert;
use crate::domain::access::Action;
use crate::domain::customer::Customer;
use crate::domain::idempotency::RequestKey;
use crate::domain::loyalty::{CURRENCY_CODE, LoyaltyEntry, NewEntry, next_balance};
use crate::domain::names::customer_name;
use crate::domain::wire::Actor;
use crate::error::Error;
use crate::events::{publish, wire_actor};
use crate::store::{self, LoyaltyQuery};
use aftercare_platform::request::PageToken;

pub async fn record(
    api: &Api,
    principal: &Principal,
    request: RecordLoyalty,
) -> Result<pb::RecordLoyaltyEntryResponse, Error> {
    access(principal, Action::Create)?;
    let key = request_key(
        principal,
        "RecordLoyaltyEntry",
        &customer_name(request.customer),
        request.request_id.as_deref(),
        &request,
    );
    let scoped = key.as_ref().map(RequestKey::scoped);
    let request_id = scoped.as_deref();
    let mut tx = api.db.begin().await?;
    check_request(&mut tx, key.as_ref()).await?;
    let customer = load(&mut tx, request.customer).await?;
    if let Some(reason) = customer.frozen_reason() {
        return Err(Error::state(customer_name(customer.id), reason));
    }
    if let Some(request_id) = request_id
        && let Some(existing) = store::find_loyalty_by_request(&mut tx, request_id).await?
    {
        return recorded(&mut tx, &customer, &existing).await;
    }
    let entry = append(&mut tx, &customer, request.entry, principal, request_id).await?;
    let Some(entry) = entry else {
        // A concurrent retry with the same request id recorded it first.
        tx.rollback().await?;
        let mut conn = api.db.reader().acquire().await?;
        check_request(&mut conn, key.as_ref()).await?;
        let existing = store::find_loyalty_by_request(&mut conn, request_id.unwrap_or_default())
            .await?
            .ok_or_else(|| {
                Error::state(
                    customer_name(customer.id),
                    "a concurrent entry failed; retry",
                )
            })?;
        return recorded(&mut conn, &customer, &existing).await;
    };
    // Re-read: the entry locked the customer's row, so this is its latest version.
    let customer = load(&mut tx, customer.id).await?;
    let new_tier = store::reevaluate(&mut tx, &customer, principal).await?;
    let customer = load(&mut tx, customer.id).await?;
    let mut response = recorded(&mut tx, &customer, &entry).await?;
    response.new_tier = new_tier.map_or(0, |tier| tier as i32);
    remember(&mut tx, key.as_ref()).await?;
    tx.commit().await?;
    api.relay.wake();
    tracing::info!(customer = %customer.id, points = entry.entry.points, balance = entry.balance_after, "loyalty entry recorded");
    Ok(response)
}

/// Appends `entry` to `customer`'s ledger in `tx` and publishes it; `None` when
/// `request_id` was used concurrently. Refuses an entry that would overdraw the balance.
pub async fn append(
    tx: &mut Transaction<'static, Any>,
    customer: &Customer,
    entry: NewEntry,
    principal: &Principal,
    request_id: Option<&str>,
) -> Result<Option<LoyaltyEntry>, Error> {
    let name = customer_name(customer.id);
    let Some(balance_after) = store::add_points(tx, customer.id, entry.points).await? else {
        let balance = store::loyalty_balance(tx, customer.id).await?.balance;
        let reason = next_balance(balance, entry.points)
            .err()
            .unwrap_or_else(|| "the balance changed concurrently; retry".into());
        return Err(Error::FailedPrecondition {
            violation: "BALANCE",
            subject: name,
            description: reason,
        });
    };
    let entry = LoyaltyEntry {
        id: Uuid::now_v7(),
        customer: customer.id,
        entry,
        balance_after,
        actor: Some(Actor::of(principal)),
        create_time: now_micros(),
    };
    if !store::insert_loyalty_entry(tx, &entry, request_id).await? {
        return Ok(None);
    }
    let event = LoyaltyEntryRecorded {
        entry: format!("{name}/loyaltyEntries/{}", entry.id),
        customer: name.clone(),
        kind: entry.entry.kind as i32,
        points: entry.entry.points,
        balance_after,
        reason: entry.entry.reason.clone(),
        reference: entry.entry.reference.clone(),
        spend_minor: entry.entry.spend_minor,
        currency_code: CURRENCY_CODE.into(),
        actor: entry.actor.as_ref().map(wire_actor),
        create_time: Some(to_timestamp(entry.create_time)),
    };
    publish(tx, &name, &event).await?;
    Ok(Some(entry))
}

async fn recorded(
    conn: &mut store::Conn,
    customer: &Customer,
    entry: &LoyaltyEntry,
) -> Result<pb::RecordLoyaltyEntryResponse, Error> {
    let balance = store::loyalty_balance(conn, customer.id).await?;
    Ok(pb::RecordLoyaltyEntryResponse {
        entry: Some(convert::loyalty_entry(entry)),
        balance: Some(convert::loyalty_balance(
            customer.id,
            &balance,
            customer.profile.tier,
        )),
        new_tier: 0,
    })
}

pub async fn list(
    api: &Api,
    principal: &Principal,
    request: ListLoyalty,
) -> Result<pb::ListLoyaltyEntriesResponse, Error> {
    let access = access_to(principal, Action::Read, request.customer)?;
    let mut conn = api.db.reader().acquire().await?;
    let customer = load(&mut conn, request.customer).await?;
    check(&access, Action::Read, &customer)?;
    let query = LoyaltyQuery {
        customer: customer.id,
        conditions: request.conditions,
        before: request.before,
        limit: Some(request.page.size + 1),
    };
    let mut entries = store::list_loyalty(&mut conn, &query).await?;
    let next_page_token = request.page.finish(&mut entries, |last| {
        PageToken::int(last.create_time, last.id)
    });
    Ok(pb::ListLoyaltyEntriesResponse {
        entries: entries.iter().map(convert::loyalty_entry).collect(),
        next_page_token,
    })
}

pub async fn balance(
    api: &Api,
    principal: &Principal,
    request: GetBalance,
) -> Result<pb::GetLoyaltyBalanceResponse, Error> {
    let access = access_to(principal, Action::Read, request.customer)?;
    let mut conn = api.db.reader().acquire().await?;
    let customer = load(&mut conn, request.customer).await?;
    check(&access, Action::Read, &customer)?;
    let balance = store::loyalty_balance(&mut conn, customer.id).await?;
    Ok(pb::GetLoyaltyBalanceResponse {
        balance: Some(convert::loyalty_balance(
            customer.id,
            &balance,
            customer.profile.tier,
        )),
    })
}

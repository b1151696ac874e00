//! Merging a duplicate customer into a survivor.

use aftercare_platform::auth::Principal;
use aftercare_platform::time::{now_micros, to_timestamp};
use aftercare_proto::aftercare::customers::v1 as pb;
use aftercare_proto::aftercare::events::v1::{
    CustomerTierChangeCause, CustomerTierChanged, CustomerUpdated, CustomersMerged,
};

use sqlx::{Any, Transaction};

use super::Api;
use super::customers::load;
use super::parse::MergeCustomers;
use super::{access, check_request, remember, request_key};
use crate::convert;
use crate::domain::access::Action;
use crate::domain::consent::merge_consents;
use crate::domain::customer::Customer;
use crate::domain::idempotency::RequestKey;
use crate::domain::identity::IdentityKey;
use crate::domain::loyalty::{Kind, NewEntry};
use crate::domain::merge::merge;
use crate::domain::names::customer_name;
use crate::error::Error;
use crate::events::{actor, channel_identity, publish, snapshot};
use crate::store::{self, ConsentQuery, IdentityQuery, MergeRecord};

pub async fn merge_customers(
    api: &Api,
    principal: &Principal,
    request: MergeCustomers,
) -> Result<pb::MergeCustomersResponse, Error> {
    access(principal, Action::Manage)?;
    let key = request_key(
        principal,
        "MergeCustomers",
        &customer_name(request.survivor),
        request.request_id.as_deref(),
        &request,
    );
    let key = key.as_ref();
    if let Some(done) = previous(api, key).await? {
        return respond(api, &done).await;
    }
    match apply(api, principal, &request, key).await {
        Err(Error::StaleEtag(name)) => match previous(api, key).await? {
            // A concurrent retry of this very merge won the race.
            Some(done) => respond(api, &done).await,
            None => Err(Error::StaleEtag(name)),
        },
        result => result,
    }
}

/// The merge this caller made earlier with `key`; `ALREADY_EXISTS` when the key was used for
/// another merge.
async fn previous(api: &Api, key: Option<&RequestKey>) -> Result<Option<MergeRecord>, Error> {
    let Some(key) = key else {
        return Ok(None);
    };
    let mut conn = api.db.reader().acquire().await?;
    check_request(&mut conn, Some(key)).await?;
    Ok(store::find_merge_by_request(&mut conn, &key.scoped()).await?)
}

async fn apply(
    api: &Api,
    principal: &Principal,
    request: &MergeCustomers,
    key: Option<&RequestKey>,
) -> Result<pb::MergeCustomersResponse, Error> {
    let mut tx = api.db.begin().await?;
    let survivor = load(&mut tx, request.survivor).await?;
    let merged = load(&mut tx, request.merged).await?;
    for (customer, version) in [
        (&survivor, request.survivor_version),
        (&merged, request.merged_version),
    ] {
        let name = customer_name(customer.id);
        if customer.version != version {
            return Err(Error::StaleEtag(name));
        }
        if let Some(reason) = customer.frozen_reason() {
            return Err(Error::state(name, reason));
        }
    }
    let now = now_micros();
    let outcome = merge(&survivor, &merged, request.policy, now);
    let moved: Vec<IdentityKey> = store::list_identities(
        &mut tx,
        &IdentityQuery {
            customer: merged.id,
            conditions: Vec::new(),
            after: None,
            limit: None,
        },
    )
    .await?
    .into_iter()
    .map(|identity| identity.key)
    .collect();
    let identities_moved = store::move_identities(&mut tx, merged.id, survivor.id).await?;
    let timeline_entries_moved = store::move_timeline(&mut tx, merged.id, survivor.id).await?;
    let repointed = store::repoint_merged(&mut tx, merged.id, survivor.id).await?;
    move_consents(&mut tx, &merged, &survivor).await?;
    let loyalty_points_transferred =
        transfer_points(&mut tx, principal, &merged, &survivor).await?;
    let written = store::update_customer(&mut tx, &outcome.merged, merged.version).await?
        && store::update_customer(&mut tx, &outcome.survivor, survivor.version).await?;
    if !written {
        return Err(Error::StaleEtag(customer_name(survivor.id)));
    }
    let record = MergeRecord {
        survivor: survivor.id,
        merged: merged.id,
        identities_moved,
        timeline_entries_moved,
        loyalty_points_transferred,
        repointed,
        merge_time: now,
    };
    let scoped = key.map(RequestKey::scoped);
    if !store::insert_merge(&mut tx, &record, scoped.as_deref()).await? {
        return Err(Error::StaleEtag(customer_name(survivor.id)));
    }
    let survivor_name = customer_name(survivor.id);
    let actor = actor(principal);
    if !outcome.changed_fields.is_empty() {
        let event = CustomerUpdated {
            customer: Some(snapshot(&outcome.survivor)),
            changed_fields: outcome.changed_fields.clone(),
            actor: Some(actor.clone()),
        };
        publish(&mut tx, &survivor_name, &event).await?;
    }
    if outcome.survivor.profile.tier != survivor.profile.tier {
        let event = CustomerTierChanged {
            customer: survivor_name.clone(),
            previous_tier: survivor.profile.tier as i32,
            tier: outcome.survivor.profile.tier as i32,
            cause: CustomerTierChangeCause::Merge as i32,
            tier_rule: String::new(),
            actor: Some(actor.clone()),
            change_time: Some(to_timestamp(now)),
        };
        publish(&mut tx, &survivor_name, &event).await?;
    }
    let event = CustomersMerged {
        survivor: Some(snapshot(&outcome.survivor)),
        merged: customer_name(merged.id),
        repointed_customers: record
            .repointed
            .iter()
            .map(|id| customer_name(*id))
            .collect(),
        moved_identities: moved.iter().map(channel_identity).collect(),
        loyalty_points_transferred: record.loyalty_points_transferred,
        actor: Some(actor),
        merge_time: Some(to_timestamp(now)),
    };
    publish(&mut tx, &survivor_name, &event).await?;
    remember(&mut tx, key).await?;
    tx.commit().await?;
    api.relay.wake();
    tracing::info!(survivor = %survivor.id, merged = %merged.id, identities_moved, "customers merged");
    Ok(response(&outcome.survivor, &outcome.merged, &record))
}

/// Gives the survivor the merged customer's consent decisions where they are the latest.
async fn move_consents(
    tx: &mut Transaction<'static, Any>,
    merged: &Customer,
    survivor: &Customer,
) -> Result<(), Error> {
    let all = |customer| ConsentQuery {
        customer,
        conditions: Vec::new(),
        after: None,
        limit: None,
    };
    let mine = store::list_consents(tx, &all(survivor.id)).await?;
    let theirs = store::list_consents(tx, &all(merged.id)).await?;
    for consent in merge_consents(survivor.id, &mine, &theirs) {
        store::upsert_consent(tx, &consent).await?;
    }
    store::delete_consents(tx, merged.id).await?;
    Ok(())
}

/// Moves the merged customer's loyalty balance to the survivor as a pair of ADJUST entries,
/// so both ledgers stay append-only; returns the points moved.
async fn transfer_points(
    tx: &mut Transaction<'static, Any>,
    principal: &Principal,
    merged: &Customer,
    survivor: &Customer,
) -> Result<i64, Error> {
    let points = store::current_balance(tx, merged.id).await?;
    if points == 0 {
        return Ok(0);
    }
    let (merged_name, survivor_name) = (customer_name(merged.id), customer_name(survivor.id));
    let out = NewEntry {
        kind: Kind::Adjust,
        points: -points,
        reason: format!("Merged into {survivor_name}: balance transferred"),
        reference: survivor_name,
        spend_minor: 0,
    };
    let into = NewEntry {
        kind: Kind::Adjust,
        points,
        reason: format!("Merged {merged_name} in: balance transferred"),
        reference: merged_name,
        spend_minor: 0,
    };
    store::append_entry(tx, merged, out, principal, None).await?;
    store::append_entry(tx, survivor, into, principal, None).await?;
    Ok(points)
}

/// The response for a merge done earlier (a retry): the records as they are now.
async fn respond(api: &Api, record: &MergeRecord) -> Result<pb::MergeCustomersResponse, Error> {
    let mut conn = api.db.reader().acquire().await?;
    let survivor = load(&mut conn, record.survivor).await?;
    let merged = load(&mut conn, record.merged).await?;
    Ok(response(&survivor, &merged, record))
}

fn response(
    survivor: &Customer,
    merged: &Customer,
    record: &MergeRecord,
) -> pb::MergeCustomersResponse {
    pb::MergeCustomersResponse {
        survivor: Some(convert::customer(survivor, true)),
        merged: Some(convert::customer(merged, true)),
        identities_moved: i32::try_from(record.identities_moved).unwrap_or(i32::MAX),
        timeline_entries_moved: i32::try_from(record.timeline_entries_moved).unwrap_or(i32::MAX),
        loyalty_points_transferred: record.loyalty_points_transferred,
        repointed_customers: record
            .repointed
            .iter()
            .map(|id| customer_name(*id))
            .collect(),
    }
}

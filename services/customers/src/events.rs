//! The events the customers service publishes (through the outbox, in the transaction of
//! the change) and the payload pieces they share; and the events it consumes to build the
//! interaction timeline.

mod timeline;

use aftercare_platform::auth::Principal;
use aftercare_platform::events::{Event, EventHandler, SubscriptionFilter, append};
use aftercare_platform::time::{Micros, now_micros, to_timestamp};
use aftercare_proto::aftercare::common::v1::{Actor, ChannelIdentity};
use aftercare_proto::aftercare::events::v1::{
    ConsentChanged, CustomerCreated, CustomerErased, CustomerIdentityAdded, CustomerSnapshot,
    CustomerTierChangeCause, CustomerTierChanged, CustomerUpdated, CustomersMerged,
    LoyaltyEntryRecorded,
};
use async_trait::async_trait;
use prost::Name;
use sqlx::{Any, Transaction};
use uuid::Uuid;

use crate::domain::consent::ConsentChange;
use crate::domain::customer::{Customer, Updated};
use crate::domain::identity::{Identity, IdentityKey};
use crate::domain::loyalty::{CURRENCY_CODE, LoyaltyEntry};
use crate::domain::merge::{MergeOutcome, MergeRecord};
use crate::domain::names::{customer_name, identity_name, organisation_name, parse_name};
use crate::domain::tier::Outcome;
use crate::domain::timeline::TimelineEntry;
use crate::domain::wire;
use crate::error::Error;
use crate::store;

/// `Event.source` of every event this service publishes.
pub const SOURCE: &str = "customers";

/// Writes `payload` about `subject` to the outbox in `tx`.
pub async fn publish<M: Name>(
    tx: &mut Transaction<'static, Any>,
    subject: &str,
    payload: &M,
) -> Result<(), Error> {
    append(tx, SOURCE, subject, payload).await?;
    Ok(())
}

/// The customer as events carry it: no contact details.
pub fn snapshot(customer: &Customer) -> CustomerSnapshot {
    let p = &customer.profile;
    CustomerSnapshot {
        name: customer_name(customer.id),
        display_name: p.display_name.to_string(),
        locale: p.locale.to_string(),
        time_zone: p.time_zone.to_string(),
        region: p.region.to_string(),
        organisation: p.organisation.map(organisation_name).unwrap_or_default(),
        tier: p.tier as i32,
        tier_locked: p.tier_locked,
        lifecycle_stage: p.lifecycle_stage as i32,
        origin_channel: customer.origin_channel as i32,
        merged_into: customer.merged_into.map(customer_name).unwrap_or_default(),
        erased: customer.erased,
        create_time: Some(to_timestamp(customer.create_time)),
        update_time: Some(to_timestamp(customer.update_time)),
    }
}

/// `CustomerCreated` for `customer`, made by `principal` (from a channel identity when
/// `by_resolve`).
pub fn customer_created(
    customer: &Customer,
    identities: Vec<ChannelIdentity>,
    by_resolve: bool,
    principal: &Principal,
) -> CustomerCreated {
    CustomerCreated {
        customer: Some(snapshot(customer)),
        identities,
        created_by_resolve: by_resolve,
        actor: Some(actor(principal)),
    }
}

/// The events of an update by `principal`: `CustomerUpdated`, and `CustomerTierChanged`
/// when the tier changed (by hand).
pub fn customer_updated(
    update: &Updated,
    principal: &Principal,
) -> (CustomerUpdated, Option<CustomerTierChanged>) {
    let (before, after) = (&update.before, &update.after);
    let updated = CustomerUpdated {
        customer: Some(snapshot(after)),
        changed_fields: update.changed.clone(),
        actor: Some(actor(principal)),
    };
    let tier_changed = (before.profile.tier != after.profile.tier).then(|| CustomerTierChanged {
        customer: customer_name(after.id),
        previous_tier: before.profile.tier as i32,
        tier: after.profile.tier as i32,
        cause: CustomerTierChangeCause::Manual as i32,
        tier_rule: String::new(),
        actor: Some(actor(principal)),
        change_time: Some(to_timestamp(after.update_time)),
    });
    (updated, tier_changed)
}

/// The events of a tier rule changing `before` into `after`: the customer's update and its
/// tier change.
pub fn tier_changed_by_rule(
    before: &Customer,
    after: &Customer,
    outcome: &Outcome,
    principal: &Principal,
) -> (CustomerUpdated, CustomerTierChanged) {
    let updated = CustomerUpdated {
        customer: Some(snapshot(after)),
        changed_fields: vec!["tier".into()],
        actor: Some(actor(principal)),
    };
    let changed = CustomerTierChanged {
        customer: customer_name(after.id),
        previous_tier: before.profile.tier as i32,
        tier: outcome.tier as i32,
        cause: CustomerTierChangeCause::Rule as i32,
        tier_rule: outcome
            .rule
            .map(|id| format!("tierRules/{id}"))
            .unwrap_or_default(),
        actor: Some(actor(principal)),
        change_time: Some(to_timestamp(after.update_time)),
    };
    (updated, changed)
}

/// `ConsentChanged` for a recorded decision whose state changed.
pub fn consent_changed(change: &ConsentChange) -> ConsentChanged {
    let consent = &change.consent;
    let name = customer_name(consent.customer);
    ConsentChanged {
        consent: format!("{name}/consents/{}", consent.id()),
        customer: name,
        channel: consent.channel as i32,
        purpose: consent.purpose as i32,
        previous_state: change.previous_state as i32,
        state: consent.state as i32,
        source: consent.source.clone(),
        actor: consent.actor.as_ref().map(wire_actor),
        decide_time: Some(to_timestamp(consent.decide_time)),
    }
}

/// `LoyaltyEntryRecorded` for an entry appended to the ledger.
pub fn loyalty_entry_recorded(entry: &LoyaltyEntry) -> LoyaltyEntryRecorded {
    let name = customer_name(entry.customer);
    LoyaltyEntryRecorded {
        entry: format!("{name}/loyaltyEntries/{}", entry.id),
        customer: name,
        kind: entry.entry.kind as i32,
        points: entry.entry.points,
        balance_after: entry.balance_after,
        reason: entry.entry.reason.clone(),
        reference: entry.entry.reference.clone(),
        spend_minor: entry.entry.spend_minor,
        currency_code: CURRENCY_CODE.into(),
        actor: entry.actor.as_ref().map(wire_actor),
        create_time: Some(to_timestamp(entry.create_time)),
    }
}

/// `CustomerIdentityAdded` for `identity`, added by `principal`.
pub fn identity_added(identity: &Identity, principal: &Principal) -> CustomerIdentityAdded {
    CustomerIdentityAdded {
        customer: customer_name(identity.customer),
        identity: identity_name(identity.customer, identity.id),
        channel_identity: Some(channel_identity(&identity.key)),
        verified: false,
        actor: Some(actor(principal)),
        create_time: Some(to_timestamp(identity.create_time)),
    }
}

/// `CustomerErased` for customer `id` and the customers `merged` into it, erased at
/// `erase_time` for `reason` by `principal`.
pub fn customer_erased(
    id: Uuid,
    merged: &[Uuid],
    reason: &str,
    principal: &Principal,
    erase_time: Micros,
) -> CustomerErased {
    CustomerErased {
        customer: customer_name(id),
        merged_customers: merged.iter().map(|id| customer_name(*id)).collect(),
        reason: reason.to_owned(),
        actor: Some(actor(principal)),
        erase_time: Some(to_timestamp(erase_time)),
    }
}

/// The events of merging `outcome.merged` into `before` (the survivor as it was), recorded
/// as `record` and moving the identities `moved`: `CustomerUpdated` when the survivor
/// changed, `CustomerTierChanged` when its tier did, and `CustomersMerged`.
pub fn customers_merged(
    before: &Customer,
    outcome: &MergeOutcome,
    record: &MergeRecord,
    moved: &[IdentityKey],
    principal: &Principal,
) -> (
    Option<CustomerUpdated>,
    Option<CustomerTierChanged>,
    CustomersMerged,
) {
    let after = &outcome.survivor;
    let actor = actor(principal);
    let updated = (!outcome.changed_fields.is_empty()).then(|| CustomerUpdated {
        customer: Some(snapshot(after)),
        changed_fields: outcome.changed_fields.clone(),
        actor: Some(actor.clone()),
    });
    let tier_changed = (after.profile.tier != before.profile.tier).then(|| CustomerTierChanged {
        customer: customer_name(after.id),
        previous_tier: before.profile.tier as i32,
        tier: after.profile.tier as i32,
        cause: CustomerTierChangeCause::Merge as i32,
        tier_rule: String::new(),
        actor: Some(actor.clone()),
        change_time: Some(to_timestamp(record.merge_time)),
    });
    let merged = CustomersMerged {
        survivor: Some(snapshot(after)),
        merged: customer_name(record.merged),
        repointed_customers: record
            .repointed
            .iter()
            .map(|id| customer_name(*id))
            .collect(),
        moved_identities: moved.iter().map(channel_identity).collect(),
        loyalty_points_transferred: record.loyalty_points_transferred,
        actor: Some(actor),
        merge_time: Some(to_timestamp(record.merge_time)),
    };
    (updated, tier_changed, merged)
}

/// The caller as an event's actor.
pub fn actor(principal: &Principal) -> Actor {
    wire_actor(&wire::Actor::of(principal))
}

/// A recorded actor as events carry it.
pub fn wire_actor(actor: &wire::Actor) -> Actor {
    Actor {
        r#type: actor.kind as i32,
        id: actor.id.clone(),
        display_name: actor.display_name.clone(),
    }
}

/// An identity key as events carry it.
pub fn channel_identity(key: &IdentityKey) -> ChannelIdentity {
    ChannelIdentity {
        channel: key.channel as i32,
        handle: key.handle.clone(),
        provider: key.provider.clone(),
    }
}

/// The name the timeline projection consumes events under (its inbox key).
pub const TIMELINE_CONSUMER: &str = "customers-timeline";

/// Builds customers' timelines from the events of every service. Idempotent: the platform's
/// inbox skips redelivered events, and one customer has at most one entry per event.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimelineProjection;

impl TimelineProjection {
    /// The events it consumes.
    pub fn filter() -> SubscriptionFilter {
        timeline::event_types().into_iter().fold(
            SubscriptionFilter::all(),
            SubscriptionFilter::with_type_name,
        )
    }
}

#[async_trait]
impl EventHandler for TimelineProjection {
    async fn handle(&self, tx: &mut Transaction<'_, Any>, event: &Event) -> anyhow::Result<()> {
        let Some(interaction) = timeline::interaction(event)? else {
            return Ok(());
        };
        let Ok(id) = parse_name(&interaction.customer, "customers") else {
            tracing::warn!(event_id = %event.id, customer = %interaction.customer, "event names a malformed customer; not on any timeline");
            return Ok(());
        };
        let Some(mut customer) = store::find_customer(tx, id).await? else {
            tracing::debug!(event_id = %event.id, customer = %id, "event about an unknown customer; skipped");
            return Ok(());
        };
        if let Some(survivor) = customer.merged_into {
            match store::find_customer(tx, survivor).await? {
                Some(found) => customer = found,
                None => return Ok(()),
            }
        }
        let now = now_micros();
        let erased = customer.erased;
        let entry = TimelineEntry {
            id: Uuid::now_v7(),
            customer: customer.id,
            event_id: event.id.clone(),
            source_service: event.source.clone(),
            event_type: event.r#type.clone(),
            subject: interaction.subject,
            summary: if erased {
                String::new()
            } else {
                interaction.summary
            },
            occur_time: timeline::occur_time(event, now),
            region: interaction.region,
            channel: interaction.channel,
            actor: interaction.actor.filter(|_| !erased),
            create_time: now,
        };
        if store::insert_timeline_entry(tx, &entry).await? {
            tracing::debug!(customer = %customer.id, event_type = %event.r#type, "timeline entry recorded");
        }
        Ok(())
    }
}

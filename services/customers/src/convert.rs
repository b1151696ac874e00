//! Domain values back into protobuf messages.

use aftercare_platform::request::Etag;
use aftercare_platform::time::to_timestamp;
use aftercare_proto::aftercare::customers::v1 as pb;

use crate::domain::consent::Consent;
use crate::domain::customer::{Customer, Tier};
use crate::domain::identity::Identity;
use crate::domain::loyalty::{Balance, CURRENCY_CODE, LoyaltyEntry};
use crate::domain::names::{customer_name, identity_name, organisation_name};
use crate::domain::organisation::Organisation;
use crate::domain::segment::Segment;
use crate::domain::tier::TierRule;
use crate::domain::timeline::TimelineEntry;
use crate::events::wire_actor;

/// `customer` as the caller may see it: internal attributes only when `sees_internal`.
pub fn customer(customer: &Customer, sees_internal: bool) -> pb::Customer {
    let p = &customer.profile;
    pb::Customer {
        name: customer_name(customer.id),
        display_name: p.display_name.to_string(),
        given_name: p.given_name.to_string(),
        family_name: p.family_name.to_string(),
        locale: p.locale.to_string(),
        time_zone: p.time_zone.to_string(),
        region: p.region.to_string(),
        emails: p
            .emails
            .iter()
            .map(|e| pb::CustomerEmail {
                address: e.address.as_str().to_owned(),
                label: e.label.to_string(),
                primary: e.primary,
            })
            .collect(),
        phones: p
            .phones
            .iter()
            .map(|e| pb::CustomerPhone {
                number: e.number.as_str().to_owned(),
                label: e.label.to_string(),
                primary: e.primary,
            })
            .collect(),
        addresses: p
            .addresses
            .iter()
            .map(|a| pb::CustomerAddress {
                label: a.label.clone(),
                recipient: a.recipient.clone(),
                address_lines: a.address_lines.clone(),
                locality: a.locality.clone(),
                administrative_area: a.administrative_area.clone(),
                postal_code: a.postal_code.clone(),
                country_code: a.country_code.clone(),
                primary: a.primary,
            })
            .collect(),
        organisation: p.organisation.map(organisation_name).unwrap_or_default(),
        tier: p.tier as i32,
        tier_locked: p.tier_locked,
        lifecycle_stage: p.lifecycle_stage as i32,
        attributes: p.attributes.clone().into_iter().collect(),
        internal_attributes: if sees_internal {
            p.internal_attributes.clone().into_iter().collect()
        } else {
            Default::default()
        },
        origin_channel: customer.origin_channel as i32,
        merged_into: customer.merged_into.map(customer_name).unwrap_or_default(),
        merge_time: customer.merge_time.map(to_timestamp),
        erased: customer.erased,
        erase_time: customer.erase_time.map(to_timestamp),
        etag: Etag::of(customer.version),
        create_time: Some(to_timestamp(customer.create_time)),
        update_time: Some(to_timestamp(customer.update_time)),
    }
}

/// `identity` as stored.
pub fn identity(identity: &Identity) -> pb::CustomerIdentity {
    let (verify_time, method) = match identity.verification {
        Some((time, method)) => (Some(to_timestamp(time)), method as i32),
        None => (None, 0),
    };
    pb::CustomerIdentity {
        name: identity_name(identity.customer, identity.id),
        channel: identity.key.channel as i32,
        handle: identity.key.handle.clone(),
        provider: identity.key.provider.clone(),
        verified: identity.verification.is_some(),
        verify_time,
        verification_method: method,
        create_time: Some(to_timestamp(identity.create_time)),
        update_time: Some(to_timestamp(identity.update_time)),
        etag: Etag::of(identity.version),
    }
}

/// A timeline entry.
pub fn timeline_entry(entry: &TimelineEntry) -> pb::TimelineEntry {
    pb::TimelineEntry {
        name: format!(
            "{}/timelineEntries/{}",
            customer_name(entry.customer),
            entry.id
        ),
        source_service: entry.source_service.clone(),
        event_type: entry.event_type.clone(),
        event_id: entry.event_id.clone(),
        subject: entry.subject.clone(),
        summary: entry.summary.clone(),
        occur_time: Some(to_timestamp(entry.occur_time)),
        region: entry.region.clone(),
        channel: entry.channel as i32,
        actor: entry.actor.as_ref().map(wire_actor),
        create_time: Some(to_timestamp(entry.create_time)),
    }
}

/// A loyalty ledger entry.
pub fn loyalty_entry(entry: &LoyaltyEntry) -> pb::LoyaltyEntry {
    pb::LoyaltyEntry {
        name: format!(
            "{}/loyaltyEntries/{}",
            customer_name(entry.customer),
            entry.id
        ),
        kind: entry.entry.kind as i32,
        points: entry.entry.points,
        reason: entry.entry.reason.clone(),
        reference: entry.entry.reference.clone(),
        spend_minor: entry.entry.spend_minor,
        balance_after: entry.balance_after,
        actor: entry.actor.as_ref().map(wire_actor),
        create_time: Some(to_timestamp(entry.create_time)),
    }
}

/// A customer's loyalty balance.
pub fn loyalty_balance(customer: uuid::Uuid, balance: &Balance, tier: Tier) -> pb::LoyaltyBalance {
    pb::LoyaltyBalance {
        name: format!("{}/loyaltyBalance", customer_name(customer)),
        balance: balance.balance,
        lifetime_earned: balance.lifetime_earned,
        lifetime_redeemed: balance.lifetime_redeemed,
        lifetime_expired: balance.lifetime_expired,
        lifetime_spend_minor: balance.lifetime_spend_minor,
        currency_code: CURRENCY_CODE.into(),
        tier: tier as i32,
        last_entry_time: balance.last_entry_time.map(to_timestamp),
    }
}

/// A consent.
pub fn consent(consent: &Consent) -> pb::Consent {
    pb::Consent {
        name: format!(
            "{}/consents/{}",
            customer_name(consent.customer),
            consent.id()
        ),
        channel: consent.channel as i32,
        purpose: consent.purpose as i32,
        state: consent.state as i32,
        source: consent.source.clone(),
        decide_time: Some(to_timestamp(consent.decide_time)),
        actor: consent.actor.as_ref().map(wire_actor),
        update_time: Some(to_timestamp(consent.update_time)),
        create_time: Some(to_timestamp(consent.create_time)),
        etag: Etag::of(consent.version),
    }
}

/// A tier rule.
pub fn tier_rule(rule: &TierRule) -> pb::TierRule {
    let s = &rule.spec;
    pb::TierRule {
        name: format!("tierRules/{}", rule.id),
        display_name: s.display_name.to_string(),
        tier: s.tier as i32,
        metric: s.metric as i32,
        threshold: s.threshold,
        window: s.window.map(|micros| prost_types::Duration {
            seconds: micros.div_euclid(1_000_000),
            nanos: i32::try_from(micros.rem_euclid(1_000_000) * 1_000).unwrap_or(0),
        }),
        demote: s.demote,
        enabled: s.enabled,
        etag: Etag::of(rule.version),
        create_time: Some(to_timestamp(rule.create_time)),
        update_time: Some(to_timestamp(rule.update_time)),
    }
}

/// An organisation with its customer count.
pub fn organisation(organisation: &Organisation, customer_count: i64) -> pb::Organisation {
    let s = &organisation.spec;
    pb::Organisation {
        name: organisation_name(organisation.id),
        display_name: s.display_name.to_string(),
        domain: s
            .domain
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        region: s.region.to_string(),
        tier: s.tier as i32,
        attributes: s.attributes.clone().into_iter().collect(),
        customer_count,
        etag: Etag::of(organisation.version),
        create_time: Some(to_timestamp(organisation.create_time)),
        update_time: Some(to_timestamp(organisation.update_time)),
    }
}

/// A segment.
pub fn segment(segment: &Segment) -> pb::Segment {
    let s = &segment.spec;
    pb::Segment {
        name: format!("segments/{}", segment.id),
        display_name: s.display_name.to_string(),
        description: s.description.to_string(),
        filter: s.filter.to_string(),
        query: s.query.to_string(),
        customer_count: segment.customer_count,
        count_time: Some(to_timestamp(segment.count_time)),
        etag: Etag::of(segment.version),
        create_time: Some(to_timestamp(segment.create_time)),
        update_time: Some(to_timestamp(segment.update_time)),
    }
}

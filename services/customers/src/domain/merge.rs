//! Merging a duplicate customer into a survivor: which values the survivor keeps.
//!
//! Whatever the policy: empty fields are filled from the other customer; emails, phones and
//! addresses are united (the survivor's primaries stay primary); the higher tier is kept.
//! Conflicting scalar fields and attribute keys are settled by the policy.

use aftercare_platform::time::Micros;
use uuid::Uuid;

use super::DomainError;
use super::customer::{Attributes, Customer, Profile};
use super::loyalty::{Kind, NewEntry};
use super::names::customer_name;

pub(crate) use super::wire::MergePolicy as Policy;

/// What the merge does to both records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MergeOutcome {
    /// The survivor after the merge (version bumped when anything changed).
    pub(crate) survivor: Customer,
    /// The survivor's fields that changed.
    pub(crate) changed_fields: Vec<String>,
    /// The merged customer after the merge: pointing at the survivor, its contact details
    /// and attributes cleared.
    pub(crate) merged: Customer,
}

/// A merge as asked: which customer survives, which is merged into it, the versions the
/// caller saw and the policy for conflicting values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MergeAsked {
    /// The survivor.
    pub(crate) survivor: Uuid,
    /// The survivor's version the caller saw.
    pub(crate) survivor_version: i64,
    /// The customer merged into the survivor.
    pub(crate) merged: Uuid,
    /// The merged customer's version the caller saw.
    pub(crate) merged_version: i64,
    /// How conflicting values are settled.
    pub(crate) policy: Policy,
}

/// A merge as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MergeRecord {
    /// The survivor.
    pub(crate) survivor: Uuid,
    /// The merged customer.
    pub(crate) merged: Uuid,
    /// Identities moved.
    pub(crate) identities_moved: i64,
    /// Timeline entries moved.
    pub(crate) timeline_entries_moved: i64,
    /// Loyalty points transferred.
    pub(crate) loyalty_points_transferred: i64,
    /// Customers merged into `merged` earlier, now pointing at the survivor.
    pub(crate) repointed: Vec<Uuid>,
    /// When.
    pub(crate) merge_time: Micros,
}

/// Refuses a merge asked against versions that are no longer current, or of a customer
/// that can no longer change (merged or erased); the survivor is checked first. `Err` names
/// the customer refused.
pub(crate) fn check_merge(
    asked: &MergeAsked,
    survivor: &Customer,
    merged: &Customer,
) -> Result<(), (Uuid, DomainError)> {
    survivor
        .check_current(asked.survivor_version)
        .map_err(|err| (survivor.id, err))?;
    merged
        .check_current(asked.merged_version)
        .map_err(|err| (merged.id, err))
}

/// The pair of ADJUST entries that move `points` from the merged customer's ledger to the
/// survivor's, so both ledgers stay append-only: (out of `merged`, into `survivor`).
pub(crate) fn balance_transfer(merged: Uuid, survivor: Uuid, points: i64) -> (NewEntry, NewEntry) {
    let (merged_name, survivor_name) = (customer_name(merged), customer_name(survivor));
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
    (out, into)
}

/// Takes the merged customer's text field `theirs` into `mine` when it has one that differs
/// and `mine` is empty or the merged side wins; true when it did.
fn take_text<T>(mine: &mut T, theirs: &T, take_merged: bool) -> bool
where
    T: Clone + PartialEq + std::ops::Deref<Target = str>,
{
    if !theirs.is_empty() && *mine != *theirs && (mine.is_empty() || take_merged) {
        mine.clone_from(theirs);
        true
    } else {
        false
    }
}

/// Merges `merged` into `survivor` at `now` under `policy`.
pub(crate) fn merge(
    survivor: &Customer,
    merged: &Customer,
    policy: Policy,
    now: Micros,
) -> MergeOutcome {
    let take_merged = match policy {
        Policy::PreferMerged => true,
        Policy::PreferNewest => merged.update_time > survivor.update_time,
        Policy::Unspecified | Policy::PreferSurvivor => false,
    };
    let mut next = survivor.clone();
    let (s, m) = (&mut next.profile, &merged.profile);
    let mut changed = Vec::new();
    let mut text = |field: &str, taken: bool| {
        if taken {
            changed.push(field.to_owned());
        }
    };
    text(
        "display_name",
        take_text(&mut s.display_name, &m.display_name, take_merged),
    );
    text(
        "given_name",
        take_text(&mut s.given_name, &m.given_name, take_merged),
    );
    text(
        "family_name",
        take_text(&mut s.family_name, &m.family_name, take_merged),
    );
    text("locale", take_text(&mut s.locale, &m.locale, take_merged));
    text(
        "time_zone",
        take_text(&mut s.time_zone, &m.time_zone, take_merged),
    );
    text("region", take_text(&mut s.region, &m.region, take_merged));
    if m.organisation.is_some()
        && s.organisation != m.organisation
        && (s.organisation.is_none() || take_merged)
    {
        s.organisation = m.organisation;
        changed.push("organisation".into());
    }
    if take_merged && s.lifecycle_stage != m.lifecycle_stage {
        s.lifecycle_stage = m.lifecycle_stage;
        changed.push("lifecycle_stage".into());
    }
    if (m.tier as i32) > (s.tier as i32) {
        s.tier = m.tier;
        changed.push("tier".into());
    }
    if unite(
        &mut s.emails,
        &m.emails,
        |e| e.address.to_string(),
        |e| e.primary,
        |e| e.primary = false,
    ) {
        changed.push("emails".into());
    }
    if unite(
        &mut s.phones,
        &m.phones,
        |p| p.number.to_string(),
        |p| p.primary,
        |p| p.primary = false,
    ) {
        changed.push("phones".into());
    }
    if unite(
        &mut s.addresses,
        &m.addresses,
        |a| format!("{a:?}"),
        |a| a.primary,
        |a| a.primary = false,
    ) {
        changed.push("addresses".into());
    }
    if merge_map(&mut s.attributes, &m.attributes, take_merged) {
        changed.push("attributes".into());
    }
    if merge_map(
        &mut s.internal_attributes,
        &m.internal_attributes,
        take_merged,
    ) {
        changed.push("internal_attributes".into());
    }
    if !changed.is_empty() {
        next.version += 1;
        next.update_time = now;
    }
    let mut gone = merged.clone();
    gone.merged_into = Some(survivor.id);
    gone.merge_time = Some(now);
    gone.profile = Profile {
        emails: Vec::new(),
        phones: Vec::new(),
        addresses: Vec::new(),
        attributes: Attributes::new(),
        internal_attributes: Attributes::new(),
        ..gone.profile
    };
    gone.version += 1;
    gone.update_time = now;
    MergeOutcome {
        survivor: next,
        changed_fields: changed,
        merged: gone,
    }
}

/// Adds to `mine` the items of `theirs` not already there (by `key`); added items lose
/// their primary flag when `mine` has a primary. Returns whether anything was added.
fn unite<T: Clone>(
    mine: &mut Vec<T>,
    theirs: &[T],
    key: impl Fn(&T) -> String,
    primary: impl Fn(&T) -> bool,
    demote: impl Fn(&mut T),
) -> bool {
    let has_primary = mine.iter().any(&primary);
    let mut added = false;
    let mut primary_taken = has_primary;
    for item in theirs {
        if mine.iter().any(|existing| key(existing) == key(item)) {
            continue;
        }
        let mut item = item.clone();
        if primary(&item) {
            if primary_taken {
                demote(&mut item);
            }
            primary_taken = true;
        }
        mine.push(item);
        added = true;
    }
    added
}

fn merge_map(mine: &mut Attributes, theirs: &Attributes, take_merged: bool) -> bool {
    let mut changed = false;
    for (key, value) in theirs {
        match mine.get(key) {
            Some(current) if current == value || !take_merged => {}
            _ => {
                mine.insert(key.clone(), value.clone());
                changed = true;
            }
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::customer::{Channel, Email, Tier};

    fn customer(name: &str, update_time: Micros) -> Customer {
        let mut customer = Customer::new(Profile::named(name.into()), Channel::Email, 1);
        customer.update_time = update_time;
        customer
    }

    fn email(address: &str, primary: bool) -> Email {
        Email {
            address: address.into(),
            label: Default::default(),
            primary,
        }
    }

    #[test]
    fn empty_fields_are_filled_and_conflicts_follow_the_policy() {
        let mut survivor = customer("Li Wei", 10);
        survivor
            .profile
            .attributes
            .insert("card".into(), "A".into());
        let mut merged = customer("Wei Li", 20);
        merged.profile.locale = "zh-CN".into();
        merged.profile.attributes.insert("card".into(), "B".into());
        merged
            .profile
            .attributes
            .insert("hours".into(), "9-18".into());

        let kept = merge(&survivor, &merged, Policy::PreferSurvivor, 30).survivor;
        assert_eq!(kept.profile.display_name, "Li Wei");
        assert_eq!(kept.profile.locale, "zh-CN");
        assert_eq!(kept.profile.attributes["card"], "A");
        assert_eq!(kept.profile.attributes["hours"], "9-18");

        let taken = merge(&survivor, &merged, Policy::PreferMerged, 30).survivor;
        assert_eq!(taken.profile.display_name, "Wei Li");
        assert_eq!(taken.profile.attributes["card"], "B");

        let newest = merge(&survivor, &merged, Policy::PreferNewest, 30).survivor;
        assert_eq!(newest.profile.display_name, "Wei Li");
        let older = merge(&merged, &survivor, Policy::PreferNewest, 30).survivor;
        assert_eq!(older.profile.display_name, "Wei Li");
    }

    #[test]
    fn contacts_are_united_and_the_higher_tier_kept() {
        let mut survivor = customer("Li Wei", 10);
        survivor.profile.emails = vec![email("li@example.com", true)];
        let mut merged = customer("Li Wei", 10);
        merged.profile.tier = Tier::Vip;
        merged.profile.emails = vec![
            email("li@example.com", false),
            email("wei@example.com", true),
        ];
        let outcome = merge(&survivor, &merged, Policy::Unspecified, 30);
        let emails = &outcome.survivor.profile.emails;
        assert_eq!(emails.len(), 2);
        assert!(emails[0].primary && !emails[1].primary);
        assert_eq!(outcome.survivor.profile.tier, Tier::Vip);
        assert_eq!(outcome.changed_fields, ["tier", "emails"]);
        assert_eq!(outcome.survivor.version, 2);
    }

    #[test]
    fn a_merge_is_refused_when_stale_or_frozen_survivor_first() {
        let survivor = customer("Li Wei", 10);
        let merged = customer("Wei Li", 10);
        let asked = MergeAsked {
            survivor: survivor.id,
            survivor_version: 1,
            merged: merged.id,
            merged_version: 1,
            policy: Policy::Unspecified,
        };
        assert_eq!(check_merge(&asked, &survivor, &merged), Ok(()));
        let stale = MergeAsked {
            survivor_version: 2,
            merged_version: 2,
            ..asked
        };
        assert_eq!(
            check_merge(&stale, &survivor, &merged),
            Err((survivor.id, DomainError::StaleEtag))
        );
        let mut gone = merged.clone();
        gone.merged_into = Some(survivor.id);
        assert!(matches!(
            check_merge(&asked, &survivor, &gone),
            Err((id, DomainError::Refused { .. })) if id == merged.id
        ));
    }

    #[test]
    fn the_balance_moves_as_two_adjustments() {
        let (merged, survivor) = (Uuid::now_v7(), Uuid::now_v7());
        let (out, into) = balance_transfer(merged, survivor, 40);
        assert_eq!((out.kind, out.points), (Kind::Adjust, -40));
        assert_eq!((into.kind, into.points), (Kind::Adjust, 40));
        assert_eq!(out.reference, customer_name(survivor));
        assert_eq!(into.reference, customer_name(merged));
    }

    #[test]
    fn the_merged_record_points_at_the_survivor_and_keeps_no_contacts() {
        let survivor = customer("Li Wei", 10);
        let mut merged = customer("Li Wei", 10);
        merged.profile.emails = vec![email("li@example.com", true)];
        merged.profile.attributes.insert("card".into(), "B".into());
        let outcome = merge(&survivor, &merged, Policy::Unspecified, 30);
        assert_eq!(outcome.merged.merged_into, Some(survivor.id));
        assert_eq!(outcome.merged.merge_time, Some(30));
        assert!(outcome.merged.profile.emails.is_empty());
        assert!(outcome.merged.profile.attributes.is_empty());
        assert_eq!(outcome.merged.version, merged.version + 1);
    }
}

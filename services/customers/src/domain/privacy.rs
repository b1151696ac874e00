//! Data-protection requests: what an erasure removed and what it kept.

use aftercare_platform::time::Micros;
use serde::{Deserialize, Serialize};

use super::DomainError;
use super::customer::Customer;

/// What stays after an erasure, for the requester's records.
pub(crate) const KEPT_FIELDS: &[&str] = &[
    "name",
    "region",
    "tier",
    "lifecycle_stage",
    "create_time",
    "loyalty_entries (kind, points, times)",
    "timeline_entries (type, time, region, channel)",
];

/// The outcome of an erasure, recorded so a retry returns it again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Erasure {
    /// Customer fields that held personal data and were cleared.
    pub(crate) cleared_fields: Vec<String>,
    /// Identities deleted.
    pub(crate) identities_removed: i64,
    /// Consent records deleted.
    pub(crate) consents_removed: i64,
    /// Loyalty entries whose reason and reference were blanked.
    pub(crate) loyalty_entries_anonymised: i64,
    /// Timeline entries whose summary and actor were blanked.
    pub(crate) timeline_entries_anonymised: i64,
    /// When.
    pub(crate) erase_time: Micros,
}

/// A customer erased: as it is to be stored (version bumped) and the fields that held
/// personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Erased {
    /// The customer after the erasure.
    pub(crate) customer: Customer,
    /// The fields cleared.
    pub(crate) cleared_fields: Vec<String>,
}

/// Erases `customer` at `now`, asked against `version`: refused when that is not the current
/// version, for a merged customer (the survivor is erased, with the customers merged into
/// it) and for one already erased.
pub(crate) fn erase(customer: &Customer, version: i64, now: Micros) -> Result<Erased, DomainError> {
    if customer.version != version {
        return Err(DomainError::StaleEtag);
    }
    let refuse = |description: &str| DomainError::Refused {
        violation: "STATE",
        description: description.into(),
    };
    if customer.merged_into.is_some() {
        return Err(refuse(
            "the customer was merged: erase the survivor it was merged into",
        ));
    }
    if customer.erased {
        return Err(refuse("the customer is already erased"));
    }
    let mut after = customer.clone();
    let cleared_fields = after.erase(now);
    after.version += 1;
    Ok(Erased {
        customer: after,
        cleared_fields,
    })
}

/// A customer merged into an erased survivor, erased with it at `now` (version bumped).
pub(crate) fn erase_merged(customer: &Customer, now: Micros) -> Customer {
    let mut after = customer.clone();
    after.erase(now);
    after.version += 1;
    after
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::customer::{Channel, Profile};

    fn customer() -> Customer {
        let mut profile = Profile::named("Li Wei".into());
        profile.locale = "zh-CN".into();
        Customer::new(profile, Channel::Email, 1)
    }

    #[test]
    fn an_erasure_clears_personal_fields_and_bumps_the_version() {
        let erased = erase(&customer(), 1, 7).unwrap();
        assert!(erased.customer.erased);
        assert_eq!(erased.customer.erase_time, Some(7));
        assert_eq!(erased.customer.version, 2);
        assert_eq!(erased.cleared_fields, ["display_name", "locale"]);
        let merged = erase_merged(&customer(), 7);
        assert!(merged.erased && merged.version == 2);
    }

    #[test]
    fn an_erasure_is_refused_when_stale_merged_or_done() {
        let current = customer();
        assert_eq!(erase(&current, 2, 7), Err(DomainError::StaleEtag));
        let mut merged = customer();
        merged.merged_into = Some(current.id);
        assert!(matches!(
            erase(&merged, 1, 7),
            Err(DomainError::Refused { description, .. }) if description.contains("survivor")
        ));
        let done = erase(&current, 1, 7).unwrap().customer;
        assert!(matches!(
            erase(&done, 2, 8),
            Err(DomainError::Refused { description, .. }) if description.contains("already erased")
        ));
    }
}

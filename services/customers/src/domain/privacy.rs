//! Data-protection requests: what an erasure removed and what it kept.

use aftercare_platform::time::Micros;
use serde::{Deserialize, Serialize};

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

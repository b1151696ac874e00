//! The rules of the customers service, free of I/O: customers and their fields, channel
//! identities and their normalisation, who may do what, filters and pagination.

pub(crate) mod access;
pub(crate) mod consent;
pub(crate) mod customer;
pub(crate) mod email;
pub(crate) mod filter;
pub(crate) mod idempotency;
pub(crate) mod identity;
pub(crate) mod loyalty;
pub(crate) mod merge;
pub(crate) mod names;
pub(crate) mod organisation;
pub(crate) mod phone;
pub(crate) mod privacy;
pub(crate) mod query;
pub(crate) mod segment;
pub(crate) mod tier;
pub(crate) mod timeline;
pub(crate) mod values;
pub(crate) mod wire;

/// Why a rule refused a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DomainError {
    /// A value breaks a rule: `field` names it.
    Invalid {
        /// The field, as the request names it.
        field: String,
        /// What is wrong.
        description: String,
    },
    /// The change was made against an older version.
    StaleEtag,
    /// The resource's state does not allow it.
    Refused {
        /// The violation type (`STATE`, `DEPENDENTS`, …).
        violation: &'static str,
        /// Why.
        description: String,
    },
}

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
pub(crate) mod wire;

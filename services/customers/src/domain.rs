//! The rules of the customers service, free of I/O: customers and their fields, channel
//! identities and their normalisation, who may do what, filters and pagination.

pub mod access;
pub mod consent;
pub mod customer;
pub mod email;
pub mod filter;
pub mod idempotency;
pub mod identity;
pub mod loyalty;
pub mod merge;
pub mod names;
pub mod organisation;
pub mod phone;
pub mod privacy;
pub mod query;
pub mod segment;
pub mod tier;
pub mod timeline;

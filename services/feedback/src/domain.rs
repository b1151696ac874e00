//! The feedback domain: types and rules, with no proto, SQL, tokio or tonic types.

pub mod access;
pub mod classify;
pub mod follow_up;
pub mod invite;
pub mod records;
pub mod stats;
pub mod survey;
pub mod values;

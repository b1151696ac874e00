//! The customers service through its gRPC API, on SQLite and PostgreSQL.

mod api {
    pub mod consents;
    pub mod customers;
    pub mod harness;
    pub mod idempotency;
    pub mod identities;
    pub mod loyalty;
    pub mod merge;
    pub mod organisations;
    pub mod privacy;
    pub mod segments;
    pub mod tiers;
    pub mod timeline;
}

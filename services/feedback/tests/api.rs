//! The feedback service through its gRPC API, on SQLite and PostgreSQL.

mod api {
    pub mod bad_inputs;
    pub mod follow_ups;
    pub mod harness;
    pub mod invitations;
    pub mod items;
    pub mod privacy;
    pub mod responses;
    pub mod stats;
    pub mod surveys;
    pub mod targeting;
}

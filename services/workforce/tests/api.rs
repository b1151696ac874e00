//! The workforce service through its gRPC API, on SQLite and PostgreSQL, with signed
//! principals.

mod api {
    pub mod agents;
    pub mod harness;
    pub mod performance;
    pub mod presence;
    pub mod routing;
    pub mod shifts;
    pub mod skills;
    pub mod teams;
    pub mod training;
}

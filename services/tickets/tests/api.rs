//! The tickets service through its gRPC API, started as the binary starts it, against real
//! SQLite and real PostgreSQL (each test runs on both), with the real customers service.

mod api {
    pub mod support;

    mod after_sales;
    mod authorisation;
    mod create;
    mod erasure;
    mod integrations;
    mod lifecycle;
    mod links;
    mod list;
    mod messages;
    mod routing;
    mod security;
    mod sla;
    mod standards;
    mod stats;
    mod watch;
}

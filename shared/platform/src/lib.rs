//! What every Aftercare service shares: configuration, telemetry, the database layer,
//! error details, events (outbox, relay, buses, idempotent consumers), the gRPC server
//! bootstrap and, behind the `testing` feature, the test harness.

pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod events;
pub mod local;
pub mod query;
pub mod request;
pub mod server;
pub mod service;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;

pub use aftercare_proto as proto;

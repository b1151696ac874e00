//! The knowledge service through its gRPC API, started as the binary starts it, against real
//! SQLite and real PostgreSQL (each test runs on both).

mod api {
    pub mod support;

    mod articles;
    mod categories;
    mod feedback;
    mod index;
    mod search;
    mod stats;
    mod suggestions;
    mod workflow;
}

//! Server bootstrap.

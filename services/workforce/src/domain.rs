//! The workforce domain: types and rules, without proto, SQL, tokio or tonic.

pub mod access;
pub mod agent;
pub mod names;
pub mod performance;
pub mod routing;
pub mod shift;
pub mod skill;
pub mod team;
pub mod training;
pub mod values;

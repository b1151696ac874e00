//! The AIP-160 filter subset every List method shares ([`Filter`]). Page sizes and page
//! tokens are in [`crate::request`].

mod filter;

pub use filter::{Comparison, Condition, Filter, FilterError, Value};

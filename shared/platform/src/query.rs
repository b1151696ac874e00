//! What every List method shares: the AIP-160 filter subset ([`Filter`]) and page sizes and
//! opaque keyset page tokens ([`PageSize`], [`PageToken`]).

mod filter;
mod page;

pub use filter::{Comparison, Condition, Filter, FilterError, Value};
pub use page::{PageSize, PageToken, fingerprint};

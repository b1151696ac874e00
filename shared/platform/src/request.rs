//! The request toolkit every service parses its requests with, so that field masks, page
//! tokens, page sizes, request ids, etags, enums, names and texts mean the same thing and
//! are refused with the same words everywhere:
//!
//! - [`update_paths`]: an update's `google.protobuf.FieldMask`, `*` for every updatable
//!   field, unknown paths named in the violation;
//! - [`Page`], [`PageSize`], [`PageToken`], [`SortKey`]: keyset pages whose opaque tokens
//!   carry an integer or a text sort key and are refused when used with another query;
//! - [`request_id`]: a caller's idempotency key (a UUID, stored canonically);
//! - [`Etag`]: one etag format (AIP-154, a quoted version: `"7"`);
//! - [`enum_value`], [`required_enum`]: wire enums by number;
//! - [`resource_id`], [`child_id`]: resource names (`tickets/{uuid}`);
//! - [`required_text`], [`optional_text`]: trimmed texts with bounds in characters.
//!
//! Every function records what is wrong in a [`FieldViolations`] and goes on, so a client
//! hears about every bad field at once.

mod fields;
mod mask;
mod page;

pub use fields::{
    Etag, child_id, enum_value, optional_text, request_id, required_enum, required_text,
    resource_id,
};
pub use mask::update_paths;
pub use page::{Page, PageSize, PageToken, SortKey, fingerprint};

pub use crate::error::FieldViolations;

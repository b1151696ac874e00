//! Page sizes and opaque keyset page tokens (AIP-158).
//!
//! A token holds the sort key and id of the last row a page returned, and a fingerprint of
//! the request's other parameters (filter, order, parent), so a token is refused when it is
//! sent with another query. The sort key is an integer (a time in microseconds, a rank) or a
//! text (a name), or absent when a list is ordered by id alone.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::error::FieldViolations;

/// A page size: default 50, at most 500 (larger values are clamped, AIP-158).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(u32);

impl PageSize {
    /// The default.
    pub const DEFAULT: u32 = 50;
    /// The maximum.
    pub const MAX: u32 = 500;

    /// Parses a requested size; negative sizes are refused.
    pub fn parse(requested: i32) -> Result<Self, String> {
        match requested {
            n if n < 0 => Err("must not be negative".to_owned()),
            0 => Ok(Self(Self::DEFAULT)),
            n => Ok(Self((n as u32).min(Self::MAX))),
        }
    }

    /// The size.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// The sort key of the last row of a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SortKey {
    /// The list is ordered by id alone.
    None,
    /// A number: a time in microseconds, a rank, a count.
    Int(i64),
    /// A text: a name.
    Text(String),
}

/// Where the next page starts: after the row with this sort key and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageToken {
    /// The last row's sort key.
    pub key: SortKey,
    /// The last row's id (a UUID).
    pub id: String,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    #[serde(rename = "k", default = "no_key", skip_serializing_if = "is_none")]
    key: SortKey,
    #[serde(rename = "i")]
    id: String,
    #[serde(rename = "f")]
    fingerprint: String,
}

fn no_key() -> SortKey {
    SortKey::None
}

fn is_none(key: &SortKey) -> bool {
    *key == SortKey::None
}

/// A stable 64-bit FNV-1a hash of the query parameters a token is bound to.
pub fn fingerprint(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

impl PageToken {
    /// After the row with integer sort key `key` and `id`.
    pub fn int(key: i64, id: impl ToString) -> Self {
        Self {
            key: SortKey::Int(key),
            id: id.to_string(),
        }
    }

    /// After the row with text sort key `key` and `id`.
    pub fn text(key: impl Into<String>, id: impl ToString) -> Self {
        Self {
            key: SortKey::Text(key.into()),
            id: id.to_string(),
        }
    }

    /// After the row with `id`, in a list ordered by id alone.
    pub fn id(id: impl ToString) -> Self {
        Self {
            key: SortKey::None,
            id: id.to_string(),
        }
    }

    /// The integer sort key, if the token has one.
    pub fn int_key(&self) -> Option<i64> {
        match self.key {
            SortKey::Int(key) => Some(key),
            _ => None,
        }
    }

    /// The text sort key, if the token has one.
    pub fn text_key(&self) -> Option<&str> {
        match &self.key {
            SortKey::Text(key) => Some(key),
            _ => None,
        }
    }

    /// The opaque token for this position in the query with `fingerprint`.
    pub fn encode(&self, fingerprint: u64) -> String {
        let wire = Wire {
            key: self.key.clone(),
            id: self.id.clone(),
            fingerprint: format!("{fingerprint:016x}"),
        };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).expect("a token serialises"))
    }

    /// Decodes `token`; refused when malformed or made for another query.
    pub fn decode(token: &str, fingerprint: u64) -> Result<Self, String> {
        let wire: Wire = URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .filter(|wire: &Wire| uuid::Uuid::parse_str(&wire.id).is_ok())
            .ok_or("is not a page token returned by this method")?;
        if wire.fingerprint != format!("{fingerprint:016x}") {
            return Err("was issued for a request with other parameters".to_owned());
        }
        Ok(Self {
            key: wire.key,
            id: wire.id,
        })
    }
}

/// One page of a List request: its size, where it starts, and the query its tokens are
/// bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Rows per page.
    pub size: u32,
    /// The previous page's last row, or `None` for the first page.
    pub after: Option<PageToken>,
    fingerprint: u64,
}

impl Page {
    /// Parses `page_size` and `page_token` (fields of those names); the token must have been
    /// issued for the same `bound_to` parameters (filter, order by, parent…).
    pub fn parse(
        violations: &mut FieldViolations,
        page_size: i32,
        page_token: &str,
        bound_to: &[&str],
    ) -> Self {
        let fingerprint = fingerprint(bound_to);
        let size = violations
            .check("page_size", PageSize::parse(page_size))
            .map_or(PageSize::DEFAULT, PageSize::get);
        let after = if page_token.is_empty() {
            None
        } else {
            violations.check("page_token", PageToken::decode(page_token, fingerprint))
        };
        Self {
            size,
            after,
            fingerprint,
        }
    }

    /// The first page of `size` rows of a query bound to nothing (for internal callers).
    pub fn first(size: u32) -> Self {
        Self {
            size,
            after: None,
            fingerprint: fingerprint(&[]),
        }
    }

    /// How many rows a store should fetch: one more than the page, to know whether another
    /// page follows.
    pub fn limit(&self) -> i64 {
        i64::from(self.size) + 1
    }

    /// Trims `rows` (fetched with [`Page::limit`]) to the page and returns the next page's
    /// token, or an empty string on the last page. `position` gives a row's token.
    pub fn finish<T>(&self, rows: &mut Vec<T>, position: impl Fn(&T) -> PageToken) -> String {
        if rows.len() <= self.size as usize {
            return String::new();
        }
        rows.truncate(self.size as usize);
        rows.last()
            .map(|last| position(last).encode(self.fingerprint))
            .unwrap_or_default()
    }

    /// The token that continues after `position`, in this page's query.
    pub fn token_after(&self, position: &PageToken) -> String {
        position.encode(self.fingerprint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> String {
        uuid::Uuid::now_v7().to_string()
    }

    #[test]
    fn page_sizes_default_and_clamp() {
        assert_eq!(PageSize::parse(0).unwrap().get(), 50);
        assert_eq!(PageSize::parse(7).unwrap().get(), 7);
        assert_eq!(PageSize::parse(10_000).unwrap().get(), 500);
        assert!(PageSize::parse(-1).is_err());
    }

    #[test]
    fn tokens_round_trip_with_every_kind_of_key_and_are_bound_to_their_query() {
        let print = fingerprint(&["status = OPEN", "create_time desc"]);
        for token in [
            PageToken::int(-42, id()),
            PageToken::text("Zhang Wei", id()),
            PageToken::id(id()),
        ] {
            let encoded = token.encode(print);
            assert_eq!(PageToken::decode(&encoded, print), Ok(token));
            let other = fingerprint(&["status = NEW", "create_time desc"]);
            assert_eq!(
                PageToken::decode(&encoded, other).unwrap_err(),
                "was issued for a request with other parameters"
            );
        }
        assert!(PageToken::decode("garbage!", print).is_err());
    }

    #[test]
    fn a_token_with_a_forged_id_is_refused() {
        let print = fingerprint(&[]);
        let forged = PageToken::int(1, "1 OR 1=1").encode(print);
        assert!(PageToken::decode(&forged, print).is_err());
    }

    #[test]
    fn page_parse_names_each_bad_field() {
        let mut violations = FieldViolations::new();
        let page = Page::parse(&mut violations, -3, "not-a-token", &["a"]);
        let fields: Vec<_> = violations
            .violations()
            .iter()
            .map(|v| v.field.clone())
            .collect();
        assert_eq!(fields, ["page_size", "page_token"]);
        assert_eq!(page.after, None);
    }

    #[test]
    fn finish_trims_to_the_page_and_continues_after_its_last_row() {
        let ids: Vec<String> = (0..4).map(|_| id()).collect();
        let mut violations = FieldViolations::new();
        let page = Page::parse(&mut violations, 3, "", &["filter"]);
        assert_eq!(page.limit(), 4);
        let mut rows: Vec<(i64, String)> = ids
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, id)| (i as i64, id))
            .collect();
        let next = page.finish(&mut rows, |(key, id)| PageToken::int(*key, id));
        assert_eq!(rows.len(), 3);
        let mut violations = FieldViolations::new();
        let second = Page::parse(&mut violations, 3, &next, &["filter"]);
        assert!(violations.is_empty());
        assert_eq!(second.after, Some(PageToken::int(2, &ids[2])));
        let mut last: Vec<(i64, String)> = vec![(3, ids[3].clone())];
        assert_eq!(
            second.finish(&mut last, |(key, id)| PageToken::int(*key, id)),
            ""
        );
    }
}

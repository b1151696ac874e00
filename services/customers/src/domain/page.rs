//! Keyset pagination: page sizes and opaque page tokens.
//!
//! A token holds the sort key and id of the last row returned, and a fingerprint of the
//! request's other parameters, so a token is refused when reused with another filter. Page
//! sizes and fingerprints are the platform's; the token itself is this crate's because some
//! lists here are ordered by a name (a text sort key), which the platform's token (an
//! integer key) cannot hold.

use aftercare_platform::request::PageSize;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// The page size for a requested `page_size` (the platform's rule: default 50, clamped to
/// 500, negative refused).
pub fn page_size(requested: i32) -> Result<u32, String> {
    PageSize::parse(requested).map(PageSize::get)
}

/// Where the next page starts: after the row with this sort key and id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The last row's sort key (a time or a text), when the order has one beyond the id.
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub key: Option<SortKey>,
    /// The last row's id.
    #[serde(rename = "i")]
    pub id: String,
}

/// A sort key value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SortKey {
    /// A number (a time in microseconds, a rank).
    Int(i64),
    /// A text (a display name).
    Text(String),
}

#[derive(Serialize, Deserialize)]
struct Token {
    #[serde(flatten)]
    cursor: Cursor,
    #[serde(rename = "f")]
    fingerprint: String,
}

/// A fingerprint of the request parameters a token is bound to (the platform's hash).
pub fn fingerprint(parts: &[&str]) -> String {
    format!("{:016x}", aftercare_platform::request::fingerprint(parts))
}

/// The opaque token for the page after `cursor`.
pub fn encode_token(cursor: Cursor, fingerprint: &str) -> String {
    let token = Token {
        cursor,
        fingerprint: fingerprint.to_owned(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default())
}

/// The cursor in `token` (`None` for the first page), or why it is not a token of this list
/// with these parameters.
pub fn decode_token(token: &str, fingerprint: &str) -> Result<Option<Cursor>, String> {
    if token.is_empty() {
        return Ok(None);
    }
    let token: Token = URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|json| serde_json::from_slice(&json).ok())
        .ok_or("is not a page token returned by this method")?;
    if token.fingerprint != fingerprint {
        return Err("was issued for a request with other parameters".into());
    }
    Ok(Some(token.cursor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_defaults_and_clamps() {
        assert_eq!(page_size(0), Ok(50));
        assert_eq!(page_size(7), Ok(7));
        assert_eq!(page_size(100_000), Ok(500));
        assert!(page_size(-1).is_err());
    }

    #[test]
    fn tokens_round_trip_and_are_bound_to_their_parameters() {
        let cursor = Cursor {
            key: Some(SortKey::Int(42)),
            id: "x".into(),
        };
        let fp = fingerprint(&["tier = VIP", ""]);
        let token = encode_token(cursor.clone(), &fp);
        assert_eq!(decode_token(&token, &fp), Ok(Some(cursor)));
        assert!(decode_token(&token, &fingerprint(&["tier = PREMIUM", ""])).is_err());
        assert!(decode_token("not a token", &fp).is_err());
        assert_eq!(decode_token("", &fp), Ok(None));
    }
}

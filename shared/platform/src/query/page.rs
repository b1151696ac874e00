//! Page sizes and opaque keyset page tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A page size: default 50, at most 500 (larger values are clamped).
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

/// Where the next page starts: the last row's sort key and id, and a fingerprint of the
/// query it belongs to (a token used with another filter or order is refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageToken {
    /// The last row's sort key.
    pub key: i64,
    /// The last row's id.
    pub id: String,
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
    /// The opaque token for this position in the query with `fingerprint`.
    pub fn encode(&self, fingerprint: u64) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}|{}|{:x}", self.key, self.id, fingerprint))
    }

    /// Decodes `token`; refused when malformed or made for another query.
    pub fn decode(token: &str, fingerprint: u64) -> Result<Self, String> {
        let bad = || "is not a page token of this query".to_owned();
        let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
        let text = String::from_utf8(raw).map_err(|_| bad())?;
        let mut parts = text.splitn(3, '|');
        let key = parts.next().and_then(|k| k.parse().ok()).ok_or_else(bad)?;
        let id = parts.next().ok_or_else(bad)?.to_owned();
        let print = parts
            .next()
            .and_then(|f| u64::from_str_radix(f, 16).ok())
            .ok_or_else(bad)?;
        if print != fingerprint || uuid::Uuid::parse_str(&id).is_err() {
            return Err(bad());
        }
        Ok(Self { key, id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_default_and_clamp() {
        assert_eq!(PageSize::parse(0).unwrap().get(), 50);
        assert_eq!(PageSize::parse(7).unwrap().get(), 7);
        assert_eq!(PageSize::parse(10_000).unwrap().get(), 500);
        assert!(PageSize::parse(-1).is_err());
    }

    #[test]
    fn tokens_round_trip_and_are_bound_to_their_query() {
        let id = uuid::Uuid::now_v7().to_string();
        let token = PageToken { key: -42, id };
        let print = fingerprint(&["status = OPEN", "create_time desc"]);
        let encoded = token.encode(print);
        assert_eq!(PageToken::decode(&encoded, print), Ok(token));
        let other = fingerprint(&["status = NEW", "create_time desc"]);
        assert!(PageToken::decode(&encoded, other).is_err());
        assert!(PageToken::decode("garbage!", print).is_err());
    }
}

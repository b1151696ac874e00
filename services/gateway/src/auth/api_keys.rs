//! API keys for integrations, stored only as SHA-256 hashes:
//!
//! ```json
//! {"keys": [{"id": "erp", "sha256": "<hex of SHA-256(key)>", "scopes": ["tickets.write"],
//!            "expires": "2027-01-01T00:00:00Z", "region": "eu-west"}]}
//! ```
//!
//! A key is revoked by removing it from the file (or `"revoked": true`); the gateway notices
//! within `gateway.reload_interval`.

use std::collections::HashMap;

use aftercare_platform::auth::{Principal, Role};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::GatewayError;

/// The hex SHA-256 of an API key: what the keys file stores.
pub fn hash_api_key(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    keys: Vec<KeyEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    id: String,
    sha256: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    expires: Option<DateTime<Utc>>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    revoked: bool,
}

/// The keys of the file, by hash.
#[derive(Debug)]
pub struct ApiKeys {
    by_hash: HashMap<String, KeyEntry>,
}

impl ApiKeys {
    /// Parses the keys file.
    pub fn parse(bytes: &[u8]) -> anyhow::Result<Self> {
        let file: KeysFile = serde_json::from_slice(bytes)?;
        let mut by_hash = HashMap::new();
        for (i, key) in file.keys.into_iter().enumerate() {
            let hash = key.sha256.to_ascii_lowercase();
            if hash.len() != 64 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
                anyhow::bail!("keys[{i}].sha256: must be 64 hex digits");
            }
            if key.id.is_empty() {
                anyhow::bail!("keys[{i}].id: must not be empty");
            }
            by_hash.insert(hash, key);
        }
        Ok(Self { by_hash })
    }

    /// The integration principal of `key`, or `UNAUTHENTICATED` for an unknown, revoked or
    /// expired key.
    pub fn verify(&self, key: &str) -> Result<Principal, GatewayError> {
        let entry = self
            .by_hash
            .get(&hash_api_key(key))
            .filter(|entry| !entry.revoked)
            .ok_or_else(|| GatewayError::Unauthenticated("the API key is not valid".into()))?;
        if entry.expires.is_some_and(|expires| expires <= Utc::now()) {
            return Err(GatewayError::Unauthenticated(
                "the API key has expired".into(),
            ));
        }
        Ok(Principal {
            subject: format!("apikeys/{}", entry.id),
            roles: vec![Role::Integration],
            region: entry.region.clone(),
            customer: None,
            scopes: entry.scopes.clone(),
            display_name: Some(entry.id.clone()),
            via: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(json: &str) -> ApiKeys {
        ApiKeys::parse(json.as_bytes()).unwrap()
    }

    #[test]
    fn a_known_key_becomes_an_integration_with_its_scopes() {
        let file = format!(
            r#"{{"keys":[{{"id":"erp","sha256":"{}","scopes":["tickets.write"]}}]}}"#,
            hash_api_key("s3cret")
        );
        let principal = keys(&file).verify("s3cret").unwrap();
        assert_eq!(principal.subject, "apikeys/erp");
        assert_eq!(principal.roles, vec![Role::Integration]);
        assert_eq!(principal.scopes, vec!["tickets.write".to_owned()]);
        assert!(keys(&file).verify("guess").is_err());
    }

    #[test]
    fn expired_and_revoked_keys_are_refused() {
        let file = format!(
            r#"{{"keys":[{{"id":"old","sha256":"{}","expires":"2020-01-01T00:00:00Z"}},
                         {{"id":"gone","sha256":"{}","revoked":true}}]}}"#,
            hash_api_key("old"),
            hash_api_key("gone")
        );
        let keys = keys(&file);
        assert!(
            matches!(keys.verify("old"), Err(GatewayError::Unauthenticated(m)) if m.contains("expired"))
        );
        assert!(keys.verify("gone").is_err());
    }

    #[test]
    fn a_malformed_hash_is_refused_with_its_index() {
        let err = ApiKeys::parse(br#"{"keys":[{"id":"x","sha256":"abc"}]}"#).unwrap_err();
        assert!(err.to_string().contains("keys[0].sha256"), "{err}");
    }
}

//! JWT bearer tokens: HS256 with `gateway.jwt_secret` (development), RS256 or ES256 with a
//! key of the JWKS file (production identity providers). Issuer, audience and expiry are
//! checked. The claims carry the principal: `sub`, `roles` (names: `agent`, `customer`, …),
//! `region`, `customer` (`customers/{id}`), `name` and `scope` (space separated).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aftercare_platform::auth::{Principal, Role};
use aftercare_platform::config::GatewayConfig;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::reload::Reloading;
use crate::error::GatewayError;

/// Seconds of clock skew tolerated on `exp`.
const LEEWAY_SECS: u64 = 30;

/// The claims the gateway reads (and mints).
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    customer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

#[derive(Serialize)]
struct MintedClaims<'a> {
    #[serde(flatten)]
    claims: &'a Claims,
    iss: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

/// The public keys of a JWKS file.
pub struct Jwks {
    keys: Vec<(Option<String>, DecodingKey)>,
}

/// Parses a JWKS file (`{"keys": [...]}`).
pub fn parse_jwks(bytes: &[u8]) -> anyhow::Result<Jwks> {
    let set: JwkSet = serde_json::from_slice(bytes)?;
    let keys = set
        .keys
        .iter()
        .enumerate()
        .map(|(i, jwk)| {
            DecodingKey::from_jwk(jwk)
                .map(|key| (jwk.common.key_id.clone(), key))
                .map_err(|err| anyhow::anyhow!("keys[{i}]: {err}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Jwks { keys })
}

impl Jwks {
    fn key(&self, kid: Option<&str>) -> Option<&DecodingKey> {
        match kid {
            Some(kid) => self
                .keys
                .iter()
                .find(|(id, _)| id.as_deref() == Some(kid))
                .map(|(_, key)| key),
            None if self.keys.len() == 1 => self.keys.first().map(|(_, key)| key),
            None => None,
        }
    }
}

/// Verifies bearer tokens.
pub struct JwtVerifier {
    hs256: Option<DecodingKey>,
    jwks: Option<Reloading<Jwks>>,
    issuer: String,
    audience: String,
}

impl JwtVerifier {
    pub fn new(config: &GatewayConfig, jwks: Option<Reloading<Jwks>>) -> anyhow::Result<Self> {
        if let Some(secret) = &config.jwt_secret
            && secret.expose().len() < 32
        {
            anyhow::bail!("gateway.jwt_secret: must be at least 32 characters");
        }
        Ok(Self {
            hs256: config
                .jwt_secret
                .as_ref()
                .map(|secret| DecodingKey::from_secret(secret.expose().as_bytes())),
            jwks,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
        })
    }

    /// The principal `token` proves.
    pub fn verify(&self, token: &str) -> Result<Principal, GatewayError> {
        let unauthenticated = |m: &str| GatewayError::Unauthenticated(m.to_owned());
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| unauthenticated("the bearer token is malformed"))?;
        let jwks = self.jwks.as_ref().and_then(Reloading::current);
        let key = match header.alg {
            Algorithm::HS256 => self
                .hs256
                .as_ref()
                .ok_or_else(|| unauthenticated("HS256 tokens are not accepted here"))?,
            Algorithm::RS256 | Algorithm::ES256 => jwks
                .as_deref()
                .and_then(|jwks| jwks.key(header.kid.as_deref()))
                .ok_or_else(|| unauthenticated("the token's signing key is not known"))?,
            _ => return Err(unauthenticated("the token's algorithm is not accepted")),
        };
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECS;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        let claims = jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map_err(|err| {
                unauthenticated(match err.kind() {
                    ErrorKind::ExpiredSignature => "the token has expired",
                    ErrorKind::InvalidAudience => "the token is not meant for this audience",
                    ErrorKind::InvalidIssuer => "the token's issuer is not trusted",
                    ErrorKind::InvalidSignature => "the token's signature does not verify",
                    ErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim",
                    _ => "the bearer token is not valid",
                })
            })?
            .claims;
        principal(claims)
    }
}

fn principal(claims: Claims) -> Result<Principal, GatewayError> {
    // A token never makes its bearer a service: that role is the platform's own.
    let roles: Vec<Role> = claims
        .roles
        .iter()
        .filter_map(|name| serde_json::from_value(serde_json::Value::String(name.clone())).ok())
        .filter(|role| *role != Role::Service)
        .collect();
    if roles.is_empty() {
        return Err(GatewayError::PermissionDenied(
            "the token grants no Aftercare role".into(),
        ));
    }
    let customer = claims.customer.or_else(|| {
        (roles.contains(&Role::Customer) && claims.sub.starts_with("customers/"))
            .then(|| claims.sub.clone())
    });
    Ok(Principal {
        subject: claims.sub,
        roles,
        region: claims.region,
        customer,
        scopes: claims
            .scope
            .map(|scope| scope.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
        display_name: claims.name,
        via: None,
    })
}

/// Mints a development token (HS256 with `config.jwt_secret`) for `subject` with `roles`,
/// valid for `ttl`, that this gateway accepts: what `aftercare token` prints.
pub fn mint_dev_token(
    config: &GatewayConfig,
    subject: &str,
    roles: &[Role],
    region: Option<&str>,
    customer: Option<&str>,
    ttl: Duration,
) -> anyhow::Result<String> {
    let secret = config
        .jwt_secret
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("gateway.jwt_secret is not set: no token can be minted"))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let claims = Claims {
        sub: subject.to_owned(),
        roles: roles.iter().map(|role| role.as_str().to_owned()).collect(),
        region: region.map(str::to_owned),
        customer: customer.map(str::to_owned),
        name: None,
        scope: None,
    };
    let minted = MintedClaims {
        claims: &claims,
        iss: &config.issuer,
        aud: &config.audience,
        iat: now,
        exp: now + ttl.as_secs(),
    };
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &minted,
        &EncodingKey::from_secret(secret.expose().as_bytes()),
    )?)
}

#[cfg(test)]
mod tests {
    use aftercare_platform::config::Secret;

    use super::*;

    fn config() -> GatewayConfig {
        GatewayConfig {
            jwt_secret: Some(Secret::new("0123456789abcdef0123456789abcdef")),
            ..GatewayConfig::default()
        }
    }

    #[test]
    fn a_minted_token_verifies_as_its_principal() {
        let config = config();
        let token = mint_dev_token(
            &config,
            "customers/7",
            &[Role::Customer],
            Some("eu-west"),
            None,
            Duration::from_secs(60),
        )
        .unwrap();
        let principal = JwtVerifier::new(&config, None)
            .unwrap()
            .verify(&token)
            .unwrap();
        assert_eq!(principal.subject, "customers/7");
        assert_eq!(principal.roles, vec![Role::Customer]);
        assert_eq!(principal.customer.as_deref(), Some("customers/7"));
        assert_eq!(principal.region.as_deref(), Some("eu-west"));
    }

    #[test]
    fn a_token_cannot_claim_the_service_role() {
        let config = config();
        let token = mint_dev_token(
            &config,
            "x",
            &[Role::Service],
            None,
            None,
            Duration::from_secs(60),
        )
        .unwrap();
        let err = JwtVerifier::new(&config, None).unwrap().verify(&token);
        assert!(matches!(err, Err(GatewayError::PermissionDenied(_))));
    }

    #[test]
    fn a_short_secret_is_refused() {
        let config = GatewayConfig {
            jwt_secret: Some(Secret::new("short")),
            ..GatewayConfig::default()
        };
        assert!(JwtVerifier::new(&config, None).is_err());
        assert!(
            mint_dev_token(
                &GatewayConfig::default(),
                "x",
                &[Role::Admin],
                None,
                None,
                Duration::from_secs(1)
            )
            .is_err()
        );
    }
}

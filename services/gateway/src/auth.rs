//! Authentication: a JWT bearer token (HS256 with the configured secret, or RS256/ES256
//! against the JWKS file) or an API key (`x-api-key`, looked up by its SHA-256 hash).

mod api_keys;
mod jwt;
mod reload;

use std::sync::Arc;

use aftercare_platform::auth::Principal;
use aftercare_platform::config::GatewayConfig;
use http::HeaderMap;
use tokio_util::sync::CancellationToken;

use crate::error::GatewayError;

pub use api_keys::hash_api_key;
pub use jwt::mint_dev_token;

/// The header an integration sends its API key in.
pub const API_KEY_HEADER: &str = "x-api-key";

/// Verifies the credentials of a call.
#[derive(Clone)]
pub struct Authenticator {
    jwt: Arc<jwt::JwtVerifier>,
    api_keys: Option<reload::Reloading<api_keys::ApiKeys>>,
}

impl Authenticator {
    /// An authenticator for `config`; the JWKS and API key files are read now and re-read
    /// when they change, until `shutdown`.
    pub fn new(config: &GatewayConfig, shutdown: &CancellationToken) -> anyhow::Result<Self> {
        let jwks = config
            .jwks_file
            .as_ref()
            .map(|path| {
                reload::Reloading::watch(
                    path.clone(),
                    config.reload_interval,
                    jwt::parse_jwks,
                    shutdown,
                )
            })
            .transpose()
            .map_err(|err| anyhow::anyhow!("gateway.jwks_file: {err:#}"))?;
        let api_keys = config
            .api_keys_file
            .as_ref()
            .map(|path| {
                reload::Reloading::watch(
                    path.clone(),
                    config.reload_interval,
                    api_keys::ApiKeys::parse,
                    shutdown,
                )
            })
            .transpose()
            .map_err(|err| anyhow::anyhow!("gateway.api_keys_file: {err:#}"))?;
        Ok(Self {
            jwt: Arc::new(jwt::JwtVerifier::new(config, jwks)?),
            api_keys,
        })
    }

    /// The principal the request's credentials prove, or `UNAUTHENTICATED`.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, GatewayError> {
        if let Some(key) = headers.get(API_KEY_HEADER) {
            let key = key
                .to_str()
                .map_err(|_| GatewayError::Unauthenticated("the API key is malformed".into()))?;
            let keys = self.api_keys.as_ref().ok_or_else(|| {
                GatewayError::Unauthenticated("API keys are not accepted here".into())
            })?;
            return keys
                .current()
                .ok_or_else(|| {
                    GatewayError::Unauthenticated(
                        "API keys cannot be checked right now: the keys file is missing or malformed"
                            .into(),
                    )
                })?
                .verify(key);
        }
        let token = headers
            .get(http::header::AUTHORIZATION)
            .map(|value| {
                value
                    .to_str()
                    .ok()
                    .and_then(|v| {
                        v.strip_prefix("Bearer ")
                            .or_else(|| v.strip_prefix("bearer "))
                    })
                    .map(str::trim)
                    .ok_or_else(|| {
                        GatewayError::Unauthenticated(
                            "the authorization header is not `Bearer <token>`".into(),
                        )
                    })
            })
            .transpose()?
            .ok_or_else(|| {
                GatewayError::Unauthenticated(
                    "credentials are required: a bearer token or an x-api-key".into(),
                )
            })?;
        self.jwt.verify(token)
    }
}

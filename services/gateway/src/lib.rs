//! The gateway: the one entry point of Aftercare. Native gRPC, gRPC-Web and REST/JSON
//! (transcoded from the contracts' `google.api.http` annotations) on one port; JWT and API key
//! authentication; a role → method policy; the verified principal passed to the services,
//! signed; per-principal rate limits, a request size limit, a concurrency limit that sheds
//! load; an audit log of every mutating call; health and reflection for everything behind it.
//!
//! ```no_run
//! # async fn run(config: std::sync::Arc<aftercare_platform::config::Config>) -> anyhow::Result<()> {
//! use aftercare_gateway::Gateway;
//! use aftercare_platform::auth::PrincipalVerifier;
//!
//! let listener = tokio::net::TcpListener::bind(config.gateway.listen).await?;
//! let shutdown = tokio_util::sync::CancellationToken::new();
//! let gateway = Gateway::start(config, PrincipalVerifier::random(), listener, shutdown).await?;
//! gateway.stopped().await;
//! # Ok(())
//! # }
//! ```

mod audit;
mod auth;
mod cors;
mod error;
mod forward;
mod grpc;
mod health;
mod limits;
mod observe;
mod policy;
mod rest;
mod routes;
mod server;

pub use auth::{hash_api_key, mint_dev_token};
pub use rest::openapi_document;

/// Every contract's descriptors with their options intact (`google.api.http` included), for
/// REST transcoding and the OpenAPI document.
const DESCRIPTOR_SET: &[u8] = aftercare_proto::FILE_DESCRIPTOR_SET;
pub use server::{Gateway, RunningGateway};

//! The gRPC pipeline every call goes through, whatever protocol it arrived in: authenticate,
//! authorise, rate-limit, read the (bounded) body, replace the credentials by the signed
//! principal, forward to the backend, audit.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use aftercare_platform::auth::{PRINCIPAL_HEADER, Principal, PrincipalVerifier, SIGNATURE_HEADER};
use aftercare_platform::config::GatewayConfig;
use http::HeaderMap;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use tokio::time::Instant;
use tonic::Status;
use tonic::body::Body;
use tonic::metadata::MetadataMap;
use tonic::service::Routes;
use tower::{Service, ServiceExt as _};
use tracing::Instrument as _;

use crate::audit::AuditRecord;
use crate::auth::{API_KEY_HEADER, Authenticator};
use crate::error::{GatewayError, status_response};
use crate::forward::{Forwarder, Outgoing};
use crate::limits::RateLimits;
use crate::observe::{Metrics, Protocol, call_span, on_end};
use crate::policy::{Policy, allows_anonymous};
use crate::routes::RpcPath;

/// Everything the pipeline needs, shared by every call.
pub struct Pipeline {
    pub auth: Authenticator,
    pub policy: Policy,
    pub limits: RateLimits,
    pub forwarder: Forwarder,
    pub principals: PrincipalVerifier,
    pub local: Routes,
    pub config: GatewayConfig,
}

/// The pipeline as a tower service over gRPC requests.
#[derive(Clone)]
pub struct GrpcPipeline {
    pipeline: Arc<Pipeline>,
}

impl GrpcPipeline {
    pub fn new(pipeline: Pipeline) -> Self {
        Self {
            pipeline: Arc::new(pipeline),
        }
    }
}

impl Service<http::Request<Body>> for GrpcPipeline {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let Some(rpc) = RpcPath::parse(request.uri().path()) else {
            let status =
                Status::unimplemented(format!("`{}` is not a gRPC method", request.uri().path()));
            return Box::pin(std::future::ready(Ok(status_response(status))));
        };
        let pipeline = self.pipeline.clone();
        let protocol = request
            .extensions()
            .get::<Protocol>()
            .copied()
            .unwrap_or(Protocol::Grpc);
        // The forwarded call's client span, and so the service's spans, hang under this one.
        let span = call_span(&rpc, protocol, request.headers());
        Box::pin(async move { Ok(pipeline.handle(rpc, protocol, request).await) }.instrument(span))
    }
}

impl Pipeline {
    async fn handle(
        &self,
        rpc: RpcPath,
        protocol: Protocol,
        request: http::Request<Body>,
    ) -> http::Response<Body> {
        if rpc.service.starts_with("grpc.health.") || rpc.service.starts_with("grpc.reflection.") {
            return match self.local.clone().oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
        }
        let metrics = Metrics::start(&rpc, protocol);
        let (parts, body) = request.into_parts();
        // The survey page's two methods are called without credentials (the invitation token
        // is the credential); credentials sent with them are still checked.
        let anonymous = allows_anonymous(&rpc) && !has_credentials(&parts.headers);
        let principal = if anonymous {
            Ok(None)
        } else {
            self.auth.authenticate(&parts.headers).map(Some)
        };
        let audit = AuditRecord::start(principal.as_ref().ok().and_then(Option::as_ref), &rpc);
        let answer = match principal {
            Ok(Some(principal)) => self.call(&rpc, &principal, parts.headers, body).await,
            Ok(None) => {
                let peer = parts.extensions.get::<Peer>().copied();
                self.call_anonymous(&rpc, peer, parts.headers, body).await
            }
            Err(err) => Err(err),
        };
        let response = answer.unwrap_or_else(|err| status_response(Status::from(err)));
        on_end(response, move |code| {
            if let Some(audit) = audit {
                audit.finish(code);
            }
            metrics.finish(code);
        })
    }

    async fn call(
        &self,
        rpc: &RpcPath,
        principal: &Principal,
        headers: HeaderMap,
        body: Body,
    ) -> Result<http::Response<Body>, GatewayError> {
        rpc.backend()
            .ok_or_else(|| GatewayError::UnknownService(rpc.service.clone()))?;
        if !self.policy.allows(principal, rpc) {
            let roles: Vec<&str> = principal.roles.iter().map(|r| r.as_str()).collect();
            return Err(GatewayError::PermissionDenied(format!(
                "{} may not call {}",
                roles.join(", "),
                rpc.full()
            )));
        }
        self.limits.check(&principal.subject)?;
        self.send(rpc, Some(principal), headers, body).await
    }

    /// A call without credentials to one of the methods that allow it: rate-limited per
    /// client address (one shared bucket when the address is unknown), forwarded with no
    /// principal.
    async fn call_anonymous(
        &self,
        rpc: &RpcPath,
        peer: Option<Peer>,
        headers: HeaderMap,
        body: Body,
    ) -> Result<http::Response<Body>, GatewayError> {
        let key = peer.map_or_else(|| "anonymous".to_owned(), |p| format!("anonymous@{}", p.0));
        self.limits.check(&key)?;
        self.send(rpc, None, headers, body).await
    }

    /// Forwards the call to its backend with `principal` signed for it (and whatever
    /// principal or credentials the caller sent removed).
    async fn send(
        &self,
        rpc: &RpcPath,
        principal: Option<&Principal>,
        headers: HeaderMap,
        body: Body,
    ) -> Result<http::Response<Body>, GatewayError> {
        let backend = rpc
            .backend()
            .ok_or_else(|| GatewayError::UnknownService(rpc.service.clone()))?;
        let body = read_body(body, &headers, self.config.max_request_bytes).await?;
        let (deadline, send_deadline) = self.deadline(rpc, &headers);
        let mut metadata = MetadataMap::from_headers(headers);
        for name in [
            PRINCIPAL_HEADER,
            SIGNATURE_HEADER,
            API_KEY_HEADER,
            "authorization",
        ] {
            metadata.remove(name);
        }
        if let Some(principal) = principal {
            self.principals.attach(principal, backend, &mut metadata);
        }
        let subject = principal.map_or("anonymous", |p| p.subject.as_str());
        tracing::debug!(subject, method = %rpc.full(), backend, "forwarding");
        self.forwarder
            .forward(Outgoing {
                rpc,
                backend,
                headers: metadata.into_headers(),
                body,
                deadline,
                send_deadline,
            })
            .await
    }

    /// When the call must be answered: the caller's deadline or the route's timeout, whichever
    /// is sooner; and whether the backend must be told (it is, unless only the default
    /// timeout applies, which bounds the wait for an answer but not a stream).
    fn deadline(&self, rpc: &RpcPath, headers: &HeaderMap) -> (Instant, bool) {
        let now = Instant::now();
        let route = [rpc.full(), rpc.service.clone(), rpc.package().to_owned()]
            .into_iter()
            .find_map(|key| self.config.route_timeouts.get(&key).map(|t| **t));
        let timeout = route.unwrap_or(self.config.request_timeout);
        match headers.get("grpc-timeout").and_then(parse_grpc_timeout) {
            Some(client) => (now + client.min(timeout), true),
            None => (now + timeout, route.is_some()),
        }
    }
}

/// The address of the client a request came from (set per connection by the server).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub std::net::IpAddr);

/// Whether the request carries credentials (a bearer token or an API key).
fn has_credentials(headers: &HeaderMap) -> bool {
    headers.contains_key(http::header::AUTHORIZATION) || headers.contains_key(API_KEY_HEADER)
}

/// The whole request body, refused past `limit` bytes.
pub(crate) async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<bytes::Bytes, GatewayError> {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(GatewayError::TooLarge { limit });
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<LengthLimitError>() => Err(GatewayError::TooLarge { limit }),
        Err(err) => Err(GatewayError::InvalidArgument(format!(
            "the request body cannot be read: {err}"
        ))),
    }
}

/// Parses a `grpc-timeout` value: up to 8 digits and a unit (`H`, `M`, `S`, `m`, `u`, `n`).
fn parse_grpc_timeout(value: &http::HeaderValue) -> Option<Duration> {
    let value = value.to_str().ok()?;
    let unit = value.chars().last()?;
    let digits = &value[..value.len() - 1];
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        'H' => Duration::from_secs(amount * 3600),
        'M' => Duration::from_secs(amount * 60),
        'S' => Duration::from_secs(amount),
        'm' => Duration::from_millis(amount),
        'u' => Duration::from_micros(amount),
        'n' => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn grpc_timeouts_parse_in_every_unit() {
        let parse = |v: &'static str| parse_grpc_timeout(&HeaderValue::from_static(v));
        assert_eq!(parse("5S"), Some(Duration::from_secs(5)));
        assert_eq!(parse("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse("10u"), Some(Duration::from_micros(10)));
        assert_eq!(parse("123456789S"), None);
        assert_eq!(parse("S"), None);
        assert_eq!(parse("5x"), None);
    }
}

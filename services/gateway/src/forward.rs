//! Forwarding a gRPC call to its backend over HTTP/2, body bytes as they are. The caller's
//! deadline (`grpc-timeout`) and the route's timeout both bound the call; a read that fails
//! with UNAVAILABLE before any answer is retried a few times; a backend that cannot be
//! reached fails fast (the connect timeout) with UNAVAILABLE.

use std::collections::HashMap;
use std::time::Duration;

use aftercare_platform::config::Config;
use aftercare_platform::telemetry::{GrpcClientLayer, GrpcClientService};
use bytes::Bytes;
use http::uri::{Authority, Scheme};
use http::{HeaderMap, HeaderValue, Uri, Version};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::time::Instant;
use tonic::body::Body;
use tower::{Layer as _, ServiceExt as _};

use crate::error::GatewayError;
use crate::routes::{BACKENDS, RpcPath};

/// Headers that belong to one hop and are not forwarded.
const HOP_HEADERS: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "te",
];

/// The first retry waits this long; each further one twice as long.
const RETRY_BACKOFF: Duration = Duration::from_millis(20);

type HttpClient = GrpcClientService<Client<HttpConnector, Full<Bytes>>>;

/// Where a backend listens.
#[derive(Debug, Clone)]
struct Backend {
    scheme: Scheme,
    authority: Authority,
}

/// A call about to be forwarded.
pub struct Outgoing<'a> {
    /// The method.
    pub rpc: &'a RpcPath,
    /// Its backend.
    pub backend: &'static str,
    /// The headers to send (credentials already replaced by the signed principal).
    pub headers: HeaderMap,
    /// The request body: gRPC frames, untouched.
    pub body: Bytes,
    /// When the call must have been answered.
    pub deadline: Instant,
    /// Whether to tell the backend the deadline (`grpc-timeout`).
    pub send_deadline: bool,
}

/// The HTTP/2 client to every backend.
#[derive(Clone)]
pub struct Forwarder {
    client: HttpClient,
    backends: HashMap<&'static str, Backend>,
    max_retries: u32,
}

impl Forwarder {
    /// A forwarder to the backends of `config`.
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let mut backends = HashMap::new();
        for name in BACKENDS {
            let endpoint = config
                .services
                .get(name)
                .map(|service| service.endpoint())
                .ok_or_else(|| anyhow::anyhow!("no configuration for service `{name}`"))?;
            let uri: Uri = endpoint
                .parse()
                .map_err(|err| anyhow::anyhow!("services.{name}.endpoint: {err}"))?;
            let (Some(scheme), Some(authority)) = (uri.scheme().cloned(), uri.authority().cloned())
            else {
                anyhow::bail!("services.{name}.endpoint: `{endpoint}` needs a scheme and a host");
            };
            if scheme != Scheme::HTTP {
                anyhow::bail!(
                    "services.{name}.endpoint: the gateway reaches services over http:// (TLS is terminated in front of them)"
                );
            }
            backends.insert(name, Backend { scheme, authority });
        }
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(config.gateway.connect_timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .http2_only(true)
            .http2_keep_alive_interval(Some(Duration::from_secs(30)))
            .pool_idle_timeout(Duration::from_secs(90))
            .build(connector);
        Ok(Self {
            client: GrpcClientLayer::new().layer(client),
            backends,
            max_retries: config.gateway.max_retries,
        })
    }

    /// Sends `call` to its backend and returns the backend's response as it streams.
    pub async fn forward(&self, call: Outgoing<'_>) -> Result<http::Response<Body>, GatewayError> {
        let backend = self
            .backends
            .get(call.backend)
            .ok_or_else(|| GatewayError::UnknownService(call.rpc.service.clone()))?;
        let uri = Uri::builder()
            .scheme(backend.scheme.clone())
            .authority(backend.authority.clone())
            .path_and_query(format!("/{}", call.rpc.full()))
            .build()
            .map_err(|err| GatewayError::InvalidArgument(format!("bad method path: {err}")))?;
        let mut headers = call.headers;
        for name in HOP_HEADERS {
            headers.remove(name);
        }
        headers.insert("te", HeaderValue::from_static("trailers"));
        let attempts = if call.rpc.is_retryable() {
            self.max_retries + 1
        } else {
            1
        };
        let unavailable = || GatewayError::Unavailable {
            backend: call.backend.to_owned(),
        };
        for attempt in 0..attempts {
            let last = attempt + 1 == attempts;
            let mut request = http::Request::new(Full::new(call.body.clone()));
            *request.method_mut() = http::Method::POST;
            *request.uri_mut() = uri.clone();
            *request.version_mut() = Version::HTTP_2;
            *request.headers_mut() = headers.clone();
            if call.send_deadline {
                let left = call.deadline.saturating_duration_since(Instant::now());
                if let Ok(value) = HeaderValue::from_str(&format!("{}m", left.as_millis().max(1))) {
                    request.headers_mut().insert("grpc-timeout", value);
                }
            }
            let answer =
                tokio::time::timeout_at(call.deadline, self.client.clone().oneshot(request))
                    .await
                    .map_err(|_| GatewayError::DeadlineExceeded)?;
            match answer {
                Ok(response) if last || !is_unavailable(response.headers()) => {
                    return Ok(response.map(Body::new));
                }
                Ok(_) => {
                    tracing::debug!(backend = call.backend, attempt, "backend unavailable; retrying");
                }
                Err(err) if last => {
                    tracing::warn!(backend = call.backend, error = %err, "cannot reach the backend");
                    return Err(unavailable());
                }
                Err(err) => {
                    tracing::debug!(backend = call.backend, attempt, error = %err, "cannot reach the backend; retrying");
                }
            }
            let backoff = RETRY_BACKOFF * 2u32.pow(attempt);
            if Instant::now() + backoff >= call.deadline {
                return Err(GatewayError::DeadlineExceeded);
            }
            tokio::time::sleep(backoff).await;
        }
        Err(unavailable())
    }
}

/// True for a trailers-only UNAVAILABLE answer (nothing was processed).
fn is_unavailable(headers: &HeaderMap) -> bool {
    headers.get("grpc-status").is_some_and(|code| code == "14")
}

//! Forwarding a gRPC call to its backend over HTTP/2, body bytes as they are. The caller's
//! deadline (`grpc-timeout`) and the route's timeout both bound the call; a read that fails
//! with UNAVAILABLE before any answer is retried a few times, and any call whose connection
//! was refused (so nothing was sent) is retried on another endpoint; a backend that cannot
//! be reached fails fast (the connect timeout) with UNAVAILABLE. Calls are spread over every
//! address the backend's host name resolves to, one HTTP/2 connection each.

mod balance;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aftercare_platform::config::Config;
use aftercare_platform::local::{LocalNetwork, LocalOrRemote};
use aftercare_platform::telemetry::{GrpcClientLayer, GrpcClientService};
use bytes::Bytes;
use http::uri::Scheme;
use http::{HeaderMap, HeaderValue, Uri, Version};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tonic::body::Body;
use tower::{Layer as _, ServiceExt as _};

use self::balance::Endpoints;
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

type HttpClient = GrpcClientService<Client<LocalOrRemote<HttpConnector>, Full<Bytes>>>;

/// Where a backend listens.
#[derive(Debug, Clone)]
struct Backend {
    scheme: Scheme,
    endpoints: Arc<Endpoints>,
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
    /// A forwarder to the backends of `config`; those of `local` (the services of this
    /// process) are reached in memory, the others over TCP.
    /// Host names are resolved again every few seconds until `shutdown`.
    pub fn new(
        config: &Config,
        local: &LocalNetwork,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<Self> {
        let mut backends = HashMap::new();
        for name in BACKENDS {
            let endpoint = config
                .services
                .get(name)
                .map(|service| service.endpoint())
                .ok_or_else(|| anyhow::anyhow!("no configuration for service `{name}`"))?;
            // Several replicas by address: `http://127.0.0.1:50061,127.0.0.1:50071`.
            if let Some(list) = endpoint.strip_prefix("http://")
                && list.contains(',')
            {
                let addrs = list
                    .split(',')
                    .map(|addr| addr.trim().trim_end_matches('/').parse())
                    .collect::<Result<Vec<std::net::SocketAddr>, _>>()
                    .map_err(|err| {
                        anyhow::anyhow!("services.{name}.endpoint: `{endpoint}`: {err} (a list takes ip:port entries)")
                    })?;
                backends.insert(
                    name,
                    Backend {
                        scheme: Scheme::HTTP,
                        endpoints: Endpoints::fixed(addrs),
                    },
                );
                continue;
            }
            let uri: Uri = endpoint
                .parse()
                .map_err(|err| anyhow::anyhow!("services.{name}.endpoint: {err}"))?;
            let (Some(scheme), Some(host)) = (uri.scheme().cloned(), uri.host()) else {
                anyhow::bail!("services.{name}.endpoint: `{endpoint}` needs a scheme and a host");
            };
            if scheme != Scheme::HTTP {
                anyhow::bail!(
                    "services.{name}.endpoint: the gateway reaches services over http:// (TLS is terminated in front of them)"
                );
            }
            let port = uri.port_u16().unwrap_or(80);
            let endpoints = Endpoints::resolving(host, port, shutdown);
            backends.insert(name, Backend { scheme, endpoints });
        }
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(config.gateway.connect_timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .http2_only(true)
            .http2_keep_alive_interval(Some(Duration::from_secs(30)))
            // A service's error trailers (every field violation) can outgrow hyper's 16 KiB default.
            .http2_max_header_list_size(1 << 20)
            .pool_idle_timeout(Duration::from_secs(90))
            .build(local.or_remote(connector));
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
        let path = format!("/{}", call.rpc.full());
        let mut headers = call.headers;
        for name in HOP_HEADERS {
            headers.remove(name);
        }
        headers.insert("te", HeaderValue::from_static("trailers"));
        let unavailable = || GatewayError::Unavailable {
            backend: call.backend.to_owned(),
        };
        let attempts = self.max_retries + 1;
        for attempt in 0..attempts {
            let last = attempt + 1 == attempts;
            if backend.endpoints.len() == 0 {
                backend.endpoints.refresh().await;
            }
            let addr = backend.endpoints.pick().ok_or_else(unavailable)?;
            let uri = Uri::builder()
                .scheme(backend.scheme.clone())
                .authority(addr.to_string())
                .path_and_query(path.as_str())
                .build()
                .map_err(|err| GatewayError::InvalidArgument(format!("bad method path: {err}")))?;
            let mut request = http::Request::new(Full::new(call.body.clone()));
            *request.method_mut() = http::Method::POST;
            *request.uri_mut() = uri;
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
                Ok(response)
                    if !last && call.rpc.is_retryable() && is_unavailable(response.headers()) =>
                {
                    tracing::debug!(backend = call.backend, %addr, attempt, "backend unavailable; retrying");
                }
                Ok(response) if ran_out_upstream(response.headers(), call.deadline) => {
                    return Err(GatewayError::DeadlineExceeded);
                }
                Ok(response) => return Ok(response.map(Body::new)),
                Err(err) => {
                    // A refused connection sent nothing: any call may go to another endpoint.
                    let refused = is_connect(err.as_ref());
                    if refused {
                        backend.endpoints.mark_down(addr);
                    }
                    let again = call.rpc.is_retryable() || (refused && backend.endpoints.len() > 1);
                    if last || !again {
                        tracing::warn!(backend = call.backend, %addr, error = %err, "cannot reach the backend");
                        return Err(unavailable());
                    }
                    tracing::debug!(backend = call.backend, %addr, attempt, error = %err, "cannot reach the backend; retrying");
                }
            }
            let backoff = RETRY_BACKOFF * 2u32.pow(attempt);
            if Instant::now() + backoff >= call.deadline {
                return Err(unavailable());
            }
            tokio::time::sleep(backoff).await;
        }
        Err(unavailable())
    }
}

/// True when the connection could not be made (nothing was sent).
fn is_connect(err: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    err.downcast_ref::<hyper_util::client::legacy::Error>()
        .is_some_and(hyper_util::client::legacy::Error::is_connect)
}

/// True for a trailers-only UNAVAILABLE answer (nothing was processed).
fn is_unavailable(headers: &HeaderMap) -> bool {
    headers.get("grpc-status").is_some_and(|code| code == "14")
}

/// How close to the caller's deadline a backend's CANCELLED counts as the deadline.
const DEADLINE_SLACK: Duration = Duration::from_millis(50);

/// tonic answers a call whose `grpc-timeout` ran out with CANCELLED ("Timeout expired"), not
/// DEADLINE_EXCEEDED. The backend's clock starts when the call arrives, so its timer and the
/// gateway's fire together, and on a loaded machine either may win: a CANCELLED that comes
/// back at the caller's deadline is that deadline, and the caller is told DEADLINE_EXCEEDED.
fn ran_out_upstream(headers: &HeaderMap, deadline: Instant) -> bool {
    headers.get("grpc-status").is_some_and(|code| code == "1")
        && Instant::now() + DEADLINE_SLACK >= deadline
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("grpc-status", HeaderValue::from_static(code));
        headers
    }

    #[test]
    fn a_backend_cancelled_at_the_deadline_ran_out_of_time_and_no_other_answer_did() {
        let now = Instant::now();
        assert!(ran_out_upstream(&status("1"), now));
        assert!(ran_out_upstream(
            &status("1"),
            now + Duration::from_millis(10)
        ));
        // Cancelled well before the deadline is the backend's own answer.
        assert!(!ran_out_upstream(
            &status("1"),
            now + Duration::from_secs(5)
        ));
        // Other codes pass through whatever the time.
        assert!(!ran_out_upstream(&status("14"), now));
        assert!(!ran_out_upstream(&status("0"), now));
        assert!(!ran_out_upstream(&HeaderMap::new(), now));
    }
}

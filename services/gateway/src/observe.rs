//! What the gateway records about each call once it ends: its gRPC status (read from the
//! headers of a trailers-only answer, or from the trailers after the last message), for the
//! audit log and the per-route metrics, and the trace span the services' spans hang under.
//!
//! The gateway's metrics have their own names, so that in one process (`aftercare up`) they
//! do not add to the services' `grpc_server_*` series:
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `gateway_requests_total` | counter | `protocol`, `service`, `method`, `code` |
//! | `gateway_request_duration_seconds` | histogram | `protocol`, `service`, `method` |
//! | `gateway_in_flight` | gauge | `protocol` |

use std::collections::HashMap;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Frame, SizeHint};
use tonic::Code;
use tonic::body::Body;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::routes::RpcPath;

/// Counter of finished calls.
pub const REQUESTS_TOTAL: &str = "gateway_requests_total";
/// Histogram of call durations in seconds, to the end of the answer.
pub const REQUEST_DURATION_SECONDS: &str = "gateway_request_duration_seconds";
/// Gauge of calls in progress.
pub const IN_FLIGHT: &str = "gateway_in_flight";

/// The protocol a call arrived in, carried to the pipeline as a request extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Grpc,
    GrpcWeb,
    Rest,
}

impl Protocol {
    /// The protocol of a request, by its content type.
    pub fn of(headers: &HeaderMap) -> Self {
        let content_type = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if content_type.starts_with("application/grpc-web") {
            Self::GrpcWeb
        } else if content_type.starts_with("application/grpc") {
            Self::Grpc
        } else {
            Self::Rest
        }
    }

    /// Its name in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Grpc => "grpc",
            Self::GrpcWeb => "grpc-web",
            Self::Rest => "rest",
        }
    }
}

/// The span of one call through the gateway, a child of the caller's trace context
/// (`traceparent`), so the forwarded call and the service's spans join the caller's trace.
pub fn call_span(rpc: &RpcPath, protocol: Protocol, headers: &HeaderMap) -> tracing::Span {
    let span = tracing::info_span!(
        "gateway",
        otel.name = %format_args!("gateway {}", rpc.full()),
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = %rpc.service,
        rpc.method = %rpc.method,
        protocol = protocol.as_str(),
        request_id = tracing::field::Empty,
    );
    if let Some(id) = headers.get("x-request-id").and_then(|v| v.to_str().ok()) {
        span.record("request_id", id);
    }
    let carrier: HashMap<String, String> = ["traceparent", "tracestate"]
        .into_iter()
        .filter_map(|name| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| (name.to_owned(), v.to_owned()))
        })
        .collect();
    let _ = span.set_parent(aftercare_platform::telemetry::extract_context(&carrier));
    span
}

/// Counts a call in progress until [`Metrics::finish`].
pub struct Metrics {
    protocol: Protocol,
    service: String,
    method: String,
    started: Instant,
}

impl Metrics {
    pub fn start(rpc: &RpcPath, protocol: Protocol) -> Self {
        metrics::gauge!(IN_FLIGHT, "protocol" => protocol.as_str()).increment(1.0);
        Self {
            protocol,
            service: rpc.service.clone(),
            method: rpc.method.clone(),
            started: Instant::now(),
        }
    }

    pub fn finish(self, code: Code) {
        let protocol = self.protocol.as_str();
        metrics::gauge!(IN_FLIGHT, "protocol" => protocol).decrement(1.0);
        metrics::counter!(
            REQUESTS_TOTAL,
            "protocol" => protocol,
            "service" => self.service.clone(),
            "method" => self.method.clone(),
            "code" => (code as i32).to_string(),
        )
        .increment(1);
        metrics::histogram!(
            REQUEST_DURATION_SECONDS,
            "protocol" => protocol,
            "service" => self.service,
            "method" => self.method,
        )
        .record(self.started.elapsed().as_secs_f64());
    }
}

/// The gRPC status of a trailers-only answer (or of trailers).
pub fn grpc_code(headers: &HeaderMap) -> Option<Code> {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map(Code::from)
}

/// Calls `done` with the call's status when `response` ends: now for a trailers-only answer,
/// else when its trailers arrive (UNKNOWN if none do, CANCELLED if the body is dropped
/// unfinished).
pub fn on_end(
    response: http::Response<Body>,
    done: impl FnOnce(Code) + Send + 'static,
) -> http::Response<Body> {
    if let Some(code) = grpc_code(response.headers()) {
        done(code);
        return response;
    }
    response.map(|body| {
        Body::new(ObservedBody {
            inner: body,
            done: Some(Box::new(done)),
        })
    })
}

type Done = Box<dyn FnOnce(Code) + Send>;

struct ObservedBody {
    inner: Body,
    done: Option<Done>,
}

impl ObservedBody {
    fn end(&mut self, code: Code) {
        if let Some(done) = self.done.take() {
            done(code);
        }
    }
}

impl http_body::Body for ObservedBody {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(code) = frame.trailers_ref().and_then(grpc_code) {
                    self.end(code);
                }
            }
            Poll::Ready(Some(Err(_))) => self.end(Code::Unavailable),
            Poll::Ready(None) => self.end(Code::Unknown),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for ObservedBody {
    fn drop(&mut self) {
        self.end(Code::Cancelled);
    }
}

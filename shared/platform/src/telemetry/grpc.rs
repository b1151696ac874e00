//! Tower layers that carry W3C trace context across gRPC hops and measure server calls.
//!
//! A gRPC call ends when its response body ends: a normal response sends its status in the
//! trailers after the messages, a trailers-only response (an error before any message) sends
//! it in the headers. So both layers wrap the response body in [`GrpcBody`], which reads
//! `grpc-status` and closes the span (and, on servers, records the metrics) when the body
//! finishes, or when it is dropped unfinished (the call was cancelled).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tonic::Code;
use tower::{Layer, Service};
use tracing::Span;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::metric_names::{
    GRPC_SERVER_IN_FLIGHT, GRPC_SERVER_REQUEST_DURATION_SECONDS, GRPC_SERVER_REQUESTS_TOTAL,
};
use super::propagation::{extract_headers, inject_headers};

/// The error type of the layers' services: tonic accepts any error convertible into it.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Server-side tower layer: for every call, a `grpc.server` span whose parent is the trace
/// context the caller sent (W3C `traceparent`), and the `grpc_server_*` metrics.
///
/// ```no_run
/// # async fn run(listener: tokio::net::TcpListener) -> anyhow::Result<()> {
/// use aftercare_platform::telemetry::GrpcServerLayer;
///
/// let (_reporter, health) = tonic_health::server::health_reporter();
/// tonic::transport::Server::builder()
///     .layer(GrpcServerLayer::new())
///     .add_service(health)
///     .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
///     .await?;
/// # Ok(())
/// # }
/// ```
///
/// The span has the fields `otel.name` (`<service>/<method>`), `otel.kind` (`server`),
/// `rpc.system` (`grpc`), `rpc.service`, `rpc.method`, `request_id` (from `x-request-id`, when
/// sent) and, once the call ends, `rpc.grpc.status_code`; a status that signals a server fault
/// (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS) marks the span
/// as an error. The metrics are listed in the [module documentation](super).
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcServerLayer {
    _private: (),
}

impl GrpcServerLayer {
    /// The layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for GrpcServerLayer {
    type Service = GrpcServerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcServerService { inner }
    }
}

/// The service [`GrpcServerLayer`] wraps around a server's routes.
#[derive(Debug, Clone)]
pub struct GrpcServerService<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for GrpcServerService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Error: Into<BoxError>,
{
    type Response = http::Response<GrpcBody<ResBody>>;
    type Error = BoxError;
    type Future = GrpcFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let (service, method) = rpc_names(request.uri().path());
        let span = tracing::info_span!(
            "grpc.server",
            otel.name = %format_args!("{service}/{method}"),
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = Empty,
            otel.status_code = Empty,
            request_id = Empty,
        );
        if let Some(request_id) = request
            .headers()
            .get(crate::server::REQUEST_ID_HEADER)
            .and_then(|value| value.to_str().ok())
        {
            span.record("request_id", request_id);
        }
        // Without a remote context the span starts a new trace: a server span never inherits
        // whatever span happens to be current on the connection's task.
        let _ = span.set_parent(extract_headers(request.headers()));

        let call = Call::start(Side::Server, span.clone(), service, method);
        let inner = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        GrpcFuture {
            inner,
            span,
            call: Some(call),
        }
    }
}

/// Client-side tower layer: for every call, a `grpc.client` span (a child of the current
/// span) whose context is sent in the request headers (W3C `traceparent`), so that the
/// server's span joins the caller's trace. [`traced`] applies it to a channel.
///
/// The span has the fields `otel.name`, `otel.kind` (`client`), `rpc.system`, `rpc.service`,
/// `rpc.method` and, once the call ends, `rpc.grpc.status_code`; any status but OK marks it
/// as an error.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcClientLayer {
    _private: (),
}

impl GrpcClientLayer {
    /// The layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for GrpcClientLayer {
    type Service = GrpcClientService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcClientService { inner }
    }
}

/// The service [`GrpcClientLayer`] wraps around a channel. Generated tonic clients accept it
/// (it is a `tonic::client::GrpcService<tonic::body::Body>` when the inner service is).
#[derive(Debug, Clone)]
pub struct GrpcClientService<S> {
    inner: S,
}

/// A channel that propagates trace context: what [`traced`] returns and what generated
/// clients are built on (`TicketServiceClient<TracedChannel>`).
pub type TracedChannel = GrpcClientService<tonic::transport::Channel>;

/// Wraps `channel` so every call through it carries the caller's trace context:
/// `TicketServiceClient::new(traced(channel))`.
pub fn traced(channel: tonic::transport::Channel) -> TracedChannel {
    GrpcClientLayer::new().layer(channel)
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for GrpcClientService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Error: Into<BoxError>,
{
    type Response = http::Response<GrpcBody<ResBody>>;
    type Error = BoxError;
    type Future = GrpcFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let (service, method) = rpc_names(request.uri().path());
        let span = tracing::info_span!(
            "grpc.client",
            otel.name = %format_args!("{service}/{method}"),
            otel.kind = "client",
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = Empty,
            otel.status_code = Empty,
        );
        // When the client span is filtered out, the caller's own span is the next best parent.
        let context = if span.is_disabled() {
            Span::current().context()
        } else {
            span.context()
        };
        inject_headers(&context, request.headers_mut());

        let call = Call::start(Side::Client, span.clone(), service, method);
        let inner = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        GrpcFuture {
            inner,
            span,
            call: Some(call),
        }
    }
}

pin_project! {
    /// The response future of [`GrpcServerService`] and [`GrpcClientService`]: runs the inner
    /// future inside the call's span and hands the call on to the response body.
    pub struct GrpcFuture<F> {
        #[pin]
        inner: F,
        span: Span,
        call: Option<Call>,
    }
}

impl<F, ResBody, E> Future for GrpcFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<http::Response<GrpcBody<ResBody>>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let result = ready!(this.inner.poll(cx));
        let mut call = this
            .call
            .take()
            .expect("a GrpcFuture is not polled after it completed");
        Poll::Ready(match result {
            Ok(response) => {
                call.header_code = grpc_status(response.headers());
                Ok(response.map(|inner| GrpcBody {
                    inner,
                    call: Some(call),
                }))
            }
            Err(err) => {
                // No response: a middleware refused the call (tonic answers with the status
                // the error carries), or the connection could not be made.
                let err = err.into();
                call.end(error_code(call.side, &*err));
                Err(err)
            }
        })
    }
}

pin_project! {
    /// A response body that ends its gRPC call (span and metrics) when it finishes: with the
    /// `grpc-status` of the trailers, or of the headers for a trailers-only response, or
    /// CANCELLED when it is dropped before its end.
    pub struct GrpcBody<B> {
        #[pin]
        inner: B,
        call: Option<Call>,
    }
}

impl<B: Body> Body for GrpcBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let frame = ready!(this.inner.as_mut().poll_frame(cx));
        if let Some(mut call) = this.call.take() {
            match &frame {
                Some(Ok(frame)) => match frame.trailers_ref() {
                    Some(trailers) => {
                        let code = grpc_status(trailers).or(call.header_code);
                        call.end(code.unwrap_or(Code::Unknown));
                    }
                    None if this.inner.is_end_stream() => {
                        call.end(call.header_code.unwrap_or(Code::Unknown));
                    }
                    None => *this.call = Some(call),
                },
                Some(Err(_)) => call.end(Code::Unknown),
                None => call.end(call.header_code.unwrap_or(Code::Unknown)),
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Which end of the call a span and its measurements belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Server,
    Client,
}

/// One call in progress: ended exactly once, at the latest when dropped.
struct Call {
    side: Side,
    span: Span,
    service: String,
    method: String,
    started: Instant,
    /// The status of a trailers-only response.
    header_code: Option<Code>,
    ended: bool,
}

impl Call {
    fn start(side: Side, span: Span, service: String, method: String) -> Self {
        if side == Side::Server {
            metrics::gauge!(GRPC_SERVER_IN_FLIGHT, "service" => service.clone()).increment(1.0);
        }
        Self {
            side,
            span,
            service,
            method,
            started: Instant::now(),
            header_code: None,
            ended: false,
        }
    }

    fn end(&mut self, code: Code) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        let elapsed = self.started.elapsed();
        let numeric = i32::from(code);
        self.span.record("rpc.grpc.status_code", numeric);
        if is_error(self.side, code) {
            self.span.record("otel.status_code", "error");
        }
        tracing::debug!(
            parent: &self.span,
            code = numeric,
            elapsed_ms = elapsed.as_secs_f64() * 1000.0,
            "grpc call finished"
        );
        if self.side == Side::Server {
            let service = self.service.clone();
            let method = self.method.clone();
            metrics::counter!(
                GRPC_SERVER_REQUESTS_TOTAL,
                "service" => service.clone(),
                "method" => method.clone(),
                "code" => numeric.to_string()
            )
            .increment(1);
            metrics::histogram!(
                GRPC_SERVER_REQUEST_DURATION_SECONDS,
                "service" => service.clone(),
                "method" => method
            )
            .record(elapsed.as_secs_f64());
            metrics::gauge!(GRPC_SERVER_IN_FLIGHT, "service" => service).decrement(1.0);
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        // Dropped before its status arrived: the caller went away or the call was abandoned.
        let code = self.header_code.unwrap_or(Code::Cancelled);
        self.end(code);
    }
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("side", &self.side)
            .field("service", &self.service)
            .field("method", &self.method)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

/// Whether `code` marks the span as failed: on a client any non-OK status; on a server only
/// the codes that signal a server fault (OpenTelemetry's gRPC semantic conventions).
fn is_error(side: Side, code: Code) -> bool {
    match side {
        Side::Client => code != Code::Ok,
        Side::Server => matches!(
            code,
            Code::Unknown
                | Code::DeadlineExceeded
                | Code::Unimplemented
                | Code::Internal
                | Code::Unavailable
                | Code::DataLoss
        ),
    }
}

/// The status a call that failed with `err` ends with, as tonic turns the error into a
/// status: a [`tonic::Status`] in the error's chain, RESOURCE_EXHAUSTED for a load-shed call;
/// otherwise UNKNOWN on a server and UNAVAILABLE (no connection) on a client.
fn error_code(side: Side, err: &(dyn std::error::Error + 'static)) -> Code {
    let mut cause = Some(err);
    while let Some(err) = cause {
        if let Some(status) = err.downcast_ref::<tonic::Status>() {
            return status.code();
        }
        if err.is::<tower::load_shed::error::Overloaded>() {
            return Code::ResourceExhausted;
        }
        cause = err.source();
    }
    match side {
        Side::Server => Code::Unknown,
        Side::Client => Code::Unavailable,
    }
}

/// The gRPC status in `headers` (trailers, or the headers of a trailers-only response).
fn grpc_status(headers: &HeaderMap) -> Option<Code> {
    let value = headers.get("grpc-status")?.to_str().ok()?;
    value.trim().parse::<i32>().ok().map(Code::from_i32)
}

/// The service and method of a gRPC path (`/aftercare.tickets.v1.TicketService/GetTicket`).
fn rpc_names(path: &str) -> (String, String) {
    match path.trim_start_matches('/').split_once('/') {
        Some((service, method)) if !service.is_empty() && !method.is_empty() => {
            (service.to_owned(), method.to_owned())
        }
        _ => ("unknown".to_owned(), path.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn grpc_paths_split_into_service_and_method() {
        assert_eq!(
            rpc_names("/aftercare.tickets.v1.TicketService/GetTicket"),
            (
                "aftercare.tickets.v1.TicketService".to_owned(),
                "GetTicket".to_owned()
            )
        );
        assert_eq!(
            rpc_names("/metrics"),
            ("unknown".to_owned(), "/metrics".to_owned())
        );
    }

    #[test]
    fn grpc_status_is_read_from_headers_and_ignores_garbage() {
        let mut headers = HeaderMap::new();
        assert_eq!(grpc_status(&headers), None);
        headers.insert("grpc-status", HeaderValue::from_static("12"));
        assert_eq!(grpc_status(&headers), Some(Code::Unimplemented));
        headers.insert("grpc-status", HeaderValue::from_static("twelve"));
        assert_eq!(grpc_status(&headers), None);
    }

    #[test]
    fn a_failed_call_ends_with_the_status_tonic_would_send() {
        let status: BoxError = Box::new(tonic::Status::not_found("no ticket"));
        assert_eq!(error_code(Side::Server, &*status), Code::NotFound);
        let shed: BoxError = Box::new(tower::load_shed::error::Overloaded::new());
        assert_eq!(error_code(Side::Server, &*shed), Code::ResourceExhausted);
        let other: BoxError = "broken".into();
        assert_eq!(error_code(Side::Server, &*other), Code::Unknown);
        assert_eq!(error_code(Side::Client, &*other), Code::Unavailable);
    }

    #[test]
    fn only_server_faults_mark_a_server_span_as_failed() {
        assert!(is_error(Side::Server, Code::Internal));
        assert!(is_error(Side::Server, Code::Unimplemented));
        assert!(!is_error(Side::Server, Code::NotFound));
        assert!(!is_error(Side::Server, Code::Ok));
        assert!(is_error(Side::Client, Code::NotFound));
        assert!(!is_error(Side::Client, Code::Ok));
    }
}

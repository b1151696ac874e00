//! Trace context and metrics across a real gRPC hop: a tonic server on 127.0.0.1 behind
//! `GrpcServerLayer`, called through `traced(channel)`, with spans exported to an in-memory
//! exporter and metrics recorded by a Prometheus recorder.
//!
//! This binary installs a global subscriber, propagator and metrics recorder of its own,
//! which is why it is a test binary of its own.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use aftercare_platform::telemetry::{
    GrpcServerLayer, extract_context, inject_context, prometheus_builder, traced,
};
use metrics_exporter_prometheus::PrometheusHandle;
use opentelemetry::trace::{SpanId, SpanKind, TraceContextExt, TraceId, TracerProvider as _};
use opentelemetry::{Key, Value};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::Code;
use tonic::transport::{Channel, Server};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

const HEALTH: &str = "grpc.health.v1.Health";

/// What the process-wide setup hands the tests.
struct Telemetry {
    provider: SdkTracerProvider,
    exporter: InMemorySpanExporter,
    metrics: PrometheusHandle,
}

fn telemetry() -> &'static Telemetry {
    static TELEMETRY: OnceLock<Telemetry> = OnceLock::new();
    TELEMETRY.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("trace-propagation")));
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

        let recorder = prometheus_builder().build_recorder();
        let metrics = recorder.handle();
        metrics::set_global_recorder(recorder).expect("no other global recorder");
        Telemetry {
            provider,
            exporter,
            metrics,
        }
    })
}

/// Starts a health server behind the server layer on a free port.
async fn spawn_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    let (_reporter, health) = tonic_health::server::health_reporter();
    tokio::spawn(async move {
        Server::builder()
            .layer(GrpcServerLayer::new())
            .add_service(health)
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await
            .expect("server runs");
    });
    addr
}

async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .expect("valid uri")
        .connect()
        .await
        .expect("connects")
}

/// Waits until `found` returns something, or fails after five seconds: the server ends its
/// call (span and metrics) when its response body ends, just after the client has the reply.
async fn eventually<T>(what: &str, mut found: impl FnMut() -> Option<T>) -> T {
    for _ in 0..100 {
        if let Some(value) = found() {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

fn finished_spans(trace_id: TraceId) -> Vec<SpanData> {
    let telemetry = telemetry();
    telemetry.provider.force_flush().expect("flush");
    telemetry
        .exporter
        .get_finished_spans()
        .expect("exporter works")
        .into_iter()
        .filter(|span| span.span_context.trace_id() == trace_id)
        .collect()
}

fn attribute(span: &SpanData, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key == Key::from(key.to_owned()))
        .map(|kv| kv.value.clone())
}

/// The value of the sample `name{labels}` in a Prometheus rendering; 0 when absent.
fn sample(rendered: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut wanted: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    wanted.sort();
    rendered
        .lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{')?;
            let mut have: Vec<String> = rest
                .strip_suffix('}')?
                .split(',')
                .map(str::to_owned)
                .collect();
            have.sort();
            (metric == name && have == wanted).then(|| value.parse().expect("numeric sample"))
        })
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_context_crosses_a_grpc_hop() {
    telemetry();
    let addr = spawn_server().await;
    let mut client = HealthClient::new(traced(channel(addr).await));

    let caller = tracing::info_span!("caller");
    let caller_context = caller.context();
    let caller_span_context = caller_context.span().span_context().clone();
    let mut request = tonic::Request::new(HealthCheckRequest::default());
    request
        .metadata_mut()
        .insert("x-request-id", "req-42".parse().unwrap());
    let response = client
        .check(request)
        .instrument(caller.clone())
        .await
        .expect("health check answers");
    assert_eq!(response.into_inner().status, 1, "SERVING");
    drop(caller);

    let trace_id = caller_span_context.trace_id();
    let spans = eventually("the client and server spans", || {
        let spans = finished_spans(trace_id);
        let client = spans.iter().find(|s| s.span_kind == SpanKind::Client)?;
        let server = spans.iter().find(|s| s.span_kind == SpanKind::Server)?;
        Some((client.clone(), server.clone()))
    })
    .await;
    let (client_span, server_span) = spans;

    assert_eq!(client_span.name, "grpc.health.v1.Health/Check");
    assert_eq!(client_span.parent_span_id, caller_span_context.span_id());

    assert_eq!(server_span.name, "grpc.health.v1.Health/Check");
    assert_eq!(server_span.span_context.trace_id(), trace_id);
    assert_eq!(
        server_span.parent_span_id,
        client_span.span_context.span_id(),
        "the server span is the child of the client span"
    );
    assert!(server_span.parent_span_is_remote);
    assert_ne!(server_span.span_context.span_id(), SpanId::INVALID);
    assert_eq!(attribute(&server_span, "rpc.system"), Some("grpc".into()));
    assert_eq!(attribute(&server_span, "rpc.service"), Some(HEALTH.into()));
    assert_eq!(attribute(&server_span, "rpc.method"), Some("Check".into()));
    assert_eq!(
        attribute(&server_span, "rpc.grpc.status_code"),
        Some(Value::I64(0))
    );
    assert_eq!(attribute(&server_span, "request_id"), Some("req-42".into()));
    assert_eq!(
        attribute(&client_span, "rpc.grpc.status_code"),
        Some(Value::I64(0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_without_trace_context_starts_a_new_trace_on_the_server() {
    telemetry();
    let addr = spawn_server().await;
    // A plain channel sends no traceparent.
    let mut client = HealthClient::new(channel(addr).await);

    let caller = tracing::info_span!("untraced caller");
    let caller_trace = caller.context().span().span_context().trace_id();
    let mut request = tonic::Request::new(HealthCheckRequest::default());
    request
        .metadata_mut()
        .insert("x-request-id", "untraced-7".parse().unwrap());
    client
        .check(request)
        .instrument(caller.clone())
        .await
        .expect("health check answers");
    drop(caller);

    let server_span = eventually("the server span", || {
        telemetry().provider.force_flush().expect("flush");
        let spans = telemetry().exporter.get_finished_spans().expect("exporter");
        spans.into_iter().find(|span| {
            span.span_kind == SpanKind::Server
                && attribute(span, "request_id") == Some("untraced-7".into())
        })
    })
    .await;
    assert_ne!(server_span.span_context.trace_id(), caller_trace);
    assert_eq!(server_span.parent_span_id, SpanId::INVALID, "a root span");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_metrics_count_calls_by_method_and_status_code() {
    let metrics = &telemetry().metrics;
    let addr = spawn_server().await;
    let channel = traced(channel(addr).await);
    let check = [("service", HEALTH), ("method", "Check"), ("code", "0")];
    let missing = [("service", HEALTH), ("method", "Missing"), ("code", "12")];
    let checks_before = sample(&metrics.render(), "grpc_server_requests_total", &check);

    HealthClient::new(channel.clone())
        .check(HealthCheckRequest::default())
        .await
        .expect("health check answers");

    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("channel ready");
    let status = grpc
        .unary::<_, HealthCheckResponse, _>(
            tonic::Request::new(HealthCheckRequest::default()),
            http::uri::PathAndQuery::from_static("/grpc.health.v1.Health/Missing"),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .expect_err("the method does not exist");
    assert_eq!(status.code(), Code::Unimplemented);

    eventually("both calls counted", || {
        let rendered = metrics.render();
        let checks = sample(&rendered, "grpc_server_requests_total", &check);
        let missing = sample(&rendered, "grpc_server_requests_total", &missing);
        (checks >= checks_before + 1.0 && missing >= 1.0).then_some(())
    })
    .await;

    let rendered = metrics.render();
    let timed = sample(
        &rendered,
        "grpc_server_request_duration_seconds_count",
        &[("service", HEALTH), ("method", "Missing")],
    );
    assert_eq!(timed, 1.0, "{rendered}");
    assert!(
        rendered.contains("grpc_server_request_duration_seconds_bucket{"),
        "durations are a histogram with buckets: {rendered}"
    );
    eventually("no call in flight", || {
        let in_flight = sample(
            &metrics.render(),
            "grpc_server_in_flight",
            &[("service", HEALTH)],
        );
        (in_flight == 0.0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn event_carriers_round_trip_the_current_trace() {
    telemetry();
    let span = tracing::info_span!("publish");
    let expected = span.context().span().span_context().clone();

    let mut carrier = HashMap::new();
    span.in_scope(|| inject_context(&mut carrier));
    assert!(carrier.contains_key("traceparent"), "{carrier:?}");

    let extracted = extract_context(&carrier);
    let extracted = extracted.span();
    let extracted = extracted.span_context();
    assert_eq!(extracted.trace_id(), expected.trace_id());
    assert_eq!(extracted.span_id(), expected.span_id());
    assert!(extracted.is_remote());

    let consumer = tracing::info_span!("consume");
    consumer
        .set_parent(extract_context(&carrier))
        .expect("the span is not started yet");
    assert_eq!(
        consumer.context().span().span_context().trace_id(),
        expected.trace_id()
    );
}

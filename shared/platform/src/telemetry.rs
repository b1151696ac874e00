//! Telemetry: logs, traces and metrics for every Aftercare service.
//!
//! [`init`] installs, once per process, the global `tracing` subscriber (an [`EnvFilter`] for
//! the logs, a log formatter in the configured [`LogFormat`], and a `tracing-opentelemetry`
//! layer so every span has a W3C trace id and span id), the W3C TraceContext propagator, the
//! OTLP exporters when an endpoint is configured, and the Prometheus `/metrics` endpoint when
//! an address is configured. It returns a [`TelemetryGuard`] that flushes and shuts the
//! exporters down.
//!
//! Trace context crosses every gRPC hop through two tower layers: [`GrpcServerLayer`] on
//! servers (a `grpc.server` span parented to the caller's context, plus request metrics) and
//! [`GrpcClientLayer`] / [`traced`] on channels (a `grpc.client` span whose context is sent in
//! the `traceparent` header). It crosses events through [`inject_context`] and
//! [`extract_context`].
//!
//! # Metrics
//!
//! Metrics are recorded with the [`metrics`] crate and served by Prometheus:
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `grpc_server_requests_total` | counter | `service`, `method`, `code` |
//! | `grpc_server_request_duration_seconds` | histogram | `service`, `method` |
//! | `grpc_server_in_flight` | gauge | `service` |
//!
//! `service` is the fully qualified gRPC service (`grpc.health.v1.Health`), `method` the method
//! name (`Check`), and `code` the numeric gRPC status code as a string (`"0"` for OK, `"12"`
//! for UNIMPLEMENTED), the same convention as the `rpc.grpc.status_code` span attribute.

mod grpc;
mod propagation;

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context as _, anyhow};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogFormat, TelemetryConfig};

pub use grpc::{
    GrpcBody, GrpcClientLayer, GrpcClientService, GrpcFuture, GrpcServerLayer, GrpcServerService,
    TracedChannel, traced,
};
pub use propagation::{extract_context, inject_context};

/// The metric names this module records, for dashboards and tests.
pub mod metric_names {
    /// Counter of finished server calls, by `service`, `method` and `code`.
    pub const GRPC_SERVER_REQUESTS_TOTAL: &str = "grpc_server_requests_total";
    /// Histogram of server call durations in seconds (until the last byte of the response),
    /// by `service` and `method`.
    pub const GRPC_SERVER_REQUEST_DURATION_SECONDS: &str = "grpc_server_request_duration_seconds";
    /// Gauge of server calls in progress, by `service`.
    pub const GRPC_SERVER_IN_FLIGHT: &str = "grpc_server_in_flight";
}

/// Histogram buckets for call durations, in seconds: 1 ms to 30 s.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Which spans and events become OpenTelemetry spans and span events, whatever the log
/// filter says (a quiet log, `warn`, must not break traces): `info` and above, except from
/// the crates that carry the telemetry itself, whose own activity would otherwise be traced
/// in a loop.
fn trace_filter() -> Targets {
    Targets::new().with_default(LevelFilter::INFO).with_targets(
        ["h2", "hyper", "tonic", "tower", "opentelemetry"].map(|target| (target, LevelFilter::OFF)),
    )
}

/// Set by the first call to [`init`].
static INITIALISED: AtomicBool = AtomicBool::new(false);

/// Installs the process-wide telemetry described in the [module documentation](self).
///
/// `service_name` becomes the OpenTelemetry resource's `service.name` (`aftercare` for the
/// binary that runs every service). `RUST_LOG`, when set, overrides `config.log_filter`.
///
/// Call it once per process, early, from within a Tokio runtime (the OTLP exporters and the
/// Prometheus listener run on it), and keep the guard until the process ends. A second call
/// returns an error and changes nothing; so does a call after another global `tracing`
/// subscriber was installed (for example by [`init_for_tests`]). A failed call is not retried:
/// the process is expected to exit.
///
/// # Errors
///
/// The filter does not parse, an OTLP exporter cannot be built, the metrics address cannot be
/// bound, or telemetry was already initialised.
pub fn init(config: &TelemetryConfig, service_name: &str) -> anyhow::Result<TelemetryGuard> {
    if INITIALISED.swap(true, Ordering::SeqCst) {
        return Err(anyhow!("telemetry is already initialised in this process"));
    }

    let from_env = std::env::var(EnvFilter::DEFAULT_ENV).ok();
    let filter = log_filter(from_env.as_deref(), &config.log_filter)?;
    let resource = Resource::builder()
        .with_service_name(service_name.to_owned())
        .build();

    let mut tracer_provider = SdkTracerProvider::builder().with_resource(resource.clone());
    let mut meter_provider = None;
    if let Some(endpoint) = &config.otlp_endpoint {
        let span_exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .build()
            .with_context(|| format!("building the OTLP span exporter for {endpoint}"))?;
        tracer_provider = tracer_provider.with_batch_exporter(span_exporter);
        let metric_exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .build()
            .with_context(|| format!("building the OTLP metric exporter for {endpoint}"))?;
        meter_provider = Some(
            SdkMeterProvider::builder()
                .with_resource(resource)
                .with_periodic_exporter(metric_exporter)
                .build(),
        );
    }
    let tracer_provider = tracer_provider.build();

    let otel_layer = tracing_opentelemetry::layer()
        .with_tracer(tracer_provider.tracer(service_name.to_owned()))
        .with_filter(trace_filter());
    let ansi = config.log_format != LogFormat::Json && std::io::stdout().is_terminal();
    let fmt = build_fmt_layer(config.log_format, std::io::stdout, ansi).with_filter(filter);
    tracing_subscriber::registry()
        .with(fmt)
        .with(otel_layer)
        .try_init()
        .context("installing the global tracing subscriber")?;

    if let Some(addr) = config.metrics_listen {
        prometheus_builder()
            .with_http_listener(addr)
            .install()
            .with_context(|| format!("serving Prometheus metrics on {addr}"))?;
    }

    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    opentelemetry::global::set_tracer_provider(tracer_provider.clone());
    if let Some(meter_provider) = &meter_provider {
        opentelemetry::global::set_meter_provider(meter_provider.clone());
    }

    tracing::info!(
        service = service_name,
        log_format = ?config.log_format,
        otlp_endpoint = config.otlp_endpoint.as_deref(),
        metrics_listen = config.metrics_listen.map(tracing::field::display),
        "telemetry initialised"
    );
    Ok(TelemetryGuard {
        tracer_provider: Some(tracer_provider),
        meter_provider,
    })
}

/// Installs, once per test process, a subscriber that writes through the test harness's
/// capture (`RUST_LOG` filters it, `info` by default) and gives spans trace ids, and the W3C
/// propagator. Later calls, and calls after another subscriber was installed, do nothing.
pub fn init_for_tests() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
        let tracer_provider = SdkTracerProvider::builder().build();
        let otel_layer = tracing_opentelemetry::layer()
            .with_tracer(tracer_provider.tracer("aftercare-tests"))
            .with_filter(trace_filter());
        let fmt = tracing_subscriber::fmt::layer()
            .with_test_writer()
            .with_filter(filter);
        // Another subscriber may already be installed; then that one stays.
        let _ = tracing_subscriber::registry()
            .with(fmt)
            .with(otel_layer)
            .try_init();
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    });
}

/// A log formatting layer in `format`, writing to `writer`, without colours.
///
/// [`init`] uses the same layer on standard output; this constructor exists so that other
/// writers (a file, a buffer in a test) get exactly the same output. [`LogFormat::Json`]
/// writes one JSON object per line with the event's fields, the current span (`span`) and
/// the list of entered spans (`spans`) with their fields.
pub fn fmt_layer<S, W>(format: LogFormat, writer: W) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    build_fmt_layer(format, writer, false)
}

/// The Prometheus recorder builder [`init`] uses: call durations are true histograms with
/// buckets from 1 ms to 30 s. Tests build a local recorder from it (`build_recorder()`).
pub fn prometheus_builder() -> PrometheusBuilder {
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Suffix("_duration_seconds".to_owned()),
            DURATION_BUCKETS,
        )
        .expect("duration buckets are not empty")
}

/// Keeps the trace and metric pipelines of [`init`] alive; dropping it (or calling
/// [`TelemetryGuard::shutdown`]) flushes what is buffered and shuts the exporters down.
///
/// Drop it inside the Tokio runtime that [`init`] ran in, before the runtime stops, so that
/// the OTLP exporters can still send.
#[derive(Debug)]
#[must_use = "dropping the guard shuts telemetry export down"]
pub struct TelemetryGuard {
    tracer_provider: Option<SdkTracerProvider>,
    meter_provider: Option<SdkMeterProvider>,
}

impl TelemetryGuard {
    /// Flushes buffered spans and metrics and shuts the exporters down; errors are reported
    /// on standard error, since logging may already be gone.
    pub fn shutdown(mut self) {
        self.shutdown_providers();
    }

    fn shutdown_providers(&mut self) {
        let tracer_provider = self.tracer_provider.take();
        let meter_provider = self.meter_provider.take();
        if tracer_provider.is_none() && meter_provider.is_none() {
            return;
        }
        let shutdown = move || {
            if let Some(provider) = tracer_provider
                && let Err(err) = provider.shutdown()
            {
                eprintln!("telemetry: shutting the tracer provider down failed: {err}");
            }
            if let Some(provider) = meter_provider
                && let Err(err) = provider.shutdown()
            {
                eprintln!("telemetry: shutting the meter provider down failed: {err}");
            }
        };
        // Shutting down blocks until the exporters have sent, and they send on the runtime;
        // on a multi-threaded runtime, let the other workers run meanwhile.
        match tokio::runtime::Handle::try_current() {
            Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(shutdown);
            }
            _ => shutdown(),
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        self.shutdown_providers();
    }
}

/// The log filter: `RUST_LOG` (`from_env`) when set and not blank, else the configured one.
fn log_filter(from_env: Option<&str>, configured: &str) -> anyhow::Result<EnvFilter> {
    match from_env {
        Some(from_env) if !from_env.trim().is_empty() => EnvFilter::try_new(from_env)
            .with_context(|| format!("RUST_LOG `{from_env}` is not a valid filter")),
        _ => EnvFilter::try_new(configured)
            .with_context(|| format!("telemetry.log_filter `{configured}` is not a valid filter")),
    }
}

fn build_fmt_layer<S, W>(
    format: LogFormat,
    writer: W,
    ansi: bool,
) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(ansi);
    match format {
        LogFormat::Pretty => layer.pretty().boxed(),
        LogFormat::Compact => layer.compact().boxed(),
        LogFormat::Json => layer
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .boxed(),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A writer that appends to a shared buffer.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Buffer {
        fn contents(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).expect("logs are UTF-8")
        }
    }

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Buffer {
        type Writer = Buffer;

        fn make_writer(&'w self) -> Self::Writer {
            self.clone()
        }
    }

    #[test]
    fn json_format_writes_one_object_per_line_with_span_fields() {
        let buffer = Buffer::default();
        let subscriber =
            tracing_subscriber::registry().with(fmt_layer(LogFormat::Json, buffer.clone()));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("handle", ticket_id = "t-1");
            let _entered = span.enter();
            tracing::info!(attempt = 2, "ticket opened");
            tracing::warn!("second line");
        });

        let logs = buffer.contents();
        let lines: Vec<serde_json::Value> = logs
            .lines()
            .map(|line| serde_json::from_str(line).expect("each line is one JSON object"))
            .collect();
        assert_eq!(lines.len(), 2, "{logs}");
        let first = &lines[0];
        assert_eq!(first["fields"]["message"], "ticket opened");
        assert_eq!(first["fields"]["attempt"], 2);
        assert_eq!(first["level"], "INFO");
        assert_eq!(first["span"]["name"], "handle");
        assert_eq!(first["span"]["ticket_id"], "t-1");
        assert_eq!(first["spans"][0]["ticket_id"], "t-1");
        assert_eq!(lines[1]["level"], "WARN");
    }

    #[test]
    fn compact_format_writes_plain_lines() {
        let buffer = Buffer::default();
        let subscriber =
            tracing_subscriber::registry().with(fmt_layer(LogFormat::Compact, buffer.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(ticket_id = "t-9", "ticket closed");
        });

        let logs = buffer.contents();
        assert_eq!(logs.lines().count(), 1, "{logs}");
        assert!(logs.contains("ticket closed"), "{logs}");
        assert!(logs.contains("ticket_id=\"t-9\""), "{logs}");
        assert!(serde_json::from_str::<serde_json::Value>(logs.trim()).is_err());
    }

    #[test]
    fn rust_log_overrides_the_configured_filter() {
        let filter = log_filter(Some("tickets=debug"), "warn").expect("valid filter");
        assert_eq!(filter.to_string(), "tickets=debug");
        let filter = log_filter(Some("  "), "warn").expect("valid filter");
        assert_eq!(filter.to_string(), "warn");
        let filter = log_filter(None, "info,aftercare=debug").expect("valid filter");
        assert_eq!(filter.to_string(), "aftercare=debug,info");
    }

    #[test]
    fn an_invalid_log_filter_is_refused_by_name() {
        let err = log_filter(None, "tickets=loud").unwrap_err().to_string();
        assert!(err.contains("telemetry.log_filter"), "{err}");
        let err = log_filter(Some("tickets=loud"), "info")
            .unwrap_err()
            .to_string();
        assert!(err.contains("RUST_LOG"), "{err}");
    }

    #[test]
    fn duration_histograms_render_with_buckets() {
        let recorder = prometheus_builder().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            metrics::histogram!(
                metric_names::GRPC_SERVER_REQUEST_DURATION_SECONDS,
                "service" => "s",
                "method" => "m"
            )
            .record(0.003);
        });
        let rendered = handle.render();
        assert!(
            rendered.contains(
                "grpc_server_request_duration_seconds_bucket{service=\"s\",method=\"m\",le=\"0.005\"} 1"
            ),
            "{rendered}"
        );
    }
}

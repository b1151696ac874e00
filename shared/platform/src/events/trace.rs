//! W3C trace context in and out of an event envelope.
//!
//! These go through the global text-map propagator (set by telemetry at start-up); with none
//! set, nothing is injected and an empty context is extracted.

use std::collections::HashMap;

use opentelemetry::Context;
use opentelemetry::global;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Writes the current span's trace context (`traceparent`, `tracestate`) into `carrier`.
pub fn inject_context(carrier: &mut HashMap<String, String>) {
    let context = tracing::Span::current().context();
    global::get_text_map_propagator(|propagator| propagator.inject_context(&context, carrier));
}

/// The trace context carried in `carrier`, to use as a span's parent.
pub fn extract_context(carrier: &HashMap<String, String>) -> Context {
    global::get_text_map_propagator(|propagator| propagator.extract(carrier))
}

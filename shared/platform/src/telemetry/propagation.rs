//! Carrying W3C trace context in string maps (event headers) and HTTP headers, through the
//! global text-map propagator that [`super::init`] sets.

use std::collections::HashMap;

use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};
use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Writes the current span's trace context into `carrier` (`traceparent`, `tracestate`), for
/// an event or message about to leave the process.
pub fn inject_context(carrier: &mut HashMap<String, String>) {
    let context = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, carrier);
    });
}

/// Reads the trace context that [`inject_context`] wrote into `carrier`; an empty context when
/// there is none. Give it to a consumer's span with
/// `tracing_opentelemetry::OpenTelemetrySpanExt::set_parent`.
pub fn extract_context(carrier: &HashMap<String, String>) -> Context {
    opentelemetry::global::get_text_map_propagator(|propagator| propagator.extract(carrier))
}

/// Writes `context` into HTTP request headers.
pub(super) fn inject_headers(context: &Context, headers: &mut HeaderMap) {
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(context, &mut HeaderInjector(headers));
    });
}

/// Reads the remote trace context from HTTP request headers.
pub(super) fn extract_headers(headers: &HeaderMap) -> Context {
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(headers))
    })
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // A propagator only writes valid names and values; anything else is dropped.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry_sdk::propagation::TraceContextPropagator;

    use super::*;

    fn remote_context() -> Context {
        Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        ))
    }

    #[test]
    fn http_headers_carry_the_w3c_traceparent_both_ways() {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let mut headers = HeaderMap::new();
        inject_headers(&remote_context(), &mut headers);
        assert_eq!(
            headers["traceparent"],
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );

        let extracted = extract_headers(&headers);
        let span = extracted.span();
        let span_context = span.span_context();
        assert_eq!(
            span_context.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(span_context.span_id().to_string(), "00f067aa0ba902b7");
        assert!(span_context.is_remote());
    }

    #[test]
    fn a_carrier_without_context_extracts_an_empty_context() {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let extracted = extract_context(&HashMap::new());
        assert!(!extracted.span().span_context().is_valid());
        let extracted = extract_headers(&HeaderMap::new());
        assert!(!extracted.span().span_context().is_valid());
    }
}

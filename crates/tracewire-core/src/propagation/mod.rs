//! Carrying trace context across the wire.
//!
//! Boundaries extract and inject through the globally configured
//! [`TextMapPropagator`](opentelemetry::propagation::TextMapPropagator) and the carrier adapters here.
//! tracewire ships its own W3C propagators, [`W3cTraceContextPropagator`] and [`W3cBaggagePropagator`],
//! because the stock SDK ones miss several W3C rules (duplicated headers, field lengths, the Level 2
//! random flag and key grammar, all-or-nothing tracestate). [`install`] makes them the global propagator.
//!
//! ```
//! use http::HeaderMap;
//! use opentelemetry::trace::TraceContextExt;
//! use tracewire_core::propagation;
//!
//! propagation::install();
//! let mut incoming = HeaderMap::new();
//! incoming.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
//! let cx = propagation::extract(&incoming);
//! assert_eq!(cx.span().span_context().trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
//!
//! let mut outgoing = HeaderMap::new();
//! propagation::inject(&cx, &mut outgoing);
//! assert_eq!(outgoing["traceparent"], "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
//! ```

mod baggage;
mod carrier;
mod inject;
mod jaeger;
mod trace_context;
pub mod w3c;

pub use baggage::W3cBaggagePropagator;
pub use carrier::{HeaderExtractor, HeaderInjector};
pub use inject::{Carrier, Fields, OwnedFields, inject_into, inject_with, is_baggage_field};
pub use jaeger::JaegerPropagator;
pub use trace_context::W3cTraceContextPropagator;

use http::HeaderMap;
use opentelemetry::Context;
use opentelemetry::global;
use opentelemetry::propagation::{Extractor, TextMapCompositePropagator};

/// W3C trace context followed by W3C baggage: what `OTEL_PROPAGATORS` defaults to.
///
/// ```
/// use opentelemetry::propagation::TextMapPropagator;
/// let p = tracewire_core::propagation::default_propagator();
/// let mut fields: Vec<_> = p.fields().collect();
/// fields.sort();
/// assert_eq!(fields, ["baggage", "traceparent", "tracestate"]);
/// ```
pub fn default_propagator() -> TextMapCompositePropagator {
    TextMapCompositePropagator::new(vec![
        Box::new(W3cTraceContextPropagator::new()),
        Box::new(W3cBaggagePropagator::new()),
    ])
}

/// Installs [`default_propagator`] as the global text-map propagator.
///
/// ```
/// tracewire_core::propagation::install();
/// ```
pub fn install() {
    global::set_text_map_propagator(default_propagator());
}

/// The context the global propagator extracts from `headers` (the current context when nothing valid is there).
///
/// ```
/// let cx = tracewire_core::propagation::extract(&http::HeaderMap::new());
/// # let _ = cx;
/// ```
pub fn extract(headers: &HeaderMap) -> Context {
    global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)))
}

/// Like [`extract`], on top of `cx` instead of the current context.
///
/// ```
/// let cx = tracewire_core::propagation::extract_with_context(&opentelemetry::Context::new(), &http::HeaderMap::new());
/// # let _ = cx;
/// ```
pub fn extract_with_context(cx: &Context, headers: &HeaderMap) -> Context {
    global::get_text_map_propagator(|p| p.extract_with_context(cx, &HeaderExtractor(headers)))
}

/// Like [`extract`], through any [`Extractor`] (a boundary that has already read its carrier).
///
/// ```
/// use std::collections::HashMap;
/// use opentelemetry::trace::TraceContextExt;
/// tracewire_core::propagation::install();
/// let mut carrier = HashMap::new();
/// carrier.insert("traceparent".to_string(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string());
/// let cx = tracewire_core::propagation::extract_from(&carrier);
/// assert!(cx.span().span_context().is_remote());
/// ```
pub fn extract_from(extractor: &dyn Extractor) -> Context {
    global::get_text_map_propagator(|p| p.extract(extractor))
}

/// Like [`extract_from`], on top of `cx` instead of the current context.
///
/// ```
/// use std::collections::HashMap;
/// let carrier: HashMap<String, String> = HashMap::new();
/// let cx = tracewire_core::propagation::extract_from_with_context(&opentelemetry::Context::new(), &carrier);
/// # let _ = cx;
/// ```
pub fn extract_from_with_context(cx: &Context, extractor: &dyn Extractor) -> Context {
    global::get_text_map_propagator(|p| p.extract_with_context(cx, extractor))
}

/// Injects `cx` into `headers` through the global propagator ([`inject_into`]). Every header the
/// propagator owns is removed first, so a stale `tracestate` or `baggage` never travels next to a fresh `traceparent`
/// (the propagator writes nothing for an empty `tracestate`, so overwriting alone would keep it).
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// headers.insert("tracestate", http::HeaderValue::from_static("stale=1"));
/// tracewire_core::propagation::install();
/// tracewire_core::propagation::inject(&opentelemetry::Context::new(), &mut headers);
/// assert!(headers.get("tracestate").is_none());
/// ```
pub fn inject(cx: &Context, headers: &mut HeaderMap) {
    inject_into(cx, headers, Fields::All);
}

/// A propagation header value as text, if it is visible ASCII (tab allowed); `None` for binary or
/// non-ASCII values, which carriers never interpret.
///
/// ```
/// use tracewire_core::propagation::header_text;
/// assert_eq!(header_text(b"00-abc"), Some("00-abc"));
/// assert_eq!(header_text(&[0xff, 0x00]), None);
/// ```
pub fn header_text(bytes: &[u8]) -> Option<&str> {
    // A fold without early exit, which the compiler turns into a few vector instructions per 16 bytes:
    // propagation values are short, and nearly always valid.
    let visible = bytes.iter().fold(true, |ok, &b| {
        ok & ((0x20..0x7f).contains(&b) | (b == b'\t'))
    });
    if visible {
        std::str::from_utf8(bytes).ok()
    } else {
        None
    }
}

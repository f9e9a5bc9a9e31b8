//! One rule for writing context into any carrier: HTTP headers, Kafka record headers, AMQP header
//! tables, a SQL comment.
//!
//! The installed propagator decides which fields are written (`OTEL_PROPAGATORS`: W3C, B3, Jaeger, …).
//! Before it writes, every entry the propagator owns is removed from the carrier, so a stale
//! `tracestate`, `baggage` or B3 header of a re-sent message never travels next to the fresh context:
//! the names its [`fields`](TextMapPropagator::fields) lists (compared without case, as HTTP does), and,
//! with the Jaeger propagator, every `uberctx-*` baggage entry (its `fields` cannot name them).

use opentelemetry::Context;
use opentelemetry::global;
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Injector, TextMapPropagator};

use super::jaeger::{BAGGAGE_PREFIX, UBER_TRACE_ID};

/// Somewhere context is written into. [`inject_into`] first calls
/// [`remove_stale`](Carrier::remove_stale) once, then [`set`](Carrier::set) for each field.
///
/// ```
/// use tracewire_core::propagation::{Carrier, OwnedFields};
///
/// /// A list of pairs, as a queue client might keep its message headers.
/// struct Pairs(Vec<(String, String)>);
///
/// impl Carrier for Pairs {
///     fn remove_stale(&mut self, owned: &OwnedFields<'_>) {
///         self.0.retain(|(key, _)| !owned.contains(key));
///     }
///     fn set(&mut self, key: &str, value: String) {
///         self.0.push((key.to_owned(), value));
///     }
/// }
/// ```
pub trait Carrier {
    /// Removes every entry whose key the installed propagator owns ([`OwnedFields::contains`]).
    fn remove_stale(&mut self, owned: &OwnedFields<'_>);
    /// Writes one field (the carrier may refuse a key or value it cannot carry).
    fn set(&mut self, key: &str, value: String);
}

/// The carrier keys the installed propagator owns.
///
/// ```
/// use tracewire_core::propagation::{JaegerPropagator, OwnedFields};
/// let jaeger = JaegerPropagator::new();
/// let owned = OwnedFields::new(&jaeger);
/// assert!(owned.contains("Uber-Trace-Id"));
/// assert!(owned.contains("uberctx-tenant")); // Jaeger's baggage entries, by prefix
/// assert!(!owned.contains("traceparent"));
/// ```
#[derive(Debug)]
pub struct OwnedFields<'a> {
    propagator: &'a dyn TextMapPropagator,
    jaeger_baggage: bool,
}

impl<'a> OwnedFields<'a> {
    /// The keys `propagator` owns.
    pub fn new(propagator: &'a dyn TextMapPropagator) -> Self {
        let jaeger_baggage = propagator.fields().any(|f| f == UBER_TRACE_ID);
        OwnedFields {
            propagator,
            jaeger_baggage,
        }
    }

    /// Whether an entry named `key` is the propagator's (case-insensitive).
    pub fn contains(&self, key: &str) -> bool {
        self.propagator
            .fields()
            .any(|f| f.eq_ignore_ascii_case(key))
            || self
                .prefix()
                .is_some_and(|p| starts_with_ignore_case(key, p))
    }

    /// The names the propagator lists, for carriers that remove by name.
    pub fn names(&self) -> FieldIter<'a> {
        self.propagator.fields()
    }

    /// A key prefix the propagator owns besides [`names`](Self::names) (Jaeger's `uberctx-`).
    pub fn prefix(&self) -> Option<&'static str> {
        self.jaeger_baggage.then_some(BAGGAGE_PREFIX)
    }
}

fn starts_with_ignore_case(key: &str, prefix: &str) -> bool {
    key.len() >= prefix.len()
        && key.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Whether a propagation field carries baggage (`baggage`, Jaeger's `uberctx-*`), which may hold user
/// data and is left out of carriers that are logged, such as SQL comments.
///
/// ```
/// use tracewire_core::propagation::is_baggage_field;
/// assert!(is_baggage_field("baggage") && is_baggage_field("uberctx-user"));
/// assert!(!is_baggage_field("traceparent"));
/// ```
pub fn is_baggage_field(key: &str) -> bool {
    key.eq_ignore_ascii_case("baggage") || starts_with_ignore_case(key, BAGGAGE_PREFIX)
}

/// What [`inject_into`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fields {
    /// Every field the propagator writes.
    All,
    /// Every field but baggage ([`is_baggage_field`]): for carriers that end up in logs.
    WithoutBaggage,
}

struct Writer<'c> {
    carrier: &'c mut dyn Carrier,
    fields: Fields,
}

impl Injector for Writer<'_> {
    fn set(&mut self, key: &str, value: String) {
        if self.fields == Fields::WithoutBaggage && is_baggage_field(key) {
            return;
        }
        self.carrier.set(key, value);
    }
}

/// Writes `cx` into `carrier` through the installed (global) propagator, after removing every stale
/// entry the propagator owns. The one injection rule every tracewire boundary uses.
///
/// ```
/// use std::collections::HashMap;
/// use opentelemetry::Context;
/// use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
/// use tracewire_core::propagation::{self, Carrier, Fields, OwnedFields};
///
/// struct Map(HashMap<String, String>);
/// impl Carrier for Map {
///     fn remove_stale(&mut self, owned: &OwnedFields<'_>) {
///         self.0.retain(|key, _| !owned.contains(key));
///     }
///     fn set(&mut self, key: &str, value: String) {
///         self.0.insert(key.to_owned(), value);
///     }
/// }
///
/// propagation::install();
/// let sc = SpanContext::new(TraceId::from(1), SpanId::from(2), TraceFlags::SAMPLED, true, TraceState::NONE);
/// let cx = Context::new().with_remote_span_context(sc);
/// let mut carrier = Map(HashMap::from([("tracestate".to_owned(), "stale=1".to_owned())]));
/// propagation::inject_into(&cx, &mut carrier, Fields::All);
/// assert_eq!(carrier.0["traceparent"], "00-00000000000000000000000000000001-0000000000000002-01");
/// assert!(!carrier.0.contains_key("tracestate")); // the stale one is gone
/// ```
pub fn inject_into(cx: &Context, carrier: &mut dyn Carrier, fields: Fields) {
    global::get_text_map_propagator(|p| inject_with(p, cx, carrier, fields));
}

/// Like [`inject_into`], through `propagator` instead of the global one.
///
/// ```
/// use tracewire_core::propagation::{Fields, JaegerPropagator, inject_with};
/// let mut headers = http::HeaderMap::new();
/// headers.insert("uberctx-stale", "1".parse().unwrap());
/// inject_with(&JaegerPropagator::new(), &opentelemetry::Context::new(), &mut headers, Fields::All);
/// assert!(headers.is_empty());
/// ```
pub fn inject_with(
    propagator: &dyn TextMapPropagator,
    cx: &Context,
    carrier: &mut dyn Carrier,
    fields: Fields,
) {
    carrier.remove_stale(&OwnedFields::new(propagator));
    propagator.inject_context(cx, &mut Writer { carrier, fields });
}

use opentelemetry::Context;
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};

use super::w3c;

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";

/// The W3C Trace Context propagator (`traceparent` and `tracestate`), validating at Level 2.
///
/// - A missing, malformed or duplicated `traceparent` leaves the context as it was (the trace restarts),
///   and the `tracestate` is then not read.
/// - Future versions are read at the version-00 offsets and re-sent as version 00 with unknown flag bits
///   cleared; the Level 2 random flag (0x02) is kept.
/// - `tracestate` lines are combined in order and validated all-or-nothing (32 members, Level 2 key
///   grammar, 256-character keys and values); an invalid list is dropped whole, the `traceparent` kept.
/// - An empty `tracestate` is never sent; a long one is cut by whole entries to 512 characters.
///
/// ```
/// use opentelemetry::propagation::TextMapPropagator;
/// use opentelemetry::trace::TraceContextExt;
/// use std::collections::HashMap;
/// let p = tracewire_core::propagation::W3cTraceContextPropagator::new();
/// let mut carrier = HashMap::new();
/// carrier.insert("traceparent".to_string(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03".to_string());
/// let cx = p.extract(&carrier);
/// assert!(cx.span().span_context().is_sampled());
/// let mut out = HashMap::new();
/// p.inject_context(&cx, &mut out);
/// assert!(out["traceparent"].ends_with("-03")); // random flag kept
/// ```
#[derive(Debug)]
pub struct W3cTraceContextPropagator {
    fields: [String; 2],
}

impl Default for W3cTraceContextPropagator {
    fn default() -> Self {
        Self::new()
    }
}

impl W3cTraceContextPropagator {
    /// A new propagator.
    ///
    /// ```
    /// use opentelemetry::Context;
    /// use opentelemetry::propagation::TextMapPropagator;
    /// use opentelemetry::trace::{
    ///     SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    /// };
    /// use std::collections::HashMap;
    ///
    /// let trace_id = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
    /// let span_id = SpanId::from_hex("00f067aa0ba902b7").unwrap();
    /// let sc = SpanContext::new(trace_id, span_id, TraceFlags::SAMPLED, false, TraceState::NONE);
    /// let cx = Context::new().with_remote_span_context(sc);
    /// let mut carrier = HashMap::new();
    /// let propagator = tracewire_core::propagation::W3cTraceContextPropagator::new();
    /// propagator.inject_context(&cx, &mut carrier);
    /// assert_eq!(
    ///     carrier["traceparent"],
    ///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    /// );
    /// assert!(!carrier.contains_key("tracestate")); // an empty tracestate is never sent
    /// ```
    pub fn new() -> Self {
        W3cTraceContextPropagator {
            fields: [TRACEPARENT.to_owned(), TRACESTATE.to_owned()],
        }
    }
}

/// A tracestate that is valid at W3C Level 2 but that the OpenTelemetry API's [`TraceState`] (Level 1
/// grammar) rejects: kept in the context, next to the remote span, so it is still propagated.
#[derive(Clone, Debug)]
struct Level2TraceState {
    trace_id: TraceId,
    header: String,
}

fn with_values<'a>(values: &'a [&'a str], f: impl FnOnce(&[&[u8]]) -> Option<()>) -> Option<()> {
    match values {
        [one] => f(&[one.as_bytes()]),
        many => {
            let bytes: Vec<&[u8]> = many.iter().map(|v| v.as_bytes()).collect();
            f(&bytes)
        }
    }
}

impl TextMapPropagator for W3cTraceContextPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let sc = span.span_context();
        if !sc.is_valid() {
            return;
        }
        // Root spans started by tracewire report the random flag in their own span context.
        let flags = sc.trace_flags().to_u8();
        injector.set(
            TRACEPARENT,
            w3c::format_traceparent(sc.trace_id().to_bytes(), sc.span_id().to_bytes(), flags),
        );
        let state = w3c::format_tracestate(sc.trace_state());
        if !state.is_empty() {
            injector.set(TRACESTATE, state);
        } else if let Some(l2) = cx
            .get::<Level2TraceState>()
            .filter(|l2| l2.trace_id == sc.trace_id())
        {
            injector.set(TRACESTATE, l2.header.clone());
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let Some(values) = extractor.get_all(TRACEPARENT) else {
            return cx.clone();
        };
        let mut parent = None;
        with_values(&values, |bytes| {
            parent = w3c::parse_traceparent(bytes).ok();
            Some(())
        });
        let Some(parent) = parent else {
            return cx.clone();
        };
        let trace_id = TraceId::from_bytes(parent.trace_id);
        let members = extractor
            .get_all(TRACESTATE)
            .and_then(|values| {
                let mut members = None;
                with_values(&values, |bytes| {
                    members = w3c::parse_tracestate(bytes);
                    Some(())
                });
                members
            })
            .unwrap_or_default();
        let (trace_state, level2) = if members.is_empty() {
            (TraceState::NONE, None)
        } else {
            match TraceState::from_key_value(members.iter().map(|(k, v)| (k, v))) {
                Ok(state) => (state, None),
                Err(_) => {
                    let header = w3c::format_tracestate(members.iter().map(|(k, v)| (&**k, &**v)));
                    (
                        TraceState::NONE,
                        Some(Level2TraceState { trace_id, header }),
                    )
                }
            }
        };
        let remote = SpanContext::new(
            trace_id,
            SpanId::from_bytes(parent.parent_id),
            TraceFlags::new(parent.flags),
            true,
            trace_state,
        );
        let cx = cx.with_remote_span_context(remote);
        match level2 {
            Some(l2) => cx.with_value(l2),
            None => cx,
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&self.fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn extract(pairs: &[(&str, &str)]) -> Context {
        let carrier: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        W3cTraceContextPropagator::new().extract_with_context(&Context::new(), &carrier)
    }

    fn inject(cx: &Context) -> HashMap<String, String> {
        let mut out = HashMap::new();
        W3cTraceContextPropagator::new().inject_context(cx, &mut out);
        out
    }

    const TP: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    #[test]
    fn level2_keys_survive_a_round_trip() {
        let cx = extract(&[
            ("traceparent", TP),
            ("tracestate", "a@b@c=1,tenant@averyveryverylongvendor=2"),
        ]);
        assert!(cx.span().span_context().is_valid());
        let out = inject(&cx);
        assert_eq!(
            out["tracestate"],
            "a@b@c=1,tenant@averyveryverylongvendor=2"
        );
    }

    #[test]
    fn invalid_tracestate_is_dropped_but_traceparent_kept() {
        let cx = extract(&[("traceparent", TP), ("tracestate", "a=1,B=2")]);
        let out = inject(&cx);
        assert_eq!(out["traceparent"], TP);
        assert!(!out.contains_key("tracestate"));
    }

    #[test]
    fn malformed_traceparent_leaves_the_context_alone() {
        let cx = extract(&[
            (
                "traceparent",
                "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            ),
            ("tracestate", "a=1"),
        ]);
        assert!(!cx.span().span_context().is_valid());
        assert!(inject(&cx).is_empty());
    }
}

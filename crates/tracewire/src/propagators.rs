//! The propagators `OTEL_PROPAGATORS` names.

// opentelemetry-zipkin is deprecated along with the Zipkin exporter, but is still the maintained B3
// propagator for this OpenTelemetry release.
#![cfg_attr(
    feature = "b3",
    expect(
        deprecated,
        reason = "opentelemetry-zipkin's B3 propagator is deprecated with its exporter"
    )
)]

use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};

use crate::env::PropagatorKind;

/// The composite propagator for `kinds`, in order. tracewire's own W3C propagators are used for
/// `tracecontext` and `baggage` (they enforce the W3C rules the stock ones miss) and for `jaeger` (the
/// maintained Jaeger propagator crate stops at opentelemetry 0.32); B3 comes from
/// opentelemetry-zipkin, deprecated along with the Zipkin exporter but still the maintained B3
/// propagator for this OpenTelemetry release.
///
/// ```
/// use opentelemetry::propagation::TextMapPropagator;
/// use tracewire::env::PropagatorKind;
/// let p = tracewire::propagator(&[PropagatorKind::TraceContext, PropagatorKind::Baggage]);
/// assert_eq!(p.fields().count(), 3);
/// ```
pub fn propagator(kinds: &[PropagatorKind]) -> TextMapCompositePropagator {
    let mut parts: Vec<Box<dyn TextMapPropagator + Send + Sync>> = Vec::new();
    for kind in kinds {
        match kind {
            PropagatorKind::TraceContext => parts.push(Box::new(
                tracewire_core::propagation::W3cTraceContextPropagator::new(),
            )),
            PropagatorKind::Baggage => parts.push(Box::new(
                tracewire_core::propagation::W3cBaggagePropagator::new(),
            )),
            #[cfg(feature = "b3")]
            PropagatorKind::B3 => parts.push(Box::new(B3::new(
                opentelemetry_zipkin::B3Encoding::SingleHeader,
            ))),
            #[cfg(feature = "b3")]
            PropagatorKind::B3Multi => parts.push(Box::new(B3::new(
                opentelemetry_zipkin::B3Encoding::MultipleHeader,
            ))),
            PropagatorKind::Jaeger => parts.push(Box::new(
                tracewire_core::propagation::JaegerPropagator::new(),
            )),
            // Config never holds these without the feature (it warns instead).
            #[cfg(not(feature = "b3"))]
            PropagatorKind::B3 | PropagatorKind::B3Multi => {}
        }
    }
    TextMapCompositePropagator::new(parts)
}

/// B3 through opentelemetry-zipkin, without its reading of trace flag 0x02 as B3's "deferred"
/// decision: in OpenTelemetry that bit is W3C's random flag, which every root tracewire starts carries,
/// so the stock propagator would send no sampling decision for them and a B3 receiver would drop the
/// trace. The bit is cleared before injecting (the decision is always sent), and cleared from what is
/// extracted (a B3 trace id is not known to be random; a missing decision reads as not sampled, as in
/// the other SDKs).
///
/// Its fields are both encodings' whichever it writes: B3 extraction reads the single `b3` header first
/// and the `x-b3-*` headers after, so a stale entry of either kind must be replaced.
///
/// And `b3` writes the single header only, as the specification says: opentelemetry-zipkin's single
/// encoding writes the `x-b3-*` headers too.
#[cfg(feature = "b3")]
#[derive(Debug)]
struct B3 {
    inner: opentelemetry_zipkin::Propagator,
    single: bool,
    fields: [String; 6],
}

/// Passes on only the `b3` header.
#[cfg(feature = "b3")]
struct SingleOnly<'a>(&'a mut dyn opentelemetry::propagation::Injector);

#[cfg(feature = "b3")]
impl opentelemetry::propagation::Injector for SingleOnly<'_> {
    fn set(&mut self, key: &str, value: String) {
        if key == "b3" {
            self.0.set(key, value);
        }
    }
}

#[cfg(feature = "b3")]
impl B3 {
    fn new(encoding: opentelemetry_zipkin::B3Encoding) -> Self {
        B3 {
            single: matches!(encoding, opentelemetry_zipkin::B3Encoding::SingleHeader),
            inner: opentelemetry_zipkin::Propagator::with_encoding(encoding),
            fields: [
                "b3",
                "x-b3-traceid",
                "x-b3-spanid",
                "x-b3-parentspanid",
                "x-b3-sampled",
                "x-b3-flags",
            ]
            .map(String::from),
        }
    }
}

#[cfg(feature = "b3")]
fn without_flag_0x02(
    sc: &opentelemetry::trace::SpanContext,
) -> Option<opentelemetry::trace::SpanContext> {
    use opentelemetry::trace::{SpanContext, TraceFlags};
    let flags = sc.trace_flags().to_u8();
    (flags & 0x02 != 0).then(|| {
        SpanContext::new(
            sc.trace_id(),
            sc.span_id(),
            TraceFlags::new(flags & !0x02),
            sc.is_remote(),
            sc.trace_state().clone(),
        )
    })
}

#[cfg(feature = "b3")]
impl TextMapPropagator for B3 {
    fn inject_context(
        &self,
        cx: &opentelemetry::Context,
        injector: &mut dyn opentelemetry::propagation::Injector,
    ) {
        use opentelemetry::trace::TraceContextExt;
        let mut single = SingleOnly(injector);
        let injector: &mut dyn opentelemetry::propagation::Injector =
            if self.single { &mut single } else { single.0 };
        match without_flag_0x02(cx.span().span_context()) {
            Some(sc) => self.inner.inject_context(
                &opentelemetry::Context::new().with_remote_span_context(sc),
                injector,
            ),
            None => self.inner.inject_context(cx, injector),
        }
    }

    fn extract_with_context(
        &self,
        cx: &opentelemetry::Context,
        extractor: &dyn opentelemetry::propagation::Extractor,
    ) -> opentelemetry::Context {
        use opentelemetry::trace::TraceContextExt;
        let extracted = self.inner.extract_with_context(cx, extractor);
        match without_flag_0x02(extracted.span().span_context()).filter(|sc| sc.is_remote()) {
            Some(sc) => extracted.with_remote_span_context(sc),
            None => extracted,
        }
    }

    fn fields(&self) -> opentelemetry::propagation::text_map_propagator::FieldIter<'_> {
        opentelemetry::propagation::text_map_propagator::FieldIter::new(&self.fields)
    }
}

#[cfg(all(test, feature = "b3"))]
mod tests {
    use super::*;
    use opentelemetry::Context;
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };
    use std::collections::HashMap;

    fn cx(flags: u8) -> Context {
        let sc = SpanContext::new(
            TraceId::from(0x4bf92f3577b34da6a3ce929d0e0e4736),
            SpanId::from(0x00f067aa0ba902b7),
            TraceFlags::new(flags),
            false,
            TraceState::NONE,
        );
        Context::new().with_remote_span_context(sc)
    }

    #[test]
    fn the_random_flag_is_not_b3_deferred() {
        let single = B3::new(opentelemetry_zipkin::B3Encoding::SingleHeader);
        let multi = B3::new(opentelemetry_zipkin::B3Encoding::MultipleHeader);
        for (flags, sampled) in [(0x03, "1"), (0x02, "0"), (0x01, "1"), (0x00, "0")] {
            let mut out = HashMap::new();
            single.inject_context(&cx(flags), &mut out);
            assert_eq!(out.len(), 1, "b3 is the single header only: {out:?}");
            assert_eq!(
                out["b3"],
                format!("4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-{sampled}"),
                "flags {flags:#04x}"
            );
            let back = single.extract_with_context(&Context::new(), &out);
            assert_eq!(back.span().span_context().is_sampled(), sampled == "1");
            assert_eq!(back.span().span_context().trace_flags().to_u8() & 0x02, 0);

            let mut out = HashMap::new();
            multi.inject_context(&cx(flags), &mut out);
            assert_eq!(out["x-b3-sampled"], sampled, "flags {flags:#04x}");
        }
        // A B3 header without a decision reads as not sampled, never with W3C's random flag.
        let mut deferred = HashMap::new();
        deferred.insert(
            "b3".to_owned(),
            "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7".to_owned(),
        );
        let back = single.extract_with_context(&Context::new(), &deferred);
        assert!(back.span().span_context().is_valid());
        assert_eq!(back.span().span_context().trace_flags().to_u8(), 0);
    }
}

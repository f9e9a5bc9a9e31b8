use opentelemetry::Context;
use opentelemetry::baggage::{Baggage, BaggageExt};
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};

use super::w3c;

const BAGGAGE: &str = "baggage";

/// The W3C Baggage propagator.
///
/// Header lines are combined in order; an invalid member is dropped on its own; values are
/// percent-decoded (invalid UTF-8 becomes U+FFFD) and percent-encoded when sent, `%` included; at most
/// 64 members and 8,192 bytes are sent, and a member that does not fit is left out whole.
///
/// ```
/// use opentelemetry::baggage::BaggageExt;
/// use opentelemetry::propagation::TextMapPropagator;
/// use std::collections::HashMap;
/// let p = tracewire_core::propagation::W3cBaggagePropagator::new();
/// let mut carrier = HashMap::new();
/// carrier.insert("baggage".to_string(), "user=alice%20b, bad key=1".to_string());
/// let cx = p.extract(&carrier);
/// assert_eq!(cx.baggage().get("user").map(|v| v.as_str()), Some("alice b"));
/// assert_eq!(cx.baggage().len(), 1);
/// ```
#[derive(Debug)]
pub struct W3cBaggagePropagator {
    fields: [String; 1],
}

impl Default for W3cBaggagePropagator {
    fn default() -> Self {
        Self::new()
    }
}

impl W3cBaggagePropagator {
    /// A new propagator.
    ///
    /// ```
    /// use opentelemetry::Context;
    /// use opentelemetry::baggage::{Baggage, BaggageExt};
    /// use opentelemetry::propagation::TextMapPropagator;
    /// use std::collections::HashMap;
    ///
    /// let mut baggage = Baggage::new();
    /// let _ = baggage.insert("user", "alice b");
    /// let cx = Context::new().with_baggage(baggage);
    /// let mut carrier = HashMap::new();
    /// tracewire_core::propagation::W3cBaggagePropagator::new().inject_context(&cx, &mut carrier);
    /// assert_eq!(carrier["baggage"], "user=alice%20b");
    /// ```
    pub fn new() -> Self {
        W3cBaggagePropagator {
            fields: [BAGGAGE.to_owned()],
        }
    }
}

impl TextMapPropagator for W3cBaggagePropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let baggage = cx.baggage();
        if baggage.is_empty() {
            return;
        }
        let header = w3c::format_baggage(
            baggage
                .iter()
                .map(|(k, (v, meta))| (k.as_str(), v.as_str(), meta.as_str())),
        );
        if !header.is_empty() {
            injector.set(BAGGAGE, header);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let Some(values) = extractor.get_all(BAGGAGE) else {
            return cx.clone();
        };
        let bytes: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
        let members = w3c::parse_baggage(&bytes);
        if members.is_empty() {
            return cx.clone();
        }
        let mut baggage = Baggage::new();
        for member in members {
            baggage.insert_with_metadata(member.key, member.value, member.properties);
        }
        cx.with_baggage(baggage)
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&self.fields)
    }
}

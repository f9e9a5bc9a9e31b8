use opentelemetry::Context;
use opentelemetry::baggage::{Baggage, BaggageExt};
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};

use super::{header_text, w3c};

pub(crate) const UBER_TRACE_ID: &str = "uber-trace-id";
pub(crate) const BAGGAGE_PREFIX: &str = "uberctx-";
/// Jaeger's `debug` flag: the caller forces sampling; only meaningful with `sampled`.
const FLAG_DEBUG: u8 = 0x02;
/// A bound on one baggage value read from the wire, so a hostile caller cannot make us hold megabytes.
const MAX_BAGGAGE_VALUE_BYTES: usize = 4096;

/// The Jaeger propagator: `uber-trace-id: {trace-id}:{span-id}:{parent-span-id}:{flags}` and one
/// `uberctx-{key}` header per baggage entry, for services still instrumented with Jaeger clients.
///
/// Reading follows the Jaeger client rules: trace ids of 16 or 32 hex digits (shorter ones are
/// left-padded, as clients that drop leading zeros send them), span ids of up to 16, all-zero ids
/// rejected, flags of one or two hex digits where `1` is sampled and `2` (debug) forces sampling; the
/// deprecated parent span id is ignored, and a URL-encoded value (`%3A` for `:`) is accepted. A duplicated
/// `uber-trace-id` with different values is ignored, as a duplicated `traceparent` is. `uberctx-*` values
/// are percent-decoded and added to the context's baggage (at most 64 entries of 4 KiB each), whether or
/// not a trace id came with them.
///
/// Writing sends 32-digit trace ids, parent `0` and flags `1` or `0`; baggage values are percent-encoded.
/// [`fields`](TextMapPropagator::fields) names only `uber-trace-id`: `uberctx-*` names depend on the
/// baggage, so [`inject`](super::inject) cannot clear stale ones beforehand.
///
/// ```
/// use opentelemetry::baggage::BaggageExt;
/// use opentelemetry::propagation::TextMapPropagator;
/// use opentelemetry::trace::TraceContextExt;
/// use std::collections::HashMap;
/// let p = tracewire_core::propagation::JaegerPropagator::new();
/// let mut carrier = HashMap::new();
/// carrier.insert("uber-trace-id".to_string(), "a3ce929d0e0e4736:f067aa0ba902b7:0:1".to_string());
/// carrier.insert("uberctx-tenant".to_string(), "acme%20corp".to_string());
/// let cx = p.extract(&carrier);
/// let span = cx.span().span_context().clone();
/// assert_eq!(span.trace_id().to_string(), "0000000000000000a3ce929d0e0e4736");
/// assert!(span.is_sampled() && span.is_remote());
/// assert_eq!(cx.baggage().get("tenant").map(|v| v.as_str()), Some("acme corp"));
///
/// let mut out = HashMap::new();
/// p.inject_context(&cx, &mut out);
/// assert_eq!(out["uber-trace-id"], "0000000000000000a3ce929d0e0e4736:00f067aa0ba902b7:0:1");
/// assert_eq!(out["uberctx-tenant"], "acme%20corp");
/// ```
#[derive(Debug)]
pub struct JaegerPropagator {
    fields: [String; 1],
}

impl Default for JaegerPropagator {
    fn default() -> Self {
        Self::new()
    }
}

impl JaegerPropagator {
    /// A new propagator.
    pub fn new() -> Self {
        JaegerPropagator {
            fields: [UBER_TRACE_ID.to_owned()],
        }
    }
}

impl TextMapPropagator for JaegerPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let sc = span.span_context();
        if sc.is_valid() {
            let flags = if sc.is_sampled() { '1' } else { '0' };
            injector.set(
                UBER_TRACE_ID,
                format!("{}:{}:0:{flags}", sc.trace_id(), sc.span_id()),
            );
        }
        for (count, (key, (value, _))) in cx.baggage().iter().enumerate() {
            if count >= w3c::MAX_BAGGAGE_MEMBERS {
                break;
            }
            if !w3c::is_token(key.as_str()) {
                continue;
            }
            let mut encoded = String::with_capacity(value.as_str().len());
            w3c::percent_encode_into(value.as_str(), &mut encoded);
            injector.set(&format!("{BAGGAGE_PREFIX}{}", key.as_str()), encoded);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let baggage = extract_baggage(extractor);
        let cx = if baggage.is_empty() {
            cx.clone()
        } else {
            cx.with_baggage(baggage)
        };
        match extract_span_context(extractor) {
            Some(sc) => cx.with_remote_span_context(sc),
            None => cx,
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&self.fields)
    }
}

fn extract_span_context(extractor: &dyn Extractor) -> Option<SpanContext> {
    let values = extractor.get_all(UBER_TRACE_ID)?;
    let first = *values.first()?;
    if values.iter().any(|v| *v != first) {
        return None;
    }
    parse_uber_trace_id(header_text(first.as_bytes())?.trim())
}

/// The span context in an `uber-trace-id` value, `None` when it is not valid.
fn parse_uber_trace_id(value: &str) -> Option<SpanContext> {
    let decoded;
    let value = if !value.contains(':') && value.contains('%') {
        decoded = value.replace("%3A", ":").replace("%3a", ":");
        decoded.as_str()
    } else {
        value
    };
    let mut parts = value.split(':');
    let (trace_id, span_id, _parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let trace_id = TraceId::from_bytes(hex_padded::<16>(trace_id)?);
    let span_id = SpanId::from_bytes(hex_padded::<8>(span_id)?);
    if trace_id == TraceId::INVALID || span_id == SpanId::INVALID {
        return None;
    }
    let [flags] = hex_padded::<1>(flags)?;
    let sampled = flags & (w3c::FLAG_SAMPLED | FLAG_DEBUG) != 0;
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    Some(SpanContext::new(
        trace_id,
        span_id,
        flags,
        true,
        TraceState::default(),
    ))
}

/// `N` bytes from 1 to `2 * N` hex digits, left-padded with zeros.
fn hex_padded<const N: usize>(digits: &str) -> Option<[u8; N]> {
    let digits = digits.as_bytes();
    if digits.is_empty() || digits.len() > 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    let skip = 2 * N - digits.len();
    for (i, &d) in digits.iter().enumerate() {
        let nibble = w3c::any_hex_val(d)?;
        let pos = skip + i;
        out[pos / 2] |= if pos.is_multiple_of(2) {
            nibble << 4
        } else {
            nibble
        };
    }
    Some(out)
}

fn extract_baggage(extractor: &dyn Extractor) -> Baggage {
    let mut baggage = Baggage::new();
    for name in extractor.keys() {
        if baggage.len() >= w3c::MAX_BAGGAGE_MEMBERS {
            break;
        }
        let Some(key) = strip_prefix_ignore_case(name, BAGGAGE_PREFIX) else {
            continue;
        };
        if !w3c::is_token(key) {
            continue;
        }
        let Some(raw) = extractor.get(name).and_then(|v| header_text(v.as_bytes())) else {
            continue;
        };
        if raw.len() > MAX_BAGGAGE_VALUE_BYTES {
            continue;
        }
        if let Some(value) = w3c::percent_decode(raw.trim()) {
            baggage.insert(key.to_ascii_lowercase(), value);
        }
    }
    baggage
}

fn strip_prefix_ignore_case<'a>(name: &'a str, prefix: &str) -> Option<&'a str> {
    let head = name.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &name[prefix.len()..])
        .filter(|rest| !rest.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const TID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SID: &str = "00f067aa0ba902b7";

    fn extract(pairs: &[(&str, &str)]) -> Context {
        let carrier: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        JaegerPropagator::new().extract_with_context(&Context::new(), &carrier)
    }

    fn span_of(cx: &Context) -> SpanContext {
        cx.span().span_context().clone()
    }

    #[test]
    fn reads_full_and_short_ids_with_each_flag() {
        let cx = extract(&[(UBER_TRACE_ID, &format!("{TID}:{SID}:0:1"))]);
        let sc = span_of(&cx);
        assert_eq!(sc.trace_id().to_string(), TID);
        assert_eq!(sc.span_id().to_string(), SID);
        assert!(sc.is_sampled() && sc.is_remote());

        let sc = span_of(&extract(&[(UBER_TRACE_ID, "abc:def:0:0")]));
        assert_eq!(sc.trace_id().to_string(), format!("{:0>32}", "abc"));
        assert_eq!(sc.span_id().to_string(), format!("{:0>16}", "def"));
        assert!(!sc.is_sampled());

        // debug (2) forces sampling; 0x03 and a two-digit form too; unknown bits alone do not sample.
        for (flags, sampled) in [("2", true), ("03", true), ("08", false), ("0", false)] {
            let sc = span_of(&extract(&[(
                UBER_TRACE_ID,
                &format!("{TID}:{SID}:0:{flags}"),
            )]));
            assert_eq!(sc.is_sampled(), sampled, "flags {flags}");
        }
    }

    #[test]
    fn accepts_url_encoded_separators() {
        let sc = span_of(&extract(&[(
            UBER_TRACE_ID,
            &format!("{TID}%3A{SID}%3a0%3A1"),
        )]));
        assert_eq!(sc.trace_id().to_string(), TID);
    }

    #[test]
    fn rejects_every_malformed_form() {
        let long_tid = format!("{TID}0");
        let bad = [
            String::new(),
            format!("{TID}:{SID}:0"),
            format!("{TID}:{SID}:0:1:extra"),
            format!("{long_tid}:{SID}:0:1"),
            format!("{TID}:{SID}0:0:1"),
            format!("{TID}:{SID}:0:100"),
            format!("{TID}:{SID}:0:"),
            format!("{TID}::0:1"),
            format!(":{SID}:0:1"),
            format!("0:{SID}:0:1"),
            format!("{TID}:0000000000000000:0:1"),
            format!("{TID}:{SID}:0:z"),
            format!("{}:{SID}:0:1", "g".repeat(32)),
            format!("{TID}:{SID}:0:1 trailing"),
        ];
        for value in &bad {
            let cx = extract(&[(UBER_TRACE_ID, value)]);
            assert!(!span_of(&cx).is_valid(), "accepted {value:?}");
        }
    }

    /// `uber-trace-id` header lines with these flags.
    fn uber_lines(flags: &[&str]) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        for f in flags {
            let value = format!("{TID}:{SID}:0:{f}");
            headers.append(UBER_TRACE_ID, value.parse().expect("valid in the test"));
        }
        headers
    }

    #[test]
    fn duplicated_header_with_different_values_is_ignored() {
        let p = JaegerPropagator::new();
        let differing = uber_lines(&["1", "0"]);
        let cx = p.extract(&crate::propagation::HeaderExtractor(&differing));
        assert!(!span_of(&cx).is_valid());
        let same = uber_lines(&["1", "1"]);
        let cx = p.extract(&crate::propagation::HeaderExtractor(&same));
        assert!(span_of(&cx).is_valid());
    }

    #[test]
    fn binary_header_value_is_ignored() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            UBER_TRACE_ID,
            http::HeaderValue::from_bytes(b"\xff\xfe:1:0:1").expect("valid in the test"),
        );
        headers.insert(
            "uberctx-k",
            http::HeaderValue::from_bytes(b"\xffvalue").expect("valid in the test"),
        );
        let cx = JaegerPropagator::new().extract(&crate::propagation::HeaderExtractor(&headers));
        assert!(!span_of(&cx).is_valid());
        assert!(cx.baggage().is_empty());
    }

    #[test]
    fn baggage_without_trace_is_kept_and_bounded() {
        let cx = extract(&[
            ("uberctx-user", "alice%20b"),
            ("uberctx-plan", "gold"),
            ("uberctx-", "no key"),
            ("uberctx-bad key", "x"),
            ("uberctx-huge", &"x".repeat(MAX_BAGGAGE_VALUE_BYTES + 1)),
            ("uberctx-broken", "%zz"),
        ]);
        assert!(!span_of(&cx).is_valid());
        let baggage = cx.baggage();
        assert_eq!(baggage.get("user").map(|v| v.as_str()), Some("alice b"));
        assert_eq!(baggage.get("plan").map(|v| v.as_str()), Some("gold"));
        assert_eq!(baggage.len(), 2);

        let many: Vec<(String, String)> = (0..200)
            .map(|i| (format!("uberctx-k{i}"), i.to_string()))
            .collect();
        let pairs: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(extract(&pairs).baggage().len(), w3c::MAX_BAGGAGE_MEMBERS);
    }

    #[test]
    fn injects_ids_flags_and_encoded_baggage() {
        let sc = SpanContext::new(
            TraceId::from_hex(TID).expect("valid in the test"),
            SpanId::from_hex(SID).expect("valid in the test"),
            TraceFlags::default(),
            false,
            TraceState::default(),
        );
        let cx = Context::new()
            .with_remote_span_context(sc)
            .with_baggage([opentelemetry::KeyValue::new("note", "a,b c%")]);
        let mut out = HashMap::new();
        JaegerPropagator::new().inject_context(&cx, &mut out);
        assert_eq!(out[UBER_TRACE_ID], format!("{TID}:{SID}:0:0"));
        assert_eq!(out["uberctx-note"], "a%2Cb%20c%25");

        // Nothing for an empty context.
        let mut out: HashMap<String, String> = HashMap::new();
        JaegerPropagator::new().inject_context(&Context::new(), &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn round_trips_through_http_headers() {
        let p = JaegerPropagator::new();
        let mut incoming = http::HeaderMap::new();
        incoming.insert(
            UBER_TRACE_ID,
            format!("{TID}:{SID}:0:1")
                .parse()
                .expect("valid in the test"),
        );
        incoming.insert("uberctx-tenant", "acme".parse().expect("valid in the test"));
        let cx = p.extract(&crate::propagation::HeaderExtractor(&incoming));
        let mut outgoing = http::HeaderMap::new();
        p.inject_context(&cx, &mut crate::propagation::HeaderInjector(&mut outgoing));
        assert_eq!(outgoing, incoming);
    }
}

//! Trace context in Kafka record headers.

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use tracewire_core::propagation::header_text;

/// The header keys tracewire writes (and replaces when a record already has them).
pub const PROPAGATION_KEYS: [&str; 3] = ["traceparent", "tracestate", "baggage"];

/// Reads propagation fields from Kafka record headers. Every header of a key is seen (a duplicated
/// `traceparent` restarts the trace); a binary or non-ASCII value reads as empty.
///
/// ```
/// use opentelemetry::propagation::Extractor;
/// use rdkafka::message::{Header, OwnedHeaders};
/// let headers = OwnedHeaders::new()
///     .insert(Header { key: "traceparent", value: Some("00-abc") })
///     .insert(Header { key: "blob", value: Some(&[0xff_u8, 0x00][..]) });
/// let extractor = tracewire_kafka::HeaderExtractor(&headers);
/// assert_eq!(extractor.get("traceparent"), Some("00-abc"));
/// assert_eq!(extractor.get("blob"), Some(""));
/// ```
#[derive(Debug)]
pub struct HeaderExtractor<'a, H: Headers + ?Sized>(pub &'a H);

/// Every header, in order (`Headers::iter` needs a sized type; librdkafka's borrowed headers are not).
fn all<H: Headers + ?Sized>(headers: &H) -> impl Iterator<Item = Header<'_, &[u8]>> {
    (0..headers.count()).filter_map(|i| headers.try_get(i))
}

impl<H: Headers + ?Sized> Extractor for HeaderExtractor<'_, H> {
    fn get(&self, key: &str) -> Option<&str> {
        all(self.0)
            .find(|h| h.key == key)
            .map(|h| h.value.and_then(header_text).unwrap_or(""))
    }

    fn keys(&self) -> Vec<&str> {
        all(self.0).map(|h| h.key).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = all(self.0)
            .filter(|h| h.key == key)
            .map(|h| h.value.and_then(header_text).unwrap_or(""))
            .collect();
        (!values.is_empty()).then_some(values)
    }
}

struct Collect(Vec<(&'static str, String)>);

impl Injector for Collect {
    fn set(&mut self, key: &str, value: String) {
        if let Some(known) = PROPAGATION_KEYS.iter().find(|k| **k == key) {
            self.0.push((known, value));
        }
    }
}

/// The record's headers with the context of `cx` written in: the user's headers first, in order,
/// without any stale propagation header, then ours.
pub(crate) fn inject(cx: &Context, existing: Option<&OwnedHeaders>) -> OwnedHeaders {
    let mut fields = Collect(Vec::with_capacity(3));
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(cx, &mut fields));
    let capacity = existing.map_or(0, |h| h.count()) + fields.0.len();
    let mut headers = OwnedHeaders::new_with_capacity(capacity);
    if let Some(existing) = existing {
        for header in all(existing) {
            if PROPAGATION_KEYS.contains(&header.key) {
                continue;
            }
            headers = headers.insert(Header {
                key: header.key,
                value: header.value,
            });
        }
    }
    for (key, value) in &fields.0 {
        headers = headers.insert(Header {
            key,
            value: Some(value.as_str()),
        });
    }
    headers
}

/// The context extracted from a message's headers (empty when it has none).
pub(crate) fn extract<H: Headers + ?Sized>(headers: Option<&H>) -> Context {
    match headers {
        Some(headers) => opentelemetry::global::get_text_map_propagator(|p| {
            p.extract_with_context(&Context::new(), &HeaderExtractor(headers))
        }),
        None => Context::new(),
    }
}

//! Trace context in Kafka record headers.

use opentelemetry::Context;
use opentelemetry::propagation::Extractor;
use rdkafka::message::{Header, Headers, OwnedHeaders};
use tracewire_core::propagation::{self, Carrier, Fields, OwnedFields, header_text};

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

/// A record's headers being rebuilt with the context written in: the user's headers first, in order,
/// without any the propagator owns, then the propagation fields.
struct Rebuilt<'a> {
    existing: Option<&'a OwnedHeaders>,
    headers: Option<OwnedHeaders>,
}

impl Carrier for Rebuilt<'_> {
    fn remove_stale(&mut self, owned: &OwnedFields<'_>) {
        // Room for the propagation fields of the richest configuration (W3C with baggage, or B3 multi).
        let capacity = self.existing.map_or(0, |h| h.count()) + 5;
        let mut headers = OwnedHeaders::new_with_capacity(capacity);
        if let Some(existing) = self.existing {
            for header in all(existing).filter(|h| !owned.contains(h.key)) {
                headers = headers.insert(header);
            }
        }
        self.headers = Some(headers);
    }

    fn set(&mut self, key: &str, value: String) {
        let headers = self.headers.take().unwrap_or_default();
        self.headers = Some(headers.insert(Header {
            key,
            value: Some(value.as_str()),
        }));
    }
}

/// The record's headers with the context of `cx` written in by the installed propagator.
pub(crate) fn inject(cx: &Context, existing: Option<&OwnedHeaders>) -> OwnedHeaders {
    let mut carrier = Rebuilt {
        existing,
        headers: None,
    };
    propagation::inject_into(cx, &mut carrier, Fields::All);
    carrier.headers.unwrap_or_default()
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

//! Trace context in AMQP message headers.
//!
//! Written as long strings; read from long or short strings. Values of any other AMQP type (numbers,
//! byte arrays, nested tables, …) under a propagation key are ignored, and so are values that are not
//! visible ASCII: a message with odd headers simply carries no context.

use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use std::collections::BTreeMap;

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector};
use tracewire_core::propagation::header_text;
use tracewire_core::propagation::{self, Carrier, Fields, OwnedFields};

/// Reads propagation fields from an AMQP header table.
///
/// ```
/// use lapin::types::{AMQPValue, FieldTable};
/// use opentelemetry::propagation::Extractor;
/// let mut headers = FieldTable::default();
/// headers.insert("traceparent".into(), AMQPValue::LongString("00-abc".into()));
/// headers.insert("retries".into(), AMQPValue::LongInt(3));
/// let extractor = tracewire_lapin::HeaderExtractor(&headers);
/// assert_eq!(extractor.get("traceparent"), Some("00-abc"));
/// assert_eq!(extractor.get("retries"), None);
/// ```
#[derive(Debug)]
pub struct HeaderExtractor<'a>(pub &'a FieldTable);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match self.0.inner().get(key)? {
            AMQPValue::LongString(s) => header_text(s.as_bytes()),
            AMQPValue::ShortString(s) => header_text(s.as_str().as_bytes()),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        self.0.inner().keys().map(ShortString::as_str).collect()
    }
}

/// Writes propagation fields into an AMQP header table as long strings, replacing a value of the same
/// key (a stale `traceparent` from a message being re-published), and leaving every other header as it is.
///
/// ```
/// use lapin::types::FieldTable;
/// use opentelemetry::propagation::Injector;
/// let mut headers = FieldTable::default();
/// tracewire_lapin::HeaderInjector(&mut headers).set("traceparent", "00-abc".into());
/// assert!(headers.contains_key("traceparent"));
/// // A key longer than an AMQP field name may be is left out.
/// tracewire_lapin::HeaderInjector(&mut headers).set(&"k".repeat(256), "v".into());
/// assert_eq!(headers.inner().len(), 1);
/// ```
#[derive(Debug)]
pub struct HeaderInjector<'a>(pub &'a mut FieldTable);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // An AMQP field name is a short string (at most 255 bytes): a propagator's longer key cannot be
        // carried, and is dropped rather than failing the publish.
        if let Ok(key) = ShortString::try_new(key) {
            self.0
                .insert(key, AMQPValue::LongString(LongString::from(value)));
        }
    }
}

/// A message's header table being rebuilt with the context written in: the application's headers
/// without any the propagator owns, then the propagation fields.
struct Rebuilt<'a> {
    existing: Option<&'a FieldTable>,
    headers: FieldTable,
}

impl Carrier for Rebuilt<'_> {
    fn remove_stale(&mut self, owned: &OwnedFields<'_>) {
        if let Some(existing) = self.existing {
            self.headers = existing
                .inner()
                .iter()
                .filter(|(k, _)| !owned.contains(k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<BTreeMap<_, _>>()
                .into();
        }
    }

    fn set(&mut self, key: &str, value: String) {
        HeaderInjector(&mut self.headers).set(key, value);
    }
}

/// The message's headers with the context of `cx` written in by the installed propagator.
pub(crate) fn inject(cx: &Context, existing: Option<&FieldTable>) -> FieldTable {
    let mut carrier = Rebuilt {
        existing,
        headers: FieldTable::default(),
    };
    propagation::inject_into(cx, &mut carrier, Fields::All);
    carrier.headers
}

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector};

/// Reads propagation fields from an [`http::HeaderMap`].
///
/// Every field line is seen ([`Extractor::get_all`] uses `HeaderMap::get_all`), so a duplicated
/// `traceparent` is detected and several `tracestate`/`baggage` lines are combined. A value that is not
/// visible ASCII is never interpreted: it reads as an empty value, which keeps its place in the count
/// without its content.
///
/// ```
/// use opentelemetry::propagation::Extractor;
/// let mut headers = http::HeaderMap::new();
/// headers.append("tracestate", "a=1".parse().unwrap());
/// headers.append("tracestate", "b=2".parse().unwrap());
/// let ex = tracewire_core::propagation::HeaderExtractor(&headers);
/// assert_eq!(ex.get_all("tracestate"), Some(vec!["a=1", "b=2"]));
/// ```
#[derive(Debug)]
pub struct HeaderExtractor<'a>(pub &'a HeaderMap);

/// The propagation fields, as header names that need no parsing on lookup.
fn known_name(key: &str) -> Option<&'static HeaderName> {
    static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
    static TRACESTATE: HeaderName = HeaderName::from_static("tracestate");
    static BAGGAGE: HeaderName = HeaderName::from_static("baggage");
    match key {
        "traceparent" => Some(&TRACEPARENT),
        "tracestate" => Some(&TRACESTATE),
        "baggage" => Some(&BAGGAGE),
        _ => None,
    }
}

impl HeaderExtractor<'_> {
    fn values(&self, key: &str) -> http::header::GetAll<'_, http::HeaderValue> {
        match known_name(key) {
            Some(name) => self.0.get_all(name),
            None => self.0.get_all(key),
        }
    }
}

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.values(key).iter().next().and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let mut values = self.values(key).iter().peekable();
        values.peek()?;
        Some(values.map(|v| v.to_str().unwrap_or("")).collect())
    }
}

/// Writes propagation fields into an [`http::HeaderMap`], replacing every earlier line of the same
/// name, so a stale `traceparent` is never sent next to ours. A field whose name or value is not a valid
/// header is skipped.
///
/// ```
/// use opentelemetry::propagation::Injector;
/// let mut headers = http::HeaderMap::new();
/// headers.append("traceparent", "stale".parse().unwrap());
/// headers.append("traceparent", "stale-too".parse().unwrap());
/// tracewire_core::propagation::HeaderInjector(&mut headers).set("traceparent", "fresh".into());
/// assert_eq!(headers.get_all("traceparent").iter().count(), 1);
/// ```
#[derive(Debug)]
pub struct HeaderInjector<'a>(pub &'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        let Ok(value) = HeaderValue::try_from(value) else {
            return;
        };
        match known_name(key) {
            Some(name) => {
                self.0.insert(name.clone(), value);
            }
            None => {
                if let Ok(name) = HeaderName::from_bytes(key.as_bytes()) {
                    self.0.insert(name, value);
                }
            }
        }
    }
}

/// HTTP headers as a [`Carrier`](super::Carrier): stale fields removed by name (and Jaeger's
/// `uberctx-*` by prefix), fields written as [`HeaderInjector`] does.
impl super::Carrier for HeaderMap {
    fn remove_stale(&mut self, owned: &super::OwnedFields<'_>) {
        // Most requests carry no stale entry: one pass over the (few) keys finds out, where removing
        // by name would parse and hash every field name of the propagator.
        if !self.keys().any(|k| owned.contains(k.as_str())) {
            return;
        }
        for name in owned.names() {
            self.remove(name);
        }
        if let Some(prefix) = owned.prefix() {
            // Header names are lower case in a `HeaderMap`.
            let stale: Vec<HeaderName> = self
                .keys()
                .filter(|k| k.as_str().starts_with(prefix))
                .cloned()
                .collect();
            for name in stale {
                self.remove(name);
            }
        }
    }

    fn set(&mut self, key: &str, value: String) {
        HeaderInjector(self).set(key, value);
    }
}

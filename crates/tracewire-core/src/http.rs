//! HTTP rules shared by the server and client boundaries (semantic conventions §1): known methods and
//! `_OTHER`, span names, status classification, protocol versions and header capture.
//!
//! ```
//! use tracewire_core::http::{normalize_method, span_name, Side};
//! let m = normalize_method("PURGE");
//! assert_eq!((m.name, m.original), ("_OTHER", Some("PURGE")));
//! assert_eq!(span_name(m.name, Some("/cache")), "HTTP /cache");
//! assert_eq!(span_name("GET", None), "GET");
//! assert!(Side::Server.status_error(404).is_none());
//! assert_eq!(Side::Client.status_error(404).unwrap().error_type(), "404");
//! ```

pub mod client;

use std::borrow::Cow;
use std::sync::OnceLock;

use http::{HeaderMap, HeaderName, Version};
use opentelemetry::{Array, Key, KeyValue, StringValue, Value};

use crate::attributes::{HTTP_REQUEST_HEADER_PREFIX, HTTP_RESPONSE_HEADER_PREFIX};
use crate::limits::Limits;
use crate::span::SpanError;

/// The methods known by default: RFC 9110 plus `PATCH` and `QUERY`.
///
/// ```
/// use tracewire_core::http::DEFAULT_KNOWN_METHODS;
/// assert!(DEFAULT_KNOWN_METHODS.contains(&"QUERY"));
/// assert!(!DEFAULT_KNOWN_METHODS.contains(&"PURGE"));
/// ```
pub const DEFAULT_KNOWN_METHODS: &[&str] = &[
    "CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE", "QUERY",
];

/// The environment variable that replaces the known methods (comma-separated, case-sensitive).
///
/// ```
/// // OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS=GET,POST,PURGE makes PURGE known (and PUT `_OTHER`).
/// assert_eq!(
///     tracewire_core::http::KNOWN_METHODS_ENV,
///     "OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS"
/// );
/// ```
pub const KNOWN_METHODS_ENV: &str = "OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS";

/// The value recorded for a method that is not known.
///
/// ```
/// use tracewire_core::http::{OTHER_METHOD, normalize_method};
/// assert_eq!(normalize_method("BREW").name, OTHER_METHOD);
/// ```
pub const OTHER_METHOD: &str = "_OTHER";

fn known_methods() -> &'static [Box<str>] {
    static KNOWN: OnceLock<Box<[Box<str>]>> = OnceLock::new();
    KNOWN.get_or_init(|| match std::env::var(KNOWN_METHODS_ENV) {
        Ok(list) => list
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(Box::from)
            .collect(),
        Err(_) => DEFAULT_KNOWN_METHODS
            .iter()
            .map(|m| Box::from(*m))
            .collect(),
    })
}

/// A method as recorded: `name` for `http.request.method`, `original` for `http.request.method_original`
/// (set only when it differs).
///
/// ```
/// let m = tracewire_core::http::normalize_method("GET");
/// assert_eq!((m.name, m.original), ("GET", None));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NormalizedMethod<'a> {
    /// The known method, or `_OTHER`.
    pub name: &'static str,
    /// The method as received, when `name` is `_OTHER`.
    pub original: Option<&'a str>,
}

/// Normalizes a method against the known set (exact, case-sensitive match), read once from
/// `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS` or [`DEFAULT_KNOWN_METHODS`].
///
/// ```
/// use tracewire_core::http::normalize_method;
/// assert_eq!(normalize_method("POST").name, "POST");
/// let m = normalize_method("post"); // case-sensitive: not a known method
/// assert_eq!((m.name, m.original), ("_OTHER", Some("post")));
/// ```
pub fn normalize_method(method: &str) -> NormalizedMethod<'_> {
    match known_methods().iter().find(|m| &***m == method) {
        Some(known) => NormalizedMethod {
            name: known,
            original: None,
        },
        None => NormalizedMethod {
            name: OTHER_METHOD,
            original: Some(method),
        },
    }
}

/// The span name: `{method} {target}`, or `{method}`; `HTTP` stands for `_OTHER`. The target must be low
/// cardinality (a route or URL template), never a raw path.
///
/// ```
/// use tracewire_core::http::span_name;
/// assert_eq!(span_name("GET", Some("/users/{id}")), "GET /users/{id}");
/// assert_eq!(span_name("_OTHER", Some("/users/{id}")), "HTTP /users/{id}");
/// assert_eq!(span_name("POST", Some("")), "POST");
/// ```
pub fn span_name(method: &'static str, target: Option<&str>) -> Cow<'static, str> {
    let method = if method == OTHER_METHOD {
        "HTTP"
    } else {
        method
    };
    match target {
        Some(target) if !target.is_empty() => {
            let mut name = String::with_capacity(method.len() + 1 + target.len());
            name.push_str(method);
            name.push(' ');
            name.push_str(target);
            Cow::Owned(name)
        }
        _ => Cow::Borrowed(method),
    }
}

/// Which side of an HTTP exchange a span is on; the two classify status codes differently.
///
/// ```
/// use tracewire_core::http::Side;
/// assert!(Side::Server.status_error(503).is_some());
/// assert!(Side::Server.status_error(404).is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// A SERVER span: only 5xx is an error.
    Server,
    /// A CLIENT span: 4xx and 5xx are errors.
    Client,
}

impl Side {
    /// The error a response status makes, if any (§1.3): `error.type` is the code.
    ///
    /// ```
    /// use tracewire_core::http::Side;
    /// assert_eq!(Side::Client.status_error(404).unwrap().error_type(), "404");
    /// assert!(Side::Server.status_error(404).is_none());
    /// assert_eq!(Side::Server.status_error(502).unwrap().error_type(), "502");
    /// assert!(Side::Server.status_error(700).is_some()); // not a valid status code
    /// ```
    pub fn status_error(self, status: u16) -> Option<SpanError> {
        let is_error = match self {
            Side::Server => status >= 500,
            Side::Client => status >= 400,
        };
        // A code outside 100..=599 cannot be interpreted, which counts as an error on both sides.
        (is_error || !(100..=599).contains(&status)).then(|| SpanError::status_code(status))
    }
}

/// `network.protocol.version` for an [`http::Version`]; `None` when unknown.
///
/// ```
/// use tracewire_core::http::protocol_version;
/// assert_eq!(protocol_version(http::Version::HTTP_11), Some("1.1"));
/// assert_eq!(protocol_version(http::Version::HTTP_2), Some("2"));
/// ```
pub fn protocol_version(version: Version) -> Option<&'static str> {
    match version {
        Version::HTTP_09 => Some("0.9"),
        Version::HTTP_10 => Some("1.0"),
        Version::HTTP_11 => Some("1.1"),
        Version::HTTP_2 => Some("2"),
        Version::HTTP_3 => Some("3"),
        _ => None,
    }
}

/// The headers that are never captured unless named explicitly.
///
/// ```
/// use tracewire_core::http::SENSITIVE_HEADERS;
/// assert!(SENSITIVE_HEADERS.contains(&"authorization"));
/// assert!(SENSITIVE_HEADERS.contains(&"set-cookie"));
/// ```
pub const SENSITIVE_HEADERS: &[&str] = &[
    "authorization",
    "cookie",
    "set-cookie",
    "proxy-authorization",
];

/// An allow-list of headers to record as `http.request.header.<name>` / `http.response.header.<name>`
/// string arrays, one element per header line. Nothing is captured by default.
///
/// ```
/// use tracewire_core::http::HeaderCapture;
/// use tracewire_core::limits::Limits;
/// let capture = HeaderCapture::request(["X-Request-Id"]);
/// let mut headers = http::HeaderMap::new();
/// headers.insert("x-request-id", "abc".parse().unwrap());
/// let mut attributes = Vec::new();
/// capture.record(&headers, &Limits::default(), &mut attributes);
/// assert_eq!(attributes[0].key.as_str(), "http.request.header.x-request-id");
/// ```
#[derive(Clone, Debug, Default)]
pub struct HeaderCapture {
    headers: Box<[(HeaderName, Key)]>,
}

impl HeaderCapture {
    pub(crate) fn with_prefix<I, S>(prefix: &str, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let headers = names
            .into_iter()
            .filter_map(|name| {
                let lower = name.as_ref().trim().to_ascii_lowercase();
                let header = HeaderName::from_bytes(lower.as_bytes()).ok()?;
                Some((header, Key::new(format!("{prefix}{lower}"))))
            })
            .collect();
        HeaderCapture { headers }
    }

    /// Captures these request headers (names are case-insensitive).
    ///
    /// ```
    /// use tracewire_core::{http::HeaderCapture, limits::Limits};
    /// let capture = HeaderCapture::request(["X-Request-Id", "User-Agent"]);
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("user-agent", "curl/8.5".parse().unwrap());
    /// let mut attributes = Vec::new();
    /// capture.record(&headers, &Limits::default(), &mut attributes);
    /// assert_eq!(attributes.len(), 1); // only the headers present are recorded
    /// assert_eq!(attributes[0].key.as_str(), "http.request.header.user-agent");
    /// ```
    pub fn request<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self::with_prefix(HTTP_REQUEST_HEADER_PREFIX, names)
    }

    /// Captures these response headers (names are case-insensitive).
    ///
    /// ```
    /// use tracewire_core::{http::HeaderCapture, limits::Limits};
    /// let capture = HeaderCapture::response(["Content-Type"]);
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/html"));
    /// let mut attributes = Vec::new();
    /// capture.record(&headers, &Limits::default(), &mut attributes);
    /// assert_eq!(attributes[0].key.as_str(), "http.response.header.content-type");
    /// ```
    pub fn response<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self::with_prefix(HTTP_RESPONSE_HEADER_PREFIX, names)
    }

    /// Whether nothing is captured.
    ///
    /// ```
    /// use tracewire_core::http::HeaderCapture;
    /// assert!(HeaderCapture::default().is_empty());
    /// assert!(!HeaderCapture::request(["x-request-id"]).is_empty());
    /// assert!(HeaderCapture::request(["not a header"]).is_empty()); // invalid names are skipped
    /// ```
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }

    /// Appends the attributes for the allow-listed headers present in `headers`. Values that are not
    /// valid UTF-8 are recorded lossily; each is cut to the value limit and at most
    /// [`Limits::max_header_values`] lines are kept.
    ///
    /// ```
    /// use opentelemetry::{Array, Value};
    /// use tracewire_core::{http::HeaderCapture, limits::Limits};
    /// let capture = HeaderCapture::request(["accept"]);
    /// let mut headers = http::HeaderMap::new();
    /// headers.append("accept", "text/html".parse().unwrap());
    /// headers.append("accept", "application/json".parse().unwrap());
    /// let mut attributes = Vec::new();
    /// capture.record(&headers, &Limits::default().with_max_header_values(1), &mut attributes);
    /// match &attributes[0].value {
    ///     Value::Array(Array::String(values)) => {
    ///         let values: Vec<&str> = values.iter().map(|v| v.as_str()).collect();
    ///         assert_eq!(values, ["text/html"]); // one line kept, per the limit
    ///     }
    ///     other => panic!("unexpected {other:?}"),
    /// }
    /// ```
    pub fn record(&self, headers: &HeaderMap, limits: &Limits, attributes: &mut Vec<KeyValue>) {
        for (name, key) in self.headers.iter() {
            let values: Vec<StringValue> = headers
                .get_all(name)
                .iter()
                .take(limits.max_header_values())
                .map(|v| {
                    let text = String::from_utf8_lossy(v.as_bytes());
                    StringValue::from(limits.bound(&text).to_owned())
                })
                .collect();
            if !values.is_empty() {
                attributes.push(KeyValue::new(
                    key.clone(),
                    Value::Array(Array::String(values)),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods() {
        assert_eq!(normalize_method("GET").name, "GET");
        assert_eq!(normalize_method("GET").original, None);
        assert_eq!(normalize_method("get").name, "_OTHER");
        assert_eq!(normalize_method("get").original, Some("get"));
        assert_eq!(normalize_method("QUERY").name, "QUERY");
    }

    #[test]
    fn statuses() {
        assert!(Side::Server.status_error(499).is_none());
        assert_eq!(
            Side::Server
                .status_error(500)
                .map(|e| e.error_type().to_owned())
                .as_deref(),
            Some("500")
        );
        assert!(Side::Client.status_error(302).is_none());
        assert!(Side::Client.status_error(600).is_some());
        assert!(Side::Server.status_error(200).is_none());
    }

    #[test]
    fn header_values_are_bounded() {
        let capture = HeaderCapture::request(["x-a"]);
        let mut headers = HeaderMap::new();
        for _ in 0..40 {
            headers.append(
                "x-a",
                "0123456789".parse().unwrap_or_else(|_| unreachable!()),
            );
        }
        let mut attrs = Vec::new();
        capture.record(
            &headers,
            &Limits::default().with_max_value_len(4),
            &mut attrs,
        );
        match &attrs[0].value {
            Value::Array(Array::String(v)) => {
                assert_eq!(v.len(), 16);
                assert_eq!(v[0].as_str(), "0123");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

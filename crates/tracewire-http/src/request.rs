//! Reading what a request says about itself: the original scheme, host and client from `Forwarded`
//! (RFC 7239) and the `X-Forwarded-*` headers, `:authority` and `Host`.
//!
//! Every parser here reads untrusted bytes: none of them panics, and each returns borrowed slices of its
//! input, so nothing is allocated and nothing grows.

use http::{Extensions, HeaderMap, HeaderName, HeaderValue, Method, Uri, Version, header};
use opentelemetry::propagation::Extractor;
use tracewire_core::propagation::HeaderExtractor;

/// What a filter, a route extractor or an `on_request` hook may look at.
///
/// ```
/// use tracewire_http::RequestInfo;
/// let request = http::Request::get("/health").body(()).unwrap();
/// let info = RequestInfo::from_request(&request);
/// assert_eq!(info.uri.path(), "/health");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct RequestInfo<'a> {
    /// The method.
    pub method: &'a Method,
    /// The request target.
    pub uri: &'a Uri,
    /// The protocol version.
    pub version: Version,
    /// The headers.
    pub headers: &'a HeaderMap,
    /// The extensions (axum's `MatchedPath` and `ConnectInfo` live here).
    pub extensions: &'a Extensions,
}

impl<'a> RequestInfo<'a> {
    /// A view of `request`.
    pub fn from_request<B>(request: &'a http::Request<B>) -> Self {
        RequestInfo {
            method: request.method(),
            uri: request.uri(),
            version: request.version(),
            headers: request.headers(),
            extensions: request.extensions(),
        }
    }
}

/// The parameters of the first element of a `Forwarded` header that we use.
///
/// ```
/// let f = tracewire_http::request::parse_forwarded("proto=https");
/// assert_eq!(f, tracewire_http::request::Forwarded { proto: Some("https"), ..Default::default() });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Forwarded<'a> {
    /// `for=`: the original client.
    pub for_node: Option<&'a str>,
    /// `host=`: the original `Host`.
    pub host: Option<&'a str>,
    /// `proto=`: the original scheme.
    pub proto: Option<&'a str>,
}

/// Parses the first element (the one the first proxy added) of a `Forwarded` value.
///
/// ```
/// use tracewire_http::request::parse_forwarded;
/// let f = parse_forwarded(r#"for="[2001:db8::1]:4711";proto=https;host=shop.example, for=10.0.0.1"#);
/// assert_eq!(f.for_node, Some("[2001:db8::1]:4711"));
/// assert_eq!(f.proto, Some("https"));
/// assert_eq!(f.host, Some("shop.example"));
/// ```
pub fn parse_forwarded(value: &str) -> Forwarded<'_> {
    let first = first_element(value);
    let mut out = Forwarded::default();
    for pair in first.split(';') {
        let Some((name, raw)) = pair.split_once('=') else {
            continue;
        };
        let name = name.trim();
        let raw = raw.trim();
        let value = raw
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(raw);
        if value.is_empty() {
            continue;
        }
        if name.eq_ignore_ascii_case("for") {
            out.for_node.get_or_insert(value);
        } else if name.eq_ignore_ascii_case("host") {
            out.host.get_or_insert(value);
        } else if name.eq_ignore_ascii_case("proto") {
            out.proto.get_or_insert(value);
        }
    }
    out
}

/// The first comma-separated element of a header value, outside quoted strings.
fn first_element(value: &str) -> &str {
    let mut quoted = false;
    for (i, b) in value.bytes().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => return value[..i].trim(),
            _ => {}
        }
    }
    value.trim()
}

/// Splits `host[:port]`, `[v6]:port` or a Forwarded node into the host (without brackets) and port.
///
/// ```
/// use tracewire_http::request::split_host_port;
/// assert_eq!(split_host_port("example.com:8080"), Some(("example.com", Some(8080))));
/// assert_eq!(split_host_port("[::1]:80"), Some(("::1", Some(80))));
/// assert_eq!(split_host_port("::1"), Some(("::1", None)));
/// assert_eq!(split_host_port(""), None);
/// ```
pub fn split_host_port(value: &str) -> Option<(&str, Option<u16>)> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if let Some(rest) = value.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
        return (!host.is_empty()).then_some((host, port));
    }
    match value.rsplit_once(':') {
        // More than one ':' without brackets: a bare IPv6 address.
        Some((host, _)) if host.contains(':') => Some((value, None)),
        Some((host, port)) => {
            let port = port.parse().ok();
            (!host.is_empty()).then_some((host, port))
        }
        None => Some((value, None)),
    }
}

/// The headers the server span reads, found in one pass over the request headers (cheaper than one
/// hashed lookup per name for the handful of headers a request usually has).
#[derive(Debug, Default)]
pub(crate) struct KnownHeaders<'a> {
    pub forwarded: Option<&'a str>,
    pub x_forwarded_for: Option<&'a str>,
    pub x_forwarded_host: Option<&'a str>,
    pub x_forwarded_proto: Option<&'a str>,
    pub host: Option<&'a str>,
    pub user_agent: Option<&'a HeaderValue>,
    /// `traceparent`, `tracestate`, `baggage`: the first line of each and how many there are.
    pub propagation: [(Option<&'a HeaderValue>, usize); 3],
}

/// The W3C propagation fields, in the order of [`KnownHeaders::propagation`].
const PROPAGATION_FIELDS: [&str; 3] = ["traceparent", "tracestate", "baggage"];

impl<'a> KnownHeaders<'a> {
    pub(crate) fn scan(headers: &'a HeaderMap) -> Self {
        static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
        static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
        static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
        let mut known = KnownHeaders::default();
        for (name, value) in headers {
            let slot = if name == header::HOST {
                &mut known.host
            } else if name == header::USER_AGENT {
                known.user_agent.get_or_insert(value);
                continue;
            } else if name == header::FORWARDED {
                &mut known.forwarded
            } else if name == X_FORWARDED_FOR {
                &mut known.x_forwarded_for
            } else if name == X_FORWARDED_PROTO {
                &mut known.x_forwarded_proto
            } else if name == X_FORWARDED_HOST {
                &mut known.x_forwarded_host
            } else {
                if let Some(i) = PROPAGATION_FIELDS.iter().position(|f| name == *f) {
                    let (first, count) = &mut known.propagation[i];
                    first.get_or_insert(value);
                    *count += 1;
                }
                continue;
            };
            // The first line counts; a value that is not visible ASCII is ignored.
            if slot.is_none() {
                *slot = value.to_str().ok();
            }
        }
        known
    }
}

/// Reads propagation fields for the global propagator: the W3C ones from what [`KnownHeaders::scan`]
/// found (no second lookup in the header map), any other field from the headers, as
/// [`tracewire_core::propagation::HeaderExtractor`] reads them.
pub(crate) struct ScannedExtractor<'a> {
    pub headers: HeaderExtractor<'a>,
    pub known: &'a KnownHeaders<'a>,
}

impl Extractor for ScannedExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match PROPAGATION_FIELDS.iter().position(|f| *f == key) {
            Some(i) => self.known.propagation[i]
                .0
                .and_then(|value| value.to_str().ok()),
            None => self.headers.get(key),
        }
    }

    fn keys(&self) -> Vec<&str> {
        self.headers.keys()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        match PROPAGATION_FIELDS.iter().position(|f| *f == key) {
            Some(i) => match self.known.propagation[i] {
                (Some(value), 1) => Some(vec![value.to_str().unwrap_or("")]),
                (None, _) => None,
                // Several lines: read them all, in order.
                _ => self.headers.get_all(key),
            },
            None => self.headers.get_all(key),
        }
    }
}

/// Where the request came from and went to, from headers and the connection.
#[derive(Debug, Default)]
pub(crate) struct Origin<'a> {
    pub scheme: Option<&'a str>,
    pub server: Option<(&'a str, Option<u16>)>,
    pub client: Option<&'a str>,
}

pub(crate) fn origin<'a>(uri: &'a Uri, headers: &KnownHeaders<'a>) -> Origin<'a> {
    let forwarded = headers.forwarded.map(parse_forwarded).unwrap_or_default();
    let scheme = forwarded
        .proto
        .or_else(|| headers.x_forwarded_proto.map(first_element))
        .or_else(|| uri.scheme_str());
    let server = forwarded
        .host
        .or_else(|| headers.x_forwarded_host.map(first_element))
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .or(headers.host)
        .and_then(split_host_port);
    let client = forwarded
        .for_node
        .and_then(|node| split_host_port(node).map(|(host, _)| host))
        .filter(|host| !host.starts_with('_') && !host.eq_ignore_ascii_case("unknown"))
        .or_else(|| {
            headers
                .x_forwarded_for
                .map(first_element)
                .and_then(|v| split_host_port(v).map(|(host, _)| host))
        });
    Origin {
        scheme,
        server,
        client,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, http::HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn forwarded_wins_over_x_forwarded_and_host() {
        let h = headers(&[
            (
                "forwarded",
                "for=203.0.113.9;proto=https;host=\"shop.example:8443\"",
            ),
            ("x-forwarded-for", "10.0.0.1"),
            ("x-forwarded-proto", "http"),
            ("host", "internal:8080"),
        ]);
        let uri = Uri::from_static("/");
        let o = origin(&uri, &KnownHeaders::scan(&h));
        assert_eq!(o.scheme, Some("https"));
        assert_eq!(o.server, Some(("shop.example", Some(8443))));
        assert_eq!(o.client, Some("203.0.113.9"));
    }

    #[test]
    fn x_forwarded_then_host() {
        let h = headers(&[
            ("x-forwarded-for", " 198.51.100.7 , 10.0.0.1"),
            ("x-forwarded-proto", "https"),
            ("host", "api.example"),
        ]);
        let uri = Uri::from_static("/");
        let o = origin(&uri, &KnownHeaders::scan(&h));
        assert_eq!(o.scheme, Some("https"));
        assert_eq!(o.server, Some(("api.example", None)));
        assert_eq!(o.client, Some("198.51.100.7"));
    }

    #[test]
    fn obfuscated_forwarded_nodes_are_not_addresses() {
        let f = headers(&[
            ("forwarded", "for=_hidden"),
            ("x-forwarded-for", "192.0.2.1"),
        ]);
        let uri = Uri::from_static("/");
        assert_eq!(
            origin(&uri, &KnownHeaders::scan(&f)).client,
            Some("192.0.2.1")
        );
    }

    #[test]
    fn hostile_values_do_not_panic() {
        for v in [
            "",
            "[",
            "]",
            "[]:",
            ":",
            "a:b:c",
            "\"",
            "for=\"",
            ";;;=",
            "[::1",
            "host:99999",
        ] {
            let _ = split_host_port(v);
            let _ = parse_forwarded(v);
        }
        assert_eq!(split_host_port("host:99999"), Some(("host", None)));
    }
}

#[cfg(test)]
mod scanned_tests {
    use super::*;

    #[test]
    fn scanned_fields_read_like_the_header_map() {
        let mut headers = HeaderMap::new();
        headers.append("traceparent", HeaderValue::from_static("00-a-b-01"));
        headers.append("tracestate", HeaderValue::from_static("a=1"));
        headers.append("host", HeaderValue::from_static("shop.example"));
        headers.append("tracestate", HeaderValue::from_static("b=2"));
        headers.append("uber-trace-id", HeaderValue::from_static("x:y:0:1"));
        headers.append(
            "baggage",
            HeaderValue::from_bytes(b"k=\xff").expect("opaque bytes are a valid header value"),
        );
        let known = KnownHeaders::scan(&headers);
        let scanned = ScannedExtractor {
            headers: HeaderExtractor(&headers),
            known: &known,
        };
        let plain = HeaderExtractor(&headers);
        for key in [
            "traceparent",
            "tracestate",
            "baggage",
            "uber-trace-id",
            "absent",
        ] {
            assert_eq!(scanned.get_all(key), plain.get_all(key), "{key}");
            assert_eq!(scanned.get(key), plain.get(key), "{key}");
        }
        assert_eq!(scanned.get_all("tracestate"), Some(vec!["a=1", "b=2"]));
        assert_eq!(known.host, Some("shop.example"));
    }
}

//! RPC (gRPC) rules of the semantic conventions 1.44 (release candidate), once for servers and clients:
//!
//! - the **status**: its name for `rpc.response.status_code` ([`status_name`]), where it is read
//!   (`grpc-status` in trailers or in a trailers-only head, [`grpc_status`]; else the HTTP status
//!   mapped as gRPC's HTTP/2 protocol says, [`code_from_http_status`]), and which codes are errors on
//!   which side ([`status_error`]);
//! - the **method**: recognized methods keep their name (`package.Service/Method`), which is also the
//!   span name; anything else is `_OTHER` with `rpc.method_original`, under the span name `grpc`
//!   ([`Methods`], [`RecognizedMethod`]);
//! - the **client target**: `server.address` and `server.port` from the target a channel was made for,
//!   never from the resolved connection ([`target_address`]);
//! - the **deadline** a call carries in `grpc-timeout` ([`parse_timeout`]);
//! - opt-in **metadata capture** under `rpc.request.metadata.<key>` / `rpc.response.metadata.<key>`
//!   ([`metadata_capture`]).
//!
//! ```
//! use tracewire_core::http::Side;
//! use tracewire_core::rpc::{status_error, status_name};
//!
//! assert_eq!(status_name(5), "NOT_FOUND");
//! assert!(status_error(Side::Client, 5).is_some()); // every non-OK code fails a client call
//! assert!(status_error(Side::Server, 5).is_none()); // the caller's fault: not a server error
//! assert_eq!(status_error(Side::Server, 13).unwrap().error_type(), "INTERNAL");
//! ```

use std::borrow::Cow;
use std::collections::HashSet;
use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use opentelemetry::{KeyValue, StringValue};

use crate::attributes::{
    RPC_METHOD, RPC_METHOD_ORIGINAL, RPC_REQUEST_METADATA_PREFIX, RPC_RESPONSE_METADATA_PREFIX,
};
use crate::http::{HeaderCapture, Side};
use crate::intern::Names;
use crate::limits::Limits;
use crate::span::SpanError;

/// `rpc.system.name` of gRPC, and the span name of a call whose method is not recognized.
pub const GRPC: &str = "grpc";

/// `rpc.method` of a method that is not recognized.
pub const OTHER_METHOD: &str = "_OTHER";

/// Whether a request is a gRPC call (`content-type: application/grpc`, `application/grpc+proto`, …):
/// the HTTP server layer leaves these to the gRPC layer, the gRPC layer leaves the others to the HTTP
/// layer, so that a router hosting both gives every request one span.
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// assert!(!tracewire_core::rpc::is_grpc(&headers));
/// headers.insert("content-type", "application/grpc+proto".parse().unwrap());
/// assert!(tracewire_core::rpc::is_grpc(&headers));
/// ```
pub fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
}

/// The status code `OK`.
pub const OK: i32 = 0;
/// The status code `CANCELLED`.
pub const CANCELLED: i32 = 1;
/// The status code `UNKNOWN`.
pub const UNKNOWN: i32 = 2;
/// The status code `DEADLINE_EXCEEDED`.
pub const DEADLINE_EXCEEDED: i32 = 4;
/// The status code `UNIMPLEMENTED`.
pub const UNIMPLEMENTED: i32 = 12;
/// The status code `INTERNAL`.
pub const INTERNAL: i32 = 13;
/// The status code `UNAVAILABLE`.
pub const UNAVAILABLE: i32 = 14;

const NAMES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// The status name recorded as `rpc.response.status_code`; a code outside the 17 defined ones is
/// `UNKNOWN`, as gRPC itself treats it.
///
/// ```
/// use tracewire_core::rpc::status_name;
/// assert_eq!(status_name(0), "OK");
/// assert_eq!(status_name(16), "UNAUTHENTICATED");
/// assert_eq!(status_name(99), "UNKNOWN");
/// ```
pub fn status_name(code: i32) -> &'static str {
    usize::try_from(code)
        .ok()
        .and_then(|i| NAMES.get(i))
        .copied()
        .unwrap_or("UNKNOWN")
}

/// The failure a status code is on `side`, if it is one: on a client every code but `OK`; on a server
/// only `UNKNOWN`, `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`, `INTERNAL`, `UNAVAILABLE` and `DATA_LOSS` (the
/// others are the caller's doing). `error.type` is the status name.
///
/// ```
/// use tracewire_core::{http::Side, rpc::status_error};
/// assert!(status_error(Side::Client, 0).is_none());
/// assert_eq!(status_error(Side::Client, 1).unwrap().error_type(), "CANCELLED");
/// assert!(status_error(Side::Server, 1).is_none());
/// assert!(status_error(Side::Server, 16).is_none());
/// assert_eq!(status_error(Side::Server, 15).unwrap().error_type(), "DATA_LOSS");
/// ```
pub fn status_error(side: Side, code: i32) -> Option<SpanError> {
    let name = status_name(code);
    let failed = match side {
        Side::Client => code != OK,
        Side::Server => matches!(
            name,
            "UNKNOWN"
                | "DEADLINE_EXCEEDED"
                | "UNIMPLEMENTED"
                | "INTERNAL"
                | "UNAVAILABLE"
                | "DATA_LOSS"
        ),
    };
    failed.then(|| SpanError::new(name))
}

/// The `grpc-status` of a trailers block or of a trailers-only response head; `None` when absent or
/// not a number.
///
/// ```
/// use tracewire_core::rpc::grpc_status;
/// let mut trailers = http::HeaderMap::new();
/// assert_eq!(grpc_status(&trailers), None);
/// trailers.insert("grpc-status", "5".parse().unwrap());
/// assert_eq!(grpc_status(&trailers), Some(5));
/// trailers.insert("grpc-status", "five".parse().unwrap());
/// assert_eq!(grpc_status(&trailers), None);
/// ```
pub fn grpc_status(headers: &HeaderMap) -> Option<i32> {
    // A ready name: looking up by `&str` would parse it on every call.
    static GRPC_STATUS: http::HeaderName = http::HeaderName::from_static("grpc-status");
    let value = headers.get(&GRPC_STATUS)?;
    std::str::from_utf8(value.as_bytes())
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The status a client derives from an HTTP status when no `grpc-status` came back (gRPC's "HTTP to
/// gRPC status code mapping"): a proxy's 503, a plain HTTP server's 404.
///
/// ```
/// use tracewire_core::rpc::{code_from_http_status, status_name};
/// assert_eq!(status_name(code_from_http_status(404)), "UNIMPLEMENTED");
/// assert_eq!(status_name(code_from_http_status(503)), "UNAVAILABLE");
/// assert_eq!(status_name(code_from_http_status(500)), "UNKNOWN");
/// ```
pub fn code_from_http_status(status: u16) -> i32 {
    match status {
        400 => INTERNAL,
        401 => 16,
        403 => 7,
        404 => UNIMPLEMENTED,
        429 | 502 | 503 | 504 => UNAVAILABLE,
        _ => UNKNOWN,
    }
}

/// The deadline of a `grpc-timeout` value (at most 8 digits and a unit: `H`, `M`, `S`, `m`, `u`, `n`);
/// `None` for anything else.
///
/// ```
/// use std::time::Duration;
/// use tracewire_core::rpc::parse_timeout;
/// let value = |s: &'static str| http::HeaderValue::from_static(s);
/// assert_eq!(parse_timeout(&value("250m")), Some(Duration::from_millis(250)));
/// assert_eq!(parse_timeout(&value("3S")), Some(Duration::from_secs(3)));
/// assert_eq!(parse_timeout(&value("123456789S")), None); // nine digits
/// assert_eq!(parse_timeout(&value("10x")), None);
/// ```
pub fn parse_timeout(value: &HeaderValue) -> Option<Duration> {
    parse_timeout_bytes(value.as_bytes())
}

/// The `grpc-timeout` of a request's metadata, if it carries a valid one.
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// assert_eq!(tracewire_core::rpc::request_timeout(&headers), None);
/// headers.insert("grpc-timeout", "5S".parse().unwrap());
/// assert_eq!(tracewire_core::rpc::request_timeout(&headers), Some(std::time::Duration::from_secs(5)));
/// ```
pub fn request_timeout(headers: &HeaderMap) -> Option<Duration> {
    static GRPC_TIMEOUT: http::HeaderName = http::HeaderName::from_static("grpc-timeout");
    parse_timeout(headers.get(&GRPC_TIMEOUT)?)
}

fn parse_timeout_bytes(bytes: &[u8]) -> Option<Duration> {
    let (&unit, digits) = bytes.split_last()?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(match unit {
        b'H' => Duration::from_secs(n * 3600),
        b'M' => Duration::from_secs(n * 60),
        b'S' => Duration::from_secs(n),
        b'm' => Duration::from_millis(n),
        b'u' => Duration::from_micros(n),
        b'n' => Duration::from_nanos(n),
        _ => return None,
    })
}

/// `server.address` and `server.port` of a client from the target its channel was made for, per the
/// conventions' reading of gRPC target strings. A `http://` or `https://` URI (what a tonic `Endpoint`
/// takes) gives its host and port (80 or 443 when none); `host:port` and `dns:[//authority/]host:port`
/// give theirs (443, gRPC's default, when none); `unix:` gives the socket path and no port; any other
/// scheme gives the whole target and no port. An IP address stays as written.
///
/// ```
/// use tracewire_core::rpc::target_address;
/// assert_eq!(target_address("grpc.io:50051"), ("grpc.io".into(), Some(50051)));
/// assert_eq!(target_address("dns://1.2.3.4/grpc.io:50051"), ("grpc.io".into(), Some(50051)));
/// assert_eq!(target_address("http://[::1]:50051"), ("::1".into(), Some(50051)));
/// assert_eq!(target_address("https://api.example.com"), ("api.example.com".into(), Some(443)));
/// assert_eq!(
///     target_address("unix:///run/containerd/containerd.sock"),
///     ("/run/containerd/containerd.sock".into(), None)
/// );
/// assert_eq!(target_address("zk://zookeeper:2181/my-server"), ("zk://zookeeper:2181/my-server".into(), None));
/// ```
pub fn target_address(target: &str) -> (String, Option<u16>) {
    let target = target.trim();
    if let Some(path) = target.strip_prefix("unix:") {
        // `unix:///path` and `unix:/path` are absolute; `unix:relative` is relative.
        let path = path.strip_prefix("//").unwrap_or(path);
        return (path.to_owned(), None);
    }
    let (rest, default_port) = if let Some(rest) = target.strip_prefix("http://") {
        (rest, 80)
    } else if let Some(rest) = target.strip_prefix("https://") {
        (rest, 443)
    } else if let Some(rest) = target.strip_prefix("dns:") {
        // `dns://authority/host:port`: the authority names the DNS server, not the target.
        let rest = match rest.strip_prefix("//") {
            Some(with_authority) => with_authority.split_once('/').map_or("", |(_, t)| t),
            None => rest,
        };
        (rest, 443)
    } else if target.contains("://") || target.contains(',') {
        return (target.to_owned(), None);
    } else {
        (target, 443)
    };
    // A URI's path (`http://host:port/prefix`) is not part of the address.
    let authority = rest.split('/').next().unwrap_or(rest);
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    match host_port(authority) {
        Some((host, port)) if !host.is_empty() => {
            (host.to_owned(), Some(port.unwrap_or(default_port)))
        }
        _ => (target.to_owned(), None),
    }
}

/// `host[:port]` or `[v6][:port]`; `None` when the port is not a number.
fn host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, rest) = v6.split_once(']')?;
        return match rest.strip_prefix(':') {
            Some(port) => Some((host, Some(port.parse().ok()?))),
            None if rest.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match authority.rsplit_once(':') {
        // Colons without brackets: a bare IPv6 address.
        Some((host, _)) if host.contains(':') => Some((authority, None)),
        Some((host, port)) => Some((host, Some(port.parse().ok()?))),
        None => Some((authority, None)),
    }
}

/// The methods a server or client recognizes: exact `package.Service/Method` names, and whole services
/// (every method of `package.Service`). Recognition never comes from the request path alone, which
/// would let callers make span names without bound.
///
/// ```
/// use tracewire_core::rpc::Methods;
/// let methods = Methods::new()
///     .with_method("shop.Inventory/Reserve")
///     .with_service("grpc.health.v1.Health");
/// assert!(methods.recognizes("shop.Inventory/Reserve"));
/// assert!(!methods.recognizes("shop.Inventory/Drop"));
/// assert!(methods.recognizes("grpc.health.v1.Health/Watch"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Methods {
    exact: HashSet<Box<str>>,
    services: HashSet<Box<str>>,
}

impl Methods {
    /// No method recognized.
    ///
    /// ```
    /// assert!(!tracewire_core::rpc::Methods::new().recognizes("a.B/C"));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Recognizes `method` (`package.Service/Method`; a leading `/` is ignored).
    ///
    /// ```
    /// let methods = tracewire_core::rpc::Methods::new().with_method("/a.B/C");
    /// assert!(methods.recognizes("a.B/C"));
    /// ```
    pub fn with_method(mut self, method: &str) -> Self {
        self.exact
            .insert(method.trim().trim_start_matches('/').into());
        self
    }

    /// Recognizes every method of `service` (`package.Service`, as tonic's `NamedService::NAME`).
    ///
    /// ```
    /// let methods = tracewire_core::rpc::Methods::new().with_service("a.B");
    /// assert!(methods.recognizes("a.B/Anything"));
    /// assert!(!methods.recognizes("a.Bc/Anything"));
    /// ```
    pub fn with_service(mut self, service: &str) -> Self {
        self.services.insert(service.trim().into());
        self
    }

    /// Whether `method` (`package.Service/Method`) is recognized.
    ///
    /// ```
    /// let methods = tracewire_core::rpc::Methods::new().with_service("a.B");
    /// assert!(!methods.recognizes("a.B")); // no method part
    /// ```
    pub fn recognizes(&self, method: &str) -> bool {
        self.how(method).is_some()
    }

    /// Whether nothing is recognized.
    ///
    /// ```
    /// assert!(tracewire_core::rpc::Methods::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.services.is_empty()
    }

    /// `Some(true)` for an exact method, `Some(false)` for one known by its service only.
    fn how(&self, method: &str) -> Option<bool> {
        let (service, name) = method.split_once('/')?;
        if service.is_empty() || name.is_empty() || name.contains('/') {
            return None;
        }
        if self.exact.contains(method) {
            Some(true)
        } else if self.services.contains(service) {
            Some(false)
        } else {
            None
        }
    }

    /// The method of a call to `path` (`/package.Service/Method`): its span name and attributes.
    ///
    /// ```
    /// use tracewire_core::{limits::Limits, rpc::Methods};
    /// let methods = Methods::new().with_service("shop.Inventory");
    /// let known = methods.method("/shop.Inventory/Reserve", &Limits::default());
    /// assert_eq!(known.name, "shop.Inventory/Reserve");
    /// assert_eq!(known.attributes().len(), 1);
    /// let unknown = methods.method("/evil.Service/Anything", &Limits::default());
    /// assert_eq!(unknown.name, "grpc");
    /// assert_eq!(unknown.attributes().len(), 2); // _OTHER and the original
    /// ```
    pub fn method(&self, path: &str, limits: &Limits) -> RecognizedMethod {
        let method = path.strip_prefix('/').unwrap_or(path);
        match self.how(method) {
            Some(exact) => RecognizedMethod {
                by_service: !exact,
                ..RecognizedMethod::known(method)
            },
            None => RecognizedMethod::other(limits.bound(method)),
        }
    }
}

/// Span names of recognized methods: a server hosts a fixed set, so each is made once.
static METHOD_NAMES: Names = Names::new(4096);

/// A call's method as recorded: span name, `rpc.method` and, when unrecognized, `rpc.method_original`.
///
/// ```
/// use tracewire_core::rpc::RecognizedMethod;
/// let other = RecognizedMethod::other("x.Y/Z");
/// assert_eq!(other.name, "grpc");
/// assert_eq!(other.method.as_str(), "_OTHER");
/// ```
#[derive(Clone, Debug)]
pub struct RecognizedMethod {
    /// The span name: the method, or `grpc`.
    pub name: Cow<'static, str>,
    /// `rpc.method`.
    pub method: StringValue,
    /// `rpc.method_original`, when `rpc.method` is `_OTHER`.
    pub original: Option<StringValue>,
    /// Recognized through its service only: an `UNIMPLEMENTED` answer then means the service does not
    /// have it after all (tonic's generated fallback), and the call is recorded as `_OTHER`.
    pub by_service: bool,
}

impl RecognizedMethod {
    /// An unrecognized call to `original`.
    ///
    /// ```
    /// let other = tracewire_core::rpc::RecognizedMethod::other("a.B/C");
    /// assert_eq!(other.original.unwrap().as_str(), "a.B/C");
    /// ```
    pub fn other(original: &str) -> Self {
        RecognizedMethod {
            name: Cow::Borrowed(GRPC),
            method: StringValue::from(OTHER_METHOD),
            original: Some(StringValue::from(original.to_owned())),
            by_service: false,
        }
    }

    /// A method the framework recognizes by other means than [`Methods`] (a generated client marks
    /// its requests with it): its name as given, interned like configured methods.
    ///
    /// ```
    /// let known = tracewire_core::rpc::RecognizedMethod::known("shop.Inventory/Reserve");
    /// assert_eq!(known.name, "shop.Inventory/Reserve");
    /// assert!(known.original.is_none());
    /// ```
    pub fn known(method: &str) -> Self {
        let named = METHOD_NAMES.get("", method, |_, text| text.to_owned());
        RecognizedMethod {
            name: named.name,
            method: named.text,
            original: None,
            by_service: false,
        }
    }

    /// `rpc.method` and, when present, `rpc.method_original`.
    ///
    /// ```
    /// let other = tracewire_core::rpc::RecognizedMethod::other("a.B/C");
    /// assert_eq!(other.attributes()[0].key.as_str(), "rpc.method");
    /// ```
    pub fn attributes(&self) -> Vec<KeyValue> {
        let mut attributes = Vec::with_capacity(2);
        self.push_attributes(&mut attributes);
        attributes
    }

    /// Appends [`attributes`](Self::attributes) to `attributes`, without a vector of their own.
    ///
    /// ```
    /// let mut attributes = Vec::new();
    /// tracewire_core::rpc::RecognizedMethod::known("a.B/C").push_attributes(&mut attributes);
    /// assert_eq!(attributes.len(), 1);
    /// ```
    pub fn push_attributes(&self, attributes: &mut Vec<KeyValue>) {
        attributes.push(KeyValue::new(RPC_METHOD, self.method.clone()));
        if let Some(original) = &self.original {
            attributes.push(KeyValue::new(RPC_METHOD_ORIGINAL, original.clone()));
        }
    }
}

/// Which metadata a capture reads.
///
/// ```
/// use tracewire_core::rpc::Metadata;
/// assert_ne!(Metadata::Request, Metadata::Response);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metadata {
    /// Request metadata: `rpc.request.metadata.<key>`.
    Request,
    /// Response metadata (head and trailers): `rpc.response.metadata.<key>`.
    Response,
}

/// An allow-list capture of metadata (keys case-insensitive; nothing is captured unless named, so
/// `authorization` never is unless asked for). Values are cut to the limits; `-bin` values are recorded
/// as sent (base64).
///
/// ```
/// use tracewire_core::{limits::Limits, rpc::{Metadata, metadata_capture}};
/// let capture = metadata_capture(Metadata::Request, ["X-Tenant"]);
/// let mut metadata = http::HeaderMap::new();
/// metadata.insert("x-tenant", "acme".parse().unwrap());
/// metadata.insert("authorization", "Bearer secret".parse().unwrap());
/// let mut attributes = Vec::new();
/// capture.record(&metadata, &Limits::default(), &mut attributes);
/// assert_eq!(attributes.len(), 1);
/// assert_eq!(attributes[0].key.as_str(), "rpc.request.metadata.x-tenant");
/// ```
pub fn metadata_capture<I, S>(which: Metadata, keys: I) -> HeaderCapture
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let prefix = match which {
        Metadata::Request => RPC_REQUEST_METADATA_PREFIX,
        Metadata::Response => RPC_RESPONSE_METADATA_PREFIX,
    };
    HeaderCapture::with_prefix(prefix, keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        for (target, address, port) in [
            ("grpc.io:50051", "grpc.io", Some(50051)),
            ("grpc.io", "grpc.io", Some(443)),
            ("dns:grpc.io:50051", "grpc.io", Some(50051)),
            ("dns:///grpc.io:50051", "grpc.io", Some(50051)),
            ("dns://1.2.3.4/grpc.io:50051", "grpc.io", Some(50051)),
            ("http://127.0.0.1:50051", "127.0.0.1", Some(50051)),
            ("http://127.0.0.1", "127.0.0.1", Some(80)),
            ("https://[2001:db8::1]/", "2001:db8::1", Some(443)),
            ("[::1]:7000", "::1", Some(7000)),
            ("unix:///run/x.sock", "/run/x.sock", None),
            ("unix:/run/x.sock", "/run/x.sock", None),
            ("unix:relative.sock", "relative.sock", None),
            (
                "ipv4:10.0.0.1:1,10.0.0.2:2",
                "ipv4:10.0.0.1:1,10.0.0.2:2",
                None,
            ),
            (
                "zk://zookeeper:2181/my-server",
                "zk://zookeeper:2181/my-server",
                None,
            ),
            ("host:notaport", "host:notaport", None),
        ] {
            assert_eq!(
                target_address(target),
                (address.to_owned(), port),
                "target {target}"
            );
        }
    }

    #[test]
    fn methods_are_recognized_only_when_configured() {
        let methods = Methods::new().with_method("a.B/C").with_service("d.E");
        for (path, name, by_service) in [
            ("/a.B/C", "a.B/C", false),
            ("/a.B/D", GRPC, false),
            ("/d.E/F", "d.E/F", true),
            ("/d.E/F/G", GRPC, false),
            ("/d.E/", GRPC, false),
            ("/", GRPC, false),
            ("", GRPC, false),
        ] {
            let method = methods.method(path, &Limits::default());
            assert_eq!(method.name, name, "{path}");
            assert_eq!(method.by_service, by_service, "{path}");
        }
        let long = format!("/x.Y/{}", "z".repeat(10_000));
        let method = methods.method(&long, &Limits::default());
        let original = method.original.expect("original");
        assert!(original.as_str().len() <= Limits::default().max_value_len());
    }

    #[test]
    fn server_errors_are_the_six_codes() {
        let failing: Vec<i32> = (0..17)
            .filter(|&c| status_error(Side::Server, c).is_some())
            .collect();
        assert_eq!(failing, [2, 4, 12, 13, 14, 15]);
        let client: Vec<i32> = (0..17)
            .filter(|&c| status_error(Side::Client, c).is_some())
            .collect();
        assert_eq!(client, (1..17).collect::<Vec<_>>());
    }
}

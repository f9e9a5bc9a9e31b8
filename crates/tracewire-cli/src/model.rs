//! The one span model every input format is read into.

use std::collections::BTreeMap;

/// A span, whatever file format it came from. Times are nanoseconds since the Unix epoch.
///
/// ```
/// use std::collections::BTreeMap;
/// use tracewire_cli::model::Span;
/// let span = Span {
///     trace_id: 0x4bf92f3577b34da6a3ce929d0e0e4736,
///     span_id: 0x00f067aa0ba902b7,
///     parent_id: 0, // a root
///     name: "GET /cart".into(),
///     service: "shop".into(),
///     kind: "server",
///     start: 1_000_000,
///     end: 4_000_000,
///     error: false,
///     status_message: String::new(),
///     exception_type: None,
///     attributes: BTreeMap::from([("http.route".to_owned(), "/cart".to_owned())]),
/// };
/// assert_eq!(span.duration(), 3_000_000);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    /// Trace id (64-bit ids from Zipkin or Jaeger are zero-extended).
    pub trace_id: u128,
    /// Span id.
    pub span_id: u64,
    /// Parent span id, 0 for a root.
    pub parent_id: u64,
    /// Span name.
    pub name: String,
    /// `service.name` of the process that made it.
    pub service: String,
    /// Kind, lowercase: `server`, `client`, `producer`, `consumer`, `internal`.
    pub kind: &'static str,
    /// Start, ns since the epoch.
    pub start: u64,
    /// End, ns since the epoch (never before `start`).
    pub end: u64,
    /// Whether the status is Error.
    pub error: bool,
    /// The status message (Error description), if any.
    pub status_message: String,
    /// `exception.type` from an exception event or attribute, if any.
    pub exception_type: Option<String>,
    /// Attributes, as text.
    pub attributes: BTreeMap<String, String>,
}

impl Span {
    /// Duration in nanoseconds.
    pub fn duration(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }
}

/// Kind names from the many spellings the formats use.
pub fn kind_name(raw: &str) -> &'static str {
    match raw.to_ascii_lowercase().trim_start_matches("span_kind_") {
        "server" | "2" => "server",
        "client" | "3" => "client",
        "producer" | "4" => "producer",
        "consumer" | "5" => "consumer",
        _ => "internal",
    }
}

/// A hex id as a number; `None` for anything that is not 1–32 hex digits.
pub fn parse_hex_u128(hex: &str) -> Option<u128> {
    if hex.is_empty() || hex.len() > 32 {
        return None;
    }
    u128::from_str_radix(hex, 16).ok()
}

/// An OTLP trace id: hex, as OTLP/JSON writes it, or base64 of its 16 bytes, as the protobuf JSON
/// mapping (and some writers of OTLP files) write it.
///
/// ```
/// use tracewire_cli::model::otlp_trace_id;
/// let id = 0x4bf92f3577b34da6a3ce929d0e0e4736_u128;
/// assert_eq!(otlp_trace_id("4bf92f3577b34da6a3ce929d0e0e4736"), Some(id));
/// assert_eq!(otlp_trace_id("S/kvNXezTaajzpKdDg5HNg=="), Some(id));
/// assert_eq!(otlp_trace_id("not an id"), None);
/// ```
pub fn otlp_trace_id(text: &str) -> Option<u128> {
    // OTLP's hex ids have all their digits; a shorter text is read as base64 first (some base64 ids
    // use hex digits only).
    if text.len() == 32 {
        return parse_hex_u128(text);
    }
    base64_bytes::<16>(text)
        .map(u128::from_be_bytes)
        .or_else(|| parse_hex_u128(text))
}

/// An OTLP span id: hex, or base64 of its 8 bytes ([`otlp_trace_id`]).
///
/// ```
/// use tracewire_cli::model::otlp_span_id;
/// assert_eq!(otlp_span_id("00f067aa0ba902b7"), Some(0x00f067aa0ba902b7));
/// assert_eq!(otlp_span_id("APBnqgupArc="), Some(0x00f067aa0ba902b7));
/// ```
pub fn otlp_span_id(text: &str) -> Option<u64> {
    if text.len() == 16 {
        return parse_hex_u64(text);
    }
    base64_bytes::<8>(text)
        .map(u64::from_be_bytes)
        .or_else(|| parse_hex_u64(text))
}

/// `text` as base64 (standard alphabet, padded or not) of exactly `N` bytes.
fn base64_bytes<const N: usize>(text: &str) -> Option<[u8; N]> {
    use base64::Engine as _;
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    engine.decode(text).ok()?.try_into().ok()
}

/// A hex span id as a number; `None` for anything that is not 1–16 hex digits.
pub fn parse_hex_u64(hex: &str) -> Option<u64> {
    if hex.is_empty() || hex.len() > 16 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

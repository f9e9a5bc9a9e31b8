//! W3C Trace Context (Level 2) and W3C Baggage header codecs.
//!
//! This module implements parsing and formatting of the `traceparent`,
//! `tracestate` and `baggage` HTTP header values. It works on raw header
//! bytes, uses only the standard library, and never panics on any input.
//!
//! Every parser takes *all* header field values received under its header
//! name, in the order they were received, so that callers can pass the
//! result of `HeaderMap::get_all` directly (after mapping to byte slices).
//!
//! Summary of the rules implemented:
//!
//! * `traceparent`: exactly one header field is accepted; more than one is
//!   treated as invalid. Version `00` must be exactly 55 characters; future
//!   versions (`01` to `fe`) must be at least 55 characters, with the flags
//!   followed by either the end of the value or `-`. Version `ff` is invalid.
//!   Only lowercase hexadecimal digits are accepted, and all-zero trace or
//!   parent ids are invalid. Unknown flag bits are cleared.
//! * `tracestate`: several header fields are combined with `,`. Parsing is
//!   all-or-nothing, using the Level 2 key grammar. Formatting drops whole
//!   entries only when the 512-character propagation size is exceeded.
//! * `baggage`: invalid members are dropped individually. Values are
//!   percent-decoded (invalid UTF-8 becomes U+FFFD) and percent-encoded on
//!   output. At most 64 members and 8192 bytes are kept, and partial members
//!   are never produced.

/// Highest `traceparent` version this module emits (`00`).
///
/// ```
/// use tracewire_core::propagation::w3c::{TRACEPARENT_VERSION, format_traceparent};
/// assert_eq!(TRACEPARENT_VERSION, 0);
/// assert!(format_traceparent([1; 16], [2; 8], 0).starts_with("00-"));
/// ```
pub const TRACEPARENT_VERSION: u8 = 0;

/// Trace-flags bit meaning "sampled".
///
/// ```
/// use tracewire_core::propagation::w3c::{FLAG_SAMPLED, parse_traceparent};
/// let sampled: &[u8] = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
/// let tp = parse_traceparent(&[sampled]).unwrap();
/// assert_eq!(tp.flags & FLAG_SAMPLED, FLAG_SAMPLED);
/// ```
pub const FLAG_SAMPLED: u8 = 0x01;

/// Trace-flags bit meaning "random trace-id" (W3C Trace Context Level 2).
///
/// ```
/// use tracewire_core::propagation::w3c::{FLAG_RANDOM, FLAG_SAMPLED, parse_traceparent};
/// let random: &[u8] = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03";
/// assert_eq!(parse_traceparent(&[random]).unwrap().flags, FLAG_SAMPLED | FLAG_RANDOM);
/// // Unknown bits are cleared; the two known ones are kept.
/// let all_bits: &[u8] = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff";
/// assert_eq!(parse_traceparent(&[all_bits]).unwrap().flags, FLAG_SAMPLED | FLAG_RANDOM);
/// ```
pub const FLAG_RANDOM: u8 = 0x02;

/// Maximum number of non-empty `tracestate` list-members.
///
/// ```
/// use tracewire_core::propagation::w3c::{MAX_TRACESTATE_MEMBERS, parse_tracestate};
/// let members = |n: usize| (0..n).map(|i| format!("k{i}=v")).collect::<Vec<_>>().join(",");
/// let fits = members(MAX_TRACESTATE_MEMBERS);
/// assert_eq!(parse_tracestate(&[fits.as_bytes()]).unwrap().len(), 32);
/// let too_many = members(MAX_TRACESTATE_MEMBERS + 1);
/// assert_eq!(parse_tracestate(&[too_many.as_bytes()]), None); // dropped whole
/// ```
pub const MAX_TRACESTATE_MEMBERS: usize = 32;

/// Maximum length, in characters, of a `tracestate` key.
///
/// ```
/// use tracewire_core::propagation::w3c::{MAX_TRACESTATE_KEY_LEN, is_valid_tracestate_key};
/// assert!(is_valid_tracestate_key(&"k".repeat(MAX_TRACESTATE_KEY_LEN)));
/// assert!(!is_valid_tracestate_key(&"k".repeat(MAX_TRACESTATE_KEY_LEN + 1)));
/// ```
pub const MAX_TRACESTATE_KEY_LEN: usize = 256;

/// Maximum length, in characters, of a `tracestate` value.
///
/// ```
/// use tracewire_core::propagation::w3c::{MAX_TRACESTATE_VALUE_LEN, is_valid_tracestate_value};
/// assert!(is_valid_tracestate_value(&"v".repeat(MAX_TRACESTATE_VALUE_LEN)));
/// assert!(!is_valid_tracestate_value(&"v".repeat(MAX_TRACESTATE_VALUE_LEN + 1)));
/// ```
pub const MAX_TRACESTATE_VALUE_LEN: usize = 256;

/// Combined `tracestate` length, in characters, that is always propagated.
///
/// Formatting truncates the list, whole entries only, to fit within this size.
///
/// ```
/// use tracewire_core::propagation::w3c::{TRACESTATE_PROPAGATE_LEN, format_tracestate};
/// let keys: Vec<String> = (0..10).map(|i| format!("k{i}")).collect();
/// let value = "v".repeat(100);
/// let header = format_tracestate(keys.iter().map(|k| (k.as_str(), value.as_str())));
/// assert!(header.len() <= TRACESTATE_PROPAGATE_LEN);
/// assert_eq!(header.split(',').count(), 4); // whole entries only: k0 to k3 fit
/// ```
pub const TRACESTATE_PROPAGATE_LEN: usize = 512;

/// Maximum number of `baggage` list-members that are parsed or emitted.
///
/// ```
/// use tracewire_core::propagation::w3c::{MAX_BAGGAGE_MEMBERS, format_baggage};
/// let keys: Vec<String> = (0..100).map(|i| format!("k{i}")).collect();
/// let header = format_baggage(keys.iter().map(|k| (k.as_str(), "1", "")));
/// assert_eq!(header.split(',').count(), MAX_BAGGAGE_MEMBERS);
/// ```
pub const MAX_BAGGAGE_MEMBERS: usize = 64;

/// Maximum combined size, in bytes, of the `baggage` string that is parsed or emitted.
///
/// ```
/// use tracewire_core::propagation::w3c::{MAX_BAGGAGE_BYTES, format_baggage};
/// let big = "x".repeat(5000);
/// let header = format_baggage([("a", big.as_str(), ""), ("b", big.as_str(), "")]);
/// assert!(header.len() <= MAX_BAGGAGE_BYTES);
/// assert!(header.starts_with("a=") && !header.contains(',')); // `b` does not fit: left out whole
/// ```
pub const MAX_BAGGAGE_BYTES: usize = 8192;

/// Entries longer than this (measured as `key=value`) are removed first when
/// a `tracestate` has to be truncated.
const TRACESTATE_LONG_ENTRY_LEN: usize = 128;

/// Only these flag bits are defined; every other bit is cleared.
const KNOWN_FLAGS: u8 = FLAG_SAMPLED | FLAG_RANDOM;

/// Length of a version-`00` `traceparent` value.
const TRACEPARENT_LEN: usize = 55;

/// A parsed `traceparent` header.
///
/// ```
/// use tracewire_core::propagation::w3c::parse_traceparent;
/// let tp = parse_traceparent(&[b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"]).unwrap();
/// assert_eq!(tp.flags, 0x01);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceParent {
    /// The 16-byte trace id. Never all zero when produced by [`parse_traceparent`].
    pub trace_id: [u8; 16],
    /// The 8-byte parent (span) id. Never all zero when produced by [`parse_traceparent`].
    pub parent_id: [u8; 8],
    /// The trace flags, reduced to the known bits ([`FLAG_SAMPLED`] and [`FLAG_RANDOM`]).
    pub flags: u8,
}

/// Why a `traceparent` was rejected (for tests and diagnostics).
///
/// Every variant means the same thing to a caller: the trace restarts and
/// `tracestate` is not parsed.
///
/// ```
/// use tracewire_core::propagation::w3c::{parse_traceparent, TraceParentError};
/// assert_eq!(parse_traceparent(&[]), Err(TraceParentError::Missing));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceParentError {
    /// No `traceparent` header field was received.
    Missing,
    /// More than one `traceparent` header field was received.
    Duplicated,
    /// The value contains bytes outside ASCII (including non-UTF-8 bytes).
    NotAscii,
    /// The version is not two lowercase hex digits followed by `-`, or is `ff`.
    BadVersion,
    /// The value is too short for its version, or a field delimiter is missing.
    Length,
    /// The trace-id is not 32 lowercase hex digits, or is all zero.
    TraceId,
    /// The parent-id is not 16 lowercase hex digits, or is all zero.
    ParentId,
    /// The trace-flags are not two lowercase hex digits.
    Flags,
    /// Data follows the flags where it is not allowed: any data for version
    /// `00`, or data not starting with `-` for a future version.
    TrailingData,
}

impl std::fmt::Display for TraceParentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let msg = match self {
            TraceParentError::Missing => "traceparent header is missing",
            TraceParentError::Duplicated => "traceparent header is duplicated",
            TraceParentError::NotAscii => "traceparent contains non-ASCII bytes",
            TraceParentError::BadVersion => "traceparent version is invalid",
            TraceParentError::Length => "traceparent has an invalid length",
            TraceParentError::TraceId => "traceparent trace-id is invalid",
            TraceParentError::ParentId => "traceparent parent-id is invalid",
            TraceParentError::Flags => "traceparent trace-flags are invalid",
            TraceParentError::TrailingData => "traceparent has invalid trailing data",
        };
        f.write_str(msg)
    }
}

impl std::error::Error for TraceParentError {}

// ---------------------------------------------------------------------------
// Shared byte helpers
// ---------------------------------------------------------------------------

/// Optional whitespace as defined by RFC 9110: space or horizontal tab.
#[inline]
fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Trims OWS (space, tab) from both ends of a byte slice.
#[inline]
fn trim_ows_bytes(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if is_ows(*first) {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if is_ows(*last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// Trims OWS (space, tab) from both ends of a string.
#[inline]
fn trim_ows(s: &str) -> &str {
    s.trim_matches(|c: char| c == ' ' || c == '\t')
}

/// Value of a lowercase hex digit (`0-9`, `a-f`).
#[inline]
fn lower_hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// Value of a hex digit of either case (used for percent-decoding).
#[inline]
pub(crate) fn any_hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Uppercase hex character of the low nibble of `n`.
#[inline]
fn upper_hex_char(n: u8) -> char {
    let n = n & 0x0f;
    char::from(if n < 10 { b'0' + n } else { b'A' + (n - 10) })
}

/// Decodes exactly `2 * dst.len()` lowercase hex digits from `src` into `dst`.
#[inline]
fn decode_lower_hex(src: &[u8], dst: &mut [u8]) -> bool {
    /// Lowercase hex digit values; 0xff marks every other byte.
    const VALUES: [u8; 256] = {
        let mut table = [0xffu8; 256];
        let mut i = 0;
        while i < 10 {
            table[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            table[b'a' as usize + i] = 10 + i as u8;
            i += 1;
        }
        table
    };
    if src.len() != dst.len() * 2 {
        return false;
    }
    // Branch-free per byte: OR the values together and check the invalid marker once at the end.
    let mut invalid = 0u8;
    for (pair, out) in src.chunks_exact(2).zip(dst.iter_mut()) {
        let (h, l) = match pair {
            [hi, lo] => (VALUES[usize::from(*hi)], VALUES[usize::from(*lo)]),
            _ => return false,
        };
        invalid |= (h | l) & 0xf0;
        *out = (h << 4) | (l & 0x0f);
    }
    invalid == 0
}

// ---------------------------------------------------------------------------
// traceparent
// ---------------------------------------------------------------------------

/// Parses the `traceparent` header from all header field values received under that name, in order.
///
/// The values are raw bytes and may be non-UTF-8. Zero values yield
/// [`TraceParentError::Missing`]; more than one value yields
/// [`TraceParentError::Duplicated`], which means the trace restarts. OWS
/// (space, tab) is trimmed from both ends of the value.
///
/// Version `00` must be exactly 55 characters long. A future version (`01` to
/// `fe`) must be at least 55 characters long, uses the same field offsets,
/// and its flags must be followed by the end of the value or by `-`; the
/// unknown trailing fields are never interpreted. Version `ff`, or a version
/// that is not two lowercase hex digits followed by `-`, yields
/// [`TraceParentError::BadVersion`]. Only lowercase hex is accepted
/// everywhere, and all-zero trace or parent ids are invalid.
///
/// The returned flags keep only [`FLAG_SAMPLED`] and [`FLAG_RANDOM`]; unknown
/// bits are cleared for every version. This function does not allocate.
///
/// # Errors
///
/// Returns a [`TraceParentError`] describing the first rule that failed. Any
/// error means the trace restarts and `tracestate` must not be parsed.
///
/// ```
/// use tracewire_core::propagation::w3c::{TraceParentError, parse_traceparent};
/// let value: &[u8] = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
/// let tp = parse_traceparent(&[value]).unwrap();
/// assert_eq!(tp.parent_id, [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]);
///
/// assert_eq!(parse_traceparent(&[value, value]), Err(TraceParentError::Duplicated));
/// let upper: &[u8] = b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01";
/// assert_eq!(parse_traceparent(&[upper]), Err(TraceParentError::TraceId));
/// ```
pub fn parse_traceparent(values: &[&[u8]]) -> Result<TraceParent, TraceParentError> {
    let raw = match values {
        [] => return Err(TraceParentError::Missing),
        [one] => *one,
        _ => return Err(TraceParentError::Duplicated),
    };
    let s = trim_ows_bytes(raw);
    if !s.is_ascii() {
        return Err(TraceParentError::NotAscii);
    }

    // version "-"
    let version = match s {
        [v0, v1, b'-', ..] => match (lower_hex_val(*v0), lower_hex_val(*v1)) {
            (Some(h), Some(l)) => (h << 4) | l,
            _ => return Err(TraceParentError::BadVersion),
        },
        _ => return Err(TraceParentError::BadVersion),
    };
    if version == 0xff {
        return Err(TraceParentError::BadVersion);
    }
    if s.len() < TRACEPARENT_LEN {
        return Err(TraceParentError::Length);
    }

    // Fixed offsets: 0..2 version, 2 '-', 3..35 trace-id, 35 '-',
    // 36..52 parent-id, 52 '-', 53..55 flags, 55.. trailing.
    let trace_hex = s.get(3..35).ok_or(TraceParentError::Length)?;
    let parent_hex = s.get(36..52).ok_or(TraceParentError::Length)?;
    let flags_hex = s.get(53..55).ok_or(TraceParentError::Length)?;
    let trailing = s.get(55..).ok_or(TraceParentError::Length)?;

    let mut trace_id = [0u8; 16];
    if s.get(35) != Some(&b'-')
        || !decode_lower_hex(trace_hex, &mut trace_id)
        || trace_id == [0u8; 16]
    {
        return Err(TraceParentError::TraceId);
    }

    let mut parent_id = [0u8; 8];
    if s.get(52) != Some(&b'-')
        || !decode_lower_hex(parent_hex, &mut parent_id)
        || parent_id == [0u8; 8]
    {
        return Err(TraceParentError::ParentId);
    }

    let mut flags = [0u8; 1];
    if !decode_lower_hex(flags_hex, &mut flags) {
        return Err(TraceParentError::Flags);
    }
    let [flags] = flags;

    if version == TRACEPARENT_VERSION {
        if !trailing.is_empty() {
            return Err(TraceParentError::TrailingData);
        }
    } else if !matches!(trailing, [] | [b'-', ..]) {
        return Err(TraceParentError::TrailingData);
    }

    Ok(TraceParent {
        trace_id,
        parent_id,
        flags: flags & KNOWN_FLAGS,
    })
}

/// Formats a version-`00` `traceparent` header value.
///
/// The result is `00-{32 hex}-{16 hex}-{2 hex}` in lowercase, with the flags
/// masked to [`FLAG_SAMPLED`] and [`FLAG_RANDOM`]. Exactly one `String` with
/// capacity 55 is allocated. The ids are written as given; callers must not
/// pass all-zero ids if they want the result to be valid.
///
/// ```
/// use tracewire_core::propagation::w3c::{FLAG_RANDOM, FLAG_SAMPLED, format_traceparent};
/// let value = format_traceparent([0xab; 16], [0xcd; 8], FLAG_SAMPLED | FLAG_RANDOM);
/// assert_eq!(value, format!("00-{}-{}-03", "ab".repeat(16), "cd".repeat(8)));
/// ```
#[must_use]
pub fn format_traceparent(trace_id: [u8; 16], span_id: [u8; 8], flags: u8) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    fn put(out: &mut [u8], at: usize, byte: u8) {
        out[at] = HEX[usize::from(byte >> 4)];
        out[at + 1] = HEX[usize::from(byte & 0x0f)];
    }
    // Written into a fixed buffer: every offset is known, so there is nothing to check per character.
    let mut out = [b'-'; TRACEPARENT_LEN];
    put(&mut out, 0, TRACEPARENT_VERSION);
    for (i, byte) in trace_id.into_iter().enumerate() {
        put(&mut out, 3 + 2 * i, byte);
    }
    for (i, byte) in span_id.into_iter().enumerate() {
        put(&mut out, 36 + 2 * i, byte);
    }
    put(&mut out, 53, flags & KNOWN_FLAGS);
    // Hex digits and dashes are ASCII: the conversion cannot fail.
    String::from_utf8(out.to_vec()).unwrap_or_default()
}

// ---------------------------------------------------------------------------
// tracestate
// ---------------------------------------------------------------------------

/// `lcalpha / DIGIT`
#[inline]
fn is_key_start(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"`
#[inline]
fn is_key_char(b: u8) -> bool {
    is_key_start(b) || matches!(b, b'_' | b'-' | b'*' | b'/' | b'@')
}

/// `chr = %x20 / nblk-chr`, `nblk-chr = %x21-2B / %x2D-3C / %x3E-7E`
#[inline]
fn is_value_char(b: u8) -> bool {
    matches!(b, 0x20..=0x2B | 0x2D..=0x3C | 0x3E..=0x7E)
}

/// Checks a `tracestate` key against the Level 2 grammar.
///
/// The grammar is `(lcalpha / DIGIT) 0*255(lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@")`,
/// so a key is 1 to 256 characters long and may contain any number of `@`
/// anywhere except in the first position.
///
/// ```
/// use tracewire_core::propagation::w3c::is_valid_tracestate_key;
/// assert!(is_valid_tracestate_key("rojo"));
/// assert!(is_valid_tracestate_key("tenant@vendor"));
/// assert!(is_valid_tracestate_key("a@b@c")); // Level 2: any number of '@'
/// assert!(!is_valid_tracestate_key("Rojo")); // uppercase
/// assert!(!is_valid_tracestate_key("@vendor"));
/// ```
#[must_use]
pub fn is_valid_tracestate_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    if bytes.len() > MAX_TRACESTATE_KEY_LEN {
        return false;
    }
    match bytes {
        [first, rest @ ..] => is_key_start(*first) && rest.iter().all(|b| is_key_char(*b)),
        [] => false,
    }
}

/// Checks a `tracestate` value against the grammar.
///
/// A value is 1 to 256 characters in the ranges `%x20-2B`, `%x2D-3C` and
/// `%x3E-7E` (printable ASCII except `,` and `=`), and its last character is
/// not a space. Leading spaces are allowed and belong to the value.
///
/// ```
/// use tracewire_core::propagation::w3c::is_valid_tracestate_value;
/// assert!(is_valid_tracestate_value("00f067aa0ba902b7"));
/// assert!(is_valid_tracestate_value(" leading space"));
/// assert!(!is_valid_tracestate_value("trailing space "));
/// assert!(!is_valid_tracestate_value("a=b"));
/// assert!(!is_valid_tracestate_value(""));
/// ```
#[must_use]
pub fn is_valid_tracestate_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    if bytes.len() > MAX_TRACESTATE_VALUE_LEN {
        return false;
    }
    match bytes {
        [.., last] => *last != b' ' && bytes.iter().all(|b| is_value_char(*b)),
        [] => false,
    }
}

/// Parses one non-empty, OWS-trimmed `tracestate` list-member.
fn parse_tracestate_member(member: &str) -> Option<(&str, &str)> {
    let (key, value) = member.split_once('=')?;
    if is_valid_tracestate_key(key) && is_valid_tracestate_value(value) {
        Some((key, value))
    } else {
        None
    }
}

/// Parses the `tracestate` header from all header field values received under that name, in order.
///
/// The values are combined with `,`. Parsing is all-or-nothing: `None` means
/// the whole header must be dropped. That happens for any invalid member
/// under the Level 2 grammar, more than 32 non-empty members, a duplicated
/// key, non-ASCII or non-UTF-8 bytes, or a key or value over its length
/// limit.
///
/// Empty and whitespace-only members are allowed and skipped. Empty input (no
/// values, or only empty members) yields `Some(vec![])`. OWS (space, tab)
/// around members is removed. Whitespace after `=` is part of the value, and
/// trailing spaces are dropped as OWS. Members are returned in order as
/// `(key, value)`.
///
/// ```
/// use tracewire_core::propagation::w3c::parse_tracestate;
/// let lines = ["congo=t61rcWkgMzE".as_bytes(), "rojo=00f067aa0ba902b7".as_bytes()];
/// let members = parse_tracestate(&lines).unwrap(); // the lines are combined
/// assert_eq!(members.len(), 2);
/// assert_eq!((members[1].0.as_str(), members[1].1.as_str()), ("rojo", "00f067aa0ba902b7"));
///
/// assert_eq!(parse_tracestate(&[b"a=1,B=2"]), None); // one invalid key drops the whole list
/// let deduplicated = parse_tracestate(&[b"foo=1,bar=2,foo=3"]).unwrap(); // the first of a key is kept
/// assert_eq!(deduplicated, [("foo".into(), "1".into()), ("bar".into(), "2".into())]);
/// assert_eq!(parse_tracestate(&[]), Some(vec![]));
/// ```
#[must_use]
pub fn parse_tracestate(values: &[&[u8]]) -> Option<Vec<(String, String)>> {
    let mut members: Vec<(&str, &str)> = Vec::new();
    let mut seen = 0;
    for raw in values {
        if !raw.is_ascii() {
            return None;
        }
        let text = std::str::from_utf8(raw).ok()?;
        for member in text.split(',') {
            let member = trim_ows(member);
            if member.is_empty() {
                continue;
            }
            let (key, value) = parse_tracestate_member(member)?;
            seen += 1;
            if seen > MAX_TRACESTATE_MEMBERS {
                return None;
            }
            // A repeated key does not make the list invalid: W3C lets a vendor discard duplicates it
            // did not write, and the first one is the most recent.
            if !members.iter().any(|(k, _)| *k == key) {
                members.push((key, value));
            }
        }
    }
    Some(
        members
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    )
}

/// Serialises `tracestate` members as `k=v,k2=v2`, without spaces.
///
/// So that the output always parses back, members with an invalid key or
/// value are skipped, later duplicates of a key are skipped, and only the
/// first 32 members are kept (the right-most ones are dropped). If the result
/// would exceed [`TRACESTATE_PROPAGATE_LEN`] characters, whole entries only
/// are removed until it fits: first entries longer than 128 characters (as
/// `k=v`, the right-most such entry first), then entries from the right end.
/// Returns an empty string when there are no members left.
///
/// ```
/// use tracewire_core::propagation::w3c::format_tracestate;
/// let members = [("rojo", "00f067aa0ba902b7"), ("Bad", "x"), ("congo", "t61rcWkgMzE")];
/// // The invalid key is skipped so that the result always parses back.
/// assert_eq!(format_tracestate(members), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
/// assert_eq!(format_tracestate([("Bad", "x")]), ""); // nothing left
/// ```
#[must_use]
pub fn format_tracestate<'a>(members: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut kept: Vec<(&'a str, &'a str)> = Vec::new();
    for (key, value) in members {
        if kept.len() >= MAX_TRACESTATE_MEMBERS {
            break;
        }
        if !is_valid_tracestate_key(key) || !is_valid_tracestate_value(value) {
            continue;
        }
        if kept.iter().any(|(k, _)| *k == key) {
            continue;
        }
        kept.push((key, value));
    }

    let entry_len = |(k, v): &(&str, &str)| k.len() + 1 + v.len();
    let total_len = |list: &[(&str, &str)]| -> usize {
        let entries: usize = list.iter().map(entry_len).sum();
        entries + list.len().saturating_sub(1)
    };

    let mut total = total_len(&kept);
    while total > TRACESTATE_PROPAGATE_LEN {
        let long = kept
            .iter()
            .rposition(|e| entry_len(e) > TRACESTATE_LONG_ENTRY_LEN);
        let removed = match long {
            Some(i) => kept.remove(i),
            None => match kept.pop() {
                Some(e) => e,
                None => break,
            },
        };
        // Each removal takes away the entry and one separating comma.
        total = total.saturating_sub(entry_len(&removed) + usize::from(!kept.is_empty()));
    }

    let mut out = String::with_capacity(total);
    for (i, (key, value)) in kept.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
    out
}

// ---------------------------------------------------------------------------
// baggage
// ---------------------------------------------------------------------------

/// One parsed `baggage` list-member.
///
/// ```
/// use tracewire_core::propagation::w3c::parse_baggage;
/// let members = parse_baggage(&[b"user=alice;ttl=60"]);
/// assert_eq!((members[0].key.as_str(), members[0].value.as_str(), members[0].properties.as_str()), ("user", "alice", "ttl=60"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaggageMember {
    /// The member key (an RFC 7230 token; keys are not percent-decoded).
    pub key: String,
    /// The percent-decoded value; invalid UTF-8 sequences are replaced by U+FFFD.
    pub value: String,
    /// The raw property text after the first `;`, with OWS around properties,
    /// keys and values removed and properties joined by `;`. Empty if none.
    pub properties: String,
}

/// RFC 7230 `tchar`.
#[inline]
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// RFC 7230 `token = 1*tchar`.
#[inline]
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// `baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E`
#[inline]
fn is_baggage_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

/// Percent-decodes a value made of baggage-octets (W3C baggage, and the `OTEL_RESOURCE_ATTRIBUTES` and
/// `OTEL_EXPORTER_OTLP_HEADERS` variables, which use its format). A `%` not followed by two hex digits
/// makes the value invalid. Invalid UTF-8 becomes U+FFFD.
///
/// ```
/// use tracewire_core::propagation::w3c::percent_decode;
/// assert_eq!(percent_decode("a%2Cb%20c").as_deref(), Some("a,b c"));
/// assert_eq!(percent_decode("50%"), None);
/// assert_eq!(percent_decode("%+f"), None); // two hex digits, nothing else
/// ```
pub fn percent_decode(raw: &str) -> Option<String> {
    if !raw.contains('%') {
        return Some(raw.to_owned());
    }
    let mut bytes = Vec::with_capacity(raw.len());
    let mut iter = raw.bytes();
    while let Some(b) = iter.next() {
        if b == b'%' {
            let hi = iter.next().and_then(any_hex_val)?;
            let lo = iter.next().and_then(any_hex_val)?;
            bytes.push((hi << 4) | lo);
        } else {
            bytes.push(b);
        }
    }
    Some(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// Percent-encodes every byte outside baggage-octet, and `%`, as `%XX` (uppercase).
pub(crate) fn percent_encode_into(value: &str, out: &mut String) {
    for b in value.bytes() {
        if is_baggage_octet(b) && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(upper_hex_char(b >> 4));
            out.push(upper_hex_char(b));
        }
    }
}

/// Length of the percent-encoded form of `value`.
fn percent_encoded_len(value: &str) -> usize {
    value
        .bytes()
        .map(|b| {
            if is_baggage_octet(b) && b != b'%' {
                1
            } else {
                3
            }
        })
        .sum()
}

/// Validates and OWS-normalises property text (`property *( OWS ";" OWS property )`).
///
/// Each property is `key OWS "=" OWS value` or `key OWS`; keys are tokens and
/// values are baggage-octets. Empty properties are skipped. Returns `None`
/// if any property is invalid.
fn normalize_properties(raw: &str) -> Option<String> {
    let mut out = String::new();
    for prop in raw.split(';') {
        let prop = trim_ows(prop);
        if prop.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(';');
        }
        match prop.split_once('=') {
            Some((key, value)) => {
                let key = trim_ows(key);
                let value = trim_ows(value);
                if !is_token(key) || !value.bytes().all(is_baggage_octet) {
                    return None;
                }
                out.push_str(key);
                out.push('=');
                out.push_str(value);
            }
            None => {
                if !is_token(prop) {
                    return None;
                }
                out.push_str(prop);
            }
        }
    }
    Some(out)
}

/// Parses one non-empty, OWS-trimmed baggage list-member.
///
/// Returns the member and its normalised wire length (`key=raw-value[;props]`).
fn parse_baggage_member(member: &str) -> Option<(BaggageMember, usize)> {
    let (kv, props) = match member.split_once(';') {
        Some((kv, props)) => (kv, Some(props)),
        None => (member, None),
    };
    let (key, raw_value) = kv.split_once('=')?;
    let key = trim_ows(key);
    let raw_value = trim_ows(raw_value);
    if !is_token(key) || !raw_value.bytes().all(is_baggage_octet) {
        return None;
    }
    let value = percent_decode(raw_value)?;
    let properties = match props {
        Some(p) => normalize_properties(p)?,
        None => String::new(),
    };
    let props_len = if properties.is_empty() {
        0
    } else {
        1 + properties.len()
    };
    let wire_len = key.len() + 1 + raw_value.len() + props_len;
    Some((
        BaggageMember {
            key: key.to_owned(),
            value,
            properties,
        },
        wire_len,
    ))
}

/// Parses the `baggage` header from all header field values received under that name, in order.
///
/// Invalid members are dropped individually and the rest are kept. A key is
/// an RFC 7230 token, and a member is split on its first `=`. OWS around keys,
/// values and properties is ignored. Value characters must be baggage-octets,
/// otherwise the member is dropped. Values are percent-decoded; a bad `%`
/// escape drops the member, and invalid UTF-8 becomes U+FFFD. A header value
/// that is not valid UTF-8 is skipped. Empty members are skipped.
///
/// Parsing stops after [`MAX_BAGGAGE_MEMBERS`] members. A member that would
/// push the combined size (normalised `key=value;props` entries joined by
/// `,`) past [`MAX_BAGGAGE_BYTES`] is dropped whole; partial members are never
/// produced.
///
/// ```
/// use tracewire_core::propagation::w3c::parse_baggage;
/// let lines = ["user=alice%20b".as_bytes(), "bad key=1, plan=pro;ttl=60".as_bytes()];
/// let members = parse_baggage(&lines);
/// let keys: Vec<&str> = members.iter().map(|m| m.key.as_str()).collect();
/// assert_eq!(keys, ["user", "plan"]); // the invalid member alone is dropped
/// assert_eq!(members[0].value, "alice b"); // percent-decoded
/// assert_eq!(members[1].properties, "ttl=60");
/// ```
#[must_use]
pub fn parse_baggage(values: &[&[u8]]) -> Vec<BaggageMember> {
    let mut out: Vec<BaggageMember> = Vec::new();
    let mut total: usize = 0;
    'headers: for raw in values {
        let Ok(text) = std::str::from_utf8(raw) else {
            continue;
        };
        for member in text.split(',') {
            if out.len() >= MAX_BAGGAGE_MEMBERS {
                break 'headers;
            }
            let member = trim_ows(member);
            if member.is_empty() {
                continue;
            }
            let Some((parsed, wire_len)) = parse_baggage_member(member) else {
                continue;
            };
            let added = wire_len.saturating_add(usize::from(!out.is_empty()));
            let new_total = total.saturating_add(added);
            if new_total > MAX_BAGGAGE_BYTES {
                continue;
            }
            total = new_total;
            out.push(parsed);
        }
    }
    out
}

/// Serialises baggage members, given as `(key, value, properties)`, as `k=v;props,k2=v2`.
///
/// Values are percent-encoded: every byte outside baggage-octet, and `%`
/// itself, is written as `%XX` with uppercase hex. Properties are written as
/// given after OWS normalisation. Members whose key is not a valid token, or
/// whose properties are invalid, are skipped. Output stops before it would
/// exceed [`MAX_BAGGAGE_MEMBERS`] members or [`MAX_BAGGAGE_BYTES`] bytes, and
/// only whole members are written.
///
/// ```
/// use tracewire_core::propagation::w3c::format_baggage;
/// let header = format_baggage([("user", "alice b", ""), ("plan", "100%", "ttl=60")]);
/// assert_eq!(header, "user=alice%20b,plan=100%25;ttl=60");
/// ```
#[must_use]
pub fn format_baggage<'a>(
    members: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
) -> String {
    let mut out = String::new();
    let mut count: usize = 0;
    for (key, value, properties) in members {
        if count >= MAX_BAGGAGE_MEMBERS {
            break;
        }
        if !is_token(key) {
            continue;
        }
        let Some(props) = normalize_properties(properties) else {
            continue;
        };
        let props_len = if props.is_empty() { 0 } else { 1 + props.len() };
        let member_len = key.len() + 1 + percent_encoded_len(value) + props_len;
        let added = member_len.saturating_add(usize::from(count > 0));
        if out.len().saturating_add(added) > MAX_BAGGAGE_BYTES {
            break;
        }
        if count > 0 {
            out.push(',');
        }
        out.push_str(key);
        out.push('=');
        percent_encode_into(value, &mut out);
        if !props.is_empty() {
            out.push(';');
            out.push_str(&props);
        }
        count += 1;
    }
    out
}

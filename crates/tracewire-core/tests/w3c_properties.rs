//! Property tests for the W3C `traceparent`, `tracestate` and `baggage` codecs.

use std::collections::HashSet;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use tracewire_core::propagation::w3c::*;

// ---------------------------------------------------------------------------
// Character sets
// ---------------------------------------------------------------------------

/// `lcalpha / DIGIT`: the first character of a tracestate key.
static TS_KEY_START: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// Level 2 tracestate key characters.
static TS_KEY_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789_-*/@";

/// `nblk-chr = %x21-2B / %x2D-3C / %x3E-7E`.
static TS_NBLK_CHARS: &[u8] = b"!\"#$%&'()*+-./0123456789:;<>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

/// `chr = %x20 / nblk-chr`.
static TS_VALUE_CHARS: &[u8] = b" !\"#$%&'()*+-./0123456789:;<>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

/// RFC 7230 `tchar`.
static TCHARS: &[u8] =
    b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Baggage-octets without `%` (so raw property values need no percent-escape checks).
static BAGGAGE_OCTETS_NO_PERCENT: &[u8] =
    b"!#$&'()*+-./0123456789:<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~";

/// Characters that make header parsers take their interesting branches.
static HEADERISH: &[u8] = b"0123456789abcdefABCDEF-=,;% \t@*/_xyz.\"\\";

fn string_from(chars: &'static [u8], len: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    vec(select(chars), len).prop_map(|bytes| bytes.into_iter().map(char::from).collect())
}

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

/// 1 to 3 arbitrary raw header values.
fn raw_values() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let arbitrary = vec(any::<u8>(), 0..200);
    let headerish = string_from(HEADERISH, 0..120).prop_map(String::into_bytes);
    vec(prop_oneof![arbitrary, headerish], 1..4)
}

/// Raw values shaped like traceparent headers (right length, mostly hex).
fn traceparent_like() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let body = string_from(b"0123456789abcdefF-. ", 50..62).prop_map(String::into_bytes);
    vec(body, 1..4)
}

fn nonzero_trace_id() -> impl Strategy<Value = [u8; 16]> {
    any::<[u8; 16]>().prop_filter("all-zero trace-id is invalid", |id| *id != [0u8; 16])
}

fn nonzero_span_id() -> impl Strategy<Value = [u8; 8]> {
    any::<[u8; 8]>().prop_filter("all-zero parent-id is invalid", |id| *id != [0u8; 8])
}

/// A Level 2 tracestate key of 1 to `max_len` characters.
fn ts_key(max_len: usize) -> impl Strategy<Value = String> {
    (select(TS_KEY_START), vec(select(TS_KEY_CHARS), 0..max_len))
        .prop_map(|(first, rest)| std::iter::once(first).chain(rest).map(char::from).collect())
}

/// A tracestate value of 1 to `max_len` characters (last one not a space).
fn ts_value(max_len: usize) -> impl Strategy<Value = String> {
    (
        vec(select(TS_VALUE_CHARS), 0..max_len),
        select(TS_NBLK_CHARS),
    )
        .prop_map(|(rest, last)| {
            rest.into_iter()
                .chain(std::iter::once(last))
                .map(char::from)
                .collect()
        })
}

/// A valid key, sometimes close to the 256-character limit.
fn ts_key_mixed() -> impl Strategy<Value = String> {
    prop_oneof![4 => ts_key(12), 1 => ts_key(256)]
}

/// A valid value, sometimes close to the 256-character limit.
fn ts_value_mixed() -> impl Strategy<Value = String> {
    prop_oneof![4 => ts_value(12), 1 => ts_value(256)]
}

/// Up to 32 valid tracestate members with unique keys, in generation order.
fn ts_members() -> impl Strategy<Value = Vec<(String, String)>> {
    vec((ts_key_mixed(), ts_value_mixed()), 0..=32).prop_map(|members| {
        let mut seen = HashSet::new();
        members
            .into_iter()
            .filter(|(k, _)| seen.insert(k.clone()))
            .collect()
    })
}

/// Any string: valid-looking or arbitrary. The fixed arm makes duplicate keys likely.
fn loose_string() -> impl Strategy<Value = String> {
    prop_oneof![
        select(&["a", "b", "a@b", "k=v", " x"][..]).prop_map(String::from),
        ts_key(12),
        ts_value(12),
        any::<String>(),
        string_from(HEADERISH, 0..20),
    ]
}

/// A valid baggage key.
fn bg_key() -> impl Strategy<Value = String> {
    string_from(TCHARS, 1..16)
}

/// Valid, already normalised baggage properties (`p1=v1;p2`), or "".
fn bg_properties() -> impl Strategy<Value = String> {
    let prop = (
        string_from(TCHARS, 1..8),
        proptest::option::of(string_from(BAGGAGE_OCTETS_NO_PERCENT, 0..8)),
    )
        .prop_map(|(k, v)| match v {
            Some(v) => format!("{k}={v}"),
            None => k,
        });
    vec(prop, 0..3).prop_map(|props| props.join(";"))
}

/// Arbitrary UTF-8 values, short or long (long ones push the 8192-byte limit).
fn bg_value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        1 => vec(any::<char>(), 0..400).prop_map(|chars| chars.into_iter().collect::<String>()),
    ]
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn as_slices(values: &[Vec<u8>]) -> Vec<&[u8]> {
    values.iter().map(Vec::as_slice).collect()
}

fn is_baggage_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

/// Length of the percent-encoded form `format_baggage` writes for a value.
fn encoded_len(value: &str) -> usize {
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

/// Combined length of `k=v` entries joined by `,`.
fn joined_len(entries: impl Iterator<Item = usize>) -> usize {
    let mut total = 0usize;
    let mut count = 0usize;
    for len in entries {
        total += len;
        count += 1;
    }
    total + count.saturating_sub(1)
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(values in raw_values()) {
        let slices = as_slices(&values);
        let tp = parse_traceparent(&slices);
        if slices.len() > 1 {
            prop_assert_eq!(tp, Err(TraceParentError::Duplicated));
        }
        if let Some(members) = parse_tracestate(&slices) {
            prop_assert!(members.len() <= MAX_TRACESTATE_MEMBERS);
            for (k, v) in &members {
                prop_assert!(is_valid_tracestate_key(k), "key {:?}", k);
                prop_assert!(is_valid_tracestate_value(v), "value {:?}", v);
            }
        }
        let baggage = parse_baggage(&slices);
        prop_assert!(baggage.len() <= MAX_BAGGAGE_MEMBERS);
    }

    #[test]
    fn traceparent_parser_never_panics_on_near_valid_input(values in traceparent_like()) {
        let slices = as_slices(&values);
        if let Ok(tp) = parse_traceparent(&slices) {
            prop_assert!(tp.trace_id != [0u8; 16]);
            prop_assert!(tp.parent_id != [0u8; 8]);
            prop_assert_eq!(tp.flags & !(FLAG_SAMPLED | FLAG_RANDOM), 0);
        }
    }

    #[test]
    fn traceparent_round_trips(
        trace_id in nonzero_trace_id(),
        span_id in nonzero_span_id(),
        flags in any::<u8>(),
    ) {
        let header = format_traceparent(trace_id, span_id, flags);
        prop_assert_eq!(header.len(), 55);
        prop_assert!(header.starts_with("00-"));
        prop_assert!(
            header.bytes().all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "not lowercase hex: {}", header
        );
        let parsed = parse_traceparent(&[header.as_bytes()]);
        prop_assert_eq!(
            parsed,
            Ok(TraceParent { trace_id, parent_id: span_id, flags: flags & (FLAG_SAMPLED | FLAG_RANDOM) })
        );
        // Unknown flag bits received on the wire are cleared.
        let raw = format!("{}{flags:02x}", header.get(..53).unwrap_or_default());
        prop_assert_eq!(
            parse_traceparent(&[raw.as_bytes()]).map(|t| t.flags),
            Ok(flags & (FLAG_SAMPLED | FLAG_RANDOM))
        );
        // Padding with OWS does not change the result.
        let padded = format!(" \t{header}\t ");
        prop_assert_eq!(parse_traceparent(&[padded.as_bytes()]), parsed);
        // A second header field always invalidates it.
        prop_assert_eq!(
            parse_traceparent(&[header.as_bytes(), header.as_bytes()]),
            Err(TraceParentError::Duplicated)
        );
    }

    #[test]
    fn future_traceparent_versions_parse_like_00(
        trace_id in nonzero_trace_id(),
        span_id in nonzero_span_id(),
        flags in any::<u8>(),
        version in 1u8..=0xfe,
        tail in string_from(HEADERISH, 0..20),
    ) {
        let v00 = format_traceparent(trace_id, span_id, flags);
        let rest = v00.get(2..).unwrap_or_default();
        let future = format!("{version:02x}{rest}-{tail}");
        let expected = parse_traceparent(&[v00.as_bytes()]);
        prop_assert!(expected.is_ok());
        prop_assert_eq!(parse_traceparent(&[future.as_bytes()]), expected);
    }

    #[test]
    fn tracestate_round_trips(members in ts_members()) {
        let borrowed: Vec<(&str, &str)> =
            members.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let out = format_tracestate(borrowed.iter().copied());
        prop_assert!(out.len() <= TRACESTATE_PROPAGATE_LEN);
        let untruncated = joined_len(members.iter().map(|(k, v)| k.len() + 1 + v.len()));
        let parsed = parse_tracestate(&[out.as_bytes()]);
        if untruncated <= TRACESTATE_PROPAGATE_LEN {
            prop_assert_eq!(out.len(), untruncated);
            prop_assert_eq!(parsed, Some(members.clone()));
            // One member per header field, with OWS around it, parses the same.
            let split: Vec<String> = borrowed.iter().map(|(k, v)| format!(" \t{k}={v}\t ")).collect();
            let split_bytes: Vec<&[u8]> = split.iter().map(|s| s.as_bytes()).collect();
            prop_assert_eq!(parse_tracestate(&split_bytes), Some(members));
        } else {
            // Truncation removes whole entries and keeps the order of the rest.
            let kept = parsed.unwrap_or_default();
            let mut remaining = members.iter();
            for entry in &kept {
                prop_assert!(remaining.any(|m| m == entry), "not an ordered subset: {:?}", entry);
            }
        }
    }

    #[test]
    fn tracestate_over_32_members_rejected(members in ts_members(), extra in 1usize..4) {
        let mut list: Vec<String> = members.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut n = 0usize;
        while list.len() < MAX_TRACESTATE_MEMBERS + extra {
            // Filler keys are distinct from each other; a collision with a
            // generated key is ruled out by the assumption below.
            list.push(format!("9x9x9x9x9x9x9x9x{n}=v"));
            n += 1;
        }
        let keys: HashSet<&str> = list.iter().filter_map(|m| m.split('=').next()).collect();
        prop_assume!(keys.len() == list.len());
        let header = list.join(",");
        prop_assert_eq!(parse_tracestate(&[header.as_bytes()]), None);
    }

    #[test]
    fn format_tracestate_output_always_parses(
        members in vec((loose_string(), loose_string()), 0..48),
    ) {
        let out = format_tracestate(members.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        prop_assert!(out.len() <= TRACESTATE_PROPAGATE_LEN);
        if !out.is_empty() {
            let parsed = parse_tracestate(&[out.as_bytes()]);
            prop_assert!(parsed.is_some(), "output does not parse: {:?}", out);
            let parsed = parsed.unwrap_or_default();
            prop_assert!(!parsed.is_empty());
            prop_assert!(parsed.len() <= MAX_TRACESTATE_MEMBERS);
            // Every emitted member was one of the inputs.
            for entry in &parsed {
                prop_assert!(
                    members.iter().any(|(k, v)| *k == entry.0 && *v == entry.1),
                    "invented member {:?}", entry
                );
            }
        }
    }

    #[test]
    fn baggage_round_trips(
        members in vec((bg_key(), bg_value(), bg_properties()), 0..80),
    ) {
        let out = format_baggage(members.iter().map(|(k, v, p)| (k.as_str(), v.as_str(), p.as_str())));
        let parsed = parse_baggage(&[out.as_bytes()]);
        prop_assert!(parsed.len() <= members.len());
        // Every emitted member comes back exactly, in order, as a prefix of the input.
        for (got, (k, v, p)) in parsed.iter().zip(members.iter()) {
            prop_assert_eq!(&got.key, k);
            prop_assert_eq!(&got.value, v);
            prop_assert_eq!(&got.properties, p);
        }
        // Nothing is dropped when the input fits within both limits.
        let size = joined_len(members.iter().map(|(k, v, p)| {
            k.len() + 1 + encoded_len(v) + if p.is_empty() { 0 } else { 1 + p.len() }
        }));
        if members.len() <= MAX_BAGGAGE_MEMBERS && size <= MAX_BAGGAGE_BYTES {
            prop_assert_eq!(parsed.len(), members.len());
            prop_assert_eq!(out.len(), size);
        } else {
            prop_assert!(parsed.len() < members.len());
        }
    }

    #[test]
    fn format_baggage_respects_limits(
        members in vec((loose_string(), bg_value(), loose_string()), 0..120),
    ) {
        let out = format_baggage(members.iter().map(|(k, v, p)| (k.as_str(), v.as_str(), p.as_str())));
        prop_assert!(out.len() <= MAX_BAGGAGE_BYTES, "{} bytes", out.len());
        prop_assert!(out.is_ascii());
        let emitted = if out.is_empty() { 0 } else { out.split(',').count() };
        prop_assert!(emitted <= MAX_BAGGAGE_MEMBERS);
        // Only whole members are emitted: every one of them parses back.
        prop_assert_eq!(parse_baggage(&[out.as_bytes()]).len(), emitted);
    }
}

/// Characters that are never lowercase hex, a separator's replacement in a corrupted traceparent.
static NOT_LOWER_HEX: &[u8] = b"gzGZABCDEF-_. x";

/// Members that are invalid on their own: each makes a tracestate list invalid as a whole.
fn bad_tracestate_member() -> impl Strategy<Value = String> {
    prop_oneof![
        ts_value(8).prop_map(|v| format!("Upper={v}")),
        ts_key(8).prop_map(|k| format!("{k}=")),
        ts_key(8).prop_map(|k| format!("{k}=a=b")),
        ts_key(8),
        ts_value(8).prop_map(|v| format!("_k={v}")),
        ts_value(8).prop_map(|v| format!("{}={v}", "k".repeat(257))),
        ts_key(8).prop_map(|k| format!("{k}={}", "v".repeat(257))),
    ]
}

/// Members that are invalid on their own: each is dropped alone from a baggage header.
fn bad_baggage_member() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("bad key=1".to_owned()),
        Just("k=%zz".to_owned()),
        Just("=v".to_owned()),
        Just("novalue".to_owned()),
        Just("k=a b".to_owned()),
        Just("k=v;=p".to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn corrupting_any_one_character_of_a_traceparent_restarts_the_trace(
        trace_id in nonzero_trace_id(),
        span_id in nonzero_span_id(),
        flags in any::<u8>(),
        position in 0usize..55,
        replacement in select(NOT_LOWER_HEX),
    ) {
        let header = format_traceparent(trace_id, span_id, flags);
        let mut bytes = header.into_bytes();
        prop_assume!(bytes[position] != replacement);
        bytes[position] = replacement;
        prop_assert!(
            parse_traceparent(&[&bytes]).is_err(),
            "accepted {:?}", String::from_utf8_lossy(&bytes)
        );
    }

    #[test]
    fn one_bad_tracestate_member_drops_the_whole_list(
        members in ts_members(),
        bad in bad_tracestate_member(),
        at in any::<prop::sample::Index>(),
    ) {
        let mut list: Vec<String> = members.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let at = at.index(list.len() + 1);
        list.insert(at, bad.clone());
        let header = list.join(",");
        prop_assert_eq!(parse_tracestate(&[header.as_bytes()]), None, "bad member {:?}", bad);
        // The same when the bad member comes in a header line of its own.
        list.remove(at);
        let good = list.join(",");
        let lines: Vec<&[u8]> = if at == 0 {
            vec![bad.as_bytes(), good.as_bytes()]
        } else {
            vec![good.as_bytes(), bad.as_bytes()]
        };
        prop_assert_eq!(parse_tracestate(&lines), None);
    }

    #[test]
    fn one_bad_baggage_member_is_dropped_alone(
        members in vec((bg_key(), bg_value(), bg_properties()), 0..20),
        bad in bad_baggage_member(),
        at in any::<prop::sample::Index>(),
    ) {
        let out = format_baggage(members.iter().map(|(k, v, p)| (k.as_str(), v.as_str(), p.as_str())));
        let good = parse_baggage(&[out.as_bytes()]);
        let mut list: Vec<&str> = if out.is_empty() { Vec::new() } else { out.split(',').collect() };
        prop_assume!(out.len() + bad.len() < MAX_BAGGAGE_BYTES);
        list.insert(at.index(list.len() + 1), &bad);
        let header = list.join(",");
        prop_assert_eq!(parse_baggage(&[header.as_bytes()]), good, "bad member {:?}", bad);
    }
}

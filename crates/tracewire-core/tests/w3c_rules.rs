//! The W3C Trace Context and Baggage parsing and formatting rules, case by case, through the public
//! functions of `tracewire_core::propagation::w3c`.

use tracewire_core::propagation::w3c::*;

const TID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PID: &str = "00f067aa0ba902b7";
const TID_BYTES: [u8; 16] = [
    0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36,
];
const PID_BYTES: [u8; 8] = [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7];

fn tp(s: &str) -> Result<TraceParent, TraceParentError> {
    parse_traceparent(&[s.as_bytes()])
}

fn tp_with(version: &str, tid: &str, pid: &str, flags: &str) -> String {
    format!("{version}-{tid}-{pid}-{flags}")
}

fn ts(values: &[&str]) -> Option<Vec<(String, String)>> {
    let raw: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
    parse_tracestate(&raw)
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn bg(values: &[&str]) -> Vec<BaggageMember> {
    let raw: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
    parse_baggage(&raw)
}

fn bm(key: &str, value: &str, properties: &str) -> BaggageMember {
    BaggageMember {
        key: key.to_owned(),
        value: value.to_owned(),
        properties: properties.to_owned(),
    }
}

// ----------------------------------------------------------------- §5.1

#[test]
fn traceparent_valid_v00() {
    let got = tp(&tp_with("00", TID, PID, "01"));
    assert_eq!(
        got,
        Ok(TraceParent {
            trace_id: TID_BYTES,
            parent_id: PID_BYTES,
            flags: FLAG_SAMPLED
        })
    );
}

#[test]
fn traceparent_not_sampled() {
    let got = tp(&tp_with("00", TID, PID, "00")).map(|t| t.flags);
    assert_eq!(got, Ok(0));
}

#[test]
fn traceparent_missing() {
    assert_eq!(parse_traceparent(&[]), Err(TraceParentError::Missing));
}

#[test]
fn traceparent_duplicated_header_restarts() {
    let v = tp_with("00", TID, PID, "01");
    let got = parse_traceparent(&[v.as_bytes(), v.as_bytes()]);
    assert_eq!(got, Err(TraceParentError::Duplicated));
}

#[test]
fn traceparent_ows_trimmed() {
    let v = format!(" \t{} \t", tp_with("00", TID, PID, "01"));
    assert_eq!(tp(&v).map(|t| t.trace_id), Ok(TID_BYTES));
}

#[test]
fn traceparent_inner_whitespace_rejected() {
    let v = format!("00- {TID}-{PID}-01");
    assert!(tp(&v).is_err());
}

#[test]
fn traceparent_non_ascii_rejected() {
    let mut v = tp_with("00", TID, PID, "01").into_bytes();
    v.push(0xff);
    assert_eq!(parse_traceparent(&[&v]), Err(TraceParentError::NotAscii));
    let u = format!("00-{TID}-{PID}-0é");
    assert_eq!(tp(&u), Err(TraceParentError::NotAscii));
}

#[test]
fn traceparent_uppercase_trace_id_rejected() {
    let v = tp_with("00", &TID.to_uppercase(), PID, "01");
    assert_eq!(tp(&v), Err(TraceParentError::TraceId));
}

#[test]
fn traceparent_uppercase_parent_id_rejected() {
    let v = tp_with("00", TID, "00F067AA0BA902B7", "01");
    assert_eq!(tp(&v), Err(TraceParentError::ParentId));
}

#[test]
fn traceparent_uppercase_flags_rejected() {
    let v = tp_with("00", TID, PID, "0A");
    assert_eq!(tp(&v), Err(TraceParentError::Flags));
}

#[test]
fn traceparent_uppercase_version_rejected() {
    let v = tp_with("0A", TID, PID, "01");
    assert_eq!(tp(&v), Err(TraceParentError::BadVersion));
}

#[test]
fn traceparent_non_hex_trace_id_rejected() {
    let v = tp_with("00", "4bf92f3577b34da6a3ce929d0e0e473g", PID, "01");
    assert_eq!(tp(&v), Err(TraceParentError::TraceId));
}

#[test]
fn traceparent_non_hex_flags_rejected() {
    let v = tp_with("00", TID, PID, "0x");
    assert_eq!(tp(&v), Err(TraceParentError::Flags));
}

#[test]
fn traceparent_all_zero_trace_id_rejected() {
    let v = tp_with("00", &"0".repeat(32), PID, "01");
    assert_eq!(tp(&v), Err(TraceParentError::TraceId));
}

#[test]
fn traceparent_all_zero_parent_id_rejected() {
    let v = tp_with("00", TID, &"0".repeat(16), "01");
    assert_eq!(tp(&v), Err(TraceParentError::ParentId));
}

#[test]
fn traceparent_15_digit_parent_id_rejected() {
    let v = tp_with("00", TID, "00f067aa0ba902b", "01");
    assert_eq!(tp(&v), Err(TraceParentError::Length));
    // Same with 3 flag digits to keep the total length at 55.
    let v = tp_with("00", TID, "00f067aa0ba902b", "001");
    assert_eq!(v.len(), 55);
    assert_eq!(tp(&v), Err(TraceParentError::ParentId));
}

#[test]
fn traceparent_17_digit_parent_id_rejected() {
    let v = tp_with("00", TID, "00f067aa0ba902b70", "1");
    assert_eq!(v.len(), 55);
    assert_eq!(tp(&v), Err(TraceParentError::ParentId));
}

#[test]
fn traceparent_31_digit_trace_id_rejected() {
    let v = tp_with(
        "00",
        "4bf92f3577b34da6a3ce929d0e0e473",
        "00f067aa0ba902b71",
        "01",
    );
    assert_eq!(v.len(), 55);
    assert_eq!(tp(&v), Err(TraceParentError::TraceId));
}

#[test]
fn traceparent_1_digit_flags_rejected() {
    let v = tp_with("00", TID, PID, "1");
    assert_eq!(tp(&v), Err(TraceParentError::Length));
}

#[test]
fn traceparent_3_digit_flags_rejected() {
    let v = tp_with("00", TID, PID, "001");
    assert_eq!(tp(&v), Err(TraceParentError::TrailingData));
}

#[test]
fn traceparent_version_ff_rejected() {
    let v = tp_with("ff", TID, PID, "01");
    assert_eq!(tp(&v), Err(TraceParentError::BadVersion));
}

#[test]
fn traceparent_unparsable_version_rejected() {
    assert_eq!(
        tp(&tp_with("0", TID, PID, "01")),
        Err(TraceParentError::BadVersion)
    );
    assert_eq!(
        tp(&tp_with("000", TID, PID, "01")),
        Err(TraceParentError::BadVersion)
    );
    assert_eq!(
        tp(&tp_with("zz", TID, PID, "01")),
        Err(TraceParentError::BadVersion)
    );
    assert_eq!(tp(""), Err(TraceParentError::BadVersion));
    assert_eq!(tp("00"), Err(TraceParentError::BadVersion));
}

#[test]
fn traceparent_too_short_rejected() {
    assert_eq!(tp("00-"), Err(TraceParentError::Length));
    assert_eq!(
        tp(&format!("00-{TID}-{PID}-")),
        Err(TraceParentError::Length)
    );
}

#[test]
fn traceparent_trailing_data_on_v00_rejected() {
    let base = tp_with("00", TID, PID, "01");
    assert_eq!(tp(&format!("{base}.")), Err(TraceParentError::TrailingData));
    assert_eq!(
        tp(&format!("{base}-anything")),
        Err(TraceParentError::TrailingData)
    );
    assert_eq!(tp(&format!("{base}-")), Err(TraceParentError::TrailingData));
}

#[test]
fn traceparent_wrong_delimiter_rejected() {
    let v = format!("00-{TID}_{PID}-01");
    assert_eq!(tp(&v), Err(TraceParentError::TraceId));
    let v = format!("00-{TID}-{PID}_01");
    assert_eq!(tp(&v), Err(TraceParentError::ParentId));
}

#[test]
fn traceparent_future_version_exact_length_accepted() {
    let got = tp(&tp_with("cc", TID, PID, "01"));
    assert_eq!(
        got,
        Ok(TraceParent {
            trace_id: TID_BYTES,
            parent_id: PID_BYTES,
            flags: FLAG_SAMPLED
        })
    );
}

#[test]
fn traceparent_future_version_dash_trailing_accepted() {
    let v = format!("{}-xyz", tp_with("cc", TID, PID, "01"));
    assert_eq!(tp(&v).map(|t| t.parent_id), Ok(PID_BYTES));
    let v = format!("{}-", tp_with("01", TID, PID, "00"));
    assert_eq!(tp(&v).map(|t| t.flags), Ok(0));
}

#[test]
fn traceparent_future_version_dot_trailing_rejected() {
    let v = format!("{}.xyz", tp_with("cc", TID, PID, "01"));
    assert_eq!(tp(&v), Err(TraceParentError::TrailingData));
}

#[test]
fn traceparent_future_version_too_short_rejected() {
    let v = tp_with("cc", TID, PID, "1");
    assert_eq!(tp(&v), Err(TraceParentError::Length));
}

#[test]
fn traceparent_future_version_same_validation() {
    let v = format!("{}-xyz", tp_with("cc", &"0".repeat(32), PID, "01"));
    assert_eq!(tp(&v), Err(TraceParentError::TraceId));
    let v = format!("{}-xyz", tp_with("fe", TID, PID, "0G"));
    assert_eq!(tp(&v), Err(TraceParentError::Flags));
}

#[test]
fn traceparent_random_flag_kept() {
    let got = tp(&tp_with("00", TID, PID, "02")).map(|t| t.flags);
    assert_eq!(got, Ok(FLAG_RANDOM));
    let got = tp(&tp_with("00", TID, PID, "03")).map(|t| t.flags);
    assert_eq!(got, Ok(FLAG_SAMPLED | FLAG_RANDOM));
}

#[test]
fn traceparent_unknown_flag_bits_cleared() {
    let got = tp(&tp_with("00", TID, PID, "ff")).map(|t| t.flags);
    assert_eq!(got, Ok(FLAG_SAMPLED | FLAG_RANDOM));
    let got = tp(&tp_with("00", TID, PID, "fc")).map(|t| t.flags);
    assert_eq!(got, Ok(0));
    let got = tp(&format!("{}-x", tp_with("cc", TID, PID, "09"))).map(|t| t.flags);
    assert_eq!(got, Ok(FLAG_SAMPLED));
}

#[test]
fn traceparent_flag_bits_tested_individually() {
    // 0x05 has the sampled bit set although the byte is not 0x01.
    let got = tp(&tp_with("00", TID, PID, "05")).map(|t| t.flags & FLAG_SAMPLED);
    assert_eq!(got, Ok(FLAG_SAMPLED));
}

#[test]
fn format_traceparent_v00_lowercase() {
    let s = format_traceparent(TID_BYTES, PID_BYTES, FLAG_SAMPLED);
    assert_eq!(s, format!("00-{TID}-{PID}-01"));
    assert_eq!(s.len(), 55);
    assert_eq!(s.capacity(), 55);
}

#[test]
fn format_traceparent_masks_unknown_flags() {
    let s = format_traceparent(TID_BYTES, PID_BYTES, 0xff);
    assert!(s.ends_with("-03"), "{s}");
    let s = format_traceparent(TID_BYTES, PID_BYTES, 0xf8);
    assert!(s.ends_with("-00"), "{s}");
}

#[test]
fn format_traceparent_future_version_reemitted_as_00() {
    let parsed = tp(&format!("{}-xyz", tp_with("cc", TID, PID, "ff")));
    let out = parsed.map(|t| format_traceparent(t.trace_id, t.parent_id, t.flags));
    assert_eq!(out, Ok(format!("00-{TID}-{PID}-03")));
}

#[test]
fn traceparent_round_trip() {
    let tid = [0xab; 16];
    let pid = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
    for flags in 0..=3u8 {
        let s = format_traceparent(tid, pid, flags);
        assert_eq!(
            tp(&s),
            Ok(TraceParent {
                trace_id: tid,
                parent_id: pid,
                flags
            })
        );
    }
}

#[test]
fn traceparent_error_display() {
    assert_eq!(
        TraceParentError::Duplicated.to_string(),
        "traceparent header is duplicated"
    );
}

// ----------------------------------------------------------------- §5.2

#[test]
fn tracestate_simple() {
    assert_eq!(
        ts(&["congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"]),
        Some(pairs(&[
            ("congo", "t61rcWkgMzE"),
            ("rojo", "00f067aa0ba902b7")
        ]))
    );
}

#[test]
fn tracestate_empty_input() {
    assert_eq!(ts(&[]), Some(vec![]));
    assert_eq!(ts(&[""]), Some(vec![]));
    assert_eq!(ts(&[" , \t,", ""]), Some(vec![]));
}

#[test]
fn tracestate_empty_members_skipped() {
    assert_eq!(
        ts(&["a=1,, ,\t,b=2,"]),
        Some(pairs(&[("a", "1"), ("b", "2")]))
    );
}

#[test]
fn tracestate_ows_around_members_removed() {
    assert_eq!(
        ts(&[" \ta=1 \t, \tb=2\t "]),
        Some(pairs(&[("a", "1"), ("b", "2")]))
    );
}

#[test]
fn tracestate_leading_value_spaces_kept() {
    assert_eq!(ts(&["a=  x"]), Some(pairs(&[("a", "  x")])));
}

#[test]
fn tracestate_trailing_value_spaces_dropped() {
    assert_eq!(ts(&["a=x  ,b=y"]), Some(pairs(&[("a", "x"), ("b", "y")])));
}

#[test]
fn tracestate_value_with_inner_space() {
    assert_eq!(ts(&["a=x y"]), Some(pairs(&[("a", "x y")])));
}

#[test]
fn tracestate_space_before_equals_rejected() {
    assert_eq!(ts(&["a =x"]), None);
}

#[test]
fn tracestate_combined_across_headers() {
    assert_eq!(
        ts(&["a=1,b=2", "c=3", "", "d=4"]),
        Some(pairs(&[("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")]))
    );
}

#[test]
fn tracestate_invalid_in_second_header_drops_all() {
    assert_eq!(ts(&["a=1", "B=2"]), None);
}

#[test]
fn tracestate_duplicate_keys_keep_the_first() {
    assert_eq!(ts(&["a=1,b=2,a=3"]), Some(pairs(&[("a", "1"), ("b", "2")])));
    assert_eq!(ts(&["a=1", "a=1"]), Some(pairs(&[("a", "1")])));
    assert_eq!(ts(&["foo=1,foo=2"]), Some(pairs(&[("foo", "1")])));
    // Still all-or-nothing for an invalid member next to a duplicate.
    assert_eq!(ts(&["foo=1,foo=2,Bad=3"]), None);
}

#[test]
fn tracestate_32_members_accepted() {
    let list: Vec<String> = (0..32).map(|i| format!("k{i}=v{i}")).collect();
    let got = ts(&[&list.join(",")]);
    assert_eq!(got.map(|v| v.len()), Some(32));
}

#[test]
fn tracestate_33_members_rejected() {
    let list: Vec<String> = (0..33).map(|i| format!("k{i}=v{i}")).collect();
    assert_eq!(ts(&[&list.join(",")]), None);
}

#[test]
fn tracestate_33_members_across_headers_rejected() {
    let a: Vec<String> = (0..16).map(|i| format!("k{i}=v")).collect();
    let b: Vec<String> = (16..33).map(|i| format!("k{i}=v")).collect();
    assert_eq!(ts(&[&a.join(","), &b.join(",")]), None);
}

#[test]
fn tracestate_32_members_with_empty_members_accepted() {
    let list: Vec<String> = (0..32).map(|i| format!("k{i}=v")).collect();
    let header = format!(",,{},,", list.join(", ,"));
    assert_eq!(ts(&[&header]).map(|v| v.len()), Some(32));
}

#[test]
fn tracestate_key_256_accepted_257_rejected() {
    let k256 = format!("a{}", "b".repeat(255));
    let k257 = format!("a{}", "b".repeat(256));
    assert_eq!(
        ts(&[&format!("{k256}=v")]),
        Some(vec![(k256.clone(), "v".to_owned())])
    );
    assert_eq!(ts(&[&format!("{k257}=v")]), None);
    assert!(is_valid_tracestate_key(&k256));
    assert!(!is_valid_tracestate_key(&k257));
}

#[test]
fn tracestate_value_256_accepted_257_rejected() {
    let v256 = "x".repeat(256);
    let v257 = "x".repeat(257);
    assert_eq!(
        ts(&[&format!("k={v256}")]),
        Some(vec![("k".to_owned(), v256.clone())])
    );
    assert_eq!(ts(&[&format!("k={v257}")]), None);
    assert!(is_valid_tracestate_value(&v256));
    assert!(!is_valid_tracestate_value(&v257));
}

#[test]
fn tracestate_l2_keys_with_several_at_signs() {
    assert!(is_valid_tracestate_key("a@b@c"));
    assert!(is_valid_tracestate_key("tenant@@system@"));
    assert!(is_valid_tracestate_key("1@2"));
    assert!(is_valid_tracestate_key(
        "@".repeat(255).replacen('@', "x", 1).as_str()
    ));
    assert_eq!(
        ts(&["a@b@c=1,x@y=2"]),
        Some(pairs(&[("a@b@c", "1"), ("x@y", "2")]))
    );
}

#[test]
fn tracestate_key_starting_with_at_rejected() {
    assert!(!is_valid_tracestate_key("@abc"));
    assert_eq!(ts(&["@abc=1"]), None);
}

#[test]
fn tracestate_key_grammar() {
    assert!(is_valid_tracestate_key("0abc"));
    assert!(is_valid_tracestate_key("a_b-c*d/e"));
    assert!(!is_valid_tracestate_key(""));
    assert!(!is_valid_tracestate_key("Abc"));
    assert!(!is_valid_tracestate_key("aBc"));
    assert!(!is_valid_tracestate_key("_abc"));
    assert!(!is_valid_tracestate_key("a.b"));
    assert!(!is_valid_tracestate_key("a b"));
    assert!(!is_valid_tracestate_key("é"));
}

#[test]
fn tracestate_uppercase_key_rejected() {
    assert_eq!(ts(&["Congo=1"]), None);
}

#[test]
fn tracestate_empty_value_rejected() {
    assert!(!is_valid_tracestate_value(""));
    assert_eq!(ts(&["a="]), None);
    assert_eq!(ts(&["a=   "]), None);
}

#[test]
fn tracestate_equals_in_value_rejected() {
    assert!(!is_valid_tracestate_value("a=b"));
    assert_eq!(ts(&["a=b=c"]), None);
}

#[test]
fn tracestate_member_without_equals_rejected() {
    assert_eq!(ts(&["a=1,novalue"]), None);
}

#[test]
fn tracestate_empty_key_rejected() {
    assert_eq!(ts(&["=1"]), None);
}

#[test]
fn tracestate_value_grammar() {
    assert!(is_valid_tracestate_value("!"));
    assert!(is_valid_tracestate_value("~"));
    assert!(is_valid_tracestate_value(" x"));
    assert!(is_valid_tracestate_value("a b"));
    assert!(!is_valid_tracestate_value("x "));
    assert!(!is_valid_tracestate_value(" "));
    assert!(!is_valid_tracestate_value("a,b"));
    assert!(!is_valid_tracestate_value("a\tb"));
    assert!(!is_valid_tracestate_value("a\u{7f}"));
    assert!(!is_valid_tracestate_value("é"));
}

#[test]
fn tracestate_tab_inside_value_rejected() {
    assert_eq!(ts(&["a=x\ty"]), None);
}

#[test]
fn tracestate_non_ascii_rejected() {
    assert_eq!(ts(&["a=1,b=\u{e9}"]), None);
    assert_eq!(
        parse_tracestate(&[b"a=1".as_slice(), b"b=\xff".as_slice()]),
        None
    );
}

#[test]
fn format_tracestate_basic() {
    assert_eq!(format_tracestate([("a", "1"), ("b", " 2")]), "a=1,b= 2");
    assert_eq!(format_tracestate(Vec::<(&str, &str)>::new()), "");
}

#[test]
fn format_tracestate_skips_invalid_and_duplicates() {
    let out = format_tracestate([("a", "1"), ("B", "2"), ("c", "x="), ("a", "3"), ("d", "4")]);
    assert_eq!(out, "a=1,d=4");
}

#[test]
fn format_tracestate_keeps_first_32() {
    let owned: Vec<(String, String)> = (0..40)
        .map(|i| (format!("k{i}"), format!("v{i}")))
        .collect();
    let out = format_tracestate(owned.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let parsed = ts(&[&out]).unwrap_or_default();
    assert_eq!(parsed.len(), 32);
    assert_eq!(parsed.last().map(|(k, _)| k.as_str()), Some("k31"));
}

#[test]
fn format_tracestate_exactly_512_not_truncated() {
    // 4 entries of 127 chars + 3 commas = 511; make one 128 to reach 512.
    let v125 = "x".repeat(125);
    let v126 = "x".repeat(126);
    let out = format_tracestate([
        ("a", v125.as_str()),
        ("b", &v125),
        ("c", &v125),
        ("d", &v126),
    ]);
    assert_eq!(out.len(), 512);
    assert_eq!(ts(&[&out]).map(|v| v.len()), Some(4));
}

#[test]
fn format_tracestate_truncates_long_entries_first() {
    // "big=" + 200 = 204 chars (> 128), others are short.
    let big = "y".repeat(200);
    let mid = "z".repeat(100); // "mN=" + 100 = 103 chars
    let out = format_tracestate([
        ("m1", mid.as_str()),
        ("big", &big),
        ("m2", &mid),
        ("m3", &mid),
        ("m4", &mid),
    ]);
    // Total before: 103*4 + 204 + 4 = 620 > 512. Removing big: 415.
    assert_eq!(out, format!("m1={mid},m2={mid},m3={mid},m4={mid}"));
}

#[test]
fn format_tracestate_removes_only_as_many_long_entries_as_needed() {
    let big = "y".repeat(150); // "bN=" + 150 = 153 chars
    let out = format_tracestate([
        ("b1", big.as_str()),
        ("b2", &big),
        ("b3", &big),
        ("b4", &big),
    ]);
    // 4*153 + 3 = 615 > 512; removing one (the right-most) -> 461.
    assert_eq!(out, format!("b1={big},b2={big},b3={big}"));
}

#[test]
fn format_tracestate_truncates_from_right_end() {
    let v = "q".repeat(100); // "kN=" + 100 = 103 chars, not "long"
    let owned: Vec<(String, &str)> = (0..6).map(|i| (format!("k{i}"), v.as_str())).collect();
    let out = format_tracestate(owned.iter().map(|(k, v)| (k.as_str(), *v)));
    // 6*103 + 5 = 623; 5 -> 519; 4 -> 415.
    assert_eq!(out, format!("k0={v},k1={v},k2={v},k3={v}"));
    assert!(out.len() <= TRACESTATE_PROPAGATE_LEN);
}

#[test]
fn format_tracestate_entry_of_exactly_128_is_not_long() {
    let v126 = "a".repeat(126); // "k=" + 126 = 128 chars
    let v200 = "b".repeat(200); // 202 chars
    let v100 = "c".repeat(100); // 102 chars
    // total = 128 + 102 + 102 + 202 + 3 = 537 > 512 -> drop "l" (202) -> 334.
    let out = format_tracestate([
        ("k", v126.as_str()),
        ("m", &v100),
        ("n", &v100),
        ("l", &v200),
    ]);
    assert_eq!(out, format!("k={v126},m={v100},n={v100}"));
    // Without a >128 entry, the right end goes, not the 128-char one.
    let out = format_tracestate([
        ("k", v126.as_str()),
        ("m", &v126),
        ("n", &v126),
        ("o", &v126),
        ("p", "1"),
    ]);
    // 4*128 + 3 + 3 + 1 = 519 -> drop p -> 515 -> drop o -> 386.
    assert_eq!(out, format!("k={v126},m={v126},n={v126}"));
}

#[test]
fn format_then_parse_tracestate_round_trip() {
    let members = [("a@b@c", " x y"), ("0k", "~!"), ("z/*_-", "v")];
    let out = format_tracestate(members);
    assert_eq!(ts(&[&out]), Some(pairs(&members)));
}

// ----------------------------------------------------------------- §5.4

#[test]
fn baggage_simple() {
    assert_eq!(
        bg(&["userId=alice,serverNode=DF%2028,isProduction=false"]),
        vec![
            bm("userId", "alice", ""),
            bm("serverNode", "DF 28", ""),
            bm("isProduction", "false", "")
        ]
    );
}

#[test]
fn baggage_ows_ignored() {
    assert_eq!(
        bg(&[" \tk1 \t= \tv1 \t, k2=v2 ;  p1 = x ; p2 \t"]),
        vec![bm("k1", "v1", ""), bm("k2", "v2", "p1=x;p2")]
    );
}

#[test]
fn baggage_properties_kept_raw() {
    assert_eq!(
        bg(&["k=v;metadata;ttl=3%2C4"]),
        vec![bm("k", "v", "metadata;ttl=3%2C4")]
    );
}

#[test]
fn baggage_invalid_property_drops_member() {
    assert_eq!(
        bg(&["a=1;bad key=2,b=2;p=\"q\",c=3"]),
        vec![bm("c", "3", "")]
    );
}

#[test]
fn baggage_value_split_on_first_equals() {
    assert_eq!(bg(&["k=a=b=c"]), vec![bm("k", "a=b=c", "")]);
}

#[test]
fn baggage_empty_value_allowed() {
    assert_eq!(bg(&["k=,j= "]), vec![bm("k", "", ""), bm("j", "", "")]);
}

#[test]
fn baggage_invalid_members_dropped_individually() {
    assert_eq!(
        bg(&["good=1,noequals,=nokey,bad key=1,k=va lue,k2=\"q\",k3=a\\b,ok=2"]),
        vec![bm("good", "1", ""), bm("ok", "2", "")]
    );
}

#[test]
fn baggage_key_token_grammar() {
    assert_eq!(
        bg(&["!#$%&'*+-.^_`|~Az09=v,k(=v,k@=v,k/=v"]),
        vec![bm("!#$%&'*+-.^_`|~Az09", "v", "")]
    );
}

#[test]
fn baggage_key_not_percent_decoded() {
    assert_eq!(bg(&["a%20b=v"]), vec![bm("a%20b", "v", "")]);
}

#[test]
fn baggage_percent_decoding() {
    assert_eq!(
        bg(&["k=%25%2c%2C%3B%E2%82%AC"]),
        vec![bm("k", "%,,;\u{20ac}", "")]
    );
}

#[test]
fn baggage_bad_percent_escape_drops_member() {
    assert_eq!(
        bg(&["a=%,b=%2,c=%zz,d=%4g,e=ok%"]),
        Vec::<BaggageMember>::new()
    );
    assert_eq!(bg(&["a=%2,b=1"]), vec![bm("b", "1", "")]);
}

#[test]
fn baggage_invalid_utf8_percent_decoded_to_replacement() {
    assert_eq!(
        bg(&["k=a%FFb,j=%E2%82"]),
        vec![bm("k", "a\u{fffd}b", ""), bm("j", "\u{fffd}", "")]
    );
}

#[test]
fn baggage_non_utf8_header_value_skipped() {
    let values: [&[u8]; 3] = [b"a=1", b"b=\xff\xfe", b"c=3"];
    assert_eq!(
        parse_baggage(&values),
        vec![bm("a", "1", ""), bm("c", "3", "")]
    );
}

#[test]
fn baggage_non_ascii_value_dropped() {
    assert_eq!(bg(&["a=\u{e9},b=2"]), vec![bm("b", "2", "")]);
}

#[test]
fn baggage_combined_across_headers_in_order() {
    assert_eq!(
        bg(&["a=1", "", "b=2,c=3"]),
        vec![bm("a", "1", ""), bm("b", "2", ""), bm("c", "3", "")]
    );
}

#[test]
fn baggage_duplicates_kept_in_order() {
    assert_eq!(bg(&["k=1,k=2"]), vec![bm("k", "1", ""), bm("k", "2", "")]);
}

#[test]
fn baggage_64_members_limit() {
    let list: Vec<String> = (0..70).map(|i| format!("k{i}=v")).collect();
    let got = bg(&[&list.join(",")]);
    assert_eq!(got.len(), MAX_BAGGAGE_MEMBERS);
    assert_eq!(got.last().map(|m| m.key.as_str()), Some("k63"));
    let list64: Vec<String> = (0..64).map(|i| format!("k{i}=v")).collect();
    assert_eq!(bg(&[&list64.join(",")]).len(), 64);
}

#[test]
fn baggage_8192_bytes_limit_drops_whole_members() {
    // Two members of 4096 bytes each ("k0=" + 4093) + 1 comma = 8193 > 8192.
    let v = "x".repeat(4093);
    let header = format!("k0={v},k1={v},k2=small");
    let got = bg(&[&header]);
    assert_eq!(got, vec![bm("k0", &v, ""), bm("k2", "small", "")]);
    // Exactly 8192 fits: 4096 + 1 + 4095.
    let v2 = "y".repeat(4092);
    let header = format!("k0={v},k1={v2}");
    assert_eq!(header.len(), 8192);
    assert_eq!(bg(&[&header]).len(), 2);
}

#[test]
fn baggage_oversized_single_member_dropped() {
    let v = "x".repeat(9000);
    assert_eq!(bg(&[&format!("big={v},ok=1")]), vec![bm("ok", "1", "")]);
}

#[test]
fn format_baggage_basic_with_properties() {
    let out = format_baggage([("a", "1", ""), ("b", "2", "p1=x; p2 "), ("c", "", "")]);
    assert_eq!(out, "a=1,b=2;p1=x;p2,c=");
    assert_eq!(format_baggage(Vec::<(&str, &str, &str)>::new()), "");
}

#[test]
fn format_baggage_percent_encodes() {
    let out = format_baggage([("k", "a b,c;d\\e\"f%g=h\u{20ac}", "")]);
    assert_eq!(out, "k=a%20b%2Cc%3Bd%5Ce%22f%25g=h%E2%82%AC");
}

#[test]
fn format_baggage_percent_always_encoded() {
    assert_eq!(format_baggage([("k", "100%", "")]), "k=100%25");
    assert_eq!(format_baggage([("k", "%25", "")]), "k=%2525");
}

#[test]
fn format_baggage_skips_invalid_keys_and_properties() {
    let out = format_baggage([
        ("bad key", "1", ""),
        ("", "1", ""),
        ("k\u{e9}", "1", ""),
        ("p", "1", "bad prop"),
        ("ok", "2", ""),
    ]);
    assert_eq!(out, "ok=2");
}

#[test]
fn baggage_percent_encoding_round_trip() {
    let originals = [
        ("k1", "hello world", ""),
        ("k2", "100% sure; \"quoted\", \\slash", "p=1"),
        ("k3", "ünïcødé ✓ 😀", ""),
        ("k4", "a=b=c", ""),
        ("k5", "\u{0}\t\r\n\u{7f}", ""),
    ];
    let out = format_baggage(originals);
    let parsed = bg(&[&out]);
    let expected: Vec<BaggageMember> = originals.iter().map(|(k, v, p)| bm(k, v, p)).collect();
    assert_eq!(parsed, expected);
}

#[test]
fn format_baggage_member_limit() {
    let keys: Vec<String> = (0..100).map(|i| format!("k{i}")).collect();
    let out = format_baggage(keys.iter().map(|k| (k.as_str(), "v", "")));
    assert_eq!(out.split(',').count(), MAX_BAGGAGE_MEMBERS);
    assert!(out.ends_with(",k63=v"), "{out}");
}

#[test]
fn format_baggage_byte_limit_whole_members_only() {
    let v = "x".repeat(4000); // 4003 bytes per member
    let out = format_baggage([("k0", v.as_str(), ""), ("k1", &v, ""), ("k2", &v, "")]);
    // 4003 + 1 + 4003 = 8007; adding a third would be 12011.
    assert_eq!(out, format!("k0={v},k1={v}"));
    assert!(out.len() <= MAX_BAGGAGE_BYTES);
}

#[test]
fn format_baggage_never_emits_partial_encoded_member() {
    // One member whose encoded form (3 bytes per char) exceeds the limit.
    let v = " ".repeat(3000); // 9000 bytes encoded
    let out = format_baggage([("a", "1", ""), ("big", v.as_str(), ""), ("b", "2", "")]);
    assert_eq!(out, "a=1");
}

#[test]
fn format_baggage_exactly_8192_bytes() {
    let v = "x".repeat(MAX_BAGGAGE_BYTES - 2);
    let out = format_baggage([("k", v.as_str(), "")]);
    assert_eq!(out.len(), MAX_BAGGAGE_BYTES);
    let v = "x".repeat(MAX_BAGGAGE_BYTES - 1);
    assert_eq!(format_baggage([("k", v.as_str(), "")]), "");
}

// ------------------------------------------------------------ robustness

#[test]
fn parsers_do_not_panic_on_odd_input() {
    let inputs: [&[u8]; 10] = [
        b"",
        b"-",
        b"%",
        b"\xff\xff\xff",
        b"00-",
        b"=,=,;;;",
        b"\xe2\x82",
        b"a=%e2%82%",
        b"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0\xc3\xa9",
        b"   \t   ",
    ];
    for a in inputs {
        for b in inputs {
            let vals = [a, b];
            let _ = parse_traceparent(&vals[..1]);
            let _ = parse_traceparent(&vals);
            let _ = parse_tracestate(&vals);
            let _ = parse_baggage(&vals);
        }
    }
    assert_eq!(
        parse_traceparent(&[b"\xff".as_slice()]),
        Err(TraceParentError::NotAscii)
    );
}

//! W3C propagation over real `http::HeaderMap`s, rule by rule, through the global propagator — and the
//! stock SDK `TraceContextPropagator` measured against the same rules, which is why tracewire ships its own.

use http::{HeaderMap, HeaderValue};
use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, KeyValue};
use tracewire_core::propagation::{
    self, HeaderExtractor, HeaderInjector, W3cTraceContextPropagator,
};

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT: &str = "b7ad6b7169203331";

fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        map.append(*k, HeaderValue::from_bytes(v).expect("header value"));
    }
    map
}

/// (what the rule is, incoming headers, expected outgoing traceparent flags or None for a restart,
/// expected outgoing tracestate)
fn cases() -> Vec<(
    &'static str,
    HeaderMap,
    Option<&'static str>,
    Option<&'static str>,
)> {
    let tp = format!("00-{TRACE}-{PARENT}-01");
    // Keys may be 256 characters long; a member is `key=value`.
    let key_256 = format!("{}=v", "k".repeat(256));
    // Five 120-character members: 604 characters, so the last one has to go.
    let long_list: Vec<String> = (0..5)
        .map(|i| format!("k{i}={}", "v".repeat(117)))
        .collect();
    // 130 + 4 × 120 + separators = 614: the 130-character member goes first, and the rest then fits.
    let mut with_big_entry = vec![format!("big={}", "v".repeat(126))];
    with_big_entry.extend((0..4).map(|i| format!("k{i}={}", "v".repeat(117))));
    vec![
        (
            "valid",
            headers(&[("traceparent", tp.as_bytes())]),
            Some("01"),
            None,
        ),
        (
            "duplicated traceparent restarts",
            headers(&[
                ("traceparent", tp.as_bytes()),
                ("traceparent", tp.as_bytes()),
            ]),
            None,
            None,
        ),
        (
            "OWS around the value",
            headers(&[("traceparent", format!(" {tp}\t").as_bytes())]),
            Some("01"),
            None,
        ),
        (
            "uppercase hex",
            headers(&[("traceparent", tp.to_uppercase().as_bytes())]),
            None,
            None,
        ),
        (
            "short parent id",
            headers(&[(
                "traceparent",
                format!("00-{TRACE}-{}-01", &PARENT[1..]).as_bytes(),
            )]),
            None,
            None,
        ),
        (
            "one-digit flags",
            headers(&[("traceparent", format!("00-{TRACE}-{PARENT}-1").as_bytes())]),
            None,
            None,
        ),
        (
            "three-digit flags",
            headers(&[("traceparent", format!("00-{TRACE}-{PARENT}-011").as_bytes())]),
            None,
            None,
        ),
        (
            "trailing data on version 00",
            headers(&[("traceparent", format!("{tp}-x").as_bytes())]),
            None,
            None,
        ),
        (
            "version ff",
            headers(&[("traceparent", format!("ff-{TRACE}-{PARENT}-01").as_bytes())]),
            None,
            None,
        ),
        (
            "future version with more fields",
            headers(&[(
                "traceparent",
                format!("cc-{TRACE}-{PARENT}-01-what-the-future").as_bytes(),
            )]),
            Some("01"),
            None,
        ),
        (
            "future version with bad separator",
            headers(&[(
                "traceparent",
                format!("cc-{TRACE}-{PARENT}-01.x").as_bytes(),
            )]),
            None,
            None,
        ),
        (
            "all-zero trace id",
            headers(&[(
                "traceparent",
                format!("00-{}-{PARENT}-01", "0".repeat(32)).as_bytes(),
            )]),
            None,
            None,
        ),
        (
            "random flag kept",
            headers(&[("traceparent", format!("00-{TRACE}-{PARENT}-03").as_bytes())]),
            Some("03"),
            None,
        ),
        (
            "unknown flags cleared",
            headers(&[("traceparent", format!("00-{TRACE}-{PARENT}-ff").as_bytes())]),
            Some("03"),
            None,
        ),
        (
            "non-ASCII traceparent",
            headers(&[("traceparent", b"00-\xff")]),
            None,
            None,
        ),
        (
            "tracestate combined across lines",
            headers(&[
                ("traceparent", tp.as_bytes()),
                ("tracestate", b"a=1"),
                ("tracestate", b"b=2"),
            ]),
            Some("01"),
            Some("a=1,b=2"),
        ),
        (
            "level 2 tracestate key",
            headers(&[("traceparent", tp.as_bytes()), ("tracestate", b"a@b@c=1")]),
            Some("01"),
            Some("a@b@c=1"),
        ),
        (
            "duplicated tracestate keys keep the first",
            headers(&[
                ("traceparent", tp.as_bytes()),
                ("tracestate", b"foo=1,bar=2,foo=3"),
                ("tracestate", b"bar=4"),
            ]),
            Some("01"),
            Some("foo=1,bar=2"),
        ),
        (
            "empty tracestate value drops it",
            headers(&[("traceparent", tp.as_bytes()), ("tracestate", b"a=1,b=")]),
            Some("01"),
            None,
        ),
        (
            "33 members drops it",
            headers(&[
                ("traceparent", tp.as_bytes()),
                (
                    "tracestate",
                    (0..33)
                        .map(|i| format!("k{i}=v"))
                        .collect::<Vec<_>>()
                        .join(",")
                        .as_bytes(),
                ),
            ]),
            Some("01"),
            None,
        ),
        (
            "empty tracestate is not sent",
            headers(&[("traceparent", tp.as_bytes()), ("tracestate", b"")]),
            Some("01"),
            None,
        ),
        (
            "all-zero parent id",
            headers(&[(
                "traceparent",
                format!("00-{TRACE}-{}-01", "0".repeat(16)).as_bytes(),
            )]),
            None,
            None,
        ),
        (
            "tracestate without traceparent is ignored",
            headers(&[("tracestate", b"a=1")]),
            None,
            None,
        ),
        (
            "256-character key",
            headers(&[
                ("traceparent", tp.as_bytes()),
                ("tracestate", key_256.as_bytes()),
            ]),
            Some("01"),
            Some(leak(key_256.clone())),
        ),
        (
            "257-character key drops it",
            headers(&[
                ("traceparent", tp.as_bytes()),
                ("tracestate", format!("b{key_256}").as_bytes()),
            ]),
            Some("01"),
            None,
        ),
        (
            "leading space belongs to the value, OWS around commas does not",
            headers(&[
                ("traceparent", tp.as_bytes()),
                ("tracestate", b"a=1 ,\tb= 2"),
            ]),
            Some("01"),
            Some("a=1,b= 2"),
        ),
        (
            "'=' inside a value drops it",
            headers(&[("traceparent", tp.as_bytes()), ("tracestate", b"a=1=2")]),
            Some("01"),
            None,
        ),
        (
            "uppercase key drops it",
            headers(&[("traceparent", tp.as_bytes()), ("tracestate", b"Rojo=1")]),
            Some("01"),
            None,
        ),
        (
            "over 512 characters: cut by whole entries from the end",
            headers(&[
                ("traceparent", tp.as_bytes()),
                ("tracestate", long_list.join(",").as_bytes()),
            ]),
            Some("01"),
            Some(leak(long_list[..4].join(","))),
        ),
        (
            "over 512 characters: entries over 128 go first",
            headers(&[
                ("traceparent", tp.as_bytes()),
                ("tracestate", with_big_entry.join(",").as_bytes()),
            ]),
            Some("01"),
            Some(leak(
                with_big_entry
                    .iter()
                    .filter(|m| m.len() <= 128)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(","),
            )),
        ),
    ]
}

/// A `&'static str` for a case built at run time.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn round_trip(p: &dyn TextMapPropagator, incoming: &HeaderMap) -> (Option<String>, Option<String>) {
    let cx = p.extract_with_context(&Context::new(), &HeaderExtractor(incoming));
    let mut out = HeaderMap::new();
    p.inject_context(&cx, &mut HeaderInjector(&mut out));
    let get = |k| out.get(k).and_then(|v| v.to_str().ok()).map(str::to_owned);
    (get("traceparent"), get("tracestate"))
}

#[test]
fn every_w3c_rule_holds() {
    let ours = W3cTraceContextPropagator::new();
    for (rule, incoming, flags, state) in cases() {
        let (tp, ts) = round_trip(&ours, &incoming);
        match flags {
            Some(flags) => assert_eq!(
                tp.as_deref(),
                Some(format!("00-{TRACE}-{PARENT}-{flags}").as_str()),
                "{rule}"
            ),
            None => assert_eq!(tp, None, "{rule}"),
        }
        assert_eq!(ts.as_deref(), state, "{rule}");
    }
}

#[test]
fn the_stock_sdk_propagator_misses_rules_ours_keeps() {
    let sdk = opentelemetry_sdk::propagation::TraceContextPropagator::new();
    let ours = W3cTraceContextPropagator::new();
    let mut sdk_misses = Vec::new();
    // An empty `tracestate` line (which the SDK sends) counts as none.
    let normalized =
        |(tp, ts): (Option<String>, Option<String>)| (tp, ts.filter(|s| !s.is_empty()));
    for (rule, incoming, _, _) in cases() {
        if normalized(round_trip(&sdk, &incoming)) != normalized(round_trip(&ours, &incoming)) {
            sdk_misses.push(rule);
        }
    }
    println!("rules the SDK propagator handles differently: {sdk_misses:#?}");
    // If this ever drops to zero, the SDK caught up and we could use it instead.
    assert!(
        sdk_misses.contains(&"duplicated traceparent restarts"),
        "{sdk_misses:?}"
    );
    assert!(sdk_misses.contains(&"random flag kept"), "{sdk_misses:?}");
}

#[test]
fn baggage_round_trips_through_headers() {
    propagation::install();
    let incoming = headers(&[
        ("baggage", b"user=alice%2C%20b;prop=1"),
        ("baggage", b"region=eu, bad key=x"),
    ]);
    let cx = propagation::extract_with_context(&Context::new(), &incoming);
    assert_eq!(
        cx.baggage().get("user").map(|v| v.as_str()),
        Some("alice, b")
    );
    assert_eq!(cx.baggage().get("region").map(|v| v.as_str()), Some("eu"));
    assert_eq!(cx.baggage().len(), 2);
    let mut out = HeaderMap::new();
    propagation::inject(&cx.with_baggage([KeyValue::new("pct", "100%")]), &mut out);
    let sent = out["baggage"].to_str().expect("ascii");
    assert!(sent.contains("pct=100%25"), "{sent}");
}

#[test]
fn injection_replaces_stale_headers() {
    propagation::install();
    let incoming = headers(&[("traceparent", format!("00-{TRACE}-{PARENT}-01").as_bytes())]);
    let cx = propagation::extract_with_context(&Context::new(), &incoming);
    assert!(cx.span().span_context().is_remote());
    let mut out = headers(&[
        ("traceparent", b"stale-1"),
        ("traceparent", b"stale-2"),
        ("x-user", b"kept"),
    ]);
    propagation::inject(&cx, &mut out);
    assert_eq!(out.get_all("traceparent").iter().count(), 1);
    assert_eq!(out["x-user"], "kept");
}

/// Baggage entries as (key, value), sorted.
type Entries = Vec<(String, String)>;

/// (the rule, incoming `baggage` lines, the entries a propagator must extract)
fn baggage_cases() -> Vec<(&'static str, Vec<String>, Entries)> {
    let entries = |pairs: &[(&str, &str)]| -> Entries {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let many: Vec<String> = (0..65).map(|i| format!("k{i:02}=v")).collect();
    let mut first_64: Vec<(String, String)> = (0..64)
        .map(|i| (format!("k{i:02}"), "v".to_owned()))
        .collect();
    first_64.sort();
    // Nine 1,000-byte members: the ninth would pass 8,192 bytes and must not arrive in part.
    let big: Vec<String> = (0..9)
        .map(|i| format!("k{i}={}", "x".repeat(997)))
        .collect();
    let first_8: Vec<(String, String)> =
        (0..8).map(|i| (format!("k{i}"), "x".repeat(997))).collect();
    vec![
        (
            "two header lines are combined",
            vec!["a=1".into(), "b=2".into()],
            entries(&[("a", "1"), ("b", "2")]),
        ),
        (
            "values are percent-decoded",
            vec!["k=a%20b%2C".into()],
            entries(&[("k", "a b,")]),
        ),
        (
            "a bad member is dropped alone",
            vec!["a=1,bad key=2,c=3".into()],
            entries(&[("a", "1"), ("c", "3")]),
        ),
        (
            "invalid percent-encoding drops that member",
            vec!["a=%zz,b=1".into()],
            entries(&[("b", "1")]),
        ),
        (
            "properties are not part of the value",
            vec!["k=v;ttl=60".into()],
            entries(&[("k", "v")]),
        ),
        (
            "OWS around members and '='",
            vec![" a = 1 ,\tb=2 ".into()],
            entries(&[("a", "1"), ("b", "2")]),
        ),
        (
            "65 members: the first 64 are kept",
            vec![many.join(",")],
            first_64,
        ),
        (
            "past 8,192 bytes: whole members only",
            vec![big.join(",")],
            first_8,
        ),
        ("an empty header", vec![String::new()], Vec::new()),
    ]
}

fn extracted_baggage(p: &dyn TextMapPropagator, lines: &[String]) -> Entries {
    let mut map = HeaderMap::new();
    for line in lines {
        map.append(
            "baggage",
            HeaderValue::from_str(line).expect("header value"),
        );
    }
    let cx = p.extract_with_context(&Context::new(), &HeaderExtractor(&map));
    let mut got: Vec<(String, String)> = cx
        .baggage()
        .iter()
        .map(|(k, (v, _))| (k.to_string(), v.to_string()))
        .collect();
    got.sort();
    got
}

#[test]
fn every_w3c_baggage_rule_holds_and_the_sdk_is_compared() {
    let ours = propagation::W3cBaggagePropagator::new();
    let sdk = opentelemetry_sdk::propagation::BaggagePropagator::new();
    let mut sdk_misses = Vec::new();
    for (rule, lines, expected) in baggage_cases() {
        assert_eq!(extracted_baggage(&ours, &lines), expected, "{rule}");
        if extracted_baggage(&sdk, &lines) != expected {
            sdk_misses.push(rule);
        }
    }
    println!("baggage rules the SDK propagator handles differently: {sdk_misses:#?}");
}

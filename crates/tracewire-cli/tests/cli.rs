//! The `tracewire` binary on fixture traces built here, in all three formats, with known answers:
//! critical path, self times, N+1 detection, errors, dependency edges and percentiles; the HTML page in
//! headless Chromium; the propagation checker against the W3C test service and a broken one.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_tracewire");

#[derive(Clone)]
struct S {
    trace: u128,
    id: u64,
    parent: u64,
    service: &'static str,
    name: &'static str,
    kind: &'static str,
    start_ms: u64,
    end_ms: u64,
    error: Option<(&'static str, &'static str)>,
}

const T0_US: u64 = 1_700_000_000_000_000;

/// A checkout: gateway → order-service (an inventory query, four price queries one after another, a
/// payment call) → payment-service, which fails after 150 ms.
fn checkout(trace: u128, payment_ms: u64, error: bool) -> Vec<S> {
    let s = |id, parent, service, name, kind, start_ms, end_ms| S {
        trace,
        id,
        parent,
        service,
        name,
        kind,
        start_ms,
        end_ms,
        error: None,
    };
    let mut spans = vec![
        s(1, 0, "api-gateway", "POST /checkout", "server", 0, 200),
        s(2, 1, "api-gateway", "POST", "client", 5, 195),
        s(3, 2, "order-service", "POST /orders", "server", 10, 190),
        s(4, 3, "order-service", "SELECT inventory", "client", 12, 14),
        s(5, 3, "order-service", "SELECT price", "client", 15, 17),
        s(6, 3, "order-service", "SELECT price", "client", 17, 19),
        s(7, 3, "order-service", "SELECT price", "client", 19, 21),
        s(8, 3, "order-service", "SELECT price", "client", 21, 23),
        s(9, 3, "order-service", "POST", "client", 25, 185),
        s(
            10,
            9,
            "payment-service",
            "POST /payments",
            "server",
            30,
            30 + payment_ms,
        ),
    ];
    if error {
        spans[9].error = Some(("card declined", "PaymentDeclined"));
    }
    spans
}

fn otlp_lines(spans: &[S]) -> String {
    let mut traces: Vec<u128> = spans.iter().map(|s| s.trace).collect();
    traces.dedup();
    let mut out = String::new();
    for trace in traces {
        let mut services: Vec<&str> = spans
            .iter()
            .filter(|s| s.trace == trace)
            .map(|s| s.service)
            .collect();
        services.sort();
        services.dedup();
        let resource_spans: Vec<Value> = services
            .iter()
            .map(|service| {
                let spans: Vec<Value> = spans
                    .iter()
                    .filter(|s| s.trace == trace && s.service == *service)
                    .map(|s| {
                        let kind = ["internal", "server", "client", "producer", "consumer"]
                            .iter()
                            .position(|k| *k == s.kind)
                            .unwrap_or(0)
                            + 1;
                        json!({
                            "traceId": format!("{:032x}", s.trace),
                            "spanId": format!("{:016x}", s.id),
                            "parentSpanId": if s.parent == 0 { String::new() } else { format!("{:016x}", s.parent) },
                            "name": s.name,
                            "kind": kind,
                            "startTimeUnixNano": ((T0_US + s.start_ms * 1000) * 1000).to_string(),
                            "endTimeUnixNano": ((T0_US + s.end_ms * 1000) * 1000).to_string(),
                            "attributes": [{"key": "demo.id", "value": {"intValue": s.id.to_string()}}],
                            "events": s.error.map(|(_, t)| vec![json!({"name": "exception", "attributes": [
                                {"key": "exception.type", "value": {"stringValue": t}}]})]).unwrap_or_default(),
                            "status": match s.error {
                                Some((m, _)) => json!({"code": 2, "message": m}),
                                None => json!({}),
                            },
                        })
                    })
                    .collect();
                json!({
                    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
                    "scopeSpans": [{"scope": {"name": "fixture"}, "spans": spans}],
                })
            })
            .collect();
        out.push_str(&json!({ "resourceSpans": resource_spans }).to_string());
        out.push('\n');
    }
    out
}

fn jaeger(spans: &[S]) -> String {
    let mut traces: Vec<u128> = spans.iter().map(|s| s.trace).collect();
    traces.dedup();
    let data: Vec<Value> = traces
        .iter()
        .map(|trace| {
            let list: Vec<Value> = spans
                .iter()
                .filter(|s| s.trace == *trace)
                .map(|s| {
                    let mut tags = vec![json!({"key": "span.kind", "type": "string", "value": s.kind})];
                    let mut logs = Vec::new();
                    if let Some((message, kind)) = s.error {
                        tags.push(json!({"key": "error", "type": "bool", "value": true}));
                        tags.push(json!({"key": "otel.status_description", "type": "string", "value": message}));
                        logs.push(json!({"timestamp": T0_US, "fields": [{"key": "exception.type", "type": "string", "value": kind}]}));
                    }
                    json!({
                        "traceID": format!("{:032x}", s.trace),
                        "spanID": format!("{:016x}", s.id),
                        "operationName": s.name,
                        "references": if s.parent == 0 { json!([]) } else {
                            json!([{"refType": "CHILD_OF", "traceID": format!("{:032x}", s.trace), "spanID": format!("{:016x}", s.parent)}])
                        },
                        "startTime": T0_US + s.start_ms * 1000,
                        "duration": (s.end_ms - s.start_ms) * 1000,
                        "tags": tags,
                        "logs": logs,
                        "processID": s.service,
                    })
                })
                .collect();
            let processes: serde_json::Map<String, Value> = ["api-gateway", "order-service", "payment-service"]
                .iter()
                .map(|p| ((*p).to_owned(), json!({"serviceName": p, "tags": []})))
                .collect();
            json!({"traceID": format!("{trace:032x}"), "spans": list, "processes": processes})
        })
        .collect();
    // Pretty-printed, as Jaeger's UI downloads it: the reader must handle a multi-line document.
    serde_json::to_string_pretty(&json!({ "data": data })).unwrap_or_default()
}

fn zipkin(spans: &[S]) -> String {
    let list: Vec<Value> = spans
        .iter()
        .map(|s| {
            let mut tags = serde_json::Map::new();
            if let Some((message, kind)) = s.error {
                tags.insert("error".into(), json!(message));
                tags.insert("exception.type".into(), json!(kind));
            }
            let mut span = json!({
                "traceId": format!("{:032x}", s.trace),
                "id": format!("{:016x}", s.id),
                "name": s.name,
                "timestamp": T0_US + s.start_ms * 1000,
                "duration": (s.end_ms - s.start_ms) * 1000,
                "localEndpoint": {"serviceName": s.service},
                "tags": tags,
            });
            if s.kind != "internal" {
                span["kind"] = json!(s.kind.to_uppercase());
            }
            if s.parent != 0 {
                span["parentId"] = json!(format!("{:016x}", s.parent));
            }
            span
        })
        .collect();
    serde_json::to_string(&list).unwrap_or_default()
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tracewire-cli-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir.join(name)
}

fn tracewire(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run tracewire")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const TRACE: u128 = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;

#[test]
fn analyze_gives_the_known_answers_in_every_format() {
    let spans = checkout(TRACE, 150, true);
    let files = [
        ("checkout.otlp.jsonl", otlp_lines(&spans)),
        ("checkout.jaeger.json", jaeger(&spans)),
        ("checkout.zipkin.json", zipkin(&spans)),
    ];
    for (name, content) in files {
        let path = temp(name);
        std::fs::write(&path, content).expect("write fixture");
        let output = tracewire(&[
            "analyze",
            path.to_str().unwrap_or_default(),
            "--json",
            "--slow",
            "100",
        ]);
        assert!(output.status.success(), "{name}: {}", text(&output.stderr));
        assert_eq!(text(&output.stderr), "", "{name}");
        let reports: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        let report = &reports[0];
        assert_eq!(report["trace_id"], format!("{TRACE:032x}"), "{name}");
        assert_eq!(report["span_count"], 10, "{name}");
        assert_eq!(report["duration_ms"], 200.0, "{name}");
        assert_eq!(
            report["services"],
            json!(["api-gateway", "order-service", "payment-service"]),
            "{name}"
        );
        // The error, with its message and exception type.
        assert_eq!(
            report["errors"][0]["span"]["name"], "POST /payments",
            "{name}"
        );
        assert_eq!(report["errors"][0]["message"], "card declined", "{name}");
        assert_eq!(
            report["errors"][0]["exception_type"], "PaymentDeclined",
            "{name}"
        );
        // Slow spans (≥ 100 ms), slowest first.
        let slow: Vec<&str> = report["slow_spans"]
            .as_array()
            .map(|a| a.iter().filter_map(|s| s["name"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(
            slow,
            [
                "POST /checkout",
                "POST",
                "POST /orders",
                "POST",
                "POST /payments"
            ],
            "{name}"
        );
        // The critical path: everything but nothing that overlapped a longer sibling; the sequential
        // queries before the payment call held the order up, so they are on it.
        let path: Vec<String> = report["critical_path"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| {
                        format!(
                            "{}: {}",
                            s["service"].as_str().unwrap_or(""),
                            s["name"].as_str().unwrap_or("")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(path.len(), 10, "{name}: {path:?}");
        assert_eq!(path[0], "api-gateway: POST /checkout", "{name}");
        assert_eq!(path[9], "payment-service: POST /payments", "{name}");
        // Self time: the payment service is 75 % of the trace; per service 150 / 30 / 20 ms.
        assert_eq!(
            report["self_time_by_span"][0]["what"], "payment-service: POST /payments",
            "{name}"
        );
        assert_eq!(report["self_time_by_span"][0]["share"], 0.75, "{name}");
        let by_service: Vec<(String, f64)> = report["self_time_by_service"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| {
                        (
                            s["what"].as_str().unwrap_or("").to_owned(),
                            s["self_ms"].as_f64().unwrap_or(-1.0),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            by_service,
            [
                ("payment-service".to_owned(), 150.0),
                ("order-service".to_owned(), 30.0),
                ("api-gateway".to_owned(), 20.0)
            ],
            "{name}"
        );
        // N+1: four price queries under the order handler.
        assert_eq!(report["repeated"][0]["name"], "SELECT price", "{name}");
        assert_eq!(report["repeated"][0]["count"], 4, "{name}");
        assert_eq!(
            report["repeated"][0]["parent"]["name"], "POST /orders",
            "{name}"
        );
        assert_eq!(
            report["repeated"].as_array().map(Vec::len),
            Some(1),
            "{name}"
        );
    }
}

#[test]
fn filters_select_traces() {
    let mut spans = checkout(1, 150, true);
    spans.extend(checkout(2, 20, false));
    let path = temp("two.otlp.jsonl");
    std::fs::write(&path, otlp_lines(&spans)).expect("write");
    let p = path.to_str().unwrap_or_default();
    let count = |args: &[&str]| -> usize {
        let output = tracewire(args);
        let reports: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        reports.as_array().map_or(0, Vec::len)
    };
    assert_eq!(count(&["analyze", p, "--json"]), 2);
    assert_eq!(count(&["analyze", p, "--json", "--errors-only"]), 1);
    assert_eq!(count(&["analyze", p, "--json", "--trace", "2"]), 1);
    assert_eq!(
        count(&["analyze", p, "--json", "--service", "payment-service"]),
        2
    );
    assert_eq!(count(&["analyze", p, "--json", "--service", "nobody"]), 0);
    let readable = text(&tracewire(&["analyze", p, "--errors-only"]).stdout);
    assert!(
        readable.contains("payment-service: POST /payments  card declined (PaymentDeclined)"),
        "{readable}"
    );
    assert!(
        readable.contains("N+1: 4 × order-service: SELECT price under order-service: POST /orders"),
        "{readable}"
    );
    assert!(readable.ends_with("1 traces\n"), "{readable}");
}

#[test]
fn malformed_records_are_reported_with_their_line_and_skipped() {
    let good = otlp_lines(&checkout(1, 150, false));
    let other = otlp_lines(&checkout(2, 150, false));
    let content =
        format!("{good}{{\"resourceSpans\": [ {{\"scopeSpans\": \n\nnot json at all\n{other}");
    let path = temp("broken.otlp.jsonl");
    std::fs::write(&path, content).expect("write");
    let output = tracewire(&["analyze", path.to_str().unwrap_or_default(), "--json"]);
    assert!(output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("broken.otlp.jsonl:2: skipped"), "{stderr}");
    assert!(stderr.contains("broken.otlp.jsonl:4: skipped"), "{stderr}");
    let reports: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(
        reports.as_array().map(Vec::len),
        Some(2),
        "both good lines analyzed"
    );
}

#[test]
fn zipkin_shared_spans_stay_two_spans() {
    // Brave's shared-span model: the server half reuses the client half's id.
    let shared = json!([
        {"traceId": "1", "id": "a", "name": "GET", "kind": "CLIENT", "timestamp": T0_US, "duration": 100,
         "localEndpoint": {"serviceName": "web"}},
        {"traceId": "1", "id": "a", "name": "GET /items", "kind": "SERVER", "timestamp": T0_US + 10, "duration": 80,
         "shared": true, "localEndpoint": {"serviceName": "items"}}
    ]);
    let path = temp("shared.zipkin.json");
    std::fs::write(&path, shared.to_string()).expect("write");
    let output = tracewire(&[
        "deps",
        path.to_str().unwrap_or_default(),
        "--output",
        "json",
    ]);
    let edges: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(edges[0]["caller"], "web");
    assert_eq!(edges[0]["callee"], "items");
    let output = tracewire(&["analyze", path.to_str().unwrap_or_default(), "--json"]);
    let reports: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(reports[0]["span_count"], 2);
}

#[test]
fn a_large_pretty_printed_jaeger_file_is_read_in_one_pass() {
    // 60 traces of 10 spans, pretty-printed: ~18,000 lines. Re-parsing per line would take minutes.
    let mut spans = Vec::new();
    for i in 1..=60u64 {
        spans.extend(checkout(u128::from(i), 100, false));
    }
    let document = jaeger(&spans);
    assert!(document.lines().count() > 10_000);
    let path = temp("big.jaeger.json");
    std::fs::write(&path, document).expect("write");
    let output = tracewire(&["analyze", path.to_str().unwrap_or_default(), "--json"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let reports: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(reports.as_array().map(Vec::len), Some(60));
}

#[test]
fn deps_gives_edges_with_error_rates_and_percentiles() {
    // 100 checkouts; the payment call takes 1..=100 ms; every tenth one fails.
    let mut spans = Vec::new();
    for i in 1..=100u64 {
        spans.extend(checkout(u128::from(i), i, i % 10 == 0));
    }
    let path = temp("many.zipkin.json");
    std::fs::write(&path, zipkin(&spans)).expect("write");
    let p = path.to_str().unwrap_or_default();
    let output = tracewire(&["deps", p, "--output", "json"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let edges: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(edges.as_array().map(Vec::len), Some(2));
    let gateway = &edges[0];
    assert_eq!(
        (gateway["caller"].as_str(), gateway["callee"].as_str()),
        (Some("api-gateway"), Some("order-service"))
    );
    assert_eq!(gateway["calls"], 100);
    assert_eq!(gateway["error_rate"], 0.0);
    assert_eq!(gateway["p50_ms"], 180.0);
    let payments = &edges[1];
    assert_eq!(payments["callee"], "payment-service");
    assert_eq!(payments["calls"], 100);
    assert_eq!(payments["error_rate"], 0.1);
    assert_eq!(payments["p50_ms"], 50.0);
    assert_eq!(payments["p99_ms"], 99.0);

    let dot = text(&tracewire(&["deps", p, "--output", "dot"]).stdout);
    assert!(dot.starts_with("digraph services {"), "{dot}");
    assert!(dot.contains("\"order-service\" -> \"payment-service\" [label=\"100 calls, 10.0% errors, p50 50.000 ms, p99 99.000 ms\", color=red];"), "{dot}");
    let mermaid = text(&tracewire(&["deps", p, "--output", "mermaid"]).stdout);
    assert!(
        mermaid.contains("s0[\"api-gateway\"] -->|\"100 calls, 0.0% errors"),
        "{mermaid}"
    );
    assert!(mermaid.contains("s1[\"order-service\"] -->|"), "{mermaid}");
}

#[test]
fn waterfall_in_the_terminal() {
    let path = temp("one.otlp.jsonl");
    std::fs::write(&path, otlp_lines(&checkout(TRACE, 150, true))).expect("write");
    let output = tracewire(&[
        "waterfall",
        path.to_str().unwrap_or_default(),
        "--width",
        "30",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let out = text(&output.stdout);
    let line = |needle: &str| {
        out.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} in\n{out}"))
            .to_owned()
    };
    assert!(
        out.starts_with(&format!(
            "trace {TRACE:032x}  200.000 ms, 10 spans, 1 with errors"
        )),
        "{out}"
    );
    let payment = line("payment-service: POST /payments");
    assert!(
        payment.contains("ERROR") && payment.contains("<- slowest") && payment.starts_with('*'),
        "{out}"
    );
    assert!(
        line("order-service: SELECT inventory").contains("[client]"),
        "{out}"
    );

    // Several traces and no --trace: a clear error listing them.
    let mut spans = checkout(1, 10, false);
    spans.extend(checkout(2, 10, false));
    let both = temp("both.otlp.jsonl");
    std::fs::write(&both, otlp_lines(&spans)).expect("write");
    let output = tracewire(&["waterfall", both.to_str().unwrap_or_default()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("holds 2 traces; pick one with --trace"));
}

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

fn headless(browser: &str, args: &[&str], page: &Path) -> Output {
    let profile = temp("chromium-profile");
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium")
}

#[test]
fn the_html_page_renders_in_headless_chromium() {
    let browser = chromium().expect(
        "Chromium is needed for this test (Debian: apt-get install chromium; .ci/run installs it)",
    );
    let path = temp("one.zipkin.json");
    let mut spans = checkout(TRACE, 150, true);
    // Span text that would end or comment out the script element if it were pasted in raw.
    spans[3].name = "SELECT '</script><!--<script>' FROM inventory";
    std::fs::write(&path, zipkin(&spans)).expect("write");
    let page = temp("trace.html");
    let output = tracewire(&[
        "waterfall",
        path.to_str().unwrap_or_default(),
        "--html",
        page.to_str().unwrap_or_default(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let html = std::fs::read_to_string(&page).expect("page");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "self-contained: no network"
    );

    // The DOM after the scripts ran: one bar per span, flame frames, no script errors.
    let dom = text(
        &headless(
            browser,
            &["--virtual-time-budget=2000", "--dump-dom"],
            &page,
        )
        .stdout,
    );
    assert!(
        dom.contains("data-rendered=\"true\""),
        "the script finished:\n{dom}"
    );
    assert!(dom.contains("data-bars=\"10\""), "one bar per span");
    assert!(dom.contains("data-frames=\""), "a flame graph");
    assert!(!dom.contains("data-errors"), "no script errors:\n{dom}");
    assert_eq!(dom.matches("class=\"bar error").count(), 1, "one error bar");
    assert!(
        dom.contains("class=\"bar critical\""),
        "the critical path is outlined"
    );

    // And a real screenshot of it.
    let shot = temp("trace.png");
    let _ = std::fs::remove_file(&shot);
    headless(
        browser,
        &[
            "--window-size=1200,700",
            &format!("--screenshot={}", shot.display()),
        ],
        &page,
    );
    let png = std::fs::read(&shot).expect("a screenshot");
    assert_eq!(&png[1..4], b"PNG");
    assert!(
        png.len() > 10_000,
        "a chart, not a blank page ({} bytes)",
        png.len()
    );
}

async fn serve(app: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

async fn tracewire_async(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || Command::new(BIN).args(&args).output().expect("run"))
        .await
        .expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn propagation_passes_against_the_w3c_test_service() {
    tracewire_core::propagation::install();
    let addr = serve(w3c_test_service::app(w3c_test_service::client())).await;
    let output = tracewire_async(vec!["propagation".into(), format!("http://{addr}/test")]).await;
    let report = text(&output.stdout);
    assert!(output.status.success(), "{report}{}", text(&output.stderr));
    assert!(report.starts_with("w3c: PASS"), "{report}");
    for check in [
        "trace id survived",
        "sampled flag survived",
        "tracestate survived",
        "baggage survived",
    ] {
        assert!(
            report.contains(&format!("[ok] {check}")),
            "{check}: {report}"
        );
    }
    // The service speaks W3C only: a B3 caller's trace is not continued, and the checker says so.
    let output = tracewire_async(vec![
        "propagation".into(),
        format!("http://{addr}/test"),
        "--formats".into(),
        "w3c,b3".into(),
    ])
    .await;
    let report = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(
        report.contains("b3: FAIL") && report.contains("[FAIL] trace id survived"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn propagation_fails_clearly_against_a_service_that_drops_the_context() {
    use axum::routing::post;
    // Calls back as the contract asks, with a plain client: no context goes out.
    let broken = axum::Router::new().route(
        "/test",
        post(|axum::Json(calls): axum::Json<Vec<Value>>| async move {
            for call in calls {
                if let Some(url) = call["url"].as_str() {
                    let _ = reqwest::Client::new().post(url).body("[]").send().await;
                }
            }
            "{}"
        }),
    );
    let addr = serve(broken).await;
    let output = tracewire_async(vec!["propagation".into(), format!("http://{addr}/test")]).await;
    let report = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(report.starts_with("w3c: FAIL"), "{report}");
    assert!(report.contains("[ok] service answered"), "{report}");
    assert!(
        report.contains("[FAIL] trace id survived — no trace context on the callback"),
        "{report}"
    );
    assert!(report.contains("[FAIL] baggage survived"), "{report}");
}

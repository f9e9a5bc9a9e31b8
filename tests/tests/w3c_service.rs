//! The W3C validation service (examples/w3c-test-service) driven the way the W3C harness drives it:
//! callbacks must carry exactly one valid traceparent, a child of the service's span, with the incoming
//! tracestate, and restart on invalid input.

mod common;

use common::serve;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::post;
use tracewire_testing::SpanCapture;

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT: &str = "b7ad6b7169203331";

struct Harness {
    service: SocketAddr,
    callback: SocketAddr,
    received: Arc<Mutex<Vec<HeaderMap>>>,
    _capture: SpanCapture,
}

async fn harness() -> Harness {
    tracewire_core::propagation::install();
    let capture = SpanCapture::new();
    opentelemetry::global::set_tracer_provider(capture.provider().clone());
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = received.clone();
    let callback = serve(Router::new().route(
        "/callback",
        post(move |headers: HeaderMap, body: String| {
            let sink = sink.clone();
            async move {
                assert!(
                    serde_json::from_str::<serde_json::Value>(&body).is_ok(),
                    "JSON body"
                );
                sink.lock().expect("lock").push(headers);
                "{}"
            }
        }),
    ))
    .await;
    let service = serve(w3c_test_service::app(w3c_test_service::client())).await;
    Harness {
        service,
        callback,
        received,
        _capture: capture,
    }
}

impl Harness {
    /// Sends one test request with these headers and two callbacks; returns what the callbacks got.
    async fn run(&self, headers: &[(&str, &str)]) -> Vec<(Vec<String>, Option<String>)> {
        self.received.lock().expect("lock").clear();
        let url = format!("http://{}/callback", self.callback);
        let body = serde_json::json!([
            {"url": url, "arguments": []},
            {"url": url, "arguments": [{"url": url, "arguments": []}]},
        ]);
        let mut request = reqwest::Client::new()
            .post(format!("http://{}/test", self.service))
            .header("content-type", "application/json")
            .body(body.to_string());
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), 200);
        let received = self.received.lock().expect("lock");
        assert_eq!(
            received.len(),
            2,
            "all callbacks finish before the response"
        );
        received
            .iter()
            .map(|h| {
                let tps = h
                    .get_all("traceparent")
                    .iter()
                    .map(|v| v.to_str().expect("ascii").to_owned())
                    .collect();
                let ts = h
                    .get("tracestate")
                    .map(|v| v.to_str().expect("ascii").to_owned());
                (tps, ts)
            })
            .collect()
    }
}

fn fields(tp: &str) -> (String, String, String, String) {
    let parts: Vec<&str> = tp.split('-').collect();
    assert_eq!(parts.len(), 4, "{tp}");
    assert_eq!(tp.len(), 55, "{tp}");
    assert!(
        tp.chars()
            .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "{tp}"
    );
    (
        parts[0].into(),
        parts[1].into(),
        parts[2].into(),
        parts[3].into(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_validation_contract_holds() {
    let h = harness().await;

    // A valid sampled parent with tracestate: same trace, new parent ids, tracestate kept.
    let got = h
        .run(&[
            ("traceparent", &format!("00-{TRACE}-{PARENT}-01")),
            ("tracestate", "foo=1"),
            ("tracestate", "bar=2"),
        ])
        .await;
    let mut parents = Vec::new();
    for (tps, ts) in &got {
        assert_eq!(tps.len(), 1, "exactly one traceparent");
        let (version, trace, parent, flags) = fields(&tps[0]);
        assert_eq!(version, "00");
        assert_eq!(trace, TRACE);
        assert_ne!(parent, PARENT);
        assert_eq!(flags, "01");
        assert_eq!(ts.as_deref(), Some("foo=1,bar=2"));
        parents.push(parent);
    }
    assert_ne!(
        parents[0], parents[1],
        "each callback is its own client span"
    );

    // Not sampled: the flag is kept.
    let got = h
        .run(&[("traceparent", &format!("00-{TRACE}-{PARENT}-00"))])
        .await;
    for (tps, _) in &got {
        assert_eq!(fields(&tps[0]).3, "00");
    }

    // No traceparent, an invalid one, or two: a new trace, and no tracestate.
    for headers in [
        vec![],
        vec![
            (
                "traceparent",
                "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",
            ),
            ("tracestate", "foo=1"),
        ],
        vec![
            (
                "traceparent",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            ),
            (
                "traceparent",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            ),
        ],
    ] {
        let got = h.run(&headers).await;
        let (_, first_trace, _, _) = fields(&got[0].0[0]);
        assert_ne!(first_trace, TRACE.to_lowercase());
        for (tps, ts) in &got {
            assert_eq!(tps.len(), 1);
            let (version, trace, _, _) = fields(&tps[0]);
            assert_eq!(version, "00");
            assert_eq!(trace, first_trace, "both callbacks in the one new trace");
            assert_eq!(ts, &None);
        }
    }
}

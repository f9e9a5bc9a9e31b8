//! Checks that a running service propagates trace context: it sends requests in each format to a
//! service implementing the W3C validation-service contract (`POST` a JSON array of
//! `{"url", "arguments"}`; the service calls each URL back), receives the callbacks itself, and checks
//! what survived the hop.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::post;

/// A context format to check.
///
/// ```
/// use tracewire_cli::propagation::Carrier;
/// let carriers: Vec<Carrier> = "w3c,b3multi".split(',').filter_map(Carrier::parse).collect();
/// assert_eq!(carriers, [Carrier::W3c, Carrier::B3Multi]);
/// assert_eq!(Carrier::parse(" TraceContext "), Some(Carrier::W3c));
/// assert_eq!(Carrier::parse("xray"), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carrier {
    /// W3C `traceparent`, `tracestate` and `baggage`.
    W3c,
    /// Zipkin B3 single header.
    B3,
    /// Zipkin B3 multi headers.
    B3Multi,
    /// Jaeger `uber-trace-id`.
    Jaeger,
}

impl Carrier {
    /// From a `--formats` entry.
    pub fn parse(name: &str) -> Option<Carrier> {
        match name.trim().to_ascii_lowercase().as_str() {
            "w3c" | "tracecontext" => Some(Carrier::W3c),
            "b3" => Some(Carrier::B3),
            "b3multi" => Some(Carrier::B3Multi),
            "jaeger" => Some(Carrier::Jaeger),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Carrier::W3c => "w3c",
            Carrier::B3 => "b3",
            Carrier::B3Multi => "b3multi",
            Carrier::Jaeger => "jaeger",
        }
    }
}

/// One property checked for one format.
///
/// ```
/// use tracewire_cli::propagation::{Carrier, Check, FormatReport};
/// let report = FormatReport {
///     carrier: Carrier::B3,
///     checks: vec![
///         Check {
///             what: "trace id survived",
///             passed: true,
///             detail: "b3 carries the id sent".into(),
///         },
///         Check {
///             what: "sampled flag survived",
///             passed: false,
///             detail: "sent sampled, callback not sampled".into(),
///         },
///     ],
/// };
/// let failed: Vec<&str> = report.checks.iter().filter(|c| !c.passed).map(|c| c.what).collect();
/// assert_eq!(failed, ["sampled flag survived"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// What was checked.
    pub what: &'static str,
    /// Whether it held.
    pub passed: bool,
    /// What was seen.
    pub detail: String,
}

/// The checks of one format.
///
/// ```no_run
/// use tracewire_cli::propagation::{self, Carrier, FormatReport};
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// // A service implementing the W3C validation-service contract, listening on port 5000.
/// let reports = propagation::check(
///     "http://127.0.0.1:5000/test",
///     &[Carrier::W3c, Carrier::B3],
///     "127.0.0.1:0",
///     None,
/// )
/// .await?;
/// print!("{}", propagation::render(&reports));
/// assert!(reports.iter().all(FormatReport::passed));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct FormatReport {
    /// The format.
    pub carrier: Carrier,
    /// Its checks.
    pub checks: Vec<Check>,
}

impl FormatReport {
    /// Whether every check held.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }
}

fn random_u64() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.finish() | 1
}

type Received = Arc<Mutex<Vec<(String, HeaderMap)>>>;

async fn callback(
    State(received): State<Received>,
    Path(format): Path<String>,
    headers: HeaderMap,
) -> &'static str {
    if let Ok(mut received) = received.lock() {
        received.push((format, headers));
    }
    "{}"
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The trace id and sampled flag the callback carried, in whichever format the service sent.
fn carried(headers: &HeaderMap) -> Option<(String, bool, &'static str)> {
    if let Some(tp) = header(headers, "traceparent") {
        let parts: Vec<&str> = tp.trim().split('-').collect();
        if parts.len() >= 4 {
            let flags = u8::from_str_radix(parts[3], 16).unwrap_or(0);
            return Some((parts[1].to_owned(), flags & 1 == 1, "traceparent"));
        }
    }
    if let Some(b3) = header(headers, "b3") {
        let parts: Vec<&str> = b3.split('-').collect();
        if parts.len() >= 2 {
            let sampled = parts.get(2).is_some_and(|s| *s == "1" || *s == "d");
            return Some((format!("{:0>32}", parts[0]), sampled, "b3"));
        }
    }
    if let Some(id) = header(headers, "x-b3-traceid") {
        let sampled = header(headers, "x-b3-sampled").is_some_and(|s| s == "1")
            || header(headers, "x-b3-flags").is_some_and(|s| s == "1");
        return Some((format!("{id:0>32}"), sampled, "x-b3-*"));
    }
    if let Some(uber) = header(headers, "uber-trace-id") {
        let parts: Vec<&str> = uber.split(':').collect();
        if parts.len() == 4 {
            let flags = u8::from_str_radix(parts[3], 16).unwrap_or(0);
            return Some((
                format!("{:0>32}", parts[0]),
                flags & 1 == 1,
                "uber-trace-id",
            ));
        }
    }
    None
}

/// Runs the check of each format in `carriers` against `target` (the service's test endpoint),
/// receiving callbacks on `listen` and telling the service to call `advertise` (default: the address
/// actually bound).
pub async fn check(
    target: &str,
    carriers: &[Carrier],
    listen: &str,
    advertise: Option<&str>,
) -> Result<Vec<FormatReport>, String> {
    let received: Received = Arc::default();
    let app = Router::new()
        .route("/callback/{format}", post(callback))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen for callbacks on {listen}: {e}"))?;
    let addr: SocketAddr = listener
        .local_addr()
        .map_err(|e| format!("cannot listen for callbacks: {e}"))?;
    let callback_host = advertise.map_or_else(|| addr.to_string(), str::to_owned);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;

    let mut reports = Vec::new();
    for &carrier in carriers {
        let trace_id = format!("{:016x}{:016x}", random_u64(), random_u64());
        let span_id = format!("{:016x}", random_u64());
        let nonce = format!("{:x}", random_u64());
        let body = serde_json::json!([{
            "url": format!("http://{callback_host}/callback/{}", carrier.name()),
            "arguments": []
        }]);
        let mut request = client.post(target).json(&body);
        request = match carrier {
            Carrier::W3c => request
                .header("traceparent", format!("00-{trace_id}-{span_id}-01"))
                .header("tracestate", format!("tracewire=check{nonce},other=1"))
                .header("baggage", format!("check.id={nonce}")),
            Carrier::B3 => request.header("b3", format!("{trace_id}-{span_id}-1")),
            Carrier::B3Multi => request
                .header("x-b3-traceid", &trace_id)
                .header("x-b3-spanid", &span_id)
                .header("x-b3-sampled", "1"),
            Carrier::Jaeger => request.header("uber-trace-id", format!("{trace_id}:{span_id}:0:1")),
        };
        let mut checks = Vec::new();
        match request.send().await {
            Ok(response) => checks.push(Check {
                what: "service answered",
                passed: response.status().is_success(),
                detail: format!("HTTP {}", response.status().as_u16()),
            }),
            Err(e) => checks.push(Check {
                what: "service answered",
                passed: false,
                detail: e.to_string(),
            }),
        }
        let headers = received.lock().ok().and_then(|r| {
            r.iter()
                .rev()
                .find(|(f, _)| f == carrier.name())
                .map(|(_, h)| h.clone())
        });
        match headers {
            None => checks.push(Check {
                what: "callback received",
                passed: false,
                detail: "the service did not call back".to_owned(),
            }),
            Some(headers) => {
                let found = carried(&headers);
                checks.push(Check {
                    what: "trace id survived",
                    passed: found.as_ref().is_some_and(|(id, _, _)| *id == trace_id),
                    detail: match &found {
                        Some((id, _, via)) => format!("{via} carries {id}, sent {trace_id}"),
                        None => "no trace context on the callback".to_owned(),
                    },
                });
                checks.push(Check {
                    what: "sampled flag survived",
                    passed: found.as_ref().is_some_and(|(_, sampled, _)| *sampled),
                    detail: format!(
                        "sent sampled, callback {}",
                        match &found {
                            Some((_, true, _)) => "sampled",
                            Some((_, false, _)) => "not sampled",
                            None => "without context",
                        }
                    ),
                });
                if carrier == Carrier::W3c {
                    let tracestate = header(&headers, "tracestate").unwrap_or_default();
                    checks.push(Check {
                        what: "tracestate survived",
                        passed: tracestate.contains(&format!("tracewire=check{nonce}")),
                        detail: format!("callback tracestate: {tracestate:?}"),
                    });
                    let baggage = header(&headers, "baggage").unwrap_or_default();
                    checks.push(Check {
                        what: "baggage survived",
                        passed: baggage.contains(&format!("check.id={nonce}")),
                        detail: format!("callback baggage: {baggage:?}"),
                    });
                }
            }
        }
        reports.push(FormatReport { carrier, checks });
    }
    server.abort();
    Ok(reports)
}

/// The readable report.
pub fn render(reports: &[FormatReport]) -> String {
    let mut out = String::new();
    for report in reports {
        out.push_str(&format!(
            "{}: {}\n",
            report.carrier.name(),
            if report.passed() { "PASS" } else { "FAIL" }
        ));
        for check in &report.checks {
            out.push_str(&format!(
                "  [{}] {} — {}\n",
                if check.passed { "ok" } else { "FAIL" },
                check.what,
                check.detail
            ));
        }
    }
    out
}

use std::sync::Arc;

use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::{Link, SpanKind, TraceId};
use opentelemetry::{Array, Context, KeyValue, Value};
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, SamplingResult, ShouldSample};
use tracewire_core::attributes::HTTP_ROUTE;

use super::{decide, within_ratio};

/// Rules first, then a delegate: the sampler for "always keep what someone is debugging, never keep
/// health checks, sample checkout at 50 %".
///
/// In order, the first rule that applies decides:
/// 1. a **debug marker**, a baggage entry (`tracewire.debug=1`, say) on the incoming context or a request
///    header recorded on the span at start (tracewire-http records the headers named in
///    `capture_request_headers`): sampled, whatever the parent decided;
/// 2. a **never** rule for the span's `http.route` or name (health checks, metrics scrapes): dropped;
/// 3. a **ratio** for the route or name: sampled by the trace id, so every service using the same
///    rule keeps the same traces;
/// 4. otherwise the delegate decides (default: `ParentBased(AlwaysOn)`, the spec's default).
///
/// Rules 2 and 3 apply to local roots and to spans whose parent is remote (the service's entry point);
/// spans inside a local trace follow their parent, so a trace is never cut in half.
///
/// ```
/// use opentelemetry_sdk::trace::SdkTracerProvider;
/// use tracewire::sampling::RuleSampler;
/// let sampler = RuleSampler::builder()
///     .debug_baggage("tracewire.debug")
///     .debug_header("x-debug-trace")
///     .never_route("/health")
///     .ratio_for_route("/checkout", 0.5)
///     .build();
/// let provider = SdkTracerProvider::builder().with_sampler(sampler).build();
/// # drop(provider);
/// ```
#[derive(Clone, Debug)]
pub struct RuleSampler {
    rules: Arc<Rules>,
    delegate: Box<dyn ShouldSample>,
}

#[derive(Debug, Default)]
struct Rules {
    debug_baggage: Vec<String>,
    debug_headers: Vec<String>,
    never: Vec<Match>,
    ratios: Vec<(Match, f64)>,
}

#[derive(Debug)]
enum Match {
    Route(String),
    Name(String),
}

impl Match {
    fn applies(&self, name: &str, attributes: &[KeyValue]) -> bool {
        match self {
            Match::Name(n) => n == name,
            Match::Route(r) => attributes.iter().any(|kv| {
                kv.key.as_str() == HTTP_ROUTE
                    && matches!(&kv.value, Value::String(v) if v.as_str() == r)
            }),
        }
    }
}

/// Builds a [`RuleSampler`].
///
/// ```
/// use opentelemetry_sdk::trace::Sampler;
/// use tracewire::sampling::{RateLimitingSampler, RuleSampler};
/// // Debug requests always, everything else rate limited.
/// let sampler = RuleSampler::builder()
///     .debug_header("x-debug-trace")
///     .otherwise(Sampler::ParentBased(Box::new(RateLimitingSampler::per_second(20.0))))
///     .build();
/// # drop(sampler);
/// ```
#[derive(Debug)]
pub struct RuleSamplerBuilder {
    rules: Rules,
    delegate: Box<dyn ShouldSample>,
}

impl RuleSampler {
    /// A builder with no rules and the `ParentBased(AlwaysOn)` delegate.
    pub fn builder() -> RuleSamplerBuilder {
        RuleSamplerBuilder {
            rules: Rules::default(),
            delegate: Box::new(Sampler::ParentBased(Box::new(Sampler::AlwaysOn))),
        }
    }

    fn is_debug(&self, parent: Option<&Context>, attributes: &[KeyValue]) -> bool {
        if let Some(cx) = parent
            && !self.rules.debug_baggage.is_empty()
        {
            let baggage = cx.baggage();
            if self.rules.debug_baggage.iter().any(|k| {
                baggage
                    .get(k.as_str())
                    .is_some_and(|v| is_truthy(v.as_str()))
            }) {
                return true;
            }
        }
        self.rules.debug_headers.iter().any(|header| {
            attributes.iter().any(|kv| {
                kv.key
                    .as_str()
                    .strip_prefix("http.request.header.")
                    .is_some_and(|h| h == header)
                    && match &kv.value {
                        Value::Array(Array::String(values)) => {
                            values.iter().any(|v| is_truthy(v.as_str()))
                        }
                        Value::String(v) => is_truthy(v.as_str()),
                        _ => false,
                    }
            })
        })
    }
}

/// A marker counts unless it says no: `0`, `false`, `no`, `off` or empty.
fn is_truthy(value: &str) -> bool {
    let v = value.trim();
    !(v.is_empty()
        || v == "0"
        || v.eq_ignore_ascii_case("false")
        || v.eq_ignore_ascii_case("no")
        || v.eq_ignore_ascii_case("off"))
}

impl RuleSamplerBuilder {
    /// A baggage entry that marks a request for debugging (its value anything but `0`/`false`/`no`/`off`).
    pub fn debug_baggage(mut self, key: impl Into<String>) -> Self {
        self.rules.debug_baggage.push(key.into());
        self
    }

    /// A request header that marks a request for debugging. The server layer must record it at span
    /// start: name it in tracewire-http's `capture_request_headers` too.
    pub fn debug_header(mut self, name: impl Into<String>) -> Self {
        self.rules
            .debug_headers
            .push(name.into().to_ascii_lowercase());
        self
    }

    /// Never sample entry spans on this `http.route` (exact match), such as `/health`.
    pub fn never_route(mut self, route: impl Into<String>) -> Self {
        self.rules.never.push(Match::Route(route.into()));
        self
    }

    /// Never sample entry spans with this name, such as `GET /metrics`.
    pub fn never_name(mut self, name: impl Into<String>) -> Self {
        self.rules.never.push(Match::Name(name.into()));
        self
    }

    /// Sample entry spans on this `http.route` with `ratio` (0 to 1).
    pub fn ratio_for_route(mut self, route: impl Into<String>, ratio: f64) -> Self {
        self.rules.ratios.push((Match::Route(route.into()), ratio));
        self
    }

    /// Sample entry spans with this name with `ratio` (0 to 1), such as `process orders`.
    pub fn ratio_for_name(mut self, name: impl Into<String>, ratio: f64) -> Self {
        self.rules.ratios.push((Match::Name(name.into()), ratio));
        self
    }

    /// The sampler for everything no rule decides (default `ParentBased(AlwaysOn)`).
    pub fn otherwise(mut self, delegate: impl ShouldSample + 'static) -> Self {
        self.delegate = Box::new(delegate);
        self
    }

    /// The sampler.
    pub fn build(self) -> RuleSampler {
        RuleSampler {
            rules: Arc::new(self.rules),
            delegate: self.delegate,
        }
    }
}

impl ShouldSample for RuleSampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        span_kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> SamplingResult {
        if self.is_debug(parent_context, attributes) {
            return decide(SamplingDecision::RecordAndSample, parent_context);
        }
        let parent = parent_context.map(|cx| {
            use opentelemetry::trace::TraceContextExt;
            cx.span().span_context().clone()
        });
        let entry = parent
            .as_ref()
            .is_none_or(|sc| !sc.is_valid() || sc.is_remote());
        if entry {
            if self.rules.never.iter().any(|m| m.applies(name, attributes)) {
                return decide(SamplingDecision::Drop, parent_context);
            }
            if let Some((_, ratio)) = self
                .rules
                .ratios
                .iter()
                .find(|(m, _)| m.applies(name, attributes))
            {
                let decision = if within_ratio(trace_id, *ratio) {
                    SamplingDecision::RecordAndSample
                } else {
                    SamplingDecision::Drop
                };
                return decide(decision, parent_context);
            }
        }
        self.delegate
            .should_sample(parent_context, trace_id, name, span_kind, attributes, links)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::baggage::BaggageExt;
    use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceState};

    fn remote_parent(sampled: bool) -> Context {
        let flags = if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        let sc = SpanContext::new(
            TraceId::from(7u128),
            SpanId::from(9u64),
            flags,
            true,
            TraceState::default(),
        );
        Context::new().with_remote_span_context(sc)
    }

    fn decision(
        sampler: &RuleSampler,
        parent: Option<&Context>,
        trace_id: u128,
        name: &str,
        attributes: &[KeyValue],
    ) -> SamplingDecision {
        sampler
            .should_sample(
                parent,
                TraceId::from(trace_id),
                name,
                &SpanKind::Server,
                attributes,
                &[],
            )
            .decision
    }

    fn sampler() -> RuleSampler {
        RuleSampler::builder()
            .debug_baggage("tracewire.debug")
            .debug_header("X-Debug-Trace")
            .never_route("/health")
            .never_name("GET /metrics")
            .ratio_for_route("/checkout", 0.5)
            .build()
    }

    const KEEP: SamplingDecision = SamplingDecision::RecordAndSample;
    const DROP: SamplingDecision = SamplingDecision::Drop;

    #[test]
    fn debug_markers_win_over_an_unsampled_parent_and_over_never_rules() {
        let s = sampler();
        let unsampled = remote_parent(false);
        assert_eq!(decision(&s, Some(&unsampled), 1, "GET", &[]), DROP);
        let with_baggage = unsampled.with_baggage(vec![KeyValue::new("tracewire.debug", "1")]);
        assert_eq!(decision(&s, Some(&with_baggage), 1, "GET", &[]), KEEP);
        let header = KeyValue::new(
            "http.request.header.x-debug-trace",
            Value::Array(Array::String(vec!["yes".into()])),
        );
        let health = KeyValue::new(HTTP_ROUTE, "/health");
        assert_eq!(
            decision(
                &s,
                Some(&unsampled),
                1,
                "GET /health",
                &[health.clone(), header]
            ),
            KEEP
        );
        let off = KeyValue::new(
            "http.request.header.x-debug-trace",
            Value::Array(Array::String(vec!["0".into()])),
        );
        assert_eq!(decision(&s, None, 1, "GET /health", &[health, off]), DROP);
    }

    #[test]
    fn never_rules_apply_to_entry_spans_only() {
        let s = sampler();
        let health = [KeyValue::new(HTTP_ROUTE, "/health")];
        assert_eq!(decision(&s, None, 1, "GET /health", &health), DROP);
        assert_eq!(
            decision(&s, Some(&remote_parent(true)), 1, "GET /health", &health),
            DROP
        );
        assert_eq!(decision(&s, None, 1, "GET /metrics", &[]), DROP);
        // Inside a sampled local trace the child follows its parent.
        let local = SpanContext::new(
            TraceId::from(7u128),
            SpanId::from(9u64),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        );
        let local = Context::new().with_remote_span_context(local);
        assert!(!local.span().span_context().is_remote());
        assert_eq!(decision(&s, Some(&local), 1, "GET /metrics", &[]), KEEP);
    }

    #[test]
    fn route_ratios_are_decided_by_trace_id() {
        let s = sampler();
        let checkout = [KeyValue::new(HTTP_ROUTE, "/checkout")];
        let kept = (0..4000u128)
            .filter(|i| {
                let id = i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
                decision(&s, None, id, "POST /checkout", &checkout) == KEEP
            })
            .count();
        assert!((1800..2200).contains(&kept), "{kept}");
        // Same trace id, same decision, every time.
        let id = 0x1234_5678_9abc_def0_1234_5678_9abc_def0;
        let first = decision(&s, None, id, "POST /checkout", &checkout);
        assert!((0..10).all(|_| decision(&s, None, id, "POST /checkout", &checkout) == first));
    }

    #[test]
    fn unmatched_spans_go_to_the_delegate() {
        let s = sampler();
        assert_eq!(decision(&s, None, 1, "GET /", &[]), KEEP);
        assert_eq!(
            decision(&s, Some(&remote_parent(false)), 1, "GET /", &[]),
            DROP
        );
        let off = RuleSampler::builder().otherwise(Sampler::AlwaysOff).build();
        assert_eq!(decision(&off, None, 1, "GET /", &[]), DROP);
    }
}

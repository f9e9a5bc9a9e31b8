//! Samplers that keep the traces that matter while keeping cost down.
//!
//! Head samplers decide when a span starts, from what is known then:
//! - [`RateLimitingSampler`]: at most N new traces per second, steady under bursts;
//! - [`RuleSampler`]: debug markers always sampled, health checks never, a ratio per route or span name,
//!   everything else handed to a delegate (by default the spec's `ParentBased(AlwaysOn)`).
//!
//! Both are [`ShouldSample`](opentelemetry_sdk::trace::ShouldSample) implementations, so they compose with
//! the SDK's own: `Sampler::ParentBased(Box::new(RateLimitingSampler::per_second(100.0)))` honours the
//! caller's decision and limits only new traces.
//!
//! The tail sampler ([`TailSampler`]) decides when a trace's local root ends, from the whole local trace:
//! errors and slow traces are kept, the rest by a baseline ratio.

mod rate_limit;
mod rules;
mod tail;

pub use rate_limit::RateLimitingSampler;
pub use rules::{RuleSampler, RuleSamplerBuilder};
pub use tail::{TailSampler, TailSampling, TailStats};

use opentelemetry::Context;
use opentelemetry::trace::{TraceContextExt, TraceId};
use opentelemetry_sdk::trace::{SamplingDecision, SamplingResult};

/// A decision carrying the parent's `tracestate` on, as samplers must.
pub(crate) fn decide(decision: SamplingDecision, parent: Option<&Context>) -> SamplingResult {
    SamplingResult {
        decision,
        attributes: Vec::new(),
        trace_state: parent
            .map(|cx| cx.span().span_context().trace_state().clone())
            .unwrap_or_default(),
    }
}

/// Whether `trace_id` falls within `ratio`, deterministically and consistently across processes that
/// use the same rule: the trace id's last 56 bits (its W3C random part) against a threshold, as the
/// consistent-probability-sampling spec does. A higher ratio keeps a superset of a lower one.
pub(crate) fn within_ratio(trace_id: TraceId, ratio: f64) -> bool {
    if ratio >= 1.0 {
        return true;
    }
    if ratio <= 0.0 || ratio.is_nan() {
        return false;
    }
    const MAX: u64 = 1 << 56;
    let randomness = (u128::from_be_bytes(trace_id.to_bytes()) as u64) & (MAX - 1);
    let threshold = ((1.0 - ratio) * MAX as f64) as u64;
    randomness >= threshold
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_is_monotone_and_close_to_its_share() {
        let ids: Vec<TraceId> = (0..20_000u128)
            .map(|i| TraceId::from(i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)))
            .collect();
        let kept = |r: f64| ids.iter().filter(|id| within_ratio(**id, r)).count();
        let quarter = kept(0.25) as f64 / ids.len() as f64;
        assert!((0.22..0.28).contains(&quarter), "{quarter}");
        for id in &ids {
            if within_ratio(*id, 0.1) {
                assert!(within_ratio(*id, 0.5));
            }
        }
        assert_eq!(kept(0.0), 0);
        assert_eq!(kept(1.0), ids.len());
    }
}

use std::sync::{Arc, Mutex};
use std::time::Instant;

use opentelemetry::trace::{Link, SpanKind, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{SamplingDecision, SamplingResult, ShouldSample};

use super::decide;

/// Samples at most `rate` new traces per second with a token bucket: the bucket holds up to one second
/// of tokens, so a burst after a quiet period takes at most `rate` traces and the long-run rate never
/// exceeds `rate`, however bursty the load.
///
/// It decides for every span it is asked about; put it under `ParentBased` so that it limits only
/// roots and children follow their parent:
///
/// ```
/// use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
/// use tracewire::sampling::RateLimitingSampler;
/// let provider = SdkTracerProvider::builder()
///     .with_sampler(Sampler::ParentBased(Box::new(RateLimitingSampler::per_second(50.0))))
///     .build();
/// # drop(provider);
/// ```
#[derive(Clone, Debug)]
pub struct RateLimitingSampler {
    rate: f64,
    bucket: Arc<Mutex<Bucket>>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl RateLimitingSampler {
    /// At most `rate` traces per second (a negative or NaN rate samples nothing).
    pub fn per_second(rate: f64) -> Self {
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            0.0
        };
        RateLimitingSampler {
            rate,
            bucket: Arc::new(Mutex::new(Bucket {
                tokens: rate,
                last: Instant::now(),
            })),
        }
    }

    /// The configured rate.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Takes a token at `now` if one is available. Public within the crate for deterministic tests.
    pub(crate) fn try_acquire(&self, now: Instant) -> bool {
        let Ok(mut bucket) = self.bucket.lock() else {
            return false;
        };
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.last = bucket.last.max(now);
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.rate.max(1.0));
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl ShouldSample for RateLimitingSampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        _trace_id: TraceId,
        _name: &str,
        _span_kind: &SpanKind,
        _attributes: &[KeyValue],
        _links: &[Link],
    ) -> SamplingResult {
        let decision = if self.try_acquire(Instant::now()) {
            SamplingDecision::RecordAndSample
        } else {
            SamplingDecision::Drop
        };
        decide(decision, parent_context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_takes_one_second_of_tokens_then_the_rate_holds() {
        let sampler = RateLimitingSampler::per_second(10.0);
        let t0 = Instant::now();
        let burst = (0..1000).filter(|_| sampler.try_acquire(t0)).count();
        assert_eq!(burst, 10);
        // Over the next 5 s, at 1000 attempts per second: 5 s × 10 per second.
        let steady = (1..=5000)
            .filter(|i| sampler.try_acquire(t0 + Duration::from_millis(*i)))
            .count();
        // Float accumulation may land the 50th token a hair after the last attempt.
        assert!((49..=50).contains(&steady), "{steady}");
        // A long pause refills at most one second's worth.
        let later = t0 + Duration::from_secs(60);
        assert_eq!((0..1000).filter(|_| sampler.try_acquire(later)).count(), 10);
    }

    #[test]
    fn fractional_rates_and_nonsense() {
        let slow = RateLimitingSampler::per_second(0.5);
        let t0 = Instant::now();
        assert!(slow.try_acquire(t0 + Duration::from_secs(2)));
        assert!(!slow.try_acquire(t0 + Duration::from_secs(2)));
        assert!(slow.try_acquire(t0 + Duration::from_secs(4)));
        let none = RateLimitingSampler::per_second(f64::NAN);
        assert!(!none.try_acquire(t0 + Duration::from_secs(10)));
    }
}

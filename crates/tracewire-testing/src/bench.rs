//! Helpers for the side-by-side benchmarks: a span processor that drops finished spans (so a benchmark
//! measures making spans, not an export pipeline), this process's CPU time, medians.
//!
//! ```
//! use tracewire_testing::bench::{median, process_cpu};
//! let before = process_cpu();
//! let cost = process_cpu().saturating_sub(before).as_secs_f64();
//! assert!(cost >= 0.0);
//! assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
//! ```

use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

/// A span processor that drops every finished span.
///
/// ```
/// let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
///     .with_span_processor(tracewire_testing::bench::DiscardSpans)
///     .build();
/// # let _ = provider;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct DiscardSpans;

impl SpanProcessor for DiscardSpans {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        std::hint::black_box(span);
    }

    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }
}

/// CPU time of every thread of this process, from `/proc/self/task/*/schedstat` (nanosecond
/// resolution; zero where `/proc` is not available).
///
/// ```
/// use tracewire_testing::bench::process_cpu;
/// let before = process_cpu();
/// let sum: u64 = (0..1_000_000u64).map(std::hint::black_box).sum();
/// let spent = process_cpu().saturating_sub(before); // threads may exit meanwhile
/// println!("summed to {sum} in {spent:?} of CPU");
/// ```
pub fn process_cpu() -> Duration {
    let mut total = 0u64;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            total += stat
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Duration::from_nanos(total)
}

/// CPU time of the calling thread, from `/proc/thread-self/schedstat` (nanosecond resolution; zero where
/// `/proc` is not available): separates the work a client library does on the application's thread from
/// what its own I/O threads do.
///
/// ```
/// use tracewire_testing::bench::thread_cpu;
/// let before = thread_cpu();
/// let sum: u64 = (0..1_000_000u64).map(std::hint::black_box).sum();
/// let spent = thread_cpu().saturating_sub(before);
/// println!("summed to {sum} in {spent:?} of this thread's CPU");
/// ```
pub fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let nanos = stat
        .split_whitespace()
        .next()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    Duration::from_nanos(nanos)
}

/// User-mode CPU time of this process (every thread), from `/proc/self/stat`: what the process's own code
/// spent, without the system calls whose number varies with how I/O happens to batch from run to run.
/// The kernel counts it in 10 ms ticks, so measure at least a second of work (zero where `/proc` is not
/// available).
///
/// ```
/// use tracewire_testing::bench::process_user_cpu;
/// let before = process_user_cpu();
/// let sum: u64 = (0..1_000_000u64).map(std::hint::black_box).sum();
/// let spent = process_user_cpu().saturating_sub(before);
/// println!("summed to {sum} in {spent:?} of user CPU");
/// ```
pub fn process_user_cpu() -> Duration {
    // `/proc/[pid]/stat`: the command name (field 2) is in parentheses and may hold spaces, so fields are
    // counted after the last `)`; `utime` is field 14, in USER_HZ ticks (100 per second on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let ticks = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(11))
        .and_then(|utime| utime.parse::<u64>().ok())
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// Installs, as the global meter provider, an SDK meter provider that aggregates every measurement and
/// is read once an hour (never during a benchmark run), so benchmarks pay what an application exporting
/// metrics pays. Keep the returned provider alive for the run.
///
/// ```
/// let meters = tracewire_testing::bench::install_meter_provider();
/// let counter = opentelemetry::global::meter("doc").u64_counter("jobs").build();
/// counter.add(1, &[]);
/// # let _ = meters.shutdown();
/// ```
pub fn install_meter_provider() -> opentelemetry_sdk::metrics::SdkMeterProvider {
    use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
    let provider = SdkMeterProvider::builder()
        .with_reader(
            PeriodicReader::builder(InMemoryMetricExporter::default())
                .with_interval(Duration::from_secs(3600))
                .build(),
        )
        .build();
    opentelemetry::global::set_meter_provider(provider.clone());
    provider
}

/// The median (NaN for no values).
///
/// ```
/// use tracewire_testing::bench::median;
/// assert_eq!(median(vec![5.0, 1.0, 3.0]), 3.0);
/// assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 3.0); // the upper middle of an even count
/// assert!(median(vec![]).is_nan());
/// ```
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// A count from the environment variable `name`, or `default`.
///
/// ```
/// use tracewire_testing::bench::env_count;
/// // `TRACEWIRE_DOC_SPANS=5000 cargo bench` would override the default.
/// assert_eq!(env_count("TRACEWIRE_DOC_SPANS", 1000), 1000);
/// ```
pub fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

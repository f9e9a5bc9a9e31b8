//! Reading the OpenTelemetry environment variables (spec v1.60.0, "SDK environment configuration").
//!
//! [`Config::from_env`] reads the process environment; [`Config::from_lookup`] reads any source, which is
//! how the tests check every variable without touching the process environment. An invalid value never
//! fails: it becomes a [`ConfigWarning`] naming the variable, the value and what is used instead.
//!
//! ```
//! use tracewire::env::{Config, Protocol};
//! let vars = [
//!     ("OTEL_SERVICE_NAME", "checkout"),
//!     ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
//!     ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
//!     ("OTEL_TRACES_SAMPLER_ARG", "2.5"),
//! ];
//! let config = Config::from_lookup(|name| {
//!     vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
//! });
//! assert_eq!(config.service_name.as_deref(), Some("checkout"));
//! assert_eq!(config.traces.protocol, Protocol::Grpc);
//! assert_eq!(config.traces.endpoint, "http://localhost:4317");
//! // 2.5 is not a probability: warned about, and the default ratio 1.0 is used.
//! assert_eq!(config.warnings[0].variable, "OTEL_TRACES_SAMPLER_ARG");
//! ```

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A variable whose value could not be used.
///
/// ```
/// use tracewire::Config;
/// let config = Config::from_lookup(|name| (name == "OTEL_BSP_MAX_QUEUE_SIZE").then(|| "lots".to_owned()));
/// let warning = &config.warnings[0];
/// assert_eq!(warning.variable, "OTEL_BSP_MAX_QUEUE_SIZE");
/// assert_eq!(warning.value, "lots");
/// assert_eq!(warning.used, "2048");
/// assert_eq!(
///     warning.to_string(),
///     "OTEL_BSP_MAX_QUEUE_SIZE=\"lots\" is not a positive integer; using 2048"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The variable's name.
    pub variable: &'static str,
    /// The value found (redacted where it may hold secrets).
    pub value: String,
    /// What was wrong with it.
    pub problem: String,
    /// What is used instead.
    pub used: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={:?} {}; using {}",
            self.variable, self.value, self.problem, self.used
        )
    }
}

/// A context propagator named in `OTEL_PROPAGATORS`.
///
/// ```
/// use tracewire::Config;
/// use tracewire::env::PropagatorKind;
/// let config = Config::from_lookup(|name| {
///     (name == "OTEL_PROPAGATORS").then(|| "tracecontext,jaeger,tracecontext".to_owned())
/// });
/// assert_eq!(config.propagators, [PropagatorKind::TraceContext, PropagatorKind::Jaeger]);
/// let names: Vec<&str> = config.propagators.iter().map(|p| p.name()).collect();
/// assert_eq!(names, ["tracecontext", "jaeger"]);
/// // Unset: the spec's default.
/// let default = Config::from_lookup(|_| None).propagators;
/// assert_eq!(default, [PropagatorKind::TraceContext, PropagatorKind::Baggage]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropagatorKind {
    /// W3C Trace Context (`traceparent`, `tracestate`).
    TraceContext,
    /// W3C Baggage (`baggage`).
    Baggage,
    /// Zipkin B3, single `b3` header.
    B3,
    /// Zipkin B3, multiple `X-B3-*` headers.
    B3Multi,
    /// Jaeger (`uber-trace-id`, `uberctx-*`), tracewire's own
    /// [`JaegerPropagator`](tracewire_core::propagation::JaegerPropagator).
    Jaeger,
}

impl PropagatorKind {
    /// The name used in `OTEL_PROPAGATORS`.
    pub fn name(self) -> &'static str {
        match self {
            PropagatorKind::TraceContext => "tracecontext",
            PropagatorKind::Baggage => "baggage",
            PropagatorKind::B3 => "b3",
            PropagatorKind::B3Multi => "b3multi",
            PropagatorKind::Jaeger => "jaeger",
        }
    }
}

/// The sampler named by `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.
///
/// ```
/// use tracewire::Config;
/// use tracewire::env::SamplerKind;
/// let vars = [("OTEL_TRACES_SAMPLER", "traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "0.25")];
/// let config = Config::from_lookup(|name| {
///     vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
/// });
/// assert_eq!(config.sampler, SamplerKind::TraceIdRatio(0.25));
/// assert_eq!(config.sampler.to_string(), "traceidratio(0.25)");
/// // Unset: the spec's default.
/// assert_eq!(Config::from_lookup(|_| None).sampler, SamplerKind::ParentBasedAlwaysOn);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SamplerKind {
    /// `always_on`.
    AlwaysOn,
    /// `always_off`.
    AlwaysOff,
    /// `traceidratio` with its ratio.
    TraceIdRatio(f64),
    /// `parentbased_always_on`, the default.
    ParentBasedAlwaysOn,
    /// `parentbased_always_off`.
    ParentBasedAlwaysOff,
    /// `parentbased_traceidratio` with its ratio.
    ParentBasedTraceIdRatio(f64),
}

impl fmt::Display for SamplerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SamplerKind::AlwaysOn => f.write_str("always_on"),
            SamplerKind::AlwaysOff => f.write_str("always_off"),
            SamplerKind::TraceIdRatio(r) => write!(f, "traceidratio({r})"),
            SamplerKind::ParentBasedAlwaysOn => f.write_str("parentbased_always_on"),
            SamplerKind::ParentBasedAlwaysOff => f.write_str("parentbased_always_off"),
            SamplerKind::ParentBasedTraceIdRatio(r) => write!(f, "parentbased_traceidratio({r})"),
        }
    }
}

/// Where finished spans (or metrics) go: `OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER`.
///
/// ```
/// use tracewire::Config;
/// use tracewire::env::ExporterKind;
/// let vars = [("OTEL_TRACES_EXPORTER", "otlp,console"), ("OTEL_METRICS_EXPORTER", "none")];
/// let config = Config::from_lookup(|name| {
///     vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
/// });
/// assert_eq!(config.traces_exporter, Some(vec![ExporterKind::Otlp, ExporterKind::Console]));
/// // `none`: no metrics export at all (unset would be `None`: the default rule).
/// assert_eq!(config.metrics_exporter, Some(vec![]));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExporterKind {
    /// OTLP to a collector.
    Otlp,
    /// A waterfall per finished trace on standard error (traces only).
    Console,
}

/// OTLP transport: `OTEL_EXPORTER_OTLP_PROTOCOL` and its per-signal variants.
///
/// ```
/// use tracewire::Config;
/// use tracewire::env::Protocol;
/// let vars = [
///     ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
///     ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf"),
/// ];
/// let config = Config::from_lookup(|name| {
///     vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
/// });
/// assert_eq!(config.traces.protocol, Protocol::Grpc);
/// assert_eq!(config.traces.endpoint, "http://localhost:4317");
/// // The per-signal variable wins over the generic one.
/// assert_eq!(config.metrics.protocol, Protocol::HttpProtobuf);
/// assert_eq!(config.metrics.protocol.name(), "http/protobuf");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `grpc`.
    Grpc,
    /// `http/protobuf`, the spec's default.
    HttpProtobuf,
}

impl Protocol {
    /// The name used in `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
        }
    }
}

/// The OTLP settings of one signal, per-signal variables winning over the generic ones.
///
/// ```
/// use std::time::Duration;
/// use tracewire::Config;
/// let vars = [
///     ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector.example.com:4318/"),
///     ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=secret%20key"),
///     ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
///     ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2500"),
/// ];
/// let config = Config::from_lookup(|name| {
///     vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
/// });
/// let traces = &config.traces;
/// // Over HTTP the generic endpoint is a base URL: the signal's path is appended.
/// assert_eq!(traces.endpoint, "https://collector.example.com:4318/v1/traces");
/// assert!(traces.endpoint_configured);
/// assert_eq!(traces.headers, [("api-key".to_owned(), "secret key".to_owned())]);
/// assert!(traces.gzip);
/// assert_eq!(traces.timeout, Duration::from_millis(2500));
/// // The traces-only timeout leaves metrics at the default.
/// assert_eq!(config.metrics.endpoint, "https://collector.example.com:4318/v1/metrics");
/// assert_eq!(config.metrics.timeout, Duration::from_secs(10));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtlpConfig {
    /// The URL exported to: for HTTP, the full URL (`…/v1/traces`); for gRPC, the collector address.
    pub endpoint: String,
    /// Whether an endpoint variable was set (the console default applies only when none was).
    pub endpoint_configured: bool,
    /// Transport.
    pub protocol: Protocol,
    /// Extra request headers (gRPC metadata), such as an API key. Never printed.
    pub headers: Vec<(String, String)>,
    /// Per-export timeout (10 s by default; `0` means no limit, taken as one hour).
    pub timeout: Duration,
    /// `gzip` compression.
    pub gzip: bool,
    /// `OTEL_EXPORTER_OTLP_INSECURE` (gRPC without a scheme).
    pub insecure: bool,
    /// `OTEL_EXPORTER_OTLP_CERTIFICATE`: a PEM file of trusted roots.
    pub certificate: Option<PathBuf>,
    /// `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`: a PEM client certificate (mTLS).
    pub client_certificate: Option<PathBuf>,
    /// `OTEL_EXPORTER_OTLP_CLIENT_KEY`: its PEM key.
    pub client_key: Option<PathBuf>,
}

/// The batch span processor's settings (`OTEL_BSP_*`).
///
/// ```
/// use std::time::Duration;
/// use tracewire::Config;
/// use tracewire::env::BatchSettings;
/// let vars = [("OTEL_BSP_MAX_QUEUE_SIZE", "8192"), ("OTEL_BSP_SCHEDULE_DELAY", "1000")];
/// let config = Config::from_lookup(|name| {
///     vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
/// });
/// let expected = BatchSettings {
///     max_queue_size: 8192,
///     schedule_delay: Duration::from_secs(1),
///     ..BatchSettings::default()
/// };
/// assert_eq!(config.batch, expected);
/// assert_eq!(config.batch.max_export_batch_size, 512);
/// assert!(config.warnings.is_empty());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchSettings {
    /// Delay between two exports (5 s).
    pub schedule_delay: Duration,
    /// Longest time one export may take (30 s); the OTLP exporter's timeout is the smaller of this and
    /// `OTEL_EXPORTER_OTLP_TIMEOUT`.
    pub export_timeout: Duration,
    /// Spans held for export; beyond it spans are dropped and counted (2048).
    pub max_queue_size: usize,
    /// Spans per export (512, at most the queue size).
    pub max_export_batch_size: usize,
}

impl Default for BatchSettings {
    fn default() -> Self {
        BatchSettings {
            schedule_delay: Duration::from_millis(5000),
            export_timeout: Duration::from_millis(30000),
            max_queue_size: 2048,
            max_export_batch_size: 512,
        }
    }
}

/// Log line format of the installed `tracing` subscriber (`TRACEWIRE_LOG_FORMAT`: `text` or `json`).
///
/// ```
/// use tracewire::Config;
/// use tracewire::env::LogFormat;
/// let config = Config::from_lookup(|name| (name == "TRACEWIRE_LOG_FORMAT").then(|| "JSON".to_owned()));
/// assert_eq!(config.log_format, LogFormat::Json);
/// assert_eq!(Config::from_lookup(|_| None).log_format, LogFormat::Text);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event, ending in `trace_id=… span_id=…`.
    Text,
    /// One JSON object per event with `trace_id` and `span_id` fields.
    Json,
    /// No log output (spans only).
    Off,
}

/// Everything tracewire reads from the environment, after validation.
///
/// ```
/// use tracewire::{Builder, Config};
/// // `Config::from_env()` reads the process environment; any other source goes through `from_lookup`.
/// let config = Config::from_lookup(|name| match name {
///     "OTEL_SERVICE_NAME" => Some("checkout".to_owned()),
///     "OTEL_SDK_DISABLED" => Some("yes".to_owned()),
///     _ => None,
/// });
/// assert_eq!(config.service_name.as_deref(), Some("checkout"));
/// // "yes" is not a boolean: warned about, and `false` is used.
/// assert!(!config.sdk_disabled);
/// assert_eq!(config.warnings[0].variable, "OTEL_SDK_DISABLED");
/// // Code overrides go on top of it.
/// let _builder = Builder::from_config(config).service_version("1.4.2");
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// `OTEL_SDK_DISABLED`: no spans or metrics are recorded or exported; propagation still works.
    pub sdk_disabled: bool,
    /// `OTEL_SERVICE_NAME`.
    pub service_name: Option<String>,
    /// `OTEL_RESOURCE_ATTRIBUTES`, decoded.
    pub resource_attributes: Vec<(String, String)>,
    /// `OTEL_PROPAGATORS`, deduplicated, in order.
    pub propagators: Vec<PropagatorKind>,
    /// `OTEL_TRACES_SAMPLER` with its argument.
    pub sampler: SamplerKind,
    /// `OTEL_TRACES_EXPORTER`; `None` when unset (see [`crate::Builder`] for the default rule).
    pub traces_exporter: Option<Vec<ExporterKind>>,
    /// `OTEL_METRICS_EXPORTER`; `None` when unset.
    pub metrics_exporter: Option<Vec<ExporterKind>>,
    /// OTLP settings for traces.
    pub traces: OtlpConfig,
    /// OTLP settings for metrics.
    pub metrics: OtlpConfig,
    /// `OTEL_BSP_*`.
    pub batch: BatchSettings,
    /// `OTEL_METRIC_EXPORT_INTERVAL` (60 s).
    pub metric_export_interval: Duration,
    /// `TRACEWIRE_LOG_FORMAT`.
    pub log_format: LogFormat,
    /// `RUST_LOG`, else `OTEL_LOG_LEVEL` for the SDK's own logs on top of `info`.
    pub log_filter: String,
    /// `TRACEWIRE_OTEL_FILTER`: which `tracing` spans and events reach OpenTelemetry (as spans and span
    /// events), in `RUST_LOG`'s directive syntax; `info` when unset or invalid.
    pub otel_filter: String,
    /// Everything that could not be used as given.
    pub warnings: Vec<ConfigWarning>,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Config {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup` (a map in tests, the process environment in [`from_env`](Self::from_env)).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Config {
        let mut env = Env {
            lookup: &lookup,
            warnings: Vec::new(),
        };
        let sdk_disabled = env.boolean("OTEL_SDK_DISABLED");
        let service_name = env.get("OTEL_SERVICE_NAME");
        let resource_attributes = env.resource_attributes();
        let propagators = env.propagators();
        let sampler = env.sampler();
        let traces_exporter = env.exporters("OTEL_TRACES_EXPORTER", true);
        let metrics_exporter = env.exporters("OTEL_METRICS_EXPORTER", false);
        let traces = env.otlp(Signal::Traces);
        let metrics = env.otlp(Signal::Metrics);
        let batch = env.batch();
        let metric_export_interval =
            env.interval("OTEL_METRIC_EXPORT_INTERVAL", Duration::from_secs(60));
        let log_format = match env.get("TRACEWIRE_LOG_FORMAT") {
            None => LogFormat::Text,
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                "off" | "none" => LogFormat::Off,
                _ => {
                    env.warn(
                        "TRACEWIRE_LOG_FORMAT",
                        &v,
                        "is not text, json or off",
                        "text",
                    );
                    LogFormat::Text
                }
            },
        };
        let log_filter = env.log_filter();
        let otel_filter = env.otel_filter();
        Config {
            sdk_disabled,
            service_name,
            resource_attributes,
            propagators,
            sampler,
            traces_exporter,
            metrics_exporter,
            traces,
            metrics,
            batch,
            metric_export_interval,
            log_format,
            log_filter,
            otel_filter,
            warnings: env.warnings,
        }
    }
}

#[derive(Clone, Copy)]
enum Signal {
    Traces,
    Metrics,
}

mod otlp;

struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    warnings: Vec<ConfigWarning>,
}

impl Env<'_> {
    /// A variable's value; empty counts as unset (spec §6.1).
    fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn warn(&mut self, variable: &'static str, value: &str, problem: &str, used: &str) {
        self.warnings.push(ConfigWarning {
            variable,
            value: value.to_owned(),
            problem: problem.to_owned(),
            used: used.to_owned(),
        });
    }

    fn boolean(&mut self, name: &'static str) -> bool {
        match self.get(name) {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => {
                self.warn(name, &v, "is not true or false", "false");
                false
            }
        }
    }

    fn count(&mut self, name: &'static str, default: usize) -> usize {
        match self.get(name) {
            None => default,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => {
                    self.warn(name, &v, "is not a positive integer", &default.to_string());
                    default
                }
            },
        }
    }

    /// Milliseconds; negative or unparsable values fall back to the default, `0` means no limit.
    fn millis(&mut self, name: &'static str, default: Duration) -> Duration {
        match self.get(name) {
            None => default,
            Some(v) => match v.parse::<i64>() {
                Ok(0) => NO_LIMIT,
                Ok(ms) if ms > 0 => Duration::from_millis(ms.unsigned_abs()),
                _ => {
                    let used = format!("{} ms", default.as_millis());
                    self.warn(
                        name,
                        &v,
                        "is not a non-negative number of milliseconds",
                        &used,
                    );
                    default
                }
            },
        }
    }

    /// A delay or interval in milliseconds: `0` would make the exporter spin, so it is refused too.
    fn interval(&mut self, name: &'static str, default: Duration) -> Duration {
        match self.get(name) {
            None => default,
            Some(v) => match v.parse::<u64>() {
                Ok(ms) if ms > 0 => Duration::from_millis(ms),
                _ => {
                    let used = format!("{} ms", default.as_millis());
                    self.warn(name, &v, "is not a positive number of milliseconds", &used);
                    default
                }
            },
        }
    }

    fn resource_attributes(&mut self) -> Vec<(String, String)> {
        const NAME: &str = "OTEL_RESOURCE_ATTRIBUTES";
        let Some(raw) = self.get(NAME) else {
            return Vec::new();
        };
        match parse_pairs(&raw) {
            Some(pairs) => pairs,
            None => {
                // The spec: on any decode error the whole variable is discarded.
                self.warn(
                    NAME,
                    &raw,
                    "is not a list of key=value pairs",
                    "no attributes from it",
                );
                Vec::new()
            }
        }
    }

    fn propagators(&mut self) -> Vec<PropagatorKind> {
        const NAME: &str = "OTEL_PROPAGATORS";
        let default = vec![PropagatorKind::TraceContext, PropagatorKind::Baggage];
        let Some(raw) = self.get(NAME) else {
            return default;
        };
        let mut out = Vec::new();
        let mut none = false;
        for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let kind = match name.to_ascii_lowercase().as_str() {
                "tracecontext" => PropagatorKind::TraceContext,
                "baggage" => PropagatorKind::Baggage,
                "b3" if cfg!(feature = "b3") => PropagatorKind::B3,
                "b3multi" if cfg!(feature = "b3") => PropagatorKind::B3Multi,
                "b3" | "b3multi" => {
                    self.warn(NAME, name, "needs tracewire's `b3` feature", "the others");
                    continue;
                }
                "jaeger" => PropagatorKind::Jaeger,
                "none" => {
                    none = true;
                    continue;
                }
                "xray" | "ottrace" => {
                    self.warn(
                        NAME,
                        name,
                        "has no maintained propagator crate for opentelemetry 0.33",
                        "the others",
                    );
                    continue;
                }
                _ => {
                    self.warn(NAME, name, "is not a known propagator", "the others");
                    continue;
                }
            };
            if !out.contains(&kind) {
                out.push(kind);
            }
        }
        if none {
            if !out.is_empty() {
                self.warn(NAME, &raw, "names `none` with others", "none");
            }
            return Vec::new();
        }
        out
    }

    fn sampler(&mut self) -> SamplerKind {
        let Some(raw) = self.get("OTEL_TRACES_SAMPLER") else {
            return SamplerKind::ParentBasedAlwaysOn;
        };
        let ratio = |env: &mut Self| -> f64 {
            const ARG: &str = "OTEL_TRACES_SAMPLER_ARG";
            match env.get(ARG) {
                None => 1.0,
                Some(v) => match v.parse::<f64>() {
                    Ok(r) if (0.0..=1.0).contains(&r) => r,
                    _ => {
                        env.warn(ARG, &v, "is not a probability in [0, 1]", "1.0");
                        1.0
                    }
                },
            }
        };
        match raw.to_ascii_lowercase().as_str() {
            "always_on" => SamplerKind::AlwaysOn,
            "always_off" => SamplerKind::AlwaysOff,
            "traceidratio" => SamplerKind::TraceIdRatio(ratio(self)),
            "parentbased_always_on" => SamplerKind::ParentBasedAlwaysOn,
            "parentbased_always_off" => SamplerKind::ParentBasedAlwaysOff,
            "parentbased_traceidratio" => SamplerKind::ParentBasedTraceIdRatio(ratio(self)),
            _ => {
                let problem = "is not a sampler this SDK supports (jaeger_remote and xray are not)";
                self.warn(
                    "OTEL_TRACES_SAMPLER",
                    &raw,
                    problem,
                    "parentbased_always_on",
                );
                SamplerKind::ParentBasedAlwaysOn
            }
        }
    }

    fn exporters(&mut self, name: &'static str, traces: bool) -> Option<Vec<ExporterKind>> {
        let raw = self.get(name)?;
        let mut out = Vec::new();
        for value in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let kind = match value.to_ascii_lowercase().as_str() {
                "otlp" => ExporterKind::Otlp,
                "console" | "logging" if traces => ExporterKind::Console,
                "none" => continue,
                _ => {
                    let problem = if traces {
                        "is not otlp, console or none"
                    } else {
                        "is not otlp or none"
                    };
                    self.warn(name, value, problem, "the others");
                    continue;
                }
            };
            if !out.contains(&kind) {
                out.push(kind);
            }
        }
        Some(out)
    }

    fn batch(&mut self) -> BatchSettings {
        let d = BatchSettings::default();
        let max_queue_size = self.count("OTEL_BSP_MAX_QUEUE_SIZE", d.max_queue_size);
        let mut max_export_batch_size =
            self.count("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", d.max_export_batch_size);
        if max_export_batch_size > max_queue_size {
            let value = max_export_batch_size.to_string();
            let used = max_queue_size.to_string();
            self.warn(
                "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                &value,
                "is larger than OTEL_BSP_MAX_QUEUE_SIZE",
                &used,
            );
            max_export_batch_size = max_queue_size;
        }
        BatchSettings {
            schedule_delay: self.interval("OTEL_BSP_SCHEDULE_DELAY", d.schedule_delay),
            export_timeout: self.millis("OTEL_BSP_EXPORT_TIMEOUT", d.export_timeout),
            max_queue_size,
            max_export_batch_size,
        }
    }

    fn otel_filter(&mut self) -> String {
        const DEFAULT: &str = "info";
        match self.get("TRACEWIRE_OTEL_FILTER") {
            None => DEFAULT.to_owned(),
            Some(filter) => match tracing_subscriber::EnvFilter::try_new(&filter) {
                Ok(_) => filter,
                Err(_) => {
                    self.warn(
                        "TRACEWIRE_OTEL_FILTER",
                        &filter,
                        "is not a filter in RUST_LOG's syntax",
                        DEFAULT,
                    );
                    DEFAULT.to_owned()
                }
            },
        }
    }

    fn log_filter(&mut self) -> String {
        if let Some(filter) = self.get("RUST_LOG") {
            return filter;
        }
        let sdk = match self.get("OTEL_LOG_LEVEL") {
            None => "warn".to_owned(),
            Some(level) => match level.to_ascii_lowercase().as_str() {
                l @ ("error" | "warn" | "info" | "debug" | "trace") => l.to_owned(),
                "none" | "off" => "off".to_owned(),
                _ => {
                    self.warn("OTEL_LOG_LEVEL", &level, "is not a log level", "warn");
                    "warn".to_owned()
                }
            },
        };
        format!("info,opentelemetry={sdk},opentelemetry_sdk={sdk},opentelemetry_otlp={sdk}")
    }
}

/// "No limit" for durations read as `0`: long enough never to fire, short enough to add to an `Instant`.
const NO_LIMIT: Duration = Duration::from_secs(3600);

/// `k1=v1,k2=v2` with percent-encoded keys and values (the `OTEL_RESOURCE_ATTRIBUTES` and
/// `OTEL_EXPORTER_OTLP_HEADERS` format). `None` when any pair is malformed.
pub(crate) fn parse_pairs(raw: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    for pair in raw.split(',') {
        if pair.trim().is_empty() {
            continue;
        }
        let (key, value) = pair.split_once('=')?;
        let key = tracewire_core::propagation::w3c::percent_decode(key.trim())?;
        let value = tracewire_core::propagation::w3c::percent_decode(value.trim())?;
        if key.is_empty() {
            return None;
        }
        out.push((key, value));
    }
    Some(out)
}

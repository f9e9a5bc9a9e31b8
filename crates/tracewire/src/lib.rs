//! One call sets up OpenTelemetry for a service: resource, propagators, sampler, OTLP export of traces
//! and metrics, and a `tracing` subscriber whose log lines carry `trace_id` and `span_id`, all from the
//! standard `OTEL_*` environment variables.
//!
//! ```no_run
//! #[tokio::main]
//! async fn main() {
//!     let _telemetry = tracewire::init(); // flushes and shuts down (within 5 s) when dropped
//!     tracing::info!("checkout service starting");
//!     // … build the axum Router with tracewire_http's layer, serve …
//! }
//! ```
//!
//! Or with code overrides:
//!
//! ```no_run
//! use std::time::Duration;
//! use tracewire::sampling::{RuleSampler, TailSampling};
//! let _telemetry = tracewire::Builder::from_env()
//!     .service_name("checkout")
//!     .sampler(RuleSampler::builder().debug_header("x-debug-trace").never_route("/health").build())
//!     .tail_sampling(TailSampling::new().keep_slower_than(Duration::from_millis(300)))
//!     .install();
//! ```
//!
//! # What is read from the environment
//! `OTEL_SDK_DISABLED`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_PROPAGATORS`
//! (`tracecontext`, `baggage`, `b3`, `b3multi`, `jaeger`, `none`), `OTEL_TRACES_SAMPLER` and `_ARG` (`always_on`,
//! `always_off`, `traceidratio`, `parentbased_*`), `OTEL_TRACES_EXPORTER` (`otlp`, `console`, `none`),
//! `OTEL_METRICS_EXPORTER` (`otlp`, `none`), `OTEL_EXPORTER_OTLP_*` and the `_TRACES_`/`_METRICS_`
//! variants (endpoint, protocol `grpc` or `http/protobuf`, headers, timeout, compression `gzip`),
//! `OTEL_BSP_*`, `OTEL_METRIC_EXPORT_INTERVAL`, `OTEL_LOG_LEVEL`, plus `RUST_LOG` (the log filter),
//! `TRACEWIRE_OTEL_FILTER` (which `tracing` spans and events reach OpenTelemetry; `info` by default) and
//! `TRACEWIRE_LOG_FORMAT` (`text`, `json`, `off`). See [`env`](mod@env) for each rule. An invalid value is
//! reported as a warning naming the variable and the value used instead; setup never panics.
//!
//! # One default for every signal
//! When no exporter variable (`OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER`) and no OTLP endpoint
//! variable is set and the build has debug assertions (a `cargo run` build), traces are printed as
//! waterfalls on standard error and no metrics are recorded, instead of sending both to
//! `localhost:4318`, where nothing usually listens on a laptop. Release builds, or any configured
//! exporter or endpoint, send every signal over OTLP unless that signal's own variable says otherwise.
//! [`Builder::otlp`] switches every signal, [`Builder::traces_otlp`] and [`Builder::metrics_otlp`] one.
//!
//! # Across tasks
//! [`task::spawn`] and [`task::spawn_blocking`] carry the current trace into a new task.
//!
//! # Export never hurts the application
//! Spans go through the SDK's batch processor: a bounded queue (`OTEL_BSP_MAX_QUEUE_SIZE`) drained by
//! its own thread. A collector that is down, slow, or resets connections costs the application nothing
//! but the spans that do not fit: those are dropped and counted ([`ExportStats`], reported at shutdown).
//! Dropping the [`Guard`] flushes and shuts down within a bounded time (5 s by default), never longer.

#![warn(missing_docs)]

mod assembler;
mod console;
pub mod env;
pub mod events;
mod export;
pub mod logs;
mod propagators;
mod report;
pub mod sampling;
mod subscriber;
pub mod task;

use std::fmt;
use std::sync::mpsc;
use std::time::Duration;

use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::{KeyValue, global};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, ShouldSample, SpanProcessor};
use tracewire_core::otel::RandomFlagExport;

pub use console::{ConsoleWaterfall, waterfall_span};
pub use env::{Config, ConfigWarning};
pub use export::{ExportSetupError, ExportStats};

#[cfg(feature = "grpc")]
pub use tracewire_grpc as grpc;
#[cfg(feature = "http")]
pub use tracewire_http as http;
#[cfg(feature = "kafka")]
pub use tracewire_kafka as kafka;
#[cfg(feature = "lapin")]
pub use tracewire_lapin as lapin;
#[cfg(feature = "reqwest")]
pub use tracewire_reqwest as reqwest;
#[cfg(feature = "sqlx")]
pub use tracewire_sqlx as sqlx;

use env::{ExporterKind, LogFormat, PropagatorKind, SamplerKind};
use sampling::{TailSampling, TailStats};

/// Sets everything up from the environment and installs it globally: [`Builder::from_env`]`.install()`.
///
/// Call it once, early in `main`, and keep the guard alive until the end of `main`.
///
/// ```no_run
/// let _telemetry = tracewire::init();
/// ```
pub fn init() -> Guard {
    Builder::from_env().install()
}

/// Code overrides on top of the environment. Values set here win over the variables.
///
/// ```
/// use tracewire::{Builder, Config};
/// // From a given configuration (here: empty environment), printing traces to the console.
/// let telemetry = Builder::from_config(Config::from_lookup(|_| None))
///     .service_name("example")
///     .console(true)
///     .otlp(false)
///     .build();
/// assert_eq!(telemetry.report().service_name, "example");
/// ```
#[derive(Debug)]
pub struct Builder {
    config: Config,
    service_name: Option<String>,
    service_version: Option<String>,
    resource: Vec<KeyValue>,
    sampler: Option<Box<dyn ShouldSample>>,
    tail: Option<TailSampling>,
    console: Option<bool>,
    otlp: Option<bool>,
    traces_otlp: Option<bool>,
    metrics_otlp: Option<bool>,
    subscriber: bool,
    shutdown_timeout: Duration,
    processors: Vec<Box<dyn SpanProcessor>>,
}

impl Builder {
    /// Starts from the process environment.
    pub fn from_env() -> Self {
        Builder::from_config(Config::from_env())
    }

    /// Starts from `config` (see [`Config::from_lookup`]).
    pub fn from_config(config: Config) -> Self {
        Builder {
            config,
            service_name: None,
            service_version: None,
            resource: Vec::new(),
            sampler: None,
            tail: None,
            console: None,
            otlp: None,
            traces_otlp: None,
            metrics_otlp: None,
            subscriber: true,
            shutdown_timeout: Duration::from_secs(5),
            processors: Vec::new(),
        }
    }

    /// `service.name`, over `OTEL_SERVICE_NAME`.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// `service.version` (the crate version is a good choice: `env!("CARGO_PKG_VERSION")`).
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.service_version = Some(version.into());
        self
    }

    /// An extra resource attribute, over `OTEL_RESOURCE_ATTRIBUTES`.
    pub fn resource_attribute(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.resource.push(KeyValue::new(key, value.into()));
        self
    }

    /// The head sampler, over `OTEL_TRACES_SAMPLER` (see [`sampling`]).
    pub fn sampler(mut self, sampler: impl ShouldSample + 'static) -> Self {
        self.sampler = Some(Box::new(sampler));
        self
    }

    /// Tail sampling in process before export (see [`sampling::TailSampler`]).
    pub fn tail_sampling(mut self, policy: TailSampling) -> Self {
        self.tail = Some(policy);
        self
    }

    /// Print traces as waterfalls on standard error, or not, over `OTEL_TRACES_EXPORTER`.
    pub fn console(mut self, on: bool) -> Self {
        self.console = Some(on);
        self
    }

    /// Export every signal (traces and metrics) over OTLP, or none, over `OTEL_TRACES_EXPORTER` and
    /// `OTEL_METRICS_EXPORTER` and the default rule. [`traces_otlp`](Self::traces_otlp) and
    /// [`metrics_otlp`](Self::metrics_otlp) decide one signal on top of this.
    ///
    /// ```
    /// use tracewire::{Builder, Config};
    /// // A release build with nothing configured would export both to localhost:4318.
    /// let telemetry = Builder::from_config(Config::from_lookup(|_| None)).otlp(false).build();
    /// assert!(telemetry.meter_provider().is_none());
    /// assert!(telemetry.report().exporters.iter().all(|e| !e.starts_with("otlp")));
    /// ```
    pub fn otlp(mut self, on: bool) -> Self {
        self.otlp = Some(on);
        self
    }

    /// Export traces over OTLP, or not, over [`otlp`](Self::otlp) and `OTEL_TRACES_EXPORTER`.
    pub fn traces_otlp(mut self, on: bool) -> Self {
        self.traces_otlp = Some(on);
        self
    }

    /// Export metrics over OTLP, or record none, over [`otlp`](Self::otlp) and `OTEL_METRICS_EXPORTER`.
    ///
    /// ```
    /// use tracewire::{Builder, Config};
    /// let telemetry = Builder::from_config(Config::from_lookup(|_| None))
    ///     .console(false)
    ///     .metrics_otlp(false)
    ///     .build();
    /// assert!(!telemetry.report().metrics);
    /// ```
    pub fn metrics_otlp(mut self, on: bool) -> Self {
        self.metrics_otlp = Some(on);
        self
    }

    /// Do not install a `tracing` subscriber (the application installs its own; add
    /// `tracing_opentelemetry::layer()` to it to connect its spans).
    pub fn without_subscriber(mut self) -> Self {
        self.subscriber = false;
        self
    }

    /// An extra span processor, after the exporting ones (it sees every recorded span, before any
    /// tail sampling).
    pub fn with_span_processor(mut self, processor: impl SpanProcessor + 'static) -> Self {
        self.processors.push(Box::new(processor));
        self
    }

    /// The longest the guard's drop waits for the final flush (default 5 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// The one default rule for every signal: a debug build in which no exporter or endpoint variable is
    /// set is a developer's run — traces on the console, no metrics; otherwise each signal goes to OTLP,
    /// the specification's default, unless its exporter variable says otherwise.
    fn development_default(&self) -> bool {
        cfg!(debug_assertions)
            && self.config.traces_exporter.is_none()
            && self.config.metrics_exporter.is_none()
            && !self.config.traces.endpoint_configured
            && !self.config.metrics.endpoint_configured
    }

    fn trace_exporters(&self) -> (bool, bool) {
        let from_env = self.config.traces_exporter.clone().unwrap_or_else(|| {
            if self.development_default() {
                vec![ExporterKind::Console]
            } else {
                vec![ExporterKind::Otlp]
            }
        });
        (
            self.traces_otlp
                .or(self.otlp)
                .unwrap_or(from_env.contains(&ExporterKind::Otlp)),
            self.console
                .unwrap_or(from_env.contains(&ExporterKind::Console)),
        )
    }

    fn metrics_otlp_on(&self) -> bool {
        self.metrics_otlp
            .or(self.otlp)
            .unwrap_or_else(|| match &self.config.metrics_exporter {
                Some(kinds) => kinds.contains(&ExporterKind::Otlp),
                None => !self.development_default(),
            })
    }

    fn resource(&self, service_name: &str) -> Resource {
        use opentelemetry_resource_detectors::{HostResourceDetector, OsResourceDetector};
        use opentelemetry_sdk::resource::{ResourceDetector, TelemetryResourceDetector};
        let detectors: [Box<dyn ResourceDetector>; 3] = [
            Box::new(TelemetryResourceDetector),
            Box::new(HostResourceDetector::default()),
            Box::new(OsResourceDetector),
        ];
        let mut attributes: Vec<KeyValue> = Vec::new();
        // The host detector reports Rust's target name (`x86_64`); the registry names it `amd64`.
        attributes.push(KeyValue::new(
            "host.arch",
            host_arch(std::env::consts::ARCH),
        ));
        // Process facts without `process.command_args`: command lines carry secrets too often.
        attributes.push(KeyValue::new("process.pid", i64::from(std::process::id())));
        attributes.push(KeyValue::new("process.runtime.name", "rustc"));
        if let Some(exe) = executable_name() {
            attributes.push(KeyValue::new("process.executable.name", exe));
        }
        for (k, v) in &self.config.resource_attributes {
            attributes.push(KeyValue::new(k.clone(), v.clone()));
        }
        attributes.extend(self.resource.iter().cloned());
        if let Some(version) = &self.service_version {
            attributes.push(KeyValue::new("service.version", version.clone()));
        }
        Resource::builder_empty()
            .with_detectors(&detectors)
            .with_attributes(attributes)
            .with_service_name(service_name.to_owned())
            .build()
    }

    fn service_name_value(&self) -> String {
        self.service_name
            .clone()
            .or_else(|| self.config.service_name.clone())
            .or_else(|| {
                self.config
                    .resource_attributes
                    .iter()
                    .find(|(k, _)| k == "service.name")
                    .map(|(_, v)| v.clone())
            })
            .unwrap_or_else(|| match executable_name() {
                Some(exe) => format!("unknown_service:{exe}"),
                None => "unknown_service".to_owned(),
            })
    }

    /// Builds the providers and propagator without installing anything globally (for tests, or to
    /// install them yourself). Must run inside a Tokio runtime when exporting over gRPC; [`install`](Self::install)
    /// takes care of that.
    pub fn build(mut self) -> Telemetry {
        let service_name = self.service_name_value();
        let mut warnings = self.config.warnings.clone();
        let mut setup_errors = Vec::new();
        let (otlp_on, console_on) = self.trace_exporters();
        let export_stats = ExportStats::default();
        let mut tail_stats = None;

        let sampler_description;
        let mut tracer_provider = None;
        let mut meter_provider = None;
        if self.config.sdk_disabled {
            sampler_description = "none (OTEL_SDK_DISABLED=true)".to_owned();
        } else {
            let resource = self.resource(&service_name);
            let sampler: Box<dyn ShouldSample> = match self.sampler.take() {
                Some(s) => {
                    // The type name only: a rule list in the start-up line would drown the rest.
                    let debug = format!("{s:?}");
                    sampler_description = debug
                        .split([' ', '{', '('])
                        .next()
                        .unwrap_or("custom")
                        .to_owned();
                    s
                }
                None => {
                    sampler_description = self.config.sampler.to_string();
                    Box::new(sampler_for(self.config.sampler))
                }
            };
            let mut builder = SdkTracerProvider::builder()
                .with_sampler(sampler)
                .with_resource(resource.clone());

            if otlp_on {
                match export::batch_processor(&self.config.traces, self.config.batch, &export_stats)
                {
                    Ok(processor) => {
                        let counted = export::CountEnded {
                            inner: processor,
                            stats: export_stats.clone(),
                        };
                        builder =
                            behind_tail(builder, self.tail.as_ref(), counted, &mut tail_stats);
                    }
                    Err(e) => setup_errors.push(e),
                }
            }
            if console_on {
                // With OTLP on, the tail sampler sits in front of the export; the console shows everything.
                let tail = self.tail.as_ref().filter(|_| !otlp_on);
                builder = behind_tail(builder, tail, ConsoleWaterfall::stderr(), &mut tail_stats);
            }
            for processor in std::mem::take(&mut self.processors) {
                builder =
                    builder.with_span_processor(RandomFlagExport::new(BoxedProcessor(processor)));
            }
            tracer_provider = Some(builder.build());

            if self.metrics_otlp_on() {
                match export::meter_provider(
                    &self.config.metrics,
                    self.config.metric_export_interval,
                    resource,
                ) {
                    Ok(provider) => meter_provider = Some(provider),
                    Err(e) => setup_errors.push(e),
                }
            }
        }
        for e in &setup_errors {
            warnings.push(ConfigWarning {
                variable: "OTEL_EXPORTER_OTLP_*",
                value: String::new(),
                problem: e.to_string(),
                used: "no export".to_owned(),
            });
        }

        let mut exporters = Vec::new();
        if tracer_provider.is_some() && otlp_on && setup_errors.is_empty() {
            exporters.push(format!(
                "otlp {} {}",
                self.config.traces.protocol.name(),
                self.config.traces.endpoint
            ));
        }
        if tracer_provider.is_some() && console_on {
            exporters.push("console".to_owned());
        }
        let report = Report {
            service_name,
            exporters,
            header_names: self
                .config
                .traces
                .headers
                .iter()
                .map(|(k, _)| k.clone())
                .collect(),
            sampler: sampler_description,
            tail_sampling: self.tail.is_some(),
            propagators: self.config.propagators.iter().map(|p| p.name()).collect(),
            metrics: meter_provider.is_some(),
            metrics_exporter: meter_provider.as_ref().map(|_| {
                format!(
                    "otlp {} {}",
                    self.config.metrics.protocol.name(),
                    self.config.metrics.endpoint
                )
            }),
            warnings,
        };
        Telemetry {
            tracer_provider,
            meter_provider,
            propagators: self.config.propagators.clone(),
            report,
            export_stats,
            tail_stats,
            log_format: self.config.log_format,
            log_filter: self.config.log_filter,
            otel_filter: self.config.otel_filter,
            subscriber: self.subscriber,
            shutdown_timeout: self.shutdown_timeout,
            runtime: None,
        }
    }

    /// Builds and installs globally: the tracer and meter providers, the propagator, and (unless
    /// [`without_subscriber`](Self::without_subscriber)) a `tracing` subscriber with the OpenTelemetry
    /// layer and a log formatter. Logs the start-up report and any warnings.
    ///
    /// The exporters run on a one-thread Tokio runtime of tracewire's own, kept by the guard, inside or
    /// outside the application's runtime.
    pub fn install(self) -> Guard {
        // The exporters run on a small runtime of tracewire's own, never the application's: a gRPC
        // channel's worker on the application's runtime could not run while the guard's drop blocks a
        // current-thread runtime for the final flush.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("tracewire-export")
            .enable_all()
            .build()
            .ok();
        let mut telemetry = match &runtime {
            Some(rt) => {
                let _entered = rt.enter();
                self.build()
            }
            None => self.build(),
        };
        telemetry.runtime = runtime;
        telemetry.install()
    }
}

/// Adds `processor` to `builder`, behind the tail sampler when there is one.
/// Every exporting processor sees roots with the random flag they propagate ([`RandomFlagExport`]).
fn behind_tail<P: SpanProcessor + 'static>(
    builder: opentelemetry_sdk::trace::TracerProviderBuilder,
    tail: Option<&TailSampling>,
    processor: P,
    stats: &mut Option<TailStats>,
) -> opentelemetry_sdk::trace::TracerProviderBuilder {
    match tail {
        Some(policy) => {
            let tail = policy.clone().into_processor(processor);
            *stats = Some(tail.stats());
            builder.with_span_processor(RandomFlagExport::new(tail))
        }
        None => builder.with_span_processor(RandomFlagExport::new(processor)),
    }
}

#[derive(Debug)]
struct BoxedProcessor(Box<dyn SpanProcessor>);

impl SpanProcessor for BoxedProcessor {
    fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, cx: &opentelemetry::Context) {
        self.0.on_start(span, cx);
    }
    fn on_end(&self, span: opentelemetry_sdk::trace::SpanData) {
        self.0.on_end(span);
    }
    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}

/// `host.arch` as the semantic conventions' registry spells it, from Rust's `std::env::consts::ARCH`;
/// an architecture the registry does not list keeps Rust's name.
fn host_arch(rust_arch: &'static str) -> &'static str {
    match rust_arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm32",
        "x86" => "x86",
        "powerpc" => "ppc32",
        "powerpc64" => "ppc64",
        "s390x" => "s390x",
        other => other,
    }
}

fn executable_name() -> Option<String> {
    std::env::current_exe()
        .ok()?
        .file_name()?
        .to_str()
        .map(str::to_owned)
}

fn sampler_for(kind: SamplerKind) -> Sampler {
    match kind {
        SamplerKind::AlwaysOn => Sampler::AlwaysOn,
        SamplerKind::AlwaysOff => Sampler::AlwaysOff,
        SamplerKind::TraceIdRatio(r) => Sampler::TraceIdRatioBased(r),
        SamplerKind::ParentBasedAlwaysOn => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        SamplerKind::ParentBasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        SamplerKind::ParentBasedTraceIdRatio(r) => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(r)))
        }
    }
}

pub use propagators::propagator;
pub use report::Report;
pub use subscriber::TRACING_BRIDGE_SCOPE;

/// The providers and propagator [`Builder::build`] made, not yet installed.
///
/// ```
/// use opentelemetry::trace::{Tracer, TracerProvider};
/// let telemetry = tracewire::Builder::from_config(tracewire::Config::from_lookup(|_| None))
///     .otlp(false)
///     .console(false)
///     .build();
/// let tracer = telemetry.tracer_provider().expect("SDK enabled").tracer("example");
/// tracer.in_span("work", |_| {});
/// ```
pub struct Telemetry {
    tracer_provider: Option<SdkTracerProvider>,
    meter_provider: Option<SdkMeterProvider>,
    propagators: Vec<PropagatorKind>,
    report: Report,
    export_stats: ExportStats,
    tail_stats: Option<TailStats>,
    log_format: LogFormat,
    log_filter: String,
    otel_filter: String,
    subscriber: bool,
    shutdown_timeout: Duration,
    runtime: Option<tokio::runtime::Runtime>,
}

impl fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telemetry")
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

impl Telemetry {
    /// The tracer provider (`None` when the SDK is disabled).
    pub fn tracer_provider(&self) -> Option<&SdkTracerProvider> {
        self.tracer_provider.as_ref()
    }

    /// The meter provider (`None` when metrics are not exported).
    pub fn meter_provider(&self) -> Option<&SdkMeterProvider> {
        self.meter_provider.as_ref()
    }

    /// An instrumentation (for a boundary's `with_instrumentation`, under the scope `name`) that records
    /// spans and metrics through these providers together, without installing them globally: several
    /// services in one process, each with its own resource. With metrics off it records none.
    ///
    /// ```
    /// use tracewire::{Builder, Config};
    /// let telemetry = Builder::from_config(Config::from_lookup(|_| None)).console(false).build();
    /// let instrumentation = telemetry.instrumentation("tracewire-sqlx");
    /// assert_eq!(instrumentation.scope_name(), "tracewire-sqlx");
    /// ```
    pub fn instrumentation(&self, name: &'static str) -> tracewire_core::span::Instrumentation {
        use tracewire_core::span::Instrumentation;
        let instrumentation = match &self.tracer_provider {
            Some(provider) => Instrumentation::with_provider(provider, name),
            None => Instrumentation::global(name),
        };
        match &self.meter_provider {
            Some(provider) => instrumentation.with_meter_provider(provider),
            None => instrumentation
                .with_meter_provider(&opentelemetry::metrics::noop::NoopMeterProvider::new()),
        }
    }

    /// The propagator from `OTEL_PROPAGATORS`.
    pub fn propagator(&self) -> TextMapCompositePropagator {
        propagator(&self.propagators)
    }

    /// What was set up.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// Export counts.
    pub fn export_stats(&self) -> ExportStats {
        self.export_stats.clone()
    }

    /// Tail sampler counts, when tail sampling is on.
    pub fn tail_stats(&self) -> Option<TailStats> {
        self.tail_stats.clone()
    }

    /// Flushes and shuts down within the shutdown timeout without installing anything; returns whether
    /// it finished in time (what dropping a [`Guard`] does).
    pub fn shutdown(self) -> bool {
        Guard {
            telemetry: Some(self),
        }
        .shutdown()
    }

    /// Installs globally and returns the guard (see [`Builder::install`]).
    pub fn install(self) -> Guard {
        global::set_text_map_propagator(self.propagator());
        if let Some(provider) = &self.tracer_provider {
            tracewire_core::span::install_tracer_provider(provider.clone());
        }
        if let Some(provider) = &self.meter_provider {
            global::set_meter_provider(provider.clone());
        }
        let mut subscriber_note = None;
        if self.subscriber && self.install_subscriber().is_err() {
            subscriber_note =
                Some("a tracing subscriber was already installed; tracewire's was not");
        }
        tracing::info!(target: "tracewire", "{}", self.report);
        for warning in &self.report.warnings {
            tracing::warn!(target: "tracewire", "{warning}");
        }
        if let Some(note) = subscriber_note {
            tracing::warn!(target: "tracewire", "{note}");
        }
        Guard {
            telemetry: Some(self),
        }
    }
}

/// Keeps telemetry running; on drop, flushes and shuts down within the configured timeout and logs
/// the export counts.
///
/// ```no_run
/// let guard = tracewire::init();
/// // … the application …
/// println!("{}", guard.export_stats());
/// drop(guard); // flushes; never waits longer than the shutdown timeout
/// ```
pub struct Guard {
    telemetry: Option<Telemetry>,
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard").finish_non_exhaustive()
    }
}

impl Guard {
    /// What was set up.
    pub fn report(&self) -> Option<&Report> {
        self.telemetry.as_ref().map(|t| &t.report)
    }

    /// Export counts.
    pub fn export_stats(&self) -> ExportStats {
        self.telemetry
            .as_ref()
            .map(|t| t.export_stats.clone())
            .unwrap_or_default()
    }

    /// Tail sampler counts, when tail sampling is on.
    pub fn tail_stats(&self) -> Option<TailStats> {
        self.telemetry.as_ref().and_then(|t| t.tail_stats.clone())
    }

    /// Flushes and shuts down now; returns whether it finished within the timeout.
    pub fn shutdown(mut self) -> bool {
        self.shutdown_inner()
    }

    fn shutdown_inner(&mut self) -> bool {
        let Some(telemetry) = self.telemetry.take() else {
            return true;
        };
        let timeout = telemetry.shutdown_timeout;
        let stats = telemetry.export_stats.clone();
        let (tracer, meter) = (
            telemetry.tracer_provider.clone(),
            telemetry.meter_provider.clone(),
        );
        // Shutdown runs on its own thread so that a hung exporter cannot hold the application past
        // the timeout; the thread is left to finish (or not) on its own.
        let (done, finished) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("tracewire-shutdown".into())
            .spawn(move || {
                if let Some(provider) = tracer {
                    let _ = provider.force_flush();
                    let _ = provider.shutdown_with_timeout(timeout);
                }
                if let Some(provider) = meter {
                    let _ = provider.shutdown_with_timeout(timeout);
                }
                let _ = done.send(());
            });
        let in_time = spawned.is_ok() && finished.recv_timeout(timeout).is_ok();
        if stats.ended() > 0 {
            tracing::info!(target: "tracewire", "tracewire: {stats}");
        }
        if !in_time {
            tracing::warn!(target: "tracewire", "tracewire: shutdown did not finish within {timeout:?}; unexported spans are lost");
        }
        // The export runtime (if tracewire made one) is dropped without waiting for its tasks.
        if let Some(runtime) = telemetry.runtime {
            runtime.shutdown_background();
        }
        in_time
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.shutdown_inner();
    }
}

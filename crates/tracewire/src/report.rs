//! The start-up report: what was set up, printed once (header values never).

use std::fmt;

use crate::ConfigWarning;

/// What was set up, printed once at start (header values are never included).
///
/// ```
/// use tracewire::{Builder, Config};
/// let config = Config::from_lookup(|name| match name {
///     "OTEL_TRACES_SAMPLER" => Some("always_on".to_owned()),
///     "OTEL_METRICS_EXPORTER" => Some("none".to_owned()),
///     _ => None,
/// });
/// let telemetry = Builder::from_config(config)
///     .service_name("checkout")
///     .otlp(false)
///     .console(false)
///     .build();
/// let report = telemetry.report();
/// assert_eq!(report.service_name, "checkout");
/// assert!(report.exporters.is_empty());
/// assert_eq!(report.sampler, "always_on");
/// assert_eq!(report.propagators, ["tracecontext", "baggage"]);
/// assert!(!report.metrics && report.warnings.is_empty());
/// assert_eq!(
///     report.to_string(),
///     "tracewire: service checkout; traces to nowhere; sampler always_on; \
///      propagators tracecontext,baggage; metrics off"
/// );
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Report {
    /// `service.name`.
    pub service_name: String,
    /// Where traces go, such as `otlp grpc http://collector:4317` or `console`.
    pub exporters: Vec<String>,
    /// Names of the OTLP headers sent (values redacted).
    pub header_names: Vec<String>,
    /// The head sampler.
    pub sampler: String,
    /// Whether tail sampling is on.
    pub tail_sampling: bool,
    /// Propagators, in order.
    pub propagators: Vec<&'static str>,
    /// Whether metrics are exported.
    pub metrics: bool,
    /// Where metrics go, such as `otlp http/protobuf http://collector:4318`.
    pub metrics_exporter: Option<String>,
    /// Configuration problems, each with the value used instead.
    pub warnings: Vec<ConfigWarning>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "tracewire: service {}; traces to {}; sampler {}{}; propagators {}; metrics {}",
            self.service_name,
            if self.exporters.is_empty() {
                "nowhere".to_owned()
            } else {
                self.exporters.join(" and ")
            },
            self.sampler,
            if self.tail_sampling {
                " + tail sampling"
            } else {
                ""
            },
            if self.propagators.is_empty() {
                "none".to_owned()
            } else {
                self.propagators.join(",")
            },
            match &self.metrics_exporter {
                Some(exporter) => format!("to {exporter}"),
                None => "off".to_owned(),
            },
        )?;
        if !self.header_names.is_empty() {
            let redacted: Vec<String> = self
                .header_names
                .iter()
                .map(|name| format!("{name}=REDACTED"))
                .collect();
            write!(f, "; otlp headers {}", redacted.join(","))?;
        }
        Ok(())
    }
}

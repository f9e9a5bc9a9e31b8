//! Metrics in memory: an SDK meter provider of the test's own, read back as data points.

use opentelemetry::metrics::{Meter, MeterProvider as _};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use tracewire_core::span::Instrumentation;

/// Collects the metrics of one test: give [`instrumentation`](Self::instrumentation) (or
/// [`meter`](Self::meter)) to the code under test, then read [`points`](Self::points).
///
/// ```
/// use opentelemetry::KeyValue;
/// let metrics = tracewire_testing::MetricCapture::new();
/// let counter = metrics.meter("demo").u64_counter("jobs.done").build();
/// counter.add(2, &[KeyValue::new("queue", "emails")]);
/// counter.add(1, &[KeyValue::new("queue", "emails")]);
/// let points = metrics.points("jobs.done");
/// assert_eq!(points.len(), 1);
/// assert_eq!(points[0].value, 3.0);
/// assert_eq!(points[0].attr("queue"), Some("emails"));
/// ```
#[derive(Debug)]
pub struct MetricCapture {
    exporter: InMemoryMetricExporter,
    provider: SdkMeterProvider,
}

impl Default for MetricCapture {
    fn default() -> Self {
        Self::new()
    }
}

impl MetricCapture {
    /// A meter provider exporting (cumulatively) into memory.
    pub fn new() -> Self {
        let exporter = InMemoryMetricExporter::default();
        let provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter.clone()).build())
            .build();
        MetricCapture { exporter, provider }
    }

    /// The meter provider.
    pub fn provider(&self) -> &SdkMeterProvider {
        &self.provider
    }

    /// A meter with the given scope name.
    pub fn meter(&self, scope: &'static str) -> Meter {
        self.provider.meter(scope)
    }

    /// `instrumentation` with this capture's meter (scope `scope`), for a boundary's
    /// `with_instrumentation`.
    ///
    /// ```
    /// let spans = tracewire_testing::SpanCapture::new();
    /// let metrics = tracewire_testing::MetricCapture::new();
    /// let instrumentation = metrics.instrumentation(spans.instrumentation("tracewire-lapin"), "tracewire-lapin");
    /// # let _ = instrumentation;
    /// ```
    pub fn instrumentation(
        &self,
        instrumentation: Instrumentation,
        scope: &'static str,
    ) -> Instrumentation {
        instrumentation.with_meter(self.meter(scope))
    }

    /// Every data point of the metric `name` so far (totals: the export is cumulative), one per
    /// attribute set. Histograms give their count and sum, counters and up-down counters their value.
    pub fn points(&self, name: &str) -> Vec<MetricPoint> {
        self.exporter.reset();
        if self.provider.force_flush().is_err() {
            return Vec::new();
        }
        let exported = self.exporter.get_finished_metrics().unwrap_or_default();
        exported
            .last()
            .map(|resource| points_of(resource, name))
            .unwrap_or_default()
    }
}

/// One data point: its attributes, and its value (a histogram's sum, a counter's total).
#[derive(Clone, Debug, PartialEq)]
pub struct MetricPoint {
    /// The unit of the metric.
    pub unit: String,
    /// Attribute keys and values as text, in the order the SDK keeps them.
    pub attributes: Vec<(String, String)>,
    /// A histogram's sum, a counter's or up-down counter's value, a gauge's last value.
    pub value: f64,
    /// How many measurements a histogram holds (`0` for other instruments).
    pub count: u64,
    /// A histogram's bucket boundaries (empty for other instruments).
    pub bounds: Vec<f64>,
}

impl MetricPoint {
    /// The value of attribute `key`, as text.
    ///
    /// ```
    /// let point = tracewire_testing::metrics::MetricPoint {
    ///     unit: "s".into(),
    ///     attributes: vec![("error.type".into(), "timeout".into())],
    ///     value: 0.5,
    ///     count: 1,
    ///     bounds: vec![],
    /// };
    /// assert_eq!(point.attr("error.type"), Some("timeout"));
    /// assert_eq!(point.attr("server.port"), None);
    /// ```
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The summed values of the points whose attribute `key` is `value`: a counter's total for one
/// destination, say, across the points that differ in other attributes.
///
/// ```
/// use tracewire_testing::metrics::{MetricPoint, total};
/// let point = |topic: &str, value: f64| MetricPoint {
///     unit: "{message}".into(),
///     attributes: vec![("messaging.destination.name".into(), topic.into())],
///     value,
///     count: 0,
///     bounds: vec![],
/// };
/// let points = [point("orders", 2.0), point("refunds", 1.0), point("orders", 3.0)];
/// assert_eq!(total(&points, "messaging.destination.name", "orders"), 5.0);
/// ```
pub fn total(points: &[MetricPoint], key: &str, value: &str) -> f64 {
    points
        .iter()
        .filter(|p| p.attr(key) == Some(value))
        .map(|p| p.value)
        .sum()
}

/// The summed measurement counts of the histogram points whose attribute `key` is `value`.
///
/// ```
/// use tracewire_testing::metrics::{MetricPoint, measurements};
/// let point = MetricPoint {
///     unit: "s".into(),
///     attributes: vec![("messaging.operation.name".into(), "send".into())],
///     value: 0.5,
///     count: 3,
///     bounds: vec![0.1, 1.0],
/// };
/// assert_eq!(measurements(&[point], "messaging.operation.name", "send"), 3);
/// ```
pub fn measurements(points: &[MetricPoint], key: &str, value: &str) -> u64 {
    points
        .iter()
        .filter(|p| p.attr(key) == Some(value))
        .map(|p| p.count)
        .sum()
}

fn points_of(resource: &ResourceMetrics, name: &str) -> Vec<MetricPoint> {
    let mut out = Vec::new();
    for scope in resource.scope_metrics() {
        for metric in scope.metrics().filter(|m| m.name() == name) {
            let unit = metric.unit().to_owned();
            let attrs = |iter: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| {
                iter.map(|kv| (kv.key.to_string(), kv.value.to_string()))
                    .collect::<Vec<_>>()
            };
            let point = |attributes, value, count, bounds| MetricPoint {
                unit: unit.clone(),
                attributes,
                value,
                count,
                bounds,
            };
            macro_rules! collect {
                ($data:expr) => {
                    match $data {
                        MetricData::Histogram(h) => {
                            for p in h.data_points() {
                                out.push(point(
                                    attrs(&mut p.attributes()),
                                    p.sum().to_f64(),
                                    p.count(),
                                    p.bounds().collect(),
                                ));
                            }
                        }
                        MetricData::Sum(s) => {
                            for p in s.data_points() {
                                out.push(point(
                                    attrs(&mut p.attributes()),
                                    p.value().to_f64(),
                                    0,
                                    Vec::new(),
                                ));
                            }
                        }
                        MetricData::Gauge(g) => {
                            for p in g.data_points() {
                                out.push(point(
                                    attrs(&mut p.attributes()),
                                    p.value().to_f64(),
                                    0,
                                    Vec::new(),
                                ));
                            }
                        }
                        MetricData::ExponentialHistogram(h) => {
                            for p in h.data_points() {
                                out.push(point(
                                    attrs(&mut p.attributes()),
                                    p.sum().to_f64(),
                                    p.count() as u64,
                                    Vec::new(),
                                ));
                            }
                        }
                    }
                };
            }
            match metric.data() {
                AggregatedMetrics::F64(data) => collect!(data),
                AggregatedMetrics::U64(data) => collect!(data),
                AggregatedMetrics::I64(data) => collect!(data),
            }
        }
    }
    out
}

/// The three number types the SDK aggregates, as `f64` for [`MetricPoint::value`].
trait ToF64 {
    fn to_f64(self) -> f64;
}

impl ToF64 for f64 {
    fn to_f64(self) -> f64 {
        self
    }
}

impl ToF64 for u64 {
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl ToF64 for i64 {
    fn to_f64(self) -> f64 {
        self as f64
    }
}

//! Every `OTEL_*` and `TRACEWIRE_*` variable rule of `tracewire::Config`, case by case.

use std::time::Duration;
use tracewire::Config;
use tracewire::env::*;

fn config(vars: &[(&str, &str)]) -> Config {
    Config::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    })
}

fn warned(c: &Config, variable: &str) -> bool {
    c.warnings.iter().any(|w| w.variable == variable)
}

#[test]
fn defaults_follow_the_spec() {
    let c = config(&[]);
    assert!(!c.sdk_disabled);
    assert_eq!(c.service_name, None);
    assert_eq!(
        c.propagators,
        [PropagatorKind::TraceContext, PropagatorKind::Baggage]
    );
    assert_eq!(c.sampler, SamplerKind::ParentBasedAlwaysOn);
    assert_eq!(c.traces_exporter, None);
    assert_eq!(c.traces.protocol, Protocol::HttpProtobuf);
    assert_eq!(c.traces.endpoint, "http://localhost:4318/v1/traces");
    assert_eq!(c.metrics.endpoint, "http://localhost:4318/v1/metrics");
    assert!(!c.traces.endpoint_configured);
    assert_eq!(c.traces.timeout, Duration::from_secs(10));
    assert_eq!(c.batch, BatchSettings::default());
    assert_eq!(c.metric_export_interval, Duration::from_secs(60));
    assert_eq!(c.log_format, LogFormat::Text);
    assert!(c.warnings.is_empty());
}

#[test]
fn empty_values_count_as_unset() {
    let c = config(&[("OTEL_SERVICE_NAME", ""), ("OTEL_TRACES_SAMPLER", "  ")]);
    assert_eq!(c.service_name, None);
    assert_eq!(c.sampler, SamplerKind::ParentBasedAlwaysOn);
    assert!(c.warnings.is_empty());
}

#[test]
fn booleans_accept_only_true() {
    assert!(config(&[("OTEL_SDK_DISABLED", "TRUE")]).sdk_disabled);
    let c = config(&[("OTEL_SDK_DISABLED", "false")]);
    assert!(!c.sdk_disabled && c.warnings.is_empty());
    let c = config(&[("OTEL_SDK_DISABLED", "yes")]);
    assert!(!c.sdk_disabled);
    assert_eq!(c.warnings[0].variable, "OTEL_SDK_DISABLED");
    assert_eq!(c.warnings[0].used, "false");
}

#[test]
fn resource_attributes_are_percent_decoded_or_discarded_whole() {
    let c = config(&[(
        "OTEL_RESOURCE_ATTRIBUTES",
        "deployment.environment.name=prod,team=a%2Cb,note=x%3Dy",
    )]);
    assert_eq!(
        c.resource_attributes,
        [
            ("deployment.environment.name".into(), "prod".into()),
            ("team".into(), "a,b".into()),
            ("note".into(), "x=y".into())
        ]
    );
    let c = config(&[("OTEL_RESOURCE_ATTRIBUTES", "ok=1,broken,also=2")]);
    assert!(c.resource_attributes.is_empty());
    assert!(warned(&c, "OTEL_RESOURCE_ATTRIBUTES"));
    let c = config(&[("OTEL_RESOURCE_ATTRIBUTES", "bad=%zz")]);
    assert!(c.resource_attributes.is_empty());
    // Two hex digits after `%`, nothing else (a sign is not a digit).
    let c = config(&[("OTEL_RESOURCE_ATTRIBUTES", "bad=%+f")]);
    assert!(c.resource_attributes.is_empty());
}

#[test]
fn propagators_dedupe_skip_unknown_and_honour_none() {
    let c = config(&[("OTEL_PROPAGATORS", "baggage, tracecontext,baggage,b3multi")]);
    assert_eq!(
        c.propagators,
        [
            PropagatorKind::Baggage,
            PropagatorKind::TraceContext,
            PropagatorKind::B3Multi
        ]
    );
    let c = config(&[(
        "OTEL_PROPAGATORS",
        "tracecontext,xray,carrier-pigeon,jaeger",
    )]);
    assert_eq!(
        c.propagators,
        [PropagatorKind::TraceContext, PropagatorKind::Jaeger]
    );
    assert_eq!(c.warnings.len(), 2);
    assert_eq!(config(&[("OTEL_PROPAGATORS", "none")]).propagators, []);
}

#[test]
fn every_sampler_value_and_bad_arguments() {
    let cases = [
        ("always_on", SamplerKind::AlwaysOn),
        ("ALWAYS_OFF", SamplerKind::AlwaysOff),
        ("traceidratio", SamplerKind::TraceIdRatio(0.25)),
        ("parentbased_always_on", SamplerKind::ParentBasedAlwaysOn),
        ("parentbased_always_off", SamplerKind::ParentBasedAlwaysOff),
        (
            "parentbased_traceidratio",
            SamplerKind::ParentBasedTraceIdRatio(0.25),
        ),
    ];
    for (name, expected) in cases {
        let c = config(&[
            ("OTEL_TRACES_SAMPLER", name),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ]);
        assert_eq!(c.sampler, expected, "{name}");
        assert!(c.warnings.is_empty());
    }
    for bad in ["1.5", "-0.1", "half"] {
        let c = config(&[
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", bad),
        ]);
        assert_eq!(c.sampler, SamplerKind::TraceIdRatio(1.0));
        assert!(warned(&c, "OTEL_TRACES_SAMPLER_ARG"));
    }
    let c = config(&[("OTEL_TRACES_SAMPLER", "jaeger_remote")]);
    assert_eq!(c.sampler, SamplerKind::ParentBasedAlwaysOn);
    assert!(warned(&c, "OTEL_TRACES_SAMPLER"));
    // The argument alone selects nothing.
    let c = config(&[("OTEL_TRACES_SAMPLER_ARG", "0.1")]);
    assert_eq!(c.sampler, SamplerKind::ParentBasedAlwaysOn);
}

#[test]
fn exporters_lists() {
    let c = config(&[("OTEL_TRACES_EXPORTER", "otlp,console,otlp")]);
    assert_eq!(
        c.traces_exporter,
        Some(vec![ExporterKind::Otlp, ExporterKind::Console])
    );
    assert_eq!(
        config(&[("OTEL_TRACES_EXPORTER", "none")]).traces_exporter,
        Some(vec![])
    );
    let c = config(&[("OTEL_TRACES_EXPORTER", "zipkin")]);
    assert_eq!(c.traces_exporter, Some(vec![]));
    assert!(warned(&c, "OTEL_TRACES_EXPORTER"));
    let c = config(&[("OTEL_METRICS_EXPORTER", "console")]);
    assert!(warned(&c, "OTEL_METRICS_EXPORTER"));
}

#[test]
fn otlp_endpoints_follow_the_base_and_as_is_rules() {
    let c = config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/mycollector/")]);
    assert_eq!(c.traces.endpoint, "http://c:4318/mycollector/v1/traces");
    assert_eq!(c.metrics.endpoint, "http://c:4318/mycollector/v1/metrics");
    assert!(c.traces.endpoint_configured);
    let c = config(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:9999/custom"),
    ]);
    assert_eq!(c.traces.endpoint, "http://t:9999/custom");
    assert_eq!(c.metrics.endpoint, "http://c:4318/v1/metrics");
    let c = config(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
    ]);
    assert_eq!(c.traces.protocol, Protocol::Grpc);
    assert_eq!(c.traces.endpoint, "http://c:4317");
    assert_eq!(c.metrics.protocol, Protocol::HttpProtobuf);
    let c = config(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]);
    assert_eq!(c.traces.protocol, Protocol::HttpProtobuf);
    assert!(warned(&c, "OTEL_EXPORTER_OTLP_PROTOCOL"));
}

#[test]
fn otlp_headers_timeout_compression() {
    let c = config(&[
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "api-key=s3cret,x-tenant=a%20b",
        ),
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2500"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "-5"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "zstd"),
    ]);
    assert_eq!(
        c.traces.headers,
        [
            ("api-key".into(), "s3cret".into()),
            ("x-tenant".into(), "a b".into())
        ]
    );
    assert_eq!(c.traces.timeout, Duration::from_millis(2500));
    assert_eq!(c.metrics.timeout, Duration::from_secs(10));
    assert!(warned(&c, "OTEL_EXPORTER_OTLP_TIMEOUT"));
    assert!(c.traces.gzip);
    assert!(!c.metrics.gzip);
    assert!(warned(&c, "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION"));
    let c = config(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "0")]);
    // "No limit": an hour, long enough never to fire.
    assert_eq!(c.traces.timeout, Duration::from_secs(3600));
}

#[test]
fn malformed_headers_never_print_their_value() {
    let c = config(&[(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "authorization-Bearer-topsecret",
    )]);
    assert!(c.traces.headers.is_empty());
    let w = c
        .warnings
        .iter()
        .find(|w| w.variable == "OTEL_EXPORTER_OTLP_HEADERS")
        .expect("a warning");
    assert!(!w.to_string().contains("topsecret"), "{w}");
}

#[test]
fn batch_settings_and_their_invalid_values() {
    let c = config(&[
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "abc"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "64"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "128"),
    ]);
    assert_eq!(c.batch.schedule_delay, Duration::from_millis(100));
    assert_eq!(c.batch.export_timeout, Duration::from_secs(30));
    assert_eq!(c.batch.max_queue_size, 64);
    assert_eq!(c.batch.max_export_batch_size, 64);
    assert!(warned(&c, "OTEL_BSP_EXPORT_TIMEOUT"));
    assert!(warned(&c, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"));
    let c = config(&[("OTEL_BSP_MAX_QUEUE_SIZE", "0")]);
    assert_eq!(c.batch.max_queue_size, 2048);
    assert!(warned(&c, "OTEL_BSP_MAX_QUEUE_SIZE"));
    // A zero delay would make the export thread spin: refused, not read as "no limit".
    let c = config(&[
        ("OTEL_BSP_SCHEDULE_DELAY", "0"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "0"),
    ]);
    assert_eq!(c.batch.schedule_delay, Duration::from_secs(5));
    assert_eq!(c.metric_export_interval, Duration::from_secs(60));
    assert!(warned(&c, "OTEL_BSP_SCHEDULE_DELAY") && warned(&c, "OTEL_METRIC_EXPORT_INTERVAL"));
}

#[test]
fn log_settings() {
    let c = config(&[
        ("TRACEWIRE_LOG_FORMAT", "JSON"),
        ("OTEL_LOG_LEVEL", "debug"),
    ]);
    assert_eq!(c.log_format, LogFormat::Json);
    assert!(c.log_filter.contains("opentelemetry_sdk=debug"));
    assert_eq!(config(&[]).otel_filter, "info");
    let c = config(&[("TRACEWIRE_OTEL_FILTER", "warn,checkout=debug")]);
    assert_eq!(c.otel_filter, "warn,checkout=debug");
    assert!(c.warnings.is_empty());
    let c = config(&[("TRACEWIRE_OTEL_FILTER", "checkout=loud")]);
    assert_eq!(c.otel_filter, "info");
    assert_eq!(c.warnings[0].variable, "TRACEWIRE_OTEL_FILTER");
    let c = config(&[("RUST_LOG", "checkout=trace"), ("OTEL_LOG_LEVEL", "loud")]);
    assert_eq!(c.log_filter, "checkout=trace");
    let c = config(&[("TRACEWIRE_LOG_FORMAT", "xml"), ("OTEL_LOG_LEVEL", "loud")]);
    assert!(warned(&c, "TRACEWIRE_LOG_FORMAT") && warned(&c, "OTEL_LOG_LEVEL"));
}

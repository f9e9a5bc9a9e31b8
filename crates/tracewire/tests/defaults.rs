//! One default rule for every signal, and a switch for each. A debug build (as tests are) in which no
//! exporter or endpoint variable is set prints traces on the console and records no metrics; as soon as
//! one is set, every signal goes to OTLP unless its own variable or a Builder switch says otherwise.

use tracewire::{Builder, Config, Telemetry};

fn build(
    vars: &'static [(&'static str, &'static str)],
    tweak: fn(Builder) -> Builder,
) -> Telemetry {
    let config = Config::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    });
    tweak(Builder::from_config(config).without_subscriber()).build()
}

fn traces_otlp(t: &Telemetry) -> bool {
    t.report().exporters.iter().any(|e| e.starts_with("otlp"))
}

fn traces_console(t: &Telemetry) -> bool {
    t.report().exporters.iter().any(|e| e == "console")
}

const ENDPOINT: &[(&str, &str)] = &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")];

#[test]
fn a_developers_run_prints_traces_and_records_no_metrics() {
    let t = build(&[], |b| b);
    assert!(traces_console(&t) && !traces_otlp(&t), "{}", t.report());
    assert!(t.meter_provider().is_none(), "{}", t.report());
    assert!(
        t.report().to_string().ends_with("metrics off"),
        "{}",
        t.report()
    );
}

#[test]
fn any_exporter_or_endpoint_variable_sends_every_signal_to_otlp() {
    for vars in [
        ENDPOINT,
        &[("OTEL_TRACES_EXPORTER", "otlp")],
        &[(
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "http://127.0.0.1:1/v1/metrics",
        )],
    ] {
        let t = build(vars, |b| b);
        assert!(t.meter_provider().is_some(), "{vars:?}: {}", t.report());
        assert!(
            t.report()
                .to_string()
                .contains("metrics to otlp http/protobuf "),
            "{}",
            t.report()
        );
    }
    let t = build(ENDPOINT, |b| b);
    assert!(traces_otlp(&t) && !traces_console(&t), "{}", t.report());
    // A signal's own variable still decides that signal.
    let t = build(
        &[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_METRICS_EXPORTER", "none"),
        ],
        |b| b,
    );
    assert!(
        traces_otlp(&t) && t.meter_provider().is_none(),
        "{}",
        t.report()
    );
}

#[test]
fn otlp_false_turns_off_every_signal_and_each_signal_has_its_switch() {
    let t = build(ENDPOINT, |b| b.otlp(false));
    assert!(!traces_otlp(&t), "{}", t.report());
    assert!(
        t.meter_provider().is_none(),
        "otlp(false) keeps metrics home: {}",
        t.report()
    );

    let t = build(ENDPOINT, |b| b.metrics_otlp(false));
    assert!(
        traces_otlp(&t) && t.meter_provider().is_none(),
        "{}",
        t.report()
    );

    let t = build(ENDPOINT, |b| b.traces_otlp(false));
    assert!(
        !traces_otlp(&t) && t.meter_provider().is_some(),
        "{}",
        t.report()
    );

    let t = build(&[], |b| b.otlp(false).metrics_otlp(true).console(false));
    assert!(
        t.report().exporters.is_empty() && t.meter_provider().is_some(),
        "{}",
        t.report()
    );
}

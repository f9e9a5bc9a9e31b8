//! `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS` replaces the known methods. The list is read once per
//! process, so the test runs itself again in a child process with the variable set.

use std::process::Command;

use tracewire_core::http::{normalize_method, span_name};

const VAR: &str = "OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS";

#[test]
fn the_environment_replaces_the_known_methods() {
    if std::env::var(VAR).is_err() {
        let status = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "the_environment_replaces_the_known_methods",
                "--nocapture",
            ])
            .env(VAR, "GET, PURGE")
            .status()
            .expect("child test");
        assert!(status.success(), "the child test failed");
        return;
    }
    assert_eq!(normalize_method("PURGE").name, "PURGE");
    assert_eq!(normalize_method("PURGE").original, None);
    assert_eq!(
        span_name(normalize_method("PURGE").name, Some("/cache")),
        "PURGE /cache"
    );
    // Replaced, not extended: POST is no longer known.
    assert_eq!(normalize_method("POST").name, "_OTHER");
    assert_eq!(normalize_method("POST").original, Some("POST"));
}

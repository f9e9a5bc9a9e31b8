//! The OTLP exporter variables of one signal: `OTEL_EXPORTER_OTLP_*` and their `_TRACES_`/`_METRICS_`
//! variants, the per-signal one winning.

use std::path::PathBuf;
use std::time::Duration;

use super::{Env, OtlpConfig, Protocol, Signal, parse_pairs};

impl Env<'_> {
    pub(super) fn otlp(&mut self, signal: Signal) -> OtlpConfig {
        let (
            endpoint_var,
            protocol_var,
            headers_var,
            timeout_var,
            compression_var,
            insecure_var,
            path,
        ) = match signal {
            Signal::Traces => (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
                "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
                "OTEL_EXPORTER_OTLP_TRACES_INSECURE",
                "v1/traces",
            ),
            Signal::Metrics => (
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
                "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
                "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
                "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
                "OTEL_EXPORTER_OTLP_METRICS_INSECURE",
                "v1/metrics",
            ),
        };

        let (protocol_name, protocol_raw) = self.pick(protocol_var, "OTEL_EXPORTER_OTLP_PROTOCOL");
        let protocol = match protocol_raw
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("http/protobuf") => Protocol::HttpProtobuf,
            Some("grpc") => Protocol::Grpc,
            Some(_) => {
                let raw = protocol_raw.as_deref().unwrap_or_default();
                self.warn(
                    protocol_name,
                    raw,
                    "is not grpc or http/protobuf",
                    "http/protobuf",
                );
                Protocol::HttpProtobuf
            }
        };

        let signal_endpoint = self.get(endpoint_var);
        let generic_endpoint = self.get("OTEL_EXPORTER_OTLP_ENDPOINT");
        let endpoint_configured = signal_endpoint.is_some() || generic_endpoint.is_some();
        let endpoint = match (signal_endpoint, generic_endpoint, protocol) {
            // The per-signal endpoint is used as it is (spec §6.3).
            (Some(url), _, _) => url,
            (None, Some(base), Protocol::HttpProtobuf) => {
                format!("{}/{path}", base.trim_end_matches('/'))
            }
            (None, Some(base), Protocol::Grpc) => base,
            (None, None, Protocol::HttpProtobuf) => format!("http://localhost:4318/{path}"),
            (None, None, Protocol::Grpc) => "http://localhost:4317".to_owned(),
        };

        let (headers_name, headers_raw) = self.pick(headers_var, "OTEL_EXPORTER_OTLP_HEADERS");
        let headers = match headers_raw {
            None => Vec::new(),
            Some(raw) => match parse_pairs(&raw) {
                Some(pairs) => pairs,
                None => {
                    // The value may carry an API key: name the variable, never print the value.
                    let value = format!("<{} characters, not shown>", raw.len());
                    self.warn(
                        headers_name,
                        &value,
                        "is not a list of key=value pairs",
                        "no headers",
                    );
                    Vec::new()
                }
            },
        };

        let timeout = match self.get(timeout_var) {
            Some(_) => self.millis(timeout_var, Duration::from_secs(10)),
            None => self.millis("OTEL_EXPORTER_OTLP_TIMEOUT", Duration::from_secs(10)),
        };

        let (compression_name, compression_raw) =
            self.pick(compression_var, "OTEL_EXPORTER_OTLP_COMPRESSION");
        let gzip = match compression_raw
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("none") => false,
            Some("gzip") => true,
            Some(_) => {
                let raw = compression_raw.as_deref().unwrap_or_default();
                self.warn(compression_name, raw, "is not gzip or none", "none");
                false
            }
        };

        let insecure = match self.get(insecure_var) {
            Some(_) => self.boolean(insecure_var),
            None => self.boolean("OTEL_EXPORTER_OTLP_INSECURE"),
        };
        let path_var = |env: &mut Self, specific: &'static str, generic: &'static str| {
            env.pick(specific, generic).1.map(PathBuf::from)
        };
        let (certificate, client_certificate, client_key) = match signal {
            Signal::Traces => (
                path_var(
                    self,
                    "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
                    "OTEL_EXPORTER_OTLP_CERTIFICATE",
                ),
                path_var(
                    self,
                    "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
                    "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
                ),
                path_var(
                    self,
                    "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
                    "OTEL_EXPORTER_OTLP_CLIENT_KEY",
                ),
            ),
            Signal::Metrics => (
                path_var(
                    self,
                    "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE",
                    "OTEL_EXPORTER_OTLP_CERTIFICATE",
                ),
                path_var(
                    self,
                    "OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE",
                    "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
                ),
                path_var(
                    self,
                    "OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY",
                    "OTEL_EXPORTER_OTLP_CLIENT_KEY",
                ),
            ),
        };

        OtlpConfig {
            endpoint,
            endpoint_configured,
            protocol,
            headers,
            timeout,
            gzip,
            insecure,
            certificate,
            client_certificate,
            client_key,
        }
    }

    /// The per-signal variable if set, else the generic one, with the name of the one used.
    fn pick(
        &self,
        specific: &'static str,
        generic: &'static str,
    ) -> (&'static str, Option<String>) {
        match self.get(specific) {
            Some(v) => (specific, Some(v)),
            None => (generic, self.get(generic)),
        }
    }
}

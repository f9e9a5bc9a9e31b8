//! What every traced Kafka client records about itself, read from the [`ClientConfig`] it is made from,
//! and the options the four wrappers share.
//!
//! rdkafka keeps no readable copy of a client's configuration, so the natural path reads it where it is
//! still in hand: `TracedProducer::from_config(&config)` (and the same on the other wrappers) creates
//! the client and records
//!
//! - `messaging.client.id` from `client.id`,
//! - `messaging.consumer.group.name` from `group.id` (consumers),
//! - `server.address` and `server.port` from `bootstrap.servers`: **the first server listed** (the one
//!   the client asks first for the cluster's metadata), its port 9092 when none is given; a
//!   `PROTOCOL://` prefix is dropped and IPv6 addresses are written in brackets (`[::1]:9092`).
//!
//! `with_client_id` and `with_server` set or override these on a wrapper made from a client.

use opentelemetry::StringValue;
use rdkafka::ClientConfig;
use tracewire_core::intern::shared;

use crate::Config;

/// Kafka's default broker port.
const DEFAULT_PORT: u16 = 9092;

/// `server.address` and `server.port` for a `bootstrap.servers` list: its first server.
///
/// ```
/// use tracewire_kafka::bootstrap_server;
/// assert_eq!(bootstrap_server("kafka-1:19092,kafka-2:19092"), Some(("kafka-1".into(), 19092)));
/// assert_eq!(bootstrap_server(" broker "), Some(("broker".into(), 9092)));
/// assert_eq!(bootstrap_server("SSL://[::1]:9093"), Some(("::1".into(), 9093)));
/// assert_eq!(bootstrap_server(""), None);
/// ```
pub fn bootstrap_server(servers: &str) -> Option<(String, u16)> {
    let first = servers.split(',').map(str::trim).find(|s| !s.is_empty())?;
    let first = first.split_once("://").map_or(first, |(_, rest)| rest);
    if let Some(v6) = first.strip_prefix('[') {
        let (host, rest) = v6.split_once(']')?;
        let port = match rest.strip_prefix(':') {
            Some(port) => port.parse().ok()?,
            None => DEFAULT_PORT,
        };
        return Some((host.to_owned(), port));
    }
    match first.rsplit_once(':') {
        // More than one colon without brackets is a bare IPv6 address.
        Some((host, _)) if host.contains(':') => Some((first.to_owned(), DEFAULT_PORT)),
        Some((host, port)) => Some((host.to_owned(), port.parse().ok()?)),
        None => Some((first.to_owned(), DEFAULT_PORT)),
    }
}

impl Config {
    /// The settings `client` records: client id and first bootstrap server.
    pub(crate) fn read(&mut self, client: &ClientConfig) {
        if let Some(id) = client.get("client.id").filter(|id| !id.is_empty()) {
            self.client_id = Some(shared(id.to_owned()));
        }
        if let Some((address, port)) = client.get("bootstrap.servers").and_then(bootstrap_server) {
            self.address = Some(shared(address));
            self.port = Some(port);
        }
    }
}

/// The consumer group `client` joins, for `messaging.consumer.group.name`.
pub(crate) fn group(client: &ClientConfig) -> StringValue {
    shared(client.get("group.id").unwrap_or_default().to_owned())
}

/// The options every traced client has, each documented once here.
macro_rules! client_options {
    () => {
        /// Spans and metrics through this [`Instrumentation`](tracewire_core::span::Instrumentation).
        pub fn with_instrumentation(
            mut self,
            instrumentation: tracewire_core::span::Instrumentation,
        ) -> Self {
            self.config =
                $crate::Config::edited(&self.config, |c| c.instrumentation = instrumentation);
            self
        }

        /// Records `messaging.client.id` (read from `client.id` by `from_config`).
        pub fn with_client_id(mut self, id: impl Into<String>) -> Self {
            let id = tracewire_core::intern::shared(id.into());
            self.config = $crate::Config::edited(&self.config, |c| c.client_id = Some(id));
            self
        }

        /// Switches `messaging.client.operation.duration` and `messaging.process.duration` on (the
        /// default) or off.
        pub fn duration_metric(mut self, on: bool) -> Self {
            self.config = $crate::Config::edited(&self.config, |c| {
                let switches = tracewire_core::messaging::MetricSwitches {
                    duration: on,
                    ..c.metrics.switches
                };
                c.metrics = tracewire_core::messaging::ClientMetrics::new(switches);
            });
            self
        }

        /// Switches `messaging.client.sent.messages` and `messaging.client.consumed.messages` on (the
        /// default) or off.
        pub fn count_metric(mut self, on: bool) -> Self {
            self.config = $crate::Config::edited(&self.config, |c| {
                let switches = tracewire_core::messaging::MetricSwitches {
                    count: on,
                    ..c.metrics.switches
                };
                c.metrics = tracewire_core::messaging::ClientMetrics::new(switches);
            });
            self
        }

        /// Records `server.address` / `server.port` (read from `bootstrap.servers` by `from_config`).
        pub fn with_server(mut self, address: impl Into<String>, port: u16) -> Self {
            let address = tracewire_core::intern::shared(address.into());
            self.config = $crate::Config::edited(&self.config, |c| {
                c.address = Some(address);
                c.port = Some(port);
            });
            self
        }
    };
}

/// The options of the two consumers besides [`client_options`].
macro_rules! consumer_options {
    () => {
        $crate::settings::client_options!();

        /// Where `process` spans take their parent from (default: the ambient span, else the producer).
        pub fn with_consumer_parent(
            mut self,
            parent: tracewire_core::messaging::ConsumerParent,
        ) -> Self {
            self.config = $crate::Config::edited(&self.config, |c| c.parent = parent);
            self
        }
    };
}

pub(crate) use {client_options, consumer_options};

#[cfg(test)]
mod tests {
    use super::bootstrap_server;

    #[test]
    fn the_first_bootstrap_server_is_the_address() {
        for (servers, expected) in [
            ("127.0.0.1:9092", Some(("127.0.0.1", 9092))),
            ("a:1, b:2", Some(("a", 1))),
            (",  ,c:3", Some(("c", 3))),
            ("PLAINTEXT://broker:9094", Some(("broker", 9094))),
            ("[2001:db8::1]:9095,other:1", Some(("2001:db8::1", 9095))),
            ("[2001:db8::1]", Some(("2001:db8::1", 9092))),
            ("2001:db8::1", Some(("2001:db8::1", 9092))),
            ("broker:notaport", None),
            ("[::1", None),
            ("", None),
        ] {
            let got = bootstrap_server(servers);
            let expected = expected.map(|(h, p)| (h.to_owned(), p));
            assert_eq!(got, expected, "{servers:?}");
        }
    }
}

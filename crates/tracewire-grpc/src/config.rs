//! What a server layer and a client layer are configured with, and the options both offer, each
//! documented once.
//!
//! Recognized methods: the conventions name a call by its method only when the framework recognizes
//! it, so that callers cannot make span names without bound. tonic's router lists no methods, so the
//! layers learn them from what the application gives: services by type ([`with_service`]) or name,
//! exact methods, or the services' file descriptor set (the one `tonic-reflection` serves). A client
//! recognizes, besides, every call made through a generated client (tonic marks those requests).
//!
//! [`with_service`]: crate::GrpcServerLayer::with_service

use std::sync::Arc;

use tracewire_core::http::HeaderCapture;
use tracewire_core::metrics::{Histogram, InstrumentSpec};
use tracewire_core::rpc::Methods;
use tracewire_core::span::Instrumentation;

/// Decides, from the method (`package.Service/Method`), which calls get no span.
pub(crate) type Filter = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Methods left without a span by default: health checks and reflection, which a load balancer or a
/// tool calls all the time and nobody wants in a trace.
const UNTRACED_SERVICES: [&str; 3] = [
    "grpc.health.v1.Health/",
    "grpc.reflection.v1.ServerReflection/",
    "grpc.reflection.v1alpha.ServerReflection/",
];

/// Whether `method` is a health check or reflection call (the default filter).
///
/// ```
/// assert!(tracewire_grpc::is_health_or_reflection("grpc.health.v1.Health/Check"));
/// assert!(!tracewire_grpc::is_health_or_reflection("shop.Inventory/Reserve"));
/// ```
pub fn is_health_or_reflection(method: &str) -> bool {
    UNTRACED_SERVICES.iter().any(|s| method.starts_with(s))
}

#[derive(Clone)]
pub(crate) struct Config {
    pub instrumentation: Instrumentation,
    pub methods: Methods,
    pub filter: Option<Filter>,
    pub request_metadata: HeaderCapture,
    pub response_metadata: HeaderCapture,
    pub duration: Option<Arc<Histogram>>,
    /// The side's duration metric, for [`duration_metric`](crate::GrpcServerLayer::duration_metric).
    pub duration_spec: InstrumentSpec,
}

impl Config {
    /// Traces through the global providers into `duration` (the side's call-duration metric).
    pub(crate) fn new(duration: InstrumentSpec) -> Self {
        Config {
            instrumentation: Instrumentation::global("tracewire-grpc"),
            methods: Methods::new(),
            filter: Some(Arc::new(is_health_or_reflection)),
            request_metadata: HeaderCapture::default(),
            response_metadata: HeaderCapture::default(),
            duration: Some(Arc::new(Histogram::new(duration))),
            duration_spec: duration,
        }
    }

    /// Whether a call to `method` is left without a span.
    pub(crate) fn skips(&self, method: &str) -> bool {
        self.filter.as_ref().is_some_and(|skip| skip(method))
    }
}

/// The methods a file descriptor set defines (`package.Service/Method` each).
pub(crate) fn descriptor_methods(
    methods: Methods,
    encoded: &[u8],
) -> Result<Methods, prost::DecodeError> {
    use prost::Message;
    let set = prost_types::FileDescriptorSet::decode(encoded)?;
    let mut methods = methods;
    for file in &set.file {
        let package = file.package();
        for service in &file.service {
            let service_name = match package {
                "" => service.name().to_owned(),
                package => format!("{package}.{}", service.name()),
            };
            for method in &service.method {
                methods = methods.with_method(&format!("{service_name}/{}", method.name()));
            }
        }
    }
    Ok(methods)
}

/// The options of both layers.
macro_rules! options {
    () => {
        /// Spans and metrics through this [`Instrumentation`](tracewire_core::span::Instrumentation)
        /// (default: the global providers).
        pub fn with_instrumentation(
            mut self,
            instrumentation: tracewire_core::span::Instrumentation,
        ) -> Self {
            self.edit(|c| c.instrumentation = instrumentation);
            self
        }

        /// Recognizes every method of the service `S` (a generated `…Server<T>` or `…Client<T>`
        /// type names it through tonic's `NamedService`).
        pub fn with_service<S: tonic::server::NamedService>(self) -> Self {
            self.with_service_name(S::NAME)
        }

        /// Recognizes every method of the service `name` (`package.Service`).
        pub fn with_service_name(mut self, name: &str) -> Self {
            self.edit(|c| c.methods = std::mem::take(&mut c.methods).with_service(name));
            self
        }

        /// Recognizes the method `method` (`package.Service/Method`).
        pub fn with_method(mut self, method: &str) -> Self {
            self.edit(|c| c.methods = std::mem::take(&mut c.methods).with_method(method));
            self
        }

        /// Recognizes every method of an encoded `FileDescriptorSet` (what `tonic-prost-build`'s
        /// `file_descriptor_set_path` writes and `tonic-reflection` serves). Fails if the bytes are not
        /// one.
        pub fn with_file_descriptor_set(
            mut self,
            encoded: &[u8],
        ) -> Result<Self, prost::DecodeError> {
            let methods = $crate::config::descriptor_methods(self.config.methods.clone(), encoded)?;
            self.edit(|c| c.methods = methods);
            Ok(self)
        }

        /// Leaves calls for which `skip(method)` is true without a span (context still propagates).
        /// Replaces the default, which skips health checks and reflection
        /// ([`is_health_or_reflection`](crate::is_health_or_reflection)).
        pub fn with_filter<F>(mut self, skip: F) -> Self
        where
            F: Fn(&str) -> bool + Send + Sync + 'static,
        {
            self.edit(|c| c.filter = Some(std::sync::Arc::new(skip)));
            self
        }

        /// Records these request metadata keys as `rpc.request.metadata.<key>` (an allow-list: keys
        /// not named, `authorization` included, are never recorded).
        pub fn capture_request_metadata<I, S>(mut self, keys: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: AsRef<str>,
        {
            let capture =
                tracewire_core::rpc::metadata_capture(tracewire_core::rpc::Metadata::Request, keys);
            self.edit(|c| c.request_metadata = capture);
            self
        }

        /// Records these response metadata keys (head and trailers) as
        /// `rpc.response.metadata.<key>`.
        pub fn capture_response_metadata<I, S>(mut self, keys: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: AsRef<str>,
        {
            let capture = tracewire_core::rpc::metadata_capture(
                tracewire_core::rpc::Metadata::Response,
                keys,
            );
            self.edit(|c| c.response_metadata = capture);
            self
        }

        /// Switches the call-duration metric on (the default) or off.
        pub fn duration_metric(mut self, on: bool) -> Self {
            self.edit(|c| {
                c.duration = on.then(|| {
                    std::sync::Arc::new(tracewire_core::metrics::Histogram::new(c.duration_spec))
                })
            });
            self
        }

        fn edit(&mut self, f: impl FnOnce(&mut $crate::config::Config)) {
            f(std::sync::Arc::make_mut(&mut self.config));
        }
    };
}

pub(crate) use options;

#[cfg(test)]
mod tests {
    use prost::Message;
    use prost_types::{
        FileDescriptorProto, FileDescriptorSet, MethodDescriptorProto, ServiceDescriptorProto,
    };

    use super::descriptor_methods;
    use tracewire_core::rpc::Methods;

    fn service(name: &str, methods: &[&str]) -> ServiceDescriptorProto {
        ServiceDescriptorProto {
            name: Some(name.into()),
            method: methods
                .iter()
                .map(|m| MethodDescriptorProto {
                    name: Some((*m).into()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_descriptor_set_names_every_method_of_every_file() {
        let set = FileDescriptorSet {
            file: vec![
                FileDescriptorProto {
                    package: Some("shop.v1".into()),
                    service: vec![service("Inventory", &["Reserve", "Release"])],
                    ..Default::default()
                },
                FileDescriptorProto {
                    // No package: the service name alone.
                    service: vec![service("Health", &["Check"])],
                    ..Default::default()
                },
            ],
        };
        let methods = descriptor_methods(Methods::new(), &set.encode_to_vec()).expect("decodes");
        for known in [
            "shop.v1.Inventory/Reserve",
            "shop.v1.Inventory/Release",
            "Health/Check",
        ] {
            assert!(methods.recognizes(known), "{known}");
        }
        assert!(!methods.recognizes("shop.v1.Inventory/Drop"));
    }

    #[test]
    fn bytes_that_are_not_a_descriptor_set_are_an_error() {
        assert!(descriptor_methods(Methods::new(), &[0xff, 0xff, 0xff]).is_err());
    }
}

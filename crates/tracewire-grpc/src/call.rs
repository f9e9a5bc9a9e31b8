//! One call, server or client side: the core's [`Operation`] plus what gRPC adds — the status read
//! from the response head or trailers, the method a service turned out not to have, and cancellation as
//! the status `CANCELLED`.

use std::error::Error;
use std::sync::Arc;
use std::time::Instant;

use http::HeaderMap;
use opentelemetry::KeyValue;
use tracewire_core::attributes::{RPC_METHOD, RPC_RESPONSE_STATUS_CODE, RPC_SYSTEM_NAME};
use tracewire_core::http::Side;
use tracewire_core::operation::Operation;
use tracewire_core::propagation::w3c::percent_decode;
use tracewire_core::rpc::{self, RecognizedMethod};
use tracewire_core::span::SpanError;

use crate::config::Config;

/// The duration metric's attributes known at the start; `rpc.method`, the status and `error.type`
/// follow at the end (room made for them now).
pub(crate) fn metric_attributes() -> Vec<KeyValue> {
    let mut attributes = Vec::with_capacity(4);
    attributes.push(KeyValue::new(RPC_SYSTEM_NAME, rpc::GRPC));
    attributes
}

/// The operation of one call, from the request to the status.
pub(crate) struct Call {
    operation: Operation,
    side: Side,
    method: RecognizedMethod,
    config: Arc<Config>,
    /// The client's deadline (`grpc-timeout`): a call dropped after it passed exceeded it.
    deadline: Option<Instant>,
}

impl Call {
    pub(crate) fn new(
        operation: Operation,
        side: Side,
        method: RecognizedMethod,
        config: Arc<Config>,
        deadline: Option<Instant>,
    ) -> Self {
        Call {
            operation,
            side,
            method,
            config,
            deadline,
        }
    }

    pub(crate) fn operation(&self) -> &Operation {
        &self.operation
    }

    /// Reads the status of a response head: a trailers-only response's `grpc-status`, or a non-200
    /// HTTP status mapped to a code. `true` when the head decided it.
    pub(crate) fn on_head(&mut self, status: http::StatusCode, headers: &HeaderMap) -> bool {
        self.capture_response(headers);
        if let Some(code) = rpc::grpc_status(headers) {
            self.finish(code, headers, None);
            return true;
        }
        if status != http::StatusCode::OK {
            let code = rpc::code_from_http_status(status.as_u16());
            self.finish(code, headers, None);
            return true;
        }
        false
    }

    /// Reads the status of the trailers; none there is `UNKNOWN`.
    pub(crate) fn on_trailers(&mut self, trailers: &HeaderMap) {
        self.capture_response(trailers);
        let code = rpc::grpc_status(trailers).unwrap_or(rpc::UNKNOWN);
        self.finish(code, trailers, None);
    }

    /// A call that failed without a status from the other side: the status it makes here.
    pub(crate) fn on_error(&mut self, error: &(dyn Error + 'static)) {
        let code = code_of(error);
        let record = error_record(rpc::status_name(code), error);
        self.finish(code, &HeaderMap::new(), Some(record));
    }

    /// A response that ended without trailers after a head without a status.
    pub(crate) fn on_end_without_status(&mut self) {
        if !self.operation.is_decided() {
            self.finish(rpc::UNKNOWN, &HeaderMap::new(), None);
        }
    }

    fn capture_response(&self, headers: &HeaderMap) {
        let capture = &self.config.response_metadata;
        if capture.is_empty() || !self.operation.span().is_recording() {
            return;
        }
        let mut attributes = Vec::new();
        capture.record(
            headers,
            self.config.instrumentation.limits(),
            &mut attributes,
        );
        self.operation.span().set_attributes(attributes);
    }

    /// Records `code` (once): on the span and the metric, as the outcome the side makes of it.
    fn finish(&mut self, code: i32, metadata: &HeaderMap, record: Option<SpanError>) {
        if self.operation.is_decided() {
            return;
        }
        let code = match (self.side, self.deadline) {
            // The server gave up on the client's deadline (tonic says CANCELLED): for the client, its
            // deadline passed.
            (Side::Client, Some(deadline))
                if code == rpc::CANCELLED && Instant::now() >= deadline =>
            {
                rpc::DEADLINE_EXCEEDED
            }
            _ => code,
        };
        let name = rpc::status_name(code);
        if self.method.by_service {
            // Known by its service only, the method went on the span at its end: a service that lacks
            // it answers UNIMPLEMENTED (tonic's generated fallback), the conventions' unrecognized
            // method.
            if code == rpc::UNIMPLEMENTED {
                let original = self.method.method.clone();
                self.method = RecognizedMethod::other(original.as_str());
                self.operation.span().update_name(rpc::GRPC);
            }
            self.operation
                .span()
                .set_attributes(self.method.attributes());
        }
        let status = KeyValue::new(RPC_RESPONSE_STATUS_CODE, name);
        self.operation.span().set_attribute(status.clone());
        self.operation
            .push_metric_attribute(KeyValue::new(RPC_METHOD, self.method.method.clone()));
        self.operation.push_metric_attribute(status);
        match rpc::status_error(self.side, code) {
            Some(error) => {
                let error = match (record, grpc_message(metadata)) {
                    (Some(record), _) => record,
                    (None, Some(message)) => error.with_description(message),
                    (None, None) => error,
                };
                self.operation.fail(error);
            }
            None => self.operation.succeed(),
        }
    }
}

impl Drop for Call {
    /// Undecided, the call was cancelled: the caller went away (server) or dropped it (client), or its
    /// deadline passed first.
    fn drop(&mut self) {
        if self.operation.is_decided() {
            return;
        }
        let code = match self.deadline {
            Some(deadline) if Instant::now() >= deadline => rpc::DEADLINE_EXCEEDED,
            _ => rpc::CANCELLED,
        };
        self.finish(code, &HeaderMap::new(), None);
    }
}

/// The status message of a failed call (`grpc-message`, percent-encoded on the wire).
fn grpc_message(metadata: &HeaderMap) -> Option<String> {
    let raw = metadata.get("grpc-message")?.to_str().ok()?;
    if raw.is_empty() {
        return None;
    }
    percent_decode(raw)
}

/// The status a local error makes: tonic's status when the error carries one, a client deadline, a
/// connection that could not be made, an I/O failure; `UNKNOWN` otherwise.
pub(crate) fn code_of(error: &(dyn Error + 'static)) -> i32 {
    let mut source = Some(error);
    while let Some(error) = source {
        if let Some(status) = error.downcast_ref::<tonic::Status>() {
            return status.code() as i32;
        }
        if error.is::<tonic::TimeoutExpired>() {
            // tonic reports its client-side timeout as CANCELLED; the conventions' name for a call
            // whose deadline passed is DEADLINE_EXCEEDED.
            return rpc::DEADLINE_EXCEEDED;
        }
        if error.is::<tonic::ConnectError>() {
            return rpc::UNAVAILABLE;
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                ConnectionRefused | ConnectionReset | ConnectionAborted | NotConnected
                | AddrInUse | AddrNotAvailable | BrokenPipe => return rpc::UNAVAILABLE,
                TimedOut => return rpc::DEADLINE_EXCEEDED,
                _ => {}
            }
        }
        source = error.source();
    }
    rpc::UNKNOWN
}

/// The error record of a local failure: `exception.type` is the Rust type of the first error in the
/// chain that tracewire knows (a trait object hides its type otherwise; then no exception event).
fn error_record(error_type: &'static str, error: &(dyn Error + 'static)) -> SpanError {
    let message = error.to_string();
    let mut source = Some(error);
    while let Some(error) = source {
        let type_name = if error.is::<tonic::Status>() {
            std::any::type_name::<tonic::Status>()
        } else if error.is::<tonic::ConnectError>() {
            std::any::type_name::<tonic::ConnectError>()
        } else if error.is::<tonic::TimeoutExpired>() {
            std::any::type_name::<tonic::TimeoutExpired>()
        } else if error.is::<std::io::Error>() {
            std::any::type_name::<std::io::Error>()
        } else {
            source = error.source();
            continue;
        };
        return SpanError::new(error_type)
            .with_description(message.clone())
            .with_exception(type_name, message);
    }
    SpanError::new(error_type).with_description(message)
}

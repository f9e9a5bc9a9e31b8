//! Attribute keys.
//!
//! tracewire follows OpenTelemetry semantic conventions **v1.44.0**. Every key that
//! [`opentelemetry_semantic_conventions`] already defines is re-exported from there (the crate tracks
//! v1.42; none of the keys we use changed between the two). Only keys that crate lacks are defined here, so
//! there is exactly one place to look for a name.
//!
//! ```
//! use tracewire_core::attributes::{HTTP_REQUEST_METHOD, HTTP_REQUEST_HEADER_PREFIX};
//! assert_eq!(HTTP_REQUEST_METHOD, "http.request.method");
//! assert_eq!(HTTP_REQUEST_HEADER_PREFIX, "http.request.header.");
//! ```

pub use opentelemetry_semantic_conventions::attribute::{
    CLIENT_ADDRESS, CLIENT_PORT, DB_COLLECTION_NAME, DB_NAMESPACE, DB_OPERATION_BATCH_SIZE,
    DB_OPERATION_NAME, DB_QUERY_SUMMARY, DB_QUERY_TEXT, DB_RESPONSE_RETURNED_ROWS,
    DB_RESPONSE_STATUS_CODE, DB_STORED_PROCEDURE_NAME, DB_SYSTEM_NAME, ERROR_TYPE,
    EXCEPTION_MESSAGE, EXCEPTION_STACKTRACE, EXCEPTION_TYPE, HTTP_REQUEST_METHOD,
    HTTP_REQUEST_METHOD_ORIGINAL, HTTP_REQUEST_RESEND_COUNT, HTTP_RESPONSE_STATUS_CODE, HTTP_ROUTE,
    MESSAGING_BATCH_MESSAGE_COUNT, MESSAGING_CLIENT_ID, MESSAGING_CONSUMER_GROUP_NAME,
    MESSAGING_DESTINATION_NAME, MESSAGING_DESTINATION_PARTITION_ID, MESSAGING_KAFKA_MESSAGE_KEY,
    MESSAGING_KAFKA_MESSAGE_TOMBSTONE, MESSAGING_KAFKA_OFFSET, MESSAGING_MESSAGE_BODY_SIZE,
    MESSAGING_MESSAGE_CONVERSATION_ID, MESSAGING_MESSAGE_ID, MESSAGING_OPERATION_NAME,
    MESSAGING_OPERATION_TYPE, MESSAGING_RABBITMQ_DESTINATION_ROUTING_KEY,
    MESSAGING_RABBITMQ_MESSAGE_DELIVERY_TAG, MESSAGING_SYSTEM, NETWORK_PEER_ADDRESS,
    NETWORK_PEER_PORT, NETWORK_PROTOCOL_NAME, NETWORK_PROTOCOL_VERSION, SERVER_ADDRESS,
    SERVER_PORT, URL_FULL, URL_PATH, URL_QUERY, URL_SCHEME, URL_TEMPLATE, USER_AGENT_ORIGINAL,
};

/// The semantic-conventions release tracewire follows.
///
/// ```
/// use tracewire_core::attributes::{SCHEMA_URL, SEMCONV_VERSION};
/// assert_eq!(SEMCONV_VERSION, "1.44.0");
/// assert!(SCHEMA_URL.ends_with(SEMCONV_VERSION));
/// ```
pub const SEMCONV_VERSION: &str = "1.44.0";

/// The schema URL of [`SEMCONV_VERSION`], for instrumentation scopes.
///
/// ```
/// use opentelemetry::InstrumentationScope;
/// use tracewire_core::attributes::SCHEMA_URL;
/// let scope = InstrumentationScope::builder("my-lib").with_schema_url(SCHEMA_URL).build();
/// assert_eq!(scope.schema_url(), Some("https://opentelemetry.io/schemas/1.44.0"));
/// ```
pub const SCHEMA_URL: &str = "https://opentelemetry.io/schemas/1.44.0";

/// Prefix of captured request headers: `http.request.header.<lowercased name>` (a string array).
///
/// ```
/// use tracewire_core::attributes::HTTP_REQUEST_HEADER_PREFIX;
/// let key = format!("{HTTP_REQUEST_HEADER_PREFIX}x-request-id");
/// assert_eq!(key, "http.request.header.x-request-id");
/// ```
pub const HTTP_REQUEST_HEADER_PREFIX: &str = "http.request.header.";

/// Prefix of captured response headers: `http.response.header.<lowercased name>` (a string array).
///
/// ```
/// use tracewire_core::attributes::HTTP_RESPONSE_HEADER_PREFIX;
/// let key = format!("{HTTP_RESPONSE_HEADER_PREFIX}content-type");
/// assert_eq!(key, "http.response.header.content-type");
/// ```
pub const HTTP_RESPONSE_HEADER_PREFIX: &str = "http.response.header.";

/// Name of the span event that records an error, with [`EXCEPTION_TYPE`] and [`EXCEPTION_MESSAGE`].
///
/// ```
/// use opentelemetry::{Context, trace::SpanKind};
/// use tracewire_core::attributes::{EXCEPTION_EVENT, EXCEPTION_MESSAGE};
/// use tracewire_core::span::{Outcome, SpanError};
///
/// let capture = tracewire_testing::SpanCapture::new();
/// let instrumentation = capture.instrumentation("t");
/// let span = instrumentation.start(SpanKind::Internal, "work", vec![], &Context::new());
/// span.end(Outcome::Failed(SpanError::from_error(&std::io::Error::other("disk full"))));
/// let event = capture.spans().one("work").event(EXCEPTION_EVENT);
/// assert!(event.iter().any(|(key, value)| {
///     key.as_str() == EXCEPTION_MESSAGE && value.as_str() == "disk full"
/// }));
/// ```
pub const EXCEPTION_EVENT: &str = "exception";

/// Whether a RabbitMQ message was delivered before (`redelivered` in AMQP). Not in the semantic
/// conventions; tracewire's own, in the `messaging.rabbitmq.message` namespace.
///
/// ```
/// use opentelemetry::KeyValue;
/// use tracewire_core::attributes::MESSAGING_RABBITMQ_MESSAGE_REDELIVERED;
/// let attribute = KeyValue::new(MESSAGING_RABBITMQ_MESSAGE_REDELIVERED, true);
/// assert_eq!(attribute.key.as_str(), "messaging.rabbitmq.message.redelivered");
/// ```
pub const MESSAGING_RABBITMQ_MESSAGE_REDELIVERED: &str = "messaging.rabbitmq.message.redelivered";

/// `rpc.system.name`: the RPC system (`grpc`). Semantic conventions 1.44 (release candidate) renamed
/// `rpc.system` to this, and the RPC keys below are newer than the re-exported crate's.
///
/// ```
/// assert_eq!(tracewire_core::attributes::RPC_SYSTEM_NAME, "rpc.system.name");
/// ```
pub const RPC_SYSTEM_NAME: &str = "rpc.system.name";

/// `rpc.method`: the fully qualified method, `package.Service/Method`, or `_OTHER` when unrecognized.
///
/// ```
/// assert_eq!(tracewire_core::attributes::RPC_METHOD, "rpc.method");
/// ```
pub const RPC_METHOD: &str = "rpc.method";

/// `rpc.method_original`: what was called, when `rpc.method` is `_OTHER`.
///
/// ```
/// assert_eq!(tracewire_core::attributes::RPC_METHOD_ORIGINAL, "rpc.method_original");
/// ```
pub const RPC_METHOD_ORIGINAL: &str = "rpc.method_original";

/// `rpc.response.status_code`: the status name (`OK`, `NOT_FOUND`, …).
///
/// ```
/// assert_eq!(tracewire_core::attributes::RPC_RESPONSE_STATUS_CODE, "rpc.response.status_code");
/// ```
pub const RPC_RESPONSE_STATUS_CODE: &str = "rpc.response.status_code";

/// Prefix of captured request metadata: `rpc.request.metadata.<lower-case key>`.
///
/// ```
/// assert_eq!(tracewire_core::attributes::RPC_REQUEST_METADATA_PREFIX, "rpc.request.metadata.");
/// ```
pub const RPC_REQUEST_METADATA_PREFIX: &str = "rpc.request.metadata.";

/// Prefix of captured response metadata: `rpc.response.metadata.<lower-case key>`.
///
/// ```
/// assert_eq!(tracewire_core::attributes::RPC_RESPONSE_METADATA_PREFIX, "rpc.response.metadata.");
/// ```
pub const RPC_RESPONSE_METADATA_PREFIX: &str = "rpc.response.metadata.";

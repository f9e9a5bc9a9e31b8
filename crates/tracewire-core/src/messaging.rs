//! Rules shared by the messaging boundaries (Kafka, RabbitMQ): where a consumer's span hangs in the
//! trace, span names, and the operation types and verbs of semantic conventions §3.
//!
//! The default follows `design.md`: a `process` span is a child of the ambient span when there is one
//! (a worker's own span), else of the producer's context from the message; it always links to the
//! producer's context.
//!
//! ```
//! use opentelemetry::Context;
//! use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState, TraceContextExt};
//! use tracewire_core::messaging::{ConsumerParent, process_parent};
//!
//! let producer = SpanContext::new(TraceId::from(1u128), SpanId::from(2u64), TraceFlags::SAMPLED, true, TraceState::NONE);
//! let from_message = Context::new().with_remote_span_context(producer.clone());
//! let (parent, links) = process_parent(ConsumerParent::default(), &Context::new(), &from_message);
//! assert_eq!(parent.span().span_context().span_id(), SpanId::from(2u64)); // no ambient span: the producer
//! assert_eq!(links.len(), 1);
//! ```

use opentelemetry::Context;
use opentelemetry::trace::{Link, TraceContextExt};

use crate::intern::{Named, Names};

/// Where a consumer's `process` span takes its parent from. Whatever the choice, the span links to the
/// producer's context when the message carries one.
///
/// ```
/// use opentelemetry::Context;
/// use opentelemetry::trace::TraceContextExt;
/// use tracewire_core::messaging::{ConsumerParent, process_parent};
///
/// assert_eq!(ConsumerParent::default(), ConsumerParent::AmbientElseProducer);
/// // `Ambient` with no ambient span and nothing from the message: a new root, no links.
/// let (parent, links) = process_parent(ConsumerParent::Ambient, &Context::new(), &Context::new());
/// assert!(!parent.span().span_context().is_valid());
/// assert!(links.is_empty());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConsumerParent {
    /// The ambient span when there is one, else the producer's context (the default).
    #[default]
    AmbientElseProducer,
    /// Always the producer's context (when the message has one); an ambient span becomes a link.
    Producer,
    /// Always the ambient context (a new root when there is none).
    Ambient,
}

/// The parent context and links of a `process` (or `receive`) span for one message, given the ambient
/// context and the context extracted from the message.
///
/// ```
/// use opentelemetry::Context;
/// use opentelemetry::trace::{
///     SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
/// };
/// use tracewire_core::messaging::{ConsumerParent, process_parent};
///
/// let remote = |trace: u128, span: u64| {
///     let (trace, span) = (TraceId::from(trace), SpanId::from(span));
///     let sc = SpanContext::new(trace, span, TraceFlags::SAMPLED, true, TraceState::NONE);
///     Context::new().with_remote_span_context(sc)
/// };
/// let (ambient, message) = (remote(1, 10), remote(2, 20));
///
/// // The default: the ambient span is the parent, the producer is linked.
/// let (parent, links) = process_parent(ConsumerParent::default(), &ambient, &message);
/// assert_eq!(parent.span().span_context().span_id(), SpanId::from(10u64));
/// assert_eq!(links[0].span_context.span_id(), SpanId::from(20u64));
///
/// // `Producer`: the producer is the parent, and the ambient span becomes a second link.
/// let (parent, links) = process_parent(ConsumerParent::Producer, &ambient, &message);
/// assert_eq!(parent.span().span_context().span_id(), SpanId::from(20u64));
/// assert_eq!(links.len(), 2);
/// ```
pub fn process_parent(
    policy: ConsumerParent,
    ambient: &Context,
    from_message: &Context,
) -> (Context, Vec<Link>) {
    let producer = from_message.span().span_context().clone();
    let ambient_span = ambient.span().span_context().clone();
    let mut links = Vec::with_capacity(2);
    if producer.is_valid() {
        links.push(Link::with_context(producer.clone()));
    }
    let parent = match policy {
        ConsumerParent::AmbientElseProducer if ambient_span.is_valid() => ambient.clone(),
        ConsumerParent::AmbientElseProducer => from_message.clone(),
        ConsumerParent::Producer if producer.is_valid() => {
            if ambient_span.is_valid() {
                links.push(Link::with_context(ambient_span));
            }
            from_message.clone()
        }
        ConsumerParent::Producer => ambient.clone(),
        ConsumerParent::Ambient => ambient.clone(),
    };
    (parent, links)
}

/// `messaging.operation.type` values.
///
/// ```
/// use opentelemetry::KeyValue;
/// use tracewire_core::{attributes::MESSAGING_OPERATION_TYPE, messaging::operation_type};
/// let attribute = KeyValue::new(MESSAGING_OPERATION_TYPE, operation_type::PROCESS);
/// assert_eq!(attribute.value.as_str(), "process");
/// ```
pub mod operation_type {
    /// A message is created.
    ///
    /// ```
    /// assert_eq!(tracewire_core::messaging::operation_type::CREATE, "create");
    /// ```
    pub const CREATE: &str = "create";
    /// Messages are sent to the broker.
    ///
    /// ```
    /// assert_eq!(tracewire_core::messaging::operation_type::SEND, "send");
    /// ```
    pub const SEND: &str = "send";
    /// The application pulls messages.
    ///
    /// ```
    /// assert_eq!(tracewire_core::messaging::operation_type::RECEIVE, "receive");
    /// ```
    pub const RECEIVE: &str = "receive";
    /// A pushed message is processed.
    ///
    /// ```
    /// assert_eq!(tracewire_core::messaging::operation_type::PROCESS, "process");
    /// ```
    pub const PROCESS: &str = "process";
    /// Messages are acknowledged (or not).
    ///
    /// ```
    /// assert_eq!(tracewire_core::messaging::operation_type::SETTLE, "settle");
    /// ```
    pub const SETTLE: &str = "settle";
}

/// Span names per operation and destination: made once per pair, as destinations (topics, exchanges and
/// routing keys) repeat. Past 4096 pairs (destinations made per tenant or per day) each operation builds
/// its own name.
static SPAN_NAMES: Names = Names::new(4096);

/// The span name `{operation} {destination}` (semantic conventions §3.2), shared between operations on the
/// same destination, and the destination as an attribute value.
///
/// ```
/// let named = tracewire_core::messaging::span_name("process", "orders");
/// assert_eq!(named.name, "process orders");
/// assert_eq!(named.text.as_str(), "orders");
/// ```
pub fn span_name(operation: &'static str, destination: &str) -> Named {
    SPAN_NAMES.get(operation, destination, |operation, destination| {
        format!("{operation} {destination}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

    fn cx(trace: u128, span: u64) -> Context {
        Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from(trace),
            SpanId::from(span),
            TraceFlags::SAMPLED,
            true,
            TraceState::NONE,
        ))
    }

    #[test]
    fn policies() {
        let ambient = cx(1, 10);
        let message = cx(2, 20);
        let id = |c: &Context| c.span().span_context().span_id();

        let (p, l) = process_parent(ConsumerParent::AmbientElseProducer, &ambient, &message);
        assert_eq!((id(&p), l.len()), (SpanId::from(10u64), 1));
        let (p, l) = process_parent(
            ConsumerParent::AmbientElseProducer,
            &Context::new(),
            &message,
        );
        assert_eq!((id(&p), l.len()), (SpanId::from(20u64), 1));
        let (p, l) = process_parent(ConsumerParent::Producer, &ambient, &message);
        assert_eq!((id(&p), l.len()), (SpanId::from(20u64), 2));
        let (p, l) = process_parent(ConsumerParent::Ambient, &Context::new(), &message);
        assert_eq!((id(&p), l.len()), (SpanId::INVALID, 1));
        let (p, l) = process_parent(ConsumerParent::default(), &Context::new(), &Context::new());
        assert_eq!((id(&p), l.len()), (SpanId::INVALID, 0));
    }
}

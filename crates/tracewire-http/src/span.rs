//! The operation of one request: the core's [`Operation`] (span, duration metric, outcome, error,
//! cancellation) plus what only an HTTP server records, the active-requests gauge. The service starts
//! it, the response future and body end it.

use std::sync::Arc;

use opentelemetry::{Context, KeyValue};
use tracewire_core::attributes::HTTP_RESPONSE_STATUS_CODE;
use tracewire_core::operation::Operation;
use tracewire_core::span::{ActiveSpan, Outcome, SpanError};

use crate::config::Config;

/// The operation of one request, from the request to the end of its response.
pub(crate) struct RequestSpan {
    pub(crate) operation: Operation,
    pub(crate) config: Arc<Config>,
}

impl RequestSpan {
    /// Starts measuring `span`; `metric_attributes` begin with method and scheme (the gauge's).
    pub(crate) fn new(
        span: ActiveSpan,
        config: Arc<Config>,
        metric_attributes: Vec<KeyValue>,
    ) -> Self {
        let operation = Operation::maybe(
            span,
            config.instrumentation.clone(),
            config.duration.clone(),
            metric_attributes,
        );
        RequestSpan { operation, config }
    }

    pub(crate) fn context(&self) -> &Context {
        self.operation.context()
    }

    pub(crate) fn span(&self) -> &ActiveSpan {
        self.operation.span()
    }

    /// Records the response status: on the metric, and as the outcome (a later failure overrides it).
    pub(crate) fn respond(&mut self, status: u16, outcome: Outcome) {
        self.operation
            .push_metric_attribute(KeyValue::new(HTTP_RESPONSE_STATUS_CODE, i64::from(status)));
        match outcome {
            Outcome::Failed(error) => self.operation.fail(error),
            Outcome::Success | Outcome::Cancelled => self.operation.succeed(),
        }
    }

    /// Records a failure (body error, panic) that overrides what the head said.
    pub(crate) fn fail(&mut self, error: SpanError) {
        self.operation.fail(error);
    }

    /// Ends the span and records the metrics (dropping does the same; undecided is cancelled: the
    /// caller went away before a response).
    pub(crate) fn finish(self) {
        drop(self);
    }
}

impl Drop for RequestSpan {
    fn drop(&mut self) {
        if let Some(active) = &self.config.active_requests
            && let Some(attributes) = self.operation.metric_attributes().get(..2)
        {
            active.add(&self.config.instrumentation, -1, attributes);
        }
        // The operation, dropped next, ends the span and records the duration.
    }
}

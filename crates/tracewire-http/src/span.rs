//! The span of one request and what it records when it ends: the server span's outcome, the active
//! requests gauge and the duration metric. The service starts it, the response future and body end it.

use std::sync::Arc;
use std::time::Instant;

use opentelemetry::{Context, KeyValue};
use tracewire_core::attributes::HTTP_RESPONSE_STATUS_CODE;
use tracewire_core::span::{ActiveSpan, Outcome, SpanError};

use crate::config::Config;

/// The span of one request, from the request to the end of its response.
pub(crate) struct RequestSpan {
    pub(crate) span: ActiveSpan,
    pub(crate) config: Arc<Config>,
    pub(crate) started: Instant,
    /// Attributes of the duration metric known at start: method, scheme, route, protocol version.
    pub(crate) metric_attributes: Vec<KeyValue>,
    pub(crate) status: Option<u16>,
    pub(crate) outcome: Option<Outcome>,
}

impl RequestSpan {
    pub(crate) fn context(&self) -> &Context {
        self.span.context()
    }

    /// Records a failure (body error, panic) that overrides what the head said.
    pub(crate) fn fail(&mut self, error: SpanError) {
        self.outcome = Some(Outcome::Failed(error));
    }

    /// Ends the span and records the metrics (dropping does the same).
    pub(crate) fn finish(self) {
        drop(self);
    }
}

impl Drop for RequestSpan {
    /// `Outcome::Cancelled` when no response was produced (the caller went away).
    fn drop(&mut self) {
        let outcome = self.outcome.take().unwrap_or(Outcome::Cancelled);
        let config = &self.config;
        let instrumentation = &config.instrumentation;
        if let Some(active) = &config.active_requests {
            active.add(instrumentation, -1, &self.metric_attributes[..2]);
        }
        if let Some(duration) = &config.duration {
            let mut attributes = std::mem::take(&mut self.metric_attributes);
            if let Some(status) = self.status {
                attributes.push(KeyValue::new(HTTP_RESPONSE_STATUS_CODE, i64::from(status)));
            }
            if let Outcome::Failed(error) = &outcome {
                attributes.push(error.attribute());
            }
            duration.record(
                instrumentation,
                self.started.elapsed().as_secs_f64(),
                &attributes,
            );
        }
        self.span.finish(outcome);
    }
}

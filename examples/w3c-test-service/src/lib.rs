//! The W3C trace-context validation service.
//!
//! `POST /test` takes a JSON array of `{"url": …, "arguments": …}`; for each element, in order, it sends
//! `POST url` with `arguments` as the JSON body, through tracewire's client middleware, so every callback
//! carries exactly one `traceparent` (a child of our server span) and the `tracestate` it received. It
//! answers 200 once every callback has finished, as the harness requires.
//!
//! ```
//! let app = w3c_test_service::app(w3c_test_service::client());
//! # let _ = app;
//! ```

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, extract::State};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use serde::Deserialize;
use tracewire_http::HttpServerLayer;
use tracewire_reqwest::HttpClientMiddleware;

/// One callback the harness asks for.
#[derive(Debug, Deserialize)]
pub struct Callback {
    /// Where to send it.
    pub url: String,
    /// The JSON body to send.
    #[serde(default)]
    pub arguments: serde_json::Value,
}

/// The HTTP client, with tracewire's middleware.
pub fn client() -> ClientWithMiddleware {
    ClientBuilder::new(reqwest::Client::new())
        .with(HttpClientMiddleware::default())
        .build()
}

/// The service: `POST /test`, traced by tracewire's server layer.
pub fn app(client: ClientWithMiddleware) -> Router {
    Router::new()
        .route("/test", post(run_callbacks))
        .layer(HttpServerLayer::new())
        .with_state(client)
}

async fn run_callbacks(
    State(client): State<ClientWithMiddleware>,
    Json(callbacks): Json<Vec<Callback>>,
) -> (StatusCode, Json<serde_json::Value>) {
    for callback in callbacks {
        let arguments = if callback.arguments.is_null() {
            serde_json::Value::Array(Vec::new())
        } else {
            callback.arguments
        };
        // A failing callback is the harness's business; keep going and still answer 200.
        let _ = client.post(&callback.url).json(&arguments).send().await;
    }
    (StatusCode::OK, Json(serde_json::json!({})))
}

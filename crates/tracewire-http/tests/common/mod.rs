//! A real axum server on 127.0.0.1 with the layer under test, and the span capture it reports to.

#![allow(dead_code, reason = "each test binary uses some of these helpers")]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tracewire_http::HttpServerLayer;
use tracewire_testing::{SpanCapture, Spans};

pub const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
pub const PARENT_ID: &str = "00f067aa0ba902b7";

pub fn traceparent() -> String {
    format!("00-{TRACE_ID}-{PARENT_ID}-01")
}

pub struct TestServer {
    pub capture: SpanCapture,
    pub addr: SocketAddr,
}

impl TestServer {
    /// Serves `app` with `layer` (given the capture's provider) added by `Router::layer`.
    pub async fn start(app: Router, layer: HttpServerLayer) -> Self {
        tracewire_core::propagation::install();
        let capture = SpanCapture::new();
        let addr = serve(app.layer(layer.with_tracer_provider(capture.provider()))).await;
        TestServer { capture, addr }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn spans(&self, count: usize) -> Spans {
        let spans = self.capture.wait_for(count, Duration::from_secs(10)).await;
        assert_eq!(spans.len(), count, "span count\n{}", spans.waterfall());
        spans
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent("tracewire-test/1.0")
        .build()
        .expect("client")
}

/// Serves `app` (with the peer's address known) on an ephemeral 127.0.0.1 port until the test ends.
pub async fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    addr
}

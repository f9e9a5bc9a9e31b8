//! A real tonic server and client on 127.0.0.1, both traced, with spans and metrics captured.

#![allow(dead_code, reason = "each test binary uses part of the kit")]

use std::net::SocketAddr;
use std::time::Duration;

use tonic::transport::{Channel, Endpoint, Server};
use tracewire_grpc::{GrpcClientLayer, GrpcClientService, GrpcServerLayer};
use tracewire_testing::echo::{EchoClient, EchoServer, EchoService};
use tracewire_testing::{MetricCapture, SpanCapture, Spans};

pub const UNARY: &str = "tracewire.test.Echo/Unary";

pub struct Setup {
    pub spans: SpanCapture,
    pub metrics: MetricCapture,
    pub addr: SocketAddr,
}

impl Setup {
    /// A traced echo server (with `layer`'s settings plus the capture) serving `service`.
    pub async fn serve(layer: GrpcServerLayer, service: EchoService) -> Self {
        tracewire_core::propagation::install();
        let spans = SpanCapture::new();
        let metrics = MetricCapture::new();
        let layer = layer.with_instrumentation(
            metrics.instrumentation(spans.instrumentation("tracewire-grpc"), "tracewire-grpc"),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        tokio::spawn(
            Server::builder()
                .layer(layer)
                .add_service(EchoServer::new(service))
                .serve_with_incoming(incoming),
        );
        Setup {
            spans,
            metrics,
            addr,
        }
    }

    pub fn target(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A generated client over a traced channel, reporting to the same capture.
    pub fn client(&self) -> EchoClient<GrpcClientService<Channel>> {
        self.client_with(GrpcClientLayer::new(&self.target()), |e| e)
    }

    pub fn client_with(
        &self,
        layer: GrpcClientLayer,
        endpoint: impl FnOnce(Endpoint) -> Endpoint,
    ) -> EchoClient<GrpcClientService<Channel>> {
        let channel =
            endpoint(Endpoint::from_shared(self.target()).expect("endpoint")).connect_lazy();
        let layer = layer.with_instrumentation(self.metrics.instrumentation(
            self.spans.instrumentation("tracewire-grpc"),
            "tracewire-grpc",
        ));
        EchoClient::new(tower_layer::Layer::layer(&layer, channel))
    }

    /// Waits until `n` spans have ended (a server span ends when its trailers are sent, which can be
    /// after the client has its answer).
    pub async fn spans(&self, n: usize) -> Spans {
        for _ in 0..200 {
            let spans = self.spans.spans();
            if spans.len() >= n {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let spans = self.spans.spans();
        panic!(
            "expected {n} spans, got {}:\n{}",
            spans.len(),
            spans.waterfall()
        );
    }
}

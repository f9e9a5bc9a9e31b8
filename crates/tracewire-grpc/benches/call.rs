//! One unary call in process, a generated client wired straight to the generated server (no network),
//! with and without the client and server layers: what each layer adds per call, spans exported to a
//! discarding processor and the duration metrics on (an SDK meter provider never read during the run).
//! `cargo bench -p tracewire-grpc`; `TW_COUNT=variant:N` runs one variant N times for counting
//! instructions (`valgrind --tool=cachegrind`). The load run in `examples/load-bench` (`grpc`) measures
//! whole processes against the peers.

use criterion::{Criterion, criterion_group};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tower_layer::Layer;
use tracewire_grpc::{GrpcClientLayer, GrpcServerLayer};
use tracewire_testing::bench::DiscardSpans;
use tracewire_testing::echo::{EchoClient, EchoRequest, EchoServer, EchoService};

const TARGET: &str = "http://127.0.0.1:50051";

fn install() {
    let provider = SdkTracerProvider::builder()
        .with_span_processor(DiscardSpans)
        .build();
    tracewire_core::span::install_tracer_provider(provider);
    // Kept for the process: dropping it would shut the meters down.
    std::mem::forget(tracewire_testing::bench::install_meter_provider());
    tracewire_core::propagation::install();
}

fn request() -> EchoRequest {
    EchoRequest {
        message: "order-42".into(),
        ..Default::default()
    }
}

fn server() -> EchoServer<EchoService> {
    EchoServer::new(EchoService::default())
}

/// Runs `calls` unary calls of `variant` on `runtime`.
fn run(runtime: &tokio::runtime::Runtime, variant: &str, calls: u64) {
    let server_layer = GrpcServerLayer::new().with_service::<EchoServer<EchoService>>();
    let client_layer = GrpcClientLayer::new(TARGET);
    runtime.block_on(async {
        macro_rules! drive {
            ($client:expr) => {{
                let mut client = $client;
                for _ in 0..calls {
                    client.unary(request()).await.expect("call");
                }
            }};
        }
        match variant {
            "plain" => drive!(EchoClient::new(server())),
            "server" => drive!(EchoClient::new(server_layer.layer(server()))),
            "client" => drive!(EchoClient::new(client_layer.layer(server()))),
            "both" => drive!(EchoClient::new(
                client_layer.layer(server_layer.layer(server()))
            )),
            other => panic!("unknown variant {other}"),
        }
    });
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

fn calls(c: &mut Criterion) {
    install();
    let runtime = runtime();
    for variant in ["plain", "server", "client", "both"] {
        c.bench_function(&format!("unary call, {variant}"), |b| {
            b.iter(|| run(&runtime, variant, 1))
        });
    }
}

criterion_group!(benches, calls);

fn main() {
    if let Ok(count) = std::env::var("TW_COUNT") {
        let (variant, n) = count.split_once(':').expect("TW_COUNT=variant:N");
        install();
        run(&runtime(), variant, n.parse().expect("N"));
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

//! Runs the checkout demo: two checkouts (one paid, one declined), each printed as one waterfall
//! across every service, or exported over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
//!
//! ```sh
//! cargo run -p checkout-demo
//! CHECKOUT_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//! CHECKOUT_KAFKA_BROKERS=127.0.0.1:9092 cargo run -p checkout-demo
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 cargo run -p checkout-demo
//! ```

use checkout_demo::{CheckoutRequest, DECLINED_CARD, Demo, DemoConfig};

#[tokio::main]
async fn main() {
    let config = DemoConfig::from_env();
    let otlp = config.otlp;
    let demo = match Demo::start(config).await {
        Ok(demo) => demo,
        Err(e) => {
            eprintln!("checkout demo could not start: {e}");
            std::process::exit(1);
        }
    };
    println!("checkout demo: {}\n", demo.describe());
    let orders = [
        ("a paid order", "4242-4242-4242-4242"),
        ("a declined payment", DECLINED_CARD),
    ];
    for (what, card) in orders {
        let checkout = demo
            .checkout(&CheckoutRequest {
                item: "espresso-machine".into(),
                quantity: 1,
                card: card.into(),
            })
            .await;
        println!(
            "{what}: HTTP {} {} — trace {} ({} spans)",
            checkout.status,
            checkout.body,
            checkout.trace_id,
            checkout.spans.len()
        );
        if otlp {
            println!("  exported over OTLP; open it in Jaeger or Tempo by its trace id\n");
        } else {
            println!("{}", checkout.waterfall());
        }
    }
    demo.shutdown().await;
}

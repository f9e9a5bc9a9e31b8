//! The demo end to end against the real services: PostgreSQL, tansu (Kafka) and RabbitMQ on
//! 127.0.0.1. One checkout is one trace across seven services (one hop over gRPC); the payment API is the bottleneck; a
//! declined payment marks exactly the calls that failed.

use checkout_demo::{
    Checkout, CheckoutRequest, DECLINED_CARD, Demo, DemoConfig, DemoSpan, PAYMENT_API_DELAY,
};
use opentelemetry::trace::SpanKind;
use tracewire_testing::tansu::TansuBroker;

fn one<'a>(checkout: &'a Checkout, service: &str, name: &'a str) -> &'a DemoSpan {
    let found: Vec<&DemoSpan> = checkout
        .named(name)
        .filter(|s| s.service == service)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{service}: {name}\n{}",
        checkout.waterfall()
    );
    found[0]
}

fn parent_of(child: &DemoSpan, parent: &DemoSpan) -> bool {
    child.span.parent_span_id == parent.span.span_context.span_id()
}

fn request(card: &str) -> CheckoutRequest {
    CheckoutRequest {
        item: "espresso-machine".into(),
        quantity: 1,
        card: card.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_is_one_trace_across_every_service_on_postgres_tansu_and_rabbitmq() {
    let broker = TansuBroker::start();
    broker.create_topic("orders", 1);
    let demo = Demo::start(DemoConfig {
        database_url: Some("postgres://postgres@127.0.0.1:5432/test".into()),
        kafka_brokers: Some(broker.bootstrap_servers().to_owned()),
        amqp_url: Some("amqp://guest:guest@127.0.0.1:5672/%2f".into()),
        otlp: false,
        otlp_endpoint: None,
    })
    .await
    .expect("demo starts");
    assert!(
        demo.describe().contains("RabbitMQ connected"),
        "{}",
        demo.describe()
    );

    let paid = demo.checkout(&request("4242-4242-4242-4242")).await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    let w = paid.waterfall();

    let gateway = one(&paid, "api-gateway", "POST /checkout");
    assert_eq!(gateway.span.span_kind, SpanKind::Server);
    assert!(
        gateway.span.parent_span_is_remote,
        "the client's traceparent is the parent"
    );
    let to_orders = one(&paid, "api-gateway", "POST");
    assert!(parent_of(to_orders, gateway), "{w}");
    let orders = one(&paid, "order-service", "POST /orders");
    assert!(parent_of(orders, to_orders), "{w}");
    // order-service asks inventory-service over gRPC; the inventory query hangs under its server span.
    let check = "checkout.inventory.v1.Inventory/Check";
    let to_inventory = one(&paid, "order-service", check);
    assert_eq!(to_inventory.span.span_kind, SpanKind::Client);
    assert!(parent_of(to_inventory, orders), "{w}");
    let inventory = one(&paid, "inventory-service", check);
    assert_eq!(inventory.span.span_kind, SpanKind::Server);
    assert!(parent_of(inventory, to_inventory), "{w}");
    let select = one(&paid, "inventory-service", "SELECT inventory");
    assert!(parent_of(select, inventory), "{w}");
    let to_payments = paid
        .named("POST")
        .find(|s| s.service == "order-service")
        .expect("order-service calls payment-service");
    let payments = one(&paid, "payment-service", "POST /payments");
    assert!(parent_of(payments, to_payments), "{w}");
    let charge = one(&paid, "payment-api", "POST /v1/charges");
    let insert = one(&paid, "order-service", "INSERT orders");
    assert!(parent_of(insert, orders), "{w}");
    let send = one(&paid, "order-service", "send orders");
    assert_eq!(send.span.span_kind, SpanKind::Producer);
    let process = one(&paid, "fulfillment-worker", "process orders");
    assert!(parent_of(process, send), "{w}");
    let shipment = one(&paid, "fulfillment-worker", "INSERT shipments");
    assert!(parent_of(shipment, process), "{w}");
    let publish = paid
        .spans
        .iter()
        .find(|s| {
            s.service == "order-service" && s.span.name.starts_with("publish checkout.emails")
        })
        .expect("publish to RabbitMQ");
    let email = paid
        .spans
        .iter()
        .find(|s| s.service == "email-worker" && s.span.name.starts_with("process checkout.emails"))
        .expect("email worker");
    assert!(parent_of(email, publish), "{w}");
    assert!(paid.spans.iter().all(|s| !s.is_error()), "{w}");

    // The payment API is the bottleneck: the largest self time in the trace.
    let took = |s: &DemoSpan| {
        s.span
            .end_time
            .duration_since(s.span.start_time)
            .unwrap_or_default()
    };
    assert!(took(charge) >= PAYMENT_API_DELAY, "{w}");
    assert!(
        w.lines()
            .any(|l| l.contains("payment-api: POST /v1/charges") && l.contains("<- slowest")),
        "{w}"
    );

    let declined = demo.checkout(&request(DECLINED_CARD)).await;
    assert_eq!(declined.status, 402, "{}", declined.body);
    let w = declined.waterfall();
    let errors: Vec<(&str, &str)> = declined
        .spans
        .iter()
        .filter(|s| s.is_error())
        .map(|s| (s.service, s.span.name.as_ref()))
        .collect();
    // Every client call that got the 402 is an error; servers answering 4xx are not (semconv); nothing
    // was sent to Kafka or RabbitMQ.
    let mut errors = errors;
    errors.sort();
    assert_eq!(
        errors,
        [
            ("api-gateway", "POST"),
            ("order-service", "POST"),
            ("payment-service", "POST")
        ],
        "{w}"
    );
    assert!(declined.named("send orders").next().is_none(), "{w}");
    assert!(
        declined
            .spans
            .iter()
            .all(|s| !s.span.name.starts_with("publish")),
        "{w}"
    );
    assert!(declined.spans.len() >= 7, "{w}");
    demo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_defaults_run_without_any_service_but_rabbitmq() {
    // SQLite in memory and librdkafka's mock cluster; RabbitMQ at an address where nothing answers.
    let demo = Demo::start(DemoConfig {
        amqp_url: Some("amqp://guest:guest@127.0.0.1:1/%2f".into()),
        ..DemoConfig::default()
    })
    .await
    .expect("demo starts");
    assert!(
        demo.describe().contains("not reachable"),
        "{}",
        demo.describe()
    );
    let paid = demo.checkout(&request("4242-4242-4242-4242")).await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    let w = paid.waterfall();
    assert!(w.contains("fulfillment-worker: INSERT shipments"), "{w}");
    assert!(w.contains("inventory-service: SELECT inventory"), "{w}");
    assert!(
        w.contains("order-service: checkout.inventory.v1.Inventory/Check"),
        "{w}"
    );
    assert!(!w.contains("email-worker"), "{w}");
    assert_eq!(
        paid.spans
            .iter()
            .map(|s| s.span.span_context.trace_id())
            .collect::<std::collections::HashSet<_>>()
            .len(),
        1
    );
    demo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_otlp_endpoint_every_service_exports_its_traces_and_metrics() {
    let receiver = tracewire_testing::OtlpReceiver::start()
        .await
        .expect("receiver");
    let demo = Demo::start(DemoConfig {
        amqp_url: Some("amqp://guest:guest@127.0.0.1:1/%2f".into()),
        otlp: true,
        otlp_endpoint: Some(receiver.http_endpoint()),
        ..DemoConfig::default()
    })
    .await
    .expect("demo starts");
    let paid = demo.checkout(&request("4242-4242-4242-4242")).await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    // Shutting down flushes every service's traces and metrics.
    demo.shutdown().await;

    let spans = receiver.spans();
    assert!(
        spans
            .iter()
            .any(|s| s.span.name == "POST /checkout" && s.scope == "tracewire-http"),
        "no server span over OTLP"
    );
    let metrics = receiver.metric_names();
    for (service, metric) in [
        ("api-gateway", "http.server.request.duration"),
        ("api-gateway", "http.client.request.duration"),
        ("order-service", "db.client.operation.duration"),
        ("order-service", "messaging.client.sent.messages"),
        ("fulfillment-worker", "messaging.process.duration"),
        ("order-service", "rpc.client.call.duration"),
        ("inventory-service", "rpc.server.call.duration"),
    ] {
        assert!(
            metrics.contains(&(service.to_owned(), metric.to_owned())),
            "{service} {metric} not exported: {metrics:?}"
        );
    }
}

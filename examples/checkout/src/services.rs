//! The services of the demo: the payment API, payment-service, order-service and the api-gateway, each
//! an axum handler with the state it needs; `Demo::start` wires them together.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router};
use lapin::options::BasicPublishOptions;
use rdkafka::producer::FutureRecord;
use reqwest_middleware::ClientWithMiddleware;
use serde::{Deserialize, Serialize};

use crate::database::{Arg, Database};
use crate::{CheckoutRequest, DemoError, ServiceTelemetry, inventory};

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct PaymentRequest {
    pub(crate) order_id: String,
    pub(crate) amount_cents: i64,
    pub(crate) card: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct OrderPlaced {
    pub(crate) order_id: String,
    pub(crate) item: String,
    pub(crate) quantity: i32,
}

/// The card number the payment API declines.
pub const DECLINED_CARD: &str = "4000-0000-0000-0002";

/// How long the external payment API takes: the bottleneck the trace should show.
pub const PAYMENT_API_DELAY: Duration = Duration::from_millis(150);

pub(crate) fn traced_client(telemetry: &ServiceTelemetry) -> ClientWithMiddleware {
    reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(
            tracewire_reqwest::HttpClientMiddleware::new()
                .with_instrumentation(telemetry.instrumentation("tracewire-reqwest")),
        )
        .build()
}

pub(crate) fn server_layer(telemetry: &ServiceTelemetry) -> tracewire_http::HttpServerLayer {
    tracewire_http::HttpServerLayer::new()
        .with_instrumentation(telemetry.instrumentation("tracewire-http"))
}

pub(crate) async fn serve(app: Router) -> Result<SocketAddr, DemoError> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| DemoError(format!("bind: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| DemoError(format!("bind: {e}")))?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}

/// The external payment API: slow, and declines one card.
pub(crate) async fn payment_api(Json(payment): Json<PaymentRequest>) -> (StatusCode, &'static str) {
    tokio::time::sleep(PAYMENT_API_DELAY).await;
    if payment.card == DECLINED_CARD {
        (StatusCode::PAYMENT_REQUIRED, "card declined")
    } else {
        (StatusCode::OK, "approved")
    }
}

#[derive(Clone)]
pub(crate) struct PaymentService {
    pub(crate) client: ClientWithMiddleware,
    pub(crate) api: SocketAddr,
}

pub(crate) async fn payment_service(
    State(service): State<PaymentService>,
    Json(payment): Json<PaymentRequest>,
) -> (StatusCode, String) {
    match service
        .client
        .post(format!("http://{}/v1/charges", service.api))
        .json(&payment)
        .send()
        .await
    {
        Ok(response) if response.status().is_success() => (StatusCode::OK, "paid".into()),
        Ok(response) => (
            StatusCode::PAYMENT_REQUIRED,
            response.text().await.unwrap_or_default(),
        ),
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()),
    }
}

#[derive(Clone)]
pub(crate) struct OrderService {
    pub(crate) db: Database,
    pub(crate) inventory: inventory::Client,
    pub(crate) client: ClientWithMiddleware,
    pub(crate) payments: SocketAddr,
    pub(crate) kafka: tracewire_kafka::TracedProducer,
    pub(crate) rabbit: Option<(tracewire_lapin::TracedChannel, String)>,
    pub(crate) run: Arc<str>,
    pub(crate) next_id: Arc<std::sync::atomic::AtomicU64>,
}

pub(crate) async fn order_service(
    State(service): State<OrderService>,
    Json(order): Json<CheckoutRequest>,
) -> (StatusCode, String) {
    let check = inventory::CheckRequest {
        item: order.item.clone(),
    };
    let (stock, price) = match service.inventory.clone().check(check).await {
        Ok(reply) => {
            let inventory::CheckReply { stock, price_cents } = reply.into_inner();
            (stock, price_cents)
        }
        Err(status) if status.code() == tonic::Code::NotFound => {
            return (StatusCode::NOT_FOUND, "no such item".into());
        }
        Err(status) => return (StatusCode::BAD_GATEWAY, status.message().to_owned()),
    };
    if stock < i64::from(order.quantity) {
        return (StatusCode::CONFLICT, "out of stock".into());
    }
    let order_id = format!(
        "o-{}-{}",
        service.run,
        service
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let payment = PaymentRequest {
        order_id: order_id.clone(),
        amount_cents: price * i64::from(order.quantity),
        card: order.card.clone(),
    };
    match service
        .client
        .post(format!("http://{}/payments", service.payments))
        .json(&payment)
        .send()
        .await
    {
        Ok(response) if response.status().is_success() => {}
        Ok(response) => {
            let status = response.status();
            return (
                StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY),
                response.text().await.unwrap_or_default(),
            );
        }
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()),
    }
    if let Err(e) = service
        .db
        .execute(
            "INSERT INTO orders (id, item, quantity) VALUES ($1, $2, $3)",
            &[
                Arg::Text(&order_id),
                Arg::Text(&order.item),
                Arg::Int(order.quantity),
            ],
        )
        .await
    {
        return (StatusCode::INTERNAL_SERVER_ERROR, e);
    }
    let event = OrderPlaced {
        order_id: order_id.clone(),
        item: order.item.clone(),
        quantity: order.quantity,
    };
    let payload = serde_json::to_vec(&event).unwrap_or_default();
    if let Err((e, _)) = service
        .kafka
        .send(
            FutureRecord::to("orders").key(&order_id).payload(&payload),
            Duration::from_secs(5),
        )
        .await
    {
        return (StatusCode::SERVICE_UNAVAILABLE, format!("kafka: {e}"));
    }
    if let Some((channel, queue)) = &service.rabbit {
        let _ = channel
            .basic_publish(
                "".into(),
                queue.as_str().into(),
                BasicPublishOptions::default(),
                &payload,
                lapin::BasicProperties::default(),
            )
            .await;
    }
    (StatusCode::CREATED, order_id)
}

#[derive(Clone)]
pub(crate) struct Gateway {
    pub(crate) client: ClientWithMiddleware,
    pub(crate) orders: SocketAddr,
}

pub(crate) async fn gateway(
    State(gateway): State<Gateway>,
    Json(order): Json<CheckoutRequest>,
) -> (StatusCode, String) {
    match gateway
        .client
        .post(format!("http://{}/orders", gateway.orders))
        .json(&order)
        .send()
        .await
    {
        Ok(response) => (
            StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY),
            response.text().await.unwrap_or_default(),
        ),
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()),
    }
}

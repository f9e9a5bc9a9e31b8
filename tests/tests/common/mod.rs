//! Shared pieces of the cross-crate tests.

#![allow(dead_code, reason = "each test binary uses some of these helpers")]

use std::net::SocketAddr;

use axum::Router;

/// Serves `app` on an ephemeral 127.0.0.1 port until the test ends.
pub async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// Declares `name` as an exclusive queue: nothing outside this connection uses it, and it goes away
/// with the connection, so tests leave no queues (and no messages) behind on the shared broker.
pub async fn exclusive_queue(channel: &lapin::Channel, name: &str) {
    channel
        .queue_declare(
            name.into(),
            lapin::options::QueueDeclareOptions {
                exclusive: true,
                ..Default::default()
            },
            lapin::types::FieldTable::default(),
        )
        .await
        .expect("queue");
}

/// A traced pool of two connections to the local PostgreSQL database `test`.
pub async fn pg_pool(
    instrumentation: tracewire_core::span::Instrumentation,
) -> tracewire_sqlx::TracedPool<sqlx::Postgres> {
    tracewire_sqlx::TracedPool::builder(
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect("postgres://postgres@127.0.0.1:5432/test")
            .await
            .expect("PostgreSQL"),
    )
    .with_instrumentation(instrumentation)
    .build()
    .await
}

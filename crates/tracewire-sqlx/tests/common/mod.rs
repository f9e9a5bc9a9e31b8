//! Real databases: PostgreSQL at 127.0.0.1:5432 and MariaDB at 127.0.0.1:3306 (database `test`), SQLite
//! in a temporary file. Each test uses tables of its own.

#![allow(dead_code, reason = "each test binary uses some of these helpers")]

use std::sync::atomic::{AtomicU32, Ordering};

use tracewire_sqlx::{TracedDatabase, TracedPool};
use tracewire_testing::SpanCapture;

pub const PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
pub const MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";

/// A table name no other test (or test run) uses.
pub fn table(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "tw_{prefix}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

pub async fn traced<DB>(pool: sqlx::Pool<DB>, capture: &SpanCapture) -> TracedPool<DB>
where
    DB: TracedDatabase,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    TracedPool::builder(pool)
        .with_instrumentation(capture.instrumentation("tracewire-sqlx"))
        .build()
        .await
}

pub async fn pg(capture: &SpanCapture) -> TracedPool<sqlx::Postgres> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect(PG_URL)
        .await
        .expect("PostgreSQL at 127.0.0.1:5432 (database test)");
    traced(pool, capture).await
}

pub async fn mysql(capture: &SpanCapture) -> TracedPool<sqlx::MySql> {
    let pool = sqlx::mysql::MySqlPoolOptions::new()
        .max_connections(4)
        .connect(MYSQL_URL)
        .await
        .expect("MariaDB at 127.0.0.1:3306 (database test)");
    traced(pool, capture).await
}

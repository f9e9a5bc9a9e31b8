//! # tracewire-sqlx
//!
//! OpenTelemetry CLIENT spans for sqlx queries on PostgreSQL, MySQL/MariaDB and SQLite, following the
//! database semantic conventions 1.44. Wrap the pool once; everything else stays as it was:
//!
//! ```no_run
//! # async fn demo() -> Result<(), sqlx::Error> {
//! let pool = tracewire_sqlx::TracedPool::new(sqlx::PgPool::connect("postgres://postgres@127.0.0.1/test").await?).await;
//! let rows = sqlx::query("SELECT id FROM orders WHERE customer = $1").bind(42_i64).fetch_all(&pool).await?;
//! # let _ = rows; Ok(()) }
//! ```
//!
//! `query`, `query_as`, `query_scalar`, the checked macros (`query!`, `query_as!`), `execute`,
//! `fetch_one`/`fetch_optional`/`fetch_all` and `fetch` streams all work on `&pool`, on `&mut *conn` from
//! [`TracedPool::acquire`] and on `&mut *tx` from [`TracedPool::begin`]. An acquired connection also
//! opens transactions ([`TracedPoolConnection::begin`]), pings, and lends the plain sqlx connection to
//! APIs that take `&mut PgConnection` ([`TracedPoolConnection::as_connection_mut`], untraced).
//!
//! `&TracedPool` is deliberately not a `sqlx::Acquire`: that trait hands out connections that deref to
//! the plain sqlx connection, and every query through them would bypass tracing. Code generic over
//! `Acquire` can take `pool.inner()` (untraced) or be written against `Executor`, which `&TracedPool`
//! is. Pool-acquire timeouts and connection failures of a query on `&pool` are errors on that query's
//! span; a failed explicit [`TracedPool::acquire`] returns the error with no span, as no operation ran.
//!
//! ## Passing the pool around
//!
//! A `TracedPool` does not deref to the plain `sqlx::Pool`: if it did, a function that takes `&PgPool`
//! would accept `&traced_pool` and silently run its queries untraced. That call no longer compiles:
//!
//! ```compile_fail
//! async fn count(pool: &sqlx::PgPool) -> sqlx::Result<i64> {
//!     sqlx::query_scalar("SELECT count(*) FROM orders").fetch_one(pool).await
//! }
//! # async fn demo(pool: tracewire_sqlx::TracedPool<sqlx::Postgres>) {
//! count(&pool).await; // error: expected `&Pool<Postgres>`, found `&TracedPool<Postgres>`
//! # }
//! ```
//!
//! An application that passes `&PgPool` around today changes the parameter type once, either to the
//! traced pool or (better, as it also takes connections and transactions) to any executor; code that
//! needs the pool itself (migrations, `close`, `size`, `LISTEN`) asks for it by name:
//!
//! ```no_run
//! use sqlx::{PgExecutor, Postgres};
//! use tracewire_sqlx::TracedPool;
//!
//! // Before: `async fn count(pool: &sqlx::PgPool)`. After, for the pool, a connection or a transaction:
//! async fn count<'e>(db: impl PgExecutor<'e>) -> sqlx::Result<i64> {
//!     sqlx::query_scalar("SELECT count(*) FROM orders").fetch_one(db).await
//! }
//!
//! // Or, where only the pool makes sense:
//! async fn count_on(pool: &TracedPool<Postgres>) -> sqlx::Result<i64> {
//!     count(pool).await
//! }
//!
//! # async fn demo() -> sqlx::Result<()> {
//! let pool = TracedPool::new(sqlx::PgPool::connect("postgres://postgres@127.0.0.1/test").await?).await;
//! let orders = count(&pool).await? + count_on(&pool).await?; // traced
//! let mut tx = pool.begin().await?;
//! let in_tx = count(&mut *tx).await?; // traced, inside the transaction
//! tx.commit().await?;
//! println!("{} connections open", pool.inner().size()); // the plain pool, by name
//! # let _ = (orders, in_tx); Ok(()) }
//! ```
//!
//! ## Spans
//!
//! - One CLIENT span per operation (SQLite too, so all database spans are found the same way), a child of
//!   the current context (a server span, the user's `tracing` span, …).
//! - Named by `db.query.summary` (`SELECT orders`), else `{db.operation.name} {target}`, else the target,
//!   else `db.system.name`.
//! - `db.system.name` (`postgresql`, `mysql` or `mariadb` as the server says, `sqlite`), `db.namespace`
//!   (the database, or SQLite's file name), `server.address`, `server.port`, `db.query.text`
//!   (parameterized text as sent; literals in text without bind parameters replaced by `?`; see
//!   [`QueryText`]), `db.query.summary` (built from the text: operations and tables only), and
//!   `db.operation.name` / `db.collection.name` only from an [`Annotation`], never guessed.
//! - `db.response.returned_rows`: the rows the caller received. A `fetch` stream's span ends when the
//!   stream ends, fails or is dropped, with the rows seen so far.
//! - On failure: status Error, `db.response.status_code` (SQLSTATE on PostgreSQL, the error number on
//!   MySQL/MariaDB, the result code on SQLite) and `error.type` (that code, or one of the kinds listed on
//!   [`TracedPool`]'s builder docs: `pool_timed_out`, `io`, …). Messages are recorded only when asked for,
//!   as they can quote row values.
//! - `BEGIN`, `COMMIT` and `ROLLBACK` spans for transactions.
//! - The `db.client.operation.duration` histogram.
//! - Optional sqlcommenter: the `traceparent` appended as a SQL comment
//!   ([`TracedPoolBuilder::sqlcommenter`]).

mod database;
mod executor;
pub mod sql;

pub use database::{Endpoint, TracedDatabase};
pub use executor::{
    Annotated, Annotation, ConnectionHandle, QueryText, TracedConnection, TracedPool,
    TracedPoolBuilder, TracedPoolConnection, TracedTransaction,
};

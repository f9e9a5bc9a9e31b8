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

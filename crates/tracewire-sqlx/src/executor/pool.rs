//! The traced pool and its builder: `&pool` is a traced executor, `acquire` and `begin` hand out traced
//! connections and transactions.

use super::*;

/// A [`Pool`] whose queries are traced. Use `&pool` wherever sqlx takes an executor.
///
/// ```no_run
/// # async fn demo() -> Result<(), sqlx::Error> {
/// let pool = sqlx::PgPool::connect("postgres://postgres@127.0.0.1/test").await?;
/// let pool = tracewire_sqlx::TracedPool::new(pool).await;
/// let n: i64 = sqlx::query_scalar("SELECT count(*) FROM orders WHERE status = $1")
///     .bind("open")
///     .fetch_one(&pool)
///     .await?;
/// let mut tx = pool.begin().await?;
/// sqlx::query("UPDATE orders SET status = 'shipped'").execute(&mut *tx).await?;
/// tx.commit().await?;
/// # let _ = n; Ok(()) }
/// ```
pub struct TracedPool<DB: TracedDatabase> {
    pub(super) pool: Pool<DB>,
    pub(super) config: Arc<Config>,
}

impl<DB: TracedDatabase> Clone for TracedPool<DB> {
    fn clone(&self) -> Self {
        TracedPool {
            pool: self.pool.clone(),
            config: self.config.clone(),
        }
    }
}

impl<DB: TracedDatabase> fmt::Debug for TracedPool<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TracedPool")
            .field("pool", &self.pool)
            .field("config", &self.config)
            .finish()
    }
}

/// Builds a [`TracedPool`].
///
/// ```no_run
/// # async fn demo(pool: sqlx::PgPool) {
/// use tracewire_sqlx::{QueryText, TracedPool};
/// let pool = TracedPool::builder(pool).with_query_text(QueryText::Off).sqlcommenter(true).build().await;
/// # let _ = pool; }
/// ```
#[derive(Debug)]
pub struct TracedPoolBuilder<DB: TracedDatabase> {
    pool: Pool<DB>,
    instrumentation: Instrumentation,
    query_text: QueryText,
    sqlcommenter: bool,
    error_messages: bool,
    duration: bool,
    system: Option<&'static str>,
}

impl<DB: TracedDatabase> TracedPoolBuilder<DB> {
    /// Spans and metrics through this [`Instrumentation`] (global providers by default).
    pub fn with_instrumentation(mut self, instrumentation: Instrumentation) -> Self {
        self.instrumentation = instrumentation;
        self
    }

    /// What `db.query.text` records (default [`QueryText::Sanitized`]).
    pub fn with_query_text(mut self, query_text: QueryText) -> Self {
        self.query_text = query_text;
        self
    }

    /// Appends the current `traceparent` to each query as a SQL comment (off by default), so the
    /// database's own views and logs (`pg_stat_activity`, slow query logs) can be joined to traces.
    ///
    /// Every query text then differs from the last, so the driver's prepared-statement cache no longer
    /// finds it: each query is prepared anew (PostgreSQL, MySQL) and the cache churns. Turn it on where
    /// that cost is acceptable, or for chosen pools only. Queries on statements you prepared yourself are
    /// sent unchanged.
    pub fn sqlcommenter(mut self, on: bool) -> Self {
        self.sqlcommenter = on;
        self
    }

    /// Records the database's error message as the status description and in an `exception` event
    /// (off by default: messages can quote the values of the failing row).
    pub fn record_error_messages(mut self, on: bool) -> Self {
        self.error_messages = on;
        self
    }

    /// Turns the `db.client.operation.duration` histogram on or off (on by default).
    pub fn duration_metric(mut self, on: bool) -> Self {
        self.duration = on;
        self
    }

    /// Sets `db.system.name` instead of asking the server.
    pub fn with_system_name(mut self, system: &'static str) -> Self {
        self.system = Some(system);
        self
    }

    /// The traced pool. Unless [`with_system_name`](Self::with_system_name) was given, asks the server what it is
    /// (MySQL or MariaDB) once.
    pub async fn build(self) -> TracedPool<DB> {
        let system = match self.system {
            Some(system) => system,
            None => DB::detect_system_name(&self.pool).await,
        };
        let endpoint = DB::endpoint(&self.pool.connect_options());
        TracedPool {
            config: Arc::new(Config {
                instrumentation: self.instrumentation,
                system,
                namespace: endpoint.namespace.map(shared),
                address: endpoint.address.map(shared),
                port: endpoint.port,
                dialect: DB::DIALECT,
                status_code: DB::status_code,
                query_text: self.query_text,
                sqlcommenter: self.sqlcommenter,
                error_messages: self.error_messages,
                duration: self
                    .duration
                    .then(|| Arc::new(Histogram::new(DB_CLIENT_OPERATION_DURATION))),
            }),
            pool: self.pool,
        }
    }
}

impl<DB: TracedDatabase> TracedPool<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    /// Traces `pool` with the defaults: global providers, sanitized query text, no sqlcommenter, the
    /// duration metric on.
    pub async fn new(pool: Pool<DB>) -> Self {
        Self::builder(pool).build().await
    }

    /// A builder for the options.
    pub fn builder(pool: Pool<DB>) -> TracedPoolBuilder<DB> {
        TracedPoolBuilder {
            pool,
            instrumentation: Instrumentation::global("tracewire-sqlx"),
            query_text: QueryText::default(),
            sqlcommenter: false,
            error_messages: false,
            duration: true,
            system: None,
        }
    }

    /// The plain pool: its queries are not traced. For what only the pool itself does (migrations,
    /// `close`, `size`, `LISTEN`); a `TracedPool` does not deref to it, so that a function taking
    /// `&PgPool` cannot silently run untraced (see [the migration guide](crate#passing-the-pool-around)).
    pub fn inner(&self) -> &Pool<DB> {
        &self.pool
    }

    /// The plain pool, unwrapped.
    pub fn into_inner(self) -> Pool<DB> {
        self.pool
    }

    /// The `db.system.name` recorded.
    pub fn system_name(&self) -> &'static str {
        self.config.system
    }

    /// An executor that records `annotation` on its query: `query.fetch_all(pool.annotate(…))`.
    pub fn annotate(&self, annotation: Annotation) -> Annotated<'_, DB> {
        Annotated {
            pool: self,
            annotation,
        }
    }

    /// A connection from the pool; queries on `&mut *conn` are traced.
    pub async fn acquire(&self) -> Result<TracedPoolConnection<DB>, Error> {
        let conn = self.pool.acquire().await?;
        Ok(TracedPoolConnection(TracedConnection {
            conn,
            config: self.config.clone(),
        }))
    }

    /// Starts a transaction (a `BEGIN` span); queries on `&mut *tx` are traced, and so are
    /// [`commit`](TracedTransaction::commit) and [`rollback`](TracedTransaction::rollback).
    pub async fn begin(&self) -> Result<TracedTransaction<'static, DB>, Error> {
        traced_begin(&self.config, self.pool.begin()).await
    }
}

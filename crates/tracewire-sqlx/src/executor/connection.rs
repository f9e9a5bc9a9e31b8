//! Connections and transactions whose queries are traced: `&mut *conn` from [`TracedPool::acquire`],
//! `&mut *tx` from [`TracedPool::begin`], with `BEGIN`, `COMMIT` and `ROLLBACK` spans.

use super::*;

/// Runs `begin` in a `BEGIN` span and wraps the transaction it opens.
pub(super) async fn traced_begin<'c, DB: TracedDatabase>(
    config: &Arc<Config>,
    begin: impl Future<Output = Result<Transaction<'c, DB>, Error>>,
) -> Result<TracedTransaction<'c, DB>, Error> {
    let mut operation = Query::start(config, "BEGIN", false, None);
    let result = operation.span().in_scope(begin).await;
    match result {
        Ok(tx) => Ok(TracedTransaction(TracedConnection {
            conn: tx,
            config: config.clone(),
        })),
        Err(error) => {
            operation.fail(&error);
            Err(error)
        }
    }
}

/// A connection (pooled, or a transaction) whose queries are traced: `query.execute(&mut *conn)`.
///
/// ```no_run
/// use sqlx::pool::PoolConnection;
/// use tracewire_sqlx::TracedConnection;
/// # async fn demo(pool: tracewire_sqlx::TracedPool<sqlx::Postgres>) -> Result<(), sqlx::Error> {
/// let mut pooled = pool.acquire().await?;
/// // A `TracedPoolConnection` derefs to the `TracedConnection` that is the executor.
/// let conn: &mut TracedConnection<PoolConnection<sqlx::Postgres>> = &mut pooled;
/// let open: i64 = sqlx::query_scalar("SELECT count(*) FROM carts").fetch_one(&mut *conn).await?;
/// // The plain connection inside runs queries without spans.
/// sqlx::query("SET statement_timeout = 1000").execute(&mut **conn.inner_mut()).await?;
/// # let _ = open;
/// # Ok(())
/// # }
/// ```
pub struct TracedConnection<C> {
    pub(super) conn: C,
    pub(super) config: Arc<Config>,
}

impl<C> fmt::Debug for TracedConnection<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TracedConnection")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<C> TracedConnection<C> {
    /// The plain connection (its queries are not traced).
    pub fn inner_mut(&mut self) -> &mut C {
        &mut self.conn
    }
}

/// A pooled connection from [`TracedPool::acquire`]; `&mut *conn` is a traced executor.
///
/// ```no_run
/// # async fn demo(pool: tracewire_sqlx::TracedPool<sqlx::Postgres>) -> Result<(), sqlx::Error> {
/// let mut conn = pool.acquire().await?;
/// sqlx::query("SELECT 1").execute(&mut *conn).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TracedPoolConnection<DB: TracedDatabase>(
    pub(super) TracedConnection<PoolConnection<DB>>,
);

impl<DB: TracedDatabase> TracedPoolConnection<DB> {
    /// Starts a transaction on this connection (a `BEGIN` span); queries on `&mut *tx` are traced,
    /// and so are its `commit` and `rollback`.
    ///
    /// ```no_run
    /// # async fn demo(pool: tracewire_sqlx::TracedPool<sqlx::Postgres>) -> Result<(), sqlx::Error> {
    /// let mut conn = pool.acquire().await?;
    /// sqlx::query("SET lock_timeout = '1s'").execute(&mut *conn).await?;
    /// let mut tx = conn.begin().await?;
    /// sqlx::query("DELETE FROM carts WHERE id = $1").bind(7_i64).execute(&mut *tx).await?;
    /// tx.commit().await?;
    /// # Ok(()) }
    /// ```
    pub async fn begin(&mut self) -> Result<TracedTransaction<'_, DB>, Error> {
        let config = self.0.config.clone();
        traced_begin(&config, sqlx::Connection::begin(&mut *self.0.conn)).await
    }

    /// Checks that the connection is still alive, like `sqlx::Connection::ping` (no span: it runs no
    /// query of the application's).
    ///
    /// ```no_run
    /// # async fn demo(pool: tracewire_sqlx::TracedPool<sqlx::Postgres>) -> Result<(), sqlx::Error> {
    /// pool.acquire().await?.ping().await?;
    /// # Ok(()) }
    /// ```
    pub async fn ping(&mut self) -> Result<(), Error> {
        sqlx::Connection::ping(&mut *self.0.conn).await
    }

    /// The sqlx connection itself (`&mut PgConnection`, …), for APIs that take one. Its queries are
    /// not traced.
    ///
    /// ```no_run
    /// # async fn demo(pool: tracewire_sqlx::TracedPool<sqlx::Postgres>) -> Result<(), sqlx::Error> {
    /// let mut conn = pool.acquire().await?;
    /// let plain: &mut sqlx::PgConnection = conn.as_connection_mut();
    /// sqlx::query("SELECT 1").execute(plain).await?;
    /// # Ok(()) }
    /// ```
    pub fn as_connection_mut(&mut self) -> &mut DB::Connection {
        &mut self.0.conn
    }
}

impl<DB: TracedDatabase> Deref for TracedPoolConnection<DB> {
    type Target = TracedConnection<PoolConnection<DB>>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<DB: TracedDatabase> DerefMut for TracedPoolConnection<DB> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// A transaction from [`TracedPool::begin`]; `&mut *tx` is a traced executor, and `commit` and `rollback`
/// get spans. Dropped without either, sqlx rolls it back (no span is recorded for that).
///
/// ```no_run
/// # async fn demo(pool: tracewire_sqlx::TracedPool<sqlx::Postgres>) -> Result<(), sqlx::Error> {
/// let mut tx = pool.begin().await?;
/// sqlx::query("DELETE FROM carts WHERE id = $1").bind(7_i64).execute(&mut *tx).await?;
/// tx.rollback().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TracedTransaction<'c, DB: TracedDatabase>(
    pub(super) TracedConnection<Transaction<'c, DB>>,
);

impl<'c, DB: TracedDatabase> Deref for TracedTransaction<'c, DB> {
    type Target = TracedConnection<Transaction<'c, DB>>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<DB: TracedDatabase> DerefMut for TracedTransaction<'_, DB> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl<DB: TracedDatabase> TracedTransaction<'_, DB> {
    async fn finish(self, statement: &str, commit: bool) -> Result<(), Error> {
        let TracedConnection { conn, config } = self.0;
        let mut operation = Query::start(&config, statement, false, None);
        let result = if commit {
            operation.span().in_scope(conn.commit()).await
        } else {
            operation.span().in_scope(conn.rollback()).await
        };
        if let Err(error) = &result {
            operation.fail(error);
        }
        result
    }

    /// Commits (a `COMMIT` span).
    pub async fn commit(self) -> Result<(), Error> {
        self.finish("COMMIT", true).await
    }

    /// Rolls back (a `ROLLBACK` span).
    pub async fn rollback(self) -> Result<(), Error> {
        self.finish("ROLLBACK", false).await
    }
}

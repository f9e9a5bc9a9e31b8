use std::fmt;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use futures_core::future::BoxFuture;
use futures_core::stream::{BoxStream, Stream};
use opentelemetry::trace::{SpanKind, TraceContextExt};
use opentelemetry::{Context, KeyValue, StringValue};
use sqlx::pool::PoolConnection;
use sqlx::{
    Arguments, Database, Describe, Either, Error, Execute, Executor, Pool, SqlSafeStr, SqlStr,
    Transaction,
};
use tracewire_core::attributes::*;
use tracewire_core::intern::shared;
use tracewire_core::metrics::{DB_CLIENT_OPERATION_DURATION, Histogram};
use tracewire_core::propagation::{self, Carrier, OwnedFields};
use tracewire_core::span::{ActiveSpan, Instrumentation, Outcome, SpanError};

use crate::database::TracedDatabase;
use crate::sql::{sanitize, summarize};

/// What `db.query.text` records.
///
/// ```
/// use tracewire_sqlx::{QueryText, TracedPool};
/// // Sanitized unless told otherwise.
/// assert_eq!(QueryText::default(), QueryText::Sanitized);
/// # async fn demo(pool: sqlx::PgPool) {
/// // The text as sent, literals and all: only for pools whose queries never carry personal data.
/// let pool = TracedPool::builder(pool).query_text(QueryText::Full).build().await;
/// # let _ = pool;
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QueryText {
    /// Parameterized text as sent; text without bind parameters with its literals replaced by `?`
    /// (the default, per the semantic conventions).
    #[default]
    Sanitized,
    /// The text as sent, literals and all.
    Full,
    /// No query text.
    Off,
}

/// What you know about a query that tracewire cannot read from its text: recorded as
/// `db.query.summary`, `db.operation.name` and `db.collection.name`, and naming the span.
///
/// ```
/// let annotation = tracewire_sqlx::Annotation::new().summary("load cart").collection("carts");
/// # let _ = annotation;
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Annotation {
    summary: Option<StringValue>,
    operation: Option<StringValue>,
    collection: Option<StringValue>,
}

impl Annotation {
    /// An empty annotation.
    pub fn new() -> Self {
        Self::default()
    }

    /// `db.query.summary`, which also names the span.
    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = Some(summary.into().into());
        self
    }

    /// `db.operation.name` (`SELECT`, `upsert_cart`, …).
    pub fn operation(mut self, operation: impl Into<String>) -> Self {
        self.operation = Some(operation.into().into());
        self
    }

    /// `db.collection.name`: the one table the query works on.
    pub fn collection(mut self, collection: impl Into<String>) -> Self {
        self.collection = Some(collection.into().into());
        self
    }
}

pub(crate) struct Config {
    pub instrumentation: Instrumentation,
    pub system: &'static str,
    pub namespace: Option<StringValue>,
    pub address: Option<StringValue>,
    pub port: Option<u16>,
    pub dialect: crate::sql::Dialect,
    pub status_code: fn(&dyn sqlx::error::DatabaseError) -> Option<String>,
    pub query_text: QueryText,
    pub sqlcommenter: bool,
    pub error_messages: bool,
    pub duration: Option<Histogram>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("system", &self.system)
            .field("namespace", &self.namespace)
            .field("query_text", &self.query_text)
            .field("sqlcommenter", &self.sqlcommenter)
            .finish_non_exhaustive()
    }
}

/// The stream `fetch_many` returns.
type RowStream<'e, DB> =
    BoxStream<'e, Result<Either<<DB as Database>::QueryResult, <DB as Database>::Row>, Error>>;

/// One traced database operation: its span, its metric and the rows it returned.
struct Operation {
    span: ActiveSpan,
    config: Arc<Config>,
    metric_attributes: Vec<KeyValue>,
    started: Instant,
    rows: u64,
    error: Option<SpanError>,
}

impl Operation {
    fn start(
        config: &Arc<Config>,
        text: &str,
        parameterized: bool,
        annotation: Option<&Annotation>,
    ) -> Self {
        let limits = config.instrumentation.limits();
        let summary: Option<StringValue> = annotation
            .and_then(|a| a.summary.clone())
            .or_else(|| summarize(limits.bound(text)).map(StringValue::from));
        let operation = annotation.and_then(|a| a.operation.clone());
        let collection = annotation.and_then(|a| a.collection.clone());

        let mut attributes = Vec::with_capacity(10);
        let mut metric_attributes = Vec::with_capacity(7);
        attributes.push(KeyValue::new(DB_SYSTEM_NAME, config.system));
        metric_attributes.push(KeyValue::new(DB_SYSTEM_NAME, config.system));
        if let Some(namespace) = &config.namespace {
            attributes.push(KeyValue::new(DB_NAMESPACE, namespace.clone()));
            metric_attributes.push(KeyValue::new(DB_NAMESPACE, namespace.clone()));
        }
        if let Some(address) = &config.address {
            attributes.push(KeyValue::new(SERVER_ADDRESS, address.clone()));
            metric_attributes.push(KeyValue::new(SERVER_ADDRESS, address.clone()));
            if let Some(port) = config.port {
                attributes.push(KeyValue::new(SERVER_PORT, i64::from(port)));
                metric_attributes.push(KeyValue::new(SERVER_PORT, i64::from(port)));
            }
        }
        match config.query_text {
            QueryText::Off => {}
            QueryText::Full => {
                attributes.push(KeyValue::new(DB_QUERY_TEXT, limits.bound(text).to_owned()));
            }
            QueryText::Sanitized if parameterized => {
                attributes.push(KeyValue::new(DB_QUERY_TEXT, limits.bound(text).to_owned()));
            }
            QueryText::Sanitized => {
                // Bound first: a literal cut in half is still hidden, as the sanitizer runs to the end.
                let clean = sanitize(limits.bound(text), config.dialect);
                attributes.push(KeyValue::new(DB_QUERY_TEXT, clean));
            }
        }
        if let Some(summary) = &summary {
            attributes.push(KeyValue::new(DB_QUERY_SUMMARY, summary.clone()));
            metric_attributes.push(KeyValue::new(DB_QUERY_SUMMARY, summary.clone()));
        }
        if let Some(operation) = &operation {
            attributes.push(KeyValue::new(DB_OPERATION_NAME, operation.clone()));
            metric_attributes.push(KeyValue::new(DB_OPERATION_NAME, operation.clone()));
        }
        if let Some(collection) = &collection {
            attributes.push(KeyValue::new(DB_COLLECTION_NAME, collection.clone()));
            metric_attributes.push(KeyValue::new(DB_COLLECTION_NAME, collection.clone()));
        }
        let name = span_name(
            config,
            summary.as_ref(),
            operation.as_ref(),
            collection.as_ref(),
        );
        let span = Context::map_current(|cx| {
            config
                .instrumentation
                .start(SpanKind::Client, name, attributes, cx)
        });
        Operation {
            span,
            config: config.clone(),
            metric_attributes,
            started: Instant::now(),
            rows: 0,
            error: None,
        }
    }

    fn fail(&mut self, error: &Error) {
        let (error_type, status_code) = classify(error, &self.config);
        if let Some(code) = &status_code {
            self.span
                .set_attribute(KeyValue::new(DB_RESPONSE_STATUS_CODE, code.clone()));
            self.metric_attributes
                .push(KeyValue::new(DB_RESPONSE_STATUS_CODE, code.clone()));
        }
        let mut span_error = SpanError::new(error_type);
        if self.config.error_messages {
            let message = self
                .config
                .instrumentation
                .limits()
                .bound(&error.to_string())
                .to_owned();
            span_error = span_error
                .with_description(message.clone())
                .with_exception("sqlx::Error", message);
        }
        self.error = Some(span_error);
    }
}

impl Drop for Operation {
    fn drop(&mut self) {
        if self.span.is_recording() {
            self.span
                .set_attribute(KeyValue::new(DB_RESPONSE_RETURNED_ROWS, self.rows as i64));
        }
        let outcome = match self.error.take() {
            Some(error) => {
                self.metric_attributes.push(error.attribute());
                Outcome::Failed(error)
            }
            None => Outcome::Success,
        };
        if let Some(duration) = &self.config.duration {
            duration.record(
                &self.config.instrumentation,
                self.started.elapsed().as_secs_f64(),
                &self.metric_attributes,
            );
        }
        self.span.finish(outcome);
    }
}

/// The span name: summary, else `{operation} {target}`, else `{target}`, else the system (§2.1).
fn span_name(
    config: &Config,
    summary: Option<&StringValue>,
    operation: Option<&StringValue>,
    collection: Option<&StringValue>,
) -> std::borrow::Cow<'static, str> {
    if let Some(summary) = summary {
        return summary.as_str().to_owned().into();
    }
    let target = collection
        .map(StringValue::as_str)
        .or(config.namespace.as_ref().map(StringValue::as_str));
    match (operation, target) {
        (Some(op), Some(target)) => format!("{} {target}", op.as_str()).into(),
        (Some(op), None) => op.as_str().to_owned().into(),
        (None, Some(target)) => target.to_owned().into(),
        (None, None) => config.system.into(),
    }
}

/// `error.type` and `db.response.status_code` of a sqlx error. The database's own code when there is
/// one; otherwise one of `pool_timed_out`, `pool_closed`, `io`, `tls`, `protocol`, `configuration`,
/// `decode`, `encode`, `row_not_found`, `type_not_found`, `column_not_found`, `worker_crashed` or
/// `sqlx::Error`.
fn classify(error: &Error, config: &Config) -> (std::borrow::Cow<'static, str>, Option<String>) {
    let kind = match error {
        Error::Database(e) => {
            let code = (config.status_code)(e.as_ref());
            return match code {
                Some(code) => (code.clone().into(), Some(code)),
                None => ("sqlx::Error::Database".into(), None),
            };
        }
        Error::PoolTimedOut => "pool_timed_out",
        Error::PoolClosed => "pool_closed",
        Error::Io(_) => "io",
        Error::Tls(_) => "tls",
        Error::Protocol(_) => "protocol",
        Error::Configuration(_) => "configuration",
        Error::ColumnDecode { .. } | Error::Decode(_) => "decode",
        Error::Encode(_) => "encode",
        Error::RowNotFound => "row_not_found",
        Error::TypeNotFound { .. } => "type_not_found",
        Error::ColumnNotFound(_) | Error::ColumnIndexOutOfBounds { .. } => "column_not_found",
        Error::WorkerCrashed => "worker_crashed",
        _ => "sqlx::Error",
    };
    (kind.into(), None)
}

/// A query as tracewire passes it on: the same text (plus the sqlcommenter comment, when on), arguments,
/// prepared statement and persistence as the caller's.
struct Traced<DB: Database> {
    sql: SqlStr,
    arguments: Option<Result<Option<DB::Arguments>, sqlx::error::BoxDynError>>,
    statement: Option<DB::Statement>,
    persistent: bool,
}

impl<DB: Database> Execute<'_, DB> for Traced<DB> {
    fn sql(self) -> SqlStr {
        self.sql
    }

    fn statement(&self) -> Option<&DB::Statement> {
        self.statement.as_ref()
    }

    fn take_arguments(&mut self) -> Result<Option<DB::Arguments>, sqlx::error::BoxDynError> {
        self.arguments.take().unwrap_or(Ok(None))
    }

    fn persistent(&self) -> bool {
        self.persistent
    }
}

fn prepare<'q, DB: TracedDatabase, E: Execute<'q, DB>>(
    mut query: E,
    config: &Arc<Config>,
    annotation: Option<&Annotation>,
) -> (Traced<DB>, Operation) {
    let statement = query.statement().cloned();
    let arguments = query.take_arguments();
    let parameterized = matches!(&arguments, Ok(Some(a)) if a.len() > 0);
    let persistent = query.persistent();
    let sql = query.sql();
    let operation = Operation::start(config, sql.as_str(), parameterized, annotation);
    let sql = if config.sqlcommenter && statement.is_none() {
        with_traceparent_comment(sql, operation.span.context())
    } else {
        sql
    };
    (
        Traced {
            sql,
            arguments: Some(arguments),
            statement,
            persistent,
        },
        operation,
    )
}

/// Appends the context as sqlcommenter does — `/*traceparent='…',tracestate='…'*/`, before a trailing
/// `;` — written by the installed propagator, whichever it is (B3 and Jaeger fields too); baggage is
/// left out: it may carry user data, and statements end up in database logs. Values are
/// percent-encoded, so the comment can never end early or change the statement.
fn with_traceparent_comment(sql: SqlStr, cx: &Context) -> SqlStr {
    /// The fields in the order the propagator writes them (no stale entries: the comment is new).
    #[derive(Default)]
    struct Comment(Vec<(String, String)>);
    impl Carrier for Comment {
        fn remove_stale(&mut self, _: &OwnedFields<'_>) {}
        fn set(&mut self, key: &str, value: String) {
            self.0.push((key.to_owned(), value));
        }
    }
    if !cx.span().span_context().is_valid() {
        return sql;
    }
    let mut fields = Comment::default();
    propagation::inject_into(cx, &mut fields, propagation::Fields::WithoutBaggage);
    if fields.0.is_empty() {
        return sql;
    }
    fields.0.sort_by(|(a, _), (b, _)| a.cmp(b));
    let mut comment = String::from("/*");
    for (i, (key, value)) in fields.0.iter().enumerate() {
        if i > 0 {
            comment.push(',');
        }
        comment.push_str(key);
        comment.push_str("='");
        for b in value.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                comment.push(char::from(b));
            } else {
                comment.push_str(&format!("%{b:02X}"));
            }
        }
        comment.push('\'');
    }
    comment.push_str("*/");
    let text = sql.as_str();
    let body = text.trim_end();
    let (body, tail) = match body.strip_suffix(';') {
        Some(body) => (body, ";"),
        None => (body, ""),
    };
    sqlx::AssertSqlSafe(format!("{body} {comment}{tail}")).into_sql_str()
}

pin_project_lite::pin_project! {
    struct TracedStream<S> {
        #[pin]
        inner: S,
        operation: Option<Operation>,
    }
}

impl<S, QR, R> Stream for TracedStream<S>
where
    S: Stream<Item = Result<Either<QR, R>, Error>>,
{
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        let polled = match this.operation.as_ref() {
            Some(op) => {
                let _guard = op.span.context().clone().attach();
                this.inner.poll_next(task)
            }
            None => this.inner.poll_next(task),
        };
        match &polled {
            Poll::Ready(Some(Ok(Either::Right(_)))) => {
                if let Some(op) = this.operation.as_mut() {
                    op.rows += 1;
                }
            }
            Poll::Ready(Some(Err(error))) => {
                if let Some(mut op) = this.operation.take() {
                    op.fail(error);
                }
            }
            Poll::Ready(None) => {
                this.operation.take();
            }
            _ => {}
        }
        polled
    }
}

fn fetch_many<'e, 'q: 'e, DB, X, E>(
    inner: X,
    config: &Arc<Config>,
    query: E,
    annotation: Option<&Annotation>,
) -> RowStream<'e, DB>
where
    DB: TracedDatabase,
    X: Executor<'e, Database = DB>,
    E: 'q + Execute<'q, DB>,
{
    let (query, operation) = prepare(query, config, annotation);
    Box::pin(TracedStream {
        inner: inner.fetch_many(query),
        operation: Some(operation),
    })
}

fn fetch_optional<'e, 'q: 'e, DB, X, E>(
    inner: X,
    config: &Arc<Config>,
    query: E,
    annotation: Option<&Annotation>,
) -> BoxFuture<'e, Result<Option<DB::Row>, Error>>
where
    DB: TracedDatabase,
    X: Executor<'e, Database = DB> + 'e,
    E: 'q + Execute<'q, DB>,
{
    let (query, mut operation) = prepare(query, config, annotation);
    let future = inner.fetch_optional(query);
    Box::pin(async move {
        let result = operation.span.in_scope(future).await;
        match &result {
            Ok(row) => operation.rows = u64::from(row.is_some()),
            Err(error) => operation.fail(error),
        }
        drop(operation);
        result
    })
}

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
    pool: Pool<DB>,
    config: Arc<Config>,
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
/// let pool = TracedPool::builder(pool).query_text(QueryText::Off).sqlcommenter(true).build().await;
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
    pub fn instrumentation(mut self, instrumentation: Instrumentation) -> Self {
        self.instrumentation = instrumentation;
        self
    }

    /// What `db.query.text` records (default [`QueryText::Sanitized`]).
    pub fn query_text(mut self, query_text: QueryText) -> Self {
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
    pub fn system_name(mut self, system: &'static str) -> Self {
        self.system = Some(system);
        self
    }

    /// The traced pool. Unless [`system_name`](Self::system_name) was given, asks the server what it is
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
                    .then(|| Histogram::new(DB_CLIENT_OPERATION_DURATION)),
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

/// Runs `begin` in a `BEGIN` span and wraps the transaction it opens.
async fn traced_begin<'c, DB: TracedDatabase>(
    config: &Arc<Config>,
    begin: impl Future<Output = Result<Transaction<'c, DB>, Error>>,
) -> Result<TracedTransaction<'c, DB>, Error> {
    let mut operation = Operation::start(config, "BEGIN", false, None);
    let result = operation.span.in_scope(begin).await;
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
    conn: C,
    config: Arc<Config>,
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
pub struct TracedPoolConnection<DB: TracedDatabase>(TracedConnection<PoolConnection<DB>>);

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
pub struct TracedTransaction<'c, DB: TracedDatabase>(TracedConnection<Transaction<'c, DB>>);

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
        let mut operation = Operation::start(&config, statement, false, None);
        let result = if commit {
            operation.span.in_scope(conn.commit()).await
        } else {
            operation.span.in_scope(conn.rollback()).await
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

/// A pool with an [`Annotation`] for the next query, from [`TracedPool::annotate`].
///
/// ```no_run
/// # async fn demo(pool: tracewire_sqlx::TracedPool<sqlx::Postgres>) -> Result<(), sqlx::Error> {
/// use tracewire_sqlx::Annotation;
/// sqlx::query("SELECT * FROM carts WHERE id = $1")
///     .bind(7_i64)
///     .fetch_all(pool.annotate(Annotation::new().summary("load cart")))
///     .await?;
/// # Ok(()) }
/// ```
pub struct Annotated<'p, DB: TracedDatabase> {
    pool: &'p TracedPool<DB>,
    annotation: Annotation,
}

impl<DB: TracedDatabase> fmt::Debug for Annotated<'_, DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Annotated")
            .field("annotation", &self.annotation)
            .finish_non_exhaustive()
    }
}

impl<'p, DB> Executor<'p> for &'p TracedPool<DB>
where
    DB: TracedDatabase,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    type Database = DB;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> RowStream<'e, DB>
    where
        'p: 'e,
        E: 'q + Execute<'q, DB>,
    {
        fetch_many(&self.pool, &self.config, query, None)
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<DB::Row>, Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, DB>,
    {
        fetch_optional(&self.pool, &self.config, query, None)
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [DB::TypeInfo],
    ) -> BoxFuture<'e, Result<DB::Statement, Error>>
    where
        'p: 'e,
    {
        (&self.pool).prepare_with(sql, parameters)
    }

    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<Describe<DB>, Error>>
    where
        'p: 'e,
    {
        (&self.pool).describe(sql)
    }
}

impl<'p, DB> Executor<'p> for Annotated<'p, DB>
where
    DB: TracedDatabase,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    type Database = DB;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> RowStream<'e, DB>
    where
        'p: 'e,
        E: 'q + Execute<'q, DB>,
    {
        fetch_many(
            &self.pool.pool,
            &self.pool.config,
            query,
            Some(&self.annotation),
        )
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<DB::Row>, Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, DB>,
    {
        fetch_optional(
            &self.pool.pool,
            &self.pool.config,
            query,
            Some(&self.annotation),
        )
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [DB::TypeInfo],
    ) -> BoxFuture<'e, Result<DB::Statement, Error>>
    where
        'p: 'e,
    {
        (&self.pool.pool).prepare_with(sql, parameters)
    }

    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<Describe<DB>, Error>>
    where
        'p: 'e,
    {
        (&self.pool.pool).describe(sql)
    }
}

/// What a [`TracedConnection`] can hold: a pooled connection or a transaction.
///
/// Sealed: implemented for sqlx's `PoolConnection` and `Transaction` only. Name it to write code that
/// takes either kind of traced connection.
///
/// ```no_run
/// use tracewire_sqlx::{ConnectionHandle, TracedConnection};
/// // Checks the plain connection inside: no span.
/// async fn ping<C>(conn: &mut TracedConnection<C>) -> Result<(), sqlx::Error>
/// where
///     C: ConnectionHandle<Database = sqlx::Postgres>,
/// {
///     sqlx::query("SELECT 1").execute(conn.inner_mut().connection()).await?;
///     Ok(())
/// }
/// # async fn demo(pool: tracewire_sqlx::TracedPool<sqlx::Postgres>) -> Result<(), sqlx::Error> {
/// let mut conn = pool.acquire().await?;
/// ping(&mut *conn).await?;
/// let mut tx = pool.begin().await?;
/// ping(&mut *tx).await?;
/// tx.commit().await?;
/// # Ok(())
/// # }
/// ```
pub trait ConnectionHandle: Send + private::Sealed {
    /// The database.
    type Database: TracedDatabase;

    /// The connection inside.
    fn connection(&mut self) -> &mut <Self::Database as Database>::Connection;
}

mod private {
    pub trait Sealed {}
    impl<DB: sqlx::Database> Sealed for sqlx::pool::PoolConnection<DB> {}
    impl<DB: sqlx::Database> Sealed for sqlx::Transaction<'_, DB> {}
}

impl<DB: TracedDatabase> ConnectionHandle for PoolConnection<DB> {
    type Database = DB;
    fn connection(&mut self) -> &mut DB::Connection {
        self
    }
}

impl<DB: TracedDatabase> ConnectionHandle for Transaction<'_, DB> {
    type Database = DB;
    fn connection(&mut self) -> &mut DB::Connection {
        self
    }
}

// One impl per concrete database and handle: a blanket impl over the handle type sends the trait
// solver into a loop for callers that are themselves generic over the database.
macro_rules! traced_connection_executor {
    ($db:ty, $feature:literal) => {
        #[cfg(feature = $feature)]
        impl<'c> Executor<'c> for &'c mut TracedConnection<PoolConnection<$db>> {
            traced_connection_executor!(@body $db);
        }

        #[cfg(feature = $feature)]
        impl<'c, 't> Executor<'c> for &'c mut TracedConnection<Transaction<'t, $db>> {
            traced_connection_executor!(@body $db);
        }
    };
    (@body $db:ty) => {

    type Database = $db;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> RowStream<'e, $db>
    where
        'c: 'e,
        E: 'q + Execute<'q, $db>,
    {
        fetch_many(self.conn.connection(), &self.config, query, None)
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<<$db as Database>::Row>, Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, $db>,
    {
        fetch_optional(self.conn.connection(), &self.config, query, None)
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [<$db as Database>::TypeInfo],
    ) -> BoxFuture<'e, Result<<$db as Database>::Statement, Error>>
    where
        'c: 'e,
    {
        (self.conn.connection()).prepare_with(sql, parameters)
    }

    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<Describe<$db>, Error>>
    where
        'c: 'e,
    {
        (self.conn.connection()).describe(sql)
    }

    };
}

traced_connection_executor!(sqlx::Postgres, "postgres");
traced_connection_executor!(sqlx::MySql, "mysql");
traced_connection_executor!(sqlx::Sqlite, "sqlite");

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

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
use tracewire_core::operation::Operation;
use tracewire_core::propagation::{self, Carrier, OwnedFields};
use tracewire_core::span::{ActiveSpan, Instrumentation, SpanError};

use crate::database::TracedDatabase;
use crate::sql::{sanitize, summarize};

mod connection;
mod pool;

use connection::traced_begin;
pub use connection::{TracedConnection, TracedPoolConnection, TracedTransaction};
pub use pool::{TracedPool, TracedPoolBuilder};

/// What `db.query.text` records.
///
/// ```
/// use tracewire_sqlx::{QueryText, TracedPool};
/// // Sanitized unless told otherwise.
/// assert_eq!(QueryText::default(), QueryText::Sanitized);
/// # async fn demo(pool: sqlx::PgPool) {
/// // The text as sent, literals and all: only for pools whose queries never carry personal data.
/// let pool = TracedPool::builder(pool).with_query_text(QueryText::Full).build().await;
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
    pub duration: Option<Arc<Histogram>>,
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

/// One traced database operation: the core's measured span (span, duration metric, error), the rows
/// it returned, and how errors are classified.
struct Query {
    measured: Operation,
    config: Arc<Config>,
    rows: u64,
}

impl Query {
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
        Query {
            measured: Operation::maybe(
                span,
                config.instrumentation.clone(),
                config.duration.clone(),
                metric_attributes,
            ),
            config: config.clone(),
            rows: 0,
        }
    }

    /// The operation's span.
    fn span(&self) -> &ActiveSpan {
        self.measured.span()
    }

    fn fail(&mut self, error: &Error) {
        let (error_type, status_code) = classify(error, &self.config);
        if let Some(code) = &status_code {
            self.span()
                .set_attribute(KeyValue::new(DB_RESPONSE_STATUS_CODE, code.clone()));
            self.measured
                .push_metric_attribute(KeyValue::new(DB_RESPONSE_STATUS_CODE, code.clone()));
        }
        let mut span_error = SpanError::classified(error_type, error);
        if !self.config.error_messages {
            span_error = span_error.without_message();
        }
        self.measured.fail(span_error);
    }
}

impl Drop for Query {
    /// The rows go on the span; the measured span then ends it and records its duration.
    fn drop(&mut self) {
        if self.span().is_recording() {
            self.span()
                .set_attribute(KeyValue::new(DB_RESPONSE_RETURNED_ROWS, self.rows as i64));
        }
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
) -> (Traced<DB>, Query) {
    let statement = query.statement().cloned();
    let arguments = query.take_arguments();
    let parameterized = matches!(&arguments, Ok(Some(a)) if a.len() > 0);
    let persistent = query.persistent();
    let sql = query.sql();
    let operation = Query::start(config, sql.as_str(), parameterized, annotation);
    let sql = if config.sqlcommenter && statement.is_none() {
        with_traceparent_comment(sql, operation.span().context())
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
        operation: Option<Query>,
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
                let _guard = op.span().context().clone().attach();
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
        let result = operation.span().in_scope(future).await;
        match &result {
            Ok(row) => operation.rows = u64::from(row.is_some()),
            Err(error) => operation.fail(error),
        }
        drop(operation);
        result
    })
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

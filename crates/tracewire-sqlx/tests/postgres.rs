//! tracewire-sqlx against a real PostgreSQL.

mod common;

use common::{pg, table};
use futures_util::TryStreamExt;
use opentelemetry::trace::{SpanKind, TraceContextExt};
use opentelemetry::{Context, Value};
use tracewire_core::span::Outcome;
use tracewire_sqlx::{Annotation, QueryText, TracedPool};
use tracewire_testing::SpanCapture;

#[derive(sqlx::FromRow, Debug, PartialEq)]
struct Item {
    id: i32,
    name: String,
}

/// A new table `(id int)`, with the spans of creating it cleared.
async fn int_table(
    pool: &TracedPool<sqlx::Postgres>,
    capture: &SpanCapture,
    prefix: &str,
) -> String {
    let t = table(prefix);
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE TABLE {t} (id int)")))
        .execute(pool)
        .await
        .expect("create");
    capture.reset();
    t
}

#[tokio::test]
async fn every_operation_kind_is_a_client_span_under_the_enclosing_span() {
    let capture = SpanCapture::new();
    let pool = pg(&capture).await;
    let t = table("items");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {t} (id int PRIMARY KEY, name text NOT NULL)"
    )))
    .execute(&pool)
    .await
    .expect("create");
    capture.reset();

    let parent = capture.instrumentation("test").start(
        SpanKind::Server,
        "GET /items",
        vec![],
        &Context::new(),
    );
    let work = async {
        for (id, name) in [(1, "apple"), (2, "pear"), (3, "plum")] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO {t} (id, name) VALUES ($1, $2)"
            )))
            .bind(id)
            .bind(name)
            .execute(&pool)
            .await
            .expect("insert");
        }
        let all: Vec<Item> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT id, name FROM {t} ORDER BY id"
        )))
        .fetch_all(&pool)
        .await
        .expect("select");
        assert_eq!(all.len(), 3);
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {t} WHERE id > $1"
        )))
        .bind(1)
        .fetch_one(&pool)
        .await
        .expect("count");
        assert_eq!(n, 2);
        let none: Option<Item> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT id, name FROM {t} WHERE id = $1"
        )))
        .bind(99)
        .fetch_optional(&pool)
        .await
        .expect("optional");
        assert_eq!(none, None);
        let streamed: Vec<Item> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT id, name FROM {t}")))
                .fetch(&pool)
                .try_collect()
                .await
                .expect("stream");
        assert_eq!(streamed.len(), 3);
    };
    parent.in_scope(work).await;
    parent.end(Outcome::Success);

    let spans = capture.spans();
    let server = spans.one("GET /items");
    let inserts: Vec<_> = spans.named(&format!("INSERT {t}")).collect();
    assert_eq!(inserts.len(), 3);
    for insert in &inserts {
        insert
            .assert_kind(SpanKind::Client)
            .assert_parent(&server)
            .assert_attr("db.system.name", "postgresql")
            .assert_attr("db.namespace", "test")
            .assert_attr("server.address", "127.0.0.1")
            .assert_attr("server.port", 5432i64)
            .assert_attr(
                "db.query.text",
                format!("INSERT INTO {t} (id, name) VALUES ($1, $2)"),
            )
            .assert_attr("db.query.summary", format!("INSERT {t}"))
            .assert_attr("db.response.returned_rows", 0i64)
            .assert_unset()
            .assert_no_attr("db.operation.name")
            .assert_no_attr("db.collection.name");
    }
    let selects: Vec<_> = spans.named(&format!("SELECT {t}")).collect();
    assert_eq!(
        selects.len(),
        4,
        "fetch_all, fetch_one, fetch_optional and fetch"
    );
    let rows: Vec<i64> = selects
        .iter()
        .map(|s| match s.attribute("db.response.returned_rows") {
            Some(Value::I64(n)) => *n,
            other => panic!("{other:?}"),
        })
        .collect();
    let mut rows = rows;
    rows.sort_unstable();
    // fetch_optional found nothing, fetch_one one row, fetch_all and fetch three each.
    assert_eq!(rows, vec![0, 1, 3, 3]);
    for select in &selects {
        select.assert_parent(&server);
    }
}

#[tokio::test]
async fn text_without_bind_parameters_is_sanitized_unless_asked_otherwise() {
    let capture = SpanCapture::new();
    let pool = pg(&capture).await;
    sqlx::query("SELECT 'secret-token' AS t, 42 AS n")
        .fetch_one(&pool)
        .await
        .expect("query");
    let full = TracedPool::builder(pool.inner().clone())
        .with_instrumentation(capture.instrumentation("full"))
        .with_query_text(QueryText::Full)
        .build()
        .await;
    sqlx::query("SELECT 'visible' AS t")
        .fetch_one(&full)
        .await
        .expect("query");
    let off = TracedPool::builder(pool.inner().clone())
        .with_instrumentation(capture.instrumentation("off"))
        .with_query_text(QueryText::Off)
        .build()
        .await;
    sqlx::query("SELECT 'hidden' AS t")
        .fetch_one(&off)
        .await
        .expect("query");

    let spans = capture.spans();
    let texts: Vec<Option<String>> = spans
        .iter()
        .map(|s| {
            s.attribute("db.query.text")
                .map(|v| v.as_str().into_owned())
        })
        .collect();
    assert_eq!(
        texts,
        vec![
            Some("SELECT ? AS t, ? AS n".to_owned()),
            Some("SELECT 'visible' AS t".to_owned()),
            None
        ]
    );
}

#[tokio::test]
async fn database_errors_carry_the_sqlstate() {
    let capture = SpanCapture::new();
    let pool = pg(&capture).await;
    let t = table("unique");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {t} (id int PRIMARY KEY)"
    )))
    .execute(&pool)
    .await
    .expect("create");
    sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO {t} VALUES (1)")))
        .execute(&pool)
        .await
        .expect("insert");
    capture.reset();

    let duplicate = sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO {t} VALUES ($1)")))
        .bind(1)
        .execute(&pool)
        .await;
    assert!(duplicate.is_err());
    let syntax = sqlx::query("SELEC 1").execute(&pool).await;
    assert!(syntax.is_err());
    let missing = sqlx::query("SELECT * FROM tw_no_such_table")
        .fetch_all(&pool)
        .await;
    assert!(missing.is_err());

    let spans = capture.spans();
    spans
        .one(&format!("INSERT {t}"))
        .assert_error("23505")
        .assert_attr("db.response.status_code", "23505");
    spans
        .one("test")
        .assert_error("42601")
        .assert_attr("db.response.status_code", "42601");
    let missing = spans
        .one("SELECT tw_no_such_table")
        .assert_error("42P01")
        .assert_event_attr("exception", "exception.type", "sqlx_core::error::Error");
    // Messages are off by default: they can quote a statement's literals.
    assert!(
        missing
            .event("exception")
            .iter()
            .all(|(key, _)| key.as_str() != "exception.message"),
        "no message when messages are off"
    );
    assert_eq!(
        *missing.status(),
        opentelemetry::trace::Status::error(""),
        "no description when messages are off"
    );
}

#[tokio::test]
async fn a_dropped_stream_ends_its_span_with_the_rows_so_far() {
    let capture = SpanCapture::new();
    let pool = pg(&capture).await;
    {
        let mut rows = sqlx::query("SELECT generate_series(1, 1000) AS n").fetch(&pool);
        let mut seen = 0;
        while let Some(row) = rows.try_next().await.expect("row") {
            let _ = row;
            seen += 1;
            if seen == 5 {
                break;
            }
        }
    }
    let spans = capture.wait_for(1, std::time::Duration::from_secs(5)).await;
    spans
        .one("SELECT")
        .assert_attr("db.response.returned_rows", 5i64)
        .assert_unset();
}

#[tokio::test]
async fn transactions_show_begin_queries_and_commit_or_rollback() {
    let capture = SpanCapture::new();
    let pool = pg(&capture).await;
    let t = int_table(&pool, &capture, "tx").await;

    let mut tx = pool.begin().await.expect("begin");
    sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO {t} VALUES ($1)")))
        .bind(1)
        .execute(&mut *tx)
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
    let mut tx = pool.begin().await.expect("begin");
    sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO {t} VALUES ($1)")))
        .bind(2)
        .execute(&mut *tx)
        .await
        .expect("insert");
    tx.rollback().await.expect("rollback");
    let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {t}")))
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(count, 1, "the rollback really happened");

    let spans = capture.spans();
    let names: Vec<&str> = spans.iter().map(|s| s.name()).collect();
    let insert = format!("INSERT {t}");
    let select = format!("SELECT {t}");
    assert_eq!(
        names,
        vec![
            "BEGIN",
            insert.as_str(),
            "COMMIT",
            "BEGIN",
            insert.as_str(),
            "ROLLBACK",
            select.as_str()
        ]
    );
    for span in spans.iter() {
        span.assert_kind(SpanKind::Client).assert_unset();
    }
}

#[tokio::test]
async fn acquired_connections_and_annotations_are_traced() {
    let capture = SpanCapture::new();
    let pool = pg(&capture).await;
    let mut conn = pool.acquire().await.expect("acquire");
    sqlx::query("SELECT 1")
        .execute(&mut *conn)
        .await
        .expect("query");
    drop(conn);
    sqlx::query("SELECT $1::int")
        .bind(7)
        .fetch_one(
            pool.annotate(
                Annotation::new()
                    .summary("check stock")
                    .operation("SELECT")
                    .collection("stock"),
            ),
        )
        .await
        .expect("query");
    let spans = capture.spans();
    spans.one("SELECT").assert_attr("db.query.text", "SELECT ?");
    spans
        .one("check stock")
        .assert_attr("db.query.summary", "check stock")
        .assert_attr("db.operation.name", "SELECT")
        .assert_attr("db.collection.name", "stock");
}

#[tokio::test]
async fn an_acquired_connection_pings_opens_transactions_and_lends_the_plain_connection() {
    let capture = SpanCapture::new();
    let pool = pg(&capture).await;
    let t = int_table(&pool, &capture, "conn_tx").await;

    let mut conn = pool.acquire().await.expect("acquire");
    conn.ping().await.expect("ping");
    let mut tx = conn.begin().await.expect("begin");
    sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO {t} VALUES ($1)")))
        .bind(1)
        .execute(&mut *tx)
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
    // The plain sqlx connection, for an API that takes `&mut PgConnection`: no span.
    let plain: &mut sqlx::PgConnection = conn.as_connection_mut();
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {t}")))
        .fetch_one(plain)
        .await
        .expect("count");
    assert_eq!(n, 1);

    let spans = capture.spans();
    let names: Vec<&str> = spans.iter().map(|s| s.name()).collect();
    assert_eq!(names, ["BEGIN", format!("INSERT {t}").as_str(), "COMMIT"]);
    for span in spans.iter() {
        span.assert_kind(SpanKind::Client)
            .assert_attr("db.system.name", "postgresql")
            .assert_unset();
    }
}

#[tokio::test]
async fn checked_macros_are_traced() {
    let capture = SpanCapture::new();
    let pool = pg(&capture).await;
    let row = sqlx::query!("SELECT 1::int4 AS one, $1::text AS word", "hello")
        .fetch_one(&pool)
        .await
        .expect("query!");
    assert_eq!(row.one, Some(1));
    assert_eq!(row.word.as_deref(), Some("hello"));
    #[derive(Debug, PartialEq)]
    struct Word {
        word: Option<String>,
    }
    let words = sqlx::query_as!(Word, "SELECT $1::text AS word", "a")
        .fetch_all(&pool)
        .await
        .expect("query_as!");
    assert_eq!(
        words,
        [Word {
            word: Some("a".into())
        }]
    );
    let spans = capture.spans();
    let selects: Vec<_> = spans.named("SELECT").collect();
    assert_eq!(selects.len(), 2);
    selects[0]
        .assert_attr("db.query.text", "SELECT 1::int4 AS one, $1::text AS word")
        .assert_attr("db.response.returned_rows", 1i64);
    selects[1]
        .assert_attr("db.query.text", "SELECT $1::text AS word")
        .assert_attr("db.response.returned_rows", 1i64);
}

#[tokio::test]
async fn pool_timeouts_are_errors_on_the_span() {
    let capture = SpanCapture::new();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_millis(200))
        .connect(common::PG_URL)
        .await
        .expect("pool");
    let pool = common::traced(pool, &capture).await;
    let held = pool
        .inner()
        .acquire()
        .await
        .expect("hold the only connection");
    let result = sqlx::query("SELECT 1").execute(&pool).await;
    assert!(
        matches!(result, Err(sqlx::Error::PoolTimedOut)),
        "{result:?}"
    );
    drop(held);
    capture.spans().one("SELECT").assert_error("pool_timed_out");
}

#[tokio::test]
async fn sqlcommenter_puts_the_traceparent_where_postgres_shows_it() {
    tracewire_core::propagation::install();
    let capture = SpanCapture::new();
    let pool = TracedPool::builder(
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(common::PG_URL)
            .await
            .expect("pool"),
    )
    .with_instrumentation(capture.instrumentation("tracewire-sqlx"))
    .sqlcommenter(true)
    .build()
    .await;
    let seen: String =
        sqlx::query_scalar("SELECT query FROM pg_stat_activity WHERE pid = pg_backend_pid();")
            .fetch_one(&pool)
            .await
            .expect("query");
    let spans = capture.spans();
    let span = spans.one("SELECT pg_stat_activity");
    assert!(
        seen.ends_with(&format!(
            " /*traceparent='00-{}-{}-03'*/;",
            span.trace_id(),
            span.span_id()
        )),
        "{seen}"
    );
    // The recorded text is the caller's, without the comment.
    assert!(
        !span
            .attribute("db.query.text")
            .map(|v| v.as_str().into_owned())
            .unwrap_or_default()
            .contains("traceparent")
    );
}

#[tokio::test]
async fn a_huge_query_text_is_bounded() {
    let capture = SpanCapture::new();
    let pool = pg(&capture).await;
    let big = format!("SELECT 1 /* {} */", "x".repeat(1 << 20));
    sqlx::query(sqlx::AssertSqlSafe(big))
        .execute(&pool)
        .await
        .expect("query");
    let spans = capture.spans();
    let text = spans
        .one("SELECT")
        .attribute("db.query.text")
        .map(|v| v.as_str().into_owned())
        .unwrap_or_default();
    assert!(text.len() <= 2048, "{}", text.len());
    assert!(text.starts_with("SELECT ? /* xxx"));
}

#[tokio::test]
async fn a_query_inside_a_request_is_a_child_of_the_server_span() {
    use axum::Router;
    use axum::routing::get;
    tracewire_core::propagation::install();
    let capture = SpanCapture::new();
    let pool = pg(&capture).await;
    let app = Router::new()
        .route(
            "/stock",
            get(move || {
                let pool = pool.clone();
                async move {
                    let n: i32 = sqlx::query_scalar("SELECT 5")
                        .fetch_one(&pool)
                        .await
                        .expect("query");
                    n.to_string()
                }
            }),
        )
        .layer(tracewire_http::HttpServerLayer::new().with_tracer_provider(capture.provider()));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let body = reqwest::get(format!("http://{addr}/stock"))
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    assert_eq!(body, "5");
    let spans = capture.wait_for(2, std::time::Duration::from_secs(5)).await;
    let server = spans.one("GET /stock").assert_kind(SpanKind::Server);
    spans.one("SELECT").assert_parent(&server);
    let _ = Context::current().span();
}

#[tokio::test]
async fn the_duration_metric_has_the_semconv_attributes_and_can_be_turned_off() {
    let capture = SpanCapture::new();
    let metrics = tracewire_testing::MetricCapture::new();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(common::PG_URL)
        .await
        .expect("PostgreSQL at 127.0.0.1:5432 (database test)");
    let traced = TracedPool::builder(pool.clone())
        .with_instrumentation(
            metrics.instrumentation(capture.instrumentation("tracewire-sqlx"), "tracewire-sqlx"),
        )
        .build()
        .await;
    let t = table("metric");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {t} (id int PRIMARY KEY)"
    )))
    .execute(&traced)
    .await
    .expect("create");
    for id in [1, 2] {
        sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO {t} VALUES ($1)")))
            .bind(id)
            .execute(&traced)
            .await
            .expect("insert");
    }
    let duplicate = sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO {t} VALUES ($1)")))
        .bind(1)
        .execute(&traced)
        .await;
    assert!(duplicate.is_err());

    let points = metrics.points("db.client.operation.duration");
    let insert = format!("INSERT {t}");
    let of = |error: Option<&str>| {
        points
            .iter()
            .find(|p| {
                p.attr("db.query.summary") == Some(insert.as_str()) && p.attr("error.type") == error
            })
            .unwrap_or_else(|| panic!("no point for {insert} with error {error:?}: {points:?}"))
    };
    let ok = of(None);
    assert_eq!(ok.count, 2);
    assert_eq!(ok.unit, "s");
    assert_eq!(ok.bounds, tracewire_core::metrics::DB_DURATION_BUCKETS);
    assert_eq!(ok.attr("db.system.name"), Some("postgresql"));
    assert_eq!(ok.attr("db.namespace"), Some("test"));
    assert_eq!(ok.attr("server.address"), Some("127.0.0.1"));
    assert_eq!(ok.attr("server.port"), Some("5432"));
    assert_eq!(ok.attr("db.response.status_code"), None);
    for point in &points {
        assert_eq!(point.attr("db.query.text"), None, "opt-in on metrics");
    }
    let failed = of(Some("23505"));
    assert_eq!(failed.count, 1);
    assert_eq!(failed.attr("db.response.status_code"), Some("23505"));

    // Turned off: spans still, no measurement.
    let quiet_metrics = tracewire_testing::MetricCapture::new();
    let quiet = TracedPool::builder(pool)
        .with_instrumentation(
            quiet_metrics
                .instrumentation(capture.instrumentation("tracewire-sqlx"), "tracewire-sqlx"),
        )
        .duration_metric(false)
        .build()
        .await;
    capture.reset();
    sqlx::query("SELECT 1")
        .execute(&quiet)
        .await
        .expect("select");
    assert_eq!(capture.spans().len(), 1);
    assert!(
        quiet_metrics
            .points("db.client.operation.duration")
            .is_empty()
    );
}

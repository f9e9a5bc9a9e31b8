//! tracewire-sqlx against SQLite in a temporary file.

use opentelemetry::trace::SpanKind;
use tracewire_sqlx::TracedPool;
use tracewire_testing::SpanCapture;

#[tokio::test]
async fn sqlite_queries_are_client_spans_named_by_file() {
    let dir = std::env::temp_dir().join(format!("tracewire-sqlite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("shop.db");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .expect("sqlite");
    let capture = SpanCapture::new();
    let pool = TracedPool::builder(pool)
        .with_instrumentation(capture.instrumentation("tracewire-sqlx"))
        .build()
        .await;
    sqlx::query("CREATE TABLE stock (sku TEXT PRIMARY KEY, qty INTEGER)")
        .execute(&pool)
        .await
        .expect("create");
    sqlx::query("INSERT INTO stock VALUES (?, ?)")
        .bind("A-1")
        .bind(5)
        .execute(&pool)
        .await
        .expect("insert");
    let qty: i64 = sqlx::query_scalar("SELECT qty FROM stock WHERE sku = ?")
        .bind("A-1")
        .fetch_one(&pool)
        .await
        .expect("select");
    assert_eq!(qty, 5);
    let broken = sqlx::query("INSERT INTO stock VALUES ('A-1', 1)")
        .execute(&pool)
        .await;
    assert!(broken.is_err());

    let spans = capture.spans();
    spans
        .one("SELECT stock")
        .assert_kind(SpanKind::Client)
        .assert_attr("db.system.name", "sqlite")
        .assert_attr("db.namespace", "shop.db")
        .assert_no_attr("server.address")
        .assert_attr("db.query.text", "SELECT qty FROM stock WHERE sku = ?")
        .assert_attr("db.response.returned_rows", 1i64);
    let failed: Vec<_> = spans.named("INSERT stock").collect();
    assert_eq!(failed.len(), 2);
    // SQLITE_CONSTRAINT_PRIMARYKEY (1555): the extended result code.
    failed[1]
        .assert_attr("db.query.text", "INSERT INTO stock VALUES (?, ?)")
        .assert_error("1555");
    drop(pool);
    let _ = std::fs::remove_dir_all(dir);
}

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct Item {
    id: i64,
    name: String,
}

async fn memory(capture: &SpanCapture) -> TracedPool<sqlx::Sqlite> {
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect("sqlite::memory:")
        .await
        .expect("sqlite");
    TracedPool::builder(pool)
        .with_instrumentation(capture.instrumentation("tracewire-sqlx"))
        .build()
        .await
}

#[tokio::test]
async fn every_operation_kind_on_sqlite_is_a_client_span_under_the_enclosing_span() {
    use futures_util::TryStreamExt;
    use opentelemetry::Context;
    use tracewire_core::span::Outcome;

    let capture = SpanCapture::new();
    let pool = memory(&capture).await;
    sqlx::query("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
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
            sqlx::query("INSERT INTO items (id, name) VALUES (?, ?)")
                .bind(id)
                .bind(name)
                .execute(&pool)
                .await
                .expect("insert");
        }
        let all: Vec<Item> = sqlx::query_as("SELECT id, name FROM items ORDER BY id")
            .fetch_all(&pool)
            .await
            .expect("fetch_all");
        assert_eq!(all.len(), 3);
        let none: Option<Item> = sqlx::query_as("SELECT id, name FROM items WHERE id = ?")
            .bind(99)
            .fetch_optional(&pool)
            .await
            .expect("fetch_optional");
        assert_eq!(none, None);
        let streamed: Vec<Item> = sqlx::query_as("SELECT id, name FROM items")
            .fetch(&pool)
            .try_collect()
            .await
            .expect("fetch stream");
        assert_eq!(streamed.len(), 3);
        let mut conn = pool.acquire().await.expect("acquire");
        let one: i64 = sqlx::query_scalar("SELECT count(*) FROM items WHERE id = ?")
            .bind(1)
            .fetch_one(&mut *conn)
            .await
            .expect("on a connection");
        assert_eq!(one, 1);
        drop(conn);
        let mut tx = pool.begin().await.expect("begin");
        sqlx::query("DELETE FROM items WHERE id = ?")
            .bind(1)
            .execute(&mut *tx)
            .await
            .expect("delete");
        tx.rollback().await.expect("rollback");
        let mut tx = pool.begin().await.expect("begin");
        sqlx::query("UPDATE items SET name = ? WHERE id = ?")
            .bind("quince")
            .bind(3)
            .execute(&mut *tx)
            .await
            .expect("update");
        tx.commit().await.expect("commit");
    };
    parent.in_scope(work).await;
    parent.end(Outcome::Success);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM items")
        .fetch_one(pool.inner())
        .await
        .expect("untraced count");
    assert_eq!(count, 3, "the rollback really happened");

    let spans = capture.spans();
    let server = spans.one("GET /items");
    let names: Vec<&str> = spans
        .iter()
        .filter(|s| s.name() != "GET /items")
        .map(|s| s.name())
        .collect();
    assert_eq!(
        names,
        [
            "INSERT items",
            "INSERT items",
            "INSERT items",
            "SELECT items",
            "SELECT items",
            "SELECT items",
            "SELECT items",
            "BEGIN",
            "DELETE items",
            "ROLLBACK",
            "BEGIN",
            "UPDATE items",
            "COMMIT"
        ]
    );
    for span in spans.iter().filter(|s| s.name() != "GET /items") {
        span.assert_kind(SpanKind::Client)
            .assert_parent(&server)
            .assert_attr("db.system.name", "sqlite")
            .assert_unset();
    }
    let selects: Vec<_> = spans.named("SELECT items").collect();
    selects[0].assert_attr("db.response.returned_rows", 3i64);
    selects[1].assert_attr("db.response.returned_rows", 0i64);
    selects[2].assert_attr("db.response.returned_rows", 3i64);
    selects[3].assert_attr("db.response.returned_rows", 1i64);
}

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
        .instrumentation(capture.instrumentation("tracewire-sqlx"))
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

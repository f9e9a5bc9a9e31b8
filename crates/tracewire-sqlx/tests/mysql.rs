//! tracewire-sqlx against a real MariaDB (MySQL protocol).

mod common;

use common::{mysql, table};
use opentelemetry::trace::SpanKind;
use tracewire_testing::SpanCapture;

#[tokio::test]
async fn mariadb_is_detected_and_queries_are_traced() {
    let capture = SpanCapture::new();
    let pool = mysql(&capture).await;
    assert_eq!(pool.system_name(), "mariadb");
    let t = table("my");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {t} (id INT PRIMARY KEY, name VARCHAR(20))"
    )))
    .execute(&pool)
    .await
    .expect("create");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {t} VALUES (?, ?)"
    )))
    .bind(1)
    .bind("one")
    .execute(&pool)
    .await
    .expect("insert");
    let names: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT name FROM {t} WHERE id = ?"
    )))
    .bind(1)
    .fetch_all(&pool)
    .await
    .expect("select");
    assert_eq!(names, ["one"]);
    sqlx::query(sqlx::AssertSqlSafe(format!(
        r#"SELECT * FROM {t} WHERE name = "one" OR id = 2"#
    )))
    .fetch_all(&pool)
    .await
    .expect("select literal");

    let spans = capture.spans();
    let selects: Vec<_> = spans.named(&format!("SELECT {t}")).collect();
    assert_eq!(selects.len(), 2);
    selects[0]
        .assert_kind(SpanKind::Client)
        .assert_attr("db.system.name", "mariadb")
        .assert_attr("db.namespace", "test")
        .assert_attr("server.address", "127.0.0.1")
        .assert_attr("server.port", 3306i64)
        .assert_attr(
            "db.query.text",
            format!("SELECT name FROM {t} WHERE id = ?"),
        )
        .assert_attr("db.response.returned_rows", 1i64);
    // MySQL's double quotes are strings: sanitized.
    selects[1].assert_attr(
        "db.query.text",
        format!("SELECT * FROM {t} WHERE name = ? OR id = ?"),
    );
}

#[tokio::test]
async fn mariadb_errors_carry_the_error_number() {
    let capture = SpanCapture::new();
    let pool = mysql(&capture).await;
    let t = table("dup");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {t} (id INT PRIMARY KEY)"
    )))
    .execute(&pool)
    .await
    .expect("create");
    sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO {t} VALUES (1)")))
        .execute(&pool)
        .await
        .expect("insert");
    capture.reset();
    let duplicate = sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO {t} VALUES (?)")))
        .bind(1)
        .execute(&pool)
        .await;
    assert!(duplicate.is_err());
    let missing = sqlx::query("SELECT * FROM tw_missing_table")
        .fetch_all(&pool)
        .await;
    assert!(missing.is_err());
    let spans = capture.spans();
    spans
        .one(&format!("INSERT {t}"))
        .assert_error("1062")
        .assert_attr("db.response.status_code", "1062");
    spans
        .one("SELECT tw_missing_table")
        .assert_error("1146")
        .assert_attr("db.response.status_code", "1146");
}

#[tokio::test]
async fn mariadb_transactions() {
    let capture = SpanCapture::new();
    let pool = mysql(&capture).await;
    let mut tx = pool.begin().await.expect("begin");
    sqlx::query("SELECT 1")
        .execute(&mut *tx)
        .await
        .expect("select");
    tx.commit().await.expect("commit");
    let names: Vec<String> = capture
        .spans()
        .iter()
        .map(|s| s.name().to_owned())
        .collect();
    assert_eq!(names, ["BEGIN", "SELECT", "COMMIT"]);
}

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct Item {
    id: i32,
    name: String,
}

#[tokio::test]
async fn every_operation_kind_on_mariadb_is_a_client_span_under_the_enclosing_span() {
    use futures_util::TryStreamExt;
    use opentelemetry::Context;
    use tracewire_core::span::Outcome;

    let capture = SpanCapture::new();
    let pool = mysql(&capture).await;
    let t = table("kinds");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {t} (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)"
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
        for (id, name) in [(1, "apple"), (2, "pear")] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO {t} VALUES (?, ?)"
            )))
            .bind(id)
            .bind(name)
            .execute(&pool)
            .await
            .expect("insert");
        }
        let one: Item = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT id, name FROM {t} WHERE id = ?"
        )))
        .bind(1)
        .fetch_one(&pool)
        .await
        .expect("fetch_one");
        assert_eq!(one.name, "apple");
        let none: Option<Item> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT id, name FROM {t} WHERE id = ?"
        )))
        .bind(99)
        .fetch_optional(&pool)
        .await
        .expect("fetch_optional");
        assert_eq!(none, None);
        let streamed: Vec<Item> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT id, name FROM {t}")))
                .fetch(&pool)
                .try_collect()
                .await
                .expect("stream");
        assert_eq!(streamed.len(), 2);
        let mut conn = pool.acquire().await.expect("acquire");
        sqlx::query("SELECT 1")
            .execute(&mut *conn)
            .await
            .expect("on a connection");
        drop(conn);
        let mut tx = pool.begin().await.expect("begin");
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {t} WHERE id = ?")))
            .bind(1)
            .execute(&mut *tx)
            .await
            .expect("delete");
        tx.rollback().await.expect("rollback");
    };
    parent.in_scope(work).await;
    parent.end(Outcome::Success);
    let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {t}")))
        .fetch_one(pool.inner())
        .await
        .expect("untraced count");
    assert_eq!(count, 2, "the rollback really happened");

    let spans = capture.spans();
    let server = spans.one("GET /items");
    let names: Vec<&str> = spans
        .iter()
        .filter(|s| s.name() != "GET /items")
        .map(|s| s.name())
        .collect();
    let (insert, select, delete) = (
        format!("INSERT {t}"),
        format!("SELECT {t}"),
        format!("DELETE {t}"),
    );
    assert_eq!(
        names,
        [
            insert.as_str(),
            insert.as_str(),
            select.as_str(),
            select.as_str(),
            select.as_str(),
            "SELECT",
            "BEGIN",
            delete.as_str(),
            "ROLLBACK"
        ]
    );
    for span in spans.iter().filter(|s| s.name() != "GET /items") {
        span.assert_kind(SpanKind::Client)
            .assert_parent(&server)
            .assert_attr("db.system.name", "mariadb")
            .assert_unset();
    }
    let selects: Vec<_> = spans.named(&select).collect();
    selects[0].assert_attr("db.response.returned_rows", 1i64);
    selects[1].assert_attr("db.response.returned_rows", 0i64);
    selects[2].assert_attr("db.response.returned_rows", 2i64);
}

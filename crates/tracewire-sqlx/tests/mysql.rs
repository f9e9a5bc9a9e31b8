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

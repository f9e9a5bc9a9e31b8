//! The demo's database, shared by the services that own tables: SQLite in memory by default,
//! PostgreSQL when asked. The same SQL runs on both.

use tracewire_sqlx::TracedPool;

use crate::{DemoError, ServiceTelemetry, fail};

/// The demo's database: SQLite by default, PostgreSQL when asked. The same SQL runs on both.
#[derive(Clone, Debug)]
pub(crate) enum Database {
    Sqlite(TracedPool<sqlx::Sqlite>),
    Postgres(TracedPool<sqlx::Postgres>),
}

const SCHEMA: [&str; 4] = [
    "CREATE TABLE IF NOT EXISTS inventory (item TEXT PRIMARY KEY, stock INTEGER NOT NULL, price_cents INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, item TEXT NOT NULL, quantity INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS shipments (order_id TEXT PRIMARY KEY)",
    "DELETE FROM inventory",
];

impl Database {
    pub(crate) async fn connect(
        url: Option<&str>,
        telemetry: &ServiceTelemetry,
    ) -> Result<Self, DemoError> {
        let instrumentation = telemetry.instrumentation("tracewire-sqlx");
        let db = match url {
            Some(url) if url.starts_with("postgres") => {
                let pool = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(4)
                    .connect(url)
                    .await
                    .map_err(|e| DemoError(format!("PostgreSQL at {url}: {e}")))?;
                Database::Postgres(
                    TracedPool::builder(pool)
                        .with_instrumentation(instrumentation)
                        .build()
                        .await,
                )
            }
            Some(other) => return Err(DemoError(format!("unsupported database URL {other}"))),
            None => {
                // One connection: every query must see the same in-memory database.
                let pool = sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .connect("sqlite::memory:")
                    .await
                    .map_err(|e| DemoError(format!("SQLite: {e}")))?;
                Database::Sqlite(
                    TracedPool::builder(pool)
                        .with_instrumentation(instrumentation)
                        .build()
                        .await,
                )
            }
        };
        for statement in SCHEMA {
            db.execute(statement, &[]).await.map_err(fail("schema"))?;
        }
        for (item, stock, price) in [("espresso-machine", 5, 24_900), ("grinder", 12, 9_900)] {
            db.execute(
                "INSERT INTO inventory (item, stock, price_cents) VALUES ($1, $2, $3)",
                &[Arg::Text(item), Arg::Int(stock), Arg::Int(price)],
            )
            .await
            .map_err(fail("seed"))?;
        }
        Ok(db)
    }

    /// The same pool (the same database, even in memory) traced as another service.
    pub(crate) async fn for_service(&self, telemetry: &ServiceTelemetry) -> Database {
        let instrumentation = telemetry.instrumentation("tracewire-sqlx");
        macro_rules! rewrap {
            ($variant:ident, $pool:expr) => {
                Database::$variant(
                    TracedPool::builder($pool.inner().clone())
                        .with_instrumentation(instrumentation)
                        .build()
                        .await,
                )
            };
        }
        match self {
            Database::Sqlite(pool) => rewrap!(Sqlite, pool),
            Database::Postgres(pool) => rewrap!(Postgres, pool),
        }
    }

    pub(crate) fn system(&self) -> &'static str {
        match self {
            Database::Sqlite(_) => "sqlite",
            Database::Postgres(_) => "postgresql",
        }
    }

    pub(crate) async fn execute(&self, sql: &'static str, args: &[Arg<'_>]) -> Result<(), String> {
        // The same binding for both databases; only the pool's type differs.
        macro_rules! run {
            ($pool:expr) => {{
                let mut query = sqlx::query(sql);
                for arg in args {
                    query = match arg {
                        Arg::Text(t) => query.bind(t.to_string()),
                        Arg::Int(i) => query.bind(*i),
                    };
                }
                query
                    .execute($pool)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            }};
        }
        match self {
            Database::Sqlite(pool) => run!(pool),
            Database::Postgres(pool) => run!(pool),
        }
    }

    /// Stock and unit price of `item`.
    pub(crate) async fn inventory(&self, item: &str) -> Result<Option<(i64, i64)>, String> {
        let sql = "SELECT stock, price_cents FROM inventory WHERE item = $1";
        match self {
            Database::Sqlite(pool) => sqlx::query_as::<_, (i64, i64)>(sql)
                .bind(item.to_owned())
                .fetch_optional(pool)
                .await
                .map_err(|e| e.to_string()),
            Database::Postgres(pool) => sqlx::query_as::<_, (i32, i32)>(sql)
                .bind(item.to_owned())
                .fetch_optional(pool)
                .await
                .map(|row| row.map(|(s, p)| (i64::from(s), i64::from(p))))
                .map_err(|e| e.to_string()),
        }
    }
}

pub(crate) enum Arg<'a> {
    Text(&'a str),
    Int(i32),
}

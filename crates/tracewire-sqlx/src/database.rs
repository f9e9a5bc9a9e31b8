//! What tracewire needs to know about each sqlx database: its `db.system.name`, its SQL dialect, where
//! the pool connects, and how its errors are coded.

use std::future::Future;

use sqlx::error::DatabaseError;
use sqlx::{Connection, Database, Pool};

use crate::sql::Dialect;

/// Where a pool connects: `db.namespace`, `server.address`, `server.port`.
///
/// ```
/// # #[cfg(feature = "postgres")] {
/// use sqlx::postgres::PgConnectOptions;
/// use tracewire_sqlx::{Endpoint, TracedDatabase};
/// let options = PgConnectOptions::new_without_pgpass()
///     .host("db.internal")
///     .port(5433)
///     .database("shop");
/// assert_eq!(
///     sqlx::Postgres::endpoint(&options),
///     Endpoint {
///         namespace: Some("shop".to_owned()),
///         address: Some("db.internal".to_owned()),
///         port: Some(5433),
///     }
/// );
/// // A Unix socket directory is not a `server.address`.
/// let local = options.host("/var/run/postgresql");
/// assert_eq!(sqlx::Postgres::endpoint(&local).address, None);
/// # }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoint {
    /// `db.namespace`.
    pub namespace: Option<String>,
    /// `server.address`.
    pub address: Option<String>,
    /// `server.port`.
    pub port: Option<u16>,
}

impl Endpoint {
    /// A networked server: a host that is a Unix socket directory is not recorded as an address.
    fn network(host: &str, port: u16, database: Option<&str>) -> Self {
        Endpoint {
            namespace: database.map(str::to_owned),
            address: (!host.starts_with('/')).then(|| host.to_owned()),
            port: Some(port),
        }
    }
}

/// A sqlx database tracewire can trace. Implemented for PostgreSQL, MySQL/MariaDB and SQLite (each
/// behind the cargo feature of the same name).
///
/// ```
/// # #[cfg(feature = "postgres")] {
/// use tracewire_sqlx::TracedDatabase;
/// assert_eq!(sqlx::Postgres::SYSTEM_NAME, "postgresql");
/// # }
/// ```
pub trait TracedDatabase: Database {
    /// `db.system.name` before [`detect_system_name`](Self::detect_system_name) says otherwise.
    const SYSTEM_NAME: &'static str;
    /// How literals are written.
    const DIALECT: Dialect;

    /// Where `options` connect.
    fn endpoint(options: &<Self::Connection as Connection>::Options) -> Endpoint;

    /// `db.response.status_code` for a database error: the SQLSTATE (PostgreSQL), the error number
    /// (MySQL, MariaDB) or the result code (SQLite).
    fn status_code(error: &dyn DatabaseError) -> Option<String>;

    /// `db.system.name` as actually connected (MySQL asks the server whether it is MariaDB).
    fn detect_system_name(pool: &Pool<Self>) -> impl Future<Output = &'static str> + Send {
        let _ = pool;
        std::future::ready(Self::SYSTEM_NAME)
    }
}

#[cfg(feature = "postgres")]
impl TracedDatabase for sqlx::Postgres {
    const SYSTEM_NAME: &'static str = "postgresql";
    const DIALECT: Dialect = Dialect::Postgres;

    /// `db.namespace` is the database named at connect time (the schema from `search_path` is not
    /// read, which would cost a query).
    fn endpoint(options: &sqlx::postgres::PgConnectOptions) -> Endpoint {
        Endpoint::network(
            options.get_host(),
            options.get_port(),
            options.get_database(),
        )
    }

    fn status_code(error: &dyn DatabaseError) -> Option<String> {
        error.code().map(|c| c.into_owned())
    }
}

#[cfg(feature = "mysql")]
impl TracedDatabase for sqlx::MySql {
    const SYSTEM_NAME: &'static str = "mysql";
    const DIALECT: Dialect = Dialect::MySql;

    fn endpoint(options: &sqlx::mysql::MySqlConnectOptions) -> Endpoint {
        Endpoint::network(
            options.get_host(),
            options.get_port(),
            options.get_database(),
        )
    }

    fn status_code(error: &dyn DatabaseError) -> Option<String> {
        match error.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
            Some(e) => Some(e.number().to_string()),
            None => error.code().map(|c| c.into_owned()),
        }
    }

    fn detect_system_name(pool: &Pool<Self>) -> impl Future<Output = &'static str> + Send {
        let pool = pool.clone();
        async move {
            let version: Result<String, _> = sqlx::query_scalar("SELECT VERSION()")
                .fetch_one(&pool)
                .await;
            match version {
                Ok(v) if v.to_ascii_lowercase().contains("mariadb") => "mariadb",
                _ => "mysql",
            }
        }
    }
}

#[cfg(feature = "sqlite")]
impl TracedDatabase for sqlx::Sqlite {
    const SYSTEM_NAME: &'static str = "sqlite";
    const DIALECT: Dialect = Dialect::Sqlite;

    /// SQLite has no server; `db.namespace` is the database file name (without its directory), or
    /// nothing for an in-memory database.
    fn endpoint(options: &sqlx::sqlite::SqliteConnectOptions) -> Endpoint {
        let file = options.get_filename();
        let namespace = file
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| !n.is_empty() && !n.starts_with(":memory:"))
            .map(str::to_owned);
        Endpoint {
            namespace,
            address: None,
            port: None,
        }
    }

    fn status_code(error: &dyn DatabaseError) -> Option<String> {
        error.code().map(|c| c.into_owned())
    }
}

//! One SQL layer over SQLite (the embedded default, in WAL mode) and PostgreSQL, chosen by URL.
//!
//! Services write their queries once against [`sqlx::Any`] with `$1, $2, …` placeholders,
//! which both backends accept. Conventions that keep one query set portable: times are
//! `BIGINT` UTC microseconds ([`crate::time`]), ids, enums and JSON are `TEXT`, booleans are
//! small integers (SQLite booleans do not decode through `Any`), bytes are `BLOB` / `BYTEA`.
//!
//! Writes go through [`Database::begin`]. On SQLite the writer pool holds one connection, so
//! write transactions queue in the pool instead of failing with `SQLITE_BUSY` when two of them
//! try to upgrade their locks at once; readers use their own pool and never block the writer
//! (WAL). On PostgreSQL both are the same pool.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, Executor, Transaction};

/// Which database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file (`sqlite://path/to/file.db`).
    Sqlite,
    /// A PostgreSQL server (`postgres://user@host/db`).
    Postgres,
}

impl Backend {
    /// The backend a database URL names.
    pub fn from_url(url: &str) -> Result<Self, DbError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(DbError::UnsupportedUrl(redact(url)))
        }
    }
}

/// A service's migrations, one set per backend, embedded with `sqlx::migrate!`.
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    /// Migrations for SQLite (`migrations/sqlite`).
    pub sqlite: &'static Migrator,
    /// Migrations for PostgreSQL (`migrations/postgres`).
    pub postgres: &'static Migrator,
}

/// Pool sizes and timeouts.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    /// Connections for reads (and, on PostgreSQL, writes).
    pub max_connections: u32,
    /// How long a caller waits for a free connection before failing.
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// A connected, migrated database.
#[derive(Debug, Clone)]
pub struct Database {
    backend: Backend,
    reader: AnyPool,
    writer: AnyPool,
}

/// Why a database could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL names neither SQLite nor PostgreSQL.
    #[error("unsupported database url `{0}`: expected sqlite://… or postgres://…")]
    UnsupportedUrl(String),
    /// The SQLite file's folder could not be created.
    #[error("cannot create the folder for the sqlite database {path}")]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Connecting failed.
    #[error("cannot connect to {url}")]
    Connect {
        /// The URL, with any password removed.
        url: String,
        /// The cause.
        #[source]
        source: sqlx::Error,
    },
    /// A migration failed.
    #[error("migrating {url} failed")]
    Migrate {
        /// The URL, with any password removed.
        url: String,
        /// The cause.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// Any other database error.
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

impl Database {
    /// Opens the database at `url` (creating a SQLite file and its folder when missing),
    /// creates the platform's own tables (outbox, inbox) and runs the service's migrations.
    pub async fn connect(
        url: &str,
        migrations: Migrations,
        settings: PoolSettings,
    ) -> Result<Self, DbError> {
        let db = Self::open(url, settings).await?;
        db.migrate(migrations).await?;
        Ok(db)
    }

    /// Opens the database without running any migration.
    pub async fn open(url: &str, settings: PoolSettings) -> Result<Self, DbError> {
        install_default_drivers();
        let backend = Backend::from_url(url)?;
        let connect_err = |source| DbError::Connect {
            url: redact(url),
            source,
        };
        match backend {
            Backend::Sqlite => {
                let url = sqlite_url(url)?;
                let options = || {
                    AnyPoolOptions::new()
                        .acquire_timeout(settings.acquire_timeout)
                        // An embedded file cannot drop a connection the way a server can: a
                        // ping before every acquire would only cost one more round trip to
                        // the connection's worker thread per transaction and per read.
                        .test_before_acquire(false)
                        .after_connect(|conn, _meta| {
                            Box::pin(async move {
                                for pragma in SQLITE_PRAGMAS {
                                    conn.execute(*pragma).await?;
                                }
                                Ok(())
                            })
                        })
                };
                let writer = options()
                    .max_connections(1)
                    .connect(&url)
                    .await
                    .map_err(connect_err)?;
                let reader = options()
                    .max_connections(settings.max_connections.max(1))
                    .connect(&url)
                    .await
                    .map_err(connect_err)?;
                Ok(Self {
                    backend,
                    reader,
                    writer,
                })
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(settings.max_connections.max(2))
                    .acquire_timeout(settings.acquire_timeout)
                    .connect(url)
                    .await
                    .map_err(connect_err)?;
                Ok(Self {
                    backend,
                    reader: pool.clone(),
                    writer: pool,
                })
            }
        }
    }

    /// Creates the platform tables and runs `migrations` for this backend. On PostgreSQL
    /// the whole of it holds an advisory lock, so replicas starting together migrate one
    /// after the other (concurrent `CREATE TABLE IF NOT EXISTS` statements collide).
    pub async fn migrate(&self, migrations: Migrations) -> Result<(), DbError> {
        /// The advisory lock key of the platform's migrations ("aftercare" in ASCII).
        const MIGRATION_LOCK: i64 = 0x6166_7465_7263_6172;
        let mut conn = self.writer.acquire().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(MIGRATION_LOCK)
                .execute(&mut *conn)
                .await?;
        }
        let result = async {
            for statement in platform_schema(self.backend) {
                conn.execute(*statement).await?;
            }
            let migrator = match self.backend {
                Backend::Sqlite => migrations.sqlite,
                Backend::Postgres => migrations.postgres,
            };
            migrator
                .run(&mut *conn)
                .await
                .map_err(|source| DbError::Migrate {
                    url: self.backend_name().to_owned(),
                    source,
                })
        }
        .await;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(MIGRATION_LOCK)
                .execute(&mut *conn)
                .await?;
        }
        result
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// The pool for reads.
    pub fn reader(&self) -> &AnyPool {
        &self.reader
    }

    /// The pool for writes outside a transaction (prefer [`Database::begin`]).
    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// Starts a write transaction. When starting it fails on a lost connection (a pooled
    /// connection the server dropped in a restart), it is tried once more on a fresh one:
    /// nothing was sent yet, so that is always safe. Later failures are the caller's, and map
    /// to `UNAVAILABLE` for the client to retry ([`crate::error::database`]).
    pub async fn begin(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        match self.writer.begin().await {
            Err(err) if crate::error::DatabaseFault::of(&err).is_transient() => {
                tracing::debug!(error = %err, "beginning a transaction failed; trying once more");
                self.writer.begin().await
            }
            result => result,
        }
    }

    /// Checks that the database answers (`SELECT 1` on a pooled connection).
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map(|_| ())
    }

    /// Closes both pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

const SQLITE_PRAGMAS: &[&str] = &[
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 10000",
];

/// The tables the platform itself keeps in every service's database: the transactional
/// outbox (events written with the change that caused them, published by the relay) and the
/// inbox (event ids a consumer has handled, so a redelivery is applied once).
fn platform_schema(backend: Backend) -> &'static [&'static str] {
    match backend {
        Backend::Sqlite => &[
            "CREATE TABLE IF NOT EXISTS aftercare_outbox (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                id TEXT NOT NULL UNIQUE,
                event_type TEXT NOT NULL,
                subject TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                envelope BLOB NOT NULL,
                published_at BIGINT
            )",
            "CREATE INDEX IF NOT EXISTS aftercare_outbox_pending
                ON aftercare_outbox (seq) WHERE published_at IS NULL",
            "CREATE TABLE IF NOT EXISTS aftercare_inbox (
                consumer TEXT NOT NULL,
                event_id TEXT NOT NULL,
                handled_at BIGINT NOT NULL,
                PRIMARY KEY (consumer, event_id)
            )",
        ],
        Backend::Postgres => &[
            "CREATE TABLE IF NOT EXISTS aftercare_outbox (
                seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                event_type TEXT NOT NULL,
                subject TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                envelope BYTEA NOT NULL,
                published_at BIGINT
            )",
            "CREATE INDEX IF NOT EXISTS aftercare_outbox_pending
                ON aftercare_outbox (seq) WHERE published_at IS NULL",
            "CREATE TABLE IF NOT EXISTS aftercare_inbox (
                consumer TEXT NOT NULL,
                event_id TEXT NOT NULL,
                handled_at BIGINT NOT NULL,
                PRIMARY KEY (consumer, event_id)
            )",
        ],
    }
}

/// Creates `path` and its missing parents; a folder created here is owner-only (0700), a
/// folder that already existed keeps its permissions.
pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
    if path.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

/// Creates the file at `path` empty and owner-only (0600) when it does not exist yet, so
/// that SQLite (which gives its `-wal` and `-shm` files the database file's permissions) never
/// creates a world-readable database.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(err),
    }
}

/// Normalises a SQLite URL: creates the file's folder (owner-only) and the file itself
/// (owner-only) when missing, and asks SQLite to create it otherwise (`mode=rwc`).
fn sqlite_url(url: &str) -> Result<String, DbError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path != ":memory:"
        && !path.is_empty()
        && let Some(parent) = Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
    {
        create_private_dir(parent).map_err(|source| DbError::CreateDir {
            path: parent.to_owned(),
            source,
        })?;
    }
    if path != ":memory:" && !path.is_empty() && !query.contains("mode=memory") {
        create_private_file(Path::new(path)).map_err(|source| DbError::CreateDir {
            path: PathBuf::from(path),
            source,
        })?;
    }
    let query = if query.split('&').any(|kv| kv.starts_with("mode=")) {
        query.to_owned()
    } else if query.is_empty() {
        "mode=rwc".to_owned()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{path}?{query}"))
}

/// The URL with its credentials replaced by `***`, for messages and logs: the password, a
/// NATS token (a user name with no password), and `password`, `sslpassword` or `token`
/// query parameters. A text that does not parse as a URL is replaced whole.
pub fn redact(url: &str) -> String {
    let Ok(mut parsed) = url::Url::from_str(url) else {
        return "***".to_owned();
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    } else if matches!(parsed.scheme(), "nats" | "tls") && !parsed.username().is_empty() {
        let _ = parsed.set_username("***");
    }
    const SECRET_PARAMETERS: [&str; 4] = ["password", "sslpassword", "token", "pass"];
    if parsed
        .query_pairs()
        .any(|(key, _)| SECRET_PARAMETERS.contains(&key.as_ref()))
    {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(key, value)| {
                let value = if SECRET_PARAMETERS.contains(&key.as_ref()) {
                    "***".to_owned()
                } else {
                    value.into_owned()
                };
                (key.into_owned(), value)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_sqlite_database_and_its_folder_are_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("data");
        let file = folder.join("tickets.db");
        let db = Database::open(
            &format!("sqlite://{}", file.display()),
            PoolSettings::default(),
        )
        .await
        .unwrap();
        sqlx::query("CREATE TABLE t (x BIGINT)")
            .execute(db.writer())
            .await
            .unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&folder), 0o700);
        assert_eq!(mode(&file), 0o600);
        let wal = folder.join("tickets.db-wal");
        if wal.exists() {
            assert_eq!(mode(&wal), 0o600);
        }
        db.close().await;
    }

    #[test]
    fn redaction_hides_every_kind_of_credential() {
        for (url, shown) in [
            (
                "postgres://app:hunter2@db/tickets",
                "postgres://app:***@db/tickets",
            ),
            (
                "postgres://db/tickets?user=app&password=hunter2",
                "postgres://db/tickets?user=app&password=***",
            ),
            ("nats://s3cr3tt0ken@nats:4222", "nats://***@nats:4222"),
            ("nats://u:hunter2@nats:4222", "nats://u:***@nats:4222"),
            ("sqlite://data/tickets.db", "sqlite://data/tickets.db"),
            ("not a url hunter2", "***"),
        ] {
            assert_eq!(redact(url), shown, "{url}");
        }
    }

    #[test]
    fn backend_is_chosen_by_url_scheme() {
        assert_eq!(Backend::from_url("sqlite://a.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::from_url("sqlite:a.db").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::from_url("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert!(Backend::from_url("mysql://u@h/db").is_err());
    }

    #[test]
    fn sqlite_url_asks_for_creation_and_keeps_options() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/x.db");
        let url = sqlite_url(&format!("sqlite://{}", path.display())).unwrap();
        assert!(url.ends_with("x.db?mode=rwc"), "{url}");
        assert!(path.parent().unwrap().is_dir());
        let url = sqlite_url("sqlite://x.db?mode=ro").unwrap();
        assert_eq!(url, "sqlite://x.db?mode=ro");
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://app:secret@db:5432/tickets"),
            "postgres://app:***@db:5432/tickets"
        );
        assert_eq!(redact("sqlite://data/t.db"), "sqlite://data/t.db");
    }
}

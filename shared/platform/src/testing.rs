//! The test harness: fresh databases on SQLite and PostgreSQL, the local NATS server, and a
//! gRPC server on an ephemeral port with a connected channel.
//!
//! PostgreSQL and NATS tests run when those servers are reachable (127.0.0.1:5432 and
//! 127.0.0.1:4222 by default; `AFTERCARE_TEST_POSTGRES_URL` and `AFTERCARE_TEST_NATS_URL`
//! override). When one is not reachable the test is skipped with a notice, unless
//! `AFTERCARE_REQUIRE_SERVICES=1` is set (as CI does), in which case it fails.

use std::net::SocketAddr;
use std::time::Duration;

use sqlx::Connection as _;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Channel, Endpoint};

use crate::config::ServerConfig;
use crate::db::{Backend, Database, Migrations, PoolSettings};
use crate::server::{GrpcServer, RunningServer};

/// Set to `1` to make tests fail, rather than skip, when PostgreSQL or NATS is unreachable.
pub const REQUIRE_SERVICES_ENV: &str = "AFTERCARE_REQUIRE_SERVICES";
/// Overrides the PostgreSQL server tests use (a URL to its `postgres` database).
pub const POSTGRES_URL_ENV: &str = "AFTERCARE_TEST_POSTGRES_URL";
/// Overrides the NATS server tests use.
pub const NATS_URL_ENV: &str = "AFTERCARE_TEST_NATS_URL";

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";

fn services_required() -> bool {
    std::env::var(REQUIRE_SERVICES_ENV).is_ok_and(|value| value == "1" || value == "true")
}

fn unavailable(what: &str, why: &dyn std::fmt::Display) {
    assert!(
        !services_required(),
        "{what} is required ({REQUIRE_SERVICES_ENV}=1) but unreachable: {why}"
    );
    eprintln!("skipping: {what} is unreachable ({why})");
}

/// A fresh, empty database that is removed when dropped.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    backend: Backend,
    _dir: Option<TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// A new SQLite file in a temporary folder.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        Self {
            url,
            backend: Backend::Sqlite,
            _dir: Some(dir),
            postgres: None,
        }
    }

    /// A new PostgreSQL database on the test server, or `None` (after a notice) when the
    /// server is unreachable and not required.
    pub async fn postgres() -> Option<Self> {
        let admin_url =
            std::env::var(POSTGRES_URL_ENV).unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let mut admin = match tokio::time::timeout(
            Duration::from_secs(5),
            sqlx::PgConnection::connect(&admin_url),
        )
        .await
        {
            Ok(Ok(conn)) => conn,
            Ok(Err(err)) => {
                unavailable("PostgreSQL", &err);
                return None;
            }
            Err(_) => {
                unavailable("PostgreSQL", &"connection timed out");
                return None;
            }
        };
        let name = format!("aftercare_test_{}", uuid::Uuid::now_v7().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create a test database");
        let _ = admin.close().await;
        let url = match admin_url.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => panic!("{POSTGRES_URL_ENV} must end with /<database>"),
        };
        Some(Self {
            url,
            backend: Backend::Postgres,
            _dir: None,
            postgres: Some((admin_url, name)),
        })
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Connects and runs `migrations`.
    pub async fn connect(&self, migrations: Migrations) -> Database {
        Database::connect(&self.url, migrations, PoolSettings::default())
            .await
            .expect("connect to and migrate the test database")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs outside any runtime guarantee: use a small one on its own thread.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await?;
                Ok::<_, sqlx::Error>(())
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
    }
}

/// The NATS server tests use, or `None` (after a notice) when it is unreachable and not
/// required.
pub async fn nats_url() -> Option<String> {
    let url = std::env::var(NATS_URL_ENV).unwrap_or_else(|_| DEFAULT_NATS_URL.to_owned());
    match tokio::time::timeout(Duration::from_secs(5), async_nats::connect(&url)).await {
        Ok(Ok(client)) => {
            drop(client);
            Some(url)
        }
        Ok(Err(err)) => {
            unavailable("NATS", &err);
            None
        }
        Err(_) => {
            unavailable("NATS", &"connection timed out");
            None
        }
    }
}

/// A gRPC server on an ephemeral port of 127.0.0.1, stopped when dropped.
pub struct TestServer {
    addr: SocketAddr,
    channel: Channel,
    shutdown: CancellationToken,
    running: Option<RunningServer>,
}

impl TestServer {
    /// Starts `server` with `config` and connects a channel to it.
    pub async fn start(server: GrpcServer, config: &ServerConfig) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind an ephemeral port");
        let shutdown = CancellationToken::new();
        let running = server.serve(listener, config, shutdown.clone()).await;
        let addr = running.local_addr();
        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .expect("a valid endpoint")
            .connect()
            .await
            .expect("connect to the test server");
        Self {
            addr,
            channel,
            shutdown,
            running: Some(running),
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A connected channel (cheap to clone).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// Stops it and waits for in-flight calls to drain.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(running) = self.running.take() {
            let _ = running.stopped().await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Runs an async test body once on SQLite and once on PostgreSQL (when reachable).
///
/// ```ignore
/// async fn stale_etag_is_refused(db: TestDatabase) { … }
/// aftercare_platform::on_both_databases!(stale_etag_is_refused);
/// ```
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),+ $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::testing::TestDatabase::sqlite()).await;
                }
            )+
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::testing::TestDatabase::postgres().await {
                        super::$name(db).await;
                    }
                }
            )+
        }
    };
}

/// A service started the way `aftercare` starts it, on an ephemeral port, with a fresh
/// database and an in-process bus; stopped when dropped.
pub struct TestService {
    name: &'static str,
    channel: Channel,
    bus: std::sync::Arc<crate::events::InProcessBus>,
    config: std::sync::Arc<crate::config::Config>,
    principals: crate::auth::PrincipalVerifier,
    shutdown: CancellationToken,
    running: Option<crate::service::RunningService>,
}

impl TestService {
    /// Starts `definition` on `db`.
    pub async fn start(
        definition: &dyn crate::service::ServiceDefinition,
        db: &TestDatabase,
    ) -> Self {
        Self::start_configured(definition, db, |_| {}).await
    }

    /// Starts `definition` on `db` with the test configuration changed by `configure`
    /// first (its listener and database are set after).
    pub async fn start_configured(
        definition: &dyn crate::service::ServiceDefinition,
        db: &TestDatabase,
        configure: impl FnOnce(&mut crate::config::Config),
    ) -> Self {
        let mut config = crate::config::Config::default();
        configure(&mut config);
        config.telemetry.metrics_listen = None;
        config.events.relay_interval = Duration::from_millis(20);
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind an ephemeral port");
        let addr = listener.local_addr().expect("a local address");
        let service = config
            .services
            .get(definition.name())
            .cloned()
            .expect("a known service name");
        let service = crate::config::ServiceConfig {
            listen: addr,
            database_url: Some(crate::config::Secret::new(db.url())),
            ..service
        };
        match definition.name() {
            "tickets" => config.services.tickets = service,
            "customers" => config.services.customers = service,
            "workforce" => config.services.workforce = service,
            "feedback" => config.services.feedback = service,
            "knowledge" => config.services.knowledge = service,
            other => panic!("unknown service {other}"),
        }
        let config = std::sync::Arc::new(config);
        let bus = std::sync::Arc::new(crate::events::InProcessBus::new());
        let shutdown = CancellationToken::new();
        let principals = crate::auth::PrincipalVerifier::random();
        let running = crate::service::start(
            definition,
            config.clone(),
            bus.clone(),
            principals.clone(),
            Some(listener),
            shutdown.clone(),
        )
        .await
        .expect("start the service");
        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .expect("a valid endpoint")
            .connect()
            .await
            .expect("connect to the service");
        Self {
            name: definition.name(),
            channel,
            bus,
            config,
            principals,
            shutdown,
            running: Some(running),
        }
    }

    /// A connected channel (cheap to clone).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// The service's database, to check what was (not) written.
    pub fn db(&self) -> &Database {
        self.running.as_ref().expect("the service is running").db()
    }

    /// The in-process bus the service publishes on; subscribe to see its events.
    pub fn bus(&self) -> std::sync::Arc<crate::events::InProcessBus> {
        self.bus.clone()
    }

    /// Wraps `message` in a request carrying `principal`, signed for this service as the
    /// gateway would.
    pub fn request<T>(&self, principal: &crate::auth::Principal, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        self.principals
            .attach(principal, self.name, request.metadata_mut());
        request
    }

    /// The verifier the service trusts (to sign principals in tests).
    pub fn principals(&self) -> &crate::auth::PrincipalVerifier {
        &self.principals
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &crate::config::Config {
        &self.config
    }

    /// Stops it and waits for in-flight calls to drain.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(running) = self.running.take() {
            running.stopped().await;
        }
    }
}

impl Drop for TestService {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Polls `probe` every 20 ms until it returns `Some`, and returns that value; panics naming
/// `what` when `deadline` passes first. The one way tests wait for something asynchronous
/// (an event applied, a sweep run): never a bare sleep.
pub async fn poll_until<T, F, Fut>(what: &str, deadline: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = tokio::time::Instant::now();
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            started.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

//! The end-to-end harness: [`Sandbox`] starts every service and the gateway in one process,
//! as `aftercare up` does, on fresh databases and ephemeral ports, and mints real tokens for
//! the gateway; [`PrivatePostgres`] is a PostgreSQL server of a test's own (its own data
//! folder and port), which the test may restart without touching the machine's server.

pub mod cluster;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use aftercare::Platform;
use aftercare_platform::auth::Role;
use aftercare_platform::config::{Config, Secret};
use aftercare_platform::testing::TestDatabase;
use tonic::transport::Channel;

/// The services the sandbox runs, by name.
pub const SERVICES: [&str; 5] = ["tickets", "customers", "workforce", "feedback", "knowledge"];

/// Where each service's database lives in a sandbox.
pub enum Databases {
    /// A fresh SQLite file per service.
    Sqlite,
    /// A fresh database per service on the machine's PostgreSQL (skipped when unreachable).
    Postgres,
    /// A fresh database per service on a private server.
    On(String),
}

/// Every service and the gateway in one process.
pub struct Sandbox {
    platform: Option<Platform>,
    config: Config,
    gateway: SocketAddr,
    _databases: Vec<TestDatabase>,
    _dir: tempfile::TempDir,
}

impl Sandbox {
    /// Starts the platform on fresh databases, or `None` when PostgreSQL was asked for and
    /// is unreachable (and not required).
    pub async fn start(databases: Databases) -> Option<Self> {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let mut config = Config {
            data_dir: dir.path().join("data"),
            ..Config::default()
        };
        config.telemetry.metrics_listen = None;
        config.events.relay_interval = Duration::from_millis(20);
        config.gateway.listen = "127.0.0.1:0".parse().expect("an address");
        config.gateway.jwt_secret = Some(Secret::new(format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        )));
        let mut kept = Vec::new();
        for name in SERVICES {
            let service = config.services.get_mut(name).expect("a known service");
            service.listen = "127.0.0.1:0".parse().expect("an address");
            match &databases {
                Databases::Sqlite => {
                    let db = TestDatabase::sqlite();
                    service.database_url = Some(Secret::new(db.url()));
                    kept.push(db);
                }
                Databases::Postgres => {
                    let db = TestDatabase::postgres().await?;
                    service.database_url = Some(Secret::new(db.url()));
                    kept.push(db);
                }
                Databases::On(server) => {
                    let url = create_database(server, name).await;
                    service.database_url = Some(Secret::new(url));
                }
            }
        }
        let platform = Platform::start(config.clone())
            .await
            .expect("the platform starts");
        let gateway = platform.gateway_addr().expect("the gateway listens");
        Some(Self {
            platform: Some(platform),
            config,
            gateway,
            _databases: kept,
            _dir: dir,
        })
    }

    /// Where the service called `name` listens.
    pub fn service_addr(&self, name: &str) -> Option<SocketAddr> {
        self.platform
            .as_ref()?
            .endpoints()
            .into_iter()
            .find(|(service, _)| *service == name)
            .map(|(_, addr)| addr)
    }

    /// A channel to the gateway.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.gateway))
            .expect("a valid endpoint")
            .connect()
            .await
            .expect("connect to the gateway")
    }

    /// A bearer token for `subject` with `role`, as an identity provider would issue.
    pub fn token(&self, subject: &str, role: Role, region: Option<&str>) -> String {
        let customer = (role == Role::Customer).then_some(subject);
        aftercare_gateway::mint_dev_token(
            &self.config.gateway,
            subject,
            &[role],
            region,
            customer,
            Duration::from_secs(3_600),
        )
        .expect("a development token")
    }

    /// Records every event published on the platform's bus from now on.
    pub async fn record_events(&self) -> EventLog {
        let bus = self.platform.as_ref().expect("the platform runs").bus();
        let mut subscription = bus
            .subscribe(
                &format!("journey-recorder-{}", uuid::Uuid::now_v7().simple()),
                aftercare_platform::events::SubscriptionFilter::all(),
            )
            .await
            .expect("subscribe to every event");
        let log = EventLog::default();
        let events = log.events.clone();
        tokio::spawn(async move {
            while let Some(Ok(delivery)) = subscription.next().await {
                events
                    .lock()
                    .expect("the log's lock")
                    .push(delivery.event().clone());
                let _ = delivery.ack().await;
            }
        });
        log
    }

    /// Publishes `event` on the platform's bus again, as an at-least-once bus may redeliver it.
    pub async fn publish(&self, event: &aftercare_platform::events::Event) {
        self.platform
            .as_ref()
            .expect("the platform runs")
            .bus()
            .publish(event)
            .await
            .expect("publish the event");
    }

    /// The gateway's configuration (its development secret mints the tokens).
    pub fn gateway_config(&self) -> &aftercare_platform::config::GatewayConfig {
        &self.config.gateway
    }

    /// Wraps `message` with `token` as its bearer credential.
    pub fn request<T>(token: &str, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("valid metadata"),
        );
        request
    }

    /// Stops every service and the gateway.
    pub async fn stop(mut self) {
        if let Some(platform) = self.platform.take() {
            platform.stop().await;
        }
    }
}

/// The events a journey saw on the bus, in the order they were delivered.
#[derive(Debug, Clone, Default)]
pub struct EventLog {
    events: std::sync::Arc<std::sync::Mutex<Vec<aftercare_platform::events::Event>>>,
}

impl EventLog {
    /// What was recorded so far.
    pub fn events(&self) -> Vec<aftercare_platform::events::Event> {
        self.events.lock().expect("the log's lock").clone()
    }
}

/// Creates database `name` on `server` (a URL ending in `/postgres`) and returns its URL.
pub(crate) async fn create_database(server: &str, name: &str) -> String {
    use sqlx::Connection as _;
    let mut admin = sqlx::PgConnection::connect(server)
        .await
        .expect("connect to the private server");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create a database");
    let (base, _) = server.rsplit_once('/').expect("a URL with a database");
    format!("{base}/{name}")
}

/// A PostgreSQL server of the test's own: its own data folder and port, stopped (and its
/// folder removed) when dropped. `None` when PostgreSQL's programs are not installed and the
/// servers are not required (`AFTERCARE_REQUIRE_SERVICES`).
pub struct PrivatePostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_postgres: bool,
}

impl PrivatePostgres {
    /// Initialises and starts a server on a free port.
    pub fn start() -> Option<Self> {
        let Some(bin) = postgres_bin() else {
            let required = std::env::var("AFTERCARE_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "PostgreSQL's programs (initdb, pg_ctl) are required"
            );
            eprintln!("skipping: PostgreSQL's programs are not installed");
            return None;
        };
        let dir = tempfile::tempdir().expect("a temporary folder");
        // initdb refuses to run as root: run the server as the `postgres` user then.
        let as_postgres = is_root();
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(status.success(), "chown the data folder to postgres");
        }
        let port = free_port();
        let this = Self {
            bin,
            dir,
            port,
            as_postgres,
        };
        let data = this.data();
        this.run(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        this.pg_ctl("start");
        Some(this)
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Restarts it (`pg_ctl restart -m fast`: open connections are terminated).
    pub fn restart(&self) {
        self.pg_ctl("restart");
    }

    /// Starts it again after [`PrivatePostgres::stop`].
    pub fn start_again(&self) {
        self.pg_ctl("start");
    }

    /// Stops it.
    pub fn stop(&self) {
        let data = self.data();
        self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]);
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn pg_ctl(&self, action: &str) {
        let data = self.data();
        let log = self.dir.path().join("server.log").display().to_string();
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100",
            self.port,
            self.dir.path().display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-o", &options, "-m", "fast", "-w", action,
            ],
        );
    }

    fn run(&self, program: &str, args: &[&str]) {
        let program = self.bin.join(program);
        let status = if self.as_postgres {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&program)
                .args(args)
                .current_dir("/")
                .status()
        } else {
            Command::new(&program).args(args).status()
        }
        .unwrap_or_else(|err| panic!("run {}: {err}", program.display()));
        assert!(status.success(), "{} {args:?} failed", program.display());
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data();
        let program = self.bin.join("pg_ctl");
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        let _ = command
            .args(["-D", &data, "-m", "immediate", "stop"])
            .current_dir("/")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// A NATS JetStream server of the test's own: its own store folder and port, stopped when
/// dropped. `None` when `nats-server` is not installed and the servers are not required
/// (`AFTERCARE_REQUIRE_SERVICES`).
pub struct PrivateNats {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    child: Option<std::process::Child>,
}

impl PrivateNats {
    /// Starts a server with JetStream on a free port of 127.0.0.1.
    pub async fn start() -> Option<Self> {
        let Some(bin) = nats_bin() else {
            let required = std::env::var("AFTERCARE_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
            assert!(!required, "nats-server is required");
            eprintln!("skipping: nats-server is not installed");
            return None;
        };
        let mut this = Self {
            bin,
            dir: tempfile::tempdir().expect("a temporary folder"),
            port: free_port(),
            child: None,
        };
        this.start_again().await;
        Some(this)
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stops it (SIGTERM, then waits for it to exit); its store stays for
    /// [`PrivateNats::start_again`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() {
                if std::time::Instant::now() > deadline {
                    let _ = child.kill();
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Starts it again on the same port and store, and waits until it accepts clients.
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "the NATS server already runs");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .expect("a log file");
        let child = Command::new(&self.bin)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(self.dir.path().join("store"))
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().expect("a log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|err| panic!("start {}: {err}", self.bin.display()));
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            // The server restores JetStream's streams before it accepts clients.
            if async_nats::connect(self.url()).await.is_ok() {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the private NATS server does not answer within 20 s: {}",
                std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn nats_bin() -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/bin")])
        .map(|dir| dir.join("nats-server"))
        .find(|bin| bin.exists())
}

fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

//! A cluster on one machine: each service as its own `aftercare serve <service>` process on
//! its own PostgreSQL database, the NATS JetStream bus (a stream and subject prefix of the
//! cluster's own), and the gateway in front, balancing between replicas.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aftercare_platform::auth::Role;
use aftercare_platform::config::{GatewayConfig, Secret};
use aftercare_platform::testing::{TestDatabase, nats_url};
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// One process of the cluster.
pub struct Process {
    /// Its name (`tickets-1`).
    pub name: String,
    /// Where it serves gRPC.
    pub addr: SocketAddr,
    /// Where it serves Prometheus metrics.
    pub metrics: SocketAddr,
    command: Vec<String>,
    env: BTreeMap<String, String>,
    child: Option<Child>,
    log: PathBuf,
}

impl Process {
    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("a log file");
        let child = Command::new(aftercare_binary())
            .args(&self.command)
            .envs(&self.env)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("a log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|err| panic!("start {}: {err}", self.name));
        self.child = Some(child);
    }

    /// Kills it at once (SIGKILL): no drain, no goodbye.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again, as it was configured.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn();
        wait_serving(self).await;
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The number of calls of `method` (`CreateTicket`) it served, from its `/metrics`.
    pub async fn served(&self, method: &str) -> u64 {
        served(self.metrics, method).await
    }
}

/// The number of calls of `method` the process with metrics at `metrics` served.
pub async fn served(metrics: SocketAddr, method: &str) -> u64 {
    {
        let Ok(body) = http_get(metrics, "/metrics").await else {
            return 0;
        };
        body.lines()
            .filter(|line| !line.starts_with('#') && line.contains(&format!("\"{method}\"")))
            .filter(|line| line.starts_with("grpc_server_requests_total"))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .map(|value| value as u64)
            .sum()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Customers, two tickets replicas and the gateway, each its own process.
pub struct Cluster {
    /// `customers`, `tickets-1`, `tickets-2`, `gateway`.
    pub processes: Vec<Process>,
    gateway: GatewayConfig,
    stream: String,
    nats: String,
    _databases: Vec<TestDatabase>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts the cluster, or `None` when PostgreSQL or NATS is unreachable (and not
    /// required).
    pub async fn start() -> Option<Self> {
        let nats = nats_url().await?;
        let customers_db = TestDatabase::postgres().await?;
        let tickets_db = TestDatabase::postgres().await?;
        let dir = tempfile::tempdir().expect("a temporary folder");
        let unique = uuid::Uuid::now_v7().simple().to_string();
        let stream = format!("AFTERCARE_CLUSTER_{unique}");
        let jwt_secret = hex_secret();
        let mut common = BTreeMap::from([
            ("AFTERCARE_AUTH__PRINCIPAL_SECRET".to_owned(), hex_secret()),
            (
                "AFTERCARE_GATEWAY__JWT_SECRET".to_owned(),
                jwt_secret.clone(),
            ),
            ("AFTERCARE_EVENTS__BUS".to_owned(), "nats".to_owned()),
            ("AFTERCARE_EVENTS__NATS_URL".to_owned(), nats.clone()),
            ("AFTERCARE_EVENTS__STREAM".to_owned(), stream.clone()),
            (
                "AFTERCARE_EVENTS__SUBJECT_PREFIX".to_owned(),
                format!("cluster_{unique}"),
            ),
            (
                "AFTERCARE_EVENTS__RELAY_INTERVAL".to_owned(),
                "50ms".to_owned(),
            ),
            (
                "AFTERCARE_DATA_DIR".to_owned(),
                dir.path().display().to_string(),
            ),
            (
                "AFTERCARE_TELEMETRY__LOG_FILTER".to_owned(),
                "warn".to_owned(),
            ),
            (
                "AFTERCARE_SERVICES__CUSTOMERS__DATABASE_URL".to_owned(),
                customers_db.url().to_owned(),
            ),
            (
                "AFTERCARE_SERVICES__TICKETS__DATABASE_URL".to_owned(),
                tickets_db.url().to_owned(),
            ),
        ]);
        let customers = free_addr();
        let tickets = [free_addr(), free_addr()];
        let gateway = free_addr();
        common.insert(
            "AFTERCARE_SERVICES__CUSTOMERS__ENDPOINT".to_owned(),
            format!("http://{customers}"),
        );
        let mut processes = Vec::new();
        let mut add = |name: &str,
                       service: &str,
                       listen_key: &str,
                       addr: SocketAddr,
                       extra: &[(&str, String)]| {
            let metrics = free_addr();
            let mut env = common.clone();
            env.insert(listen_key.to_owned(), addr.to_string());
            env.insert(
                "AFTERCARE_TELEMETRY__METRICS_LISTEN".to_owned(),
                metrics.to_string(),
            );
            for (key, value) in extra {
                env.insert((*key).to_owned(), value.clone());
            }
            processes.push(Process {
                name: name.to_owned(),
                addr,
                metrics,
                command: vec!["serve".to_owned(), service.to_owned()],
                env,
                child: None,
                log: dir.path().join(format!("{name}.log")),
            });
        };
        add(
            "customers",
            "customers",
            "AFTERCARE_SERVICES__CUSTOMERS__LISTEN",
            customers,
            &[],
        );
        for (i, addr) in tickets.iter().enumerate() {
            add(
                &format!("tickets-{}", i + 1),
                "tickets",
                "AFTERCARE_SERVICES__TICKETS__LISTEN",
                *addr,
                &[],
            );
        }
        add(
            "gateway",
            "gateway",
            "AFTERCARE_GATEWAY__LISTEN",
            gateway,
            &[(
                "AFTERCARE_SERVICES__TICKETS__ENDPOINT",
                format!("http://{},{}", tickets[0], tickets[1]),
            )],
        );
        for process in &mut processes {
            process.spawn();
        }
        for process in &processes {
            wait_serving(process).await;
        }
        let gateway = GatewayConfig {
            jwt_secret: Some(Secret::new(jwt_secret)),
            ..GatewayConfig::default()
        };
        Some(Self {
            processes,
            gateway,
            stream,
            nats,
            _databases: vec![customers_db, tickets_db],
            _dir: dir,
        })
    }

    /// The process called `name`.
    pub fn process(&mut self, name: &str) -> &mut Process {
        self.processes
            .iter_mut()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no process {name}"))
    }

    /// A channel to the gateway.
    pub async fn channel(&mut self) -> Channel {
        let addr = self.process("gateway").addr;
        Channel::from_shared(format!("http://{addr}"))
            .expect("a valid endpoint")
            .connect()
            .await
            .expect("connect to the gateway")
    }

    /// A bearer token for `subject` with `role`.
    pub fn token(&self, subject: &str, role: Role, region: Option<&str>) -> String {
        aftercare_gateway::mint_dev_token(
            &self.gateway,
            subject,
            &[role],
            region,
            None,
            Duration::from_secs(3_600),
        )
        .expect("a development token")
    }

    /// Every process's log, for a failure message.
    pub fn logs(&self) -> String {
        self.processes
            .iter()
            .map(|p| format!("--- {} ---\n{}", p.name, p.log()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Stops every process and deletes the cluster's stream.
    pub async fn stop(mut self) {
        for process in &mut self.processes {
            process.kill();
        }
        if let Ok(client) = async_nats::connect(&self.nats).await {
            let _ = async_nats::jetstream::new(client)
                .delete_stream(&self.stream)
                .await;
        }
    }
}

/// Waits until `process` reports SERVING on gRPC health; fails with its log when it does not
/// within 30 s.
async fn wait_serving(process: &Process) {
    let addr = process.addr;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if serving(addr).await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} does not serve within 30 s; its log:\n{}",
            process.name,
            process.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn serving(addr: SocketAddr) -> bool {
    let Ok(endpoint) = Channel::from_shared(format!("http://{addr}")) else {
        return false;
    };
    let Ok(channel) = endpoint.connect().await else {
        return false;
    };
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .is_ok_and(|response| response.into_inner().status == ServingStatus::Serving as i32)
}

/// The `aftercare` binary beside this test's (built by `cargo build --bin aftercare` when
/// missing).
pub fn aftercare_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    let profile = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let binary = profile.join("aftercare");
    if !binary.exists() {
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
            .args(["build", "--bin", "aftercare"])
            .status()
            .expect("run cargo build");
        assert!(status.success(), "build the aftercare binary");
    }
    binary
}

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
}

fn hex_secret() -> String {
    aftercare_platform::auth::random_secret()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A plain HTTP/1.1 GET, for `/metrics`.
async fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
    let mut body = String::new();
    stream.read_to_string(&mut body).await?;
    Ok(body)
}

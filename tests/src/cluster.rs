//! A cluster on one machine: each service as its own `aftercare serve <service>` process on
//! its own PostgreSQL database, the NATS JetStream bus (a stream and subject prefix of the
//! cluster's own), and the gateway in front, balancing between replicas. A fault test may run
//! the cluster on a NATS server or a PostgreSQL server of its own ([`Options`]) and stop or
//! restart it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use aftercare_platform::auth::{Principal, PrincipalVerifier, Role};
use aftercare_platform::config::{GatewayConfig, Secret};
use aftercare_platform::testing::{TestDatabase, nats_url};
use aftercare_proto::aftercare::customers::v1 as customers_pb;
use aftercare_proto::aftercare::tickets::v1 as tickets_pb;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::{PrivateNats, PrivatePostgres, create_database};

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
    /// A process running `aftercare <command>` with `env`, serving gRPC health at `addr`,
    /// logging to `log`; not started yet ([`Process::restart`] starts it).
    pub fn new(
        name: &str,
        addr: SocketAddr,
        metrics: SocketAddr,
        command: &[&str],
        env: BTreeMap<String, String>,
        log: PathBuf,
    ) -> Self {
        Self {
            name: name.to_owned(),
            addr,
            metrics,
            command: command.iter().map(|arg| (*arg).to_owned()).collect(),
            env,
            child: None,
            log,
        }
    }

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

    /// Whether it still runs (it neither exited nor was killed).
    pub fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| child.try_wait().is_ok_and(|status| status.is_none()))
    }

    /// Its operating-system process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// What its gRPC health check answers for the whole server (`None`: no answer).
    pub async fn health(&self) -> Option<ServingStatus> {
        health_of(self.addr).await
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The sum of the series of the metric `name` whose labels include every one of
    /// `labels`, from its `/metrics` (see [`metric_at`]).
    pub async fn metric(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        metric_at(self.metrics, name, labels).await
    }

    /// The number of calls of `method` (`CreateTicket`) it served, from its `/metrics`.
    pub async fn served(&self, method: &str) -> u64 {
        served(self.metrics, method).await
    }
}

/// The sum of the series of the metric `name` whose labels include every one of `labels`,
/// from the `/metrics` at `metrics` (`None`: no such series, or no answer).
pub async fn metric_at(metrics: SocketAddr, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let body = http_get(metrics, "/metrics").await.ok()?;
    let values: Vec<f64> = body
        .lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|line| {
            labels
                .iter()
                .all(|(key, value)| line.contains(&format!("{key}=\"{value}\"")))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
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

/// What a cluster runs on besides its processes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// A NATS server of the cluster's own (which the test may stop), rather than the machine's.
    pub private_nats: bool,
    /// A PostgreSQL server of the cluster's own (which the test may restart), rather than the
    /// machine's.
    pub private_postgres: bool,
    /// The JetStream consumers' ack wait (`events.ack_wait`), when not the default 30 s: how
    /// long a delivery a killed consumer pulled waits before it is delivered again.
    pub ack_wait: Option<Duration>,
}

/// Customers, two tickets replicas and the gateway, each its own process.
pub struct Cluster {
    /// `customers`, `tickets-1`, `tickets-2`, `gateway`.
    pub processes: Vec<Process>,
    gateway: GatewayConfig,
    principals: PrincipalVerifier,
    stream: String,
    nats: String,
    private_nats: Option<PrivateNats>,
    private_postgres: Option<Arc<PrivatePostgres>>,
    database_urls: BTreeMap<&'static str, String>,
    _databases: Vec<TestDatabase>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts the cluster on the machine's PostgreSQL and NATS, or `None` when either is
    /// unreachable (and not required).
    pub async fn start() -> Option<Self> {
        Self::start_with(Options::default()).await
    }

    /// Starts the cluster as `options` say, or `None` when a server it needs is unreachable or
    /// not installed (and not required).
    pub async fn start_with(options: Options) -> Option<Self> {
        let private_nats = if options.private_nats {
            Some(PrivateNats::start().await?)
        } else {
            None
        };
        let nats = match &private_nats {
            Some(server) => server.url(),
            None => nats_url().await?,
        };
        let private_postgres = if options.private_postgres {
            Some(Arc::new(PrivatePostgres::start()?))
        } else {
            None
        };
        let mut databases = Vec::new();
        let (customers_db, tickets_db) = match &private_postgres {
            Some(server) => (
                create_database(&server.url(), "customers").await,
                create_database(&server.url(), "tickets").await,
            ),
            None => {
                let customers = TestDatabase::postgres().await?;
                let tickets = TestDatabase::postgres().await?;
                let urls = (customers.url().to_owned(), tickets.url().to_owned());
                databases.extend([customers, tickets]);
                urls
            }
        };
        let (customers_url, tickets_url) = (customers_db.clone(), tickets_db.clone());
        let dir = tempfile::tempdir().expect("a temporary folder");
        let unique = uuid::Uuid::now_v7().simple().to_string();
        let stream = format!("AFTERCARE_CLUSTER_{unique}");
        let jwt_secret = hex_secret();
        let principal_secret = hex_secret();
        let principals = PrincipalVerifier::new(principal_secret.as_bytes());
        let mut common = BTreeMap::from([
            (
                "AFTERCARE_AUTH__PRINCIPAL_SECRET".to_owned(),
                principal_secret,
            ),
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
                customers_db.clone(),
            ),
            (
                "AFTERCARE_SERVICES__TICKETS__DATABASE_URL".to_owned(),
                tickets_db.clone(),
            ),
        ]);
        if let Some(ack_wait) = options.ack_wait {
            common.insert(
                "AFTERCARE_EVENTS__ACK_WAIT".to_owned(),
                format!("{}ms", ack_wait.as_millis()),
            );
        }
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
            principals,
            stream,
            nats,
            private_nats,
            private_postgres,
            database_urls: BTreeMap::from([("customers", customers_url), ("tickets", tickets_url)]),
            _databases: databases,
            _dir: dir,
        })
    }

    /// The URL of the database of `service` (`customers`, `tickets`).
    pub fn database_url(&self, service: &str) -> &str {
        self.database_urls
            .get(service)
            .unwrap_or_else(|| panic!("no database for {service}"))
    }

    /// The cluster's own NATS server (started with [`Options::private_nats`]).
    pub fn nats_server(&mut self) -> &mut PrivateNats {
        self.private_nats
            .as_mut()
            .expect("a cluster started with a NATS server of its own")
    }

    /// The cluster's own PostgreSQL server (started with [`Options::private_postgres`]).
    pub fn postgres_server(&self) -> Arc<PrivatePostgres> {
        Arc::clone(
            self.private_postgres
                .as_ref()
                .expect("a cluster started with a PostgreSQL server of its own"),
        )
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

    /// A channel straight to the process called `name` (`tickets-1`), past the gateway.
    pub async fn channel_to(&mut self, name: &str) -> Channel {
        let addr = self.process(name).addr;
        Channel::from_shared(format!("http://{addr}"))
            .expect("a valid endpoint")
            .connect()
            .await
            .unwrap_or_else(|err| panic!("connect to {name}: {err}"))
    }

    /// `message` with `principal` signed for `service` as the gateway signs it, for a call
    /// straight to one of its processes.
    pub fn signed<T>(&self, principal: &Principal, service: &str, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        self.principals
            .attach(principal, service, request.metadata_mut());
        request
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
    health_of(addr).await == Some(ServingStatus::Serving)
}

/// What the gRPC health check at `addr` answers for the whole server (`None`: no answer).
pub async fn health_of(addr: SocketAddr) -> Option<ServingStatus> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .ok()?
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(2))
        .connect()
        .await
        .ok()?;
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .ok()?;
    ServingStatus::try_from(response.into_inner().status).ok()
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

/// A free port on 127.0.0.1.
pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
}

/// A random 256-bit secret in hex.
pub fn hex_secret() -> String {
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

/// A create load through the gateway: `clients` tasks opening tickets one after another (with
/// a pause after each), until [`Load::finish`].
pub struct Load {
    started: tokio::time::Instant,
    running: Arc<std::sync::atomic::AtomicBool>,
    clients: Vec<tokio::task::JoinHandle<usize>>,
    acknowledged: Arc<std::sync::Mutex<Vec<(Duration, tickets_pb::Ticket)>>>,
    failed: Arc<std::sync::Mutex<BTreeMap<String, usize>>>,
}

/// What a [`Load`] did.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Calls sent.
    pub sent: usize,
    /// The tickets acknowledged, each with when (since the load started).
    pub acknowledged: Vec<(Duration, tickets_pb::Ticket)>,
    /// Failed calls by status code.
    pub failed: BTreeMap<String, usize>,
}

impl LoadReport {
    /// How many creates were acknowledged between `from` and `to` (since the load started).
    pub fn acknowledged_between(&self, from: Duration, to: Duration) -> usize {
        self.acknowledged
            .iter()
            .filter(|(at, _)| *at >= from && *at < to)
            .count()
    }
}

impl Load {
    /// Starts `clients` clients on `channel` with `token`; client `i` opens its tickets for
    /// the customer `<tag>-<i>@example.com`.
    pub fn start(
        channel: Channel,
        token: &str,
        clients: usize,
        pause: Duration,
        tag: &str,
    ) -> Self {
        use tickets_pb::ticket_service_client::TicketServiceClient;
        let started = tokio::time::Instant::now();
        let running = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let acknowledged = Arc::new(std::sync::Mutex::new(Vec::new()));
        let failed = Arc::new(std::sync::Mutex::new(BTreeMap::<String, usize>::new()));
        let clients = (0..clients)
            .map(|client| {
                let (channel, token) = (channel.clone(), token.to_owned());
                let handle = format!("{tag}-{client}@example.com");
                let (running, acknowledged, failed) =
                    (running.clone(), acknowledged.clone(), failed.clone());
                tokio::spawn(async move {
                    let mut tickets = TicketServiceClient::new(channel);
                    let mut sent = 0usize;
                    while running.load(std::sync::atomic::Ordering::SeqCst) {
                        sent += 1;
                        let request = crate::Sandbox::request(
                            &token,
                            new_ticket(&handle, &format!("Load {client}/{sent}")),
                        );
                        let call = tokio::time::timeout(
                            Duration::from_secs(10),
                            tickets.create_ticket(request),
                        )
                        .await;
                        match call {
                            Ok(Ok(response)) => {
                                let ticket = response.into_inner().ticket.expect("a ticket");
                                acknowledged
                                    .lock()
                                    .expect("a lock")
                                    .push((started.elapsed(), ticket));
                            }
                            Ok(Err(status)) => {
                                *failed
                                    .lock()
                                    .expect("a lock")
                                    .entry(format!("{:?}", status.code()))
                                    .or_default() += 1;
                            }
                            Err(_) => {
                                *failed
                                    .lock()
                                    .expect("a lock")
                                    .entry("client timeout (10 s)".to_owned())
                                    .or_default() += 1;
                            }
                        }
                        tokio::time::sleep(pause).await;
                    }
                    sent
                })
            })
            .collect();
        Self {
            started,
            running,
            clients,
            acknowledged,
            failed,
        }
    }

    /// How long since it started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// How many creates were acknowledged so far.
    pub fn acknowledged(&self) -> usize {
        self.acknowledged.lock().expect("a lock").len()
    }

    /// Stops the clients (each finishes its call in flight) and reports.
    pub async fn finish(self) -> LoadReport {
        self.running
            .store(false, std::sync::atomic::Ordering::SeqCst);
        let mut sent = 0;
        for client in self.clients {
            sent += client.await.expect("a load client finishes");
        }
        let acknowledged = self.acknowledged.lock().expect("a lock").clone();
        let failed = self.failed.lock().expect("a lock").clone();
        LoadReport {
            sent,
            acknowledged,
            failed,
        }
    }
}

/// A request to open a ticket for the e-mail `handle`, with a request id of its own.
pub fn new_ticket(handle: &str, subject: &str) -> tickets_pb::CreateTicketRequest {
    use aftercare_proto::aftercare::common::v1::{Channel as Via, ChannelIdentity};
    tickets_pb::CreateTicketRequest {
        ticket: Some(tickets_pb::Ticket {
            customer_identity: Some(ChannelIdentity {
                channel: Via::Email as i32,
                handle: handle.to_owned(),
                ..Default::default()
            }),
            subject: subject.to_owned(),
            description: "The dishwasher leaks under the door.".into(),
            region: "eu-west".into(),
            ..Default::default()
        }),
        request_id: uuid::Uuid::now_v7().to_string(),
        ..Default::default()
    }
}

/// How many `TicketCreated` entries each ticket has on `customer`'s timeline (every page).
pub async fn ticket_creations(
    channel: Channel,
    token: &str,
    customer: &str,
) -> Result<BTreeMap<String, usize>, tonic::Status> {
    use customers_pb::customer_service_client::CustomerServiceClient;
    let mut customers = CustomerServiceClient::new(channel);
    let mut creations = BTreeMap::<String, usize>::new();
    let mut page_token = String::new();
    loop {
        let page = customers
            .list_timeline_entries(crate::Sandbox::request(
                token,
                customers_pb::ListTimelineEntriesRequest {
                    parent: customer.to_owned(),
                    page_size: 500,
                    page_token: page_token.clone(),
                    filter: "event_type = \"aftercare.events.v1.TicketCreated\"".to_owned(),
                },
            ))
            .await?
            .into_inner();
        for entry in page.timeline_entries {
            *creations.entry(entry.subject).or_default() += 1;
        }
        if page.next_page_token.is_empty() {
            return Ok(creations);
        }
        page_token = page.next_page_token;
    }
}

/// [`delivered`], asked again every 250 ms until every ticket of `acknowledged` is on its
/// customer's timeline or `deadline` passes: the last answer (a failed read counts as none).
pub async fn delivered_by(
    channel: &Channel,
    token: &str,
    acknowledged: &[tickets_pb::Ticket],
    deadline: tokio::time::Instant,
) -> (usize, BTreeMap<String, usize>) {
    let mut last = (0, BTreeMap::new());
    while tokio::time::Instant::now() < deadline {
        if let Ok(now) = delivered(channel, token, acknowledged).await {
            last = now;
            if last.0 == acknowledged.len() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    last
}

/// Whether every ticket of `acknowledged` is on its customer's timeline; the tickets found more
/// than once, with their counts.
pub async fn delivered(
    channel: &Channel,
    token: &str,
    acknowledged: &[tickets_pb::Ticket],
) -> Result<(usize, BTreeMap<String, usize>), tonic::Status> {
    let mut by_customer = BTreeMap::<&str, Vec<&str>>::new();
    for ticket in acknowledged {
        by_customer
            .entry(ticket.customer.as_str())
            .or_default()
            .push(ticket.name.as_str());
    }
    let mut found = 0;
    let mut duplicates = BTreeMap::new();
    for (customer, tickets) in by_customer {
        let creations = ticket_creations(channel.clone(), token, customer).await?;
        for ticket in tickets {
            match creations.get(ticket).copied().unwrap_or(0) {
                0 => {}
                1 => found += 1,
                n => {
                    found += 1;
                    duplicates.insert(ticket.to_owned(), n);
                }
            }
        }
    }
    Ok((found, duplicates))
}

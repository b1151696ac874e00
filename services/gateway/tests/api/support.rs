//! The harness: a real backend (a small `PerformanceService` on the platform's gRPC server,
//! verifying the principal like every service) and the gateway in front of it; the other
//! backends point at a closed port.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aftercare_gateway::{Gateway, RunningGateway, hash_api_key, mint_dev_token};
use aftercare_platform::auth::{Principal, PrincipalVerifier, Role};
use aftercare_platform::config::{Config, Secret, ServerConfig};
use aftercare_platform::error::FieldViolations;
use aftercare_platform::server::GrpcServer;
use aftercare_platform::testing::TestServer;
use aftercare_proto::aftercare::common::v1::Actor;
use aftercare_proto::aftercare::workforce::v1::performance_service_client::PerformanceServiceClient;
use aftercare_proto::aftercare::workforce::v1::performance_service_server::{
    PerformanceService, PerformanceServiceServer,
};
use aftercare_proto::aftercare::workforce::v1::*;
use tokio::net::TcpListener;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Response, Status};

/// The HS256 secret of the test gateway.
pub const SECRET: &str = "gateway-test-secret-0123456789abcdef";

/// An identity provider's ES256 private key; its public half is in [`JWKS`] as `idp-1`.
pub const IDP_PRIVATE_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQguy5vXy6U53QNHO17
IYV631Z87qx6cfp/dbyzxor9YlKhRANCAASfcvb+251jJf9j6JS2RET3NNCJWv5D
lmnK53NpNfh2o2VTCx5dGS7PLZZo+eFcYn1FwvrddNXwMy4KXcsVZI/t
-----END PRIVATE KEY-----
";

/// The identity provider's public keys.
pub const JWKS: &str = r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"idp-1","alg":"ES256","use":"sig",
  "x":"n3L2_tudYyX_Y-iUtkRE9zTQiVr-Q5ZpyudzaTX4dqM","y":"ZVMLHl0ZLs8tlmj54VxifUXC-t101fAzLgpdyxVkj-0"}]}"#;

/// The API key of the test integration (`apikeys/erp`).
pub const ERP_KEY: &str = "erp-0f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// What the test backend has seen.
#[derive(Default)]
pub struct Seen {
    /// Every call that reached it.
    pub calls: AtomicUsize,
    /// Calls of `GetRecognition("recognitions/flaky")`.
    pub flaky_reads: AtomicUsize,
    /// Calls of `CreateRecognition` for `agents/flaky`.
    pub flaky_writes: AtomicUsize,
    /// Slow calls in progress.
    pub in_flight: AtomicUsize,
    recognitions: Mutex<Vec<Recognition>>,
}

/// A real `PerformanceService`: recognitions in memory, awarded by the verified principal.
/// `agents/slow-<ms>` performance takes that long; `agents/deadline` answers with the
/// `grpc-timeout` the service received as the agent, `agents/traceparent` with its
/// `traceparent`; `recognitions/flaky` is UNAVAILABLE twice
/// then found; creating a recognition for `agents/flaky` is always UNAVAILABLE.
struct Performance {
    principals: PrincipalVerifier,
    seen: Arc<Seen>,
}

impl Performance {
    fn verify<T>(&self, request: &Request<T>) -> Result<Principal, Status> {
        self.seen.calls.fetch_add(1, Ordering::SeqCst);
        self.principals.verify(request.metadata(), "workforce")
    }
}

#[tonic::async_trait]
impl PerformanceService for Performance {
    async fn get_agent_performance(
        &self,
        request: Request<GetAgentPerformanceRequest>,
    ) -> Result<Response<GetAgentPerformanceResponse>, Status> {
        self.verify(&request)?;
        let deadline = request
            .metadata()
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none")
            .to_owned();
        let traceparent = request
            .metadata()
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none")
            .to_owned();
        let agent = request.into_inner().agent;
        if agent == "agents/traceparent" {
            return Ok(Response::new(GetAgentPerformanceResponse {
                agent: traceparent,
                ..Default::default()
            }));
        }
        if agent == "agents/deadline" {
            return Ok(Response::new(GetAgentPerformanceResponse {
                agent: deadline,
                ..Default::default()
            }));
        }
        if let Some(ms) = agent.strip_prefix("agents/slow-") {
            let ms: u64 = ms.parse().map_err(|_| Status::invalid_argument("agent"))?;
            self.seen.in_flight.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            self.seen.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
        Ok(Response::new(GetAgentPerformanceResponse {
            agent,
            ..Default::default()
        }))
    }

    async fn get_team_performance(
        &self,
        request: Request<GetTeamPerformanceRequest>,
    ) -> Result<Response<GetTeamPerformanceResponse>, Status> {
        self.verify(&request)?;
        Ok(Response::new(GetTeamPerformanceResponse {
            team: request.into_inner().team,
            ..Default::default()
        }))
    }

    async fn list_scorecards(
        &self,
        request: Request<ListScorecardsRequest>,
    ) -> Result<Response<ListScorecardsResponse>, Status> {
        self.verify(&request)?;
        Ok(Response::new(ListScorecardsResponse::default()))
    }

    async fn create_recognition(
        &self,
        request: Request<CreateRecognitionRequest>,
    ) -> Result<Response<CreateRecognitionResponse>, Status> {
        let principal = self.verify(&request)?;
        let mut recognition = request.into_inner().recognition.unwrap_or_default();
        let mut violations = FieldViolations::new();
        if recognition.agent.is_empty() {
            violations.add("recognition.agent", "required");
        }
        if recognition.reason.trim().is_empty() {
            violations.add("recognition.reason", "required");
        }
        violations.finish()?;
        if recognition.agent == "agents/flaky" {
            self.seen.flaky_writes.fetch_add(1, Ordering::SeqCst);
            return Err(Status::unavailable("try again"));
        }
        let mut recognitions = self.seen.recognitions.lock().await;
        recognition.name = format!("recognitions/{}", recognitions.len() + 1);
        recognition.awarded_by = Some(Actor {
            r#type: 0,
            id: principal.subject.clone(),
            display_name: principal
                .roles
                .iter()
                .map(|role| role.as_str())
                .collect::<Vec<_>>()
                .join(","),
        });
        recognition.create_time = Some(prost_types::Timestamp {
            seconds: 1_760_000_000,
            nanos: 0,
        });
        recognitions.push(recognition.clone());
        Ok(Response::new(CreateRecognitionResponse {
            recognition: Some(recognition),
        }))
    }

    async fn get_recognition(
        &self,
        request: Request<GetRecognitionRequest>,
    ) -> Result<Response<GetRecognitionResponse>, Status> {
        self.verify(&request)?;
        let name = request.into_inner().name;
        if name == "recognitions/flaky" {
            if self.seen.flaky_reads.fetch_add(1, Ordering::SeqCst) < 2 {
                return Err(Status::unavailable("warming up"));
            }
            return Ok(Response::new(GetRecognitionResponse {
                recognition: Some(Recognition {
                    name,
                    ..Default::default()
                }),
            }));
        }
        let recognitions = self.seen.recognitions.lock().await;
        let recognition = recognitions
            .iter()
            .find(|r| r.name == name)
            .cloned()
            .ok_or_else(|| aftercare_platform::error::not_found("recognition", &name))?;
        Ok(Response::new(GetRecognitionResponse {
            recognition: Some(recognition),
        }))
    }

    async fn list_recognitions(
        &self,
        request: Request<ListRecognitionsRequest>,
    ) -> Result<Response<ListRecognitionsResponse>, Status> {
        self.verify(&request)?;
        let request = request.into_inner();
        let wanted = request
            .filter
            .strip_prefix("agent = ")
            .map(|v| v.trim_matches('"'));
        let size = usize::try_from(request.page_size).unwrap_or(0);
        let recognitions = self.seen.recognitions.lock().await;
        let recognitions = recognitions
            .iter()
            .filter(|r| wanted.is_none_or(|agent| r.agent == agent))
            .take(if size == 0 { 50 } else { size })
            .cloned()
            .collect();
        Ok(Response::new(ListRecognitionsResponse {
            recognitions,
            next_page_token: String::new(),
        }))
    }
}

/// The gateway in front of a real backend.
pub struct Harness {
    pub config: Arc<Config>,
    pub seen: Arc<Seen>,
    pub principals: PrincipalVerifier,
    pub backend_addr: std::net::SocketAddr,
    pub addr: std::net::SocketAddr,
    pub dir: tempfile::TempDir,
    backend: Option<TestServer>,
    shutdown: CancellationToken,
    running: Option<RunningGateway>,
}

impl Harness {
    /// The gateway with the test defaults.
    pub async fn start() -> Self {
        Self::with(|_| {}).await
    }

    /// The gateway with the test defaults changed by `customize`.
    pub async fn with(customize: impl FnOnce(&mut Config)) -> Self {
        Self::with_verifier(PrincipalVerifier::random(), customize).await
    }

    /// The gateway signing principals with `principals` (those of services started
    /// elsewhere), with the test defaults changed by `customize`.
    pub async fn with_verifier(
        principals: PrincipalVerifier,
        customize: impl FnOnce(&mut Config),
    ) -> Self {
        let seen = Arc::new(Seen::default());
        let server =
            GrpcServer::new("workforce").add_service(PerformanceServiceServer::new(Performance {
                principals: principals.clone(),
                seen: seen.clone(),
            }));
        let backend = TestServer::start(server, &ServerConfig::default()).await;
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(dir.path().join("jwks.json"), JWKS).expect("write the jwks");
        write_keys(
            &dir.path().join("keys.json"),
            &[("erp", ERP_KEY, &["performance.*"], None)],
        );
        let closed = closed_port().await;

        let mut config = Config::default();
        config.gateway.jwt_secret = Some(Secret::new(SECRET));
        config.gateway.jwks_file = Some(dir.path().join("jwks.json"));
        config.gateway.api_keys_file = Some(dir.path().join("keys.json"));
        config.gateway.reload_interval = Duration::from_millis(50);
        config.gateway.health_interval = Duration::from_millis(100);
        config.gateway.connect_timeout = Duration::from_millis(500);
        for (name, _) in config.services.clone().all() {
            let endpoint = if name == "workforce" {
                format!("http://{}", backend.addr())
            } else {
                format!("http://127.0.0.1:{closed}")
            };
            if let Some(service) = services_mut(&mut config, name) {
                service.endpoint = Some(endpoint);
            }
        }
        customize(&mut config);
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let shutdown = CancellationToken::new();
        let running = Gateway::start(
            config.clone(),
            principals.clone(),
            listener,
            shutdown.clone(),
        )
        .await
        .expect("the gateway starts");
        Self {
            config,
            seen,
            principals,
            backend_addr: backend.addr(),
            addr: running.local_addr(),
            dir,
            backend: Some(backend),
            shutdown,
            running: Some(running),
        }
    }

    /// A development token for `subject` with `roles`.
    pub fn token(&self, subject: &str, roles: &[Role]) -> String {
        mint_dev_token(
            &self.config.gateway,
            subject,
            roles,
            Some("eu-west"),
            None,
            Duration::from_secs(600),
        )
        .expect("mint a token")
    }

    /// A channel to the gateway.
    pub async fn channel(&self) -> Channel {
        Endpoint::from_shared(format!("http://{}", self.addr))
            .expect("an endpoint")
            .connect()
            .await
            .expect("connect to the gateway")
    }

    /// A performance client through the gateway.
    pub async fn client(&self) -> PerformanceServiceClient<Channel> {
        PerformanceServiceClient::new(self.channel().await)
    }

    /// Where the API keys file is.
    pub fn keys_path(&self) -> std::path::PathBuf {
        self.dir.path().join("keys.json")
    }

    /// Replaces the API keys file.
    pub fn write_keys(&self, keys: &[(&str, &str, &[&str], Option<&str>)]) {
        write_keys(&self.dir.path().join("keys.json"), keys);
    }

    /// The gateway's base URL for HTTP/1.1 clients.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops the gateway and the backend.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(running) = self.running.take() {
            running.stopped().await;
        }
        if let Some(backend) = self.backend.take() {
            backend.stop().await;
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn services_mut<'a>(
    config: &'a mut Config,
    name: &str,
) -> Option<&'a mut aftercare_platform::config::ServiceConfig> {
    let services = &mut config.services;
    match name {
        "tickets" => Some(&mut services.tickets),
        "customers" => Some(&mut services.customers),
        "workforce" => Some(&mut services.workforce),
        "feedback" => Some(&mut services.feedback),
        "knowledge" => Some(&mut services.knowledge),
        _ => None,
    }
}

/// A port nothing listens on.
pub async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("an address").port()
}

/// Writes a keys file: `(id, key, scopes, expires)`; the file holds only the hashes. Its
/// modification time is moved forward so a rewrite within one clock tick is noticed.
pub fn write_keys(path: &std::path::Path, keys: &[(&str, &str, &[&str], Option<&str>)]) {
    let keys: Vec<serde_json::Value> = keys
        .iter()
        .map(|(id, key, scopes, expires)| {
            serde_json::json!({
                "id": id,
                "sha256": hash_api_key(key),
                "scopes": scopes,
                "expires": expires,
            })
        })
        .collect();
    let previous = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    std::fs::write(path, serde_json::json!({ "keys": keys }).to_string()).expect("write keys");
    if let Some(previous) = previous {
        let file = std::fs::File::options()
            .write(true)
            .open(path)
            .expect("open");
        file.set_modified(previous + Duration::from_secs(1))
            .expect("set the modification time");
    }
}

/// `message` with a bearer token.
pub fn bearer<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("a header value"),
    );
    request
}

/// `message` with an API key.
pub fn api_key<T>(message: T, key: &str) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("x-api-key", key.parse().expect("a header value"));
    request
}

/// A valid recognition to create.
pub fn recognition(agent: &str) -> CreateRecognitionRequest {
    CreateRecognitionRequest {
        recognition: Some(Recognition {
            agent: agent.to_owned(),
            badge: RecognitionBadge::Mentor as i32,
            reason: "stayed late to help a customer".to_owned(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

//! The same unary call, direct to a service and through the gateway, in one run: throughput
//! and latency percentiles of each, and their ratio.
//!
//! `cargo bench -p aftercare-gateway` (`BENCH_CALLS`, default 20000, and `BENCH_CONCURRENCY`,
//! default 32, change the load). The service is a real gRPC server (the platform's, with its
//! tracing, metrics and limits) verifying the signed principal as every service does; direct
//! calls carry a principal signed like the gateway's, so the service does the same work.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aftercare_gateway::{Gateway, mint_dev_token};
use aftercare_platform::auth::{Principal, PrincipalVerifier, Role};
use aftercare_platform::config::{Config, Secret, ServerConfig};
use aftercare_platform::server::GrpcServer;
use aftercare_platform::testing::TestServer;
use aftercare_proto::aftercare::workforce::v1::performance_service_client::PerformanceServiceClient;
use aftercare_proto::aftercare::workforce::v1::performance_service_server::{
    PerformanceService, PerformanceServiceServer,
};
use aftercare_proto::aftercare::workforce::v1::*;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Response, Status};

struct Performance {
    principals: PrincipalVerifier,
}

#[tonic::async_trait]
impl PerformanceService for Performance {
    async fn get_agent_performance(
        &self,
        request: Request<GetAgentPerformanceRequest>,
    ) -> Result<Response<GetAgentPerformanceResponse>, Status> {
        self.principals.verify(request.metadata(), "workforce")?;
        Err(Status::unimplemented("not measured"))
    }

    async fn get_team_performance(
        &self,
        request: Request<GetTeamPerformanceRequest>,
    ) -> Result<Response<GetTeamPerformanceResponse>, Status> {
        self.principals.verify(request.metadata(), "workforce")?;
        Err(Status::unimplemented("not measured"))
    }

    async fn list_scorecards(
        &self,
        request: Request<ListScorecardsRequest>,
    ) -> Result<Response<ListScorecardsResponse>, Status> {
        self.principals.verify(request.metadata(), "workforce")?;
        Err(Status::unimplemented("not measured"))
    }

    async fn create_recognition(
        &self,
        request: Request<CreateRecognitionRequest>,
    ) -> Result<Response<CreateRecognitionResponse>, Status> {
        self.principals.verify(request.metadata(), "workforce")?;
        Err(Status::unimplemented("not measured"))
    }

    async fn get_recognition(
        &self,
        request: Request<GetRecognitionRequest>,
    ) -> Result<Response<GetRecognitionResponse>, Status> {
        let principal = self.principals.verify(request.metadata(), "workforce")?;
        Ok(Response::new(GetRecognitionResponse {
            recognition: Some(Recognition {
                name: request.into_inner().name,
                agent: "agents/a1".into(),
                badge: RecognitionBadge::Mentor as i32,
                reason: "stayed late to help a customer with a broken washing machine".into(),
                awarded_by: Some(aftercare_proto::aftercare::common::v1::Actor {
                    r#type: 0,
                    id: principal.subject,
                    display_name: "Lead".into(),
                }),
                ..Default::default()
            }),
        }))
    }

    async fn list_recognitions(
        &self,
        request: Request<ListRecognitionsRequest>,
    ) -> Result<Response<ListRecognitionsResponse>, Status> {
        self.principals.verify(request.metadata(), "workforce")?;
        Err(Status::unimplemented("not measured"))
    }
}

/// Latencies of one run, sorted, and how long it took.
struct Run {
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Run {
    fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[index]
    }

    fn print(&self, label: &str) {
        println!(
            "{label:<22} {:>9.0} calls/s   p50 {:>7.0} µs   p90 {:>7.0} µs   p99 {:>7.0} µs   max {:>7.0} µs",
            self.throughput(),
            self.percentile(0.50).as_micros() as f64,
            self.percentile(0.90).as_micros() as f64,
            self.percentile(0.99).as_micros() as f64,
            self.latencies
                .last()
                .copied()
                .unwrap_or_default()
                .as_micros() as f64,
        );
    }
}

/// `calls` calls of `make`'s requests over `channel`, `concurrency` at a time.
async fn run(
    channel: Channel,
    calls: usize,
    concurrency: usize,
    make: Arc<dyn Fn() -> Request<GetRecognitionRequest> + Send + Sync>,
) -> Run {
    let started = Instant::now();
    let per_worker = calls / concurrency;
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let mut client = PerformanceServiceClient::new(channel.clone());
        let make = make.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_worker);
            for _ in 0..per_worker {
                let request = make();
                let at = Instant::now();
                client
                    .get_recognition(request)
                    .await
                    .expect("the call succeeds");
                latencies.push(at.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::with_capacity(calls);
    for worker in workers {
        latencies.extend(worker.await.expect("a worker"));
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Run { latencies, elapsed }
}

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(bench());
}

async fn bench() {
    let calls = setting("BENCH_CALLS", 20_000);
    let concurrency = setting("BENCH_CONCURRENCY", 32);
    let principals = PrincipalVerifier::random();
    let server =
        GrpcServer::new("workforce").add_service(PerformanceServiceServer::new(Performance {
            principals: principals.clone(),
        }));
    let server_config = ServerConfig {
        concurrency_limit: 100_000,
        ..ServerConfig::default()
    };
    let backend = TestServer::start(server, &server_config).await;

    let mut config = Config::default();
    config.gateway.jwt_secret = Some(Secret::new("benchmark-secret-0123456789abcdef"));
    config.gateway.rate_limit_per_second = 1_000_000;
    config.gateway.rate_limit_burst = 1_000_000;
    config.gateway.concurrency_limit = 100_000;
    config.services.workforce.endpoint = Some(format!("http://{}", backend.addr()));
    let config = Arc::new(config);
    let shutdown = CancellationToken::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let gateway = Gateway::start(
        config.clone(),
        principals.clone(),
        listener,
        shutdown.clone(),
    )
    .await
    .expect("the gateway starts");
    let through = Endpoint::from_shared(format!("http://{}", gateway.local_addr()))
        .unwrap()
        .connect()
        .await
        .expect("connect to the gateway");
    let direct = backend.channel();

    let token = mint_dev_token(
        &config.gateway,
        "agents/lead-1",
        &[Role::Lead],
        Some("eu-west"),
        None,
        Duration::from_secs(3600),
    )
    .expect("a token");
    let principal = Principal {
        subject: "agents/lead-1".into(),
        roles: vec![Role::Lead],
        region: Some("eu-west".into()),
        customer: None,
        scopes: vec![],
        display_name: None,
        via: None,
    };
    let message = || GetRecognitionRequest {
        name: "recognitions/0192f0c4-0000-7000-8000-000000000001".into(),
    };
    let signed: Arc<dyn Fn() -> Request<GetRecognitionRequest> + Send + Sync> = {
        let principals = principals.clone();
        Arc::new(move || {
            let mut request = Request::new(message());
            principals.attach(&principal, "workforce", request.metadata_mut());
            request
        })
    };
    let bearer: Arc<dyn Fn() -> Request<GetRecognitionRequest> + Send + Sync> =
        Arc::new(move || {
            let mut request = Request::new(message());
            request.metadata_mut().insert(
                "authorization",
                format!("Bearer {token}").parse().expect("a header"),
            );
            request
        });

    // Warm up both paths (connections, pools, caches).
    run(direct.clone(), 1000, concurrency, signed.clone()).await;
    run(through.clone(), 1000, concurrency, bearer.clone()).await;

    println!(
        "GetRecognition unary calls, client, gateway and service in one process on {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    for (calls, concurrency) in [(calls, concurrency), (calls / 10, 1)] {
        let direct_run = run(direct.clone(), calls, concurrency, signed.clone()).await;
        let gateway_run = run(through.clone(), calls, concurrency, bearer.clone()).await;
        println!("{calls} calls, {concurrency} at a time:");
        direct_run.print("direct to the service");
        gateway_run.print("through the gateway");
        println!(
            "{:<22} throughput {:.2}×   p50 {:.2}×   p99 {:.2}×   (p50 +{} µs)",
            "ratio gateway/direct",
            gateway_run.throughput() / direct_run.throughput(),
            gateway_run.percentile(0.50).as_secs_f64() / direct_run.percentile(0.50).as_secs_f64(),
            gateway_run.percentile(0.99).as_secs_f64() / direct_run.percentile(0.99).as_secs_f64(),
            gateway_run
                .percentile(0.50)
                .saturating_sub(direct_run.percentile(0.50))
                .as_micros(),
        );
    }
    shutdown.cancel();
    gateway.stopped().await;
    backend.stop().await;
}

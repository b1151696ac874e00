//! The gRPC server every service runs on: the standard health service (a service reports
//! `SERVING` only once it is listening, which is after its database is migrated), reflection
//! over every Aftercare contract, trace context and metrics per call, request ids, deadlines,
//! a global concurrency limit that sheds load instead of queueing, and graceful shutdown.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt as _;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tower::Service;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crate::config::ServerConfig;
use crate::local::LocalListener;
use crate::telemetry::GrpcServerLayer;

/// The header that carries a request id; set when the client sends none, echoed back.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// A gRPC server being assembled: the services it will serve.
pub struct GrpcServer {
    name: String,
    routes: RoutesBuilder,
    service_names: Vec<&'static str>,
    database: Option<crate::db::Database>,
    local: Option<LocalListener>,
}

/// How often a server checks that its database answers, for its health status.
pub const DATABASE_CHECK_EVERY: Duration = Duration::from_secs(1);

impl GrpcServer {
    /// A server for the service called `name` (used in logs).
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            routes: RoutesBuilder::default(),
            service_names: Vec::new(),
            database: None,
            local: None,
        }
    }

    /// Also serves the in-memory connections made to `listener` (the services of one
    /// process calling each other), through the same layers as the TCP ones.
    pub fn serve_local(mut self, listener: LocalListener) -> Self {
        self.local = Some(listener);
        self
    }

    /// Reports `NOT_SERVING` while `database` does not answer (checked every
    /// [`DATABASE_CHECK_EVERY`]) and `SERVING` again once it does.
    pub fn watch_database(mut self, database: crate::db::Database) -> Self {
        self.database = Some(database);
        self
    }

    /// Adds a generated tonic service; its health is reported under its full name.
    pub fn add_service<S>(mut self, service: S) -> Self
    where
        S: Service<http::Request<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.routes.add_service(service);
        self.service_names.push(S::NAME);
        self
    }

    /// Binds `addr` and serves until `shutdown` is cancelled.
    pub async fn bind(
        self,
        addr: SocketAddr,
        config: &ServerConfig,
        shutdown: CancellationToken,
    ) -> std::io::Result<RunningServer> {
        let listener = TcpListener::bind(addr).await?;
        Ok(self.serve(listener, config, shutdown).await)
    }

    /// Serves on an already bound listener until `shutdown` is cancelled. When this returns,
    /// the server accepts calls and health reports `SERVING` for every added service.
    pub async fn serve(
        mut self,
        listener: TcpListener,
        config: &ServerConfig,
        shutdown: CancellationToken,
    ) -> RunningServer {
        let local_addr = listener
            .local_addr()
            .expect("a bound listener has a local address");
        let (health, health_service) = tonic_health::server::health_reporter();
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(aftercare_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        let reflection_v1 = reflection()
            .build_v1()
            .expect("the embedded descriptor sets are valid");
        let reflection_v1alpha = reflection()
            .build_v1alpha()
            .expect("the embedded descriptor sets are valid");
        self.routes
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha);
        let routes = self.routes.routes();

        let layers = tower::ServiceBuilder::new()
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(GrpcServerLayer::new())
            .load_shed()
            .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
                config.concurrency_limit,
            ))
            .into_inner();

        let router = Server::builder()
            .timeout(config.request_timeout)
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .layer(layers)
            .add_routes(routes);

        for name in &self.service_names {
            health
                .set_service_status(*name, ServingStatus::Serving)
                .await;
        }
        health.set_service_status("", ServingStatus::Serving).await;

        let name = self.name;
        tracing::info!(server = %name, addr = %local_addr, "serving");
        let names = self.service_names;
        if let Some(database) = self.database {
            tokio::spawn(watch_database(
                database,
                health.clone(),
                names.clone(),
                shutdown.clone(),
            ));
        }
        let grace = config.shutdown_grace;
        let stop = shutdown.clone();
        let connections = Arc::new(ConnectionCounters::default());
        let local = self.local.map(|local| {
            let counters = connections.clone();
            let incoming = local.incoming().inspect(move |_| {
                counters.local.fetch_add(1, Ordering::Relaxed);
            });
            let router = router.clone();
            let stop = shutdown.clone();
            async move {
                router
                    .serve_with_incoming_shutdown(incoming, stop.cancelled_owned())
                    .await
            }
        });
        let counters = connections.clone();
        let handle = tokio::spawn(async move {
            // Without TCP_NODELAY, Nagle's algorithm and the client's delayed ACK add ~40 ms
            // to every call.
            let incoming = TcpIncoming::from(listener)
                .with_nodelay(Some(true))
                .inspect(move |_| {
                    counters.tcp.fetch_add(1, Ordering::Relaxed);
                });
            let signal = {
                let health = health.clone();
                let names = names.clone();
                async move {
                    stop.cancelled().await;
                    for name in names {
                        health
                            .set_service_status(name, ServingStatus::NotServing)
                            .await;
                    }
                    health
                        .set_service_status("", ServingStatus::NotServing)
                        .await;
                }
            };
            let tcp = router.serve_with_incoming_shutdown(incoming, signal);
            let serve = async move {
                match local {
                    Some(local) => {
                        let (tcp, local) = tokio::join!(tcp, local);
                        tcp.and(local)
                    }
                    None => tcp.await,
                }
            };
            tokio::pin!(serve);
            let result = tokio::select! {
                result = &mut serve => result,
                () = after_cancel(&shutdown, grace) => {
                    tracing::warn!(server = %name, grace = ?grace, "calls still in flight after the grace period; closing");
                    Ok(())
                }
            };
            match &result {
                Ok(()) => tracing::info!(server = %name, "server stopped"),
                Err(err) => tracing::error!(server = %name, error = %err, "server failed"),
            }
            result
        });

        RunningServer {
            local_addr,
            handle,
            connections,
        }
    }
}

/// Keeps the health of `names` in step with whether `database` answers, until `shutdown`.
async fn watch_database(
    database: crate::db::Database,
    health: tonic_health::server::HealthReporter,
    names: Vec<&'static str>,
    shutdown: CancellationToken,
) {
    let mut serving = true;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(DATABASE_CHECK_EVERY) => {}
        }
        let answers = tokio::time::timeout(DATABASE_CHECK_EVERY, database.ping())
            .await
            .is_ok_and(|result| result.is_ok());
        if answers == serving || shutdown.is_cancelled() {
            continue;
        }
        serving = answers;
        let status = if serving {
            tracing::info!("database answers again: serving");
            ServingStatus::Serving
        } else {
            tracing::warn!("database does not answer: not serving");
            ServingStatus::NotServing
        };
        for name in &names {
            health.set_service_status(*name, status).await;
        }
        health.set_service_status("", status).await;
    }
}

async fn after_cancel(token: &CancellationToken, grace: Duration) {
    token.cancelled().await;
    tokio::time::sleep(grace).await;
}

/// How many connections a server has accepted, by kind.
#[derive(Debug, Default)]
struct ConnectionCounters {
    tcp: AtomicU64,
    local: AtomicU64,
}

/// How many connections a server has accepted since it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connections {
    /// Over TCP (its port).
    pub tcp: u64,
    /// In memory, from the other services of its process ([`GrpcServer::serve_local`]).
    pub local: u64,
}

/// A server that is accepting calls.
#[derive(Debug)]
pub struct RunningServer {
    local_addr: SocketAddr,
    handle: JoinHandle<Result<(), tonic::transport::Error>>,
    connections: Arc<ConnectionCounters>,
}

impl RunningServer {
    /// The address it listens on (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The connections it has accepted so far.
    pub fn connections(&self) -> Connections {
        Connections {
            tcp: self.connections.tcp.load(Ordering::Relaxed),
            local: self.connections.local.load(Ordering::Relaxed),
        }
    }

    /// Waits until the server has stopped (after its shutdown token was cancelled).
    pub async fn stopped(self) -> Result<(), tonic::transport::Error> {
        match self.handle.await {
            Ok(result) => result,
            Err(join) => {
                tracing::error!(error = %join, "server task panicked");
                Ok(())
            }
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C (SIGINT).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for sigterm");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("ctrl-c received, shutting down"),
        () = terminate => tracing::info!("sigterm received, shutting down"),
    }
}

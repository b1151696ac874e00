//! The gateway's server: one port, HTTP/1.1 and HTTP/2, three protocols told apart by
//! content type (`application/grpc`, `application/grpc-web*`, anything else is REST), a
//! concurrency limit that sheds load, request ids and access logs, graceful shutdown.

use aftercare_platform::server::REQUEST_ID_HEADER;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use aftercare_platform::auth::PrincipalVerifier;
use aftercare_platform::config::Config;
use aftercare_platform::local::LocalNetwork;
use http::HeaderValue;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use prost_reflect::DescriptorPool;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::Status;
use tonic::body::Body;
use tonic_web::{GrpcWebLayer, GrpcWebService};
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShed;
use tower::load_shed::error::Overloaded;
use tower::util::BoxCloneSyncService;
use tower::{Layer as _, Service, ServiceBuilder, ServiceExt as _};

use crate::auth::Authenticator;
use crate::cors::Cors;
use crate::error::status_response;
use crate::forward::Forwarder;
use crate::grpc::{GrpcPipeline, Peer, Pipeline};
use crate::health::local_services;
use crate::limits::RateLimits;
use crate::observe::Protocol;
use crate::policy::Policy;
use crate::rest::{Rest, json_error};

/// The gRPC pipeline, as every protocol calls it.
pub type GrpcService = BoxCloneSyncService<http::Request<Body>, http::Response<Body>, Infallible>;

/// The gateway.
pub struct Gateway;

impl Gateway {
    /// Validates the gateway's configuration, then serves on `listener` until `shutdown` is
    /// cancelled. Principals are signed with `principals` (the services' verifier).
    pub async fn start(
        config: Arc<Config>,
        principals: PrincipalVerifier,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> anyhow::Result<RunningGateway> {
        Self::start_in_process(config, principals, listener, LocalNetwork::new(), shutdown).await
    }

    /// Like [`Gateway::start`], reaching the services of `local` (those running in this
    /// process, `aftercare up`) in memory rather than over loopback TCP; clients still reach
    /// the gateway itself on `listener`.
    pub async fn start_in_process(
        config: Arc<Config>,
        principals: PrincipalVerifier,
        listener: TcpListener,
        local: LocalNetwork,
        shutdown: CancellationToken,
    ) -> anyhow::Result<RunningGateway> {
        let gateway = &config.gateway;
        if gateway.concurrency_limit == 0 {
            anyhow::bail!("gateway.concurrency_limit: must be at least 1");
        }
        if gateway.max_request_bytes < 1024 {
            anyhow::bail!("gateway.max_request_bytes: must be at least 1024");
        }
        if gateway.request_timeout.is_zero() {
            anyhow::bail!("gateway.request_timeout: must be more than zero");
        }
        let pool = DescriptorPool::decode(crate::DESCRIPTOR_SET)?;
        let pipeline = Pipeline {
            auth: Authenticator::new(gateway, &shutdown)?,
            policy: Policy::new(&gateway.policy).map_err(|err| anyhow::anyhow!(err))?,
            limits: RateLimits::new(
                gateway.rate_limit_per_second,
                gateway.rate_limit_burst,
                &shutdown,
            )?,
            forwarder: Forwarder::new(&config, &local, &shutdown)?,
            principals,
            local: local_services(&config, &pool, &local, &shutdown)?,
            config: gateway.clone(),
        };
        let grpc: GrpcService = BoxCloneSyncService::new(GrpcPipeline::new(pipeline));
        let dispatch = Dispatch {
            web: GrpcWebLayer::new().layer(grpc.clone()),
            rest: Rest::new(&pool, grpc.clone(), gateway.max_request_bytes)?,
            grpc,
        };
        let entry = Entry {
            peer: None,
            cors: Arc::new(Cors::new(&gateway.cors_allowed_origins)),
            inner: ServiceBuilder::new()
                .load_shed()
                .layer(GlobalConcurrencyLimitLayer::new(gateway.concurrency_limit))
                .service(dispatch),
        };
        let local_addr = listener.local_addr()?;
        tracing::info!(addr = %local_addr, "gateway serving");
        let grace = config.server.shutdown_grace;
        let handle = tokio::spawn(serve(listener, entry, shutdown, grace));
        Ok(RunningGateway { local_addr, handle })
    }
}

/// A gateway that is accepting calls.
#[derive(Debug)]
pub struct RunningGateway {
    local_addr: SocketAddr,
    handle: JoinHandle<()>,
}

impl RunningGateway {
    /// The address it listens on (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Waits until it has stopped: its shutdown token was cancelled and in-flight calls have
    /// finished (or `server.shutdown_grace` passed).
    pub async fn stopped(self) {
        if let Err(err) = self.handle.await {
            tracing::error!(error = %err, "gateway task panicked");
        }
    }
}

async fn serve(listener: TcpListener, entry: Entry, shutdown: CancellationToken, grace: Duration) {
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(Entry {
            peer: Some(Peer(peer.ip())),
            ..entry.clone()
        });
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
        let connection = graceful.watch(connection.into_owned());
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(peer = %peer, error = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("gateway stopped"),
        () = tokio::time::sleep(grace) => {
            tracing::warn!(grace = ?grace, "calls still in flight after the grace period; closing");
        }
    }
}

type BoxFuture<E> = Pin<Box<dyn Future<Output = Result<http::Response<Body>, E>> + Send>>;

/// Sends each request to its protocol's handler.
#[derive(Clone)]
struct Dispatch {
    grpc: GrpcService,
    web: GrpcWebService<GrpcService>,
    rest: Rest,
}

impl Service<http::Request<Body>> for Dispatch {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Infallible>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        match Protocol::of(request.headers()) {
            Protocol::Grpc => Box::pin(self.grpc.clone().oneshot(request)),
            Protocol::GrpcWeb => Box::pin(self.web.clone().oneshot(request)),
            Protocol::Rest => Box::pin(self.rest.clone().oneshot(request)),
        }
    }
}

/// The outermost service: request ids, load shedding, access logs.
#[derive(Clone)]
struct Entry {
    /// The client's address, for rate-limiting calls without credentials.
    peer: Option<Peer>,
    cors: Arc<Cors>,
    inner: LoadShed<tower::limit::ConcurrencyLimit<Dispatch>>,
}

impl Service<http::Request<Incoming>> for Entry {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Infallible>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Incoming>) -> Self::Future {
        let started = Instant::now();
        let protocol = Protocol::of(request.headers());
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(protocol);
        if let Some(peer) = self.peer {
            request.extensions_mut().insert(peer);
        }
        let request_id = match request.headers().get(REQUEST_ID_HEADER) {
            Some(id) => id.clone(),
            None => {
                let id = HeaderValue::from_str(&uuid::Uuid::now_v7().to_string())
                    .expect("a uuid is a valid header value");
                request.headers_mut().insert(REQUEST_ID_HEADER, id.clone());
                id
            }
        };
        let origin = self.cors.allowed_origin(request.headers());
        if let Some(preflight) = self.cors.preflight(request.method(), request.headers()) {
            return Box::pin(std::future::ready(Ok(preflight)));
        }
        let inner = self.inner.clone();
        let cors = self.cors.clone();
        Box::pin(async move {
            let mut response = match inner.oneshot(request).await {
                Ok(response) => response,
                Err(err) => {
                    let status = if err.is::<Overloaded>() {
                        Status::unavailable("the gateway is overloaded; retry shortly")
                    } else {
                        tracing::error!(error = %err, "the gateway failed");
                        Status::internal("the gateway failed")
                    };
                    match protocol {
                        Protocol::Rest => json_error(&status),
                        Protocol::Grpc | Protocol::GrpcWeb => status_response(status),
                    }
                }
            };
            response
                .headers_mut()
                .insert(REQUEST_ID_HEADER, request_id.clone());
            cors.decorate(origin, &mut response);
            let grpc_status = response
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            tracing::info!(
                target: "access",
                protocol = protocol.as_str(),
                method = %method,
                path = %path,
                status = response.status().as_u16(),
                grpc_status,
                elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
                request_id = request_id.to_str().unwrap_or(""),
                "request"
            );
            Ok(response)
        })
    }
}

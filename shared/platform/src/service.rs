//! How a service is started, the same way in every process: open and migrate its database,
//! start its outbox relay, let the service build its gRPC server and background tasks, then
//! serve. `aftercare up` does this for every service in one process on one in-process bus;
//! `aftercare serve <name>` does it for one service on NATS JetStream.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::Endpoint;

use crate::auth::PrincipalVerifier;
use crate::config::{BusKind, Config};
use crate::db::{Database, Migrations};
use crate::events::{EventBus, InProcessBus, JetStreamBus, Relay, RelayWaker};
use crate::local::{LocalListener, LocalNetwork};
use crate::server::{Connections, GrpcServer, RunningServer};
use crate::telemetry::{TracedChannel, traced};

/// What the platform hands a service when it starts.
#[derive(Debug, Clone)]
pub struct ServiceContext {
    /// The service's name (`tickets`).
    pub name: &'static str,
    /// The whole configuration.
    pub config: Arc<Config>,
    /// The service's own, migrated database.
    pub db: Database,
    /// The event bus, to subscribe consumers.
    pub bus: Arc<dyn EventBus>,
    /// Wakes the service's outbox relay; call it after committing events.
    pub relay: RelayWaker,
    /// Verifies the principal the gateway passes with each call, and signs the service's own
    /// principal on calls to other services.
    pub principals: PrincipalVerifier,
    /// Cancelled when the process shuts down; background tasks stop on it.
    pub shutdown: CancellationToken,
    /// The servers of this process (`aftercare up`), reached in memory; `None` when the
    /// service runs alone.
    pub local: Option<LocalNetwork>,
}

impl ServiceContext {
    /// A channel to another service (by name), connected lazily, with trace context
    /// propagation. `None` for an unknown service name.
    ///
    /// When the service runs in this process (`aftercare up`), the channel connects in
    /// memory ([`crate::local`]): the same HTTP/2, deadlines, signed principal, tracing and
    /// metrics, without the loopback TCP stack.
    pub fn channel_to(&self, service: &str) -> Option<TracedChannel> {
        let endpoint_url = self.config.services.get(service)?.endpoint();
        let endpoint = Endpoint::from_shared(endpoint_url.clone())
            .ok()?
            .connect_timeout(std::time::Duration::from_secs(2))
            .timeout(self.config.server.request_timeout);
        let channel = match &self.local {
            Some(local) if local.serves_uri(&endpoint_url) => {
                endpoint.connect_with_connector_lazy(local.connector())
            }
            _ => endpoint.connect_lazy(),
        };
        Some(traced(channel))
    }
}

/// A service the platform can run.
#[async_trait]
pub trait ServiceDefinition: Send + Sync {
    /// Its name, as in configuration (`tickets`).
    fn name(&self) -> &'static str;

    /// Its embedded migrations.
    fn migrations(&self) -> Migrations;

    /// Builds its gRPC server and starts its background tasks (event consumers, sweeps), which
    /// must stop when `ctx.shutdown` is cancelled.
    async fn build(&self, ctx: ServiceContext) -> anyhow::Result<GrpcServer>;
}

/// A service that is serving.
#[derive(Debug)]
pub struct RunningService {
    name: &'static str,
    server: RunningServer,
    relay: JoinHandle<()>,
    db: Database,
}

impl RunningService {
    /// Its name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Where its gRPC server listens.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.server.local_addr()
    }

    /// The connections its server has accepted so far, over TCP and in memory.
    pub fn connections(&self) -> Connections {
        self.server.connections()
    }

    /// Its database.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// Waits until it has stopped (after the shutdown token was cancelled), then closes its
    /// database.
    pub async fn stopped(self) {
        if let Err(err) = self.server.stopped().await {
            tracing::error!(service = self.name, error = %err, "server stopped with an error");
        }
        let _ = self.relay.await;
        self.db.close().await;
    }
}

/// The bus the configuration asks for.
pub async fn bus_from_config(config: &Config) -> anyhow::Result<Arc<dyn EventBus>> {
    Ok(match config.events.bus {
        BusKind::InProcess => Arc::new(InProcessBus::new()),
        BusKind::Nats => Arc::new(JetStreamBus::from_config(&config.events).await?),
    })
}

/// Opens and migrates `definition`'s database as configured.
pub async fn open_database(
    definition: &dyn ServiceDefinition,
    config: &Config,
) -> anyhow::Result<Database> {
    let name = definition.name();
    let url = config
        .database_url(name)
        .ok_or_else(|| anyhow::anyhow!("no configuration for service `{name}`"))?;
    let db = Database::connect(
        url.expose(),
        definition.migrations(),
        config.database.pool_settings(),
    )
    .await?;
    Ok(db)
}

/// A service whose database is open and whose server and consumers are built, but which
/// does not serve or relay yet. `aftercare up` prepares every service before any of them
/// relays, so that on the in-process bus every consumer is subscribed before the first event
/// is published.
pub struct PreparedService {
    name: &'static str,
    config: Arc<Config>,
    db: Database,
    relay: Relay,
    server: GrpcServer,
    shutdown: CancellationToken,
}

impl PreparedService {
    /// Its name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Starts the relay and serves on `listener`, or on the configured address.
    pub async fn serve(self, listener: Option<TcpListener>) -> anyhow::Result<RunningService> {
        self.serve_with(listener, None).await
    }

    /// Like [`PreparedService::serve`], and also serves the in-memory connections made to
    /// `local` by the other services of this process.
    pub async fn serve_in_process(
        self,
        listener: TcpListener,
        local: LocalListener,
    ) -> anyhow::Result<RunningService> {
        self.serve_with(Some(listener), Some(local)).await
    }

    async fn serve_with(
        self,
        listener: Option<TcpListener>,
        local: Option<LocalListener>,
    ) -> anyhow::Result<RunningService> {
        let name = self.name;
        let listener = match listener {
            Some(listener) => listener,
            None => {
                let addr = self
                    .config
                    .services
                    .get(name)
                    .map(|service| service.listen)
                    .ok_or_else(|| anyhow::anyhow!("no configuration for service `{name}`"))?;
                TcpListener::bind(addr).await.map_err(|err| {
                    anyhow::anyhow!("service `{name}` cannot listen on {addr}: {err}")
                })?
            }
        };
        let relay = self.relay.spawn(self.shutdown.clone());
        let mut server = self.server.watch_database(self.db.clone());
        if let Some(local) = local {
            server = server.serve_local(local);
        }
        let server = server
            .serve(listener, &self.config.server, self.shutdown)
            .await;
        Ok(RunningService {
            name,
            server,
            relay,
            db: self.db,
        })
    }
}

/// Opens `definition`'s database and builds its server and background tasks. With `local`,
/// its calls to the services of this process go in memory.
pub async fn prepare(
    definition: &dyn ServiceDefinition,
    config: Arc<Config>,
    bus: Arc<dyn EventBus>,
    principals: PrincipalVerifier,
    shutdown: CancellationToken,
    local: Option<LocalNetwork>,
) -> anyhow::Result<PreparedService> {
    let name = definition.name();
    let db = open_database(definition, &config).await?;
    let relay = Relay::from_config(db.clone(), bus.clone(), &config.events).for_service(name);
    let ctx = ServiceContext {
        name,
        config: config.clone(),
        db: db.clone(),
        bus,
        relay: relay.waker(),
        principals,
        shutdown: shutdown.clone(),
        local,
    };
    let server = definition.build(ctx).await?;
    Ok(PreparedService {
        name,
        config,
        db,
        relay,
        server,
        shutdown,
    })
}

/// Prepares and serves `definition`: database, consumers, relay, server. With `listener` the
/// server uses it (tests bind port 0); otherwise it binds the configured address.
pub async fn start(
    definition: &dyn ServiceDefinition,
    config: Arc<Config>,
    bus: Arc<dyn EventBus>,
    principals: PrincipalVerifier,
    listener: Option<TcpListener>,
    shutdown: CancellationToken,
) -> anyhow::Result<RunningService> {
    prepare(definition, config, bus, principals, shutdown, None)
        .await?
        .serve(listener)
        .await
}

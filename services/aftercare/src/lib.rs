//! The Aftercare processes: every service in one process ([`Platform::start`], what
//! `aftercare up` runs) or one service ([`serve_one`], what a cluster runs), and migrations.

pub mod seed;

use std::net::SocketAddr;
use std::sync::Arc;

use aftercare_gateway::{Gateway, RunningGateway};
use aftercare_platform::auth::PrincipalVerifier;
use aftercare_platform::config::{Config, Secret};
use aftercare_platform::events::EventBus;
use aftercare_platform::local::{self, LocalNetwork};
use aftercare_platform::server::Connections;
use aftercare_platform::service::{self, RunningService, ServiceDefinition};
use anyhow::{Context as _, bail};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The name `aftercare serve` knows the gateway by.
pub const GATEWAY: &str = "gateway";

/// The file, under `data_dir`, holding the development JWT secret.
pub const DEV_JWT_SECRET_FILE: &str = "dev-jwt-secret";

/// Every service this binary runs, in start order.
pub fn services() -> Vec<Box<dyn ServiceDefinition>> {
    vec![
        Box::new(aftercare_customers::CustomersService),
        Box::new(aftercare_workforce::WorkforceService::new()),
        Box::new(aftercare_knowledge::KnowledgeService::new()),
        Box::new(aftercare_tickets::TicketsService::new()),
        Box::new(aftercare_feedback::FeedbackService::new()),
    ]
}

/// The services called `only`, or all of them.
pub fn select(only: Option<&str>) -> anyhow::Result<Vec<Box<dyn ServiceDefinition>>> {
    let all = services();
    let Some(name) = only else {
        return Ok(all);
    };
    let known: Vec<&str> = all
        .iter()
        .map(|d| d.name())
        .chain(std::iter::once(GATEWAY))
        .collect();
    let known = known.join(", ");
    let selected: Vec<_> = all.into_iter().filter(|d| d.name() == name).collect();
    if selected.is_empty() {
        bail!("unknown service `{name}` (known: {known})");
    }
    Ok(selected)
}

/// Runs the migrations of the selected services; returns their names.
pub async fn migrate(config: &Config, only: Option<&str>) -> anyhow::Result<Vec<&'static str>> {
    let mut migrated = Vec::new();
    for definition in select(only)? {
        let db = service::open_database(definition.as_ref(), config)
            .await
            .with_context(|| format!("migrating {}", definition.name()))?;
        db.close().await;
        migrated.push(definition.name());
    }
    Ok(migrated)
}

/// The verifier for principals: the configured secret, or (one process only) a random one.
fn principals(config: &Config, require_secret: bool) -> anyhow::Result<PrincipalVerifier> {
    match &config.auth.principal_secret {
        Some(secret) => Ok(PrincipalVerifier::new(secret.expose().as_bytes())),
        None if require_secret => bail!(
            "auth.principal_secret must be set (AFTERCARE_AUTH__PRINCIPAL_SECRET) when services \
             run in separate processes"
        ),
        None => Ok(PrincipalVerifier::random()),
    }
}

/// When no way to authenticate callers is configured (no JWT secret, JWKS file or API keys),
/// uses a development JWT secret kept in `<data_dir>/dev-jwt-secret` (created on first use),
/// so that `aftercare up` and `aftercare token` agree. Returns the file's path when it did.
pub fn use_dev_jwt_secret(config: &mut Config) -> anyhow::Result<Option<std::path::PathBuf>> {
    let gateway = &config.gateway;
    if gateway.jwt_secret.is_some()
        || gateway.jwks_file.is_some()
        || gateway.api_keys_file.is_some()
    {
        return Ok(None);
    }
    let path = config.data_dir.join(DEV_JWT_SECRET_FILE);
    let secret = match std::fs::read_to_string(&path) {
        Ok(secret) if secret.trim().len() >= 32 => secret.trim().to_owned(),
        _ => {
            aftercare_platform::db::create_private_dir(&config.data_dir)
                .with_context(|| format!("creating {}", config.data_dir.display()))?;
            let secret: String = aftercare_platform::auth::random_secret()
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect();
            write_private(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
            secret
        }
    };
    config.gateway.jwt_secret = Some(Secret::new(secret));
    Ok(Some(path))
}

fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

/// Every service running in this process, and the gateway in front of them.
pub struct Platform {
    services: Vec<RunningService>,
    gateway: Option<RunningGateway>,
    bus: Arc<dyn EventBus>,
    shutdown: CancellationToken,
}

impl Platform {
    /// Starts every service on its configured address, sharing one event bus. The gateway
    /// and the services call each other in memory ([`aftercare_platform::local`]); their
    /// ports serve the clients outside the process.
    ///
    /// Every service is prepared (database migrated, consumers subscribed) before any relays
    /// its outbox, so that on the in-process bus no event is published before its consumers
    /// listen.
    pub async fn start(mut config: Config) -> anyhow::Result<Self> {
        let principals = principals(&config, false)?;
        let gateway_addr = config.gateway.listen;
        let definitions = services();
        let network = LocalNetwork::new();
        // Bind every listener first, so that services on port 0 (tests) are known by their
        // real address to each other and to the gateway.
        let mut listeners = Vec::new();
        for definition in &definitions {
            let name = definition.name();
            let service = config
                .services
                .get_mut(name)
                .with_context(|| format!("no configuration for service `{name}`"))?;
            let listener = TcpListener::bind(service.listen)
                .await
                .with_context(|| format!("service `{name}` cannot listen on {}", service.listen))?;
            let bound = listener.local_addr()?;
            if service.endpoint.is_none() {
                service.listen = bound;
            }
            // The other services and the gateway reach it in memory, by the address they
            // know it at.
            let authorities = local::authority(&service.endpoint())
                .into_iter()
                .chain([bound.to_string()]);
            listeners.push((listener, network.listen(authorities)));
        }
        let config = Arc::new(config);
        let bus = service::bus_from_config(&config).await?;
        let shutdown = CancellationToken::new();
        let mut prepared = Vec::new();
        for definition in &definitions {
            let service = service::prepare(
                definition.as_ref(),
                config.clone(),
                bus.clone(),
                principals.clone(),
                shutdown.clone(),
                Some(network.clone()),
            )
            .await
            .with_context(|| format!("starting {}", definition.name()))?;
            prepared.push(service);
        }
        let mut services = Vec::new();
        for (service, (listener, local)) in prepared.into_iter().zip(listeners) {
            let name = service.name();
            match service.serve_in_process(listener, local).await {
                Ok(running) => services.push(running),
                Err(err) => {
                    shutdown.cancel();
                    for running in services {
                        running.stopped().await;
                    }
                    return Err(err.context(format!("starting {name}")));
                }
            }
        }
        let gateway = match TcpListener::bind(gateway_addr).await {
            Ok(listener) => {
                Gateway::start_in_process(config, principals, listener, network, shutdown.clone())
                    .await
            }
            Err(err) => Err(anyhow::anyhow!(
                "the gateway cannot listen on {gateway_addr}: {err}"
            )),
        };
        let gateway = match gateway {
            Ok(gateway) => gateway,
            Err(err) => {
                shutdown.cancel();
                for running in services {
                    running.stopped().await;
                }
                return Err(err);
            }
        };
        Ok(Self {
            services,
            gateway: Some(gateway),
            bus,
            shutdown,
        })
    }

    /// The event bus the services share (tests listen on it).
    pub fn bus(&self) -> Arc<dyn EventBus> {
        self.bus.clone()
    }

    /// Where the gateway listens.
    pub fn gateway_addr(&self) -> Option<SocketAddr> {
        self.gateway.as_ref().map(RunningGateway::local_addr)
    }

    /// Each service's name and address.
    pub fn endpoints(&self) -> Vec<(&'static str, SocketAddr)> {
        self.services
            .iter()
            .map(|service| (service.name(), service.local_addr()))
            .collect()
    }

    /// Each service's name and the connections its server has accepted, over TCP (its
    /// port, from outside the process) and in memory (from the gateway and the other
    /// services of this process).
    pub fn connections(&self) -> Vec<(&'static str, Connections)> {
        self.services
            .iter()
            .map(|service| (service.name(), service.connections()))
            .collect()
    }

    /// Stops every service: health turns `NOT_SERVING`, in-flight calls drain, relays stop.
    pub async fn stop(self) {
        self.shutdown.cancel();
        if let Some(gateway) = self.gateway {
            gateway.stopped().await;
        }
        for service in self.services {
            service.stopped().await;
        }
    }
}

/// Runs the service called `name` until `shutdown` resolves (a cluster's process).
pub async fn serve_one(
    config: Config,
    name: &str,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    if name == GATEWAY {
        let principals = principals(&config, true)?;
        let listener = TcpListener::bind(config.gateway.listen)
            .await
            .with_context(|| format!("the gateway cannot listen on {}", config.gateway.listen))?;
        let token = CancellationToken::new();
        let gateway = Gateway::start(Arc::new(config), principals, listener, token.clone()).await?;
        tracing::info!(service = name, addr = %gateway.local_addr(), "ready");
        shutdown.await;
        token.cancel();
        gateway.stopped().await;
        return Ok(());
    }
    let definition = select(Some(name))?
        .into_iter()
        .next()
        .context("no such service")?;
    let principals = principals(&config, true)?;
    let config = Arc::new(config);
    let bus = service::bus_from_config(&config).await?;
    let token = CancellationToken::new();
    let running = service::start(
        definition.as_ref(),
        config.clone(),
        bus,
        principals,
        None,
        token.clone(),
    )
    .await?;
    tracing::info!(service = name, addr = %running.local_addr(), "ready");
    shutdown.await;
    token.cancel();
    running.stopped().await;
    Ok(())
}

/// The configuration as JSON, with passwords and secrets hidden.
pub fn render_config(config: &Config) -> anyhow::Result<String> {
    // Every secret is a `Secret`, which serialises redacted: nothing here can forget one.
    Ok(serde_json::to_string_pretty(config)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every secret the configuration can hold, set to a value with a marker, must be absent
    /// from the rendered configuration.
    #[test]
    fn the_rendered_configuration_shows_no_secret() {
        const MARK: &str = "hunter2hunter2hunter2hunter2hunter2";
        let mut config = Config::default();
        config.gateway.jwt_secret = Some(Secret::new(MARK));
        config.auth.principal_secret = Some(Secret::new(MARK));
        config.events.nats_url = Secret::new(format!("nats://{MARK}@nats:4222"));
        for name in ["tickets", "customers", "workforce", "feedback", "knowledge"] {
            let service = config.services.get_mut(name).expect("a known service");
            service.database_url = Some(Secret::new(format!(
                "postgres://app:{MARK}@db/{name}?sslpassword={MARK}"
            )));
        }
        let rendered = render_config(&config).unwrap();
        assert!(!rendered.contains("hunter2"), "{rendered}");
        assert!(
            rendered.contains("postgres://app:***@db/tickets"),
            "{rendered}"
        );
        assert!(rendered.contains("\"jwt_secret\": \"***\""), "{rendered}");
        assert!(format!("{config:?}").find("hunter2").is_none());
    }
}

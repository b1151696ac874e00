//! The Aftercare processes: every service in one process ([`Platform::start`], what
//! `aftercare up` runs) or one service ([`serve_one`], what a cluster runs), and migrations.

use std::net::SocketAddr;
use std::sync::Arc;

use aftercare_platform::auth::PrincipalVerifier;
use aftercare_platform::config::Config;
use aftercare_platform::service::{self, RunningService, ServiceDefinition};
use anyhow::{Context as _, bail};
use tokio_util::sync::CancellationToken;

/// Every service this binary runs, in start order.
pub fn services() -> Vec<Box<dyn ServiceDefinition>> {
    vec![Box::new(aftercare_customers::CustomersService)]
}

/// The services called `only`, or all of them.
pub fn select(only: Option<&str>) -> anyhow::Result<Vec<Box<dyn ServiceDefinition>>> {
    let all = services();
    let Some(name) = only else {
        return Ok(all);
    };
    let known: Vec<&str> = all.iter().map(|d| d.name()).collect();
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

/// Every service running in this process.
pub struct Platform {
    services: Vec<RunningService>,
    shutdown: CancellationToken,
}

impl Platform {
    /// Starts every service on its configured address, sharing one event bus.
    ///
    /// Every service is prepared (database migrated, consumers subscribed) before any relays
    /// its outbox, so that on the in-process bus no event is published before its consumers
    /// listen.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        let principals = principals(&config, false)?;
        let config = Arc::new(config);
        let bus = service::bus_from_config(&config).await?;
        let shutdown = CancellationToken::new();
        let mut prepared = Vec::new();
        for definition in services() {
            let service = service::prepare(
                definition.as_ref(),
                config.clone(),
                bus.clone(),
                principals.clone(),
                shutdown.clone(),
            )
            .await
            .with_context(|| format!("starting {}", definition.name()))?;
            prepared.push(service);
        }
        let mut services = Vec::new();
        for service in prepared {
            let name = service.name();
            match service.serve(None).await {
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
        Ok(Self { services, shutdown })
    }

    /// Each service's name and address.
    pub fn endpoints(&self) -> Vec<(&'static str, SocketAddr)> {
        self.services
            .iter()
            .map(|service| (service.name(), service.local_addr()))
            .collect()
    }

    /// Stops every service: health turns `NOT_SERVING`, in-flight calls drain, relays stop.
    pub async fn stop(self) {
        self.shutdown.cancel();
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
    let mut value = serde_json::to_value(config)?;
    if let Some(services) = value.get_mut("services").and_then(|s| s.as_object_mut()) {
        for service in services.values_mut() {
            if let Some(url) = service.get_mut("database_url")
                && let Some(text) = url.as_str()
            {
                *url = serde_json::Value::String(aftercare_platform::db::redact(text));
            }
        }
    }
    if let Some(secret) = value.pointer_mut("/auth/principal_secret")
        && !secret.is_null()
    {
        *secret = serde_json::Value::String("***".to_owned());
    }
    Ok(serde_json::to_string_pretty(&value)?)
}

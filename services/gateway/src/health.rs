//! What the gateway serves itself: the standard health service, answering for every service
//! behind it (polled from the backends), and reflection over every contract, so a client
//! pointed at the gateway can list and describe every service.

use std::time::Duration;

use aftercare_platform::config::Config;
use aftercare_platform::local::LocalNetwork;
use prost_reflect::DescriptorPool;
use tokio_util::sync::CancellationToken;
use tonic::service::{Routes, RoutesBuilder};
use tonic::transport::Endpoint;
use tonic_health::ServingStatus;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::server::HealthReporter;

use crate::routes::BACKENDS;

/// How long one health check of a backend may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Health and reflection, served by the gateway; health follows the backends (those of
/// `local` in memory) until `shutdown`.
pub fn local_services(
    config: &Config,
    pool: &DescriptorPool,
    local: &LocalNetwork,
    shutdown: &CancellationToken,
) -> anyhow::Result<Routes> {
    let (reporter, health) = tonic_health::server::health_reporter();
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(aftercare_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let mut routes = RoutesBuilder::default();
    routes
        .add_service(health)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?);
    for backend in BACKENDS {
        let services: Vec<String> = pool
            .services()
            .filter(|service| service.package_name() == format!("aftercare.{backend}.v1"))
            .map(|service| service.full_name().to_owned())
            .collect();
        let endpoint = config
            .services
            .get(backend)
            .map(|service| service.endpoint())
            .unwrap_or_default();
        // A list of replicas (`http://a:1,b:2`) is checked through a channel balanced over
        // all of them.
        let mut replicas = Vec::new();
        for address in replica_urls(&endpoint) {
            replicas.push(
                Endpoint::from_shared(address)?
                    .connect_timeout(config.gateway.connect_timeout)
                    .timeout(CHECK_TIMEOUT),
            );
        }
        let channel = match replicas.len() {
            1 if local.serves_uri(&endpoint) => replicas
                .remove(0)
                .connect_with_connector_lazy(local.connector()),
            1 => replicas.remove(0).connect_lazy(),
            _ => tonic::transport::Channel::balance_list(replicas.into_iter()),
        };
        tokio::spawn(follow(
            backend,
            HealthClient::new(channel),
            services,
            reporter.clone(),
            config.gateway.health_interval,
            shutdown.clone(),
        ));
    }
    tokio::spawn(async move {
        reporter
            .set_service_status("", ServingStatus::Serving)
            .await;
    });
    Ok(routes.routes())
}

/// The URL of each replica an endpoint names: `http://a:1,b:2` is two.
fn replica_urls(endpoint: &str) -> Vec<String> {
    match endpoint.strip_prefix("http://") {
        Some(list) if list.contains(',') => list
            .split(',')
            .map(|address| format!("http://{}", address.trim()))
            .collect(),
        _ => vec![endpoint.to_owned()],
    }
}

/// Reports the health of `services` as `backend` answers for them, every `interval`.
async fn follow(
    backend: &'static str,
    mut client: HealthClient<tonic::transport::Channel>,
    services: Vec<String>,
    reporter: HealthReporter,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = ticks.tick() => {}
        }
        for service in &services {
            let status = match client
                .check(HealthCheckRequest {
                    service: service.clone(),
                })
                .await
            {
                Ok(answer) if answer.get_ref().status == 1 => ServingStatus::Serving,
                Ok(_) => ServingStatus::NotServing,
                Err(status) => {
                    tracing::debug!(backend, service = %service, code = ?status.code(), "health check failed");
                    ServingStatus::NotServing
                }
            };
            reporter.set_service_status(service, status).await;
        }
    }
    for service in &services {
        reporter
            .set_service_status(service, ServingStatus::NotServing)
            .await;
    }
    reporter
        .set_service_status("", ServingStatus::NotServing)
        .await;
}

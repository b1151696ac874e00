//! The tickets service: intake from every channel, classification, the ticket lifecycle,
//! replies and internal notes, history, and the events other services react to.
//!
//! `TicketsService` is its [`ServiceDefinition`]: the `aftercare` binary and the tests start
//! it the same way.

mod api;
mod convert;
mod customers;
mod domain;
mod error;
mod events;
mod knowledge;
mod store;
mod sweep;
mod workforce;

use std::time::Duration;

use aftercare_platform::auth::PrincipalVerifier;
use aftercare_platform::db::Migrations;
use aftercare_platform::server::GrpcServer;
use aftercare_platform::service::{ServiceContext, ServiceDefinition};
use aftercare_platform::telemetry::traced;
use aftercare_proto::aftercare::tickets::v1::after_sales_service_server::AfterSalesServiceServer;
use aftercare_proto::aftercare::tickets::v1::sla_service_server::SlaServiceServer;
use aftercare_proto::aftercare::tickets::v1::ticket_service_server::TicketServiceServer;
use async_trait::async_trait;
use sqlx::migrate::Migrator;

pub use api::WatchLimits;
pub use error::Error;

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

/// The service's migrations, per backend.
pub static MIGRATIONS: Migrations = Migrations {
    sqlite: &SQLITE,
    postgres: &POSTGRES,
};

/// How many committed changes a slow watcher may fall behind before it misses some.
const FEED_CAPACITY: usize = 1_024;

/// Where another service is reached, when not as configured.
#[derive(Debug, Clone)]
pub struct ServiceEndpoint {
    /// A channel to it.
    pub channel: tonic::transport::Channel,
    /// The verifier whose secret it trusts, to sign the principals sent to it.
    pub principals: PrincipalVerifier,
}

/// Where the customers service is reached, when not as configured.
pub type CustomersEndpoint = ServiceEndpoint;

/// How often the SLA sweep runs unless told otherwise.
pub const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_secs(10);

/// How long a ticket stays `RESOLVED` before it is closed, unless told otherwise.
pub const DEFAULT_AUTO_CLOSE_AFTER: Duration = Duration::from_secs(7 * 24 * 3_600);

/// The tickets service.
#[derive(Debug, Clone)]
pub struct TicketsService {
    customers: Option<CustomersEndpoint>,
    knowledge: Option<ServiceEndpoint>,
    workforce: Option<ServiceEndpoint>,
    sweep_interval: Duration,
    auto_close_after: Duration,
    watch_limits: WatchLimits,
    feed_capacity: usize,
    default_standards: bool,
}

impl Default for TicketsService {
    fn default() -> Self {
        Self {
            customers: None,
            knowledge: None,
            workforce: None,
            sweep_interval: DEFAULT_SWEEP_INTERVAL,
            auto_close_after: DEFAULT_AUTO_CLOSE_AFTER,
            watch_limits: WatchLimits::default(),
            feed_capacity: FEED_CAPACITY,
            default_standards: true,
        }
    }
}

impl TicketsService {
    /// The service reaching the customers service as configured
    /// (`services.customers.endpoint`).
    pub fn new() -> Self {
        Self::default()
    }

    /// The service reaching the customers service at `endpoint` instead (tests start each
    /// service with its own address and secret).
    pub fn with_customers(self, endpoint: CustomersEndpoint) -> Self {
        Self {
            customers: Some(endpoint),
            ..self
        }
    }

    /// The service asking the knowledge service at `endpoint` for suggestions instead of
    /// the configured one (`services.knowledge.endpoint`).
    pub fn with_knowledge(self, endpoint: ServiceEndpoint) -> Self {
        Self {
            knowledge: Some(endpoint),
            ..self
        }
    }

    /// The service asking the workforce service at `endpoint` to route tickets instead of
    /// the configured one (`services.workforce.endpoint`).
    pub fn with_workforce(self, endpoint: ServiceEndpoint) -> Self {
        Self {
            workforce: Some(endpoint),
            ..self
        }
    }

    /// The service with other caps on WatchTickets streams (per principal, in total).
    pub fn with_watch_limits(self, limits: WatchLimits) -> Self {
        Self {
            watch_limits: limits,
            ..self
        }
    }

    /// The service whose watchers may fall `capacity` changes behind before their stream
    /// ends as lagged (tests use a small one).
    pub fn with_feed_capacity(self, capacity: usize) -> Self {
        Self {
            feed_capacity: capacity.max(1),
            ..self
        }
    }

    /// The service without the default service standards (SLA policies and calendars) a
    /// fresh database otherwise gets at first start: tests of SLA policies start from none.
    pub fn without_default_standards(self) -> Self {
        self.with_default_standards(false)
    }

    /// The service with (`true`, the default) or without the default service standards.
    pub fn with_default_standards(self, on: bool) -> Self {
        Self {
            default_standards: on,
            ..self
        }
    }

    /// The service with its SLA sweep running every `interval` (tests use a short one).
    pub fn with_sweep_interval(self, interval: Duration) -> Self {
        Self {
            sweep_interval: interval,
            ..self
        }
    }
}

#[async_trait]
impl ServiceDefinition for TicketsService {
    fn name(&self) -> &'static str {
        "tickets"
    }

    fn migrations(&self) -> Migrations {
        MIGRATIONS
    }

    async fn build(&self, ctx: ServiceContext) -> anyhow::Result<GrpcServer> {
        let customers = match &self.customers {
            Some(endpoint) => customers::CustomerDirectory::new(
                traced(endpoint.channel.clone()),
                endpoint.principals.clone(),
            ),
            None => customers::CustomerDirectory::new(
                ctx.channel_to("customers")
                    .ok_or_else(|| anyhow::anyhow!("no configuration for service `customers`"))?,
                ctx.principals.clone(),
            ),
        };
        if self.default_standards {
            let now = aftercare_platform::time::now_micros();
            let defaults = domain::DefaultStandards::new(now);
            let outcome =
                store::set_up_defaults(&ctx.db, domain::DEFAULT_STANDARDS, &defaults, now).await?;
            tracing::info!(?outcome, "default service standards");
        }
        let feed = events::ChangeFeed::start(
            self.feed_capacity,
            ctx.bus.clone(),
            ctx.db.clone(),
            &ctx.config.events.stream,
            ctx.shutdown.clone(),
        )
        .await?;
        let sweep = sweep::Sweep {
            db: ctx.db.clone(),
            relay: ctx.relay.clone(),
            feed: feed.clone(),
            auto_close_after: self.auto_close_after,
        };
        tokio::spawn(sweep.run(self.sweep_interval, ctx.shutdown.clone()));
        aftercare_platform::events::spawn_consumer(
            ctx.db.clone(),
            ctx.bus.clone(),
            events::CONSUMER,
            events::ErasureConsumer::filter(),
            events::ErasureConsumer,
            ctx.shutdown.clone(),
        )
        .await?;
        aftercare_platform::events::spawn_consumer(
            ctx.db.clone(),
            ctx.bus.clone(),
            events::ROUTING_CONSUMER,
            events::RoutingConsumer::filter(),
            events::RoutingConsumer::new(ctx.db.clone(), ctx.relay.clone(), feed.clone()),
            ctx.shutdown.clone(),
        )
        .await?;
        // Suggestions while a ticket is created (deflection) and routing, where those
        // services are configured.
        let knowledge = match &self.knowledge {
            Some(endpoint) => Some(knowledge::KnowledgeBase::new(
                traced(endpoint.channel.clone()),
                endpoint.principals.clone(),
            )),
            None => ctx
                .channel_to("knowledge")
                .map(|channel| knowledge::KnowledgeBase::new(channel, ctx.principals.clone())),
        };
        let requirements = workforce::Requirements::parse(&ctx.config.routing.requirements)
            .map_err(anyhow::Error::msg)?;
        let workforce = match &self.workforce {
            Some(endpoint) => Some(workforce::Workforce::new(
                traced(endpoint.channel.clone()),
                endpoint.principals.clone(),
                requirements,
            )),
            None => ctx.channel_to("workforce").map(|channel| {
                workforce::Workforce::new(channel, ctx.principals.clone(), requirements)
            }),
        };
        let api = api::Api::new(
            &ctx,
            api::Peers {
                customers,
                knowledge,
                workforce,
            },
            feed,
            domain::AfterSalesPolicy::default(),
            self.watch_limits,
        );
        let limit = ctx.config.server.max_message_bytes;
        let after_sales = AfterSalesServiceServer::new(api.clone())
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit);
        let sla = SlaServiceServer::new(api.clone())
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit);
        let tickets = TicketServiceServer::new(api)
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit);
        Ok(GrpcServer::new(ctx.name)
            .add_service(tickets)
            .add_service(sla)
            .add_service(after_sales))
    }
}

//! The workforce and training service: agents, teams, skills, shifts, presence, routing,
//! courses, certifications, performance and recognition.
//!
//! Agents and teams (with roles, regions, languages, skills and capacity), the skill
//! catalogue, shifts with time zones, weekly patterns and dated exceptions, presence with a
//! live watch, and `RouteTicket`: the best agent for a ticket by skills, certifications,
//! language, region, shift, presence and load, explained. Load is kept from the tickets
//! service's events through the platform's idempotent consumer.
//!
//! The service is a library; the `aftercare` binary runs it through [`WorkforceService`],
//! its [`ServiceDefinition`].

mod api;
mod convert;
pub mod domain;
mod error;
mod events;
mod store;
mod sweep;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aftercare_platform::config::{FollowTheSunMode, FollowTheSunPolicy, RoutingConfig};
use aftercare_platform::db::Migrations;
use aftercare_platform::server::GrpcServer;
use aftercare_platform::service::{ServiceContext, ServiceDefinition};
use aftercare_proto::aftercare::workforce::v1::performance_service_server::PerformanceServiceServer;
use aftercare_proto::aftercare::workforce::v1::training_service_server::TrainingServiceServer;
use aftercare_proto::aftercare::workforce::v1::workforce_service_server::WorkforceServiceServer;
use async_trait::async_trait;
use sqlx::migrate::Migrator;

pub use domain::routing::FollowTheSun;
pub use error::Error;
pub use events::{LOAD_CONSUMER, LoadTracker, PERFORMANCE_CONSUMER, PerformanceProjection};

/// The service's name: its configuration key and the audience of its principals.
pub const NAME: &str = "workforce";

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

/// The workforce service's migrations, for SQLite and PostgreSQL.
pub static MIGRATIONS: Migrations = Migrations {
    sqlite: &SQLITE,
    postgres: &POSTGRES,
};

/// The service's own settings, with sane defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Follow-the-sun policy per region; regions not listed use [`Settings::default_policy`].
    pub follow_the_sun: HashMap<String, FollowTheSun>,
    /// The policy of regions not listed (default: any region on shift).
    pub default_policy: FollowTheSun,
    /// How long a routing hold waits for the ticket's `TicketAssigned` (default 2 minutes).
    pub hold_ttl: Duration,
    /// How often the sweep runs (default 30 s).
    pub sweep_interval: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            follow_the_sun: HashMap::new(),
            default_policy: FollowTheSun::AnyRegion,
            hold_ttl: Duration::from_secs(120),
            sweep_interval: Duration::from_secs(30),
        }
    }
}

impl Settings {
    /// The defaults with the follow-the-sun policies of the configuration's `routing`
    /// section (`routing.follow_the_sun`, `routing.default_follow_the_sun`).
    pub fn from_config(routing: &RoutingConfig) -> Self {
        Self {
            follow_the_sun: routing
                .follow_the_sun
                .iter()
                .map(|(region, policy)| (region.clone(), follow_the_sun(policy)))
                .collect(),
            default_policy: follow_the_sun(&routing.default_follow_the_sun),
            ..Self::default()
        }
    }

    /// Whether a queued ticket needing `route` may go to `agent` now, under the policy of its
    /// region.
    pub(crate) fn takes(
        &self,
        route: &domain::routing::Route,
        agent: &domain::routing::Routable,
    ) -> bool {
        domain::routing::takes(self.policy_of(route.region.as_deref()), route, agent)
    }

    /// The policy of a ticket's region (none: the default).
    pub fn policy_of(&self, region: Option<&str>) -> &FollowTheSun {
        region.map_or(&self.default_policy, |r| self.policy(r))
    }

    /// The policy of `region`.
    pub fn policy(&self, region: &str) -> &FollowTheSun {
        self.follow_the_sun
            .get(region)
            .unwrap_or(&self.default_policy)
    }
}

/// The domain's policy for a configured one.
fn follow_the_sun(policy: &FollowTheSunPolicy) -> FollowTheSun {
    match policy {
        FollowTheSunPolicy::Mode(FollowTheSunMode::Any) => FollowTheSun::AnyRegion,
        FollowTheSunPolicy::Mode(FollowTheSunMode::Queue) => FollowTheSun::Queue,
        FollowTheSunPolicy::Regions(regions) => FollowTheSun::Regions(regions.clone()),
    }
}

/// The workforce service, as the platform runs it.
#[derive(Debug, Clone, Default)]
pub struct WorkforceService {
    settings: Option<Settings>,
}

impl WorkforceService {
    /// The service with its settings from the configuration it is started with
    /// ([`Settings::from_config`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// The service with `settings`, whatever the configuration says.
    pub fn with_settings(settings: Settings) -> Self {
        Self {
            settings: Some(settings),
        }
    }
}

#[async_trait]
impl ServiceDefinition for WorkforceService {
    fn name(&self) -> &'static str {
        NAME
    }

    fn migrations(&self) -> Migrations {
        MIGRATIONS
    }

    async fn build(&self, ctx: ServiceContext) -> anyhow::Result<GrpcServer> {
        let max = ctx.config.server.max_message_bytes;
        let settings = Arc::new(
            self.settings
                .clone()
                .unwrap_or_else(|| Settings::from_config(&ctx.config.routing)),
        );
        let (feed, _) = tokio::sync::broadcast::channel(1024);
        aftercare_platform::events::spawn_consumer(
            ctx.db.clone(),
            ctx.bus.clone(),
            LOAD_CONSUMER,
            LoadTracker::filter(),
            LoadTracker::with_settings(feed.clone(), settings.clone()),
            ctx.shutdown.clone(),
        )
        .await?;
        aftercare_platform::events::spawn_consumer(
            ctx.db.clone(),
            ctx.bus.clone(),
            PERFORMANCE_CONSUMER,
            PerformanceProjection::filter(),
            PerformanceProjection,
            ctx.shutdown.clone(),
        )
        .await?;
        sweep::spawn(
            ctx.db.clone(),
            ctx.relay.clone(),
            feed.clone(),
            settings.clone(),
            ctx.shutdown.clone(),
        );
        let api = api::Api::new(&ctx, feed, settings);
        Ok(GrpcServer::new(ctx.name)
            .add_service(
                WorkforceServiceServer::new(api.clone())
                    .max_decoding_message_size(max)
                    .max_encoding_message_size(max),
            )
            .add_service(
                TrainingServiceServer::new(api.clone())
                    .max_decoding_message_size(max)
                    .max_encoding_message_size(max),
            )
            .add_service(
                PerformanceServiceServer::new(api)
                    .max_decoding_message_size(max)
                    .max_encoding_message_size(max),
            ))
    }
}

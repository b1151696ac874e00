//! The feedback service: surveys and invitations, responses, classified feedback, the closed
//! loop of follow-ups, and stats.
//!
//! Surveys (CSAT, NPS, CES and free text, in several languages, versioned) invite customers
//! when their tickets are resolved (a consumer of `TicketResolved`, idempotent through the
//! platform inbox, honouring cooldowns, a quiet period and survey consent); invitations carry
//! a 256-bit token stored hashed; responses and unsolicited feedback items are classified
//! (jieba segmentation and a Chinese/English lexicon with negation and intensifiers); a
//! detractor or a severe complaint opens a follow-up ticket in the tickets service through a
//! pending table retried by the sweep until the ticket exists; stats are aggregated in SQL;
//! `CustomerErased` scrubs free text.
//!
//! The service is a library; the `aftercare` binary runs it through [`FeedbackService`].

mod api;
mod convert;
mod customers;
mod domain;
mod error;
mod events;
mod store;
mod sweep;
mod tickets;

use std::time::Duration;

use aftercare_platform::auth::PrincipalVerifier;
use aftercare_platform::db::Migrations;
use aftercare_platform::server::GrpcServer;
use aftercare_platform::service::{ServiceContext, ServiceDefinition};
use aftercare_platform::telemetry::traced;
use aftercare_proto::aftercare::feedback::v1::feedback_service_server::FeedbackServiceServer;
use async_trait::async_trait;
use sqlx::migrate::Migrator;

pub use domain::classify::{CLASSIFIER_VERSION, classify};
pub use domain::follow_up::LoopRules;
pub use error::Error;

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

/// The feedback service's migrations, for SQLite and PostgreSQL.
pub static MIGRATIONS: Migrations = Migrations {
    sqlite: &SQLITE,
    postgres: &POSTGRES,
};

/// How often the sweep runs unless told otherwise.
pub const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The survey page the token is appended to, unless told otherwise.
pub const DEFAULT_PORTAL: &str = "http://127.0.0.1:50051/survey#token=";

/// Where the tickets service is reached, when not as configured.
#[derive(Debug, Clone)]
pub struct TicketsEndpoint {
    /// A channel to it.
    pub channel: tonic::transport::Channel,
    /// The verifier whose secret it trusts, to sign the feedback service's principal.
    pub principals: PrincipalVerifier,
}

/// Where the customers service is reached, when not as configured.
#[derive(Debug, Clone)]
pub struct CustomersEndpoint {
    /// A channel to it.
    pub channel: tonic::transport::Channel,
    /// The verifier whose secret it trusts.
    pub principals: PrincipalVerifier,
}

/// The feedback service.
#[derive(Debug, Clone)]
pub struct FeedbackService {
    tickets: Option<TicketsEndpoint>,
    customers: Option<CustomersEndpoint>,
    sweep_interval: Duration,
    rules: Option<LoopRules>,
    portal: String,
}

impl Default for FeedbackService {
    fn default() -> Self {
        Self {
            tickets: None,
            customers: None,
            sweep_interval: DEFAULT_SWEEP_INTERVAL,
            rules: None,
            portal: DEFAULT_PORTAL.to_owned(),
        }
    }
}

impl FeedbackService {
    /// The service reaching the tickets service as configured.
    pub fn new() -> Self {
        Self::default()
    }

    /// The service reaching the tickets service at `endpoint` instead.
    pub fn with_tickets(self, endpoint: TicketsEndpoint) -> Self {
        Self {
            tickets: Some(endpoint),
            ..self
        }
    }

    /// The service reaching the customers service at `endpoint` instead.
    pub fn with_customers(self, endpoint: CustomersEndpoint) -> Self {
        Self {
            customers: Some(endpoint),
            ..self
        }
    }

    /// The service with its sweep running every `interval`.
    pub fn with_sweep_interval(self, interval: Duration) -> Self {
        Self {
            sweep_interval: interval,
            ..self
        }
    }

    /// The service with these closed-loop rules (detractor thresholds, contact standard,
    /// quiet period), whatever the configuration's `feedback` section says.
    pub fn with_rules(self, rules: LoopRules) -> Self {
        Self {
            rules: Some(rules),
            ..self
        }
    }

    /// The service linking invitations to another survey page (`…#token=`).
    pub fn with_portal(self, portal: impl Into<String>) -> Self {
        Self {
            portal: portal.into(),
            ..self
        }
    }
}

#[async_trait]
impl ServiceDefinition for FeedbackService {
    fn name(&self) -> &'static str {
        "feedback"
    }

    fn migrations(&self) -> Migrations {
        MIGRATIONS
    }

    async fn build(&self, ctx: ServiceContext) -> anyhow::Result<GrpcServer> {
        let tickets = match &self.tickets {
            Some(endpoint) => tickets::FollowUpTickets::new(
                traced(endpoint.channel.clone()),
                endpoint.principals.clone(),
            ),
            None => tickets::FollowUpTickets::new(
                ctx.channel_to("tickets")
                    .ok_or_else(|| anyhow::anyhow!("no configuration for service `tickets`"))?,
                ctx.principals.clone(),
            ),
        };
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
        let rules = self
            .rules
            .clone()
            .unwrap_or_else(|| LoopRules::from_config(&ctx.config.feedback));
        // Load the segmenter's dictionary now rather than on the first comment.
        let _ = domain::classify::classify("预热");
        aftercare_platform::events::spawn_consumer(
            ctx.db.clone(),
            ctx.bus.clone(),
            events::CONSUMER,
            events::FeedbackConsumer::filter(),
            events::FeedbackConsumer {
                rules: rules.clone(),
                portal: self.portal.clone(),
            },
            ctx.shutdown.clone(),
        )
        .await?;
        let store = store::Store::new(ctx.db.clone(), ctx.relay.clone());
        let sweep = sweep::Sweep {
            store: store.clone(),
            tickets: tickets.clone(),
        };
        tokio::spawn(sweep.run(self.sweep_interval, ctx.shutdown.clone()));
        let api = api::Api::new(
            store,
            ctx.principals.clone(),
            api::Clients { tickets, customers },
            rules,
            self.portal.clone(),
        );
        let max = ctx.config.server.max_message_bytes;
        let server = FeedbackServiceServer::new(api)
            .max_decoding_message_size(max)
            .max_encoding_message_size(max);
        Ok(GrpcServer::new(ctx.name).add_service(server))
    }
}

//! The customers service: one customer across every channel and region. Customers and their
//! channel identities (found or created at intake by `ResolveIdentity`, atomically), with
//! field-masked, etag-checked updates and keyset-paginated lists; merges of duplicates;
//! organisations and segments; the loyalty ledger and tier rules; contact consents; data
//! export and erasure; and the interaction timeline built from every service's events.
//!
//! The service is a library; the `aftercare` binary runs it through [`CustomersService`],
//! its [`ServiceDefinition`].

mod api;
mod convert;
mod domain;
mod error;
mod events;
mod store;
mod sweep;

use aftercare_platform::db::Migrations;
use aftercare_platform::server::GrpcServer;
use aftercare_platform::service::{ServiceContext, ServiceDefinition};
use aftercare_proto::aftercare::customers::v1::customer_service_server::CustomerServiceServer;
use async_trait::async_trait;
use sqlx::migrate::Migrator;

pub use error::Error;
pub use events::{TIMELINE_CONSUMER, TimelineProjection};
pub use sweep::{refresh_segment_counts, review_tiers};

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

/// The customers service's migrations, for SQLite and PostgreSQL.
pub static MIGRATIONS: Migrations = Migrations {
    sqlite: &SQLITE,
    postgres: &POSTGRES,
};

/// The customers service, as the platform runs it.
#[derive(Debug, Clone, Copy, Default)]
pub struct CustomersService;

#[async_trait]
impl ServiceDefinition for CustomersService {
    fn name(&self) -> &'static str {
        "customers"
    }

    fn migrations(&self) -> Migrations {
        MIGRATIONS
    }

    async fn build(&self, ctx: ServiceContext) -> anyhow::Result<GrpcServer> {
        let max = ctx.config.server.max_message_bytes;
        aftercare_platform::events::spawn_consumer(
            ctx.db.clone(),
            ctx.bus.clone(),
            TIMELINE_CONSUMER,
            TimelineProjection::filter(),
            TimelineProjection,
            ctx.shutdown.clone(),
        )
        .await?;
        sweep::spawn(ctx.db.clone(), ctx.relay.clone(), ctx.shutdown.clone());
        let api = api::Api::new(&ctx);
        let server = CustomerServiceServer::new(api)
            .max_decoding_message_size(max)
            .max_encoding_message_size(max);
        Ok(GrpcServer::new(ctx.name).add_service(server))
    }
}

//! The knowledge service: multilingual articles with versions and review, Chinese and
//! English search, deflection, content gaps and stats.
//!
//! Articles (FAQ, general, troubleshooting) have immutable versions per language
//! (translations linked to their source and flagged outdated when it changes) and go
//! draft → in review → approved/rejected → published → archived, with who did what and when.
//! Search runs on a tantivy index with one analyser for Chinese (jieba) and English
//! (stemmed) text; the index is derived data in a folder of each replica's own, rebuilt or
//! brought up to date from the database's index sequence (see [`index`]). Suggestions for a
//! ticket being written, their outcomes (deflection), ratings, content gaps and statistics
//! complete it.
//!
//! [`KnowledgeService`] is its [`ServiceDefinition`].

mod api;
mod convert;
pub mod domain;
mod error;
mod events;
pub mod index;
mod store;
mod sweep;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aftercare_platform::db::Migrations;
use aftercare_platform::server::GrpcServer;
use aftercare_platform::service::{ServiceContext, ServiceDefinition};
use aftercare_proto::aftercare::knowledge::v1::knowledge_service_server::KnowledgeServiceServer;
use async_trait::async_trait;
use sqlx::migrate::Migrator;

pub use error::Error;

/// The service's name, as in configuration and as the audience of its principals.
pub const SERVICE: &str = "knowledge";

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

/// The service's migrations, per backend.
pub static MIGRATIONS: Migrations = Migrations {
    sqlite: &SQLITE,
    postgres: &POSTGRES,
};

/// How often a replica checks the database for changes other replicas made.
pub const DEFAULT_INDEX_SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// The folder under `data_dir` the index lives in unless told otherwise.
pub const INDEX_FOLDER: &str = "knowledge-index";

/// The knowledge service.
#[derive(Debug, Clone)]
pub struct KnowledgeService {
    index_dir: Option<PathBuf>,
    sync_interval: Duration,
}

impl Default for KnowledgeService {
    fn default() -> Self {
        Self {
            index_dir: None,
            sync_interval: DEFAULT_INDEX_SYNC_INTERVAL,
        }
    }
}

impl KnowledgeService {
    /// The service with its index in `<data_dir>/knowledge-index`.
    pub fn new() -> Self {
        Self::default()
    }

    /// The service with its index in `dir` (each replica needs its own folder).
    pub fn with_index_dir(self, dir: impl Into<PathBuf>) -> Self {
        Self {
            index_dir: Some(dir.into()),
            ..self
        }
    }

    /// The service checking for other replicas' changes every `interval`.
    pub fn with_sync_interval(self, interval: Duration) -> Self {
        Self {
            sync_interval: interval,
            ..self
        }
    }
}

#[async_trait]
impl ServiceDefinition for KnowledgeService {
    fn name(&self) -> &'static str {
        SERVICE
    }

    fn migrations(&self) -> Migrations {
        MIGRATIONS
    }

    async fn build(&self, ctx: ServiceContext) -> anyhow::Result<GrpcServer> {
        let dir = self
            .index_dir
            .clone()
            .unwrap_or_else(|| ctx.config.data_dir.join(INDEX_FOLDER));
        let index =
            Arc::new(tokio::task::spawn_blocking(move || index::SearchIndex::open(&dir)).await??);
        aftercare_platform::events::spawn_consumer(
            ctx.db.clone(),
            ctx.bus.clone(),
            events::ERASURE_CONSUMER,
            events::ErasureConsumer::filter(),
            events::ErasureConsumer,
            ctx.shutdown.clone(),
        )
        .await?;
        let store = store::Store::new(ctx.db.clone());
        let rebuilt = sweep::catch_up(&store, &index).await?;
        tracing::info!(
            articles = rebuilt,
            documents = index.documents(),
            "search index ready"
        );
        sweep::spawn(
            store.clone(),
            index.clone(),
            self.sync_interval,
            ctx.shutdown.clone(),
        );
        let api = api::Api::new(store, index, ctx.principals.clone(), ctx.relay.clone());
        let limit = ctx.config.server.max_message_bytes;
        let server = KnowledgeServiceServer::new(api)
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit);
        Ok(GrpcServer::new(ctx.name).add_service(server))
    }
}

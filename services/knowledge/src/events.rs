//! The events the knowledge service publishes, built from domain changes, and written to the
//! outbox in the change's transaction.

use aftercare_platform::time::to_timestamp;
use aftercare_proto::aftercare::events::v1 as ev;
use sqlx::{Any, Transaction};
use uuid::Uuid;

use crate::convert;
use crate::domain::article::Publication;
use crate::domain::feedback::{Helpfulness, Rating};
use crate::domain::{Actor, Article, ContentGap};
use crate::error::Result;
use crate::index::Hit;
use crate::store::reading::SearchEntry;

/// The `source` of every event.
pub const SOURCE: &str = "knowledge";

/// An event waiting for its transaction.
#[derive(Debug, Clone)]
pub enum Outgoing {
    /// `ArticlePublished`.
    Published(String, ev::ArticlePublished),
    /// `ArticleArchived`.
    Archived(String, ev::ArticleArchived),
    /// `ArticleRated`.
    Rated(String, ev::ArticleRated),
    /// `ContentGapRecorded`.
    GapRecorded(String, ev::ContentGapRecorded),
    /// `ArticlesSuggested`.
    Suggested(String, ev::ArticlesSuggested),
}

impl Outgoing {
    /// Writes it to the outbox in `tx`.
    pub async fn append(&self, tx: &mut Transaction<'_, Any>) -> Result<()> {
        use aftercare_platform::events::append;
        match self {
            Self::Published(subject, e) => append(tx, SOURCE, subject, e).await?,
            Self::Archived(subject, e) => append(tx, SOURCE, subject, e).await?,
            Self::Rated(subject, e) => append(tx, SOURCE, subject, e).await?,
            Self::GapRecorded(subject, e) => append(tx, SOURCE, subject, e).await?,
            Self::Suggested(subject, e) => append(tx, SOURCE, subject, e).await?,
        };
        Ok(())
    }
}

/// `ArticlePublished` for `article` after `publication` by `actor`.
pub fn article_published(article: &Article, publication: &Publication, actor: &Actor) -> Outgoing {
    let name = convert::article_name(article.id);
    Outgoing::Published(
        name.clone(),
        ev::ArticlePublished {
            article: name,
            kind: article.kind as i32,
            visibility: article.visibility as i32,
            category: article
                .category
                .map(convert::category_name)
                .unwrap_or_default(),
            product_lines: article.product_lines.clone(),
            tags: article.tags.clone(),
            default_language: article.default_language.clone(),
            title: article.title().to_owned(),
            published_versions: convert::published_versions(article),
            changed_languages: publication.changed_languages.clone(),
            first_publication: publication.first_publication,
            publish_time: article.publish_time.map(to_timestamp),
            actor: Some(convert::actor(actor)),
        },
    )
}

/// `ArticleArchived`.
pub fn article_archived(
    article: &Article,
    was_live: bool,
    reason: &str,
    actor: &Actor,
) -> Outgoing {
    let name = convert::article_name(article.id);
    Outgoing::Archived(
        name.clone(),
        ev::ArticleArchived {
            article: name,
            title: article.title().to_owned(),
            was_live,
            reason: reason.to_owned(),
            archive_time: article.archive_time.map(to_timestamp),
            actor: Some(convert::actor(actor)),
        },
    )
}

/// `ArticleRated`.
pub fn article_rated(
    rating: &Rating,
    previous: Option<Helpfulness>,
    helpful_count: i64,
    not_helpful_count: i64,
) -> Outgoing {
    let name = convert::article_name(rating.article);
    Outgoing::Rated(
        name.clone(),
        ev::ArticleRated {
            article: name,
            rating: convert::rating_name(rating),
            helpfulness: rating.helpfulness as i32,
            previous_helpfulness: previous.map_or(0, |p| p as i32),
            comment: rating.comment.clone(),
            language: rating.language.clone(),
            version: convert::version_name(rating.article, rating.version),
            helpful_count,
            not_helpful_count,
            rate_time: Some(to_timestamp(rating.update_time)),
            actor: Some(convert::actor(&rating.rater)),
        },
    )
}

/// `ContentGapRecorded`.
pub fn content_gap_recorded(
    gap: &ContentGap,
    entry: &SearchEntry,
    new_gap: bool,
    reopened: bool,
) -> Outgoing {
    let name = convert::gap_name(gap.id);
    Outgoing::GapRecorded(
        name.clone(),
        ev::ContentGapRecorded {
            content_gap: name,
            query: entry.query.clone(),
            normalized_query: gap.normalized_query.clone(),
            language: gap.language.clone(),
            product_line: entry.product_line.clone(),
            category: entry.category.clone(),
            search_count: gap.search_count,
            new_gap,
            reopened,
            first_seen_time: Some(to_timestamp(gap.first_seen)),
            search_time: Some(to_timestamp(entry.time)),
            actor: Some(convert::actor(&entry.actor)),
        },
    )
}

/// A suggestion set about to be recorded.
#[derive(Debug, Clone)]
pub struct SuggestionRecord {
    /// Its id.
    pub id: Uuid,
    /// When.
    pub time: i64,
    /// The language matched in.
    pub language: String,
    /// The product line asked about.
    pub product_line: String,
    /// The channel (API number).
    pub channel: i32,
    /// The customer, `customers/…`.
    pub customer: String,
    /// The ticket, `tickets/…`.
    pub ticket: String,
    /// Who asked.
    pub actor: Actor,
    /// The suggestions, best first.
    pub hits: Vec<Hit>,
}

/// `ArticlesSuggested`.
pub fn articles_suggested(set: &SuggestionRecord) -> Outgoing {
    let name = format!("suggestions/{}", set.id);
    Outgoing::Suggested(
        name.clone(),
        ev::ArticlesSuggested {
            suggestion: name,
            customer: set.customer.clone(),
            ticket: set.ticket.clone(),
            language: set.language.clone(),
            product_line: set.product_line.clone(),
            channel: set.channel,
            articles: set
                .hits
                .iter()
                .map(|hit| ev::articles_suggested::SuggestedArticle {
                    article: convert::article_name(hit.article),
                    version: convert::version_name(hit.article, hit.version),
                    title: hit.title.clone(),
                    score: hit.score,
                })
                .collect(),
            suggest_time: Some(to_timestamp(set.time)),
            actor: Some(convert::actor(&set.actor)),
        },
    )
}

/// The consumer that scrubs an erased customer from ratings, suggestion sets and the search
/// log.
pub const ERASURE_CONSUMER: &str = "knowledge-erasure";

/// Applies `CustomerErased`: the customer (and the customers merged into it) no longer
/// appear in what this service keeps.
#[derive(Debug, Clone, Copy, Default)]
pub struct ErasureConsumer;

impl ErasureConsumer {
    /// The events it handles.
    pub fn filter() -> aftercare_platform::events::SubscriptionFilter {
        aftercare_platform::events::SubscriptionFilter::all().with_type::<ev::CustomerErased>()
    }
}

#[async_trait::async_trait]
impl aftercare_platform::events::EventHandler for ErasureConsumer {
    async fn handle(
        &self,
        tx: &mut Transaction<'_, Any>,
        event: &aftercare_platform::events::Event,
    ) -> anyhow::Result<()> {
        let erased: ev::CustomerErased = aftercare_platform::events::decode_payload(event)?;
        for customer in std::iter::once(&erased.customer).chain(erased.merged_customers.iter()) {
            crate::store::reading::erase_customer(tx, customer).await?;
        }
        tracing::info!(customer = %erased.customer, "customer erased from ratings, suggestions and searches");
        Ok(())
    }
}

//! What readers do: ratings, the search log, content gaps and suggestion sets.

use aftercare_platform::request::Page;
use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::{Arg, Store, Where, bind_all};
use crate::domain::feedback::{Helpfulness, Outcome, Rating, SuggestionSet};
use crate::domain::{Actor, ContentGap, GapState};
use crate::error::{Error, Result};
use crate::events;

/// A suggestion set with no outcome after this long (µs) counts as abandoned.
const ABANDONED_AFTER: i64 = 24 * 3_600_000_000;

const RATING_COLUMNS: &str =
    "id, article_id, rater, helpfulness, comment, language, version_id, create_time, update_time";
const GAP_COLUMNS: &str = "id, normalized_query, language, sample_queries, search_count, product_lines, \
    first_seen, last_seen, state, resolving_article, note, resolver, resolve_time, version, update_time";

fn uuid(text: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|_| Error::Corrupt(format!("bad id {text}")))
}

fn rating_row(row: &AnyRow) -> Result<Rating> {
    Ok(Rating {
        id: uuid(&row.try_get::<String, _>("id")?)?,
        article: uuid(&row.try_get::<String, _>("article_id")?)?,
        helpfulness: Helpfulness::from_number(row.try_get("helpfulness")?)
            .ok_or_else(|| Error::Corrupt("helpfulness".into()))?,
        comment: row.try_get("comment")?,
        language: row.try_get("language")?,
        version: uuid(&row.try_get::<String, _>("version_id")?)?,
        rater: serde_json::from_str(&row.try_get::<String, _>("rater")?)?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
    })
}

fn gap_row(row: &AnyRow) -> Result<ContentGap> {
    let state: i64 = row.try_get("state")?;
    Ok(ContentGap {
        id: uuid(&row.try_get::<String, _>("id")?)?,
        normalized_query: row.try_get("normalized_query")?,
        language: row.try_get("language")?,
        sample_queries: serde_json::from_str(&row.try_get::<String, _>("sample_queries")?)?,
        search_count: row.try_get("search_count")?,
        product_lines: serde_json::from_str(&row.try_get::<String, _>("product_lines")?)?,
        first_seen: row.try_get("first_seen")?,
        last_seen: row.try_get("last_seen")?,
        state: i32::try_from(state)
            .ok()
            .and_then(GapState::from_number)
            .ok_or_else(|| Error::Corrupt("gap state".into()))?,
        resolving_article: row
            .try_get::<Option<String>, _>("resolving_article")?
            .map(|a| uuid(&a))
            .transpose()?,
        note: row.try_get("note")?,
        resolver: row
            .try_get::<Option<String>, _>("resolver")?
            .map(|r| serde_json::from_str(&r))
            .transpose()?,
        resolve_time: row.try_get("resolve_time")?,
        version: row.try_get("version")?,
        update_time: row.try_get("update_time")?,
    })
}

/// One search, as logged.
#[derive(Debug, Clone)]
pub struct SearchEntry {
    /// The query as typed.
    pub query: String,
    /// Its normalised form.
    pub normalized_query: String,
    /// The language asked for (may be empty).
    pub language: String,
    /// The product line restricted to (may be empty).
    pub product_line: String,
    /// The category restricted to, `categories/…` (may be empty).
    pub category: String,
    /// Hits found.
    pub result_count: i64,
    /// Who searched.
    pub actor: Actor,
    /// When.
    pub time: i64,
}

impl Store {
    /// Records `rating` (replacing the rater's earlier one under `rater_key`), moves the
    /// article's counts and publishes `ArticleRated`, in one transaction. Returns the rating
    /// stored and the counts after it.
    pub async fn rate(&self, rater_key: &str, mut rating: Rating) -> Result<(Rating, i64, i64)> {
        let mut tx = self.db().begin().await?;
        let existing = sqlx::query(&format!(
            "SELECT {RATING_COLUMNS} FROM article_ratings WHERE article_id = $1 AND rater_key = $2"
        ))
        .bind(rating.article.to_string())
        .bind(rater_key)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(rating_row)
        .transpose()?;
        let previous = existing.as_ref().map(|r| r.helpfulness);
        if let Some(existing) = &existing {
            rating.id = existing.id;
            rating.create_time = existing.create_time;
            sqlx::query(
                "UPDATE article_ratings SET helpfulness = $1, comment = $2, language = $3, version_id = $4,
                    rater = $5, update_time = $6 WHERE id = $7",
            )
            .bind(rating.helpfulness as i64)
            .bind(&rating.comment)
            .bind(&rating.language)
            .bind(rating.version.to_string())
            .bind(serde_json::to_string(&rating.rater)?)
            .bind(rating.update_time)
            .bind(rating.id.to_string())
            .execute(&mut *tx)
            .await?;
        } else {
            sqlx::query(&format!(
                "INSERT INTO article_ratings ({RATING_COLUMNS}, rater_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ))
            .bind(rating.id.to_string())
            .bind(rating.article.to_string())
            .bind(serde_json::to_string(&rating.rater)?)
            .bind(rating.helpfulness as i64)
            .bind(&rating.comment)
            .bind(&rating.language)
            .bind(rating.version.to_string())
            .bind(rating.create_time)
            .bind(rating.update_time)
            .bind(rater_key)
            .execute(&mut *tx)
            .await?;
        }
        let (helpful, not_helpful) = rating.helpfulness.count_change(previous);
        let row = sqlx::query(
            "UPDATE articles SET helpful_count = helpful_count + $1, not_helpful_count = not_helpful_count + $2
             WHERE id = $3 RETURNING helpful_count, not_helpful_count",
        )
        .bind(helpful)
        .bind(not_helpful)
        .bind(rating.article.to_string())
        .fetch_one(&mut *tx)
        .await?;
        let helpful: i64 = row.try_get("helpful_count")?;
        let not_helpful: i64 = row.try_get("not_helpful_count")?;
        events::article_rated(&rating, previous, helpful, not_helpful)
            .append(&mut tx)
            .await?;
        tx.commit().await?;
        Ok((rating, helpful, not_helpful))
    }

    /// A page of ratings, newest change first; of one article or (`None`) of all.
    pub async fn list_ratings(
        &self,
        article: Option<Uuid>,
        mut filter: Where,
        page: &Page,
    ) -> Result<Vec<Rating>> {
        if let Some(article) = article {
            let id = filter.arg(Arg::Text(article.to_string()));
            filter.push(format!("article_id = {id}"));
        }
        if let Some(after) = &page.after {
            let key = filter.arg(Arg::Int(after.int_key().unwrap_or(i64::MAX)));
            let id = filter.arg(Arg::Text(after.id.clone()));
            filter.push(format!(
                "(update_time < {key} OR (update_time = {key} AND id < {id}))"
            ));
        }
        let sql = format!(
            "SELECT {RATING_COLUMNS} FROM article_ratings{} ORDER BY update_time DESC, id DESC LIMIT {}",
            filter.sql(),
            page.limit()
        );
        let rows = bind_all(sqlx::query(&sql), &filter.args)
            .fetch_all(self.db().reader())
            .await?;
        rows.iter().map(rating_row).collect()
    }

    /// Logs a first-page search; one with no result is counted in its content gap (created
    /// or reopened as needed) and `ContentGapRecorded` is published, in one transaction.
    pub async fn log_search(&self, entry: &SearchEntry) -> Result<Option<ContentGap>> {
        let mut tx = self.db().begin().await?;
        sqlx::query(
            "INSERT INTO searches (id, time, query, normalized_query, language, product_line, category, result_count, actor_subject)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(entry.time)
        .bind(&entry.query)
        .bind(&entry.normalized_query)
        .bind(&entry.language)
        .bind(&entry.product_line)
        .bind(&entry.category)
        .bind(entry.result_count)
        .bind(&entry.actor.id)
        .execute(&mut *tx)
        .await?;
        if entry.result_count > 0 || entry.normalized_query.is_empty() {
            tx.commit().await?;
            return Ok(None);
        }
        let created = sqlx::query(&format!(
            "INSERT INTO content_gaps ({GAP_COLUMNS}) VALUES ($1, $2, $3, '[]', 0, '[]', $4, $4, 1, NULL, '', NULL, NULL, 1, $4)
             ON CONFLICT (normalized_query, language) DO NOTHING"
        ))
        .bind(Uuid::now_v7().to_string())
        .bind(&entry.normalized_query)
        .bind(&entry.language)
        .bind(entry.time)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        // Lock the row (PostgreSQL) before reading it back.
        sqlx::query(
            "UPDATE content_gaps SET update_time = $1 WHERE normalized_query = $2 AND language = $3",
        )
        .bind(entry.time)
        .bind(&entry.normalized_query)
        .bind(&entry.language)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(&format!(
            "SELECT {GAP_COLUMNS} FROM content_gaps WHERE normalized_query = $1 AND language = $2"
        ))
        .bind(&entry.normalized_query)
        .bind(&entry.language)
        .fetch_one(&mut *tx)
        .await?;
        let mut gap = gap_row(&row)?;
        let product_line = (!entry.product_line.is_empty()).then_some(entry.product_line.as_str());
        let reopened = gap.count(&entry.query, product_line, entry.time);
        sqlx::query(
            "UPDATE content_gaps SET sample_queries = $1, search_count = $2, product_lines = $3, last_seen = $4,
                state = $5, version = $6, update_time = $7 WHERE id = $8",
        )
        .bind(serde_json::to_string(&gap.sample_queries)?)
        .bind(gap.search_count)
        .bind(serde_json::to_string(&gap.product_lines)?)
        .bind(gap.last_seen)
        .bind(gap.state as i64)
        .bind(gap.version)
        .bind(gap.update_time)
        .bind(gap.id.to_string())
        .execute(&mut *tx)
        .await?;
        events::content_gap_recorded(&gap, entry, created, reopened)
            .append(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(Some(gap))
    }

    /// One content gap.
    pub async fn gap(&self, id: Uuid) -> Result<Option<ContentGap>> {
        let row = sqlx::query(&format!(
            "SELECT {GAP_COLUMNS} FROM content_gaps WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(self.db().reader())
        .await?;
        row.as_ref().map(gap_row).transpose()
    }

    /// A page of content gaps ordered by `column` descending, then id.
    pub async fn list_gaps(
        &self,
        mut filter: Where,
        column: &'static str,
        page: &Page,
    ) -> Result<Vec<ContentGap>> {
        if let Some(after) = &page.after {
            let key = filter.arg(Arg::Int(after.int_key().unwrap_or(i64::MAX)));
            let id = filter.arg(Arg::Text(after.id.clone()));
            filter.push(format!(
                "({column} < {key} OR ({column} = {key} AND id < {id}))"
            ));
        }
        let sql = format!(
            "SELECT {GAP_COLUMNS} FROM content_gaps{} ORDER BY {column} DESC, id DESC LIMIT {}",
            filter.sql(),
            page.limit()
        );
        let rows = bind_all(sqlx::query(&sql), &filter.args)
            .fetch_all(self.db().reader())
            .await?;
        rows.iter().map(gap_row).collect()
    }

    /// Saves a resolved or dismissed gap if its version is still `expected`.
    pub async fn save_gap(&self, gap: &ContentGap, expected: i64) -> Result<()> {
        let done = sqlx::query(
            "UPDATE content_gaps SET state = $1, resolving_article = $2, note = $3, resolver = $4, resolve_time = $5,
                version = $6, update_time = $7 WHERE id = $8 AND version = $9",
        )
        .bind(gap.state as i64)
        .bind(gap.resolving_article.map(|a| a.to_string()))
        .bind(&gap.note)
        .bind(gap.resolver.as_ref().map(serde_json::to_string).transpose()?)
        .bind(gap.resolve_time)
        .bind(gap.version)
        .bind(gap.update_time)
        .bind(gap.id.to_string())
        .bind(expected)
        .execute(self.db().writer())
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::StaleEtag(format!("contentGaps/{}", gap.id)));
        }
        Ok(())
    }

    /// Records a suggestion set with its articles and publishes `ArticlesSuggested`.
    pub async fn record_suggestions(&self, set: &events::SuggestionRecord) -> Result<()> {
        let mut tx = self.db().begin().await?;
        sqlx::query(
            "INSERT INTO suggestion_sets (id, time, language, product_line, channel, customer, ticket, actor_subject, outcome)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0)",
        )
        .bind(set.id.to_string())
        .bind(set.time)
        .bind(&set.language)
        .bind(&set.product_line)
        .bind(i64::from(set.channel))
        .bind(&set.customer)
        .bind(&set.ticket)
        .bind(&set.actor.id)
        .execute(&mut *tx)
        .await?;
        for (rank, hit) in set.hits.iter().enumerate() {
            #[allow(clippy::cast_possible_truncation)]
            let score = (hit.score * 1_000_000.0).round() as i64;
            sqlx::query(
                "INSERT INTO suggestion_items (set_id, rank, article_id, version_id, score_millionths) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(set.id.to_string())
            .bind(i64::try_from(rank).unwrap_or(i64::MAX))
            .bind(hit.article.to_string())
            .bind(hit.version.to_string())
            .bind(score)
            .execute(&mut *tx)
            .await?;
        }
        events::articles_suggested(set).append(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One suggestion set.
    pub async fn suggestion_set(&self, id: Uuid) -> Result<Option<SuggestionSet>> {
        let Some(row) =
            sqlx::query("SELECT actor_subject, outcome FROM suggestion_sets WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(self.db().reader())
                .await?
        else {
            return Ok(None);
        };
        let outcome = match row.try_get::<i64, _>("outcome")? {
            1 => Some(Outcome::Deflected),
            2 => Some(Outcome::TicketCreated),
            3 => Some(Outcome::Abandoned),
            _ => None,
        };
        let articles =
            sqlx::query("SELECT article_id FROM suggestion_items WHERE set_id = $1 ORDER BY rank")
                .bind(id.to_string())
                .fetch_all(self.db().reader())
                .await?
                .iter()
                .map(|r| uuid(&r.try_get::<String, _>("article_id")?))
                .collect::<Result<_>>()?;
        Ok(Some(SuggestionSet {
            id,
            actor_subject: row.try_get("actor_subject")?,
            articles,
            outcome,
        }))
    }

    /// Records the first outcome of a set; false when one was recorded already, or when the
    /// set is older than a day (it counts as abandoned).
    pub async fn record_outcome(
        &self,
        id: Uuid,
        outcome: Outcome,
        article: Option<Uuid>,
        ticket: Option<&str>,
        time: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE suggestion_sets SET outcome = $1, outcome_time = $2, outcome_article = $3, outcome_ticket = $4
             WHERE id = $5 AND outcome = 0 AND time >= $6",
        )
        .bind(outcome as i64)
        .bind(time)
        .bind(article.map(|a| a.to_string()))
        .bind(ticket)
        .bind(id.to_string())
        .bind(time - ABANDONED_AFTER)
        .execute(self.db().writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// Removes `customer` (`customers/{id}`) from ratings (rater, key and comment), suggestion
/// sets and the search log, in the consumer's transaction. Counts stay.
pub async fn erase_customer(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    customer: &str,
) -> Result<()> {
    let anonymous = serde_json::to_string(&Actor {
        kind: crate::domain::ActorKind::Customer,
        id: String::new(),
        name: String::new(),
    })?;
    sqlx::query(
        "UPDATE article_ratings SET rater = $1, rater_key = 'erased:' || id, comment = '' WHERE rater_key = $2",
    )
    .bind(anonymous)
    .bind(format!("principal:{customer}"))
    .execute(&mut **tx)
    .await?;
    for sql in [
        "UPDATE suggestion_sets SET customer = '' WHERE customer = $1",
        "UPDATE suggestion_sets SET actor_subject = '' WHERE actor_subject = $1",
        "UPDATE searches SET actor_subject = '' WHERE actor_subject = $1",
    ] {
        sqlx::query(sql).bind(customer).execute(&mut **tx).await?;
    }
    Ok(())
}

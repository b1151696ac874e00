//! Articles, their versions and history.

use aftercare_platform::request::Page;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use super::{Arg, IdempotencyKey, Store, Where, bind_all, claim, next_index_seq};
use crate::domain::{Actor, Article, ArticleState, Kind, Version, Visibility};
use crate::error::{Error, Result};
use crate::events::Outgoing;

const ARTICLE_COLUMNS: &str = "id, kind, visibility, category_id, product_lines, tags, reviewers, \
    default_language, state, author, last_review, version, view_count, helpful_count, \
    not_helpful_count, create_time, update_time, publish_time, archive_time";
const VERSION_META: &str = "id, article_id, number, language, title, '' AS body, change_note, \
    source_version, author, published, create_time";
const VERSION_FULL: &str = "id, article_id, number, language, title, body, change_note, \
    source_version, author, published, create_time";

/// How a list of articles is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArticleOrder {
    /// Newest first.
    CreateTime,
    /// Last changed first.
    UpdateTime,
    /// Most viewed first.
    ViewCount,
}

impl ArticleOrder {
    /// The column sorted on.
    pub fn column(self) -> &'static str {
        match self {
            Self::CreateTime => "create_time",
            Self::UpdateTime => "update_time",
            Self::ViewCount => "view_count",
        }
    }

    /// The sort key of `article`.
    pub fn key(self, article: &Article) -> i64 {
        match self {
            Self::CreateTime => article.create_time,
            Self::UpdateTime => article.update_time,
            Self::ViewCount => article.view_count,
        }
    }
}

/// What one write of an article does besides saving its row.
#[derive(Debug, Default)]
pub struct ArticleChange {
    /// A version to insert.
    pub new_version: Option<Version>,
    /// Rewrite the versions' published flags.
    pub published_flags: bool,
    /// Count a publication in the statistics.
    pub publication: bool,
    /// The history entry: action and detail.
    pub history: Option<(&'static str, Actor, String)>,
    /// Events to publish.
    pub events: Vec<Outgoing>,
    /// An idempotency key to claim for the resource named.
    pub key: Option<(IdempotencyKey, String)>,
}

fn uuid(text: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|_| Error::Corrupt(format!("bad id {text}")))
}

fn article_row(row: &AnyRow) -> Result<Article> {
    let json = |column: &str| -> Result<Vec<String>> {
        Ok(serde_json::from_str(&row.try_get::<String, _>(column)?)?)
    };
    let number = |column: &str| -> Result<i32> {
        i32::try_from(row.try_get::<i64, _>(column)?).map_err(|e| Error::Corrupt(e.to_string()))
    };
    let review: Option<String> = row.try_get("last_review")?;
    Ok(Article {
        id: uuid(&row.try_get::<String, _>("id")?)?,
        kind: Kind::from_number(number("kind")?).ok_or_else(|| Error::Corrupt("kind".into()))?,
        visibility: Visibility::from_number(number("visibility")?)
            .ok_or_else(|| Error::Corrupt("visibility".into()))?,
        category: row
            .try_get::<Option<String>, _>("category_id")?
            .map(|c| uuid(&c))
            .transpose()?,
        product_lines: json("product_lines")?,
        tags: json("tags")?,
        reviewers: json("reviewers")?,
        default_language: row.try_get("default_language")?,
        state: ArticleState::from_number(number("state")?)
            .ok_or_else(|| Error::Corrupt("state".into()))?,
        author: row.try_get("author")?,
        last_review: review.map(|r| serde_json::from_str(&r)).transpose()?,
        version: row.try_get("version")?,
        view_count: row.try_get("view_count")?,
        helpful_count: row.try_get("helpful_count")?,
        not_helpful_count: row.try_get("not_helpful_count")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
        publish_time: row.try_get("publish_time")?,
        archive_time: row.try_get("archive_time")?,
        versions: Vec::new(),
    })
}

fn version_row(row: &AnyRow) -> Result<Version> {
    Ok(Version {
        id: uuid(&row.try_get::<String, _>("id")?)?,
        article_id: uuid(&row.try_get::<String, _>("article_id")?)?,
        number: i32::try_from(row.try_get::<i64, _>("number")?)
            .map_err(|e| Error::Corrupt(e.to_string()))?,
        language: row.try_get("language")?,
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        change_note: row.try_get("change_note")?,
        source_version: row
            .try_get::<Option<String>, _>("source_version")?
            .map(|v| uuid(&v))
            .transpose()?,
        author: row.try_get("author")?,
        published: row.try_get::<i64, _>("published")? != 0,
        create_time: row.try_get("create_time")?,
    })
}

async fn insert_version(tx: &mut Transaction<'_, Any>, v: &Version) -> Result<()> {
    sqlx::query(
        "INSERT INTO article_versions (id, article_id, number, language, title, body, change_note, source_version, author, published, create_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(v.id.to_string())
    .bind(v.article_id.to_string())
    .bind(i64::from(v.number))
    .bind(&v.language)
    .bind(&v.title)
    .bind(&v.body)
    .bind(&v.change_note)
    .bind(v.source_version.map(|s| s.to_string()))
    .bind(&v.author)
    .bind(i64::from(v.published))
    .bind(v.create_time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_history(
    tx: &mut Transaction<'_, Any>,
    article: Uuid,
    action: &str,
    actor: &Actor,
    detail: &str,
    time: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO article_history (id, article_id, action, actor, detail, time) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(article.to_string())
    .bind(action)
    .bind(serde_json::to_string(actor)?)
    .bind(detail)
    .bind(time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Outcome of a create with an idempotency key.
#[derive(Debug)]
pub enum Created {
    /// Written now.
    New,
    /// The key was claimed before: the resource made then.
    Replay(String),
}

impl Store {
    /// Writes a new article and its first version together, or neither.
    pub async fn create_article(
        &self,
        article: &Article,
        key: Option<&IdempotencyKey>,
        actor: &Actor,
    ) -> Result<Created> {
        let mut tx = self.db().begin().await?;
        let name = format!("articles/{}", article.id);
        if let Some(key) = key
            && !claim(&mut tx, key, &name).await?
        {
            tx.rollback().await?;
            return self
                .replay(key)
                .await?
                .map(Created::Replay)
                .ok_or_else(|| Error::Corrupt("idempotency key without resource".into()));
        }
        let seq = next_index_seq(&mut tx).await?;
        sqlx::query(&format!(
            "INSERT INTO articles ({ARTICLE_COLUMNS}, live, index_seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
        ))
        .bind(article.id.to_string())
        .bind(article.kind as i64)
        .bind(article.visibility as i64)
        .bind(article.category.map(|c| c.to_string()))
        .bind(serde_json::to_string(&article.product_lines)?)
        .bind(serde_json::to_string(&article.tags)?)
        .bind(serde_json::to_string(&article.reviewers)?)
        .bind(&article.default_language)
        .bind(article.state as i64)
        .bind(&article.author)
        .bind(article.last_review.as_ref().map(serde_json::to_string).transpose()?)
        .bind(article.version)
        .bind(article.view_count)
        .bind(article.helpful_count)
        .bind(article.not_helpful_count)
        .bind(article.create_time)
        .bind(article.update_time)
        .bind(article.publish_time)
        .bind(article.archive_time)
        .bind(i64::from(article.live()))
        .bind(seq)
        .execute(&mut *tx)
        .await?;
        for version in &article.versions {
            insert_version(&mut tx, version).await?;
        }
        insert_history(
            &mut tx,
            article.id,
            "created",
            actor,
            "",
            article.create_time,
        )
        .await?;
        tx.commit().await?;
        Ok(Created::New)
    }

    /// Saves `article` if its stored version is still `expected` (else `StaleEtag`), with
    /// what `change` adds, in one transaction. False (nothing written) when the change's
    /// idempotency key was claimed by another request first.
    pub async fn save_article(
        &self,
        article: &Article,
        expected: i64,
        change: ArticleChange,
    ) -> Result<bool> {
        let mut tx = self.db().begin().await?;
        if let Some((key, name)) = &change.key
            && !claim(&mut tx, key, name).await?
        {
            tx.rollback().await?;
            return Ok(false);
        }
        let seq = next_index_seq(&mut tx).await?;
        let done = sqlx::query(
            "UPDATE articles SET kind = $1, visibility = $2, category_id = $3, product_lines = $4, tags = $5,
                reviewers = $6, state = $7, live = $8, last_review = $9, version = $10, update_time = $11,
                publish_time = $12, archive_time = $13, index_seq = $14
             WHERE id = $15 AND version = $16",
        )
        .bind(article.kind as i64)
        .bind(article.visibility as i64)
        .bind(article.category.map(|c| c.to_string()))
        .bind(serde_json::to_string(&article.product_lines)?)
        .bind(serde_json::to_string(&article.tags)?)
        .bind(serde_json::to_string(&article.reviewers)?)
        .bind(article.state as i64)
        .bind(i64::from(article.live()))
        .bind(article.last_review.as_ref().map(serde_json::to_string).transpose()?)
        .bind(article.version)
        .bind(article.update_time)
        .bind(article.publish_time)
        .bind(article.archive_time)
        .bind(seq)
        .bind(article.id.to_string())
        .bind(expected)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Err(Error::StaleEtag(format!("articles/{}", article.id)));
        }
        if let Some(version) = &change.new_version {
            insert_version(&mut tx, version).await?;
        }
        if change.published_flags {
            sqlx::query("UPDATE article_versions SET published = 0 WHERE article_id = $1")
                .bind(article.id.to_string())
                .execute(&mut *tx)
                .await?;
            for version in article.published_versions() {
                sqlx::query("UPDATE article_versions SET published = 1 WHERE id = $1")
                    .bind(version.id.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        if change.publication {
            sqlx::query(
                "INSERT INTO article_publications (id, article_id, time) VALUES ($1, $2, $3)",
            )
            .bind(Uuid::now_v7().to_string())
            .bind(article.id.to_string())
            .bind(article.update_time)
            .execute(&mut *tx)
            .await?;
        }
        if let Some((action, actor, detail)) = &change.history {
            insert_history(
                &mut tx,
                article.id,
                action,
                actor,
                detail,
                article.update_time,
            )
            .await?;
        }
        for event in &change.events {
            event.append(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes an article with its versions if its version is still `expected`.
    pub async fn delete_article(&self, id: Uuid, expected: i64) -> Result<()> {
        let mut tx = self.db().begin().await?;
        next_index_seq(&mut tx).await?;
        for table in ["article_history", "article_versions"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE article_id = $1"))
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        let done = sqlx::query("DELETE FROM articles WHERE id = $1 AND version = $2")
            .bind(id.to_string())
            .bind(expected)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Err(Error::StaleEtag(format!("articles/{id}")));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn with_versions(&self, mut article: Article, bodies: bool) -> Result<Article> {
        let columns = if bodies { VERSION_FULL } else { VERSION_META };
        let rows = sqlx::query(&format!(
            "SELECT {columns} FROM article_versions WHERE article_id = $1 ORDER BY number"
        ))
        .bind(article.id.to_string())
        .fetch_all(self.db().reader())
        .await?;
        article.versions = rows.iter().map(version_row).collect::<Result<_>>()?;
        Ok(article)
    }

    /// The article with the metadata of its versions (bodies not loaded).
    pub async fn article(&self, id: Uuid) -> Result<Option<Article>> {
        let row = sqlx::query(&format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(self.db().reader())
        .await?;
        match row {
            Some(row) => Ok(Some(self.with_versions(article_row(&row)?, false).await?)),
            None => Ok(None),
        }
    }

    /// The article with its published versions' bodies, for the index.
    pub async fn article_for_index(&self, id: Uuid) -> Result<Option<Article>> {
        let row = sqlx::query(&format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(self.db().reader())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut article = article_row(&row)?;
        let rows = sqlx::query(&format!(
            "SELECT {VERSION_FULL} FROM article_versions WHERE article_id = $1 AND published = 1 ORDER BY number"
        ))
        .bind(id.to_string())
        .fetch_all(self.db().reader())
        .await?;
        article.versions = rows.iter().map(version_row).collect::<Result<_>>()?;
        Ok(Some(article))
    }

    /// One version with its body.
    pub async fn version(&self, article: Uuid, id: Uuid) -> Result<Option<Version>> {
        let row = sqlx::query(&format!(
            "SELECT {VERSION_FULL} FROM article_versions WHERE article_id = $1 AND id = $2"
        ))
        .bind(article.to_string())
        .bind(id.to_string())
        .fetch_optional(self.db().reader())
        .await?;
        row.as_ref().map(version_row).transpose()
    }

    /// A page of articles matching `filter`, in `order` (descending, then id).
    pub async fn list_articles(
        &self,
        mut filter: Where,
        order: ArticleOrder,
        page: &Page,
    ) -> Result<Vec<Article>> {
        let column = order.column();
        if let Some(after) = &page.after {
            let key = filter.arg(Arg::Int(after.int_key().unwrap_or(i64::MAX)));
            let id = filter.arg(Arg::Text(after.id.clone()));
            filter.push(format!(
                "({column} < {key} OR ({column} = {key} AND id < {id}))"
            ));
        }
        let sql = format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles{} ORDER BY {column} DESC, id DESC LIMIT {}",
            filter.sql(),
            page.limit()
        );
        let rows = bind_all(sqlx::query(&sql), &filter.args)
            .fetch_all(self.db().reader())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(self.with_versions(article_row(row)?, false).await?);
        }
        Ok(out)
    }

    /// A page of an article's versions, highest number first.
    pub async fn list_versions(
        &self,
        article: Uuid,
        mut filter: Where,
        page: &Page,
    ) -> Result<Vec<Version>> {
        let id = filter.arg(Arg::Text(article.to_string()));
        filter.push(format!("article_id = {id}"));
        if let Some(after) = &page.after {
            let key = filter.arg(Arg::Int(after.int_key().unwrap_or(i64::MAX)));
            filter.push(format!("number < {key}"));
        }
        let sql = format!(
            "SELECT {VERSION_FULL} FROM article_versions{} ORDER BY number DESC LIMIT {}",
            filter.sql(),
            page.limit()
        );
        let rows = bind_all(sqlx::query(&sql), &filter.args)
            .fetch_all(self.db().reader())
            .await?;
        rows.iter().map(version_row).collect()
    }

    /// Articles changed after index sequence `after`, oldest change first, with their
    /// sequence numbers.
    pub async fn changed_since(&self, after: i64, limit: i64) -> Result<Vec<(i64, Uuid)>> {
        let rows = sqlx::query(
            "SELECT id, index_seq FROM articles WHERE index_seq > $1 ORDER BY index_seq LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(self.db().reader())
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("index_seq")?,
                    uuid(&row.try_get::<String, _>("id")?)?,
                ))
            })
            .collect()
    }

    /// The current index sequence.
    pub async fn index_seq(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT seq FROM index_sequence WHERE id = 1")
                .fetch_one(self.db().reader())
                .await?,
        )
    }

    /// Counts a reader's view.
    pub async fn record_view(&self, article: Uuid, language: &str, time: i64) -> Result<i64> {
        let mut tx = self.db().begin().await?;
        let count: i64 = sqlx::query_scalar(
            "UPDATE articles SET view_count = view_count + 1 WHERE id = $1 RETURNING view_count",
        )
        .bind(article.to_string())
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO article_views (id, article_id, language, time) VALUES ($1, $2, $3, $4)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(article.to_string())
        .bind(language)
        .bind(time)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(count)
    }

    /// How many articles (only live ones with `live_only`) are in one of `categories`.
    pub async fn articles_in(&self, categories: &[Uuid], live_only: bool) -> Result<i64> {
        let mut filter = Where::default();
        let list: Vec<String> = categories
            .iter()
            .map(|c| filter.arg(Arg::Text(c.to_string())))
            .collect();
        if list.is_empty() {
            return Ok(0);
        }
        filter.push(format!("category_id IN ({})", list.join(", ")));
        if live_only {
            filter.push("live = 1".into());
        }
        let sql = format!("SELECT COUNT(*) AS n FROM articles{}", filter.sql());
        let row = bind_all(sqlx::query(&sql), &filter.args)
            .fetch_one(self.db().reader())
            .await?;
        Ok(row.try_get("n")?)
    }
}

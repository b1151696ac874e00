//! Categories.

use std::collections::BTreeMap;

use aftercare_platform::request::Page;
use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::{Arg, IdempotencyKey, Store, Where, bind_all, claim};
use crate::domain::Category;
use crate::error::{Error, Result};
use crate::store::articles::Created;

const COLUMNS: &str =
    "id, parent_id, display_names, descriptions, display_order, version, create_time, update_time";

fn row_to_category(row: &AnyRow) -> Result<Category> {
    let id = |text: String| Uuid::parse_str(&text).map_err(|_| Error::Corrupt(text));
    Ok(Category {
        id: id(row.try_get("id")?)?,
        parent: row
            .try_get::<Option<String>, _>("parent_id")?
            .map(id)
            .transpose()?,
        display_names: serde_json::from_str(&row.try_get::<String, _>("display_names")?)?,
        descriptions: serde_json::from_str(&row.try_get::<String, _>("descriptions")?)?,
        display_order: i32::try_from(row.try_get::<i64, _>("display_order")?)
            .map_err(|e| Error::Corrupt(e.to_string()))?,
        version: row.try_get("version")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
    })
}

impl Store {
    /// Every category's parent.
    pub async fn category_parents(&self) -> Result<BTreeMap<Uuid, Option<Uuid>>> {
        let rows = sqlx::query("SELECT id, parent_id FROM categories")
            .fetch_all(self.db().reader())
            .await?;
        let mut out = BTreeMap::new();
        for row in rows {
            let id: String = row.try_get("id")?;
            let parent: Option<String> = row.try_get("parent_id")?;
            out.insert(
                Uuid::parse_str(&id).map_err(|_| Error::Corrupt(id.clone()))?,
                parent.and_then(|p| Uuid::parse_str(&p).ok()),
            );
        }
        Ok(out)
    }

    /// Writes a new category.
    pub async fn create_category(
        &self,
        category: &Category,
        key: Option<&IdempotencyKey>,
    ) -> Result<Created> {
        let mut tx = self.db().begin().await?;
        let name = format!("categories/{}", category.id);
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
        sqlx::query(&format!(
            "INSERT INTO categories ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(category.id.to_string())
        .bind(category.parent.map(|p| p.to_string()))
        .bind(serde_json::to_string(&category.display_names)?)
        .bind(serde_json::to_string(&category.descriptions)?)
        .bind(i64::from(category.display_order))
        .bind(category.version)
        .bind(category.create_time)
        .bind(category.update_time)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Created::New)
    }

    /// One category.
    pub async fn category(&self, id: Uuid) -> Result<Option<Category>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM categories WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.db().reader())
            .await?;
        row.as_ref().map(row_to_category).transpose()
    }

    /// A page of categories by display order, then id.
    pub async fn list_categories(&self, mut filter: Where, page: &Page) -> Result<Vec<Category>> {
        if let Some(after) = &page.after {
            let key = filter.arg(Arg::Int(after.int_key().unwrap_or(i64::MIN)));
            let id = filter.arg(Arg::Text(after.id.clone()));
            filter.push(format!(
                "(display_order > {key} OR (display_order = {key} AND id > {id}))"
            ));
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM categories{} ORDER BY display_order, id LIMIT {}",
            filter.sql(),
            page.limit()
        );
        let rows = bind_all(sqlx::query(&sql), &filter.args)
            .fetch_all(self.db().reader())
            .await?;
        rows.iter().map(row_to_category).collect()
    }

    /// Saves a changed category if its version is still `expected`.
    pub async fn save_category(&self, category: &Category, expected: i64) -> Result<()> {
        let done = sqlx::query(
            "UPDATE categories SET parent_id = $1, display_names = $2, descriptions = $3, display_order = $4,
                version = $5, update_time = $6 WHERE id = $7 AND version = $8",
        )
        .bind(category.parent.map(|p| p.to_string()))
        .bind(serde_json::to_string(&category.display_names)?)
        .bind(serde_json::to_string(&category.descriptions)?)
        .bind(i64::from(category.display_order))
        .bind(category.version)
        .bind(category.update_time)
        .bind(category.id.to_string())
        .bind(expected)
        .execute(self.db().writer())
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::StaleEtag(format!("categories/{}", category.id)));
        }
        Ok(())
    }

    /// Deletes a category with no children and no articles, if its version is `expected`.
    pub async fn delete_category(&self, id: Uuid, expected: i64) -> Result<()> {
        let mut tx = self.db().begin().await?;
        let name = format!("categories/{id}");
        let done = sqlx::query(
            "DELETE FROM categories WHERE id = $1 AND version = $2
               AND NOT EXISTS (SELECT 1 FROM categories c WHERE c.parent_id = $1)
               AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.category_id = $1)",
        )
        .bind(id.to_string())
        .bind(expected)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            tx.commit().await?;
            return Ok(());
        }
        tx.rollback().await?;
        match self.category(id).await? {
            None => Err(Error::not_found(crate::error::CATEGORY, name)),
            Some(c) if c.version != expected => Err(Error::StaleEtag(name)),
            Some(_) => Err(Error::FailedPrecondition {
                violation: "NOT_EMPTY",
                subject: name,
                description: "the category has child categories or articles".into(),
            }),
        }
    }
}

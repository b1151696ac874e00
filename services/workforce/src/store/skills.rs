//! The `skills` table.

use sqlx::Row as _;
use sqlx::any::AnyRow;
use uuid::Uuid;

use aftercare_platform::db::Database;

use super::{Conn, RequestKey, Where, claim, enum_value, skill_taught, uuid};
use crate::domain::names::skill_name;
use crate::domain::skill::{Category, Skill};
use crate::error::{Error, SKILL};

/// The skill with `id`, or `NOT_FOUND`.
pub async fn load_skill(conn: &mut Conn, id: Uuid) -> Result<Skill, Error> {
    find_skill(conn, id)
        .await?
        .ok_or_else(|| Error::not_found(SKILL, skill_name(id)))
}

/// Adds `skill` to the catalogue, claiming `key`, in one transaction; a replay answers the
/// skill the key made first. `ALREADY_EXISTS` when the category has the code.
pub async fn create_skill(
    db: &Database,
    skill: &Skill,
    key: Option<&RequestKey>,
) -> Result<Skill, Error> {
    let mut tx = db.begin().await?;
    if let Some(first) = claim(&mut tx, key, SKILL, skill.id, skill.create_time).await? {
        return load_skill(&mut tx, first).await;
    }
    if let Some(existing) = find_skill_by_code(&mut tx, skill.category, &skill.code).await? {
        return Err(Error::exists(
            SKILL,
            skill_name(existing.id),
            "the category already has this code",
        ));
    }
    if !insert_skill(&mut tx, skill).await? {
        return Err(Error::exists(
            SKILL,
            skill.code.clone(),
            "the category already has this code",
        ));
    }
    tx.commit().await?;
    tracing::info!(skill = %skill.id, "skill created");
    Ok(skill.clone())
}

/// Writes `skill` over the row still at `expected_version`, or `FAILED_PRECONDITION` (etag).
pub async fn save_skill(db: &Database, skill: &Skill, expected_version: i64) -> Result<(), Error> {
    let mut tx = db.begin().await?;
    if !update_skill(&mut tx, skill, expected_version).await? {
        return Err(Error::StaleEtag(skill_name(skill.id)));
    }
    tx.commit().await?;
    Ok(())
}

/// Deletes skill `id` at `expected_version`, in one transaction: refused while an agent
/// holds it or a course teaches it.
pub async fn remove_skill(db: &Database, id: Uuid, expected_version: i64) -> Result<(), Error> {
    let name = skill_name(id);
    let mut tx = db.begin().await?;
    let skill = load_skill(&mut tx, id).await?;
    if skill.version != expected_version {
        return Err(Error::StaleEtag(name));
    }
    if skill.agent_count > 0 {
        return Err(Error::dependents(
            name,
            format!(
                "{} agents hold this skill: remove it from them first",
                skill.agent_count
            ),
        ));
    }
    if skill_taught(&mut tx, id).await? {
        return Err(Error::dependents(
            name,
            "a course teaches this skill: change the course first",
        ));
    }
    if !delete_skill(&mut tx, id, expected_version).await? {
        return Err(Error::StaleEtag(name));
    }
    tx.commit().await?;
    tracing::info!(skill = %id, "skill deleted");
    Ok(())
}

const COLUMNS: &str = "id, display_name, category, code, description, version, create_time, \
    update_time, (SELECT COUNT(*) FROM agent_skills s JOIN agents a ON a.id = s.agent_id \
    WHERE s.skill_id = skills.id AND a.delete_time IS NULL) AS agent_count";

fn decode(row: &AnyRow) -> Result<Skill, sqlx::Error> {
    Ok(Skill {
        id: uuid(&row.try_get::<String, _>("id")?, "skills.id")?,
        display_name: row.try_get("display_name")?,
        category: enum_value(
            row.try_get("category")?,
            "skills.category",
            Category::from_number,
        )?,
        code: row.try_get("code")?,
        description: row.try_get("description")?,
        agent_count: row.try_get("agent_count")?,
        version: row.try_get("version")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
    })
}

/// Inserts a skill; false when the category already has the code.
async fn insert_skill(conn: &mut Conn, skill: &Skill) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "INSERT INTO skills (id, display_name, category, code, description, version,
            create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
    )
    .bind(skill.id.to_string())
    .bind(skill.display_name.clone())
    .bind(skill.category.number())
    .bind(skill.code.clone())
    .bind(skill.description.clone())
    .bind(skill.version)
    .bind(skill.create_time)
    .bind(skill.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Writes name and description over the row at `expected_version`.
async fn update_skill(
    conn: &mut Conn,
    skill: &Skill,
    expected_version: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE skills SET display_name = $3, description = $4, version = $5, update_time = $6
         WHERE id = $1 AND version = $2",
    )
    .bind(skill.id.to_string())
    .bind(expected_version)
    .bind(skill.display_name.clone())
    .bind(skill.description.clone())
    .bind(skill.version)
    .bind(skill.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Deletes a skill at `expected_version` that no agent holds (deleted agents' rows too).
async fn delete_skill(
    conn: &mut Conn,
    id: Uuid,
    expected_version: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM agent_skills WHERE skill_id = $1 AND agent_id IN (SELECT id FROM agents WHERE delete_time IS NOT NULL)")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    let result = sqlx::query("DELETE FROM skills WHERE id = $1 AND version = $2")
        .bind(id.to_string())
        .bind(expected_version)
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// The skill with `id`.
pub async fn find_skill(conn: &mut Conn, id: Uuid) -> Result<Option<Skill>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM skills WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(decode)
        .transpose()
}

/// The skill of a category with a code.
pub async fn find_skill_by_code(
    conn: &mut Conn,
    category: Category,
    code: &str,
) -> Result<Option<Skill>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM skills WHERE category = $1 AND code = $2"
    ))
    .bind(category.number())
    .bind(code.to_owned())
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(decode)
    .transpose()
}

/// Every skill (the routing index's catalogue).
pub(super) async fn all_skills(conn: &mut Conn) -> Result<Vec<Skill>, sqlx::Error> {
    sqlx::query(
        "SELECT id, display_name, category, code, description, version, create_time,
            update_time, 0 AS agent_count
         FROM skills",
    )
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(decode)
    .collect()
}

/// A page of skills ordered by category and code.
#[derive(Debug, Clone)]
pub struct SkillQuery {
    /// Only this category.
    pub category: Option<Category>,
    /// Only this code.
    pub code: Option<String>,
    /// After this (category, code).
    pub after: Option<(i64, String)>,
    /// Rows to read.
    pub limit: i64,
}

/// A page of skills.
pub async fn list_skills(conn: &mut Conn, q: &SkillQuery) -> Result<Vec<Skill>, sqlx::Error> {
    let mut w = Where::default();
    if let Some(category) = q.category {
        let c = w.int(category.number());
        w.push(format!("category = {c}"));
    }
    if let Some(code) = &q.code {
        let c = w.text(code.to_lowercase());
        w.push(format!("LOWER(code) = {c}"));
    }
    if let Some((category, code)) = &q.after {
        let c = w.int(*category);
        let k = w.text(code.clone());
        w.push(format!(
            "(category > {c} OR (category = {c} AND code > {k}))"
        ));
    }
    let limit = w.int(q.limit);
    let sql = format!(
        "SELECT {COLUMNS} FROM skills WHERE {} ORDER BY category, code LIMIT {limit}",
        w.sql()
    );
    w.bind(sqlx::query(&sql))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(decode)
        .collect()
}

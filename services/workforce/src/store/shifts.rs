//! The `shifts` table.

use std::collections::HashMap;

use sqlx::Row as _;
use sqlx::any::AnyRow;
use uuid::Uuid;

use aftercare_platform::db::Database;

use super::{Conn, RequestKey, Where, claim, corrupt, shift_in_use, uuid};
use crate::domain::names::shift_name;
use crate::domain::shift::Shift;
use crate::error::{Error, SHIFT};

const COLUMNS: &str = "id, display_name, time_zone, region, intervals, exceptions, version, \
    create_time, update_time, (SELECT COUNT(*) FROM agents a WHERE a.shift_id = shifts.id \
    AND a.delete_time IS NULL) AS agent_count";

/// Every shift, by id.
pub(super) async fn all_shifts(conn: &mut Conn) -> Result<HashMap<Uuid, Shift>, sqlx::Error> {
    sqlx::query(
        "SELECT id, display_name, time_zone, region, intervals, exceptions, version,
            create_time, update_time, 0 AS agent_count FROM shifts",
    )
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| decode(row).map(|shift| (shift.id, shift)))
    .collect()
}

/// The shift with `id`, or `NOT_FOUND`.
pub async fn load_shift(conn: &mut Conn, id: Uuid) -> Result<Shift, Error> {
    find_shift(conn, id)
        .await?
        .ok_or_else(|| Error::not_found(SHIFT, shift_name(id)))
}

/// Creates `shift`, claiming `key`, in one transaction; a replay answers the shift the key
/// made first.
pub async fn create_shift(
    db: &Database,
    shift: &Shift,
    key: Option<&RequestKey>,
) -> Result<Shift, Error> {
    let mut tx = db.begin().await?;
    if let Some(first) = claim(&mut tx, key, SHIFT, shift.id, shift.create_time).await? {
        return load_shift(&mut tx, first).await;
    }
    insert_shift(&mut tx, shift).await?;
    tx.commit().await?;
    tracing::info!(shift = %shift.id, "shift created");
    Ok(shift.clone())
}

/// Writes `shift` over the row still at `expected_version`, or `FAILED_PRECONDITION` (etag).
pub async fn save_shift(db: &Database, shift: &Shift, expected_version: i64) -> Result<(), Error> {
    let mut tx = db.begin().await?;
    if !update_shift(&mut tx, shift, expected_version).await? {
        return Err(Error::StaleEtag(shift_name(shift.id)));
    }
    tx.commit().await?;
    tracing::info!(shift = %shift.id, version = shift.version, "shift updated");
    Ok(())
}

/// Deletes shift `id` at `expected_version`, in one transaction: refused while agents are
/// on it.
pub async fn remove_shift(db: &Database, id: Uuid, expected_version: i64) -> Result<(), Error> {
    let name = shift_name(id);
    let mut tx = db.begin().await?;
    let shift = load_shift(&mut tx, id).await?;
    if shift.version != expected_version {
        return Err(Error::StaleEtag(name));
    }
    if shift_in_use(&mut tx, id).await? {
        return Err(Error::dependents(
            name,
            "agents are on this shift: move them first",
        ));
    }
    if !delete_shift(&mut tx, id, expected_version).await? {
        return Err(Error::StaleEtag(name));
    }
    tx.commit().await?;
    tracing::info!(shift = %id, "shift deleted");
    Ok(())
}

fn decode(row: &AnyRow) -> Result<Shift, sqlx::Error> {
    let zone: String = row.try_get("time_zone")?;
    let intervals: String = row.try_get("intervals")?;
    let exceptions: String = row.try_get("exceptions")?;
    Ok(Shift {
        id: uuid(&row.try_get::<String, _>("id")?, "shifts.id")?,
        display_name: row.try_get("display_name")?,
        time_zone: zone
            .parse()
            .map_err(|_| corrupt("shifts.time_zone", &zone))?,
        region: row.try_get("region")?,
        intervals: serde_json::from_str(&intervals)
            .map_err(|err| corrupt("shifts.intervals", err))?,
        exceptions: serde_json::from_str(&exceptions)
            .map_err(|err| corrupt("shifts.exceptions", err))?,
        agent_count: row.try_get("agent_count")?,
        version: row.try_get("version")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
    })
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".into())
}

/// Inserts a shift.
async fn insert_shift(conn: &mut Conn, shift: &Shift) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO shifts (id, display_name, display_key, time_zone, region, intervals,
            exceptions, version, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(shift.id.to_string())
    .bind(shift.display_name.clone())
    .bind(shift.display_name.to_lowercase())
    .bind(shift.time_zone.name().to_owned())
    .bind(shift.region.clone())
    .bind(json(&shift.intervals))
    .bind(json(&shift.exceptions))
    .bind(shift.version)
    .bind(shift.create_time)
    .bind(shift.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes `shift` over the row at `expected_version`.
async fn update_shift(
    conn: &mut Conn,
    shift: &Shift,
    expected_version: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE shifts SET display_name = $3, display_key = $4, time_zone = $5, region = $6,
            intervals = $7, exceptions = $8, version = $9, update_time = $10
         WHERE id = $1 AND version = $2",
    )
    .bind(shift.id.to_string())
    .bind(expected_version)
    .bind(shift.display_name.clone())
    .bind(shift.display_name.to_lowercase())
    .bind(shift.time_zone.name().to_owned())
    .bind(shift.region.clone())
    .bind(json(&shift.intervals))
    .bind(json(&shift.exceptions))
    .bind(shift.version)
    .bind(shift.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Deletes the shift at `expected_version`.
async fn delete_shift(
    conn: &mut Conn,
    id: Uuid,
    expected_version: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("DELETE FROM shifts WHERE id = $1 AND version = $2")
        .bind(id.to_string())
        .bind(expected_version)
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// The shift with `id`.
pub async fn find_shift(conn: &mut Conn, id: Uuid) -> Result<Option<Shift>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM shifts WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(decode)
        .transpose()
}

/// The shifts with these ids.
pub async fn load_shifts(
    conn: &mut Conn,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Shift>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut w = Where::default();
    let list = w.ids_in("id", ids);
    let sql = format!(
        "SELECT id, display_name, time_zone, region, intervals, exceptions, version,
            create_time, update_time, 0 AS agent_count FROM shifts WHERE {list}"
    );
    w.bind(sqlx::query(&sql))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| decode(row).map(|shift| (shift.id, shift)))
        .collect()
}

/// A page of shifts ordered by display name.
#[derive(Debug, Clone)]
pub struct ShiftQuery {
    /// Only this region.
    pub region: Option<String>,
    /// Only this zone.
    pub time_zone: Option<String>,
    /// After this (display key, id).
    pub after: Option<(String, String)>,
    /// Rows to read.
    pub limit: i64,
}

/// A page of shifts.
pub async fn list_shifts(conn: &mut Conn, q: &ShiftQuery) -> Result<Vec<Shift>, sqlx::Error> {
    let mut w = Where::default();
    if let Some(region) = &q.region {
        let r = w.text(region.clone());
        w.push(format!("region = {r}"));
    }
    if let Some(zone) = &q.time_zone {
        let z = w.text(zone.clone());
        w.push(format!("time_zone = {z}"));
    }
    if let Some((key, id)) = &q.after {
        let k = w.text(key.clone());
        let i = w.text(id.clone());
        w.push(format!(
            "(display_key > {k} OR (display_key = {k} AND id > {i}))"
        ));
    }
    let limit = w.int(q.limit);
    let sql = format!(
        "SELECT {COLUMNS} FROM shifts WHERE {} ORDER BY display_key, id LIMIT {limit}",
        w.sql()
    );
    w.bind(sqlx::query(&sql))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(decode)
        .collect()
}

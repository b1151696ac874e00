//! Merging: moving what a merged customer owns to the survivor, and the `merges` record.

use sqlx::Row as _;
use uuid::Uuid;

use super::{Conn, from_json, json, uuid};

/// A merge as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeRecord {
    /// The survivor.
    pub survivor: Uuid,
    /// The merged customer.
    pub merged: Uuid,
    /// Identities moved.
    pub identities_moved: i64,
    /// Timeline entries moved.
    pub timeline_entries_moved: i64,
    /// Loyalty points transferred.
    pub loyalty_points_transferred: i64,
    /// Customers merged into `merged` earlier, now pointing at the survivor.
    pub repointed: Vec<Uuid>,
    /// When.
    pub merge_time: i64,
}

/// Moves every identity of `from` to `to`; returns how many moved.
pub async fn move_identities(conn: &mut Conn, from: Uuid, to: Uuid) -> Result<i64, sqlx::Error> {
    // A claim of the merged customer that the survivor already has (as a claim or an
    // identity) adds nothing.
    sqlx::query(
        "DELETE FROM identities WHERE customer_id = $1 AND claimed = 1 AND EXISTS (
            SELECT 1 FROM identities other WHERE other.customer_id = $2
                AND other.channel = identities.channel AND other.provider = identities.provider
                AND other.handle = identities.handle)",
    )
    .bind(from.to_string())
    .bind(to.to_string())
    .execute(&mut *conn)
    .await?;
    let result = sqlx::query("UPDATE identities SET customer_id = $2 WHERE customer_id = $1")
        .bind(from.to_string())
        .bind(to.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(i64::try_from(result.rows_affected()).unwrap_or(i64::MAX))
}

/// Points the customers merged into `from` at `to` (flattening the chain); returns them.
pub async fn repoint_merged(
    conn: &mut Conn,
    from: Uuid,
    to: Uuid,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let rows = sqlx::query("SELECT id FROM customers WHERE merged_into = $1 ORDER BY id")
        .bind(from.to_string())
        .fetch_all(&mut *conn)
        .await?;
    let ids = rows
        .iter()
        .map(|row| uuid(&row.try_get::<String, _>("id")?, "id"))
        .collect::<Result<Vec<_>, _>>()?;
    sqlx::query(
        "UPDATE customers SET merged_into = $2, version = version + 1 WHERE merged_into = $1",
    )
    .bind(from.to_string())
    .bind(to.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(ids)
}

/// Records a merge; returns false when `request_id` was already used.
pub async fn insert_merge(
    conn: &mut Conn,
    record: &MergeRecord,
    request_id: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "INSERT INTO merges (id, request_id, survivor_id, merged_id, identities_moved,
            timeline_entries_moved, loyalty_points_transferred, repointed, merge_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT DO NOTHING",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(request_id.map(str::to_owned))
    .bind(record.survivor.to_string())
    .bind(record.merged.to_string())
    .bind(record.identities_moved)
    .bind(record.timeline_entries_moved)
    .bind(record.loyalty_points_transferred)
    .bind(json(&record.repointed))
    .bind(record.merge_time)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// The merge done with `request_id`.
pub async fn find_merge_by_request(
    conn: &mut Conn,
    request_id: &str,
) -> Result<Option<MergeRecord>, sqlx::Error> {
    let Some(row) = sqlx::query(
        "SELECT survivor_id, merged_id, identities_moved, timeline_entries_moved,
            loyalty_points_transferred, repointed, merge_time
         FROM merges WHERE request_id = $1",
    )
    .bind(request_id.to_owned())
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(MergeRecord {
        survivor: uuid(&row.try_get::<String, _>("survivor_id")?, "survivor_id")?,
        merged: uuid(&row.try_get::<String, _>("merged_id")?, "merged_id")?,
        identities_moved: row.try_get("identities_moved")?,
        timeline_entries_moved: row.try_get("timeline_entries_moved")?,
        loyalty_points_transferred: row.try_get("loyalty_points_transferred")?,
        repointed: from_json(&row, "repointed")?,
        merge_time: row.try_get("merge_time")?,
    }))
}

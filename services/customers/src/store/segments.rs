//! The `segments` table.

use sqlx::Row as _;
use sqlx::any::AnyRow;
use uuid::Uuid;

use aftercare_platform::db::Database;
use aftercare_platform::time::now_micros;

use super::{Conn, CustomerQuery, Where, check_request, count_customers, remember, uuid};
use crate::domain::access::Access;
use crate::domain::filter::{Condition, Scalar};
use crate::domain::idempotency::RequestKey;
use crate::domain::query::SegmentField;
use crate::domain::segment::Description;
use crate::domain::segment::{Segment, SegmentChange, SegmentSpec};
use crate::domain::values::{DisplayName, SegmentFilter, TextQuery};
use crate::error::Error;

const COLUMNS: &str = "id, display_name, description, filter, query, customer_count, count_time, \
    version, create_time, update_time";

/// Inserts `segment` unless `request_id` was used; returns whether it was inserted.
pub async fn insert_segment(
    conn: &mut Conn,
    segment: &Segment,
    request_id: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let s = &segment.spec;
    let result = sqlx::query(
        "INSERT INTO segments (id, request_id, display_name, description, filter, query,
            customer_count, count_time, version, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT DO NOTHING",
    )
    .bind(segment.id.to_string())
    .bind(request_id.map(str::to_owned))
    .bind(s.display_name.as_str())
    .bind(s.description.as_str())
    .bind(s.filter.as_str())
    .bind(s.query.as_str())
    .bind(segment.customer_count)
    .bind(segment.count_time)
    .bind(segment.version)
    .bind(segment.create_time)
    .bind(segment.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Writes `segment` (version bumped) if the row still has `expected_version`.
pub async fn update_segment(
    conn: &mut Conn,
    segment: &Segment,
    expected_version: i64,
) -> Result<bool, sqlx::Error> {
    let s = &segment.spec;
    let result = sqlx::query(
        "UPDATE segments SET display_name = $3, description = $4, filter = $5, query = $6,
            customer_count = $7, count_time = $8, version = $9, update_time = $10
         WHERE id = $1 AND version = $2",
    )
    .bind(segment.id.to_string())
    .bind(expected_version)
    .bind(s.display_name.as_str())
    .bind(s.description.as_str())
    .bind(s.filter.as_str())
    .bind(s.query.as_str())
    .bind(segment.customer_count)
    .bind(segment.count_time)
    .bind(segment.version)
    .bind(segment.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Stores a fresh count (not a change of the segment: the version stays).
pub async fn set_segment_count(
    conn: &mut Conn,
    id: Uuid,
    count: i64,
    time: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE segments SET customer_count = $2, count_time = $3 WHERE id = $1")
        .bind(id.to_string())
        .bind(count)
        .bind(time)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes segment `id` if it has `expected_version`.
pub async fn delete_segment(
    conn: &mut Conn,
    id: Uuid,
    expected_version: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("DELETE FROM segments WHERE id = $1 AND version = $2")
        .bind(id.to_string())
        .bind(expected_version)
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Segment `id`.
pub async fn find_segment(conn: &mut Conn, id: Uuid) -> Result<Option<Segment>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM segments WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| segment_from_row(&row))
        .transpose()
}

/// The segment created with `request_id`.
pub async fn find_segment_by_request(
    conn: &mut Conn,
    request_id: &str,
) -> Result<Option<Segment>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM segments WHERE request_id = $1"
    ))
    .bind(request_id.to_owned())
    .fetch_optional(&mut *conn)
    .await?
    .map(|row| segment_from_row(&row))
    .transpose()
}

/// What `ListSegments` asks for.
#[derive(Debug, Clone)]
pub struct SegmentQuery {
    /// Filter conditions.
    pub conditions: Vec<Condition<SegmentField>>,
    /// Only segments after this (display name, id).
    pub after: Option<(String, String)>,
    /// At most this many.
    pub limit: u32,
}

/// Segments by display name.
pub async fn list_segments(
    conn: &mut Conn,
    query: &SegmentQuery,
) -> Result<Vec<Segment>, sqlx::Error> {
    let mut filter = Where::default();
    for condition in &query.conditions {
        let column = match condition.field {
            SegmentField::DisplayName => "display_name",
            SegmentField::CreateTime => "create_time",
            SegmentField::UpdateTime => "update_time",
        };
        filter.compare(column, condition.op, &condition.value);
    }
    if let Some((name, id)) = &query.after {
        let name = filter.arg(Scalar::Text(name.clone()));
        let id = filter.arg(Scalar::Text(id.clone()));
        filter.push(format!(
            "(display_name > {name} OR (display_name = {name} AND id > {id}))"
        ));
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM segments WHERE {} ORDER BY display_name, id LIMIT {}",
        filter.sql(),
        query.limit
    );
    filter
        .bind(sqlx::query(&sql))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(segment_from_row)
        .collect()
}

fn segment_from_row(row: &AnyRow) -> Result<Segment, sqlx::Error> {
    Ok(Segment {
        id: uuid(&row.try_get::<String, _>("id")?, "id")?,
        spec: SegmentSpec {
            display_name: DisplayName::trusted(row.try_get("display_name")?),
            description: Description::trusted(row.try_get("description")?),
            filter: SegmentFilter::trusted(row.try_get("filter")?),
            query: TextQuery::trusted(row.try_get("query")?),
        },
        customer_count: row.try_get("customer_count")?,
        count_time: row.try_get("count_time")?,
        version: row.try_get("version")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
    })
}

/// Every segment's id.
pub async fn segment_ids(conn: &mut Conn) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query("SELECT id FROM segments ORDER BY id")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| uuid(&row.try_get::<String, _>("id")?, "id"))
        .collect()
}

/// The number of non-merged customers `spec` (of segment `id`) selects, across every region.
pub async fn count_selected(conn: &mut Conn, id: Uuid, spec: &SegmentSpec) -> Result<i64, Error> {
    let criteria = spec.criteria().map_err(|err| {
        Error::state(
            format!("segments/{id}"),
            format!("the stored filter no longer parses: {err}"),
        )
    })?;
    let query = CustomerQuery {
        conditions: criteria.conditions,
        text: criteria.text,
        show_merged: false,
        reach: Access::All,
        before: None,
        limit: 0,
    };
    Ok(count_customers(conn, &query).await?)
}

/// Recounts segment `id` in its own transaction; returns whether it still exists.
pub async fn refresh_segment_count(db: &Database, id: Uuid) -> Result<bool, Error> {
    let mut tx = db.begin().await?;
    let Some(segment) = find_segment(&mut tx, id).await? else {
        return Ok(false);
    };
    let count = count_selected(&mut tx, segment.id, &segment.spec).await?;
    set_segment_count(&mut tx, segment.id, count, now_micros()).await?;
    tx.commit().await?;
    Ok(true)
}

/// Resource type of a segment, for `ResourceInfo`.
const SEGMENT: &str = "aftercare.customers.v1.Segment";

fn segment_name(id: Uuid) -> String {
    format!("segments/{id}")
}

/// The segment `id`, or `NOT_FOUND`.
pub async fn load_segment(conn: &mut Conn, id: Uuid) -> Result<Segment, Error> {
    find_segment(conn, id)
        .await?
        .ok_or_else(|| Error::not_found(SEGMENT, segment_name(id)))
}

/// Creates a segment of `spec` with its first count, in one transaction; with an
/// idempotency `key`, the segment made first when the caller sent it before.
pub async fn create_segment(
    db: &Database,
    spec: SegmentSpec,
    key: Option<&RequestKey>,
) -> Result<Segment, Error> {
    let scoped = key.map(RequestKey::scoped);
    let request_id = scoped.as_deref();
    let mut tx = db.begin().await?;
    check_request(&mut tx, key).await?;
    if let Some(request_id) = request_id
        && let Some(existing) = find_segment_by_request(&mut tx, request_id).await?
    {
        return Ok(existing);
    }
    let now = now_micros();
    let id = Uuid::now_v7();
    let segment = Segment {
        id,
        customer_count: count_selected(&mut tx, id, &spec).await?,
        spec,
        count_time: now,
        version: 1,
        create_time: now,
        update_time: now,
    };
    if !insert_segment(&mut tx, &segment, request_id).await? {
        tx.rollback().await?;
        let mut conn = db.reader().acquire().await?;
        check_request(&mut conn, key).await?;
        let existing = find_segment_by_request(&mut conn, request_id.unwrap_or_default())
            .await?
            .ok_or_else(|| Error::state("segments", "a concurrent create failed; retry"))?;
        return Ok(existing);
    }
    remember(&mut tx, key).await?;
    tx.commit().await?;
    tracing::info!(segment = %segment.id, count = segment.customer_count, "segment created");
    Ok(segment)
}

/// Applies `changes` to segment `id` at `version` and recounts it, in one transaction.
pub async fn update_segment_at(
    db: &Database,
    id: Uuid,
    version: i64,
    changes: Vec<SegmentChange>,
) -> Result<Segment, Error> {
    let mut tx = db.begin().await?;
    let mut segment = load_segment(&mut tx, id).await?;
    let name = segment_name(segment.id);
    if segment.version != version {
        return Err(Error::StaleEtag(name));
    }
    if segment.spec.apply(changes) {
        let now = now_micros();
        segment.customer_count = count_selected(&mut tx, segment.id, &segment.spec).await?;
        segment.count_time = now;
        segment.version += 1;
        segment.update_time = now;
        if !update_segment(&mut tx, &segment, version).await? {
            return Err(Error::StaleEtag(name));
        }
        tx.commit().await?;
        tracing::info!(segment = %segment.id, "segment updated");
    }
    Ok(segment)
}

/// Deletes segment `id` at `version`.
pub async fn delete_segment_at(db: &Database, id: Uuid, version: i64) -> Result<(), Error> {
    let mut tx = db.begin().await?;
    let segment = load_segment(&mut tx, id).await?;
    if segment.version != version || !delete_segment(&mut tx, segment.id, version).await? {
        return Err(Error::StaleEtag(segment_name(segment.id)));
    }
    tx.commit().await?;
    tracing::info!(segment = %segment.id, "segment deleted");
    Ok(())
}

/// Recounts segment `id` now, in one transaction; returns the count and its time.
pub async fn recount_segment(db: &Database, id: Uuid) -> Result<(i64, i64), Error> {
    let mut tx = db.begin().await?;
    let segment = load_segment(&mut tx, id).await?;
    let customer_count = count_selected(&mut tx, segment.id, &segment.spec).await?;
    let now = now_micros();
    set_segment_count(&mut tx, segment.id, customer_count, now).await?;
    tx.commit().await?;
    Ok((customer_count, now))
}

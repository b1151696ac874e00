//! The `timeline_entries` table.

use crate::domain::wire::{Actor, ActorKind};
use sqlx::Row as _;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::{Conn, Where, enum_column, uuid};
use crate::domain::filter::{Condition, Scalar};
use crate::domain::query::TimelineField;
use crate::domain::timeline::TimelineEntry;

const COLUMNS: &str = "id, customer_id, event_id, source_service, event_type, subject, summary, \
    occur_time, region, channel, actor_type, actor_id, actor_name, create_time";

/// Inserts `entry` unless the customer already has an entry for its event; returns whether
/// it was inserted.
pub async fn insert_timeline_entry(
    conn: &mut Conn,
    entry: &TimelineEntry,
) -> Result<bool, sqlx::Error> {
    let (actor_type, actor_id, actor_name) = split_actor(entry.actor.as_ref());
    let result = sqlx::query(
        "INSERT INTO timeline_entries (id, customer_id, event_id, source_service, event_type,
            subject, summary, occur_time, region, channel, actor_type, actor_id, actor_name,
            create_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT DO NOTHING",
    )
    .bind(entry.id.to_string())
    .bind(entry.customer.to_string())
    .bind(entry.event_id.clone())
    .bind(entry.source_service.clone())
    .bind(entry.event_type.clone())
    .bind(entry.subject.clone())
    .bind(entry.summary.clone())
    .bind(entry.occur_time)
    .bind(entry.region.clone())
    .bind(entry.channel as i64)
    .bind(actor_type)
    .bind(actor_id)
    .bind(actor_name)
    .bind(entry.create_time)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Moves `from`'s entries to `to` (dropping those of events `to` already has); returns how
/// many moved.
pub async fn move_timeline(conn: &mut Conn, from: Uuid, to: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "DELETE FROM timeline_entries WHERE customer_id = $1 AND event_id IN
            (SELECT event_id FROM timeline_entries WHERE customer_id = $2)",
    )
    .bind(from.to_string())
    .bind(to.to_string())
    .execute(&mut *conn)
    .await?;
    let result = sqlx::query("UPDATE timeline_entries SET customer_id = $2 WHERE customer_id = $1")
        .bind(from.to_string())
        .bind(to.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(i64::try_from(result.rows_affected()).unwrap_or(i64::MAX))
}

/// Blanks the summary and actor of `customer`'s entries; returns how many.
pub async fn anonymise_timeline(conn: &mut Conn, customer: Uuid) -> Result<i64, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE timeline_entries SET summary = '', actor_type = 0, actor_id = '', actor_name = ''
         WHERE customer_id = $1",
    )
    .bind(customer.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(i64::try_from(result.rows_affected()).unwrap_or(i64::MAX))
}

/// How many of `customer`'s entries came from other services.
pub async fn count_foreign_timeline(conn: &mut Conn, customer: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM timeline_entries WHERE customer_id = $1 AND source_service <> 'customers'",
    )
    .bind(customer.to_string())
    .fetch_one(&mut *conn)
    .await
}

/// What `ListTimelineEntries` asks for.
#[derive(Debug, Clone)]
pub struct TimelineQuery {
    /// The customer.
    pub customer: Uuid,
    /// Filter conditions.
    pub conditions: Vec<Condition<TimelineField>>,
    /// Only entries before this (occur time, id).
    pub before: Option<(i64, String)>,
    /// At most this many (`None`: all).
    pub limit: Option<u32>,
}

/// A customer's entries, newest first.
pub async fn list_timeline(
    conn: &mut Conn,
    query: &TimelineQuery,
) -> Result<Vec<TimelineEntry>, sqlx::Error> {
    let mut filter = Where::default();
    let arg = filter.arg(Scalar::Text(query.customer.to_string()));
    filter.push(format!("customer_id = {arg}"));
    for condition in &query.conditions {
        let column = match condition.field {
            TimelineField::EventType => "event_type",
            TimelineField::SourceService => "source_service",
            TimelineField::Subject => "subject",
            TimelineField::Channel => "channel",
            TimelineField::Region => "region",
            TimelineField::OccurTime => "occur_time",
        };
        filter.compare(column, condition.op, &condition.value);
    }
    if let Some((time, id)) = &query.before {
        let time = filter.arg(Scalar::Int(*time));
        let id = filter.arg(Scalar::Text(id.clone()));
        filter.push(format!(
            "(occur_time < {time} OR (occur_time = {time} AND id < {id}))"
        ));
    }
    let limit = query
        .limit
        .map(|l| format!(" LIMIT {l}"))
        .unwrap_or_default();
    let sql = format!(
        "SELECT {COLUMNS} FROM timeline_entries WHERE {} ORDER BY occur_time DESC, id DESC{limit}",
        filter.sql()
    );
    filter
        .bind(sqlx::query(&sql))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(entry_from_row)
        .collect()
}

/// An actor as three columns; `None` is type 0 with empty texts.
pub(super) fn split_actor(actor: Option<&Actor>) -> (i64, String, String) {
    match actor {
        Some(actor) => (
            actor.kind as i64,
            actor.id.clone(),
            actor.display_name.clone(),
        ),
        None => (0, String::new(), String::new()),
    }
}

/// The actor in `actor_type`, `actor_id`, `actor_name`.
pub(super) fn actor_from_row(row: &AnyRow) -> Result<Option<Actor>, sqlx::Error> {
    let kind: i64 = row.try_get("actor_type")?;
    if kind == 0 {
        return Ok(None);
    }
    Ok(Some(Actor {
        kind: i32::try_from(kind)
            .ok()
            .and_then(|kind| ActorKind::try_from(kind).ok())
            .unwrap_or_default(),
        id: row.try_get("actor_id")?,
        display_name: row.try_get("actor_name")?,
    }))
}

fn entry_from_row(row: &AnyRow) -> Result<TimelineEntry, sqlx::Error> {
    Ok(TimelineEntry {
        id: uuid(&row.try_get::<String, _>("id")?, "id")?,
        customer: uuid(&row.try_get::<String, _>("customer_id")?, "customer_id")?,
        event_id: row.try_get("event_id")?,
        source_service: row.try_get("source_service")?,
        event_type: row.try_get("event_type")?,
        subject: row.try_get("subject")?,
        summary: row.try_get("summary")?,
        occur_time: row.try_get("occur_time")?,
        region: row.try_get("region")?,
        channel: enum_column(row, "channel")?,
        actor: actor_from_row(row)?,
        create_time: row.try_get("create_time")?,
    })
}

//! A ticket's history.

use aftercare_platform::db::Database;
use sqlx::Row;
use uuid::Uuid;

use crate::domain::{Actor, ActorKind, Comparison, PageToken, TicketId};
use crate::error::{Error, Result};

use super::{Arg, Sql, corrupt, push_keyset};

/// A stored history entry.
#[derive(Debug, Clone)]
pub struct HistoryRow {
    /// Its id.
    pub id: Uuid,
    /// `HistoryEventKind` name without prefix.
    pub event_kind: String,
    /// Who.
    pub actor: Actor,
    /// What changed.
    pub changes: Vec<crate::domain::FieldChange>,
    /// Why.
    pub reason: String,
    /// The message concerned.
    pub message: String,
    /// The other ticket concerned.
    pub related_ticket: String,
    /// The after-sales case concerned.
    pub after_sales_case: String,
    /// When.
    pub create_time: i64,
}

/// Which history entries to list.
#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    /// `event_kind` conditions.
    pub event_kind: Vec<(Comparison, String)>,
    /// `actor.type` conditions.
    pub actor_type: Vec<(Comparison, ActorKind)>,
    /// `actor.id` conditions.
    pub actor_id: Vec<(Comparison, String)>,
    /// Entries changing these fields.
    pub field: Vec<(Comparison, String)>,
    /// Time bounds.
    pub create_time: Vec<(Comparison, i64)>,
}

/// A page of a ticket's history, oldest first.
pub async fn list_history(
    db: &Database,
    ticket: TicketId,
    query: &HistoryQuery,
    after: Option<&PageToken>,
    limit: u32,
) -> Result<Vec<HistoryRow>> {
    let mut sql = Sql::new(
        "SELECT id, event_kind, actor_type, actor_id, actor_name, changes, reason, message, \
         related_ticket, after_sales_case, create_time FROM ticket_history WHERE ticket_id = ",
    );
    sql.arg(Arg::Text(ticket.to_string()));
    for (op, kind) in &query.event_kind {
        sql.push(&format!(" AND event_kind {} ", op.sql()));
        sql.arg(Arg::Text(kind.clone()));
    }
    for (op, kind) in &query.actor_type {
        sql.push(&format!(" AND actor_type {} ", op.sql()));
        sql.arg(Arg::Text(kind.as_str().to_owned()));
    }
    for (op, id) in &query.actor_id {
        sql.push(&format!(" AND actor_id {} ", op.sql()));
        sql.arg(Arg::Text(id.clone()));
    }
    for (op, field) in &query.field {
        let not = if *op == Comparison::Ne { "NOT " } else { "" };
        sql.push(&format!(" AND fields {not}LIKE "));
        sql.arg(Arg::Text(format!("%,{field},%")));
    }
    for (op, time) in &query.create_time {
        sql.push(&format!(" AND create_time {} ", op.sql()));
        sql.arg(Arg::Int(*time));
    }
    push_keyset(&mut sql, "create_time", after, false);
    sql.push(" LIMIT ");
    sql.arg(Arg::Int(i64::from(limit) + 1));
    let rows = sql.query().fetch_all(db.reader()).await?;
    rows.iter()
        .map(|row| {
            let id: String = row.try_get("id")?;
            let actor_type: String = row.try_get("actor_type")?;
            Ok(HistoryRow {
                id: Uuid::parse_str(&id).map_err(|_| corrupt("history id", &id))?,
                event_kind: row.try_get("event_kind")?,
                actor: Actor {
                    kind: ActorKind::parse(&actor_type)
                        .ok_or_else(|| corrupt("actor", &actor_type))?,
                    id: row.try_get("actor_id")?,
                    display_name: row.try_get("actor_name")?,
                },
                changes: serde_json::from_str(&row.try_get::<String, _>("changes")?)
                    .map_err(|e| Error::Corrupt(format!("history changes: {e}")))?,
                reason: row.try_get("reason")?,
                message: row.try_get("message")?,
                related_ticket: row.try_get("related_ticket")?,
                after_sales_case: row.try_get("after_sales_case")?,
                create_time: row.try_get("create_time")?,
            })
        })
        .collect()
}

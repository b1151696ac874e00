//! All SQL of the service, one query set for SQLite and PostgreSQL (through `sqlx::Any`).
//!
//! Every write runs in one transaction that also writes the ticket's history and its events
//! (outbox), so a change, its history and its events commit together or not at all. A ticket
//! write is conditional on the version it was read at (`WHERE id = $1 AND version = $2`):
//! zero rows means someone else changed it meanwhile (or it is gone) and nothing is written.

mod cases;
mod erasure;
mod history;
mod idempotency;
mod links;
mod messages;
mod sla;
mod stats;
mod tickets;

use sqlx::{Any, Transaction};
use uuid::Uuid;

use crate::domain::IdempotencyKey;
use crate::domain::{Actor, Change, PageToken, Ticket, WireEnum};
use crate::error::{Error, Result};
use crate::events::{self, Committed};

pub use cases::{CaseCondition, CaseCreated, create_case, get_case, list_cases, save_case};
pub use erasure::erase_customer;
use messages::{MESSAGE_COLUMNS, insert_message, message_from_row};
use tickets::{TICKET_COLUMNS, push_criterion, ticket_from_row, update_row, write_tags};

pub use history::{HistoryQuery, HistoryRow, list_history};
pub use idempotency::key_use;
pub use links::{LinkRow, MergePart, create_link, delete_link, get_link, list_links, merge};
pub use messages::{MessageQuery, get_message, list_messages};
pub use sla::{
    CalendarCreated, SlaStanding, all_calendars, all_policies, calendar_in_use,
    clear_recompute_mark, create_calendar, create_policy, delete_calendar, delete_policy,
    get_calendar, get_policy, list_calendars, set_up_defaults, sla_setup, sla_standing,
    tickets_due_for_sweep, tickets_marked_for_recompute, tickets_resolved_before, update_calendar,
    update_policy,
};
pub use stats::{StatsQuery, ticket_stats};
pub use tickets::{
    Created, TicketOrder, create_ticket, get_ticket, get_ticket_in, list_tickets, save_ticket,
    save_ticket_in,
};

/// A value to bind.
#[derive(Debug, Clone)]
enum Arg {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
}

/// A query under construction: SQL text with `$n` placeholders and their values.
#[derive(Debug, Default)]
struct Sql {
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            args: Vec::new(),
        }
    }

    fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `arg`.
    fn arg(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        self.text.push_str(&format!("${}", self.args.len()));
        self
    }

    fn query(&self) -> sqlx::query::Query<'_, Any, sqlx::any::AnyArguments<'_>> {
        let mut query = sqlx::query(&self.text);
        for arg in &self.args {
            query = match arg {
                Arg::Text(v) => query.bind(v.as_str()),
                Arg::OptText(v) => query.bind(v.as_deref()),
                Arg::Int(v) => query.bind(*v),
                Arg::OptInt(v) => query.bind(*v),
            };
        }
        query
    }
}

fn corrupt(what: &str, value: &str) -> Error {
    Error::Corrupt(format!("{what} `{value}`"))
}

fn wire<E: WireEnum>(text: &str) -> Result<E> {
    E::parse(text).ok_or_else(|| corrupt(E::PREFIX, text))
}

fn ranked<E: WireEnum>(rank: i64) -> Result<E> {
    E::from_rank(rank as i32).ok_or_else(|| corrupt(E::PREFIX, &rank.to_string()))
}

fn flag(value: bool) -> i64 {
    i64::from(value)
}

/// Writes history entries, messages and events for `changes`.
async fn record(
    tx: &mut Transaction<'_, Any>,
    ticket: &Ticket,
    changes: Vec<Change>,
    actor: &Actor,
    message_key: Option<&IdempotencyKey>,
) -> Result<Committed> {
    for change in &changes {
        if let Change::MessageAdded { message, .. } = change {
            if let Some(key) = message_key
                && !idempotency::claim(tx, key, &message.id.to_string(), message.create_time)
                    .await?
            {
                return Err(Error::KeyTaken);
            }
            insert_message(tx, message).await?;
        }
        let Some(entry) = change.history() else {
            continue;
        };
        let fields: String = entry
            .changes
            .iter()
            .map(|c| format!(",{}", c.field))
            .chain([",".to_owned()])
            .collect();
        let changes_json = serde_json::to_string(&entry.changes)
            .map_err(|e| Error::Corrupt(format!("history changes: {e}")))?;
        sqlx::query(
            "INSERT INTO ticket_history (id, ticket_id, event_kind, actor_type, actor_id, \
             actor_name, changes, fields, reason, message, related_ticket, after_sales_case, \
             create_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(ticket.id.to_string())
        .bind(entry.kind)
        .bind(actor.kind.as_str())
        .bind(&actor.id)
        .bind(&actor.display_name)
        .bind(changes_json)
        .bind(fields)
        .bind(entry.reason)
        .bind(entry.message)
        .bind(entry.related_ticket)
        .bind(entry.after_sales_case)
        .bind(ticket.update_time)
        .execute(&mut **tx)
        .await?;
    }
    events::publish(tx, ticket, changes, actor).await
}

fn push_keyset(sql: &mut Sql, key: &str, after: Option<&PageToken>, descending: bool) {
    if let Some(token) = after {
        let op = if descending { "<" } else { ">" };
        sql.push(&format!(" AND ({key}, id) {op} ("));
        sql.arg(Arg::Int(token.int_key().unwrap_or_default()));
        sql.push(", ");
        sql.arg(Arg::Text(token.id.clone()));
        sql.push(")");
    }
    let dir = if descending { "DESC" } else { "ASC" };
    sql.push(&format!(" ORDER BY {key} {dir}, id {dir}"));
}

//! All SQL of the service, one query set for SQLite and PostgreSQL (through `sqlx::Any`).
//!
//! Every write runs in one transaction that also writes the ticket's history and its events
//! (outbox), so a change, its history and its events commit together or not at all. A ticket
//! write is conditional on the version it was read at (`WHERE id = $1 AND version = $2`):
//! zero rows means someone else changed it meanwhile (or it is gone) and nothing is written.

mod cases;
mod links;
mod sla;

use aftercare_platform::db::Database;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use crate::domain::SlaSetup;
use crate::domain::{
    Access, Actor, ActorKind, Attachment, Change, ChannelIdentity, Comparison, FieldValue,
    PageToken, Product, Sla, Ticket, TicketCriterion, TicketField, TicketId, TicketMessage,
    WireEnum,
};
use crate::domain::{
    AgentName, Channel, CustomerName, EscalationLevel, ExternalId, Kind, LanguageCode,
    MessageFormat, Priority, Region, ServiceCentre, Status, SubKind, Tags, TeamName, Visibility,
};
use crate::error::{Error, Result};
use crate::events::{self, Committed};

pub use cases::{
    CaseCondition, CaseCreated, case_by_request_id, create_case, get_case, list_cases, save_case,
};
pub use links::{LinkRow, MergePart, create_link, delete_link, get_link, list_links, merge};
pub use sla::{
    CalendarCreated, all_calendars, all_policies, calendar_in_use, clear_recompute_mark,
    create_calendar, create_policy, delete_calendar, delete_policy, get_calendar, get_policy,
    list_calendars, tickets_due_for_sweep, tickets_marked_for_recompute, tickets_resolved_before,
    update_calendar, update_policy,
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

const TICKET_COLUMNS: &str = "id, number, customer, customer_display_name, customer_tier, \
    channel, identity_channel, identity_handle, identity_provider, external_id, subject, \
    description, kind, sub_kind, priority, classification, status, product_line, \
    product_model, product_serial, region, service_centre, language_code, assignee, team, \
    escalation_level, tags, sla_policy, sla_calendar, sla_state, first_response_due, \
    resolution_due, sla_first_response_at_risk, sla_resolution_at_risk, \
    sla_first_response_at_risk_time, sla_resolution_at_risk_time, first_response_breached, \
    resolution_breached, sla_paused_business, sla_first_response_business, \
    sla_resolution_business, \
    sla_pause_time, first_response_time, resolve_time, merged_into, resolution_summary, \
    reopen_count, creator_type, creator_id, creator_name, version, create_time, update_time, \
    close_time";

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

fn ticket_from_row(row: &AnyRow) -> Result<Ticket> {
    let text = |column: &str| -> Result<String> { Ok(row.try_get::<String, _>(column)?) };
    let opt_text =
        |column: &str| -> Result<Option<String>> { Ok(row.try_get::<Option<String>, _>(column)?) };
    let int = |column: &str| -> Result<i64> { Ok(row.try_get::<i64, _>(column)?) };
    let opt_int =
        |column: &str| -> Result<Option<i64>> { Ok(row.try_get::<Option<i64>, _>(column)?) };
    let id = text("id")?;
    let identity = match (opt_text("identity_channel")?, opt_text("identity_handle")?) {
        (Some(channel), Some(handle)) => Some(ChannelIdentity {
            channel: wire(&channel)?,
            handle,
            provider: opt_text("identity_provider")?.unwrap_or_default(),
        }),
        _ => None,
    };
    let classification = serde_json::from_str(&text("classification")?)
        .map_err(|e| Error::Corrupt(format!("classification: {e}")))?;
    let tags: Vec<String> =
        serde_json::from_str(&text("tags")?).map_err(|e| Error::Corrupt(format!("tags: {e}")))?;
    let creator_type = text("creator_type")?;
    Ok(Ticket {
        id: TicketId(Uuid::parse_str(&id).map_err(|_| corrupt("ticket id", &id))?),
        number: int("number")?,
        customer: CustomerName::parse(&text("customer")?).map_err(Error::Corrupt)?,
        customer_display_name: text("customer_display_name")?,
        customer_tier: text("customer_tier")?,
        channel: wire::<Channel>(&text("channel")?)?,
        identity,
        external_id: opt_text("external_id")?
            .map(|e| ExternalId::parse(&e))
            .transpose()
            .map_err(Error::Corrupt)?,
        subject: text("subject")?,
        description: text("description")?,
        kind: wire::<Kind>(&text("kind")?)?,
        sub_kind: opt_text("sub_kind")?
            .map(|s| wire::<SubKind>(&s))
            .transpose()?,
        priority: ranked::<Priority>(int("priority")?)?,
        classification,
        status: wire::<Status>(&text("status")?)?,
        product: Product {
            product_line: text("product_line")?,
            model: text("product_model")?,
            serial_number: text("product_serial")?,
        },
        region: Region::parse(&text("region")?).map_err(Error::Corrupt)?,
        service_centre: opt_text("service_centre")?
            .map(|s| ServiceCentre::parse(&s))
            .transpose()
            .map_err(Error::Corrupt)?,
        language_code: opt_text("language_code")?
            .map(|s| LanguageCode::parse(&s))
            .transpose()
            .map_err(Error::Corrupt)?,
        assignee: opt_text("assignee")?
            .map(|s| AgentName::parse(&s))
            .transpose()
            .map_err(Error::Corrupt)?,
        team: opt_text("team")?
            .map(|s| TeamName::parse(&s))
            .transpose()
            .map_err(Error::Corrupt)?,
        escalation_level: ranked::<EscalationLevel>(int("escalation_level")?)?,
        tags: Tags::from_stored(tags),
        sla: Sla {
            policy: opt_text("sla_policy")?,
            calendar: opt_text("sla_calendar")?,
            first_response_due: opt_int("first_response_due")?,
            resolution_due: opt_int("resolution_due")?,
            first_response_at_risk_time: opt_int("sla_first_response_at_risk_time")?,
            resolution_at_risk_time: opt_int("sla_resolution_at_risk_time")?,
            first_response_at_risk: int("sla_first_response_at_risk")? != 0,
            resolution_at_risk: int("sla_resolution_at_risk")? != 0,
            first_response_breached: int("first_response_breached")? != 0,
            resolution_breached: int("resolution_breached")? != 0,
            pause_time: opt_int("sla_pause_time")?,
            first_response_time: opt_int("first_response_time")?,
            resolve_time: opt_int("resolve_time")?,
            paused_business: int("sla_paused_business")?,
            first_response_business: opt_int("sla_first_response_business")?,
            resolution_business: opt_int("sla_resolution_business")?,
        },
        merged_into: opt_text("merged_into")?
            .map(|s| TicketId::parse_name(&s))
            .transpose()
            .map_err(Error::Corrupt)?,
        resolution_summary: text("resolution_summary")?,
        reopen_count: int("reopen_count")? as i32,
        creator: Actor {
            kind: ActorKind::parse(&creator_type).ok_or_else(|| corrupt("actor", &creator_type))?,
            id: text("creator_id")?,
            display_name: text("creator_name")?,
        },
        version: int("version")?,
        create_time: int("create_time")?,
        update_time: int("update_time")?,
        close_time: opt_int("close_time")?,
    })
}

/// The values of every mutable column, in the order of [`UPDATE_TICKET`]'s placeholders
/// `$3..`.
fn mutable_args(ticket: &Ticket) -> Result<Vec<Arg>> {
    let tags = serde_json::to_string(ticket.tags.as_slice())
        .map_err(|e| Error::Corrupt(format!("tags: {e}")))?;
    let classification = serde_json::to_string(&ticket.classification)
        .map_err(|e| Error::Corrupt(format!("classification: {e}")))?;
    let sla = &ticket.sla;
    Ok(vec![
        Arg::OptText(ticket.external_id.as_ref().map(ToString::to_string)),
        Arg::Text(ticket.subject.clone()),
        Arg::Text(ticket.description.clone()),
        Arg::Text(ticket.kind.as_str().to_owned()),
        Arg::OptText(ticket.sub_kind.map(|s| s.as_str().to_owned())),
        Arg::Int(i64::from(ticket.priority.rank())),
        Arg::Text(classification),
        Arg::Text(ticket.status.as_str().to_owned()),
        Arg::Text(ticket.product.product_line.clone()),
        Arg::Text(ticket.product.model.clone()),
        Arg::Text(ticket.product.serial_number.clone()),
        Arg::Text(ticket.region.to_string()),
        Arg::OptText(ticket.service_centre.as_ref().map(ToString::to_string)),
        Arg::OptText(ticket.language_code.as_ref().map(ToString::to_string)),
        Arg::OptText(ticket.assignee.as_ref().map(ToString::to_string)),
        Arg::OptText(ticket.team.as_ref().map(ToString::to_string)),
        Arg::Int(i64::from(ticket.escalation_level.rank())),
        Arg::Text(tags),
        Arg::OptText(sla.policy.clone()),
        Arg::OptText(sla.calendar.clone()),
        Arg::Text(sla.state(ticket.status).as_str().to_owned()),
        Arg::OptInt(sla.first_response_due),
        Arg::OptInt(sla.resolution_due),
        Arg::Int(flag(sla.at_risk())),
        Arg::Int(flag(sla.first_response_at_risk)),
        Arg::Int(flag(sla.resolution_at_risk)),
        Arg::OptInt(sla.first_response_at_risk_time),
        Arg::OptInt(sla.resolution_at_risk_time),
        Arg::OptInt(sla.next_check(ticket.status)),
        Arg::Int(sla.paused_business),
        Arg::OptInt(sla.first_response_business),
        Arg::OptInt(sla.resolution_business),
        Arg::Int(flag(sla.first_response_breached)),
        Arg::Int(flag(sla.resolution_breached)),
        Arg::OptInt(sla.pause_time),
        Arg::OptInt(sla.first_response_time),
        Arg::OptInt(sla.resolve_time),
        Arg::OptText(ticket.merged_into.map(TicketId::name)),
        Arg::Text(ticket.resolution_summary.clone()),
        Arg::Int(i64::from(ticket.reopen_count)),
        Arg::Int(ticket.update_time),
        Arg::OptInt(ticket.close_time),
    ])
}

const MUTABLE_COLUMNS: &[&str] = &[
    "external_id",
    "subject",
    "description",
    "kind",
    "sub_kind",
    "priority",
    "classification",
    "status",
    "product_line",
    "product_model",
    "product_serial",
    "region",
    "service_centre",
    "language_code",
    "assignee",
    "team",
    "escalation_level",
    "tags",
    "sla_policy",
    "sla_calendar",
    "sla_state",
    "first_response_due",
    "resolution_due",
    "sla_at_risk",
    "sla_first_response_at_risk",
    "sla_resolution_at_risk",
    "sla_first_response_at_risk_time",
    "sla_resolution_at_risk_time",
    "sla_next_check",
    "sla_paused_business",
    "sla_first_response_business",
    "sla_resolution_business",
    "first_response_breached",
    "resolution_breached",
    "sla_pause_time",
    "first_response_time",
    "resolve_time",
    "merged_into",
    "resolution_summary",
    "reopen_count",
    "update_time",
    "close_time",
];

/// What [`create_ticket`] did.
#[derive(Debug)]
pub enum Created {
    /// The ticket was made, with these committed changes.
    New(Ticket, Committed),
    /// A ticket with the same request id existed already.
    Existing(Ticket),
}

/// The ticket made earlier with `request_id`, if any.
pub async fn ticket_by_request_id(db: &Database, request_id: &str) -> Result<Option<Ticket>> {
    let row = sqlx::query(&format!(
        "SELECT {TICKET_COLUMNS} FROM tickets WHERE request_id = $1"
    ))
    .bind(request_id)
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(ticket_from_row).transpose()
}

/// Inserts a new ticket with its number, tags, history and events. With a `request_id`
/// already used (also by a concurrent call), nothing is written and the existing ticket is
/// returned.
pub async fn create_ticket(
    db: &Database,
    mut ticket: Ticket,
    request_id: Option<&str>,
    changes: Vec<Change>,
    actor: &Actor,
    follow_up_of: Option<&Ticket>,
) -> Result<Created> {
    let mut tx = db.begin().await?;
    let number: i64 = sqlx::query_scalar(
        "UPDATE ticket_counter SET value = value + 1 WHERE id = 1 RETURNING value",
    )
    .fetch_one(&mut *tx)
    .await?;
    ticket.number = number;
    let identity = ticket.identity.as_ref();
    let mut sql = Sql::new(
        "INSERT INTO tickets (id, number, request_id, customer, customer_display_name, customer_tier, channel, identity_channel, identity_handle, identity_provider, creator_type, creator_id, creator_name, version, create_time, ",
    );
    sql.push(&MUTABLE_COLUMNS.join(", ")).push(") VALUES (");
    let fixed = [
        Arg::Text(ticket.id.to_string()),
        Arg::Int(number),
        Arg::OptText(request_id.map(ToOwned::to_owned)),
        Arg::Text(ticket.customer.to_string()),
        Arg::Text(ticket.customer_display_name.clone()),
        Arg::Text(ticket.customer_tier.clone()),
        Arg::Text(ticket.channel.as_str().to_owned()),
        Arg::OptText(identity.map(|i| i.channel.as_str().to_owned())),
        Arg::OptText(identity.map(|i| i.handle.clone())),
        Arg::OptText(identity.map(|i| i.provider.clone())),
        Arg::Text(ticket.creator.kind.as_str().to_owned()),
        Arg::Text(ticket.creator.id.clone()),
        Arg::Text(ticket.creator.display_name.clone()),
        Arg::Int(ticket.version),
        Arg::Int(ticket.create_time),
    ];
    for (index, arg) in fixed.into_iter().chain(mutable_args(&ticket)?).enumerate() {
        if index > 0 {
            sql.push(", ");
        }
        sql.arg(arg);
    }
    sql.push(") ON CONFLICT (request_id) DO NOTHING");
    let inserted = sql.query().execute(&mut *tx).await?.rows_affected();
    if inserted == 0 {
        tx.rollback().await?;
        let request_id = request_id.unwrap_or_default();
        return ticket_by_request_id(db, request_id)
            .await?
            .map(Created::Existing)
            .ok_or_else(|| {
                Error::Corrupt(format!(
                    "request id {request_id} conflicts but has no ticket"
                ))
            });
    }
    write_tags(&mut tx, &ticket, true).await?;
    if let Some(other) = follow_up_of {
        links::follow_up(&mut tx, &ticket, other, actor).await?;
    }
    let committed = record(&mut tx, &ticket, changes, actor, None).await?;
    tx.commit().await?;
    Ok(Created::New(ticket, committed))
}

async fn write_tags(tx: &mut Transaction<'static, Any>, ticket: &Ticket, new: bool) -> Result<()> {
    let id = ticket.id.to_string();
    if !new {
        sqlx::query("DELETE FROM ticket_tags WHERE ticket_id = $1")
            .bind(&id)
            .execute(&mut **tx)
            .await?;
    }
    for tag in ticket.tags.as_slice() {
        sqlx::query("INSERT INTO ticket_tags (tag, ticket_id) VALUES ($1, $2)")
            .bind(tag)
            .bind(&id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Writes history entries, messages and events for `changes`.
async fn record(
    tx: &mut Transaction<'static, Any>,
    ticket: &Ticket,
    changes: Vec<Change>,
    actor: &Actor,
    message_request_id: Option<&str>,
) -> Result<Committed> {
    for change in &changes {
        if let Change::MessageAdded { message, .. } = change {
            insert_message(tx, message, message_request_id).await?;
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

async fn insert_message(
    tx: &mut Transaction<'static, Any>,
    message: &TicketMessage,
    request_id: Option<&str>,
) -> Result<()> {
    let attachments = serde_json::to_string(&message.attachments)
        .map_err(|e| Error::Corrupt(format!("attachments: {e}")))?;
    sqlx::query(
        "INSERT INTO ticket_messages (id, ticket_id, request_id, visibility, author_type, \
         author_id, author_name, body, format, channel, attachments, source_ticket, create_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(message.id.to_string())
    .bind(message.ticket.to_string())
    .bind(request_id)
    .bind(message.visibility.as_str())
    .bind(message.author.kind.as_str())
    .bind(&message.author.id)
    .bind(&message.author.display_name)
    .bind(&message.body)
    .bind(message.format.as_str())
    .bind(message.channel.map(|c| c.as_str()))
    .bind(attachments)
    .bind(message.source_ticket.map(TicketId::name))
    .bind(message.create_time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One ticket.
pub async fn get_ticket(db: &Database, id: TicketId) -> Result<Option<Ticket>> {
    let row = sqlx::query(&format!(
        "SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(ticket_from_row).transpose()
}

/// Writes `ticket` as changed from the version it was read at (`ticket.version`), with the
/// history and events of `changes`; returns it at its new version. A message added by the
/// changes is stored with `message_request_id` (unique: a retry finds it). `StaleEtag` when the stored version moved
/// on, `NotFound` when the ticket is gone: nothing is written then.
pub async fn save_ticket(
    db: &Database,
    mut ticket: Ticket,
    changes: Vec<Change>,
    actor: &Actor,
    message_request_id: Option<&str>,
) -> Result<(Ticket, Committed)> {
    let mut tx = db.begin().await?;
    if !update_row(&mut tx, &ticket).await? {
        tx.rollback().await?;
        return Err(match get_ticket(db, ticket.id).await? {
            Some(_) => Error::StaleEtag(ticket.name()),
            None => Error::ticket_not_found(ticket.name()),
        });
    }
    ticket.version += 1;
    if changes
        .iter()
        .any(|c| matches!(c, Change::TagsChanged { .. }))
    {
        write_tags(&mut tx, &ticket, false).await?;
    }
    let committed = record(&mut tx, &ticket, changes, actor, message_request_id).await?;
    tx.commit().await?;
    Ok((ticket, committed))
}

/// Writes the mutable columns of `ticket` if it is still at `ticket.version` (raising the
/// version); `false` when it is not.
async fn update_row(tx: &mut Transaction<'static, Any>, ticket: &Ticket) -> Result<bool> {
    let mut sql = Sql::new("UPDATE tickets SET version = version + 1");
    for (column, arg) in MUTABLE_COLUMNS.iter().zip(mutable_args(ticket)?) {
        sql.push(&format!(", {column} = "));
        sql.arg(arg);
    }
    sql.push(" WHERE id = ");
    sql.arg(Arg::Text(ticket.id.to_string()));
    sql.push(" AND version = ");
    sql.arg(Arg::Int(ticket.version));
    Ok(sql.query().execute(&mut **tx).await?.rows_affected() == 1)
}

/// The message written earlier with `request_id` on `ticket`, if any.
pub async fn message_by_request_id(
    db: &Database,
    ticket: TicketId,
    request_id: &str,
) -> Result<Option<TicketMessage>> {
    let row = sqlx::query(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM ticket_messages WHERE request_id = $1 AND ticket_id = $2"
    ))
    .bind(request_id)
    .bind(ticket.to_string())
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(message_from_row).transpose()
}

const MESSAGE_COLUMNS: &str = "id, ticket_id, visibility, author_type, author_id, author_name, \
    body, format, channel, attachments, source_ticket, create_time";

fn message_from_row(row: &AnyRow) -> Result<TicketMessage> {
    let id: String = row.try_get("id")?;
    let ticket: String = row.try_get("ticket_id")?;
    let author_type: String = row.try_get("author_type")?;
    let attachments: Vec<Attachment> =
        serde_json::from_str(&row.try_get::<String, _>("attachments")?)
            .map_err(|e| Error::Corrupt(format!("attachments: {e}")))?;
    Ok(TicketMessage {
        id: Uuid::parse_str(&id).map_err(|_| corrupt("message id", &id))?,
        ticket: TicketId(Uuid::parse_str(&ticket).map_err(|_| corrupt("ticket id", &ticket))?),
        visibility: wire::<Visibility>(&row.try_get::<String, _>("visibility")?)?,
        author: Actor {
            kind: ActorKind::parse(&author_type).ok_or_else(|| corrupt("actor", &author_type))?,
            id: row.try_get("author_id")?,
            display_name: row.try_get("author_name")?,
        },
        body: row.try_get("body")?,
        format: wire::<MessageFormat>(&row.try_get::<String, _>("format")?)?,
        channel: row
            .try_get::<Option<String>, _>("channel")?
            .map(|c| wire::<Channel>(&c))
            .transpose()?,
        attachments,
        source_ticket: row
            .try_get::<Option<String>, _>("source_ticket")?
            .map(|s| TicketId::parse_name(&s))
            .transpose()
            .map_err(Error::Corrupt)?,
        create_time: row.try_get("create_time")?,
    })
}

/// One message of a ticket.
pub async fn get_message(
    db: &Database,
    ticket: TicketId,
    id: Uuid,
) -> Result<Option<TicketMessage>> {
    let row = sqlx::query(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM ticket_messages WHERE id = $1 AND ticket_id = $2"
    ))
    .bind(id.to_string())
    .bind(ticket.to_string())
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(message_from_row).transpose()
}

/// Which messages to list.
#[derive(Debug, Clone, Default)]
pub struct MessageQuery {
    /// Only this visibility.
    pub visibility: Option<(Comparison, Visibility)>,
    /// Only authors of this type.
    pub author_type: Option<(Comparison, ActorKind)>,
    /// Only this author id.
    pub author_id: Option<(Comparison, String)>,
    /// Only this channel.
    pub channel: Option<(Comparison, Channel)>,
    /// Time bounds.
    pub create_time: Vec<(Comparison, i64)>,
    /// Newest first.
    pub descending: bool,
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

/// A page of a ticket's messages (one more than `limit` tells there is a next page).
pub async fn list_messages(
    db: &Database,
    ticket: TicketId,
    query: &MessageQuery,
    after: Option<&PageToken>,
    limit: u32,
) -> Result<Vec<TicketMessage>> {
    let mut sql = Sql::new(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM ticket_messages WHERE ticket_id = "
    ));
    sql.arg(Arg::Text(ticket.to_string()));
    if let Some((op, visibility)) = query.visibility {
        sql.push(&format!(" AND visibility {} ", op.sql()));
        sql.arg(Arg::Text(visibility.as_str().to_owned()));
    }
    if let Some((op, kind)) = query.author_type {
        sql.push(&format!(" AND author_type {} ", op.sql()));
        sql.arg(Arg::Text(kind.as_str().to_owned()));
    }
    if let Some((op, id)) = &query.author_id {
        sql.push(&format!(" AND author_id {} ", op.sql()));
        sql.arg(Arg::Text(id.clone()));
    }
    if let Some((op, channel)) = query.channel {
        sql.push(&format!(" AND COALESCE(channel, '') {} ", op.sql()));
        sql.arg(Arg::Text(channel.as_str().to_owned()));
    }
    for (op, time) in &query.create_time {
        sql.push(&format!(" AND create_time {} ", op.sql()));
        sql.arg(Arg::Int(*time));
    }
    push_keyset(&mut sql, "create_time", after, query.descending);
    sql.push(" LIMIT ");
    sql.arg(Arg::Int(i64::from(limit) + 1));
    let rows = sql.query().fetch_all(db.reader()).await?;
    rows.iter().map(message_from_row).collect()
}

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

/// How tickets are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketOrder {
    /// By creation time.
    CreateTime,
    /// By last change.
    UpdateTime,
    /// By priority rank.
    Priority,
    /// By resolution due time (tickets without one last).
    ResolutionDueTime,
}

impl TicketOrder {
    /// The sort key expression.
    fn key(self) -> &'static str {
        match self {
            Self::CreateTime => "create_time",
            Self::UpdateTime => "update_time",
            Self::Priority => "priority",
            Self::ResolutionDueTime => "COALESCE(resolution_due, 9223372036854775807)",
        }
    }

    /// The sort key of `ticket`, for its page token.
    pub fn key_of(self, ticket: &Ticket) -> i64 {
        match self {
            Self::CreateTime => ticket.create_time,
            Self::UpdateTime => ticket.update_time,
            Self::Priority => i64::from(ticket.priority.rank()),
            Self::ResolutionDueTime => ticket.sla.resolution_due.unwrap_or(i64::MAX),
        }
    }
}

fn column(field: TicketField) -> &'static str {
    match field {
        TicketField::Status => "status",
        TicketField::Kind => "kind",
        TicketField::SubKind => "sub_kind",
        TicketField::Priority => "priority",
        TicketField::Channel => "channel",
        TicketField::EscalationLevel => "escalation_level",
        TicketField::SlaState => "sla_state",
        TicketField::Assignee => "assignee",
        TicketField::Team => "team",
        TicketField::Customer => "customer",
        TicketField::Region => "region",
        TicketField::ServiceCentre => "service_centre",
        TicketField::LanguageCode => "language_code",
        TicketField::CustomerTier => "customer_tier",
        TicketField::ExternalId => "external_id",
        TicketField::MergedInto => "merged_into",
        TicketField::Tag => "tag",
        TicketField::Number => "number",
        TicketField::SlaAtRisk => "sla_at_risk",
        TicketField::SlaBreached => "(first_response_breached + resolution_breached)",
        TicketField::CreateTime => "create_time",
        TicketField::UpdateTime => "update_time",
        TicketField::ResolutionDueTime => "resolution_due",
    }
}

fn push_criterion(sql: &mut Sql, criterion: &TicketCriterion) {
    let TicketCriterion { field, op, value } = criterion;
    let column = column(*field);
    match (field, value) {
        (TicketField::Tag, FieldValue::Text(tag)) => {
            let not = if *op == Comparison::Ne { "NOT " } else { "" };
            sql.push(&format!(
                " AND {not}EXISTS (SELECT 1 FROM ticket_tags tt WHERE tt.ticket_id = tickets.id AND tt.tag = "
            ));
            sql.arg(Arg::Text(tag.clone()));
            sql.push(")");
        }
        (TicketField::SlaBreached, FieldValue::Int(breached)) => {
            let op = if *breached == 1 { ">" } else { "=" };
            sql.push(&format!(" AND {column} {op} 0"));
        }
        (_, FieldValue::Unset) => {
            let not = if *op == Comparison::Ne { "NOT " } else { "" };
            sql.push(&format!(" AND {column} IS {not}NULL"));
        }
        (_, FieldValue::Text(text)) => {
            if *op == Comparison::Ne {
                sql.push(&format!(" AND ({column} IS NULL OR {column} <> "));
                sql.arg(Arg::Text(text.clone()));
                sql.push(")");
            } else {
                sql.push(&format!(" AND {column} {} ", op.sql()));
                sql.arg(Arg::Text(text.clone()));
            }
        }
        (_, FieldValue::Int(number)) => {
            sql.push(&format!(" AND {column} {} ", op.sql()));
            sql.arg(Arg::Int(*number));
        }
    }
}

/// A page of tickets within `access` matching `criteria` (one more than `limit` tells
/// there is a next page).
pub async fn list_tickets(
    db: &Database,
    access: &Access,
    criteria: &[TicketCriterion],
    order: TicketOrder,
    descending: bool,
    after: Option<&PageToken>,
    limit: u32,
) -> Result<Vec<Ticket>> {
    let mut sql = Sql::new(&format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE 1 = 1"));
    match access {
        Access::Customer(customer) => {
            sql.push(" AND customer = ");
            sql.arg(Arg::Text(customer.to_string()));
        }
        Access::Region(region) => {
            sql.push(" AND region = ");
            sql.arg(Arg::Text(region.to_string()));
        }
        Access::All => {}
    }
    for criterion in criteria {
        push_criterion(&mut sql, criterion);
    }
    push_keyset(&mut sql, order.key(), after, descending);
    sql.push(" LIMIT ");
    sql.arg(Arg::Int(i64::from(limit) + 1));
    let rows = sql.query().fetch_all(db.reader()).await?;
    rows.iter().map(ticket_from_row).collect()
}

/// Every policy and calendar, to apply SLAs.
pub async fn sla_setup(db: &Database) -> Result<SlaSetup> {
    Ok(SlaSetup {
        policies: all_policies(db).await?,
        calendars: all_calendars(db).await?,
    })
}

/// What statistics need of the tickets created in `[start, end)` matching `criteria`.
pub async fn stat_rows(
    db: &Database,
    criteria: &[TicketCriterion],
    start: i64,
    end: i64,
) -> Result<Vec<crate::domain::StatRow>> {
    let mut sql = Sql::new(
        "SELECT create_time, region, channel, kind, priority, team, status, first_response_time, \
         resolve_time, close_time, reopen_count, sla_policy, first_response_breached, \
         resolution_breached, sla_first_response_business, sla_resolution_business \
         FROM tickets WHERE create_time >= ",
    );
    sql.arg(Arg::Int(start));
    sql.push(" AND create_time < ");
    sql.arg(Arg::Int(end));
    for criterion in criteria {
        push_criterion(&mut sql, criterion);
    }
    let rows = sql.query().fetch_all(db.reader()).await?;
    rows.iter()
        .map(|row| {
            Ok(crate::domain::StatRow {
                create_time: row.try_get("create_time")?,
                region: row.try_get("region")?,
                channel: wire::<Channel>(&row.try_get::<String, _>("channel")?)?,
                kind: wire::<Kind>(&row.try_get::<String, _>("kind")?)?,
                priority: ranked::<Priority>(row.try_get("priority")?)?,
                team: row
                    .try_get::<Option<String>, _>("team")?
                    .unwrap_or_default(),
                status: wire::<Status>(&row.try_get::<String, _>("status")?)?,
                first_response_time: row.try_get("first_response_time")?,
                resolve_time: row.try_get("resolve_time")?,
                close_time: row.try_get("close_time")?,
                reopened: row.try_get::<i64, _>("reopen_count")? > 0,
                has_sla: row.try_get::<Option<String>, _>("sla_policy")?.is_some(),
                first_response_breached: row.try_get::<i64, _>("first_response_breached")? != 0,
                resolution_breached: row.try_get::<i64, _>("resolution_breached")? != 0,
                first_response_business: row.try_get("sla_first_response_business")?,
                resolution_business: row.try_get("sla_resolution_business")?,
            })
        })
        .collect()
}

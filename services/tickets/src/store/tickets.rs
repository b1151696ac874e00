//! Tickets: the row, creating, reading, saving (conditional on the version read) and listing.

use aftercare_platform::db::Database;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use crate::domain::IdempotencyKey;
use crate::domain::{
    Access, Actor, ActorKind, Change, ChannelIdentity, Comparison, FieldValue, PageToken, Product,
    Sla, Ticket, TicketCriterion, TicketField, TicketId, WireEnum,
};
use crate::domain::{
    AgentName, Channel, CustomerName, EscalationLevel, ExternalId, Kind, LanguageCode, Priority,
    Region, ServiceCentre, Status, SubKind, Tags, TeamName,
};
use crate::error::{Error, Result};
use crate::events::Committed;

use super::idempotency::claim;
use super::{Arg, Sql, corrupt, flag, push_keyset, ranked, record, wire};

pub(super) const TICKET_COLUMNS: &str = "id, number, customer, customer_display_name, customer_tier, \
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

pub(super) fn ticket_from_row(row: &AnyRow) -> Result<Ticket> {
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
pub(super) fn mutable_args(ticket: &Ticket) -> Result<Vec<Arg>> {
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

pub(super) const MUTABLE_COLUMNS: &[&str] = &[
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
    New(Box<Ticket>, Committed),
    /// The caller's key was taken meanwhile (by a concurrent call): nothing was written;
    /// answer as a replay.
    KeyTaken,
}

/// Inserts a new ticket with its number, tags, history and events, and claims the caller's
/// idempotency `key` for it in the same transaction. With the key taken meanwhile, nothing is
/// written.
pub async fn create_ticket(
    db: &Database,
    mut ticket: Ticket,
    key: Option<&IdempotencyKey>,
    changes: Vec<Change>,
    actor: &Actor,
    follow_up_of: Option<&Ticket>,
) -> Result<Created> {
    let mut tx = db.begin().await?;
    if let Some(key) = key
        && !claim(&mut tx, key, &ticket.id.to_string(), ticket.create_time).await?
    {
        tx.rollback().await?;
        return Ok(Created::KeyTaken);
    }
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
        Arg::OptText(None),
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
    sql.push(")");
    sql.query().execute(&mut *tx).await?;
    write_tags(&mut tx, &ticket, true).await?;
    if let Some(other) = follow_up_of {
        super::links::follow_up(&mut tx, &ticket, other, actor).await?;
    }
    let committed = record(&mut tx, &ticket, changes, actor, None).await?;
    tx.commit().await?;
    Ok(Created::New(Box::new(ticket), committed))
}

pub(super) async fn write_tags(
    tx: &mut Transaction<'_, Any>,
    ticket: &Ticket,
    new: bool,
) -> Result<()> {
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
/// changes claims `message_key` in the same transaction (`KeyTaken` when a concurrent
/// call took it). `StaleEtag` when the stored version moved
/// on, `NotFound` when the ticket is gone: nothing is written then.
pub async fn save_ticket(
    db: &Database,
    mut ticket: Ticket,
    changes: Vec<Change>,
    actor: &Actor,
    message_key: Option<&IdempotencyKey>,
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
    let committed = record(&mut tx, &ticket, changes, actor, message_key).await?;
    tx.commit().await?;
    Ok((ticket, committed))
}

/// One ticket, read in `tx`.
pub async fn get_ticket_in(tx: &mut Transaction<'_, Any>, id: TicketId) -> Result<Option<Ticket>> {
    let row = sqlx::query(&format!(
        "SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(ticket_from_row).transpose()
}

/// [`save_ticket`] in `tx` (an event consumer's, with its inbox row): `StaleEtag` when the
/// stored version moved on since `ticket` was read.
pub async fn save_ticket_in(
    tx: &mut Transaction<'_, Any>,
    mut ticket: Ticket,
    changes: Vec<Change>,
    actor: &Actor,
) -> Result<(Ticket, Committed)> {
    if !update_row(tx, &ticket).await? {
        return Err(Error::StaleEtag(ticket.name()));
    }
    ticket.version += 1;
    if changes
        .iter()
        .any(|c| matches!(c, Change::TagsChanged { .. }))
    {
        write_tags(tx, &ticket, false).await?;
    }
    let committed = record(tx, &ticket, changes, actor, None).await?;
    Ok((ticket, committed))
}

/// Writes the mutable columns of `ticket` if it is still at `ticket.version` (raising the
/// version); `false` when it is not.
pub(super) async fn update_row(tx: &mut Transaction<'_, Any>, ticket: &Ticket) -> Result<bool> {
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

pub(super) fn column(field: TicketField) -> &'static str {
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

pub(super) fn push_criterion(sql: &mut Sql, criterion: &TicketCriterion) {
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

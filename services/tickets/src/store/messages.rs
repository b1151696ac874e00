//! Messages of a ticket: writing one in its ticket's transaction, reading and listing.

use aftercare_platform::db::Database;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use crate::domain::{
    Actor, ActorKind, Attachment, Comparison, PageToken, TicketId, TicketMessage, WireEnum,
};
use crate::domain::{Channel, MessageFormat, Visibility};
use crate::error::{Error, Result};

use super::{Arg, Sql, corrupt, push_keyset, wire};

pub(super) async fn insert_message(
    tx: &mut Transaction<'_, Any>,
    message: &TicketMessage,
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
    .bind(None::<String>)
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

pub(super) const MESSAGE_COLUMNS: &str = "id, ticket_id, visibility, author_type, author_id, author_name, \
    body, format, channel, attachments, source_ticket, create_time";

pub(super) fn message_from_row(row: &AnyRow) -> Result<TicketMessage> {
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

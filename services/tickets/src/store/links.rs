//! Links between tickets, and merges.

use aftercare_platform::db::Database;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use super::{
    Arg, MESSAGE_COLUMNS, Sql, corrupt, flag, insert_message, message_from_row, record, update_row,
    wire, write_tags,
};
use crate::domain::{
    Actor, ActorKind, Change, Comparison, LinkType, PageToken, Status, Ticket, TicketId,
    TicketMessage, WireEnum,
};
use crate::error::{Error, Result};
use crate::events::Committed;

/// A link as seen from one ticket.
#[derive(Debug, Clone)]
pub struct LinkRow {
    /// The link id (shared by both sides).
    pub id: Uuid,
    /// The ticket holding it.
    pub ticket: TicketId,
    /// The other ticket.
    pub linked: TicketId,
    /// How `ticket` relates to `linked`.
    pub link_type: LinkType,
    /// Made by a merge.
    pub from_merge: bool,
    /// Who made it.
    pub creator: Actor,
    /// When.
    pub create_time: i64,
    /// The other ticket's subject.
    pub linked_subject: String,
    /// The other ticket's status.
    pub linked_status: Status,
    /// The other ticket's number.
    pub linked_number: i64,
}

const LINK_COLUMNS: &str = "l.id, l.ticket_id, l.linked_ticket, l.link_type, l.from_merge, \
    l.creator_type, l.creator_id, l.creator_name, l.create_time, t.subject, t.status, t.number";

fn link_from_row(row: &AnyRow) -> Result<LinkRow> {
    let uuid = |column: &str| -> Result<Uuid> {
        let text: String = row.try_get(column)?;
        Uuid::parse_str(&text).map_err(|_| corrupt(column, &text))
    };
    let creator: String = row.try_get("creator_type")?;
    Ok(LinkRow {
        id: uuid("id")?,
        ticket: TicketId(uuid("ticket_id")?),
        linked: TicketId(uuid("linked_ticket")?),
        link_type: wire::<LinkType>(&row.try_get::<String, _>("link_type")?)?,
        from_merge: row.try_get::<i64, _>("from_merge")? != 0,
        creator: Actor {
            kind: ActorKind::parse(&creator).ok_or_else(|| corrupt("actor", &creator))?,
            id: row.try_get("creator_id")?,
            display_name: row.try_get("creator_name")?,
        },
        create_time: row.try_get("create_time")?,
        linked_subject: row.try_get("subject")?,
        linked_status: wire::<Status>(&row.try_get::<String, _>("status")?)?,
        linked_number: row.try_get("number")?,
    })
}

/// A link to insert.
struct NewLink {
    id: Uuid,
    from: TicketId,
    to: TicketId,
    link_type: LinkType,
    from_merge: bool,
    now: i64,
}

/// Inserts both sides of a link; `false` when `from` already has that link to `to`.
async fn insert_link(tx: &mut Transaction<'_, Any>, link: NewLink, actor: &Actor) -> Result<bool> {
    let NewLink {
        id,
        from,
        to,
        link_type,
        from_merge,
        now,
    } = link;
    for (a, b, t) in [(from, to, link_type), (to, from, link_type.inverse())] {
        let done = sqlx::query(
            "INSERT INTO ticket_links (id, ticket_id, linked_ticket, link_type, from_merge, \
             creator_type, creator_id, creator_name, create_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
        )
        .bind(id.to_string())
        .bind(a.to_string())
        .bind(b.to_string())
        .bind(t.as_str())
        .bind(flag(from_merge))
        .bind(actor.kind.as_str())
        .bind(&actor.id)
        .bind(&actor.display_name)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Records `change` in `ticket`'s history at `now`, without changing the ticket.
async fn note(
    tx: &mut Transaction<'_, Any>,
    ticket: &Ticket,
    change: Change,
    actor: &Actor,
    now: i64,
) -> Result<()> {
    let mut at = ticket.clone();
    at.update_time = now;
    record(tx, &at, vec![change], actor, None).await?;
    Ok(())
}

/// Links `from` to `to` (and back, inverted) with history on both; `None` when the link
/// exists already.
pub async fn create_link(
    db: &Database,
    from: &Ticket,
    to: &Ticket,
    link_type: LinkType,
    actor: &Actor,
    now: i64,
) -> Result<Option<LinkRow>> {
    let mut tx = db.begin().await?;
    let id = Uuid::now_v7();
    if !insert_link(
        &mut tx,
        NewLink {
            id,
            from: from.id,
            to: to.id,
            link_type,
            from_merge: false,
            now,
        },
        actor,
    )
    .await?
    {
        tx.rollback().await?;
        return Ok(None);
    }
    note(
        &mut tx,
        from,
        Change::Linked {
            other: to.id,
            link_type,
        },
        actor,
        now,
    )
    .await?;
    note(
        &mut tx,
        to,
        Change::Linked {
            other: from.id,
            link_type: link_type.inverse(),
        },
        actor,
        now,
    )
    .await?;
    tx.commit().await?;
    get_link(db, from.id, id).await
}

/// Links a new ticket as a follow-up of `other`, in the creating transaction.
pub(super) async fn follow_up(
    tx: &mut Transaction<'_, Any>,
    ticket: &Ticket,
    other: &Ticket,
    actor: &Actor,
) -> Result<()> {
    let now = ticket.create_time;
    insert_link(
        tx,
        NewLink {
            id: Uuid::now_v7(),
            from: ticket.id,
            to: other.id,
            link_type: LinkType::FollowUpOf,
            from_merge: false,
            now,
        },
        actor,
    )
    .await?;
    note(
        tx,
        other,
        Change::Linked {
            other: ticket.id,
            link_type: LinkType::FollowedUpBy,
        },
        actor,
        now,
    )
    .await
}

/// One link of `ticket`.
pub async fn get_link(db: &Database, ticket: TicketId, id: Uuid) -> Result<Option<LinkRow>> {
    let row = sqlx::query(&format!(
        "SELECT {LINK_COLUMNS} FROM ticket_links l JOIN tickets t ON t.id = l.linked_ticket \
         WHERE l.ticket_id = $1 AND l.id = $2"
    ))
    .bind(ticket.to_string())
    .bind(id.to_string())
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(link_from_row).transpose()
}

/// A page of `ticket`'s links, oldest first.
pub async fn list_links(
    db: &Database,
    ticket: TicketId,
    link_type: &[(Comparison, LinkType)],
    linked: Option<TicketId>,
    after: Option<&PageToken>,
    limit: u32,
) -> Result<Vec<LinkRow>> {
    let mut sql = Sql::new(&format!(
        "SELECT {LINK_COLUMNS} FROM ticket_links l JOIN tickets t ON t.id = l.linked_ticket \
         WHERE l.ticket_id = "
    ));
    sql.arg(Arg::Text(ticket.to_string()));
    for (op, t) in link_type {
        sql.push(&format!(" AND l.link_type {} ", op.sql()));
        sql.arg(Arg::Text(t.as_str().to_owned()));
    }
    if let Some(linked) = linked {
        sql.push(" AND l.linked_ticket = ");
        sql.arg(Arg::Text(linked.to_string()));
    }
    if let Some(token) = after {
        sql.push(" AND (l.create_time, l.id) > (");
        sql.arg(Arg::Int(token.int_key().unwrap_or_default()));
        sql.push(", ");
        sql.arg(Arg::Text(token.id.clone()));
        sql.push(")");
    }
    sql.push(" ORDER BY l.create_time, l.id LIMIT ");
    sql.arg(Arg::Int(i64::from(limit) + 1));
    let rows = sql.query().fetch_all(db.reader()).await?;
    rows.iter().map(link_from_row).collect()
}

/// Removes both sides of a link, with history on both tickets.
pub async fn delete_link(
    db: &Database,
    link: &LinkRow,
    ticket: &Ticket,
    other: &Ticket,
    actor: &Actor,
    now: i64,
) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM ticket_links WHERE id = $1")
        .bind(link.id.to_string())
        .execute(&mut *tx)
        .await?;
    note(
        &mut tx,
        ticket,
        Change::Unlinked { other: other.id },
        actor,
        now,
    )
    .await?;
    note(
        &mut tx,
        other,
        Change::Unlinked { other: ticket.id },
        actor,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// One ticket of a merge, as changed, with its changes.
#[derive(Debug)]
pub struct MergePart {
    /// The ticket, at the version it was read at.
    pub ticket: Ticket,
    /// Its changes.
    pub changes: Vec<Change>,
}

/// Writes a merge atomically: the target and every source (each at the version it was read
/// at: any concurrent change refuses the whole merge), copies of the sources' messages on
/// the target, a `DUPLICATE_OF` link from each source, history and events.
pub async fn merge(
    db: &Database,
    target: MergePart,
    sources: Vec<MergePart>,
    actor: &Actor,
    now: i64,
) -> Result<(Ticket, Vec<Ticket>, Vec<(Ticket, Committed)>)> {
    let mut tx = db.begin().await?;
    let mut written = Vec::new();
    let mut saved_sources = Vec::new();
    for part in &sources {
        if !update_row(&mut tx, &part.ticket).await? {
            tx.rollback().await?;
            return Err(Error::StaleEtag(part.ticket.name()));
        }
        let rows = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM ticket_messages WHERE ticket_id = $1 ORDER BY create_time, id"
        ))
        .bind(part.ticket.id.to_string())
        .fetch_all(&mut *tx)
        .await?;
        for row in &rows {
            let original: TicketMessage = message_from_row(row)?;
            let copy = TicketMessage {
                id: Uuid::now_v7(),
                ticket: target.ticket.id,
                source_ticket: Some(part.ticket.id),
                ..original
            };
            insert_message(&mut tx, &copy).await?;
        }
        insert_link(
            &mut tx,
            NewLink {
                id: Uuid::now_v7(),
                from: part.ticket.id,
                to: target.ticket.id,
                link_type: LinkType::DuplicateOf,
                from_merge: true,
                now,
            },
            actor,
        )
        .await?;
    }
    if !update_row(&mut tx, &target.ticket).await? {
        tx.rollback().await?;
        return Err(Error::StaleEtag(target.ticket.name()));
    }
    let mut target_ticket = target.ticket;
    target_ticket.version += 1;
    write_tags(&mut tx, &target_ticket, false).await?;
    for part in sources {
        let mut ticket = part.ticket;
        ticket.version += 1;
        let committed = record(&mut tx, &ticket, part.changes, actor, None).await?;
        saved_sources.push(ticket.clone());
        written.push((ticket, committed));
    }
    let committed = record(&mut tx, &target_ticket, target.changes, actor, None).await?;
    written.push((target_ticket.clone(), committed));
    tx.commit().await?;
    Ok((target_ticket, saved_sources, written))
}

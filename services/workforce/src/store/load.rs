//! The `ticket_load` table: which tickets each agent carries, kept from ticket events and
//! routing holds; `agents.active_tickets` is recounted from it in the same transaction.

use sqlx::Row as _;
use uuid::Uuid;

use aftercare_platform::db::Database;

use super::{Conn, optional_uuid};
use crate::error::Error;

/// How one ticket event changed the load.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoadChange {
    /// Agents whose count was recomputed, with their new load.
    pub agents: Vec<(Uuid, i64)>,
    /// The agent whose load went down (capacity freed), if any.
    pub freed: Option<Uuid>,
}

async fn recount(conn: &mut Conn, agent: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "UPDATE agents SET active_tickets =
            (SELECT COUNT(*) FROM ticket_load WHERE agent_id = $1 AND open = 1)
         WHERE id = $1",
    )
    .bind(agent.to_string())
    .execute(&mut *conn)
    .await?;
    sqlx::query_scalar("SELECT active_tickets FROM agents WHERE id = $1")
        .bind(agent.to_string())
        .fetch_optional(&mut *conn)
        .await
        .map(|count| count.unwrap_or(0))
}

/// Applies a ticket's state as an event reports it: `assignee` carries it while `open`.
/// Ignored when an event of a later ticket version was already applied (`event_time` is the
/// ticket's update time), so redeliveries and late arrivals change nothing. `assigned`
/// also records the agent's last assignment time.
pub async fn apply_ticket_snapshot(
    conn: &mut Conn,
    ticket: Uuid,
    assignee: Option<Uuid>,
    open: bool,
    event_time: i64,
    assigned: bool,
    now: i64,
) -> Result<LoadChange, sqlx::Error> {
    let row =
        sqlx::query("SELECT agent_id, open, event_time FROM ticket_load WHERE ticket_id = $1")
            .bind(ticket.to_string())
            .fetch_optional(&mut *conn)
            .await?;
    let previous = match &row {
        Some(row) => {
            if row.try_get::<i64, _>("event_time")? > event_time {
                return Ok(LoadChange::default());
            }
            Some((
                optional_uuid(row.try_get("agent_id")?, "ticket_load.agent_id")?,
                row.try_get::<i64, _>("open")? == 1,
            ))
        }
        None => None,
    };
    sqlx::query(
        "INSERT INTO ticket_load (ticket_id, agent_id, open, held, event_time, update_time)
         VALUES ($1, $2, $3, 0, $4, $5)
         ON CONFLICT (ticket_id) DO UPDATE SET agent_id = $2, open = $3, held = 0,
            event_time = $4, update_time = $5",
    )
    .bind(ticket.to_string())
    .bind(assignee.map(|id| id.to_string()))
    .bind(i64::from(open && assignee.is_some()))
    .bind(event_time)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if assigned && let Some(agent) = assignee {
        sqlx::query(
            "UPDATE agents SET last_assign_time = $2
                 WHERE id = $1 AND (last_assign_time IS NULL OR last_assign_time < $2)",
        )
        .bind(agent.to_string())
        .bind(event_time)
        .execute(&mut *conn)
        .await?;
    }
    let mut change = LoadChange::default();
    let old_agent = previous.as_ref().and_then(|(agent, _)| *agent);
    let was_open = previous.as_ref().is_some_and(|(_, open)| *open);
    for agent in [old_agent, assignee].into_iter().flatten() {
        if change.agents.iter().any(|(a, _)| *a == agent) {
            continue;
        }
        let count = recount(conn, agent).await?;
        change.agents.push((agent, count));
    }
    if was_open && (old_agent != assignee || !open) {
        change.freed = old_agent;
    }
    if assignee.is_some() || !open {
        // Assigned (or closed): no longer waiting for routing.
        super::queue::dequeue(conn, ticket).await?;
    }
    Ok(change)
}

/// What a hold attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// The agent now carries the ticket.
    Taken,
    /// The agent had no room.
    Full,
    /// Another routing of the same ticket got there first.
    AlreadyRouted,
}

/// Holds `ticket` for `agent`: the ticket counts in the agent's load until its
/// `TicketAssigned` arrives (or the hold expires). With `within_capacity`, the hold is
/// taken only while the agent is below capacity, atomically (a conditional update, so two
/// concurrent routings cannot both take the last place).
pub async fn hold(
    conn: &mut Conn,
    ticket: Uuid,
    agent: Uuid,
    within_capacity: bool,
    now: i64,
) -> Result<Hold, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO ticket_load (ticket_id, agent_id, open, held, event_time, update_time)
         VALUES ($1, $2, 1, 1, 0, $3) ON CONFLICT DO NOTHING",
    )
    .bind(ticket.to_string())
    .bind(agent.to_string())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() != 1 {
        return Ok(Hold::AlreadyRouted);
    }
    let taken = sqlx::query(&format!(
        "UPDATE agents SET active_tickets = active_tickets + 1, last_assign_time = $2
         WHERE id = $1{}",
        if within_capacity {
            " AND active_tickets < max_concurrent_tickets"
        } else {
            ""
        }
    ))
    .bind(agent.to_string())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if taken.rows_affected() == 1 {
        return Ok(Hold::Taken);
    }
    sqlx::query("DELETE FROM ticket_load WHERE ticket_id = $1")
        .bind(ticket.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(Hold::Full)
}

/// Releases a routing hold (or forgets an unconfirmed routing) of `ticket` before it is
/// routed again; a ticket whose assignment events arrived is left alone. Returns whether
/// the ticket already has a confirmed assignee.
pub async fn release_hold(conn: &mut Conn, ticket: Uuid) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("SELECT agent_id, held, open FROM ticket_load WHERE ticket_id = $1")
        .bind(ticket.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(false) };
    if row.try_get::<i64, _>("held")? == 0 {
        return Ok(row.try_get::<i64, _>("open")? == 1);
    }
    sqlx::query("DELETE FROM ticket_load WHERE ticket_id = $1")
        .bind(ticket.to_string())
        .execute(&mut *conn)
        .await?;
    if let Some(agent) = optional_uuid(row.try_get("agent_id")?, "ticket_load.agent_id")? {
        recount(conn, agent).await?;
    }
    Ok(false)
}

/// Releases, in one transaction, the routing holds older than `before` that no assignment
/// confirmed; returns the agents freed.
pub async fn release_expired_holds(db: &Database, before: i64) -> Result<Vec<Uuid>, Error> {
    let mut tx = db.begin().await?;
    let freed = expire_holds(&mut tx, before).await?;
    tx.commit().await?;
    Ok(freed)
}

/// Drops holds older than `before` that no assignment confirmed (a ticket routed from the
/// queue waits there again); returns the agents freed.
async fn expire_holds(conn: &mut Conn, before: i64) -> Result<Vec<Uuid>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT ticket_id, agent_id FROM ticket_load WHERE held = 1 AND update_time < $1",
    )
    .bind(before)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM ticket_load WHERE held = 1 AND update_time < $1")
        .bind(before)
        .execute(&mut *conn)
        .await?;
    let mut agents = Vec::new();
    for row in rows {
        let ticket: String = row.try_get("ticket_id")?;
        sqlx::query(
            "UPDATE routing_queue SET agent_id = NULL, route_time = NULL WHERE ticket_id = $1",
        )
        .bind(ticket)
        .execute(&mut *conn)
        .await?;
        let Some(agent) = row.try_get::<Option<String>, _>("agent_id")? else {
            continue;
        };
        let agent = super::uuid(&agent, "ticket_load.agent_id")?;
        if !agents.contains(&agent) {
            recount(conn, agent).await?;
            agents.push(agent);
        }
    }
    Ok(agents)
}

//! The `routing_queue` table: tickets routing could not place, with why; and placing a
//! routed ticket (a hold on the best agent with room, or the queue) in one transaction.

use aftercare_platform::db::Database;
use uuid::Uuid;

use super::{Conn, Hold, hold, release_hold};
use crate::error::Error;

/// A ticket to queue when nobody can take it: the request to route again, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// The `RouteTicketRequest`, hex-encoded protobuf.
    pub request: String,
    /// Its priority number (queue order).
    pub priority: i64,
    /// The ticket's region.
    pub region: Option<String>,
    /// Why nobody could take it.
    pub reason: String,
}

/// Where a routed ticket went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    /// Held for the candidate at this index (the first with room).
    Held(usize),
    /// The ticket already has an assignee or another routing holds it: nothing changed.
    AlreadyRouted,
    /// Nobody had room: the ticket waits in the queue.
    Queued,
}

/// Places `ticket` in one transaction: a routing hold on the first of `candidates` with room
/// (any of them when `within_capacity` is false), atomically, taking it off the queue; or,
/// with nobody, the queue with `queued`'s reason. A ticket already assigned or held by a
/// concurrent routing is left as it is.
pub async fn place_ticket(
    db: &Database,
    ticket: Uuid,
    candidates: &[Uuid],
    within_capacity: bool,
    queued: &Queued,
    now: i64,
) -> Result<Placed, Error> {
    let mut tx = db.begin().await?;
    if release_hold(&mut tx, ticket).await? {
        tx.commit().await?;
        return Ok(Placed::AlreadyRouted);
    }
    for (index, agent) in candidates.iter().enumerate() {
        match hold(&mut tx, ticket, *agent, within_capacity, now).await? {
            Hold::Taken => {
                dequeue(&mut tx, ticket).await?;
                tx.commit().await?;
                tracing::info!(ticket = %ticket, agent = %agent, "ticket routed");
                return Ok(Placed::Held(index));
            }
            Hold::Full => {}
            Hold::AlreadyRouted => {
                tx.commit().await?;
                return Ok(Placed::AlreadyRouted);
            }
        }
    }
    enqueue(
        &mut tx,
        ticket,
        &queued.request,
        queued.priority,
        queued.region.as_deref(),
        &queued.reason,
        now,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(ticket = %ticket, reason = %queued.reason, "ticket queued");
    Ok(Placed::Queued)
}

/// Records (or refreshes) a queued ticket with the reason and the request to route again.
async fn enqueue(
    conn: &mut Conn,
    ticket: uuid::Uuid,
    request: &str,
    priority: i64,
    region: Option<&str>,
    reason: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO routing_queue (ticket_id, request, priority, region, reason, queue_time)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (ticket_id) DO UPDATE SET request = $2, priority = $3, region = $4,
            reason = $5",
    )
    .bind(ticket.to_string())
    .bind(request.to_owned())
    .bind(priority)
    .bind(region.map(str::to_owned))
    .bind(reason.to_owned())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Takes a ticket off the queue (it was routed).
async fn dequeue(conn: &mut Conn, ticket: uuid::Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM routing_queue WHERE ticket_id = $1")
        .bind(ticket.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

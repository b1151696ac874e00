//! The `routing_queue` table: tickets routing could not place, with why; and placing a
//! routed ticket (a hold on the best agent with room, or the queue) in one transaction.

use aftercare_platform::db::Database;
use uuid::Uuid;

use sqlx::Row as _;
use sqlx::{Any, Transaction};

use super::{Conn, Hold, hold, release_hold, routable_agent};
use crate::domain::routing::{Routable, Route};
use crate::error::Error;
use crate::events;

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
    /// What the ticket needs, resolved against the catalogue (routed again from this).
    pub route: Route,
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
        &queued.route,
        now,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(ticket = %ticket, reason = %queued.reason, "ticket queued");
    Ok(Placed::Queued)
}

/// Records (or refreshes) a queued ticket, waiting, with the reason and what it needs.
#[allow(clippy::too_many_arguments)]
async fn enqueue(
    conn: &mut Conn,
    ticket: Uuid,
    request: &str,
    priority: i64,
    region: Option<&str>,
    reason: &str,
    route: &Route,
    now: i64,
) -> Result<(), Error> {
    let route = serde_json::to_string(route).map_err(|err| super::corrupt("route", err))?;
    sqlx::query(
        "INSERT INTO routing_queue (ticket_id, request, priority, region, reason, queue_time,
            route, agent_id, route_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL)
         ON CONFLICT (ticket_id) DO UPDATE SET request = $2, priority = $3, region = $4,
            reason = $5, route = $7, agent_id = NULL, route_time = NULL",
    )
    .bind(ticket.to_string())
    .bind(request.to_owned())
    .bind(priority)
    .bind(region.map(str::to_owned))
    .bind(reason.to_owned())
    .bind(now)
    .bind(route)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Queued tickets waiting (not held) read per pass, at most.
const BATCH: i64 = 200;

/// Routes waiting queued tickets to `agent` (it came online or freed capacity), in `conn`'s
/// transaction: most urgent first, then oldest, each one `takes` says the agent may have
/// (eligible, with room) is held for the agent atomically within its capacity and stays
/// queued with the agent until its assignment arrives. A ticket another routing holds is
/// left alone, so concurrent passes never place a ticket twice (the tickets are visited in
/// one order by every pass). Each hold writes `TicketRouted` to the outbox in the same
/// transaction, so the tickets service assigns the ticket. Returns the tickets held.
pub async fn route_queued_in(
    conn: &mut Transaction<'_, Any>,
    agent: Uuid,
    takes: &(dyn Fn(&Route, &Routable) -> bool + Send + Sync),
    now: i64,
) -> Result<Vec<Uuid>, Error> {
    let Some(mut routable) = routable_agent(conn, agent, now).await? else {
        return Ok(Vec::new());
    };
    let rows = sqlx::query(
        "SELECT ticket_id, route, reason, queue_time FROM routing_queue WHERE agent_id IS NULL AND route IS NOT NULL
         ORDER BY priority DESC, queue_time, ticket_id LIMIT $1",
    )
    .bind(BATCH)
    .fetch_all(&mut **conn)
    .await?;
    let mut held = Vec::new();
    for row in rows {
        let ticket = super::uuid(&row.try_get::<String, _>("ticket_id")?, "routing_queue")?;
        let route: String = row.try_get("route")?;
        let route: Route =
            serde_json::from_str(&route).map_err(|err| super::corrupt("routing_queue", err))?;
        if !takes(&route, &routable) {
            continue;
        }
        let within = !route.ignores_capacity();
        match hold(conn, ticket, agent, within, now).await? {
            Hold::Taken => {
                sqlx::query(
                    "UPDATE routing_queue SET agent_id = $2, route_time = $3 WHERE ticket_id = $1",
                )
                .bind(ticket.to_string())
                .bind(agent.to_string())
                .bind(now)
                .execute(&mut **conn)
                .await?;
                routable.active_tickets += 1;
                let routed = events::ticket_routed(
                    ticket,
                    &routable,
                    &row.try_get::<String, _>("reason")?,
                    row.try_get::<i64, _>("queue_time")?,
                    now,
                );
                events::publish(conn, &routed.ticket, &routed).await?;
                held.push(ticket);
                tracing::info!(ticket = %ticket, agent = %agent, "queued ticket routed");
            }
            Hold::Full => routable.active_tickets = routable.capacity,
            Hold::AlreadyRouted => {}
        }
    }
    Ok(held)
}

/// [`route_queued_in`] in a transaction of its own.
pub async fn route_queued(
    db: &Database,
    agent: Uuid,
    takes: &(dyn Fn(&Route, &Routable) -> bool + Send + Sync),
    now: i64,
) -> Result<Vec<Uuid>, Error> {
    let mut tx = db.begin().await?;
    let held = route_queued_in(&mut tx, agent, takes, now).await?;
    tx.commit().await?;
    Ok(held)
}

/// Whether any queued ticket waits (not held).
pub async fn queue_waiting(conn: &mut Conn) -> Result<bool, sqlx::Error> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT ticket_id FROM routing_queue WHERE agent_id IS NULL LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    Ok(found.is_some())
}

/// Takes a ticket off the queue (it was routed).
pub(super) async fn dequeue(conn: &mut Conn, ticket: uuid::Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM routing_queue WHERE ticket_id = $1")
        .bind(ticket.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

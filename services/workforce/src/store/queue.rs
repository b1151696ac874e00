//! The `routing_queue` table: tickets routing could not place, with why.

use super::Conn;

/// Records (or refreshes) a queued ticket with the reason and the request to route again.
pub async fn enqueue(
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
pub async fn dequeue(conn: &mut Conn, ticket: uuid::Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM routing_queue WHERE ticket_id = $1")
        .bind(ticket.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

//! What data-protection requests need beyond the other tables: identities removed in bulk,
//! customers merged into one, and the `erasures` record.

use sqlx::Row as _;
use uuid::Uuid;

use super::{Conn, json, uuid};
use crate::domain::privacy::Erasure;

/// Deletes every identity of `customer`; returns how many.
pub async fn delete_identities(conn: &mut Conn, customer: Uuid) -> Result<i64, sqlx::Error> {
    let result = sqlx::query("DELETE FROM identities WHERE customer_id = $1")
        .bind(customer.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(i64::try_from(result.rows_affected()).unwrap_or(i64::MAX))
}

/// The customers merged into `survivor` (chains are flattened, so one level).
pub async fn merged_customers(conn: &mut Conn, survivor: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query("SELECT id FROM customers WHERE merged_into = $1 ORDER BY id")
        .bind(survivor.to_string())
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| uuid(&row.try_get::<String, _>("id")?, "id"))
        .collect()
}

/// Records an erasure; returns false when `request_id` was already used.
pub async fn insert_erasure(
    conn: &mut Conn,
    customer: Uuid,
    erasure: &Erasure,
    request_id: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "INSERT INTO erasures (id, request_id, customer_id, outcome, erase_time)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT DO NOTHING",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(request_id.map(str::to_owned))
    .bind(customer.to_string())
    .bind(json(erasure))
    .bind(erasure.erase_time)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// The erasure done with `request_id`, and its customer.
pub async fn find_erasure_by_request(
    conn: &mut Conn,
    request_id: &str,
) -> Result<Option<(Uuid, Erasure)>, sqlx::Error> {
    let Some(row) = sqlx::query("SELECT customer_id, outcome FROM erasures WHERE request_id = $1")
        .bind(request_id.to_owned())
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let customer = uuid(&row.try_get::<String, _>("customer_id")?, "customer_id")?;
    Ok(Some((customer, super::from_json(&row, "outcome")?)))
}

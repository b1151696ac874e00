//! Erasure: what the tickets service keeps about a customer, scrubbed in the consumer's
//! transaction when the customers service erases them.

use sqlx::{Any, Row as _, Transaction};

use crate::domain::ERASED;
use crate::error::{Error, Result};

/// Scrubs `customer` (`customers/{id}`) from every ticket, message, history entry and
/// after-sales case: their name and channel identity, the subject and description of their
/// tickets, the messages and history entries they wrote, and the personal parts of their
/// cases. Returns how many tickets were touched.
pub async fn erase_customer(tx: &mut Transaction<'_, Any>, customer: &str) -> Result<u64> {
    let tickets = sqlx::query(
        "UPDATE tickets SET customer_display_name = $2, identity_handle = NULL, \
         identity_provider = NULL, subject = $2, description = $2 WHERE customer = $1",
    )
    .bind(customer)
    .bind(ERASED)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    sqlx::query(
        "UPDATE ticket_messages SET body = $2, author_name = $2 \
         WHERE author_id = $1 OR (author_type = 'CUSTOMER' AND ticket_id IN \
         (SELECT id FROM tickets WHERE customer = $1))",
    )
    .bind(customer)
    .bind(ERASED)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE ticket_history SET actor_name = $2, message = '' \
         WHERE actor_id = $1 OR (actor_type = 'CUSTOMER' AND ticket_id IN \
         (SELECT id FROM tickets WHERE customer = $1))",
    )
    .bind(customer)
    .bind(ERASED)
    .execute(&mut **tx)
    .await?;
    let cases = sqlx::query("SELECT id, document FROM after_sales_cases WHERE customer = $1")
        .bind(customer)
        .fetch_all(&mut **tx)
        .await?;
    for row in cases {
        let id: String = row.try_get("id")?;
        let document: String = row.try_get("document")?;
        let mut case: crate::domain::AfterSalesCase = serde_json::from_str(&document)
            .map_err(|e| Error::Corrupt(format!("after-sales case: {e}")))?;
        case.erase_personal_data();
        let document = serde_json::to_string(&case)
            .map_err(|e| Error::Corrupt(format!("after-sales case: {e}")))?;
        sqlx::query("UPDATE after_sales_cases SET document = $2 WHERE id = $1")
            .bind(id)
            .bind(document)
            .execute(&mut **tx)
            .await?;
    }
    Ok(tickets)
}

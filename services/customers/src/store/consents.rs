//! The `consents` table.

use sqlx::Row as _;
use sqlx::any::AnyRow;
use uuid::Uuid;

use aftercare_platform::db::Database;
use aftercare_platform::time::now_micros;

use super::timeline::{actor_from_row, split_actor};
use super::{Conn, Where, enum_column, load_customer, uuid};
use crate::domain::consent::{Actor, Consent, ConsentChange, Decision, Purpose, decide};
use crate::domain::customer::Channel;
use crate::domain::filter::{Condition, Scalar};
use crate::domain::names::customer_name;
use crate::domain::query::ConsentField;
use crate::error::Error;
use crate::events::{self, publish};

const COLUMNS: &str = "customer_id, channel, purpose, state, source, decide_time, actor_type, \
    actor_id, actor_name, version, create_time, update_time";

/// `customer`'s consent for `channel` and `purpose`.
pub async fn find_consent(
    conn: &mut Conn,
    customer: Uuid,
    channel: Channel,
    purpose: Purpose,
) -> Result<Option<Consent>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM consents WHERE customer_id = $1 AND channel = $2 AND purpose = $3"
    ))
    .bind(customer.to_string())
    .bind(channel as i64)
    .bind(purpose as i64)
    .fetch_optional(&mut *conn)
    .await?
    .map(|row| consent_from_row(&row))
    .transpose()
}

/// Stores `consent`, replacing the decision recorded for its channel and purpose.
pub async fn upsert_consent(conn: &mut Conn, consent: &Consent) -> Result<(), sqlx::Error> {
    let (actor_type, actor_id, actor_name) = split_actor(consent.actor.as_ref());
    sqlx::query(
        "INSERT INTO consents (customer_id, channel, purpose, state, source, decide_time,
            actor_type, actor_id, actor_name, version, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (customer_id, channel, purpose) DO UPDATE SET
            state = excluded.state, source = excluded.source,
            decide_time = excluded.decide_time, actor_type = excluded.actor_type,
            actor_id = excluded.actor_id, actor_name = excluded.actor_name,
            version = excluded.version, update_time = excluded.update_time",
    )
    .bind(consent.customer.to_string())
    .bind(consent.channel as i64)
    .bind(consent.purpose as i64)
    .bind(consent.state as i64)
    .bind(consent.source.clone())
    .bind(consent.decide_time)
    .bind(actor_type)
    .bind(actor_id)
    .bind(actor_name)
    .bind(consent.version)
    .bind(consent.create_time)
    .bind(consent.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Deletes every consent of `customer`; returns how many.
pub async fn delete_consents(conn: &mut Conn, customer: Uuid) -> Result<i64, sqlx::Error> {
    let result = sqlx::query("DELETE FROM consents WHERE customer_id = $1")
        .bind(customer.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(i64::try_from(result.rows_affected()).unwrap_or(i64::MAX))
}

/// What `ListConsents` asks for.
#[derive(Debug, Clone)]
pub struct ConsentQuery {
    /// The customer.
    pub customer: Uuid,
    /// Filter conditions.
    pub conditions: Vec<Condition<ConsentField>>,
    /// Only consents ordered after this rank (`channel * 16 + purpose`).
    pub after: Option<i64>,
    /// At most this many (`None`: all).
    pub limit: Option<u32>,
}

impl ConsentQuery {
    /// Every one of `customer`'s consents.
    pub fn all(customer: Uuid) -> Self {
        Self {
            customer,
            conditions: Vec::new(),
            after: None,
            limit: None,
        }
    }
}

/// The order rank of a consent: by channel, then purpose.
pub fn consent_rank(consent: &Consent) -> i64 {
    consent.channel as i64 * 16 + consent.purpose as i64
}

/// A customer's consents by channel, then purpose.
pub async fn list_consents(
    conn: &mut Conn,
    query: &ConsentQuery,
) -> Result<Vec<Consent>, sqlx::Error> {
    let mut filter = Where::default();
    let arg = filter.arg(Scalar::Text(query.customer.to_string()));
    filter.push(format!("customer_id = {arg}"));
    for condition in &query.conditions {
        let column = match condition.field {
            ConsentField::Channel => "channel",
            ConsentField::Purpose => "purpose",
            ConsentField::State => "state",
        };
        filter.compare(column, condition.op, &condition.value);
    }
    if let Some(after) = query.after {
        let arg = filter.arg(Scalar::Int(after));
        filter.push(format!("channel * 16 + purpose > {arg}"));
    }
    let limit = query
        .limit
        .map(|l| format!(" LIMIT {l}"))
        .unwrap_or_default();
    let sql = format!(
        "SELECT {COLUMNS} FROM consents WHERE {} ORDER BY channel, purpose{limit}",
        filter.sql()
    );
    filter
        .bind(sqlx::query(&sql))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(consent_from_row)
        .collect()
}

fn consent_from_row(row: &AnyRow) -> Result<Consent, sqlx::Error> {
    Ok(Consent {
        customer: uuid(&row.try_get::<String, _>("customer_id")?, "customer_id")?,
        channel: enum_column(row, "channel")?,
        purpose: enum_column(row, "purpose")?,
        state: enum_column(row, "state")?,
        source: row.try_get("source")?,
        decide_time: row.try_get("decide_time")?,
        actor: actor_from_row(row)?,
        version: row.try_get("version")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
    })
}

/// Records `decision` (made by `actor`) for `customer`, in one transaction: refused while the
/// customer is merged or erased, and when the domain refuses it (a decision in the future, or
/// older than the recorded one); the `ConsentChanged` event when the state changed.
pub async fn set_consent(
    db: &Database,
    customer: Uuid,
    decision: Decision,
    actor: Actor,
) -> Result<ConsentChange, Error> {
    let mut tx = db.begin().await?;
    let customer = load_customer(&mut tx, customer).await?;
    let name = customer_name(customer.id);
    customer
        .check_writable()
        .map_err(|err| Error::from_domain(err, &name))?;
    let existing = find_consent(&mut tx, customer.id, decision.channel, decision.purpose).await?;
    let change = decide(
        customer.id,
        existing.as_ref(),
        decision,
        actor,
        now_micros(),
    )
    .map_err(|err| Error::from_domain(err, &format!("{name}/consents")))?;
    upsert_consent(&mut tx, &change.consent).await?;
    if change.changed {
        publish(&mut tx, &name, &events::consent_changed(&change)).await?;
    }
    tx.commit().await?;
    tracing::info!(customer = %customer.id, consent = %change.consent.id(), state = ?change.consent.state, "consent recorded");
    Ok(change)
}

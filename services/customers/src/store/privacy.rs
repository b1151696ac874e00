//! What data-protection requests need beyond the other tables: identities removed in bulk,
//! customers merged into one, and the `erasures` record.

use sqlx::Row as _;
use uuid::Uuid;

use aftercare_platform::auth::Principal;
use aftercare_platform::db::Database;
use aftercare_platform::time::now_micros;

use super::{
    Conn, anonymise_loyalty, anonymise_timeline, check_request, delete_consents, json,
    load_customer, remember, update_customer, uuid,
};
use crate::domain::customer::Customer;
use crate::domain::idempotency::RequestKey;
use crate::domain::names::customer_name;
use crate::domain::privacy::{Erasure, erase, erase_merged};
use crate::error::Error;
use crate::events::{self, publish};

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

/// The erasure this caller made earlier with `key` and its customer as it is now;
/// `ALREADY_EXISTS` when the key was used for another request.
async fn previous_erasure(
    db: &Database,
    key: Option<&RequestKey>,
) -> Result<Option<(Customer, Erasure)>, Error> {
    let Some(key) = key else {
        return Ok(None);
    };
    let mut conn = db.reader().acquire().await?;
    check_request(&mut conn, Some(key)).await?;
    match find_erasure_by_request(&mut conn, &key.scoped()).await? {
        Some((customer, erasure)) => Ok(Some((load_customer(&mut conn, customer).await?, erasure))),
        None => Ok(None),
    }
}

/// Erases customer `id`, asked against `version` for `reason` by `principal`, with the
/// customers merged into it, and announces it (`CustomerErased`), in one transaction; with an
/// idempotency `key`, the erasure made first when the caller sent it before. Returns the
/// customer after it and what was removed.
pub async fn erase_customer(
    db: &Database,
    id: Uuid,
    version: i64,
    reason: &str,
    principal: &Principal,
    key: Option<&RequestKey>,
) -> Result<(Customer, Erasure), Error> {
    if let Some(done) = previous_erasure(db, key).await? {
        return Ok(done);
    }
    match apply_erasure(db, id, version, reason, principal, key).await {
        // A concurrent retry of this very erasure may have won the race.
        Err(Error::StaleEtag(name)) => previous_erasure(db, key)
            .await?
            .ok_or(Error::StaleEtag(name)),
        result => result,
    }
}

async fn apply_erasure(
    db: &Database,
    id: Uuid,
    version: i64,
    reason: &str,
    principal: &Principal,
    key: Option<&RequestKey>,
) -> Result<(Customer, Erasure), Error> {
    let scoped = key.map(RequestKey::scoped);
    let mut tx = db.begin().await?;
    let customer = load_customer(&mut tx, id).await?;
    let name = customer_name(customer.id);
    let now = now_micros();
    let erased = erase(&customer, version, now).map_err(|err| Error::from_domain(err, &name))?;
    let mut erasure = Erasure {
        cleared_fields: erased.cleared_fields,
        erase_time: now,
        ..Erasure::default()
    };
    if !update_customer(&mut tx, &erased.customer, version).await? {
        return Err(Error::StaleEtag(name));
    }
    let merged = merged_customers(&mut tx, customer.id).await?;
    for id in std::iter::once(customer.id).chain(merged.iter().copied()) {
        erasure.identities_removed += delete_identities(&mut tx, id).await?;
        erasure.consents_removed += delete_consents(&mut tx, id).await?;
        erasure.loyalty_entries_anonymised += anonymise_loyalty(&mut tx, id).await?;
        erasure.timeline_entries_anonymised += anonymise_timeline(&mut tx, id).await?;
    }
    for id in &merged {
        let old = load_customer(&mut tx, *id).await?;
        update_customer(&mut tx, &erase_merged(&old, now), old.version).await?;
    }
    if !insert_erasure(&mut tx, customer.id, &erasure, scoped.as_deref()).await? {
        return Err(Error::StaleEtag(name));
    }
    let event = events::customer_erased(customer.id, &merged, reason, principal, now);
    publish(&mut tx, &name, &event).await?;
    remember(&mut tx, key).await?;
    tx.commit().await?;
    tracing::info!(
        audit = true,
        customer = %customer.id,
        requested_by = %principal.subject,
        reason = %reason,
        "customer erased"
    );
    Ok((erased.customer, erasure))
}

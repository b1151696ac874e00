//! The `identities` table.

use sqlx::Row as _;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::{Conn, Where, enum_column, flag, uuid};
use crate::domain::customer::Channel;
use crate::domain::filter::{Condition, Scalar};
use crate::domain::identity::{Identity, IdentityKey, VerificationMethod};
use crate::domain::query::IdentityField;

const COLUMNS: &str = "id, customer_id, channel, provider, handle, claimed, verified, \
    verify_time, verification_method, version, create_time, update_time";

/// Inserts `identity` unless its key is taken or `request_id` was used; returns whether it
/// was inserted.
pub async fn insert_identity(
    conn: &mut Conn,
    identity: &Identity,
    request_id: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let (verify_time, method) = split_verification(identity);
    let result = sqlx::query(
        "INSERT INTO identities (id, customer_id, request_id, channel, provider, handle,
            verified, verify_time, verification_method, version, create_time, update_time,
            claimed)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT DO NOTHING",
    )
    .bind(identity.id.to_string())
    .bind(identity.customer.to_string())
    .bind(request_id.map(str::to_owned))
    .bind(identity.key.channel as i64)
    .bind(identity.key.provider.clone())
    .bind(identity.key.handle.clone())
    .bind(flag(identity.verification.is_some()))
    .bind(verify_time)
    .bind(method)
    .bind(identity.version)
    .bind(identity.create_time)
    .bind(identity.update_time)
    .bind(flag(identity.claimed))
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Stores `identity`'s verification if the row still has `expected_version`.
pub async fn update_identity_verification(
    conn: &mut Conn,
    identity: &Identity,
    expected_version: i64,
) -> Result<bool, sqlx::Error> {
    let (verify_time, method) = split_verification(identity);
    let result = sqlx::query(
        "UPDATE identities SET verified = $3, verify_time = $4, verification_method = $5,
            version = $6, update_time = $7, claimed = $8
         WHERE id = $1 AND version = $2",
    )
    .bind(identity.id.to_string())
    .bind(expected_version)
    .bind(flag(identity.verification.is_some()))
    .bind(verify_time)
    .bind(method)
    .bind(identity.version)
    .bind(identity.update_time)
    .bind(flag(identity.claimed))
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Deletes `customer`'s unverified claim to `key`, if it has one (a real identity replaces
/// it).
pub async fn drop_claim(
    conn: &mut Conn,
    customer: Uuid,
    key: &IdentityKey,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM identities WHERE customer_id = $1 AND channel = $2 AND provider = $3
            AND handle = $4 AND claimed = 1",
    )
    .bind(customer.to_string())
    .bind(key.channel as i64)
    .bind(key.provider.clone())
    .bind(key.handle.clone())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `customer`'s own identity or claim with `key` (the identity when it has both).
pub async fn find_identity_of(
    conn: &mut Conn,
    customer: Uuid,
    key: &IdentityKey,
) -> Result<Option<Identity>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM identities WHERE customer_id = $1 AND channel = $2
            AND provider = $3 AND handle = $4 ORDER BY claimed LIMIT 1"
    ))
    .bind(customer.to_string())
    .bind(key.channel as i64)
    .bind(key.provider.clone())
    .bind(key.handle.clone())
    .fetch_optional(&mut *conn)
    .await?
    .map(|row| identity_from_row(&row))
    .transpose()
}

/// Deletes identity `id` of `customer`; returns whether it existed.
pub async fn delete_identity(
    conn: &mut Conn,
    customer: Uuid,
    id: Uuid,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("DELETE FROM identities WHERE id = $1 AND customer_id = $2")
        .bind(id.to_string())
        .bind(customer.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Identity `id` of `customer`.
pub async fn find_identity(
    conn: &mut Conn,
    customer: Uuid,
    id: Uuid,
) -> Result<Option<Identity>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM identities WHERE id = $1 AND customer_id = $2"
    ))
    .bind(id.to_string())
    .bind(customer.to_string())
    .fetch_optional(&mut *conn)
    .await?
    .map(|row| identity_from_row(&row))
    .transpose()
}

/// The identity with this channel, provider and handle, whoever owns it; unverified
/// claims (see `Identity::claimed`) are never found here.
pub async fn find_identity_by_key(
    conn: &mut Conn,
    key: &IdentityKey,
) -> Result<Option<Identity>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM identities WHERE channel = $1 AND provider = $2 AND handle = $3
            AND claimed = 0"
    ))
    .bind(key.channel as i64)
    .bind(key.provider.clone())
    .bind(key.handle.clone())
    .fetch_optional(&mut *conn)
    .await?
    .map(|row| identity_from_row(&row))
    .transpose()
}

/// The identity added with `request_id`.
pub async fn find_identity_by_request(
    conn: &mut Conn,
    request_id: &str,
) -> Result<Option<Identity>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM identities WHERE request_id = $1"
    ))
    .bind(request_id.to_owned())
    .fetch_optional(&mut *conn)
    .await?
    .map(|row| identity_from_row(&row))
    .transpose()
}

/// What `ListIdentities` asks for.
#[derive(Debug, Clone)]
pub struct IdentityQuery {
    /// The customer.
    pub customer: Uuid,
    /// Filter conditions.
    pub conditions: Vec<Condition<IdentityField>>,
    /// Only identities with ids above this one.
    pub after: Option<Uuid>,
    /// At most this many (`None`: all).
    pub limit: Option<u32>,
}

/// A customer's identities, oldest first.
pub async fn list_identities(
    conn: &mut Conn,
    query: &IdentityQuery,
) -> Result<Vec<Identity>, sqlx::Error> {
    let mut filter = Where::default();
    let arg = filter.arg(Scalar::Text(query.customer.to_string()));
    filter.push(format!("customer_id = {arg}"));
    for condition in &query.conditions {
        let column = match condition.field {
            IdentityField::Channel => "channel",
            IdentityField::Provider => "provider",
            IdentityField::Verified => "verified",
        };
        filter.compare(column, condition.op, &condition.value);
    }
    if let Some(after) = query.after {
        let arg = filter.arg(Scalar::Text(after.to_string()));
        filter.push(format!("id > {arg}"));
    }
    let limit = query
        .limit
        .map(|limit| format!(" LIMIT {limit}"))
        .unwrap_or_default();
    let sql = format!(
        "SELECT {COLUMNS} FROM identities WHERE {} ORDER BY id{limit}",
        filter.sql()
    );
    filter
        .bind(sqlx::query(&sql))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(identity_from_row)
        .collect()
}

fn split_verification(identity: &Identity) -> (Option<i64>, i64) {
    match identity.verification {
        Some((time, method)) => (Some(time), method as i64),
        None => (None, VerificationMethod::Unspecified as i64),
    }
}

fn identity_from_row(row: &AnyRow) -> Result<Identity, sqlx::Error> {
    let channel: Channel = enum_column(row, "channel")?;
    let method: VerificationMethod = enum_column(row, "verification_method")?;
    let verified = row.try_get::<i64, _>("verified")? != 0;
    let verify_time: Option<i64> = row.try_get("verify_time")?;
    Ok(Identity {
        id: uuid(&row.try_get::<String, _>("id")?, "id")?,
        customer: uuid(&row.try_get::<String, _>("customer_id")?, "customer_id")?,
        key: IdentityKey {
            channel,
            provider: row.try_get("provider")?,
            handle: row.try_get("handle")?,
        },
        verification: verify_time.filter(|_| verified).map(|time| (time, method)),
        claimed: row.try_get::<i64, _>("claimed")? != 0,
        version: row.try_get("version")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
    })
}

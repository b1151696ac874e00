//! The `idempotency_keys` table: every `request_id` a caller used, in its scope (caller,
//! method, parent), with a fingerprint of the request it came with.

use sqlx::Row as _;

use super::Conn;
use crate::domain::idempotency::RequestKey;
use crate::error::Error;

/// Records `key` (in the transaction of the write it made); nothing when it is recorded
/// already.
pub async fn remember_request(
    conn: &mut Conn,
    key: &RequestKey,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO idempotency_keys (subject, method, parent, request_id, request_hash,
            create_time)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT DO NOTHING",
    )
    .bind(key.subject.clone())
    .bind(key.method)
    .bind(key.parent.clone())
    .bind(key.request_id.clone())
    .bind(key.request_hash.clone())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether `key` was first used with a different request.
pub async fn used_for_another_request(
    conn: &mut Conn,
    key: &RequestKey,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query(
        "SELECT request_hash FROM idempotency_keys
         WHERE subject = $1 AND method = $2 AND parent = $3 AND request_id = $4",
    )
    .bind(key.subject.clone())
    .bind(key.method)
    .bind(key.parent.clone())
    .bind(key.request_id.clone())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        Some(row) => row.try_get::<String, _>("request_hash")? != key.request_hash,
        None => false,
    })
}

/// `ALREADY_EXISTS` when the caller used `key` before for a different request.
pub async fn check_request(conn: &mut Conn, key: Option<&RequestKey>) -> Result<(), Error> {
    match key {
        Some(key) if used_for_another_request(conn, key).await? => Err(Error::AlreadyExists {
            resource_type: "request_id",
            name: key.request_id.clone(),
            description: format!(
                "this request_id was used for a different {} request: send a new one",
                key.method
            ),
        }),
        _ => Ok(()),
    }
}

/// Records `key` in the transaction of the write it made.
pub async fn remember(conn: &mut Conn, key: Option<&RequestKey>) -> Result<(), Error> {
    if let Some(key) = key {
        remember_request(conn, key, aftercare_platform::time::now_micros()).await?;
    }
    Ok(())
}

//! Idempotency keys, in the transaction of the write they belong to.

use aftercare_platform::db::Database;
use sqlx::{Any, Row, Transaction};

use crate::domain::{IdempotencyKey, KeyUse};
use crate::error::Result;

/// What an earlier call with `key` made, if one did.
pub async fn key_use(db: &Database, key: &IdempotencyKey) -> Result<Option<KeyUse>> {
    let row = sqlx::query(
        "SELECT fingerprint, resource FROM request_ids \
         WHERE subject = $1 AND method = $2 AND parent = $3 AND request_id = $4",
    )
    .bind(&key.subject)
    .bind(key.method)
    .bind(&key.parent)
    .bind(&key.request_id)
    .fetch_optional(db.reader())
    .await?;
    row.map(|row| {
        Ok(KeyUse {
            fingerprint: row.try_get("fingerprint")?,
            resource: row.try_get("resource")?,
        })
    })
    .transpose()
}

/// Records that `key` made `resource`, in the write's transaction; `false` when the key was
/// taken meanwhile (by a concurrent call): the caller rolls back and answers as a replay.
pub(super) async fn claim(
    tx: &mut Transaction<'_, Any>,
    key: &IdempotencyKey,
    resource: &str,
    now: i64,
) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO request_ids (subject, method, parent, request_id, fingerprint, resource, create_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (subject, method, parent, request_id) DO NOTHING",
    )
    .bind(&key.subject)
    .bind(key.method)
    .bind(&key.parent)
    .bind(&key.request_id)
    .bind(&key.fingerprint)
    .bind(resource)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

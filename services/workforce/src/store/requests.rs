//! The `request_ids` table: idempotency keys scoped to (caller, method, parent).

use sqlx::Row as _;

use super::Conn;

/// The scope and value of a request id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    /// The caller's subject.
    pub subject: String,
    /// The method, e.g. `CreateAgent`.
    pub method: &'static str,
    /// The parent resource name; empty for top-level collections.
    pub parent: String,
    /// The request id.
    pub request_id: String,
}

/// The fingerprint of the request and the id of the resource a key made, if it was used.
pub async fn find_request(
    conn: &mut Conn,
    key: &RequestKey,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT fingerprint, resource_id FROM request_ids
         WHERE subject = $1 AND method = $2 AND parent = $3 AND request_id = $4",
    )
    .bind(key.subject.clone())
    .bind(key.method)
    .bind(key.parent.clone())
    .bind(key.request_id.clone())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| Ok((row.try_get("fingerprint")?, row.try_get("resource_id")?)))
        .transpose()
}

/// Records that `key` made `resource_id`; false when a concurrent call already did.
pub async fn insert_request(
    conn: &mut Conn,
    key: &RequestKey,
    fingerprint: &str,
    resource_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "INSERT INTO request_ids (subject, method, parent, request_id, fingerprint, resource_id,
            create_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind(key.subject.clone())
    .bind(key.method)
    .bind(key.parent.clone())
    .bind(key.request_id.clone())
    .bind(fingerprint.to_owned())
    .bind(resource_id.to_owned())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

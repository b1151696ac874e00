//! The `request_ids` table: idempotency keys scoped to (caller, method, parent), claimed in
//! the transaction of the write they made.

use sqlx::Row as _;
use uuid::Uuid;

use super::Conn;
use crate::error::Error;

/// The scope, value and request fingerprint of a request id.
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
    /// A hash of the request without its id.
    pub fingerprint: String,
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
    .bind(key.fingerprint.clone())
    .bind(resource_id.to_owned())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// The id of what an earlier call with the same key made, or `ALREADY_EXISTS` (`kind`) when
/// the key was used for another request.
pub async fn replayed(
    conn: &mut Conn,
    key: Option<&RequestKey>,
    kind: &'static str,
) -> Result<Option<Uuid>, Error> {
    let Some(key) = key else { return Ok(None) };
    match find_request(conn, key).await? {
        Some((stored, _)) if stored != key.fingerprint => Err(Error::exists(
            kind,
            format!("request_id {}", key.request_id),
            "this request_id was used for a different request",
        )),
        Some((_, id)) => Ok(Uuid::parse_str(&id).ok()),
        None => Ok(None),
    }
}

/// Claims `key` for `id` in the write's transaction. `None`: claimed (or no key), go on;
/// `Some(first)`: an earlier or concurrent call with the key made `first`, write nothing.
pub async fn claim(
    conn: &mut Conn,
    key: Option<&RequestKey>,
    kind: &'static str,
    id: Uuid,
    now: i64,
) -> Result<Option<Uuid>, Error> {
    let Some(key) = key else { return Ok(None) };
    if let Some(first) = replayed(conn, Some(key), kind).await? {
        return Ok(Some(first));
    }
    if insert_request(conn, key, &id.to_string(), now).await? {
        return Ok(None);
    }
    // A concurrent call committed the key between the read and the insert.
    replayed(conn, Some(key), kind)
        .await?
        .map(Some)
        .ok_or_else(|| Error::state(key.method, "a concurrent create failed; retry"))
}

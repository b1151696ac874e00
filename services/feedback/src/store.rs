//! The store: the only SQL of the service. Each write opens a transaction, writes the rows
//! and the outbox events, commits, and wakes the relay.

mod feedback;
mod follow_ups;
mod invitations;
pub mod privacy;
pub mod query;
mod stats;
mod surveys;

use aftercare_platform::db::Database;
use aftercare_platform::events::RelayWaker;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::error::{Error, Result};

pub use feedback::{ITEM_FIELDS, NewResponse, RESPONSE_FIELDS};
pub use follow_ups::{Closing, FOLLOW_UP_FIELDS};
pub use invitations::INVITATION_FIELDS;
pub use privacy::{
    consent_changed, erase_customer, invite_on_resolution, locale_changed, ticket_reopened,
};
pub use stats::StatsQuery;
pub use surveys::SURVEY_FIELDS;
use surveys::resolution_surveys_in as surveys_in;

/// The service's database and relay.
#[derive(Debug, Clone)]
pub struct Store {
    db: Database,
    relay: RelayWaker,
}

/// An idempotency key: (caller subject, method, parent, request id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    /// The caller.
    pub subject: String,
    /// The method (`CreateSurvey`).
    pub method: &'static str,
    /// The parent resource (empty for top-level collections).
    pub parent: String,
    /// The client's request id.
    pub request_id: String,
    /// A fingerprint of the request, to tell a retry from another request.
    pub fingerprint: String,
}

impl Store {
    /// A store over `db`, waking `relay` after commits.
    pub fn new(db: Database, relay: RelayWaker) -> Self {
        Self { db, relay }
    }

    async fn begin(&self) -> Result<Transaction<'static, Any>> {
        Ok(self.db.begin().await?)
    }

    async fn commit(&self, tx: Transaction<'static, Any>) -> Result<()> {
        tx.commit().await?;
        self.relay.wake();
        Ok(())
    }

    /// The resource a request id created before, if any; `ALREADY_EXISTS` (as `kind`) when
    /// the key was used for another request.
    pub async fn replay(
        &self,
        key: Option<&RequestKey>,
        kind: &'static str,
    ) -> Result<Option<String>> {
        let Some(key) = key else { return Ok(None) };
        let row = sqlx::query(
            "SELECT fingerprint, resource FROM request_ids
             WHERE subject = $1 AND method = $2 AND parent = $3 AND request_id = $4",
        )
        .bind(&key.subject)
        .bind(key.method)
        .bind(&key.parent)
        .bind(&key.request_id)
        .fetch_optional(self.db.reader())
        .await?;
        match row {
            None => Ok(None),
            Some(row) => {
                let fingerprint: String = row.try_get("fingerprint")?;
                if fingerprint != key.fingerprint {
                    return Err(Error::request_reused(kind, &key.request_id));
                }
                Ok(Some(row.try_get("resource")?))
            }
        }
    }
}

/// Records `key` → `resource` in `tx`.
async fn remember(
    tx: &mut Transaction<'_, Any>,
    key: Option<&RequestKey>,
    resource: &str,
    now: i64,
) -> Result<()> {
    let Some(key) = key else { return Ok(()) };
    sqlx::query(
        "INSERT INTO request_ids (subject, method, parent, request_id, fingerprint, resource, create_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&key.subject)
    .bind(key.method)
    .bind(&key.parent)
    .bind(&key.request_id)
    .bind(&key.fingerprint)
    .bind(resource)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn uuid(row: &AnyRow, column: &str) -> Result<uuid::Uuid> {
    let text: String = row.try_get(column)?;
    uuid::Uuid::parse_str(&text).map_err(|e| Error::Database(sqlx::Error::Decode(Box::new(e))))
}

fn int(row: &AnyRow, column: &str) -> Result<i64> {
    Ok(row.try_get(column)?)
}

fn opt_int(row: &AnyRow, column: &str) -> Result<Option<i64>> {
    Ok(row.try_get(column)?)
}

fn text(row: &AnyRow, column: &str) -> Result<String> {
    Ok(row.try_get(column)?)
}

fn boolean(row: &AnyRow, column: &str) -> Result<bool> {
    Ok(int(row, column)? != 0)
}

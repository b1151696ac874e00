//! The store: the only SQL. Every write opens and commits its own transaction, with its
//! outbox events and its bump of the index sequence in it.

pub mod articles;
pub mod categories;
pub mod reading;
pub mod stats;

use aftercare_platform::db::Database;
use aftercare_platform::time::now_micros;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, Row, Transaction};

use crate::error::{Error, Result};

/// A bound SQL argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// An integer.
    Int(i64),
    /// A text.
    Text(String),
}

/// Binds `args` in order.
pub fn bind_all<'q>(
    mut query: Query<'q, Any, AnyArguments<'q>>,
    args: &'q [Arg],
) -> Query<'q, Any, AnyArguments<'q>> {
    for arg in args {
        query = match arg {
            Arg::Int(v) => query.bind(*v),
            Arg::Text(v) => query.bind(v.as_str()),
        };
    }
    query
}

/// A WHERE clause under construction: conditions joined with AND, `$n` placeholders.
#[derive(Debug, Default)]
pub struct Where {
    /// The conditions.
    pub clauses: Vec<String>,
    /// Their arguments.
    pub args: Vec<Arg>,
}

impl Where {
    /// A placeholder for `arg`.
    pub fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    /// Adds a condition.
    pub fn push(&mut self, clause: String) {
        self.clauses.push(clause);
    }

    /// ` WHERE …` or nothing.
    pub fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }
}

/// A LIKE pattern matching `value` as a quoted element of a JSON array of strings.
pub fn json_element_pattern(value: &str) -> String {
    let quoted = serde_json::to_string(value).unwrap_or_default();
    let escaped = quoted
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// An idempotency key: a request id scoped to (caller subject, method, parent).
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    /// The caller's subject.
    pub subject: String,
    /// The method.
    pub method: &'static str,
    /// The parent resource (empty for top-level collections).
    pub parent: String,
    /// The request id.
    pub request_id: String,
    /// A fingerprint of the request, to tell a replay from another request.
    pub fingerprint: String,
}

/// The store over the service's database.
#[derive(Debug, Clone)]
pub struct Store {
    db: Database,
}

impl Store {
    /// A store over `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// The database.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// The resource made earlier with `key`: `Ok(Some(name))` for a replay, `AlreadyExists`
    /// when the key was used for another request.
    pub async fn replay(&self, key: &IdempotencyKey) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT fingerprint, resource FROM idempotency_keys
             WHERE subject = $1 AND method = $2 AND parent = $3 AND request_id = $4",
        )
        .bind(&key.subject)
        .bind(key.method)
        .bind(&key.parent)
        .bind(&key.request_id)
        .fetch_optional(self.db.reader())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let fingerprint: String = row.try_get("fingerprint")?;
        let resource: String = row.try_get("resource")?;
        if fingerprint != key.fingerprint {
            return Err(Error::AlreadyExists {
                name: resource,
                description: format!(
                    "request_id {} was used for a different request",
                    key.request_id
                ),
            });
        }
        Ok(Some(resource))
    }
}

/// Claims `key` for `resource` in `tx`; false when another request claimed it first.
pub async fn claim(
    tx: &mut Transaction<'_, Any>,
    key: &IdempotencyKey,
    resource: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO idempotency_keys (subject, method, parent, request_id, fingerprint, resource, create_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind(&key.subject)
    .bind(key.method)
    .bind(&key.parent)
    .bind(&key.request_id)
    .bind(&key.fingerprint)
    .bind(resource)
    .bind(now_micros())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes the next index sequence number. The row lock it takes is held until `tx` commits,
/// so sequence numbers commit in order and a replica reading "after n" misses nothing.
pub async fn next_index_seq(tx: &mut Transaction<'_, Any>) -> Result<i64> {
    let seq: i64 =
        sqlx::query_scalar("UPDATE index_sequence SET seq = seq + 1 WHERE id = 1 RETURNING seq")
            .fetch_one(&mut **tx)
            .await?;
    Ok(seq)
}

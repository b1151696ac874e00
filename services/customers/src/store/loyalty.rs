//! The loyalty ledger (`loyalty_entries`) and the balance kept on `customers`.

use sqlx::Row as _;
use sqlx::any::AnyRow;
use uuid::Uuid;

use aftercare_platform::auth::Principal;
use aftercare_platform::db::Database;
use aftercare_platform::time::now_micros;
use sqlx::{Any, Transaction};

use super::timeline::{actor_from_row, split_actor};
use super::{Conn, Where, check_request, enum_column, load_customer, reevaluate, remember, uuid};
use crate::domain::customer::{Customer, Tier};
use crate::domain::filter::{Condition, Scalar};
use crate::domain::idempotency::RequestKey;
use crate::domain::loyalty::{Balance, LoyaltyEntry, NewEntry, refusal};
use crate::domain::names::customer_name;
use crate::domain::query::LoyaltyField;
use crate::domain::wire::Actor;
use crate::error::Error;
use crate::events::{self, publish};

const COLUMNS: &str = "id, customer_id, kind, points, reason, reference, spend_minor, \
    balance_after, actor_type, actor_id, actor_name, create_time";

/// Adds `points` to `customer`'s balance unless that would make it negative (one
/// conditional UPDATE, so concurrent entries cannot overdraw); returns the new balance, or
/// `None` when refused.
pub async fn add_points(
    conn: &mut Conn,
    customer: Uuid,
    points: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE customers SET loyalty_balance = loyalty_balance + $2
         WHERE id = $1 AND loyalty_balance + $2 >= 0",
    )
    .bind(customer.to_string())
    .bind(points)
    .execute(&mut *conn)
    .await?;
    if result.rows_affected() == 0 {
        return Ok(None);
    }
    current_balance(conn, customer).await.map(Some)
}

/// `customer`'s current balance.
pub async fn current_balance(conn: &mut Conn, customer: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT loyalty_balance FROM customers WHERE id = $1")
        .bind(customer.to_string())
        .fetch_one(&mut *conn)
        .await
}

/// Appends `entry` unless `request_id` was used; returns whether it was appended.
pub async fn insert_loyalty_entry(
    conn: &mut Conn,
    entry: &LoyaltyEntry,
    request_id: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let (actor_type, actor_id, actor_name) = split_actor(entry.actor.as_ref());
    let e = &entry.entry;
    let result = sqlx::query(
        "INSERT INTO loyalty_entries (id, customer_id, request_id, kind, points, reason,
            reference, spend_minor, balance_after, actor_type, actor_id, actor_name, create_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT DO NOTHING",
    )
    .bind(entry.id.to_string())
    .bind(entry.customer.to_string())
    .bind(request_id.map(str::to_owned))
    .bind(e.kind as i64)
    .bind(e.points)
    .bind(e.reason.clone())
    .bind(e.reference.clone())
    .bind(e.spend_minor)
    .bind(entry.balance_after)
    .bind(actor_type)
    .bind(actor_id)
    .bind(actor_name)
    .bind(entry.create_time)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// The entry recorded with `request_id`.
pub async fn find_loyalty_by_request(
    conn: &mut Conn,
    request_id: &str,
) -> Result<Option<LoyaltyEntry>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM loyalty_entries WHERE request_id = $1"
    ))
    .bind(request_id.to_owned())
    .fetch_optional(&mut *conn)
    .await?
    .map(|row| entry_from_row(&row))
    .transpose()
}

/// `customer`'s totals.
pub async fn loyalty_balance(conn: &mut Conn, customer: Uuid) -> Result<Balance, sqlx::Error> {
    let row = sqlx::query(
        "SELECT
            CAST(COALESCE(SUM(CASE WHEN kind = 1 THEN points ELSE 0 END), 0) AS BIGINT) AS earned,
            CAST(COALESCE(SUM(CASE WHEN kind = 2 THEN -points ELSE 0 END), 0) AS BIGINT) AS redeemed,
            CAST(COALESCE(SUM(CASE WHEN kind = 3 THEN -points ELSE 0 END), 0) AS BIGINT) AS expired,
            CAST(COALESCE(SUM(spend_minor), 0) AS BIGINT) AS spend,
            MAX(create_time) AS last_time
         FROM loyalty_entries WHERE customer_id = $1",
    )
    .bind(customer.to_string())
    .fetch_one(&mut *conn)
    .await?;
    Ok(Balance {
        balance: current_balance(conn, customer).await?,
        lifetime_earned: row.try_get("earned")?,
        lifetime_redeemed: row.try_get("redeemed")?,
        lifetime_expired: row.try_get("expired")?,
        lifetime_spend_minor: row.try_get("spend")?,
        last_entry_time: row.try_get("last_time")?,
    })
}

/// Blanks the reason and reference of `customer`'s entries (points and times stay);
/// returns how many.
pub async fn anonymise_loyalty(conn: &mut Conn, customer: Uuid) -> Result<i64, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE loyalty_entries SET reason = '', reference = '', actor_type = 0, actor_id = '',
            actor_name = ''
         WHERE customer_id = $1",
    )
    .bind(customer.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(i64::try_from(result.rows_affected()).unwrap_or(i64::MAX))
}

/// What `ListLoyaltyEntries` asks for.
#[derive(Debug, Clone)]
pub struct LoyaltyQuery {
    /// The customer.
    pub customer: Uuid,
    /// Filter conditions.
    pub conditions: Vec<Condition<LoyaltyField>>,
    /// Only entries before this (create time, id).
    pub before: Option<(i64, String)>,
    /// At most this many (`None`: all).
    pub limit: Option<u32>,
}

/// A customer's entries, newest first.
pub async fn list_loyalty(
    conn: &mut Conn,
    query: &LoyaltyQuery,
) -> Result<Vec<LoyaltyEntry>, sqlx::Error> {
    let mut filter = Where::default();
    let arg = filter.arg(Scalar::Text(query.customer.to_string()));
    filter.push(format!("customer_id = {arg}"));
    for condition in &query.conditions {
        let column = match condition.field {
            LoyaltyField::Kind => "kind",
            LoyaltyField::Reference => "reference",
            LoyaltyField::CreateTime => "create_time",
        };
        filter.compare(column, condition.op, &condition.value);
    }
    if let Some((time, id)) = &query.before {
        let time = filter.arg(Scalar::Int(*time));
        let id = filter.arg(Scalar::Text(id.clone()));
        filter.push(format!(
            "(create_time < {time} OR (create_time = {time} AND id < {id}))"
        ));
    }
    let limit = query
        .limit
        .map(|l| format!(" LIMIT {l}"))
        .unwrap_or_default();
    let sql = format!(
        "SELECT {COLUMNS} FROM loyalty_entries WHERE {} ORDER BY create_time DESC, id DESC{limit}",
        filter.sql()
    );
    filter
        .bind(sqlx::query(&sql))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(entry_from_row)
        .collect()
}

fn entry_from_row(row: &AnyRow) -> Result<LoyaltyEntry, sqlx::Error> {
    Ok(LoyaltyEntry {
        id: uuid(&row.try_get::<String, _>("id")?, "id")?,
        customer: uuid(&row.try_get::<String, _>("customer_id")?, "customer_id")?,
        entry: NewEntry {
            kind: enum_column(row, "kind")?,
            points: row.try_get("points")?,
            reason: row.try_get("reason")?,
            reference: row.try_get("reference")?,
            spend_minor: row.try_get("spend_minor")?,
        },
        balance_after: row.try_get("balance_after")?,
        actor: actor_from_row(row)?,
        create_time: row.try_get("create_time")?,
    })
}

/// Appends `entry` to `customer`'s ledger (made by `principal`) in `tx`, with its `LoyaltyEntryRecorded` event; `None` when `request_id` was used
/// concurrently. Refuses an entry that would overdraw the balance.
pub async fn append_entry(
    tx: &mut Transaction<'static, Any>,
    customer: &Customer,
    entry: NewEntry,
    principal: &Principal,
    request_id: Option<&str>,
) -> Result<Option<LoyaltyEntry>, Error> {
    let name = customer_name(customer.id);
    let Some(balance_after) = add_points(tx, customer.id, entry.points).await? else {
        let balance = loyalty_balance(tx, customer.id).await?.balance;
        return Err(Error::from_domain(refusal(balance, entry.points), &name));
    };
    let entry = LoyaltyEntry::new(
        customer.id,
        entry,
        balance_after,
        Actor::of(principal),
        now_micros(),
    );
    if !insert_loyalty_entry(tx, &entry, request_id).await? {
        return Ok(None);
    }
    publish(tx, &name, &events::loyalty_entry_recorded(&entry)).await?;
    Ok(Some(entry))
}

/// An entry recorded: the customer as it is after it, the entry, the balance, and the tier
/// the rules moved the customer to (if they did).
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The customer.
    pub customer: Customer,
    /// The entry (the first one, for a retry).
    pub entry: LoyaltyEntry,
    /// The customer's totals.
    pub balance: Balance,
    /// The tier the entry moved the customer to.
    pub new_tier: Option<Tier>,
}

/// Records `entry` on customer `id` for `principal`, in one transaction: refused while the
/// customer is merged or erased and when it would overdraw the balance; the tier rules are
/// applied after it. With an idempotency `key`, the entry recorded first when the caller
/// sent it before.
pub async fn record_loyalty_entry(
    db: &Database,
    id: Uuid,
    entry: NewEntry,
    principal: &Principal,
    key: Option<&RequestKey>,
) -> Result<Recorded, Error> {
    let scoped = key.map(RequestKey::scoped);
    let request_id = scoped.as_deref();
    let mut tx = db.begin().await?;
    check_request(&mut tx, key).await?;
    let customer = load_customer(&mut tx, id).await?;
    customer
        .check_writable()
        .map_err(|err| Error::from_domain(err, &customer_name(customer.id)))?;
    if let Some(request_id) = request_id
        && let Some(existing) = find_loyalty_by_request(&mut tx, request_id).await?
    {
        let balance = loyalty_balance(&mut tx, customer.id).await?;
        return Ok(Recorded {
            customer,
            entry: existing,
            balance,
            new_tier: None,
        });
    }
    let Some(entry) = append_entry(&mut tx, &customer, entry, principal, request_id).await? else {
        // A concurrent retry with the same request id recorded it first.
        tx.rollback().await?;
        let mut conn = db.reader().acquire().await?;
        check_request(&mut conn, key).await?;
        let existing = find_loyalty_by_request(&mut conn, request_id.unwrap_or_default())
            .await?
            .ok_or_else(|| {
                Error::state(
                    customer_name(customer.id),
                    "a concurrent entry failed; retry",
                )
            })?;
        let balance = loyalty_balance(&mut conn, customer.id).await?;
        return Ok(Recorded {
            customer,
            entry: existing,
            balance,
            new_tier: None,
        });
    };
    // Re-read: the entry locked the customer's row, so this is its latest version.
    let customer = load_customer(&mut tx, customer.id).await?;
    let new_tier = reevaluate(&mut tx, &customer, principal).await?;
    let customer = load_customer(&mut tx, customer.id).await?;
    let balance = loyalty_balance(&mut tx, customer.id).await?;
    remember(&mut tx, key).await?;
    tx.commit().await?;
    tracing::info!(customer = %customer.id, points = entry.entry.points, balance = entry.balance_after, "loyalty entry recorded");
    Ok(Recorded {
        customer,
        entry,
        balance,
        new_tier,
    })
}

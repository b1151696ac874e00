//! The `identities` table.

use sqlx::Row as _;
use sqlx::any::AnyRow;
use uuid::Uuid;

use aftercare_platform::auth::Principal;
use aftercare_platform::db::Database;
use aftercare_platform::time::now_micros;

use super::{
    Conn, Where, check_organisation, check_request, enum_column, flag, insert_customer,
    load_customer, remember, uuid,
};
use crate::domain::customer::{Channel, Customer};
use crate::domain::filter::{Condition, Scalar};
use crate::domain::idempotency::RequestKey;
use crate::domain::identity::{Addition, Identity, IdentityKey, VerificationMethod, add};
use crate::domain::names::{customer_name, identity_name};
use crate::domain::query::IdentityField;
use crate::error::{Error, IDENTITY};
use crate::events::{self, publish};

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

impl IdentityQuery {
    /// Every one of `customer`'s identities.
    pub fn all(customer: Uuid) -> Self {
        Self {
            customer,
            conditions: Vec::new(),
            after: None,
            limit: None,
        }
    }
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

/// The identity with `key` and its owner (followed to the survivor when merged).
pub async fn identity_owner(
    db: &Database,
    key: &IdentityKey,
) -> Result<Option<(Customer, Identity)>, Error> {
    let mut conn = db.reader().acquire().await?;
    let Some(identity) = find_identity_by_key(&mut conn, key).await? else {
        return Ok(None);
    };
    let mut customer = load_customer(&mut conn, identity.customer).await?;
    if let Some(survivor) = customer.merged_into {
        customer = load_customer(&mut conn, survivor).await?;
    }
    Ok(Some((customer, identity)))
}

/// Creates `customer` with its first `identity` (found by `ResolveIdentity`, made by
/// `principal`) and the `CustomerCreated` event, in one transaction; false, with nothing
/// written, when someone else created the identity since it was looked up.
pub async fn create_from_identity(
    db: &Database,
    customer: &Customer,
    identity: &Identity,
    principal: &Principal,
) -> Result<bool, Error> {
    let mut tx = db.begin().await?;
    check_organisation(&mut tx, &customer.profile, "hints.organisation").await?;
    insert_customer(&mut tx, customer, None).await?;
    if !insert_identity(&mut tx, identity, None).await? {
        tx.rollback().await?;
        return Ok(false);
    }
    let event = events::customer_created(
        customer,
        vec![events::channel_identity(&identity.key)],
        true,
        principal,
    );
    publish(&mut tx, &customer_name(customer.id), &event).await?;
    tx.commit().await?;
    tracing::info!(customer = %customer.id, channel = ?identity.key.channel, "customer created from a new identity");
    Ok(true)
}

/// `ALREADY_EXISTS`: another customer owns the identity `key`.
fn taken(key: &IdentityKey) -> Error {
    Error::AlreadyExists {
        resource_type: IDENTITY,
        name: key.describe(),
        description: "another customer owns this identity; merge the two customers instead".into(),
    }
}

/// Adds `key` to customer `id` for `principal` (as a claim when `by_customer`, see
/// `domain::identity::add`), with its `CustomerIdentityAdded` event, in one transaction:
/// refused while the customer is merged or erased. Returns the identity added, or the one
/// the customer has already; with an idempotency `key`, the one added first when the caller
/// sent it before.
pub async fn add_identity(
    db: &Database,
    id: Uuid,
    key: IdentityKey,
    by_customer: bool,
    principal: &Principal,
    request_key: Option<&RequestKey>,
) -> Result<Identity, Error> {
    let scoped = request_key.map(RequestKey::scoped);
    let mut tx = db.begin().await?;
    // The same checks as a first call, before any replay.
    let customer = load_customer(&mut tx, id).await?;
    let name = customer_name(customer.id);
    customer
        .check_writable()
        .map_err(|err| Error::from_domain(err, &name))?;
    check_request(&mut tx, request_key).await?;
    if let Some(request_id) = scoped.as_deref()
        && let Some(existing) = find_identity_by_request(&mut tx, request_id).await?
    {
        return Ok(existing);
    }
    let own = find_identity_of(&mut tx, customer.id, &key).await?;
    let owner = find_identity_by_key(&mut tx, &key).await?;
    let identity = match add(
        customer.id,
        key.clone(),
        by_customer,
        own,
        owner,
        now_micros(),
    ) {
        Addition::Existing(existing) => return Ok(existing),
        Addition::Taken => return Err(taken(&key)),
        Addition::New(identity) => identity,
    };
    if !identity.claimed {
        drop_claim(&mut tx, customer.id, &identity.key).await?;
    }
    if !insert_identity(&mut tx, &identity, scoped.as_deref()).await? {
        return Err(if identity.claimed {
            Error::state(name, "the identity was added concurrently; retry")
        } else {
            taken(&identity.key)
        });
    }
    publish(
        &mut tx,
        &name,
        &events::identity_added(&identity, principal),
    )
    .await?;
    remember(&mut tx, request_key).await?;
    tx.commit().await?;
    tracing::info!(customer = %customer.id, identity = %identity.id, "identity added");
    Ok(identity)
}

/// Verifies identity `id` of `customer` by `method`, in one transaction: refused while the
/// customer is merged or erased, and for a claim to an identity another customer owns.
/// Verifying again changes nothing.
pub async fn verify_identity(
    db: &Database,
    customer: Uuid,
    id: Uuid,
    method: VerificationMethod,
) -> Result<Identity, Error> {
    let mut tx = db.begin().await?;
    load_customer(&mut tx, customer)
        .await?
        .check_writable()
        .map_err(|err| Error::from_domain(err, &customer_name(customer)))?;
    let mut identity = find_identity(&mut tx, customer, id)
        .await?
        .ok_or_else(|| Error::not_found(IDENTITY, identity_name(customer, id)))?;
    if identity.claimed {
        let owner = find_identity_by_key(&mut tx, &identity.key).await?;
        if identity.claims_anothers(owner.as_ref()) {
            return Err(taken(&identity.key));
        }
    }
    let version = identity.version;
    if identity.verify(method, now_micros()) {
        if !update_identity_verification(&mut tx, &identity, version).await? {
            return Err(Error::state(
                identity_name(customer, id),
                "changed concurrently; retry",
            ));
        }
        tx.commit().await?;
        tracing::info!(identity = %id, method = ?method, "identity verified");
    }
    Ok(identity)
}

/// Removes identity `id` of `customer`, in one transaction: refused while the customer is
/// merged or erased.
pub async fn remove_identity(db: &Database, customer: Uuid, id: Uuid) -> Result<(), Error> {
    let mut tx = db.begin().await?;
    load_customer(&mut tx, customer)
        .await?
        .check_writable()
        .map_err(|err| Error::from_domain(err, &customer_name(customer)))?;
    if !delete_identity(&mut tx, customer, id).await? {
        return Err(Error::not_found(IDENTITY, identity_name(customer, id)));
    }
    tx.commit().await?;
    tracing::info!(identity = %id, "identity removed");
    Ok(())
}

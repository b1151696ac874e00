//! The `customers` table.

use sqlx::Row as _;
use sqlx::any::AnyRow;
use uuid::Uuid;

use aftercare_platform::auth::Principal;
use aftercare_platform::db::Database;

use super::{
    Conn, Where, check_request, count_foreign_timeline, enum_column, flag, from_json, json,
    like_pattern, loyalty_balance, optional_uuid, remember, uuid,
};
use crate::domain::access::Access;
use crate::domain::customer::Updated;
use crate::domain::customer::{Channel, Customer, LifecycleStage, Profile, Tier};
use crate::domain::filter::{Condition, Scalar};
use crate::domain::idempotency::RequestKey;
use crate::domain::names::customer_name;
use crate::domain::query::CustomerField;
use crate::domain::values::{DisplayName, Locale, PersonName, Region, TimeZone};
use crate::error::{CUSTOMER, Error};
use crate::events::{self, publish};

const COLUMNS: &str = "id, display_name, given_name, family_name, locale, time_zone, region, \
    emails, phones, addresses, organisation_id, tier, tier_locked, lifecycle_stage, attributes, \
    internal_attributes, origin_channel, merged_into, merge_time, erased, erase_time, version, \
    create_time, update_time";

/// Inserts `customer` unless a customer was already created with `request_id`; returns
/// whether it was inserted.
pub async fn insert_customer(
    conn: &mut Conn,
    customer: &Customer,
    request_id: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let p = &customer.profile;
    let result = sqlx::query(
        "INSERT INTO customers (id, request_id, display_name, given_name, family_name, locale,
            time_zone, region, emails, phones, addresses, organisation_id, tier, tier_locked,
            lifecycle_stage, attributes, internal_attributes, origin_channel, merged_into,
            merge_time, erased, erase_time, search_text, version, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
            $19, $20, $21, $22, $23, $24, $25, $26)
         ON CONFLICT DO NOTHING",
    )
    .bind(customer.id.to_string())
    .bind(request_id.map(str::to_owned))
    .bind(p.display_name.as_str())
    .bind(p.given_name.as_str())
    .bind(p.family_name.as_str())
    .bind(p.locale.as_str())
    .bind(p.time_zone.as_str())
    .bind(p.region.as_str())
    .bind(json(&p.emails))
    .bind(json(&p.phones))
    .bind(json(&p.addresses))
    .bind(p.organisation.map(|id| id.to_string()))
    .bind(p.tier as i64)
    .bind(flag(p.tier_locked))
    .bind(p.lifecycle_stage as i64)
    .bind(json(&p.attributes))
    .bind(json(&p.internal_attributes))
    .bind(customer.origin_channel as i64)
    .bind(customer.merged_into.map(|id| id.to_string()))
    .bind(customer.merge_time)
    .bind(flag(customer.erased))
    .bind(customer.erase_time)
    .bind(customer.search_text())
    .bind(customer.version)
    .bind(customer.create_time)
    .bind(customer.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Writes `customer` (whose `version` was bumped) over the stored row if that row still has
/// `expected_version`; returns whether it did.
pub async fn update_customer(
    conn: &mut Conn,
    customer: &Customer,
    expected_version: i64,
) -> Result<bool, sqlx::Error> {
    let p = &customer.profile;
    let result = sqlx::query(
        "UPDATE customers SET display_name = $3, given_name = $4, family_name = $5,
            locale = $6, time_zone = $7, region = $8, emails = $9, phones = $10,
            addresses = $11, organisation_id = $12, tier = $13, tier_locked = $14,
            lifecycle_stage = $15, attributes = $16, internal_attributes = $17,
            merged_into = $18, merge_time = $19, erased = $20, erase_time = $21,
            search_text = $22, version = $23, update_time = $24
         WHERE id = $1 AND version = $2",
    )
    .bind(customer.id.to_string())
    .bind(expected_version)
    .bind(p.display_name.as_str())
    .bind(p.given_name.as_str())
    .bind(p.family_name.as_str())
    .bind(p.locale.as_str())
    .bind(p.time_zone.as_str())
    .bind(p.region.as_str())
    .bind(json(&p.emails))
    .bind(json(&p.phones))
    .bind(json(&p.addresses))
    .bind(p.organisation.map(|id| id.to_string()))
    .bind(p.tier as i64)
    .bind(flag(p.tier_locked))
    .bind(p.lifecycle_stage as i64)
    .bind(json(&p.attributes))
    .bind(json(&p.internal_attributes))
    .bind(customer.merged_into.map(|id| id.to_string()))
    .bind(customer.merge_time)
    .bind(flag(customer.erased))
    .bind(customer.erase_time)
    .bind(customer.search_text())
    .bind(customer.version)
    .bind(customer.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Deletes a customer with its identities, consents and its own timeline entries; returns whether the customer existed with
/// `expected_version`.
pub async fn delete_customer(
    conn: &mut Conn,
    id: Uuid,
    expected_version: i64,
) -> Result<bool, sqlx::Error> {
    for table in ["identities", "consents", "timeline_entries"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE customer_id = $1"))
            .bind(id.to_string())
            .execute(&mut *conn)
            .await?;
    }
    let result = sqlx::query("DELETE FROM customers WHERE id = $1 AND version = $2")
        .bind(id.to_string())
        .bind(expected_version)
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// The customer with `id`.
pub async fn find_customer(conn: &mut Conn, id: Uuid) -> Result<Option<Customer>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM customers WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| customer_from_row(&row))
        .transpose()
}

/// The customer created with `request_id`.
pub async fn find_customer_by_request(
    conn: &mut Conn,
    request_id: &str,
) -> Result<Option<Customer>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM customers WHERE request_id = $1"
    ))
    .bind(request_id.to_owned())
    .fetch_optional(&mut *conn)
    .await?
    .map(|row| customer_from_row(&row))
    .transpose()
}

/// Whether organisation `id` exists.
pub async fn organisation_exists(conn: &mut Conn, id: Uuid) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("SELECT 1 FROM organisations WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}

/// What `ListCustomers` asks for.
#[derive(Debug, Clone)]
pub struct CustomerQuery {
    /// Filter conditions.
    pub conditions: Vec<Condition<CustomerField>>,
    /// Lower-cased free text, and its E.164 form when it reads as a phone number.
    pub text: Option<(String, Option<String>)>,
    /// Whether merged customers are included.
    pub show_merged: bool,
    /// Which customers the caller may see.
    pub reach: Access,
    /// Only customers with ids below this one (the previous page's last).
    pub before: Option<Uuid>,
    /// At most this many.
    pub limit: u32,
}

/// Customers matching `query`, newest first.
pub async fn list_customers(
    conn: &mut Conn,
    query: &CustomerQuery,
) -> Result<Vec<Customer>, sqlx::Error> {
    let filter = customer_where(query);
    let sql = format!(
        "SELECT {COLUMNS} FROM customers WHERE {} ORDER BY id DESC LIMIT {}",
        filter.sql(),
        query.limit
    );
    filter
        .bind(sqlx::query(&sql))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(customer_from_row)
        .collect()
}

/// How many customers match `query` (its `before` and `limit` ignored).
pub async fn count_customers(conn: &mut Conn, query: &CustomerQuery) -> Result<i64, sqlx::Error> {
    let filter = customer_where(&CustomerQuery {
        before: None,
        ..query.clone()
    });
    let sql = format!("SELECT COUNT(*) AS n FROM customers WHERE {}", filter.sql());
    filter
        .bind(sqlx::query(&sql))
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")
}

fn customer_where(query: &CustomerQuery) -> Where {
    let mut filter = Where::default();
    for condition in &query.conditions {
        let column = match condition.field {
            CustomerField::Tier => "tier",
            CustomerField::LifecycleStage => "lifecycle_stage",
            CustomerField::Region => "region",
            CustomerField::Organisation => "organisation_id",
            CustomerField::Locale => "locale",
            CustomerField::Erased => "erased",
            CustomerField::TierLocked => "tier_locked",
            CustomerField::CreateTime => "create_time",
            CustomerField::UpdateTime => "update_time",
        };
        filter.compare(column, condition.op, &condition.value);
    }
    if let Some((text, phone)) = &query.text {
        let mut patterns = vec![like_pattern(text)];
        patterns.extend(phone.as_deref().map(like_pattern));
        let mut alternatives = Vec::new();
        for pattern in patterns {
            let arg = filter.arg(Scalar::Text(pattern));
            alternatives.push(format!("search_text LIKE {arg} ESCAPE '\\'"));
            alternatives.push(format!(
                "EXISTS (SELECT 1 FROM identities i WHERE i.customer_id = customers.id \
                 AND LOWER(i.handle) LIKE {arg} ESCAPE '\\')"
            ));
        }
        filter.push(format!("({})", alternatives.join(" OR ")));
    }
    if !query.show_merged {
        filter.push("merged_into IS NULL");
    }
    match &query.reach {
        Access::All => {}
        Access::Region(region) => {
            let arg = filter.arg(Scalar::Text(region.clone()));
            filter.push(format!("(region = '' OR region = {arg})"));
        }
        Access::Unassigned => filter.push("region = ''"),
        Access::Own(id) => {
            let arg = filter.arg(Scalar::Text(id.to_string()));
            filter.push(format!("id = {arg}"));
        }
    }
    if let Some(before) = query.before {
        let arg = filter.arg(Scalar::Text(before.to_string()));
        filter.push(format!("id < {arg}"));
    }
    filter
}

fn customer_from_row(row: &AnyRow) -> Result<Customer, sqlx::Error> {
    let tier: Tier = enum_column(row, "tier")?;
    let lifecycle_stage: LifecycleStage = enum_column(row, "lifecycle_stage")?;
    let origin_channel: Channel = enum_column(row, "origin_channel")?;
    Ok(Customer {
        id: uuid(&row.try_get::<String, _>("id")?, "id")?,
        profile: Profile {
            display_name: DisplayName::trusted(row.try_get("display_name")?),
            given_name: PersonName::trusted(row.try_get("given_name")?),
            family_name: PersonName::trusted(row.try_get("family_name")?),
            locale: Locale::trusted(row.try_get("locale")?),
            time_zone: TimeZone::trusted(row.try_get("time_zone")?),
            region: Region::trusted(row.try_get("region")?),
            emails: from_json(row, "emails")?,
            phones: from_json(row, "phones")?,
            addresses: from_json(row, "addresses")?,
            organisation: optional_uuid(row, "organisation_id")?,
            tier,
            tier_locked: row.try_get::<i64, _>("tier_locked")? != 0,
            lifecycle_stage,
            attributes: from_json(row, "attributes")?,
            internal_attributes: from_json(row, "internal_attributes")?,
        },
        origin_channel,
        merged_into: optional_uuid(row, "merged_into")?,
        merge_time: row.try_get("merge_time")?,
        erased: row.try_get::<i64, _>("erased")? != 0,
        erase_time: row.try_get("erase_time")?,
        version: row.try_get("version")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
    })
}

/// Ids of live customers (not merged, not erased) whose tier rules may change, after
/// `after`, in id order, at most `limit`: a batch of the nightly tier review.
pub async fn customers_for_tier_review(
    conn: &mut Conn,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT id FROM customers
         WHERE merged_into IS NULL AND erased = 0 AND tier_locked = 0 AND id > $1
         ORDER BY id LIMIT {limit}"
    ))
    .bind(after.map(|id| id.to_string()).unwrap_or_default())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| uuid(&row.try_get::<String, _>("id")?, "id"))
    .collect()
}

/// Refuses a profile naming an organisation that does not exist (`field` names it).
pub async fn check_organisation(
    conn: &mut Conn,
    profile: &Profile,
    field: &str,
) -> Result<(), Error> {
    match profile.organisation {
        Some(id) if !organisation_exists(conn, id).await? => {
            Err(Error::invalid(field, "no such organisation"))
        }
        _ => Ok(()),
    }
}

/// The customer with `id`, or `NOT_FOUND`.
pub async fn load_customer(conn: &mut Conn, id: Uuid) -> Result<Customer, Error> {
    find_customer(conn, id)
        .await?
        .ok_or_else(|| Error::not_found(CUSTOMER, customer_name(id)))
}

async fn by_request(conn: &mut Conn, scoped: Option<&str>) -> Result<Option<Customer>, Error> {
    match scoped {
        Some(scoped) => Ok(find_customer_by_request(conn, scoped).await?),
        None => Ok(None),
    }
}

/// Creates `customer` for `principal` with its `CustomerCreated` event, in one transaction;
/// with an idempotency `key`, the customer it made first when the caller sent it before.
pub async fn create_customer(
    db: &Database,
    customer: Customer,
    key: Option<&RequestKey>,
    principal: &Principal,
) -> Result<Customer, Error> {
    let scoped = key.map(RequestKey::scoped);
    let mut tx = db.begin().await?;
    check_request(&mut tx, key).await?;
    if let Some(existing) = by_request(&mut tx, scoped.as_deref()).await? {
        return Ok(existing);
    }
    check_organisation(&mut tx, &customer.profile, "customer.organisation").await?;
    if !insert_customer(&mut tx, &customer, scoped.as_deref()).await? {
        // A concurrent retry with the same key won; return what it made.
        tx.rollback().await?;
        let mut conn = db.reader().acquire().await?;
        check_request(&mut conn, key).await?;
        return by_request(&mut conn, scoped.as_deref())
            .await?
            .ok_or_else(|| Error::state("customers", "a concurrent create failed; retry"));
    }
    let event = events::customer_created(&customer, Vec::new(), false, principal);
    publish(&mut tx, &customer_name(customer.id), &event).await?;
    remember(&mut tx, key).await?;
    tx.commit().await?;
    tracing::info!(customer = %customer.id, "customer created");
    Ok(customer)
}

/// Stores `update` (made by `principal`) over the version it was made against, with its
/// events, in one transaction: `FAILED_PRECONDITION` (etag) when that version is gone.
pub async fn save_update(
    db: &Database,
    update: &Updated,
    principal: &Principal,
) -> Result<(), Error> {
    let name = customer_name(update.after.id);
    let mut tx = db.begin().await?;
    if update.changed.iter().any(|field| field == "organisation") {
        check_organisation(&mut tx, &update.after.profile, "customer.organisation").await?;
    }
    if !update_customer(&mut tx, &update.after, update.before.version).await? {
        return Err(Error::StaleEtag(name));
    }
    let (updated, tier_changed) = events::customer_updated(update, principal);
    publish(&mut tx, &name, &updated).await?;
    if let Some(tier_changed) = tier_changed {
        publish(&mut tx, &name, &tier_changed).await?;
    }
    tx.commit().await?;
    tracing::info!(customer = %update.after.id, version = update.after.version, "customer updated");
    Ok(())
}

/// Deletes customer `id` at `version`, in one transaction: refused while it has loyalty
/// entries or other services refer to it (merge or erase it instead).
pub async fn delete_customer_at(db: &Database, id: Uuid, version: i64) -> Result<(), Error> {
    let name = customer_name(id);
    let mut tx = db.begin().await?;
    let customer = load_customer(&mut tx, id).await?;
    if customer.version != version {
        return Err(Error::StaleEtag(name));
    }
    let has_ledger = loyalty_balance(&mut tx, customer.id)
        .await?
        .last_entry_time
        .is_some();
    if has_ledger || count_foreign_timeline(&mut tx, customer.id).await? > 0 {
        return Err(Error::FailedPrecondition {
            violation: "DEPENDENTS",
            subject: name,
            description: "the customer has loyalty entries or other services refer to it: merge or erase it instead".into(),
        });
    }
    if !delete_customer(&mut tx, customer.id, version).await? {
        return Err(Error::StaleEtag(name));
    }
    tx.commit().await?;
    tracing::info!(customer = %customer.id, "customer deleted");
    Ok(())
}

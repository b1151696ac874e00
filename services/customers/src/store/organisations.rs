//! The `organisations` table.

use sqlx::Row as _;
use sqlx::any::AnyRow;
use uuid::Uuid;

use aftercare_platform::db::Database;
use aftercare_platform::time::now_micros;

use super::{
    Conn, Where, check_request, enum_column, from_json, json, like_pattern, remember, uuid,
};
use crate::domain::filter::{Condition, Scalar};
use crate::domain::idempotency::RequestKey;
use crate::domain::names::organisation_name;
use crate::domain::organisation::{Organisation, OrganisationChange, OrganisationSpec};
use crate::domain::query::OrganisationField;
use crate::domain::values::{DisplayName, OrganisationDomain, Region};
use crate::error::{Error, ORGANISATION};

const COLUMNS: &str = "id, display_name, domain, region, tier, attributes, version, create_time, \
    update_time, (SELECT COUNT(*) FROM customers c WHERE c.organisation_id = organisations.id \
    AND c.merged_into IS NULL) AS customer_count";

/// Inserts `organisation` unless `request_id` was used (or its domain is taken); returns
/// whether it was inserted.
pub async fn insert_organisation(
    conn: &mut Conn,
    organisation: &Organisation,
    request_id: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let s = &organisation.spec;
    let result = sqlx::query(
        "INSERT INTO organisations (id, request_id, display_name, domain, region, tier,
            attributes, version, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT DO NOTHING",
    )
    .bind(organisation.id.to_string())
    .bind(request_id.map(str::to_owned))
    .bind(s.display_name.as_str())
    .bind(s.domain.as_ref().map(|domain| domain.as_str().to_owned()))
    .bind(s.region.as_str())
    .bind(s.tier as i64)
    .bind(json(&s.attributes))
    .bind(organisation.version)
    .bind(organisation.create_time)
    .bind(organisation.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Writes `organisation` (version bumped) if the row still has `expected_version`.
pub async fn update_organisation(
    conn: &mut Conn,
    organisation: &Organisation,
    expected_version: i64,
) -> Result<bool, sqlx::Error> {
    let s = &organisation.spec;
    let result = sqlx::query(
        "UPDATE organisations SET display_name = $3, domain = $4, region = $5, tier = $6,
            attributes = $7, version = $8, update_time = $9
         WHERE id = $1 AND version = $2",
    )
    .bind(organisation.id.to_string())
    .bind(expected_version)
    .bind(s.display_name.as_str())
    .bind(s.domain.as_ref().map(|domain| domain.as_str().to_owned()))
    .bind(s.region.as_str())
    .bind(s.tier as i64)
    .bind(json(&s.attributes))
    .bind(organisation.version)
    .bind(organisation.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Deletes organisation `id` if it has `expected_version`.
pub async fn delete_organisation(
    conn: &mut Conn,
    id: Uuid,
    expected_version: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("DELETE FROM organisations WHERE id = $1 AND version = $2")
        .bind(id.to_string())
        .bind(expected_version)
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// How many customers (merged ones included) refer to organisation `id`.
pub async fn organisation_members(conn: &mut Conn, id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE organisation_id = $1")
        .bind(id.to_string())
        .fetch_one(&mut *conn)
        .await
}

/// Organisation `id`, with its customer count.
pub async fn find_organisation(
    conn: &mut Conn,
    id: Uuid,
) -> Result<Option<(Organisation, i64)>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM organisations WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?
    .map(|row| organisation_from_row(&row))
    .transpose()
}

/// The organisation created with `request_id`.
pub async fn find_organisation_by_request(
    conn: &mut Conn,
    request_id: &str,
) -> Result<Option<(Organisation, i64)>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM organisations WHERE request_id = $1"
    ))
    .bind(request_id.to_owned())
    .fetch_optional(&mut *conn)
    .await?
    .map(|row| organisation_from_row(&row))
    .transpose()
}

/// The organisation with `domain`.
pub async fn find_organisation_by_domain(
    conn: &mut Conn,
    domain: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar::<_, String>("SELECT id FROM organisations WHERE domain = $1")
        .bind(domain.to_owned())
        .fetch_optional(&mut *conn)
        .await?
        .map(|id| uuid(&id, "id"))
        .transpose()
}

/// What `ListOrganisations` asks for.
#[derive(Debug, Clone)]
pub struct OrganisationQuery {
    /// Filter conditions.
    pub conditions: Vec<Condition<OrganisationField>>,
    /// Lower-cased text matched in display name and domain.
    pub text: Option<String>,
    /// Only organisations after this (display name, id).
    pub after: Option<(String, String)>,
    /// At most this many.
    pub limit: u32,
}

/// Organisations by display name.
pub async fn list_organisations(
    conn: &mut Conn,
    query: &OrganisationQuery,
) -> Result<Vec<(Organisation, i64)>, sqlx::Error> {
    let mut filter = Where::default();
    for condition in &query.conditions {
        let column = match condition.field {
            OrganisationField::Region => "region",
            OrganisationField::Tier => "tier",
            OrganisationField::Domain => "domain",
            OrganisationField::CreateTime => "create_time",
        };
        filter.compare(column, condition.op, &condition.value);
    }
    if let Some(text) = &query.text {
        let arg = filter.arg(Scalar::Text(like_pattern(text)));
        filter.push(format!(
            "(LOWER(display_name) LIKE {arg} ESCAPE '\\' OR domain LIKE {arg} ESCAPE '\\')"
        ));
    }
    if let Some((name, id)) = &query.after {
        let name = filter.arg(Scalar::Text(name.clone()));
        let id = filter.arg(Scalar::Text(id.clone()));
        filter.push(format!(
            "(display_name > {name} OR (display_name = {name} AND id > {id}))"
        ));
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM organisations WHERE {} ORDER BY display_name, id LIMIT {}",
        filter.sql(),
        query.limit
    );
    filter
        .bind(sqlx::query(&sql))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(organisation_from_row)
        .collect()
}

fn organisation_from_row(row: &AnyRow) -> Result<(Organisation, i64), sqlx::Error> {
    let organisation = Organisation {
        id: uuid(&row.try_get::<String, _>("id")?, "id")?,
        spec: OrganisationSpec {
            display_name: DisplayName::trusted(row.try_get("display_name")?),
            domain: row
                .try_get::<Option<String>, _>("domain")?
                .map(OrganisationDomain::trusted),
            region: Region::trusted(row.try_get("region")?),
            tier: enum_column(row, "tier")?,
            attributes: from_json(row, "attributes")?,
        },
        version: row.try_get("version")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
    };
    Ok((organisation, row.try_get("customer_count")?))
}

/// The organisation `id` with its member count, or `NOT_FOUND`.
pub async fn load_organisation(conn: &mut Conn, id: Uuid) -> Result<(Organisation, i64), Error> {
    find_organisation(conn, id)
        .await?
        .ok_or_else(|| Error::not_found(ORGANISATION, organisation_name(id)))
}

/// Refuses a domain another organisation has.
async fn check_domain_free(conn: &mut Conn, organisation: &Organisation) -> Result<(), Error> {
    let Some(domain) = &organisation.spec.domain else {
        return Ok(());
    };
    match find_organisation_by_domain(conn, domain).await? {
        Some(owner) if owner != organisation.id => Err(Error::AlreadyExists {
            resource_type: ORGANISATION,
            name: organisation_name(owner),
            description: format!("the domain `{domain}` belongs to another organisation"),
        }),
        _ => Ok(()),
    }
}

/// Creates an organisation of `spec`, in one transaction: refused when another has its
/// domain; with an idempotency `key`, the organisation made first when the caller sent it
/// before. Returns it with its member count.
pub async fn create_organisation(
    db: &Database,
    spec: OrganisationSpec,
    key: Option<&RequestKey>,
) -> Result<(Organisation, i64), Error> {
    let scoped = key.map(RequestKey::scoped);
    let request_id = scoped.as_deref();
    let mut tx = db.begin().await?;
    check_request(&mut tx, key).await?;
    if let Some(request_id) = request_id
        && let Some((existing, count)) = find_organisation_by_request(&mut tx, request_id).await?
    {
        return Ok((existing, count));
    }
    let now = now_micros();
    let organisation = Organisation {
        id: Uuid::now_v7(),
        spec,
        version: 1,
        create_time: now,
        update_time: now,
    };
    if let Err(err) = check_domain_free(&mut tx, &organisation).await {
        // The domain may be taken by a concurrent retry of this very request.
        if let Some(request_id) = request_id
            && let Some((existing, count)) =
                find_organisation_by_request(&mut tx, request_id).await?
        {
            return Ok((existing, count));
        }
        return Err(err);
    }
    if !insert_organisation(&mut tx, &organisation, request_id).await? {
        // A concurrent create: the same request id (return it) or the same domain (refuse).
        tx.rollback().await?;
        let mut conn = db.reader().acquire().await?;
        check_request(&mut conn, key).await?;
        if let Some((existing, count)) = match request_id {
            Some(request_id) => find_organisation_by_request(&mut conn, request_id).await?,
            None => None,
        } {
            return Ok((existing, count));
        }
        check_domain_free(&mut conn, &organisation).await?;
        return Err(Error::state(
            "organisations",
            "a concurrent create failed; retry",
        ));
    }
    remember(&mut tx, key).await?;
    tx.commit().await?;
    tracing::info!(organisation = %organisation.id, "organisation created");
    Ok((organisation, 0))
}

/// Applies `changes` to organisation `id` at `version`, in one transaction; returns it with
/// its member count.
pub async fn update_organisation_at(
    db: &Database,
    id: Uuid,
    version: i64,
    changes: Vec<OrganisationChange>,
) -> Result<(Organisation, i64), Error> {
    let mut tx = db.begin().await?;
    let (mut organisation, count) = load_organisation(&mut tx, id).await?;
    let name = organisation_name(organisation.id);
    if organisation.version != version {
        return Err(Error::StaleEtag(name));
    }
    if organisation.spec.apply(changes) {
        if organisation.spec.attributes.len() > 100 {
            return Err(Error::invalid(
                "organisation.attributes",
                "would have more than 100 entries",
            ));
        }
        check_domain_free(&mut tx, &organisation).await?;
        organisation.version += 1;
        organisation.update_time = now_micros();
        if !update_organisation(&mut tx, &organisation, version).await? {
            return Err(Error::StaleEtag(name));
        }
        tx.commit().await?;
        tracing::info!(organisation = %organisation.id, "organisation updated");
    }
    Ok((organisation, count))
}

/// Deletes organisation `id` at `version`, in one transaction: refused while customers
/// belong to it.
pub async fn delete_organisation_at(db: &Database, id: Uuid, version: i64) -> Result<(), Error> {
    let mut tx = db.begin().await?;
    let (organisation, _) = load_organisation(&mut tx, id).await?;
    let name = organisation_name(organisation.id);
    if organisation.version != version {
        return Err(Error::StaleEtag(name));
    }
    if organisation_members(&mut tx, organisation.id).await? > 0 {
        return Err(Error::FailedPrecondition {
            violation: "DEPENDENTS",
            subject: name,
            description: "customers still belong to this organisation: move or detach them first"
                .into(),
        });
    }
    if !delete_organisation(&mut tx, organisation.id, version).await? {
        return Err(Error::StaleEtag(name));
    }
    tx.commit().await?;
    tracing::info!(organisation = %organisation.id, "organisation deleted");
    Ok(())
}

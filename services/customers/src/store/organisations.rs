//! The `organisations` table.

use sqlx::Row as _;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::{Conn, Where, enum_column, from_json, json, like_pattern, uuid};
use crate::domain::filter::{Condition, Scalar};
use crate::domain::organisation::{Organisation, OrganisationSpec};
use crate::domain::query::OrganisationField;

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
    .bind(s.display_name.clone())
    .bind(s.domain.clone())
    .bind(s.region.clone())
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
    .bind(s.display_name.clone())
    .bind(s.domain.clone())
    .bind(s.region.clone())
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
            display_name: row.try_get("display_name")?,
            domain: row.try_get("domain")?,
            region: row.try_get("region")?,
            tier: enum_column(row, "tier")?,
            attributes: from_json(row, "attributes")?,
        },
        version: row.try_get("version")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
    };
    Ok((organisation, row.try_get("customer_count")?))
}

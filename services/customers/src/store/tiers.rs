//! The `tier_rules` table, and the ledger sums tier rules measure.

use sqlx::Row as _;
use sqlx::any::AnyRow;
use uuid::Uuid;

use aftercare_platform::auth::Principal;
use aftercare_platform::db::Database;
use aftercare_platform::time::now_micros;
use sqlx::{Any, Transaction};

use super::{Conn, Where, enum_column, find_customer, flag, update_customer, uuid};
use crate::domain::customer::{Customer, Tier};
use crate::domain::filter::{Condition, Scalar};
use crate::domain::names::customer_name;
use crate::domain::query::TierRuleField;
use crate::domain::tier::{Measurement, Metric, Outcome, RuleSpec, TierRule, evaluate};
use crate::error::Error;
use crate::events::{self, publish};

const COLUMNS: &str = "id, display_name, tier, metric, threshold, window_micros, demote, enabled, \
    version, create_time, update_time";

/// Inserts `rule` unless `request_id` was used; returns whether it was inserted.
pub async fn insert_tier_rule(
    conn: &mut Conn,
    rule: &TierRule,
    request_id: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let s = &rule.spec;
    let result = sqlx::query(
        "INSERT INTO tier_rules (id, request_id, display_name, tier, metric, threshold,
            window_micros, demote, enabled, version, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT DO NOTHING",
    )
    .bind(rule.id.to_string())
    .bind(request_id.map(str::to_owned))
    .bind(s.display_name.clone())
    .bind(s.tier as i64)
    .bind(s.metric as i64)
    .bind(s.threshold)
    .bind(s.window)
    .bind(flag(s.demote))
    .bind(flag(s.enabled))
    .bind(rule.version)
    .bind(rule.create_time)
    .bind(rule.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Writes `rule` (version bumped) if the row still has `expected_version`.
pub async fn update_tier_rule(
    conn: &mut Conn,
    rule: &TierRule,
    expected_version: i64,
) -> Result<bool, sqlx::Error> {
    let s = &rule.spec;
    let result = sqlx::query(
        "UPDATE tier_rules SET display_name = $3, tier = $4, metric = $5, threshold = $6,
            window_micros = $7, demote = $8, enabled = $9, version = $10, update_time = $11
         WHERE id = $1 AND version = $2",
    )
    .bind(rule.id.to_string())
    .bind(expected_version)
    .bind(s.display_name.clone())
    .bind(s.tier as i64)
    .bind(s.metric as i64)
    .bind(s.threshold)
    .bind(s.window)
    .bind(flag(s.demote))
    .bind(flag(s.enabled))
    .bind(rule.version)
    .bind(rule.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Deletes rule `id` if it has `expected_version`.
pub async fn delete_tier_rule(
    conn: &mut Conn,
    id: Uuid,
    expected_version: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("DELETE FROM tier_rules WHERE id = $1 AND version = $2")
        .bind(id.to_string())
        .bind(expected_version)
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Rule `id`.
pub async fn find_tier_rule(conn: &mut Conn, id: Uuid) -> Result<Option<TierRule>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM tier_rules WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| rule_from_row(&row))
        .transpose()
}

/// The rule created with `request_id`.
pub async fn find_tier_rule_by_request(
    conn: &mut Conn,
    request_id: &str,
) -> Result<Option<TierRule>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM tier_rules WHERE request_id = $1"
    ))
    .bind(request_id.to_owned())
    .fetch_optional(&mut *conn)
    .await?
    .map(|row| rule_from_row(&row))
    .transpose()
}

/// What `ListTierRules` asks for.
#[derive(Debug, Clone, Default)]
pub struct TierRuleQuery {
    /// Filter conditions.
    pub conditions: Vec<Condition<TierRuleField>>,
    /// Only rules after this (tier, id) in the order.
    pub after: Option<(i64, String)>,
    /// At most this many (`None`: all).
    pub limit: Option<u32>,
}

/// Rules, highest tier first.
pub async fn list_tier_rules(
    conn: &mut Conn,
    query: &TierRuleQuery,
) -> Result<Vec<TierRule>, sqlx::Error> {
    let mut filter = Where::default();
    for condition in &query.conditions {
        let column = match condition.field {
            TierRuleField::Tier => "tier",
            TierRuleField::Metric => "metric",
            TierRuleField::Enabled => "enabled",
        };
        filter.compare(column, condition.op, &condition.value);
    }
    if let Some((tier, id)) = &query.after {
        let tier = filter.arg(Scalar::Int(*tier));
        let id = filter.arg(Scalar::Text(id.clone()));
        filter.push(format!("(tier < {tier} OR (tier = {tier} AND id > {id}))"));
    }
    let limit = query
        .limit
        .map(|l| format!(" LIMIT {l}"))
        .unwrap_or_default();
    let sql = format!(
        "SELECT {COLUMNS} FROM tier_rules WHERE {} ORDER BY tier DESC, id{limit}",
        filter.sql()
    );
    filter
        .bind(sqlx::query(&sql))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(rule_from_row)
        .collect()
}

/// What a rule measures for `customer` since `since` (all history when `None`): the sum of
/// EARN points or of spend.
pub async fn measure(
    conn: &mut Conn,
    customer: Uuid,
    metric: Metric,
    since: Option<i64>,
) -> Result<i64, sqlx::Error> {
    let sum = match metric {
        Metric::Spend | Metric::Unspecified => "spend_minor",
        Metric::PointsEarned => "CASE WHEN kind = 1 THEN points ELSE 0 END",
    };
    sqlx::query_scalar(&format!(
        "SELECT CAST(COALESCE(SUM({sum}), 0) AS BIGINT) FROM loyalty_entries
         WHERE customer_id = $1 AND create_time >= $2"
    ))
    .bind(customer.to_string())
    .bind(since.unwrap_or(i64::MIN))
    .fetch_one(&mut *conn)
    .await
}

fn rule_from_row(row: &AnyRow) -> Result<TierRule, sqlx::Error> {
    Ok(TierRule {
        id: uuid(&row.try_get::<String, _>("id")?, "id")?,
        spec: RuleSpec {
            display_name: row.try_get("display_name")?,
            tier: enum_column(row, "tier")?,
            metric: enum_column(row, "metric")?,
            threshold: row.try_get("threshold")?,
            window: row.try_get("window_micros")?,
            demote: row.try_get::<i64, _>("demote")? != 0,
            enabled: row.try_get::<i64, _>("enabled")? != 0,
        },
        version: row.try_get("version")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
    })
}

/// Measures `customer` against the rules in force (every rule when `include_disabled`).
pub async fn measurements(
    conn: &mut Conn,
    customer: &Customer,
    include_disabled: bool,
) -> Result<Vec<Measurement>, sqlx::Error> {
    let rules = list_tier_rules(conn, &TierRuleQuery::default()).await?;
    let now = now_micros();
    let mut measurements = Vec::new();
    for rule in rules
        .iter()
        .filter(|rule| include_disabled || rule.spec.enabled)
    {
        let since = rule.spec.window.map(|window| now.saturating_sub(window));
        let value = measure(conn, customer.id, rule.spec.metric, since).await?;
        measurements.push(Measurement {
            rule: rule.id,
            tier: rule.spec.tier,
            value,
            threshold: rule.spec.threshold,
            demote: rule.spec.demote,
        });
    }
    Ok(measurements)
}

/// Writes the tier `outcome` decided for `customer` (read in `tx`) and its events.
pub async fn change_tier(
    tx: &mut Transaction<'static, Any>,
    customer: &Customer,
    outcome: Outcome,
    principal: &Principal,
) -> Result<(), Error> {
    let name = customer_name(customer.id);
    let mut changed = customer.clone();
    changed.profile.tier = outcome.tier;
    changed.version += 1;
    changed.update_time = now_micros();
    if !update_customer(tx, &changed, customer.version).await? {
        return Err(Error::StaleEtag(name));
    }
    let (updated, tier_changed) =
        events::tier_changed_by_rule(customer, &changed, &outcome, principal);
    publish(tx, &name, &updated).await?;
    publish(tx, &name, &tier_changed).await?;
    tracing::info!(customer = %customer.id, tier = ?outcome.tier, "tier changed by rule");
    Ok(())
}

/// Applies the enabled rules to `customer` (read in `tx`), changing and announcing its tier
/// when they say so; returns the new tier when it changed.
pub async fn reevaluate(
    tx: &mut Transaction<'static, Any>,
    customer: &Customer,
    principal: &Principal,
) -> Result<Option<Tier>, Error> {
    let measurements = measurements(tx, customer, false).await?;
    let outcome = evaluate(
        customer.profile.tier,
        customer.profile.tier_locked,
        &measurements,
    );
    if outcome.tier == customer.profile.tier {
        return Ok(None);
    }
    change_tier(tx, customer, outcome, principal).await?;
    Ok(Some(outcome.tier))
}

/// Reviews the tier of customer `id` in its own transaction (a live, unlocked customer
/// only); returns whether it changed.
pub async fn review_tier(db: &Database, id: Uuid, principal: &Principal) -> Result<bool, Error> {
    let mut tx = db.begin().await?;
    let Some(customer) = find_customer(&mut tx, id).await? else {
        return Ok(false);
    };
    if !customer.tier_reviewable() {
        return Ok(false);
    }
    let changed = reevaluate(&mut tx, &customer, principal).await?.is_some();
    if changed {
        tx.commit().await?;
    }
    Ok(changed)
}

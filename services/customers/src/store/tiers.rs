//! The `tier_rules` table, and the ledger sums tier rules measure.

use sqlx::Row as _;
use sqlx::any::AnyRow;
use uuid::Uuid;

use aftercare_platform::auth::Principal;
use aftercare_platform::db::Database;
use aftercare_platform::time::now_micros;
use sqlx::{Any, Transaction};

use super::{
    Conn, Where, check_request, enum_column, find_customer, flag, remember, update_customer, uuid,
};
use crate::domain::customer::{Customer, Tier};
use crate::domain::filter::Op;
use crate::domain::filter::{Condition, Scalar};
use crate::domain::idempotency::RequestKey;
use crate::domain::names::customer_name;
use crate::domain::query::TierRuleField;
use crate::domain::tier::{Measurement, Metric, Outcome, RuleChange, RuleSpec, TierRule, evaluate};
use crate::domain::values::DisplayName;
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
    .bind(s.display_name.as_str())
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
    .bind(s.display_name.as_str())
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
            display_name: DisplayName::trusted(row.try_get("display_name")?),
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

/// Resource type of a tier rule, for `ResourceInfo`.
const TIER_RULE: &str = "aftercare.customers.v1.TierRule";

fn rule_name(id: Uuid) -> String {
    format!("tierRules/{id}")
}

/// The tier rule `id`, or `NOT_FOUND`.
pub async fn load_rule(conn: &mut Conn, id: Uuid) -> Result<TierRule, Error> {
    find_tier_rule(conn, id)
        .await?
        .ok_or_else(|| Error::not_found(TIER_RULE, rule_name(id)))
}

/// Refuses a second enabled rule for one tier.
async fn check_one_enabled(conn: &mut Conn, rule: &TierRule) -> Result<(), Error> {
    if !rule.spec.enabled {
        return Ok(());
    }
    let query = TierRuleQuery {
        conditions: vec![
            Condition {
                field: TierRuleField::Tier,
                op: Op::Eq,
                value: Scalar::Int(rule.spec.tier as i64),
            },
            Condition {
                field: TierRuleField::Enabled,
                op: Op::Eq,
                value: Scalar::Int(1),
            },
        ],
        after: None,
        limit: None,
    };
    let others = list_tier_rules(conn, &query).await?;
    match others.iter().find(|other| other.id != rule.id) {
        Some(other) => Err(Error::state(
            rule_name(rule.id),
            format!(
                "{} is already the enabled rule for this tier",
                rule_name(other.id)
            ),
        )),
        None => Ok(()),
    }
}

/// Creates a tier rule of `spec`, in one transaction: refused when another rule is enabled
/// for its tier; with an idempotency `key`, the rule made first when the caller sent it
/// before.
pub async fn create_tier_rule(
    db: &Database,
    spec: RuleSpec,
    key: Option<&RequestKey>,
) -> Result<TierRule, Error> {
    let scoped = key.map(RequestKey::scoped);
    let request_id = scoped.as_deref();
    let mut tx = db.begin().await?;
    check_request(&mut tx, key).await?;
    if let Some(request_id) = request_id
        && let Some(existing) = find_tier_rule_by_request(&mut tx, request_id).await?
    {
        return Ok(existing);
    }
    let now = now_micros();
    let rule = TierRule {
        id: Uuid::now_v7(),
        spec,
        version: 1,
        create_time: now,
        update_time: now,
    };
    if let Err(err) = check_one_enabled(&mut tx, &rule).await {
        // The enabled rule may be a concurrent retry of this very request.
        if let Some(request_id) = request_id
            && let Some(existing) = find_tier_rule_by_request(&mut tx, request_id).await?
        {
            return Ok(existing);
        }
        return Err(err);
    }
    if !insert_tier_rule(&mut tx, &rule, request_id).await? {
        tx.rollback().await?;
        let mut conn = db.reader().acquire().await?;
        check_request(&mut conn, key).await?;
        let existing = find_tier_rule_by_request(&mut conn, request_id.unwrap_or_default())
            .await?
            .ok_or_else(|| Error::state("tierRules", "a concurrent create failed; retry"))?;
        return Ok(existing);
    }
    remember(&mut tx, key).await?;
    tx.commit().await?;
    tracing::info!(tier_rule = %rule.id, tier = ?rule.spec.tier, "tier rule created");
    Ok(rule)
}

/// Applies `changes` to tier rule `id` at `version`, in one transaction.
pub async fn update_tier_rule_at(
    db: &Database,
    id: Uuid,
    version: i64,
    changes: Vec<RuleChange>,
) -> Result<TierRule, Error> {
    let mut tx = db.begin().await?;
    let mut rule = load_rule(&mut tx, id).await?;
    if rule.version != version {
        return Err(Error::StaleEtag(rule_name(rule.id)));
    }
    if rule.spec.apply(changes) {
        check_one_enabled(&mut tx, &rule).await?;
        rule.version += 1;
        rule.update_time = now_micros();
        if !update_tier_rule(&mut tx, &rule, version).await? {
            return Err(Error::StaleEtag(rule_name(rule.id)));
        }
        tx.commit().await?;
        tracing::info!(tier_rule = %rule.id, "tier rule updated");
    }
    Ok(rule)
}

/// Deletes tier rule `id` at `version`.
pub async fn delete_tier_rule_at(db: &Database, id: Uuid, version: i64) -> Result<(), Error> {
    let mut tx = db.begin().await?;
    let rule = load_rule(&mut tx, id).await?;
    if rule.version != version || !delete_tier_rule(&mut tx, rule.id, version).await? {
        return Err(Error::StaleEtag(rule_name(rule.id)));
    }
    tx.commit().await?;
    tracing::info!(tier_rule = %rule.id, "tier rule deleted");
    Ok(())
}

/// Evaluates the tier rules for customer `id` (every rule when `validate_only`, which
/// changes nothing), in one transaction; otherwise changes and announces its tier when the
/// enabled rules say so. Returns the customer as it was, the measurements and the outcome.
pub async fn evaluate_tier(
    db: &Database,
    id: Uuid,
    validate_only: bool,
    principal: &Principal,
) -> Result<(Customer, Vec<Measurement>, Outcome), Error> {
    let mut tx = db.begin().await?;
    let customer = find_customer(&mut tx, id)
        .await?
        .ok_or_else(|| Error::not_found(crate::error::CUSTOMER, customer_name(id)))?;
    if let Some(reason) = customer.frozen_reason() {
        return Err(Error::state(customer_name(customer.id), reason));
    }
    let measurements = measurements(&mut tx, &customer, validate_only).await?;
    let outcome = evaluate(
        customer.profile.tier,
        customer.profile.tier_locked,
        &measurements,
    );
    if outcome.tier != customer.profile.tier && !validate_only {
        change_tier(&mut tx, &customer, outcome, principal).await?;
        tx.commit().await?;
    }
    Ok((customer, measurements, outcome))
}

//! Tier rules and their evaluation.

use aftercare_platform::auth::Principal;
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::customers::v1 as pb;
use uuid::Uuid;

use super::Api;
use super::customers::load;
use super::parse::{
    CreateTierRule, DeleteTierRule, EvaluateTier, GetTierRule, ListTierRules, UpdateTierRule,
};
use super::{access, check_request, remember, request_key};
use crate::convert;
use crate::domain::access::Action;
use crate::domain::filter::{Condition, Op, Scalar};
use crate::domain::idempotency::RequestKey;
use crate::domain::names::customer_name;
use crate::domain::query::TierRuleField;
use crate::domain::tier::{TierRule, evaluate};
use crate::error::Error;
use crate::store::{self, Conn, TierRuleQuery};
use aftercare_platform::request::PageToken;

/// Resource type of a tier rule, for `ResourceInfo`.
const TIER_RULE: &str = "aftercare.customers.v1.TierRule";

fn rule_name(id: Uuid) -> String {
    format!("tierRules/{id}")
}

fn manage(principal: &Principal) -> Result<(), Error> {
    access(principal, Action::Manage).map(drop)
}

fn read(principal: &Principal) -> Result<(), Error> {
    access(principal, Action::ReadCatalogue).map(drop)
}

async fn load_rule(conn: &mut Conn, id: Uuid) -> Result<TierRule, Error> {
    store::find_tier_rule(conn, id)
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
    let others = store::list_tier_rules(conn, &query).await?;
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

pub async fn create(
    api: &Api,
    principal: &Principal,
    request: CreateTierRule,
) -> Result<pb::CreateTierRuleResponse, Error> {
    manage(principal)?;
    let key = request_key(
        principal,
        "CreateTierRule",
        "",
        request.request_id.as_deref(),
        &request,
    );
    let scoped = key.as_ref().map(RequestKey::scoped);
    let request_id = scoped.as_deref();
    let mut tx = api.db.begin().await?;
    check_request(&mut tx, key.as_ref()).await?;
    if let Some(request_id) = request_id
        && let Some(existing) = store::find_tier_rule_by_request(&mut tx, request_id).await?
    {
        return Ok(pb::CreateTierRuleResponse {
            tier_rule: Some(convert::tier_rule(&existing)),
        });
    }
    let now = now_micros();
    let rule = TierRule {
        id: Uuid::now_v7(),
        spec: request.spec,
        version: 1,
        create_time: now,
        update_time: now,
    };
    if let Err(err) = check_one_enabled(&mut tx, &rule).await {
        // The enabled rule may be a concurrent retry of this very request.
        if let Some(request_id) = request_id
            && let Some(existing) = store::find_tier_rule_by_request(&mut tx, request_id).await?
        {
            return Ok(pb::CreateTierRuleResponse {
                tier_rule: Some(convert::tier_rule(&existing)),
            });
        }
        return Err(err);
    }
    if !store::insert_tier_rule(&mut tx, &rule, request_id).await? {
        tx.rollback().await?;
        let mut conn = api.db.reader().acquire().await?;
        check_request(&mut conn, key.as_ref()).await?;
        let existing = store::find_tier_rule_by_request(&mut conn, request_id.unwrap_or_default())
            .await?
            .ok_or_else(|| Error::state("tierRules", "a concurrent create failed; retry"))?;
        return Ok(pb::CreateTierRuleResponse {
            tier_rule: Some(convert::tier_rule(&existing)),
        });
    }
    remember(&mut tx, key.as_ref()).await?;
    tx.commit().await?;
    tracing::info!(tier_rule = %rule.id, tier = ?rule.spec.tier, "tier rule created");
    Ok(pb::CreateTierRuleResponse {
        tier_rule: Some(convert::tier_rule(&rule)),
    })
}

pub async fn get(
    api: &Api,
    principal: &Principal,
    request: GetTierRule,
) -> Result<pb::GetTierRuleResponse, Error> {
    read(principal)?;
    let mut conn = api.db.reader().acquire().await?;
    let rule = load_rule(&mut conn, request.id).await?;
    Ok(pb::GetTierRuleResponse {
        tier_rule: Some(convert::tier_rule(&rule)),
    })
}

pub async fn list(
    api: &Api,
    principal: &Principal,
    request: ListTierRules,
) -> Result<pb::ListTierRulesResponse, Error> {
    read(principal)?;
    let query = TierRuleQuery {
        conditions: request.conditions,
        after: request.after,
        limit: Some(request.page.size + 1),
    };
    let mut conn = api.db.reader().acquire().await?;
    let mut rules = store::list_tier_rules(&mut conn, &query).await?;
    let next_page_token = request.page.finish(&mut rules, |last| {
        PageToken::int(last.spec.tier as i64, last.id)
    });
    Ok(pb::ListTierRulesResponse {
        tier_rules: rules.iter().map(convert::tier_rule).collect(),
        next_page_token,
    })
}

pub async fn update(
    api: &Api,
    principal: &Principal,
    request: UpdateTierRule,
) -> Result<pb::UpdateTierRuleResponse, Error> {
    manage(principal)?;
    let mut tx = api.db.begin().await?;
    let mut rule = load_rule(&mut tx, request.id).await?;
    if rule.version != request.version {
        return Err(Error::StaleEtag(rule_name(rule.id)));
    }
    if rule.spec.apply(request.changes) {
        check_one_enabled(&mut tx, &rule).await?;
        rule.version += 1;
        rule.update_time = now_micros();
        if !store::update_tier_rule(&mut tx, &rule, request.version).await? {
            return Err(Error::StaleEtag(rule_name(rule.id)));
        }
        tx.commit().await?;
        tracing::info!(tier_rule = %rule.id, "tier rule updated");
    }
    Ok(pb::UpdateTierRuleResponse {
        tier_rule: Some(convert::tier_rule(&rule)),
    })
}

pub async fn delete(
    api: &Api,
    principal: &Principal,
    request: DeleteTierRule,
) -> Result<pb::DeleteTierRuleResponse, Error> {
    manage(principal)?;
    let mut tx = api.db.begin().await?;
    let rule = load_rule(&mut tx, request.id).await?;
    if rule.version != request.version
        || !store::delete_tier_rule(&mut tx, rule.id, request.version).await?
    {
        return Err(Error::StaleEtag(rule_name(rule.id)));
    }
    tx.commit().await?;
    tracing::info!(tier_rule = %rule.id, "tier rule deleted");
    Ok(pb::DeleteTierRuleResponse {})
}

pub async fn evaluate_tier(
    api: &Api,
    principal: &Principal,
    request: EvaluateTier,
) -> Result<pb::EvaluateTierResponse, Error> {
    access(principal, Action::Create)?;
    let mut tx = api.db.begin().await?;
    let customer = load(&mut tx, request.customer).await?;
    if let Some(reason) = customer.frozen_reason() {
        return Err(Error::state(customer_name(customer.id), reason));
    }
    let measurements = store::measurements(&mut tx, &customer, request.validate_only).await?;
    let locked = customer.profile.tier_locked;
    let outcome = evaluate(customer.profile.tier, locked, &measurements);
    let changed = outcome.tier != customer.profile.tier;
    if changed && !request.validate_only {
        store::change_tier(&mut tx, &customer, outcome, principal).await?;
        tx.commit().await?;
        api.relay.wake();
    }
    Ok(pb::EvaluateTierResponse {
        previous_tier: customer.profile.tier as i32,
        tier: outcome.tier as i32,
        changed,
        tier_locked: locked,
        tier_rule: outcome
            .rule
            .filter(|_| changed)
            .map(rule_name)
            .unwrap_or_default(),
        evaluations: measurements
            .iter()
            .map(|m| pb::TierRuleEvaluation {
                tier_rule: rule_name(m.rule),
                tier: m.tier as i32,
                value: m.value,
                threshold: m.threshold,
                met: m.met(),
            })
            .collect(),
    })
}

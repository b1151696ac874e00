//! Tier rules and their evaluation.

use aftercare_platform::auth::Principal;
use aftercare_proto::aftercare::customers::v1 as pb;
use uuid::Uuid;

use super::Api;
use super::parse::{
    CreateTierRule, DeleteTierRule, EvaluateTier, GetTierRule, ListTierRules, UpdateTierRule,
};
use super::{access, request_key};
use crate::convert;
use crate::domain::access::Action;
use crate::error::Error;
use crate::store::{self, TierRuleQuery};
use aftercare_platform::request::PageToken;

fn rule_name(id: Uuid) -> String {
    format!("tierRules/{id}")
}

fn manage(principal: &Principal) -> Result<(), Error> {
    access(principal, Action::Manage).map(drop)
}

fn read(principal: &Principal) -> Result<(), Error> {
    access(principal, Action::ReadCatalogue).map(drop)
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
    let rule = store::create_tier_rule(&api.db, request.spec, key.as_ref()).await?;
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
    let rule = store::load_rule(&mut conn, request.id).await?;
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
    let rule =
        store::update_tier_rule_at(&api.db, request.id, request.version, request.changes).await?;
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
    store::delete_tier_rule_at(&api.db, request.id, request.version).await?;
    Ok(pb::DeleteTierRuleResponse {})
}

pub async fn evaluate_tier(
    api: &Api,
    principal: &Principal,
    request: EvaluateTier,
) -> Result<pb::EvaluateTierResponse, Error> {
    access(principal, Action::Create)?;
    let (customer, measurements, outcome) =
        store::evaluate_tier(&api.db, request.customer, request.validate_only, principal).await?;
    let locked = customer.profile.tier_locked;
    let changed = outcome.tier != customer.profile.tier;
    if changed && !request.validate_only {
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

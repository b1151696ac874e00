//! What each List method filters on: the accepted filter fields, typed.

use super::wire::{
    Channel, LifecycleStage as CustomerLifecycleStage, LoyaltyKind as LoyaltyEntryKind,
    Metric as TierRuleMetric, Purpose as ConsentPurpose, State as ConsentState,
    Tier as CustomerTier,
};

use super::filter::{Condition, Scalar, Term, parse};
use super::names::parse_name;

/// Filterable fields of `ListCustomers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CustomerField {
    /// `tier`
    Tier,
    /// `lifecycle_stage`
    LifecycleStage,
    /// `region`
    Region,
    /// `organisation`
    Organisation,
    /// `locale`
    Locale,
    /// `erased`
    Erased,
    /// `tier_locked`
    TierLocked,
    /// `create_time`
    CreateTime,
    /// `update_time`
    UpdateTime,
}

/// The conditions of a `ListCustomers` filter.
pub(crate) fn customer_filter(filter: &str) -> Result<Vec<Condition<CustomerField>>, String> {
    typed(filter, |term| {
        Ok(match term.field.as_str() {
            "tier" => (
                CustomerField::Tier,
                term.enum_value("CUSTOMER_TIER_", |n| {
                    CustomerTier::from_str_name(n).map(|v| v as i32)
                })?,
            ),
            "lifecycle_stage" => (
                CustomerField::LifecycleStage,
                term.enum_value("CUSTOMER_LIFECYCLE_STAGE_", |n| {
                    CustomerLifecycleStage::from_str_name(n).map(|v| v as i32)
                })?,
            ),
            "region" => (CustomerField::Region, term.text_value()?),
            "locale" => (CustomerField::Locale, term.text_value()?),
            "organisation" => {
                term.equality_only()?;
                let value = if term.value.is_empty() {
                    Scalar::Null
                } else {
                    let id = parse_name(&term.value, "organisations")
                        .map_err(|err| format!("`organisation` {err}"))?;
                    Scalar::Text(id.to_string())
                };
                (CustomerField::Organisation, value)
            }
            "erased" => (CustomerField::Erased, term.bool_value()?),
            "tier_locked" => (CustomerField::TierLocked, term.bool_value()?),
            "create_time" => (CustomerField::CreateTime, term.time_value()?),
            "update_time" => (CustomerField::UpdateTime, term.time_value()?),
            other => {
                return Err(format!(
                    "unknown field `{other}`; accepted: tier, lifecycle_stage, region, organisation, locale, erased, tier_locked, create_time, update_time"
                ));
            }
        })
    })
}

/// Filterable fields of `ListIdentities`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdentityField {
    /// `channel`
    Channel,
    /// `provider`
    Provider,
    /// `verified`
    Verified,
}

/// The conditions of a `ListIdentities` filter.
pub(crate) fn identity_filter(filter: &str) -> Result<Vec<Condition<IdentityField>>, String> {
    typed(filter, |term| {
        Ok(match term.field.as_str() {
            "channel" => (
                IdentityField::Channel,
                term.enum_value("CHANNEL_", |n| Channel::from_str_name(n).map(|v| v as i32))?,
            ),
            "provider" => (IdentityField::Provider, term.text_value()?),
            "verified" => (IdentityField::Verified, term.bool_value()?),
            other => {
                return Err(format!(
                    "unknown field `{other}`; accepted: channel, provider, verified"
                ));
            }
        })
    })
}

/// Filterable fields of `ListTimelineEntries`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimelineField {
    /// `event_type`
    EventType,
    /// `source_service`
    SourceService,
    /// `subject`
    Subject,
    /// `channel`
    Channel,
    /// `region`
    Region,
    /// `occur_time`
    OccurTime,
}

/// The conditions of a `ListTimelineEntries` filter.
pub(crate) fn timeline_filter(filter: &str) -> Result<Vec<Condition<TimelineField>>, String> {
    typed(filter, |term| {
        Ok(match term.field.as_str() {
            "event_type" => (TimelineField::EventType, term.text_value()?),
            "source_service" => (TimelineField::SourceService, term.text_value()?),
            "subject" => (TimelineField::Subject, term.text_value()?),
            "region" => (TimelineField::Region, term.text_value()?),
            "channel" => (
                TimelineField::Channel,
                term.enum_value("CHANNEL_", |n| Channel::from_str_name(n).map(|v| v as i32))?,
            ),
            "occur_time" => (TimelineField::OccurTime, term.time_value()?),
            other => {
                return Err(format!(
                    "unknown field `{other}`; accepted: event_type, source_service, subject, channel, region, occur_time"
                ));
            }
        })
    })
}

/// Filterable fields of `ListLoyaltyEntries`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoyaltyField {
    /// `kind`
    Kind,
    /// `reference`
    Reference,
    /// `create_time`
    CreateTime,
}

/// The conditions of a `ListLoyaltyEntries` filter.
pub(crate) fn loyalty_filter(filter: &str) -> Result<Vec<Condition<LoyaltyField>>, String> {
    typed(filter, |term| {
        Ok(match term.field.as_str() {
            "kind" => (
                LoyaltyField::Kind,
                term.enum_value("LOYALTY_ENTRY_KIND_", |n| {
                    LoyaltyEntryKind::from_str_name(n).map(|v| v as i32)
                })?,
            ),
            "reference" => (LoyaltyField::Reference, term.text_value()?),
            "create_time" => (LoyaltyField::CreateTime, term.time_value()?),
            other => {
                return Err(format!(
                    "unknown field `{other}`; accepted: kind, reference, create_time"
                ));
            }
        })
    })
}

/// Filterable fields of `ListConsents`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConsentField {
    /// `channel`
    Channel,
    /// `purpose`
    Purpose,
    /// `state`
    State,
}

/// The conditions of a `ListConsents` filter.
pub(crate) fn consent_filter(filter: &str) -> Result<Vec<Condition<ConsentField>>, String> {
    typed(filter, |term| {
        Ok(match term.field.as_str() {
            "channel" => (
                ConsentField::Channel,
                term.enum_value("CHANNEL_", |n| Channel::from_str_name(n).map(|v| v as i32))?,
            ),
            "purpose" => (
                ConsentField::Purpose,
                term.enum_value("CONSENT_PURPOSE_", |n| {
                    ConsentPurpose::from_str_name(n).map(|v| v as i32)
                })?,
            ),
            "state" => (
                ConsentField::State,
                term.enum_value("CONSENT_STATE_", |n| {
                    ConsentState::from_str_name(n).map(|v| v as i32)
                })?,
            ),
            other => {
                return Err(format!(
                    "unknown field `{other}`; accepted: channel, purpose, state"
                ));
            }
        })
    })
}

/// Filterable fields of `ListTierRules`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TierRuleField {
    /// `tier`
    Tier,
    /// `metric`
    Metric,
    /// `enabled`
    Enabled,
}

/// The conditions of a `ListTierRules` filter.
pub(crate) fn tier_rule_filter(filter: &str) -> Result<Vec<Condition<TierRuleField>>, String> {
    typed(filter, |term| {
        Ok(match term.field.as_str() {
            "tier" => (
                TierRuleField::Tier,
                term.enum_value("CUSTOMER_TIER_", |n| {
                    CustomerTier::from_str_name(n).map(|v| v as i32)
                })?,
            ),
            "metric" => (
                TierRuleField::Metric,
                term.enum_value("TIER_RULE_METRIC_", |n| {
                    TierRuleMetric::from_str_name(n).map(|v| v as i32)
                })?,
            ),
            "enabled" => (TierRuleField::Enabled, term.bool_value()?),
            other => {
                return Err(format!(
                    "unknown field `{other}`; accepted: tier, metric, enabled"
                ));
            }
        })
    })
}

/// Filterable fields of `ListOrganisations`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrganisationField {
    /// `region`
    Region,
    /// `tier`
    Tier,
    /// `domain`
    Domain,
    /// `create_time`
    CreateTime,
}

/// The conditions of a `ListOrganisations` filter.
pub(crate) fn organisation_filter(
    filter: &str,
) -> Result<Vec<Condition<OrganisationField>>, String> {
    typed(filter, |term| {
        Ok(match term.field.as_str() {
            "region" => (OrganisationField::Region, term.text_value()?),
            "domain" => (OrganisationField::Domain, term.text_value()?),
            "tier" => (
                OrganisationField::Tier,
                term.enum_value("CUSTOMER_TIER_", |n| {
                    CustomerTier::from_str_name(n).map(|v| v as i32)
                })?,
            ),
            "create_time" => (OrganisationField::CreateTime, term.time_value()?),
            other => {
                return Err(format!(
                    "unknown field `{other}`; accepted: region, tier, domain, create_time"
                ));
            }
        })
    })
}

/// Filterable fields of `ListSegments`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SegmentField {
    /// `display_name`
    DisplayName,
    /// `create_time`
    CreateTime,
    /// `update_time`
    UpdateTime,
}

/// The conditions of a `ListSegments` filter.
pub(crate) fn segment_filter(filter: &str) -> Result<Vec<Condition<SegmentField>>, String> {
    typed(filter, |term| {
        Ok(match term.field.as_str() {
            "display_name" => (SegmentField::DisplayName, term.text_value()?),
            "create_time" => (SegmentField::CreateTime, term.time_value()?),
            "update_time" => (SegmentField::UpdateTime, term.time_value()?),
            other => {
                return Err(format!(
                    "unknown field `{other}`; accepted: display_name, create_time, update_time"
                ));
            }
        })
    })
}

fn typed<F>(
    filter: &str,
    field: impl Fn(&Term) -> Result<(F, Scalar), String>,
) -> Result<Vec<Condition<F>>, String> {
    parse(filter)?
        .iter()
        .map(|term| {
            let (f, value) = field(term)?;
            Ok(Condition {
                field: f,
                op: term.op,
                value,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::filter::Op;

    #[test]
    fn customer_filters_become_typed_conditions() {
        let conditions = customer_filter(
            r#"tier = VIP AND lifecycle_stage != AT_RISK AND region = "eu-west" AND erased = false AND create_time < "2030-01-01T00:00:00Z""#,
        )
        .unwrap();
        assert_eq!(conditions[0].value, Scalar::Int(CustomerTier::Vip as i64));
        assert_eq!(conditions[1].op, Op::Ne);
        assert_eq!(conditions[2].value, Scalar::Text("eu-west".into()));
        assert_eq!(conditions[3].value, Scalar::Int(0));
        assert_eq!(conditions[4].field, CustomerField::CreateTime);
    }

    #[test]
    fn unknown_fields_and_values_are_refused() {
        assert!(customer_filter("colour = RED").is_err());
        assert!(customer_filter("tier = GOLD").is_err());
        assert!(customer_filter("tier = UNSPECIFIED").is_err());
        assert!(customer_filter(r#"organisation = "acme""#).is_err());
        assert!(identity_filter("channel = PIGEON").is_err());
        assert!(identity_filter("channel = EMAIL AND verified = true").is_ok());
    }
}

//! The ticket fields `ListTickets` (and statistics) filter on, checked and typed from the
//! platform's AIP-160 filter.

use aftercare_platform::query::{Comparison, Condition, Filter, Value};

use super::values::{Channel, EscalationLevel, Kind, Priority, Status, SubKind, WireEnum};

/// A ticket field a filter may name (see `ListTicketsRequest.filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketField {
    /// `status`
    Status,
    /// `kind`
    Kind,
    /// `sub_kind`
    SubKind,
    /// `priority`
    Priority,
    /// `channel`
    Channel,
    /// `escalation_level`
    EscalationLevel,
    /// `sla_state` / `sla.state`
    SlaState,
    /// `assignee`
    Assignee,
    /// `team`
    Team,
    /// `customer`
    Customer,
    /// `region`
    Region,
    /// `service_centre`
    ServiceCentre,
    /// `language_code`
    LanguageCode,
    /// `customer_tier`
    CustomerTier,
    /// `external_id`
    ExternalId,
    /// `merged_into`
    MergedInto,
    /// `tag`
    Tag,
    /// `number`
    Number,
    /// `sla_at_risk`
    SlaAtRisk,
    /// `sla_breached`
    SlaBreached,
    /// `create_time`
    CreateTime,
    /// `update_time`
    UpdateTime,
    /// `resolution_due_time` / `sla.resolution_due_time`
    ResolutionDueTime,
}

impl TicketField {
    /// The filter name of a field that only staff see (blanked in a customer's view), or
    /// `None` for a field anyone who sees the ticket sees.
    pub fn internal_name(self) -> Option<&'static str> {
        match self {
            Self::Assignee => Some("assignee"),
            Self::Team => Some("team"),
            Self::Tag => Some("tag"),
            Self::EscalationLevel => Some("escalation_level"),
            _ => None,
        }
    }
}

/// A typed filter value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    /// Text.
    Text(String),
    /// A number, time (microseconds), rank or 0/1 flag.
    Int(i64),
    /// "" for a reference: unset.
    Unset,
}

/// One checked condition on tickets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketCriterion {
    /// The field.
    pub field: TicketField,
    /// The operator.
    pub op: Comparison,
    /// The value.
    pub value: FieldValue,
}

fn wire<E: WireEnum>(value: &Value) -> Result<FieldValue, String> {
    let text = value.text();
    let parsed = E::parse(text).ok_or_else(|| {
        let names: Vec<&str> = E::ALL.iter().map(|v| v.as_str()).collect();
        format!("`{text}` is not one of {}", names.join(", "))
    })?;
    Ok(FieldValue::Text(parsed.as_str().to_owned()))
}

fn ranked<E: WireEnum>(value: &Value) -> Result<FieldValue, String> {
    let text = value.text();
    E::parse(text)
        .map(|v| FieldValue::Int(i64::from(v.rank())))
        .ok_or_else(|| format!("`{text}` is not a valid value"))
}

const SLA_STATES: &[&str] = &["NONE", "ON_TRACK", "AT_RISK", "BREACHED", "PAUSED", "MET"];

/// Checks every condition of `filter` against the fields `ListTickets` accepts and types
/// its value.
pub fn ticket_criteria(filter: &Filter) -> Result<Vec<TicketCriterion>, String> {
    {
        use TicketField as F;
        let mut criteria = Vec::new();
        for Condition { field, op, value } in &filter.conditions {
            let (ticket_field, ordered) = match field.as_str() {
                "status" => (F::Status, false),
                "kind" => (F::Kind, false),
                "sub_kind" => (F::SubKind, false),
                "priority" => (F::Priority, true),
                "channel" => (F::Channel, false),
                "escalation_level" => (F::EscalationLevel, true),
                "sla_state" | "sla.state" => (F::SlaState, false),
                "assignee" => (F::Assignee, false),
                "team" => (F::Team, false),
                "customer" => (F::Customer, false),
                "region" => (F::Region, false),
                "service_centre" => (F::ServiceCentre, false),
                "language_code" => (F::LanguageCode, false),
                "customer_tier" => (F::CustomerTier, false),
                "external_id" => (F::ExternalId, false),
                "merged_into" => (F::MergedInto, false),
                "tag" => (F::Tag, false),
                "number" => (F::Number, true),
                "sla_at_risk" => (F::SlaAtRisk, false),
                "sla_breached" => (F::SlaBreached, false),
                "create_time" => (F::CreateTime, true),
                "update_time" => (F::UpdateTime, true),
                "resolution_due_time" | "sla.resolution_due_time" => (F::ResolutionDueTime, true),
                other => return Err(format!("unknown field `{other}`")),
            };
            let is_time = matches!(
                ticket_field,
                F::CreateTime | F::UpdateTime | F::ResolutionDueTime
            );
            if is_time && op.is_equality() {
                return Err(format!("`{field}` accepts <, <=, > and >= only"));
            }
            if !ordered && !op.is_equality() {
                return Err(format!("`{field}` accepts = and != only"));
            }
            if matches!(ticket_field, F::SlaAtRisk | F::SlaBreached) && *op != Comparison::Eq {
                return Err(format!("`{field}` accepts = only"));
            }
            let typed = match ticket_field {
                F::Status => wire::<Status>(value),
                F::Kind => wire::<Kind>(value),
                F::SubKind => wire::<SubKind>(value),
                F::Channel => wire::<Channel>(value),
                F::Priority => ranked::<Priority>(value),
                F::EscalationLevel => ranked::<EscalationLevel>(value),
                F::SlaState => SLA_STATES
                    .iter()
                    .find(|s| **s == value.text())
                    .map(|s| FieldValue::Text((*s).to_owned()))
                    .ok_or_else(|| format!("`{}` is not an SLA state", value.text())),
                F::Assignee | F::Team | F::MergedInto => value.quoted().map(|text| {
                    if text.is_empty() {
                        FieldValue::Unset
                    } else {
                        FieldValue::Text(text.to_owned())
                    }
                }),
                F::Customer
                | F::Region
                | F::ServiceCentre
                | F::LanguageCode
                | F::CustomerTier
                | F::ExternalId => value.quoted().map(|t| FieldValue::Text(t.to_owned())),
                F::Tag => value.quoted().map(|t| FieldValue::Text(t.to_lowercase())),
                F::Number => value.integer().map(FieldValue::Int),
                F::SlaAtRisk | F::SlaBreached => {
                    value.boolean().map(|b| FieldValue::Int(i64::from(b)))
                }
                F::CreateTime | F::UpdateTime | F::ResolutionDueTime => {
                    value.time().map(FieldValue::Int)
                }
            }
            .map_err(|e| format!("`{field}`: {e}"))?;
            criteria.push(TicketCriterion {
                field: ticket_field,
                op: *op,
                value: typed,
            });
        }
        Ok(criteria)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_filters_are_typed_and_checked() {
        let criteria = Filter::parse(
            r#"status != CLOSED AND priority >= HIGH AND assignee = "" AND tag = "VIP" AND create_time > 2026-01-01T00:00:00Z"#,
        )
        .map(|f| ticket_criteria(&f))
        .unwrap()
        .unwrap();
        assert_eq!(criteria[0].value, FieldValue::Text("CLOSED".into()));
        assert_eq!(criteria[1].value, FieldValue::Int(3));
        assert_eq!(criteria[2].value, FieldValue::Unset);
        assert_eq!(criteria[3].value, FieldValue::Text("vip".into()));
        for bad in [
            "colour = RED",
            "status = SHINY",
            "status > OPEN",
            "create_time = 2026-01-01T00:00:00Z",
            "assignee = agents/1",
            "number = ten",
            "sla_breached = maybe",
        ] {
            assert!(
                ticket_criteria(&Filter::parse(bad).unwrap()).is_err(),
                "{bad}"
            );
        }
    }
}

//! Tier rules: which tier a customer qualifies for by loyalty points or spend, and when a
//! customer is promoted or demoted.

use aftercare_platform::error::FieldViolations;
use aftercare_platform::time::Micros;
use uuid::Uuid;

use super::customer::Tier;
use super::values::DisplayName;

pub(crate) use super::wire::Metric;

/// The longest window a rule may sum over: 3660 days.
pub(crate) const MAX_WINDOW_MICROS: Micros = 3660 * 86_400 * 1_000_000;

/// The fields of a rule people set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RuleSpec {
    /// Name to show.
    pub(crate) display_name: DisplayName,
    /// The tier granted (never STANDARD or unspecified).
    pub(crate) tier: Tier,
    /// What is measured.
    pub(crate) metric: Metric,
    /// Met when the measured value is >= this; > 0.
    pub(crate) threshold: i64,
    /// Rolling window; `None` is the whole history.
    pub(crate) window: Option<Micros>,
    /// Whether customers at this tier who no longer qualify are demoted.
    pub(crate) demote: bool,
    /// Whether the rule applies.
    pub(crate) enabled: bool,
}

/// One change an update makes to a rule, named by its update-mask path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RuleChange {
    /// `display_name`
    DisplayName(DisplayName),
    /// `tier`
    Tier(Tier),
    /// `metric`
    Metric(Metric),
    /// `threshold`
    Threshold(i64),
    /// `window`
    Window(Option<Micros>),
    /// `demote`
    Demote(bool),
    /// `enabled`
    Enabled(bool),
}

impl RuleSpec {
    /// Applies `changes`; returns whether anything changed.
    pub(crate) fn apply(&mut self, changes: Vec<RuleChange>) -> bool {
        let before = self.clone();
        for change in changes {
            match change {
                RuleChange::DisplayName(v) => self.display_name = v,
                RuleChange::Tier(v) => self.tier = v,
                RuleChange::Metric(v) => self.metric = v,
                RuleChange::Threshold(v) => self.threshold = v,
                RuleChange::Window(v) => self.window = v,
                RuleChange::Demote(v) => self.demote = v,
                RuleChange::Enabled(v) => self.enabled = v,
            }
        }
        *self != before
    }
}

/// A stored rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TierRule {
    /// Its id.
    pub(crate) id: Uuid,
    /// Its fields.
    pub(crate) spec: RuleSpec,
    /// Version counter.
    pub(crate) version: i64,
    /// Created.
    pub(crate) create_time: Micros,
    /// Last changed.
    pub(crate) update_time: Micros,
}

/// Checks a granted tier: a real tier above STANDARD.
pub(crate) fn granted_tier(
    value: i32,
    field: &str,
    violations: &mut FieldViolations,
) -> Option<Tier> {
    match Tier::try_from(value) {
        Ok(Tier::Unspecified) => violations.add(field, "is required"),
        Ok(Tier::Standard) => violations.add(
            field,
            "STANDARD is the fallback; a rule grants a higher tier",
        ),
        Ok(tier) => return Some(tier),
        Err(_) => violations.add(field, format!("unknown tier {value}")),
    }
    None
}

/// Checks a metric: required.
pub(crate) fn metric(value: i32, field: &str, violations: &mut FieldViolations) -> Option<Metric> {
    match Metric::try_from(value) {
        Ok(Metric::Unspecified) => violations.add(field, "is required"),
        Ok(metric) => return Some(metric),
        Err(_) => violations.add(field, format!("unknown metric {value}")),
    }
    None
}

/// Checks a threshold: > 0.
pub(crate) fn threshold(value: i64, field: &str, violations: &mut FieldViolations) -> Option<i64> {
    if value > 0 {
        Some(value)
    } else {
        violations.add(field, "must be > 0");
        None
    }
}

/// Checks a window: positive and at most 3660 days.
pub(crate) fn window(
    micros: Option<Micros>,
    field: &str,
    violations: &mut FieldViolations,
) -> Option<Option<Micros>> {
    match micros {
        None => Some(None),
        Some(w) if w > 0 && w <= MAX_WINDOW_MICROS => Some(Some(w)),
        Some(_) => {
            violations.add(field, "must be positive and at most 3660 days");
            None
        }
    }
}

/// Checks a rule's display name.
pub(crate) fn rule_name(
    value: &str,
    field: &str,
    violations: &mut FieldViolations,
) -> Option<DisplayName> {
    violations.check(field, DisplayName::parse(value))
}

/// How one rule measured for a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Measurement {
    /// The rule.
    pub(crate) rule: Uuid,
    /// The tier it grants.
    pub(crate) tier: Tier,
    /// The measured value.
    pub(crate) value: i64,
    /// Its threshold.
    pub(crate) threshold: i64,
    /// Whether it demotes.
    pub(crate) demote: bool,
}

impl Measurement {
    /// Whether the customer meets the rule.
    pub(crate) fn met(&self) -> bool {
        self.value >= self.threshold
    }
}

/// The outcome of applying the rules to a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// The tier after evaluation.
    pub(crate) tier: Tier,
    /// The rule that decided a change; `None` when nothing changed or the fallback applied.
    pub(crate) rule: Option<Uuid>,
}

/// Applies `measurements` (of the rules in force) to a customer at `current`: promote to the
/// highest tier met; demote to it only when the current tier's rule demotes; never touch a
/// locked tier.
pub(crate) fn evaluate(current: Tier, locked: bool, measurements: &[Measurement]) -> Outcome {
    let unchanged = Outcome {
        tier: current,
        rule: None,
    };
    if locked {
        return unchanged;
    }
    let best = measurements
        .iter()
        .filter(|m| m.met())
        .max_by_key(|m| m.tier as i32);
    let (qualifying, rule) = best.map_or((Tier::Standard, None), |m| (m.tier, Some(m.rule)));
    let rank = |tier: Tier| tier as i32;
    if rank(qualifying) > rank(current) {
        return Outcome {
            tier: qualifying,
            rule,
        };
    }
    let demotes = measurements.iter().any(|m| m.tier == current && m.demote);
    if rank(qualifying) < rank(current) && demotes {
        return Outcome {
            tier: qualifying,
            rule,
        };
    }
    unchanged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(tier: Tier, value: i64, threshold: i64, demote: bool) -> Measurement {
        Measurement {
            rule: Uuid::now_v7(),
            tier,
            value,
            threshold,
            demote,
        }
    }

    #[test]
    fn customers_are_promoted_to_the_highest_tier_they_meet() {
        let premium = rule(Tier::Premium, 600, 500, false);
        let vip = rule(Tier::Vip, 600, 1_000, false);
        let outcome = evaluate(Tier::Standard, false, &[premium, vip]);
        assert_eq!(
            outcome,
            Outcome {
                tier: Tier::Premium,
                rule: Some(premium.rule)
            }
        );
        let vip_met = rule(Tier::Vip, 1_200, 1_000, false);
        assert_eq!(
            evaluate(Tier::Standard, false, &[premium, vip_met]).tier,
            Tier::Vip
        );
    }

    #[test]
    fn tiers_are_kept_unless_the_current_rule_demotes() {
        let keeps = rule(Tier::Vip, 10, 1_000, false);
        assert_eq!(evaluate(Tier::Vip, false, &[keeps]).tier, Tier::Vip);
        let demotes = rule(Tier::Vip, 10, 1_000, true);
        let premium = rule(Tier::Premium, 600, 500, false);
        assert_eq!(
            evaluate(Tier::Vip, false, &[demotes, premium]).tier,
            Tier::Premium
        );
        assert_eq!(evaluate(Tier::Vip, false, &[demotes]).tier, Tier::Standard);
    }

    #[test]
    fn a_locked_tier_never_changes() {
        let vip = rule(Tier::Vip, 5_000, 1_000, false);
        assert_eq!(evaluate(Tier::Standard, true, &[vip]).tier, Tier::Standard);
    }
}

//! The default service standards a fresh install starts with: two business calendars and a
//! grid of SLA policies by customer tier, priority and kind. They are ordinary calendars and
//! policies once created (listed, edited and deleted through `SlaService`); the store creates
//! them once per database (the `service_setup` marker), so an admin's edits and deletions
//! stay. They are created only on a database with no policy and no calendar yet, so an
//! install that set up its own standards before this existed gets nothing added.
//!
//! The numbers (business time of the policy's calendar; a working day is 9 hours):
//!
//! | tier     | priority | kind              | first response | resolution       | calendar      |
//! |----------|----------|-------------------|----------------|------------------|---------------|
//! | VIP      | urgent   | any               | 15 min         | 4 h              | around the clock |
//! | VIP      | high     | any               | 30 min         | 8 h              | around the clock |
//! | VIP      | normal   | inquiry           | 1 h            | 4.5 h (½ day)    | working hours |
//! | VIP      | normal   | technical support | 1 h            | 13.5 h (1½ days) | working hours |
//! | VIP      | normal   | after-sales       | 1 h            | 22.5 h (2½ days) | working hours |
//! | VIP      | normal   | complaint         | 1 h            | 9 h (1 day)      | working hours |
//! | VIP      | low      | inquiry           | 2 h            | 9 h (1 day)      | working hours |
//! | VIP      | low      | technical support | 2 h            | 22.5 h (2½ days) | working hours |
//! | VIP      | low      | after-sales       | 2 h            | 45 h (5 days)    | working hours |
//! | VIP      | low      | complaint         | 2 h            | 13.5 h (1½ days) | working hours |
//! | any      | urgent   | any               | 30 min         | 8 h              | around the clock |
//! | any      | high     | any               | 1 h            | 16 h             | around the clock |
//! | any      | normal   | inquiry           | 2 h            | 9 h (1 day)      | working hours |
//! | any      | normal   | technical support | 2 h            | 27 h (3 days)    | working hours |
//! | any      | normal   | after-sales       | 2 h            | 45 h (5 days)    | working hours |
//! | any      | normal   | complaint         | 2 h            | 18 h (2 days)    | working hours |
//! | any      | low      | inquiry           | 4 h            | 18 h (2 days)    | working hours |
//! | any      | low      | technical support | 4 h            | 45 h (5 days)    | working hours |
//! | any      | low      | after-sales       | 4 h            | 90 h (10 days)   | working hours |
//! | any      | low      | complaint         | 4 h            | 27 h (3 days)    | working hours |
//!
//! A VIP's targets are half the standard ones. The calendars: "Around the clock" (every day,
//! 00:00–24:00 UTC), the default calendar of region `global`; "Working hours" (Monday to
//! Friday, 09:00–18:00 UTC), region `global`, service centre `working-hours`. Every default
//! policy names its calendar, has the default at-risk threshold (80 %), notifies the ticket's
//! team when a target is at risk and raises the escalation level one step when one is missed.
//! Their ranks start at [`DEFAULT_RANK`], after any policy an admin creates with the default
//! rank (0), so an admin's own policies are tried first.

use uuid::Uuid;

use super::calendar::{CalendarResource, MINUTE, OpenInterval};
use super::sla::{Conditions, EscalationRule, RuleAction, SlaPolicy};
use super::values::{Kind, Priority, Region, ServiceCentre, SlaTrigger, Weekday, WireEnum};

/// The `service_setup` entry recording that the default standards were created.
pub const SETUP: &str = "default-service-standards";

/// The rank of the first default policy; the others follow in steps of 10.
pub const DEFAULT_RANK: i32 = 10_000;

/// The customer tier with faster targets.
const VIP: &str = "VIP";

/// Which calendar a default policy counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hours {
    AroundTheClock,
    Working,
}

/// Standard targets (first response, resolution) of a priority and kind, in minutes of
/// business time, and the calendar they count in. A VIP gets half.
fn standard(priority: Priority, kind: Option<Kind>) -> (i64, i64, Hours) {
    const DAY: i64 = 9 * 60;
    let resolution = |inquiry, technical, after_sales, complaint| match kind {
        Some(Kind::Inquiry) | None => inquiry,
        Some(Kind::TechnicalSupport) => technical,
        Some(Kind::AfterSales) => after_sales,
        Some(Kind::Complaint) => complaint,
    };
    match priority {
        Priority::Urgent => (30, 8 * 60, Hours::AroundTheClock),
        Priority::High => (60, 16 * 60, Hours::AroundTheClock),
        Priority::Normal => (
            2 * 60,
            resolution(DAY, 3 * DAY, 5 * DAY, 2 * DAY),
            Hours::Working,
        ),
        Priority::Low => (
            4 * 60,
            resolution(2 * DAY, 5 * DAY, 10 * DAY, 3 * DAY),
            Hours::Working,
        ),
    }
}

/// The default standards, created at `now`.
#[derive(Debug, Clone)]
pub struct DefaultStandards {
    /// The calendars: around the clock first, then working hours.
    pub calendars: Vec<CalendarResource>,
    /// The policies, in rank order.
    pub policies: Vec<SlaPolicy>,
}

fn calendar(
    display_name: &str,
    centre: Option<&str>,
    days: &[Weekday],
    open: OpenInterval,
    now: i64,
) -> CalendarResource {
    CalendarResource {
        id: Uuid::now_v7(),
        display_name: display_name.to_owned(),
        region: Region::default_region(),
        service_centre: centre.map(|c| ServiceCentre::parse(c).expect("a valid centre id")),
        time_zone: chrono_tz::UTC,
        weekly: days.iter().map(|d| (*d, vec![open])).collect(),
        holidays: Vec::new(),
        version: 1,
        create_time: now,
        update_time: now,
    }
}

impl DefaultStandards {
    /// The calendars and policies, with fresh ids.
    pub fn new(now: i64) -> Self {
        use Weekday::{Friday, Monday, Saturday, Sunday, Thursday, Tuesday, Wednesday};
        let around = calendar(
            "Around the clock (default)",
            None,
            &[
                Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday,
            ],
            OpenInterval {
                start: 0,
                end: 24 * 60,
            },
            now,
        );
        let working = calendar(
            "Working hours (default)",
            Some("working-hours"),
            &[Monday, Tuesday, Wednesday, Thursday, Friday],
            OpenInterval {
                start: 9 * 60,
                end: 18 * 60,
            },
            now,
        );
        let mut policies = Vec::new();
        for vip in [true, false] {
            for priority in [
                Priority::Urgent,
                Priority::High,
                Priority::Normal,
                Priority::Low,
            ] {
                let kinds: Vec<Option<Kind>> = match priority {
                    Priority::Urgent | Priority::High => vec![None],
                    Priority::Normal | Priority::Low => {
                        Kind::ALL.iter().copied().map(Some).collect()
                    }
                };
                for kind in kinds {
                    let (first, resolution, hours) = standard(priority, kind);
                    let divisor = if vip { 2 } else { 1 };
                    let calendar = match hours {
                        Hours::AroundTheClock => &around,
                        Hours::Working => &working,
                    };
                    let tier = if vip { "VIP" } else { "Standard" };
                    let about = kind.map_or_else(
                        || "any kind".to_owned(),
                        |k| k.as_str().to_lowercase().replace('_', " "),
                    );
                    let rank = DEFAULT_RANK + 10 * policies.len() as i32;
                    policies.push(SlaPolicy {
                        id: Uuid::now_v7(),
                        display_name: format!(
                            "{tier}, {}, {about} (default)",
                            priority.as_str().to_lowercase()
                        ),
                        description: "A default service standard created at first start; \
                                      edit or delete it like any policy."
                            .to_owned(),
                        rank,
                        disabled: false,
                        conditions: Conditions {
                            kinds: kind.into_iter().collect(),
                            priorities: vec![priority],
                            customer_tiers: if vip {
                                vec![VIP.to_owned()]
                            } else {
                                Vec::new()
                            },
                            regions: Vec::new(),
                            channels: Vec::new(),
                        },
                        first_response_target: first * MINUTE / divisor,
                        resolution_target: resolution * MINUTE / divisor,
                        at_risk_percent: 0,
                        business_calendar: Some(calendar.name()),
                        escalation_rules: vec![
                            EscalationRule {
                                trigger: SlaTrigger::FirstResponseAtRisk,
                                action: RuleAction::NotifyTeam(None),
                            },
                            EscalationRule {
                                trigger: SlaTrigger::ResolutionAtRisk,
                                action: RuleAction::NotifyTeam(None),
                            },
                            EscalationRule {
                                trigger: SlaTrigger::FirstResponseBreached,
                                action: RuleAction::EscalateLevel(None, None),
                            },
                            EscalationRule {
                                trigger: SlaTrigger::ResolutionBreached,
                                action: RuleAction::EscalateLevel(None, None),
                            },
                        ],
                        version: 1,
                        create_time: now,
                        update_time: now,
                    });
                }
            }
        }
        Self {
            calendars: vec![around, working],
            policies,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Ticket;
    use crate::domain::sla::select;
    use crate::domain::ticket::Product;
    use crate::domain::ticket::{Actor, ActorKind, NewTicket, TicketCustomer};
    use crate::domain::values::{Channel, CustomerName, Tags};

    const HOUR: i64 = 60 * MINUTE;
    const T0: i64 = 1_764_000_000_000_000;

    fn ticket(kind: Kind, priority: Priority, tier: &str) -> Ticket {
        let new = NewTicket {
            channel: Channel::Web,
            identity: None,
            external_id: None,
            subject: "Fridge".into(),
            description: "warm".into(),
            kind: Some(kind),
            sub_kind: None,
            priority: Some(priority),
            product: Product::default(),
            region: None,
            service_centre: None,
            language_code: None,
            assignee: None,
            team: None,
            tags: Tags::default(),
        };
        let customer = TicketCustomer {
            name: CustomerName::parse("customers/c1").expect("a name"),
            display_name: "C".into(),
            tier: tier.into(),
            region: None,
            created: false,
        };
        let actor = Actor {
            kind: ActorKind::Agent,
            id: "agents/a".into(),
            display_name: "A".into(),
        };
        new.into_ticket(customer, actor, None, T0).0
    }

    #[test]
    fn every_kind_priority_and_tier_has_a_default_policy() {
        let defaults = DefaultStandards::new(T0);
        for kind in Kind::ALL {
            for priority in Priority::ALL {
                for tier in ["", "STANDARD", "PREMIUM", "VIP"] {
                    let t = ticket(*kind, *priority, tier);
                    let policy = select(&defaults.policies, &t).expect("a default policy");
                    assert!(policy.first_response_target > 0);
                    assert!(policy.first_response_target < policy.resolution_target);
                    assert!(policy.business_calendar.is_some());
                }
            }
        }
    }

    #[test]
    fn a_vip_gets_half_the_standard_targets() {
        let defaults = DefaultStandards::new(T0);
        for kind in Kind::ALL {
            for priority in Priority::ALL {
                let vip = select(&defaults.policies, &ticket(*kind, *priority, "VIP")).unwrap();
                let standard =
                    select(&defaults.policies, &ticket(*kind, *priority, "STANDARD")).unwrap();
                assert_eq!(
                    vip.first_response_target * 2,
                    standard.first_response_target
                );
                assert_eq!(vip.resolution_target * 2, standard.resolution_target);
                assert_eq!(vip.business_calendar, standard.business_calendar);
            }
        }
    }

    #[test]
    fn urgent_is_faster_than_high_than_normal_than_low() {
        let defaults = DefaultStandards::new(T0);
        for kind in Kind::ALL {
            let targets: Vec<i64> = [
                Priority::Urgent,
                Priority::High,
                Priority::Normal,
                Priority::Low,
            ]
            .iter()
            .map(|p| {
                select(&defaults.policies, &ticket(*kind, *p, ""))
                    .unwrap()
                    .first_response_target
            })
            .collect();
            assert!(targets.windows(2).all(|w| w[0] < w[1]), "{targets:?}");
        }
    }

    #[test]
    fn urgent_counts_around_the_clock_and_normal_in_working_hours() {
        let defaults = DefaultStandards::new(T0);
        let around = defaults.calendars[0].name();
        let working = defaults.calendars[1].name();
        let urgent = select(
            &defaults.policies,
            &ticket(Kind::Complaint, Priority::Urgent, ""),
        )
        .unwrap();
        assert_eq!(urgent.business_calendar.as_ref(), Some(&around));
        assert_eq!(urgent.first_response_target, HOUR / 2);
        let normal = select(
            &defaults.policies,
            &ticket(Kind::AfterSales, Priority::Normal, ""),
        )
        .unwrap();
        assert_eq!(normal.business_calendar.as_ref(), Some(&working));
        assert_eq!(normal.resolution_target, 45 * HOUR);
        let calendar = defaults.calendars[1].calendar();
        // Monday 2025-11-24 17:00 UTC plus 2 business hours is Tuesday 10:00.
        let monday_five = T0 + HOUR;
        assert_eq!(
            calendar.add(monday_five, 2 * HOUR),
            Some(monday_five + 17 * HOUR)
        );
    }

    #[test]
    fn default_policies_rank_after_an_admins_and_in_order() {
        let defaults = DefaultStandards::new(T0);
        assert_eq!(defaults.policies.len(), 20);
        assert!(defaults.policies.iter().all(|p| p.rank >= DEFAULT_RANK));
        assert!(defaults.policies.windows(2).all(|w| w[0].rank < w[1].rank));
    }
}

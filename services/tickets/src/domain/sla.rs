//! SLA policies and what they do to a ticket: which policy applies, the due times it
//! gives (in business time of a calendar), how a pause moves them, and what the sweep does
//! when a threshold or a due time passes.

use uuid::Uuid;

use super::calendar::{BusinessCalendar, CalendarResource};
use super::change::{Change, FieldChange};
use super::ticket::Ticket;
use super::values::{
    Channel, EscalationLevel, Kind, Priority, ServiceCentre, SlaTrigger, TeamName, WireEnum,
};

/// The at-risk threshold when a policy gives none.
pub const DEFAULT_AT_RISK_PERCENT: u32 = 80;

/// Which tickets a policy applies to; an empty list matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions {
    /// Kinds.
    pub kinds: Vec<Kind>,
    /// Priorities.
    pub priorities: Vec<Priority>,
    /// Customer tiers (`VIP`, …).
    pub customer_tiers: Vec<String>,
    /// Region codes.
    pub regions: Vec<String>,
    /// Channels.
    pub channels: Vec<Channel>,
}

impl Conditions {
    /// Whether `ticket` meets every condition.
    pub fn matches(&self, ticket: &Ticket) -> bool {
        fn fits<T: PartialEq>(list: &[T], value: &T) -> bool {
            list.is_empty() || list.contains(value)
        }
        fits(&self.kinds, &ticket.kind)
            && fits(&self.priorities, &ticket.priority)
            && fits(&self.customer_tiers, &ticket.customer_tier)
            && fits(&self.regions, &ticket.region.to_string())
            && fits(&self.channels, &ticket.channel)
    }
}

/// What a rule does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleAction {
    /// Raise the priority (to this, or one step).
    RaisePriority(Option<Priority>),
    /// Raise the escalation level (to this, or one step), handing over to a team.
    EscalateLevel(Option<EscalationLevel>, Option<TeamName>),
    /// Notify a team queue (the ticket's own when `None`).
    NotifyTeam(Option<TeamName>),
}

/// One escalation rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationRule {
    /// When it fires.
    pub trigger: SlaTrigger,
    /// What it does.
    pub action: RuleAction,
}

/// An SLA policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaPolicy {
    /// Its id.
    pub id: Uuid,
    /// Display name.
    pub display_name: String,
    /// Description.
    pub description: String,
    /// Evaluation order.
    pub rank: i32,
    /// Whether it is skipped.
    pub disabled: bool,
    /// Which tickets it applies to.
    pub conditions: Conditions,
    /// First-response target, business microseconds.
    pub first_response_target: i64,
    /// Resolution target, business microseconds.
    pub resolution_target: i64,
    /// At-risk threshold, percent of a target (0 = the default).
    pub at_risk_percent: u32,
    /// Its calendar, `businessCalendars/{id}`, if it names one.
    pub business_calendar: Option<String>,
    /// Escalation rules.
    pub escalation_rules: Vec<EscalationRule>,
    /// Version behind the etag.
    pub version: i64,
    /// Created (UTC microseconds).
    pub create_time: i64,
    /// Last changed.
    pub update_time: i64,
}

impl SlaPolicy {
    /// The resource name.
    pub fn name(&self) -> String {
        format!("slaPolicies/{}", self.id)
    }

    /// The threshold in effect.
    pub fn threshold(&self) -> u32 {
        if self.at_risk_percent == 0 {
            DEFAULT_AT_RISK_PERCENT
        } else {
            self.at_risk_percent
        }
    }
}

/// The first enabled policy (in the order given: rank, then creation) matching `ticket`.
pub fn select<'a>(policies: &'a [SlaPolicy], ticket: &Ticket) -> Option<&'a SlaPolicy> {
    policies
        .iter()
        .find(|p| !p.disabled && p.conditions.matches(ticket))
}

/// The calendar counting a ticket's SLA under `policy`: the policy's own, else the
/// ticket's service centre's, else its region's default; `None` means around the clock.
pub fn calendar_for<'a>(
    calendars: &'a [CalendarResource],
    policy: &SlaPolicy,
    ticket: &Ticket,
) -> Option<&'a CalendarResource> {
    if let Some(name) = &policy.business_calendar
        && let Some(own) = calendars.iter().find(|c| &c.name() == name)
    {
        return Some(own);
    }
    let in_region = |centre: Option<&ServiceCentre>| {
        calendars
            .iter()
            .find(|c| c.region == ticket.region && c.service_centre.as_ref() == centre)
    };
    ticket
        .service_centre
        .as_ref()
        .and_then(|centre| in_region(Some(centre)))
        .or_else(|| in_region(None))
}

/// The calendar a ticket's SLA is counted in now: the one it recorded (`recorded`) while it
/// exists, else — as after a delete — the ticket's service centre's, else its region's
/// default; `None` means around the clock in UTC.
pub fn fallback_calendar<'a>(
    calendars: &'a [CalendarResource],
    recorded: Option<&str>,
    ticket: &Ticket,
) -> Option<&'a CalendarResource> {
    if let Some(name) = recorded
        && let Some(own) = calendars.iter().find(|c| c.name() == name)
    {
        return Some(own);
    }
    let in_region = |centre: Option<&ServiceCentre>| {
        calendars
            .iter()
            .find(|c| c.region == ticket.region && c.service_centre.as_ref() == centre)
    };
    ticket
        .service_centre
        .as_ref()
        .and_then(|centre| in_region(Some(centre)))
        .or_else(|| in_region(None))
}

/// What applying SLAs needs: every policy in evaluation order and every calendar.
#[derive(Debug, Clone, Default)]
pub struct SlaSetup {
    /// Policies, in evaluation order.
    pub policies: Vec<SlaPolicy>,
    /// Calendars.
    pub calendars: Vec<CalendarResource>,
}

impl SlaSetup {
    /// Applies the matching policy (or none) to `ticket`, counted in its calendar.
    pub fn apply(&self, ticket: &mut Ticket) -> Vec<Change> {
        let policy = select(&self.policies, ticket);
        let calendar = policy.and_then(|p| calendar_for(&self.calendars, p, ticket));
        let (arithmetic, name) = match calendar {
            Some(c) => (c.calendar(), Some(c.name())),
            None => (BusinessCalendar::around_the_clock(), None),
        };
        ticket.apply_sla(policy, &arithmetic, name)
    }
}

fn render(time: Option<i64>) -> String {
    time.and_then(chrono::DateTime::from_timestamp_micros)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// The target an SLA change concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// First response.
    FirstResponse,
    /// Resolution.
    Resolution,
}

impl Target {
    /// The ticket field its breach sets.
    pub fn breached_field(self) -> &'static str {
        match self {
            Self::FirstResponse => "sla.first_response_breached",
            Self::Resolution => "sla.resolution_breached",
        }
    }

    /// The field its at-risk threshold sets.
    pub fn at_risk_field(self) -> &'static str {
        match self {
            Self::FirstResponse => "sla.first_response_at_risk",
            Self::Resolution => "sla.resolution_at_risk",
        }
    }
}

impl Ticket {
    /// Applies `policy` (or none) with due times counted from creation in `calendar`
    /// (named `calendar_name`, `None` for around the clock). Records a change only when the
    /// SLA changes.
    pub fn apply_sla(
        &mut self,
        policy: Option<&SlaPolicy>,
        calendar: &BusinessCalendar,
        calendar_name: Option<String>,
    ) -> Vec<Change> {
        let before = self.sla.clone();
        match policy {
            None => {
                self.sla.policy = None;
                self.sla.calendar = None;
                self.sla.first_response_due = None;
                self.sla.resolution_due = None;
                self.sla.first_response_at_risk_time = None;
                self.sla.resolution_at_risk_time = None;
            }
            Some(policy) => {
                let threshold = i64::from(policy.threshold());
                let start = self.create_time;
                let due = |amount: i64| calendar.add(start, amount);
                self.sla.policy = Some(policy.name());
                self.sla.calendar = calendar_name;
                self.sla.first_response_due = due(policy.first_response_target);
                self.sla.resolution_due = due(policy.resolution_target);
                self.sla.first_response_at_risk_time =
                    due(policy.first_response_target * threshold / 100);
                self.sla.resolution_at_risk_time = due(policy.resolution_target * threshold / 100);
                // Time already paused since creation moves the due times on.
                if let Some(paused_at) = self.sla.pause_time {
                    let paused = calendar.between(paused_at, self.update_time);
                    let shift = |t: Option<i64>| t.and_then(|t| calendar.add(t, paused));
                    self.sla.first_response_due = shift(self.sla.first_response_due);
                    self.sla.resolution_due = shift(self.sla.resolution_due);
                }
            }
        }
        self.sla_applied(&before)
    }

    /// Recomputes the due times and thresholds of `policy` (the ticket's, its targets
    /// unchanged) in `calendar` (named `calendar_name`, `None` for around the clock) at
    /// `now`, as after a calendar edit or delete: each is the moment the business time since
    /// creation, less the time spent paused, reaches its share of the target. Flags already
    /// set (at risk, breached) stay. Records a change only when the SLA changes.
    pub fn recompute_sla(
        &mut self,
        policy: &SlaPolicy,
        calendar: &BusinessCalendar,
        calendar_name: Option<String>,
        now: i64,
    ) -> Vec<Change> {
        let before = self.sla.clone();
        let threshold = i64::from(policy.threshold());
        let paused = self.sla.paused_business
            + self
                .sla
                .pause_time
                .map_or(0, |p| calendar.between(p, now.max(p)));
        let start = self.create_time;
        let due = |amount: i64| calendar.add(start, amount + paused);
        self.sla.calendar = calendar_name;
        self.sla.first_response_due = due(policy.first_response_target);
        self.sla.resolution_due = due(policy.resolution_target);
        self.sla.first_response_at_risk_time = due(policy.first_response_target * threshold / 100);
        self.sla.resolution_at_risk_time = due(policy.resolution_target * threshold / 100);
        self.sla_applied(&before)
    }

    /// The change recorded when the SLA moved from `before`, if it did.
    fn sla_applied(&self, before: &super::ticket::Sla) -> Vec<Change> {
        if self.sla == *before {
            return Vec::new();
        }
        let mut fields = Vec::new();
        let mut diff = |field: &str, old: String, new: String| {
            if old != new {
                fields.push(FieldChange {
                    field: field.to_owned(),
                    old_value: old,
                    new_value: new,
                });
            }
        };
        diff(
            "sla.policy",
            before.policy.clone().unwrap_or_default(),
            self.sla.policy.clone().unwrap_or_default(),
        );
        diff(
            "sla.calendar",
            before.calendar.clone().unwrap_or_default(),
            self.sla.calendar.clone().unwrap_or_default(),
        );
        diff(
            "sla.first_response_due_time",
            render(before.first_response_due),
            render(self.sla.first_response_due),
        );
        diff(
            "sla.resolution_due_time",
            render(before.resolution_due),
            render(self.sla.resolution_due),
        );
        vec![Change::SlaApplied { fields }]
    }

    /// Moves the due times and thresholds still ahead on by the business time the ticket
    /// spent paused (`paused_at` to `now`).
    pub fn resume_sla(&mut self, calendar: &BusinessCalendar, paused_at: i64, now: i64) {
        let shift = |t: Option<i64>| {
            t.map(|t| {
                if t <= paused_at {
                    t
                } else {
                    let left = calendar.between(paused_at, t);
                    calendar.add(now, left).unwrap_or(t)
                }
            })
        };
        let sla = &mut self.sla;
        sla.first_response_due = shift(sla.first_response_due);
        sla.resolution_due = shift(sla.resolution_due);
        sla.first_response_at_risk_time = shift(sla.first_response_at_risk_time);
        sla.resolution_at_risk_time = shift(sla.resolution_at_risk_time);
    }

    /// Accounts the business time of a write at `now` in `calendar`: a pause that ended
    /// (`paused_at` is when it began) is added to the paused total, and a first response or
    /// resolution recorded by the write gets its business duration, paused time excluded.
    pub fn account_business_time(
        &mut self,
        calendar: &BusinessCalendar,
        paused_at: Option<i64>,
        now: i64,
    ) {
        if let Some(paused_at) = paused_at
            && self.sla.pause_time.is_none()
        {
            self.sla.paused_business += calendar.between(paused_at, now);
        }
        let still_paused = self.sla.pause_time.map_or(0, |p| calendar.between(p, now));
        let elapsed = |to: i64| {
            (calendar.between(self.create_time, to) - self.sla.paused_business - still_paused)
                .max(0)
        };
        if let Some(at) = self.sla.first_response_time
            && self.sla.first_response_business.is_none()
        {
            self.sla.first_response_business = Some(elapsed(at));
        }
        if let Some(at) = self.sla.resolve_time
            && self.sla.resolution_business.is_none()
        {
            self.sla.resolution_business = Some(elapsed(at));
        }
    }

    /// What the sweep does at `now`: marks targets at risk and breached and fires the
    /// policy's rules for each trigger that fires.
    pub fn sweep_sla(&mut self, policy: Option<&SlaPolicy>, now: i64) -> Vec<Change> {
        if self.sla.next_check(self.status).is_none_or(|t| t > now) {
            return Vec::new();
        }
        let mut fired = Vec::new();
        let passed = |t: Option<i64>| t.is_some_and(|t| t <= now);
        let sla = self.sla.clone();
        if sla.first_response_time.is_none() {
            if !sla.first_response_at_risk && passed(sla.first_response_at_risk_time) {
                self.sla.first_response_at_risk = true;
                fired.push(SlaTrigger::FirstResponseAtRisk);
            }
            if !sla.first_response_breached && passed(sla.first_response_due) {
                self.sla.first_response_breached = true;
                fired.push(SlaTrigger::FirstResponseBreached);
            }
        }
        if !sla.resolution_at_risk && passed(sla.resolution_at_risk_time) {
            self.sla.resolution_at_risk = true;
            fired.push(SlaTrigger::ResolutionAtRisk);
        }
        if !sla.resolution_breached && passed(sla.resolution_due) {
            self.sla.resolution_breached = true;
            fired.push(SlaTrigger::ResolutionBreached);
        }
        let mut changes = Vec::new();
        for trigger in fired {
            changes.push(self.sla_change(trigger, policy, now));
            let rules = policy
                .map(|p| p.escalation_rules.as_slice())
                .unwrap_or_default();
            for rule in rules.iter().filter(|r| r.trigger == trigger) {
                changes.extend(self.fire(trigger, &rule.action, now));
            }
        }
        if !changes.is_empty() {
            self.update_time = now;
        }
        changes
    }

    fn sla_change(&self, trigger: SlaTrigger, policy: Option<&SlaPolicy>, now: i64) -> Change {
        let (target, due, at_risk) = match trigger {
            SlaTrigger::FirstResponseAtRisk => {
                (Target::FirstResponse, self.sla.first_response_due, true)
            }
            SlaTrigger::FirstResponseBreached => {
                (Target::FirstResponse, self.sla.first_response_due, false)
            }
            SlaTrigger::ResolutionAtRisk => (Target::Resolution, self.sla.resolution_due, true),
            SlaTrigger::ResolutionBreached => (Target::Resolution, self.sla.resolution_due, false),
        };
        let used_percent = policy.map_or(100, SlaPolicy::threshold);
        if at_risk {
            Change::SlaAtRisk {
                target,
                due_time: due.unwrap_or(now),
                remaining: due.map_or(0, |d| (d - now).max(0)),
                used_percent,
            }
        } else {
            Change::SlaBreached {
                target,
                due_time: due.unwrap_or(now),
                breach_time: now,
            }
        }
    }

    fn fire(&mut self, trigger: SlaTrigger, action: &RuleAction, now: i64) -> Vec<Change> {
        let reason = format!("SLA {}", trigger.as_str().to_lowercase().replace('_', " "));
        match action {
            RuleAction::RaisePriority(to) => {
                let next = to.or_else(|| Priority::from_rank(self.priority.rank() + 1));
                match next {
                    Some(next) if next > self.priority => {
                        let old = std::mem::replace(&mut self.priority, next);
                        vec![Change::Updated {
                            fields: vec![FieldChange {
                                field: "priority".into(),
                                old_value: old.as_str().into(),
                                new_value: next.as_str().into(),
                            }],
                        }]
                    }
                    _ => Vec::new(),
                }
            }
            RuleAction::EscalateLevel(to, team) => {
                let next = to.or_else(|| self.escalation_level.next());
                match next {
                    Some(level) if level > self.escalation_level => {
                        let previous = std::mem::replace(&mut self.escalation_level, level);
                        let mut changes = vec![Change::Escalated {
                            previous,
                            level,
                            reason: reason.clone(),
                            trigger: Some(trigger),
                        }];
                        if team.is_some() {
                            // The assignee works at the old level: hand over to the team.
                            changes.extend(
                                self.assign(None, team.clone(), &reason, now)
                                    .unwrap_or_default(),
                            );
                        }
                        changes
                    }
                    _ => Vec::new(),
                }
            }
            RuleAction::NotifyTeam(team) => {
                let team = team.clone().or_else(|| self.team.clone());
                vec![Change::SlaTeamNotified {
                    team: team.map(String::from).unwrap_or_default(),
                    trigger,
                }]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::MINUTE;

    const HOUR: i64 = 60 * MINUTE;
    use crate::domain::Transition;
    use crate::domain::ticket::{Actor, ActorKind, NewTicket, Product, TicketCustomer};
    use crate::domain::values::{CustomerName, Region, Status, Tags};

    const T0: i64 = 1_764_000_000_000_000;

    fn ticket(priority: Priority) -> Ticket {
        let new = NewTicket {
            channel: Channel::Web,
            identity: None,
            external_id: None,
            subject: "Fridge".into(),
            description: "warm".into(),
            kind: Some(Kind::TechnicalSupport),
            sub_kind: None,
            priority: Some(priority),
            product: Product::default(),
            region: Some(Region::parse("eu-west").unwrap()),
            service_centre: None,
            language_code: None,
            assignee: None,
            team: None,
            tags: Tags::default(),
        };
        let customer = TicketCustomer {
            name: CustomerName::parse("customers/c1").unwrap(),
            display_name: String::new(),
            tier: "VIP".into(),
            region: None,
            created: false,
        };
        let actor = Actor {
            kind: ActorKind::Agent,
            id: "agents/a".into(),
            display_name: String::new(),
        };
        new.into_ticket(customer, actor, None, T0).0
    }

    fn policy(rules: Vec<EscalationRule>) -> SlaPolicy {
        SlaPolicy {
            id: Uuid::now_v7(),
            display_name: "VIP".into(),
            description: String::new(),
            rank: 0,
            disabled: false,
            conditions: Conditions {
                customer_tiers: vec!["VIP".into()],
                ..Default::default()
            },
            first_response_target: HOUR,
            resolution_target: 10 * HOUR,
            at_risk_percent: 0,
            business_calendar: None,
            escalation_rules: rules,
            version: 1,
            create_time: T0,
            update_time: T0,
        }
    }

    #[test]
    fn the_first_matching_enabled_policy_applies() {
        let t = ticket(Priority::Normal);
        let mut disabled = policy(vec![]);
        disabled.disabled = true;
        let mut other_tier = policy(vec![]);
        other_tier.conditions.customer_tiers = vec!["STANDARD".into()];
        let vip = policy(vec![]);
        let policies = [disabled, other_tier, vip.clone()];
        assert_eq!(select(&policies, &t).map(|p| p.id), Some(vip.id));
        assert_eq!(select(&policies[..2], &t), None);
    }

    #[test]
    fn due_times_and_thresholds_are_counted_from_creation() {
        let mut t = ticket(Priority::Normal);
        let changes = t.apply_sla(
            Some(&policy(vec![])),
            &BusinessCalendar::around_the_clock(),
            None,
        );
        assert!(matches!(changes[..], [Change::SlaApplied { .. }]));
        assert_eq!(t.sla.first_response_due, Some(T0 + HOUR));
        assert_eq!(t.sla.first_response_at_risk_time, Some(T0 + 48 * MINUTE));
        assert_eq!(t.sla.resolution_due, Some(T0 + 10 * HOUR));
        assert_eq!(t.sla.next_check(t.status), Some(T0 + 48 * MINUTE));
        assert!(
            t.apply_sla(
                Some(&policy_with_same_name(&t)),
                &BusinessCalendar::around_the_clock(),
                None
            )
            .is_empty()
        );
    }

    fn policy_with_same_name(t: &Ticket) -> SlaPolicy {
        let mut p = policy(vec![]);
        p.id = Uuid::parse_str(
            t.sla
                .policy
                .as_ref()
                .unwrap()
                .trim_start_matches("slaPolicies/"),
        )
        .unwrap();
        p
    }

    #[test]
    fn a_pause_moves_the_due_times_by_the_time_paused() {
        let mut t = ticket(Priority::Normal);
        t.apply_sla(
            Some(&policy(vec![])),
            &BusinessCalendar::around_the_clock(),
            None,
        );
        t.transition(Transition::Change(Status::Pending), "", T0 + 10 * MINUTE)
            .unwrap();
        assert_eq!(t.sla.next_check(t.status), None);
        t.transition(Transition::Change(Status::Open), "", T0 + 40 * MINUTE)
            .unwrap();
        t.resume_sla(
            &BusinessCalendar::around_the_clock(),
            T0 + 10 * MINUTE,
            T0 + 40 * MINUTE,
        );
        assert_eq!(t.sla.first_response_due, Some(T0 + 90 * MINUTE));
        assert_eq!(t.sla.resolution_due, Some(T0 + 10 * HOUR + 30 * MINUTE));
        t.account_business_time(
            &BusinessCalendar::around_the_clock(),
            Some(T0 + 10 * MINUTE),
            T0 + 40 * MINUTE,
        );
        assert_eq!(t.sla.paused_business, 30 * MINUTE);
        t.resolve("", T0 + HOUR).unwrap();
        t.account_business_time(&BusinessCalendar::around_the_clock(), None, T0 + HOUR);
        assert_eq!(t.sla.resolution_business, Some(30 * MINUTE));
    }

    #[test]
    fn the_sweep_marks_at_risk_then_breached_and_fires_rules_once() {
        let rules = vec![
            EscalationRule {
                trigger: SlaTrigger::FirstResponseAtRisk,
                action: RuleAction::RaisePriority(None),
            },
            EscalationRule {
                trigger: SlaTrigger::FirstResponseBreached,
                action: RuleAction::EscalateLevel(
                    None,
                    Some(TeamName::parse("teams/leads").unwrap()),
                ),
            },
            EscalationRule {
                trigger: SlaTrigger::FirstResponseBreached,
                action: RuleAction::NotifyTeam(None),
            },
        ];
        let policy = policy(rules);
        let mut t = ticket(Priority::Normal);
        t.apply_sla(Some(&policy), &BusinessCalendar::around_the_clock(), None);
        assert!(t.sweep_sla(Some(&policy), T0 + 47 * MINUTE).is_empty());
        let at_risk = t.sweep_sla(Some(&policy), T0 + 50 * MINUTE);
        assert!(matches!(
            at_risk[0],
            Change::SlaAtRisk {
                target: Target::FirstResponse,
                used_percent: 80,
                ..
            }
        ));
        assert_eq!(t.priority, Priority::High);
        assert!(t.sla.at_risk());
        assert!(
            t.sweep_sla(Some(&policy), T0 + 55 * MINUTE).is_empty(),
            "fires once"
        );
        let breached = t.sweep_sla(Some(&policy), T0 + 61 * MINUTE);
        assert!(matches!(
            breached[0],
            Change::SlaBreached {
                target: Target::FirstResponse,
                ..
            }
        ));
        assert!(breached.iter().any(|c| matches!(
            c,
            Change::Escalated {
                trigger: Some(SlaTrigger::FirstResponseBreached),
                ..
            }
        )));
        assert!(
            breached
                .iter()
                .any(|c| matches!(c, Change::SlaTeamNotified { .. }))
        );
        assert_eq!(t.escalation_level, EscalationLevel::Specialist);
        assert_eq!(t.team.as_ref().map(AsRef::as_ref), Some("teams/leads"));
        assert!(t.sla.first_response_breached);
        assert_eq!(t.sla.state(t.status), crate::domain::SlaState::Breached);
        // Next: the resolution threshold at 8 h.
        assert_eq!(t.sla.next_check(t.status), Some(T0 + 8 * HOUR));
    }

    #[test]
    fn a_late_reply_or_resolution_counts_as_breached() {
        let mut t = ticket(Priority::Normal);
        t.apply_sla(
            Some(&policy(vec![])),
            &BusinessCalendar::around_the_clock(),
            None,
        );
        let draft = crate::domain::MessageDraft {
            visibility: crate::domain::Visibility::Public,
            body: "hi".into(),
            format: crate::domain::MessageFormat::PlainText,
            channel: None,
            attachments: vec![],
        };
        let agent = Actor {
            kind: ActorKind::Agent,
            id: "agents/a".into(),
            display_name: String::new(),
        };
        let (_, changes) = t.add_message(draft, agent, None, T0 + 2 * HOUR).unwrap();
        assert!(t.sla.first_response_breached);
        assert!(changes.iter().any(|c| matches!(
            c,
            Change::SlaBreached {
                target: Target::FirstResponse,
                ..
            }
        )));
        t.resolve("", T0 + 11 * HOUR).unwrap();
        assert!(t.sla.resolution_breached);
        let mut on_time = ticket(Priority::Normal);
        on_time.apply_sla(
            Some(&policy(vec![])),
            &BusinessCalendar::around_the_clock(),
            None,
        );
        on_time.resolve("", T0 + HOUR / 2).unwrap();
        assert_eq!(
            on_time.sla.state(on_time.status),
            crate::domain::SlaState::Met
        );
    }
}

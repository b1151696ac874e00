//! SlaService requests: SLA policies and business calendars.

use std::collections::BTreeSet;

use aftercare_platform::error::FieldViolations;
use aftercare_platform::request::{
    Etag, Page, enum_value, request_id, required_enum, required_text, resource_id, update_paths,
};
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::tickets::v1 as pb;
use uuid::Uuid;

use super::{date, equality, finish, optional, page_and_filter, text};
use crate::domain::{
    CalendarResource, Channel, Comparison, Conditions, DAY, EscalationRule, Holiday, Kind, MINUTE,
    OpenInterval, Priority, Region, RuleAction, ServiceCentre, SlaPolicy, TeamName, Weekday,
    WireEnum,
};
use crate::error::Error;

const POLICIES: &str = "slaPolicies";
const CALENDARS: &str = "businessCalendars";
const TIERS: &[&str] = &["STANDARD", "POTENTIAL", "PREMIUM", "VIP"];

/// A policy or calendar named in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// Its id.
    pub id: Uuid,
    /// Its name, as sent.
    pub name: String,
}

fn named(v: &mut FieldViolations, field: &str, name: &str, collection: &str) -> Option<Named> {
    resource_id(v, field, name, collection).map(|id| Named {
        id,
        name: name.to_owned(),
    })
}

impl TryFrom<pb::GetSlaPolicyRequest> for Named {
    type Error = Error;

    fn try_from(r: pb::GetSlaPolicyRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let named = named(&mut v, "name", &r.name, POLICIES);
        finish(v, named)
    }
}

impl TryFrom<pb::GetBusinessCalendarRequest> for Named {
    type Error = Error;

    fn try_from(r: pb::GetBusinessCalendarRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let named = named(&mut v, "name", &r.name, CALENDARS);
        finish(v, named)
    }
}

/// A parsed DeleteSlaPolicy or DeleteBusinessCalendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delete {
    /// What to delete.
    pub target: Named,
    /// The version its etag names.
    pub etag: i64,
}

fn delete(name: &str, etag: &str, collection: &str) -> Result<Delete, Error> {
    let mut v = FieldViolations::new();
    let target = named(&mut v, "name", name, collection);
    let etag = Etag::parse(&mut v, "etag", etag);
    finish(v, target.zip(etag)).map(|(target, etag)| Delete { target, etag })
}

impl TryFrom<pb::DeleteSlaPolicyRequest> for Delete {
    type Error = Error;

    fn try_from(r: pb::DeleteSlaPolicyRequest) -> Result<Self, Error> {
        delete(&r.name, &r.etag, POLICIES)
    }
}

impl TryFrom<pb::DeleteBusinessCalendarRequest> for Delete {
    type Error = Error;

    fn try_from(r: pb::DeleteBusinessCalendarRequest) -> Result<Self, Error> {
        delete(&r.name, &r.etag, CALENDARS)
    }
}

/// A parsed create: the new resource, version 1, and the idempotency key.
#[derive(Debug, Clone)]
pub struct Create<T> {
    /// The resource.
    pub resource: T,
    /// The idempotency key.
    pub request_id: Option<String>,
}

/// The fields of `given` (the message in `field`, required), every one set by `patch`, and
/// the idempotency key.
fn create<M, P>(
    given: Option<M>,
    field: &str,
    request_id_text: &str,
    patch: impl FnOnce(&mut FieldViolations, &M) -> P,
) -> Result<(P, Option<String>), Error> {
    let Some(given) = given else {
        return Err(Error::invalid(field, "is required"));
    };
    let mut v = FieldViolations::new();
    let patch = patch(&mut v, &given);
    let request_id = request_id(&mut v, "request_id", request_id_text);
    finish(v, Some((patch, request_id)))
}

/// A parsed update: the resource, the version its etag names and the changes.
#[derive(Debug, Clone)]
pub struct Update<P> {
    /// The resource.
    pub target: Named,
    /// The version its etag names.
    pub etag: i64,
    /// The changes.
    pub patch: P,
}

/// An update of `given` (the message in `field`, required, a resource of `collection`
/// whose name and etag `name_and_etag` gives): the fields of the mask's paths (of `paths`)
/// set by `patch`.
fn update<M, P>(
    given: Option<M>,
    field: &str,
    collection: &str,
    name_and_etag: impl Fn(&M) -> (&str, &str),
    mask: Option<&prost_types::FieldMask>,
    paths: &[&str],
    patch: impl FnOnce(&mut FieldViolations, &M, &[&str]) -> P,
) -> Result<Update<P>, Error> {
    let Some(given) = given else {
        return Err(Error::invalid(field, "is required"));
    };
    let mut v = FieldViolations::new();
    let (name, etag) = name_and_etag(&given);
    let target = named(&mut v, &format!("{field}.name"), name, collection);
    let etag = Etag::parse(&mut v, &format!("{field}.etag"), etag);
    let paths = update_paths(&mut v, mask, paths);
    let patch = patch(&mut v, &given, &paths);
    finish(v, target.zip(etag)).map(|(target, etag)| Update {
        target,
        etag,
        patch,
    })
}

/// Sets `field` to `value` when the request gave one.
fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *field = value;
    }
}

/// A number that must lie in `range` (clamped into it when it does not).
fn in_range(
    v: &mut FieldViolations,
    field: &str,
    value: i32,
    range: std::ops::RangeInclusive<i32>,
    description: &str,
) -> i32 {
    if !range.contains(&value) {
        v.add(field, description);
    }
    value.clamp(*range.start(), *range.end())
}

/// A list of wire enums by number, each known and given once.
fn enums<E: WireEnum + PartialEq>(v: &mut FieldViolations, field: &str, numbers: &[i32]) -> Vec<E> {
    let mut out = Vec::new();
    for (i, n) in numbers.iter().enumerate() {
        match E::from_rank(*n) {
            Some(e) if !out.contains(&e) => out.push(e),
            Some(_) => v.add(format!("{field}[{i}]"), "duplicate value"),
            None => v.add(format!("{field}[{i}]"), format!("unknown value {n}")),
        }
    }
    out
}

/// A target in business microseconds: whole minutes, 1 minute to `max_days` days.
fn target(
    v: &mut FieldViolations,
    field: &str,
    d: Option<&prost_types::Duration>,
    max_days: i64,
) -> i64 {
    let Some(d) = d else {
        v.add(field, "is required");
        return 0;
    };
    let micros = d.seconds.saturating_mul(1_000_000) + i64::from(d.nanos) / 1_000;
    if d.nanos != 0 || micros % MINUTE != 0 || micros < MINUTE || micros > max_days * DAY {
        v.add(
            field,
            format!("must be whole minutes, 1 minute to {max_days} days"),
        );
    }
    micros
}

/// The paths of a policy an update may set.
const POLICY_PATHS: &[&str] = &[
    "display_name",
    "description",
    "rank",
    "disabled",
    "conditions",
    "first_response_target",
    "resolution_target",
    "at_risk_threshold_percent",
    "business_calendar",
    "escalation_rules",
];

/// The fields of a policy a request sets: every one on create, the mask's on update.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyPatch {
    /// Display name.
    pub display_name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Evaluation order.
    pub rank: Option<i32>,
    /// Whether it is skipped.
    pub disabled: Option<bool>,
    /// Which tickets it applies to.
    pub conditions: Option<Conditions>,
    /// First-response target, business microseconds.
    pub first_response_target: Option<i64>,
    /// Resolution target, business microseconds.
    pub resolution_target: Option<i64>,
    /// At-risk threshold, percent.
    pub at_risk_percent: Option<u32>,
    /// Its calendar (`Some(None)`: none).
    pub business_calendar: Option<Option<String>>,
    /// Escalation rules.
    pub escalation_rules: Option<Vec<EscalationRule>>,
}

impl PolicyPatch {
    /// Sets the given fields on `policy`; the resolution target must stay at least the
    /// first-response target.
    pub fn apply(self, policy: &mut SlaPolicy) -> Result<(), Error> {
        set(&mut policy.display_name, self.display_name);
        set(&mut policy.description, self.description);
        set(&mut policy.rank, self.rank);
        set(&mut policy.disabled, self.disabled);
        set(&mut policy.conditions, self.conditions);
        set(
            &mut policy.first_response_target,
            self.first_response_target,
        );
        set(&mut policy.resolution_target, self.resolution_target);
        set(&mut policy.at_risk_percent, self.at_risk_percent);
        set(&mut policy.business_calendar, self.business_calendar);
        set(&mut policy.escalation_rules, self.escalation_rules);
        if policy.resolution_target < policy.first_response_target {
            return Err(Error::invalid(
                "sla_policy.resolution_target",
                "must be at least first_response_target",
            ));
        }
        Ok(())
    }
}

fn policy_patch(v: &mut FieldViolations, p: &pb::SlaPolicy, paths: &[&str]) -> PolicyPatch {
    let has = |path: &str| paths.contains(&path);
    let patch = PolicyPatch {
        display_name: has("display_name").then(|| {
            required_text(v, "sla_policy.display_name", &p.display_name, 100).unwrap_or_default()
        }),
        description: has("description")
            .then(|| text(v, "sla_policy.description", &p.description, 2_000)),
        rank: has("rank").then(|| {
            in_range(
                v,
                "sla_policy.rank",
                p.rank,
                0..=1_000_000,
                "must be 0 to 1,000,000",
            )
        }),
        disabled: has("disabled").then_some(p.disabled),
        conditions: has("conditions").then(|| conditions(v, p.conditions.as_ref())),
        first_response_target: has("first_response_target").then(|| {
            target(
                v,
                "sla_policy.first_response_target",
                p.first_response_target.as_ref(),
                90,
            )
        }),
        resolution_target: has("resolution_target").then(|| {
            target(
                v,
                "sla_policy.resolution_target",
                p.resolution_target.as_ref(),
                365,
            )
        }),
        at_risk_percent: has("at_risk_threshold_percent").then(|| {
            in_range(
                v,
                "sla_policy.at_risk_threshold_percent",
                p.at_risk_threshold_percent,
                0..=99,
                "must be 1 to 99 (0: the default, 80)",
            ) as u32
        }),
        business_calendar: has("business_calendar").then(|| {
            (!p.business_calendar.is_empty()).then(|| {
                resource_id(
                    v,
                    "sla_policy.business_calendar",
                    &p.business_calendar,
                    CALENDARS,
                );
                p.business_calendar.clone()
            })
        }),
        escalation_rules: has("escalation_rules").then(|| rules(v, &p.escalation_rules)),
    };
    if let (Some(first), Some(resolution)) = (patch.first_response_target, patch.resolution_target)
        && resolution < first
    {
        v.add(
            "sla_policy.resolution_target",
            "must be at least first_response_target",
        );
    }
    patch
}

fn conditions(v: &mut FieldViolations, given: Option<&pb::SlaPolicyConditions>) -> Conditions {
    let c = given.cloned().unwrap_or_default();
    let field = |name: &str| format!("sla_policy.conditions.{name}");
    for (i, tier) in c.customer_tiers.iter().enumerate() {
        if !TIERS.contains(&tier.as_str()) {
            v.add(
                field(&format!("customer_tiers[{i}]")),
                "must be STANDARD, POTENTIAL, PREMIUM or VIP",
            );
        }
    }
    let tiers = &c.customer_tiers;
    if tiers.len() > 20 || tiers.iter().collect::<BTreeSet<_>>().len() != tiers.len() {
        v.add(field("customer_tiers"), "at most 20, distinct");
    }
    if c.regions.len() > 50 {
        v.add(field("regions"), "at most 50");
    }
    for (i, region) in c.regions.iter().enumerate() {
        v.check(&field(&format!("regions[{i}]")), Region::parse(region));
    }
    Conditions {
        kinds: enums::<Kind>(v, &field("kinds"), &c.kinds),
        priorities: enums::<Priority>(v, &field("priorities"), &c.priorities),
        customer_tiers: c.customer_tiers,
        regions: c.regions,
        channels: enums::<Channel>(v, &field("channels"), &c.channels),
    }
}

fn rules(v: &mut FieldViolations, given: &[pb::SlaEscalationRule]) -> Vec<EscalationRule> {
    if given.len() > 20 {
        v.add("sla_policy.escalation_rules", "at most 20 rules");
    }
    given
        .iter()
        .enumerate()
        .filter_map(|(i, r)| rule(v, i, r))
        .collect()
}

fn rule(v: &mut FieldViolations, i: usize, r: &pb::SlaEscalationRule) -> Option<EscalationRule> {
    use pb::sla_escalation_rule::Action;
    let field = |f: &str| format!("sla_policy.escalation_rules[{i}].{f}");
    let trigger = required_enum(v, &field("trigger"), r.trigger);
    let action = match &r.action {
        Some(Action::RaisePriority(a)) => Some(RuleAction::RaisePriority(enum_value(
            v,
            &field("raise_priority.priority"),
            a.priority,
        ))),
        Some(Action::EscalateLevel(a)) => Some(RuleAction::EscalateLevel(
            enum_value(v, &field("escalate_level.level"), a.level),
            optional(v, &field("escalate_level.team"), &a.team, TeamName::parse),
        )),
        Some(Action::NotifyTeam(a)) => Some(RuleAction::NotifyTeam(optional(
            v,
            &field("notify_team.team"),
            &a.team,
            TeamName::parse,
        ))),
        None => {
            v.add(field("action"), "is required");
            None
        }
    };
    Some(EscalationRule {
        trigger: trigger?,
        action: action?,
    })
}

impl TryFrom<pb::CreateSlaPolicyRequest> for Create<SlaPolicy> {
    type Error = Error;

    fn try_from(r: pb::CreateSlaPolicyRequest) -> Result<Self, Error> {
        let (patch, request_id) = create(r.sla_policy, "sla_policy", &r.request_id, |v, p| {
            policy_patch(v, p, POLICY_PATHS)
        })?;
        let now = now_micros();
        let mut policy = SlaPolicy {
            id: Uuid::now_v7(),
            display_name: String::new(),
            description: String::new(),
            rank: 0,
            disabled: false,
            conditions: Conditions::default(),
            first_response_target: 0,
            resolution_target: 0,
            at_risk_percent: 0,
            business_calendar: None,
            escalation_rules: Vec::new(),
            version: 1,
            create_time: now,
            update_time: now,
        };
        patch.apply(&mut policy)?;
        Ok(Self {
            resource: policy,
            request_id,
        })
    }
}

impl TryFrom<pb::UpdateSlaPolicyRequest> for Update<PolicyPatch> {
    type Error = Error;

    fn try_from(r: pb::UpdateSlaPolicyRequest) -> Result<Self, Error> {
        update(
            r.sla_policy,
            "sla_policy",
            POLICIES,
            |p| (&p.name, &p.etag),
            r.update_mask.as_ref(),
            POLICY_PATHS,
            policy_patch,
        )
    }
}

/// One condition of a policy filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyTest {
    /// `disabled`.
    Disabled(bool),
    /// `kind`: the policy applies to it (or to every kind).
    Kind(Kind),
    /// `priority`: likewise.
    Priority(Priority),
    /// `customer_tier`: likewise.
    CustomerTier(String),
    /// `region`: likewise.
    Region(String),
    /// `business_calendar`: the policy names it.
    BusinessCalendar(String),
}

/// A parsed ListSlaPolicies.
#[derive(Debug, Clone)]
pub struct ListSlaPolicies {
    /// The page.
    pub page: Page,
    /// The filter's conditions, each with whether it must hold (`=`) or not (`!=`).
    pub tests: Vec<(PolicyTest, bool)>,
}

impl ListSlaPolicies {
    /// Whether `p` meets the filter and comes after the page token (in rank, then id
    /// order).
    pub fn selects(&self, p: &SlaPolicy) -> bool {
        fn fits<T: PartialEq>(list: &[T], value: &T) -> bool {
            list.is_empty() || list.contains(value)
        }
        let c = &p.conditions;
        self.tests.iter().all(|(test, holds)| {
            let hit = match test {
                PolicyTest::Disabled(b) => p.disabled == *b,
                PolicyTest::Kind(k) => fits(&c.kinds, k),
                PolicyTest::Priority(k) => fits(&c.priorities, k),
                PolicyTest::CustomerTier(t) => fits(&c.customer_tiers, t),
                PolicyTest::Region(r) => fits(&c.regions, r),
                PolicyTest::BusinessCalendar(name) => {
                    p.business_calendar.as_deref() == Some(name.as_str())
                }
            };
            hit == *holds
        }) && self.page.after.as_ref().is_none_or(|t| {
            (i64::from(p.rank), p.id.to_string()) > (t.int_key().unwrap_or_default(), t.id.clone())
        })
    }
}

impl TryFrom<pb::ListSlaPoliciesRequest> for ListSlaPolicies {
    type Error = Error;

    fn try_from(r: pb::ListSlaPoliciesRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let (page, filter) =
            page_and_filter(&mut v, r.page_size, &r.page_token, &r.filter, &[&r.filter]);
        let mut tests = Vec::new();
        for c in &filter.conditions {
            let Some(op) = equality(&mut v, c) else {
                continue;
            };
            let text = c.value.text().to_owned();
            let test = match c.field.as_str() {
                "disabled" => v
                    .check("filter", c.value.boolean())
                    .map(PolicyTest::Disabled),
                "kind" => Kind::parse(&text).map(PolicyTest::Kind).or_else(|| {
                    v.add("filter", format!("`{text}` is not a kind"));
                    None
                }),
                "priority" => Priority::parse(&text)
                    .map(PolicyTest::Priority)
                    .or_else(|| {
                        v.add("filter", format!("`{text}` is not a priority"));
                        None
                    }),
                "customer_tier" => Some(PolicyTest::CustomerTier(text)),
                "region" => Some(PolicyTest::Region(text)),
                "business_calendar" => Some(PolicyTest::BusinessCalendar(text)),
                other => {
                    v.add("filter", format!("unknown field `{other}`"));
                    None
                }
            };
            tests.extend(test.map(|test| (test, op == Comparison::Eq)));
        }
        finish(v, Some(Self { page, tests }))
    }
}

/// The paths of a calendar an update may set.
const CALENDAR_PATHS: &[&str] = &[
    "display_name",
    "region",
    "service_centre",
    "time_zone",
    "weekly_hours",
    "holidays",
];

/// The fields of a calendar a request sets: every one on create, the mask's on update.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CalendarPatch {
    /// A name to show.
    pub display_name: Option<String>,
    /// Its region.
    pub region: Option<Region>,
    /// Its service centre (`Some(None)`: the region's default calendar).
    pub service_centre: Option<Option<ServiceCentre>>,
    /// Its time zone.
    pub time_zone: Option<chrono_tz::Tz>,
    /// Opening hours per weekday.
    pub weekly: Option<Vec<(Weekday, Vec<OpenInterval>)>>,
    /// Closed days.
    pub holidays: Option<Vec<Holiday>>,
}

impl CalendarPatch {
    /// Sets the given fields on `calendar`.
    pub fn apply(self, calendar: &mut CalendarResource) {
        set(&mut calendar.display_name, self.display_name);
        set(&mut calendar.region, self.region);
        set(&mut calendar.service_centre, self.service_centre);
        set(&mut calendar.time_zone, self.time_zone);
        set(&mut calendar.weekly, self.weekly);
        set(&mut calendar.holidays, self.holidays);
    }
}

fn calendar_patch(
    v: &mut FieldViolations,
    c: &pb::BusinessCalendar,
    paths: &[&str],
) -> CalendarPatch {
    let has = |path: &str| paths.contains(&path);
    CalendarPatch {
        display_name: has("display_name").then(|| {
            required_text(v, "business_calendar.display_name", &c.display_name, 100)
                .unwrap_or_default()
        }),
        region: has("region")
            .then(|| v.check("business_calendar.region", Region::parse(&c.region)))
            .flatten(),
        service_centre: has("service_centre").then(|| {
            optional(
                v,
                "business_calendar.service_centre",
                &c.service_centre,
                ServiceCentre::parse,
            )
        }),
        time_zone: has("time_zone")
            .then(|| {
                v.check(
                    "business_calendar.time_zone",
                    c.time_zone
                        .parse::<chrono_tz::Tz>()
                        .map_err(|_| "must be an IANA time zone such as Asia/Shanghai"),
                )
            })
            .flatten(),
        weekly: has("weekly_hours").then(|| weekly_hours(v, &c.weekly_hours)),
        holidays: has("holidays").then(|| holidays(v, &c.holidays)),
    }
}

fn weekly_hours(
    v: &mut FieldViolations,
    given: &[pb::BusinessDayHours],
) -> Vec<(Weekday, Vec<OpenInterval>)> {
    if given.is_empty() {
        v.add(
            "business_calendar.weekly_hours",
            "give the hours of at least one weekday",
        );
    }
    let mut days: Vec<(Weekday, Vec<OpenInterval>)> = Vec::new();
    for (i, day) in given.iter().enumerate() {
        let field = format!("business_calendar.weekly_hours[{i}]");
        let Some(weekday) = required_enum(v, &format!("{field}.weekday"), day.weekday) else {
            continue;
        };
        if days.iter().any(|(d, _)| *d == weekday) {
            v.add(format!("{field}.weekday"), "at most one entry per weekday");
        }
        days.push((weekday, intervals(v, &field, &day.intervals)));
    }
    days
}

fn intervals(
    v: &mut FieldViolations,
    day: &str,
    given: &[pb::BusinessHoursInterval],
) -> Vec<OpenInterval> {
    if !(1..=8).contains(&given.len()) {
        v.add(format!("{day}.intervals"), "give 1 to 8 intervals");
    }
    let mut intervals: Vec<OpenInterval> = Vec::new();
    for (j, interval) in given.iter().enumerate() {
        let field = format!("{day}.intervals[{j}]");
        let parsed = v.check(
            &field,
            OpenInterval::parse(&interval.start_time_of_day, &interval.end_time_of_day),
        );
        if let Some(parsed) = parsed {
            if intervals.last().is_some_and(|last| last.end > parsed.start) {
                v.add(field, "intervals must be in order and not overlap");
            }
            intervals.push(parsed);
        }
    }
    intervals
}

fn holidays(v: &mut FieldViolations, given: &[pb::Holiday]) -> Vec<Holiday> {
    if given.len() > 500 {
        v.add("business_calendar.holidays", "at most 500");
    }
    let mut holidays: Vec<Holiday> = Vec::new();
    for (i, h) in given.iter().enumerate() {
        let field = |f: &str| format!("business_calendar.holidays[{i}].{f}");
        let display_name = text(v, &field("display_name"), &h.display_name, 100);
        let Some(date) = date(v, &field("date"), &h.date) else {
            continue;
        };
        if holidays.iter().any(|x| x.date == date) {
            v.add(field("date"), "duplicate date");
        } else {
            holidays.push(Holiday { date, display_name });
        }
    }
    holidays
}

impl TryFrom<pb::CreateBusinessCalendarRequest> for Create<CalendarResource> {
    type Error = Error;

    fn try_from(r: pb::CreateBusinessCalendarRequest) -> Result<Self, Error> {
        let (patch, request_id) = create(
            r.business_calendar,
            "business_calendar",
            &r.request_id,
            |v, c| calendar_patch(v, c, CALENDAR_PATHS),
        )?;
        let now = now_micros();
        let mut calendar = CalendarResource {
            id: Uuid::now_v7(),
            display_name: String::new(),
            region: Region::default_region(),
            service_centre: None,
            time_zone: chrono_tz::UTC,
            weekly: Vec::new(),
            holidays: Vec::new(),
            version: 1,
            create_time: now,
            update_time: now,
        };
        patch.apply(&mut calendar);
        Ok(Self {
            resource: calendar,
            request_id,
        })
    }
}

impl TryFrom<pb::UpdateBusinessCalendarRequest> for Update<CalendarPatch> {
    type Error = Error;

    fn try_from(r: pb::UpdateBusinessCalendarRequest) -> Result<Self, Error> {
        update(
            r.business_calendar,
            "business_calendar",
            CALENDARS,
            |c| (&c.name, &c.etag),
            r.update_mask.as_ref(),
            CALENDAR_PATHS,
            calendar_patch,
        )
    }
}

/// A parsed ListBusinessCalendars.
#[derive(Debug, Clone)]
pub struct ListBusinessCalendars {
    /// The page.
    pub page: Page,
    /// Columns equal (`true`) or not to a value.
    pub equals: Vec<(&'static str, bool, String)>,
}

impl TryFrom<pb::ListBusinessCalendarsRequest> for ListBusinessCalendars {
    type Error = Error;

    fn try_from(r: pb::ListBusinessCalendarsRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let (page, filter) =
            page_and_filter(&mut v, r.page_size, &r.page_token, &r.filter, &[&r.filter]);
        let mut equals = Vec::new();
        for c in &filter.conditions {
            let column = match c.field.as_str() {
                "region" => "region",
                "service_centre" => "service_centre",
                "time_zone" => "time_zone",
                other => {
                    v.add("filter", format!("unknown field `{other}`"));
                    continue;
                }
            };
            let Some(op) = equality(&mut v, c) else {
                continue;
            };
            if let Some(value) = v.check("filter", c.value.quoted()) {
                equals.push((column, op == Comparison::Eq, value.to_owned()));
            }
        }
        finish(v, Some(Self { page, equals }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::parse::tests::{bad_fields, mask};
    use crate::domain::SlaTrigger;
    use pb::sla_escalation_rule::Action;

    fn minutes(n: i64) -> Option<prost_types::Duration> {
        Some(prost_types::Duration {
            seconds: n * 60,
            nanos: 0,
        })
    }

    fn good_policy() -> pb::SlaPolicy {
        pb::SlaPolicy {
            display_name: " VIP complaints ".into(),
            conditions: Some(pb::SlaPolicyConditions {
                kinds: vec![Kind::Complaint.rank()],
                customer_tiers: vec!["VIP".into()],
                regions: vec!["eu-west".into()],
                ..Default::default()
            }),
            first_response_target: minutes(30),
            resolution_target: minutes(600),
            escalation_rules: vec![pb::SlaEscalationRule {
                trigger: SlaTrigger::ResolutionBreached.rank(),
                action: Some(Action::EscalateLevel(pb::EscalateLevelAction {
                    level: 0,
                    team: "teams/leads".into(),
                })),
            }],
            ..Default::default()
        }
    }

    fn stored_policy(first: i64, resolution: i64) -> SlaPolicy {
        let mut policy = Create::<SlaPolicy>::try_from(pb::CreateSlaPolicyRequest {
            sla_policy: Some(pb::SlaPolicy {
                first_response_target: minutes(first),
                resolution_target: minutes(resolution),
                ..good_policy()
            }),
            request_id: String::new(),
        })
        .unwrap()
        .resource;
        policy.version = 4;
        policy
    }

    fn good_calendar() -> pb::BusinessCalendar {
        pb::BusinessCalendar {
            display_name: "Shanghai office".into(),
            region: "cn-east".into(),
            time_zone: "Asia/Shanghai".into(),
            weekly_hours: vec![pb::BusinessDayHours {
                weekday: Weekday::Monday.rank(),
                intervals: vec![pb::BusinessHoursInterval {
                    start_time_of_day: "09:00".into(),
                    end_time_of_day: "18:00".into(),
                }],
            }],
            holidays: vec![pb::Holiday {
                date: "2027-10-01".into(),
                display_name: "National Day".into(),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn names_must_be_of_their_collection_and_deletes_need_an_etag() {
        let policy = format!("slaPolicies/{}", Uuid::now_v7());
        let named = Named::try_from(pb::GetSlaPolicyRequest {
            name: policy.clone(),
        })
        .unwrap();
        assert_eq!(named.name, policy);
        let calendar_name = pb::GetBusinessCalendarRequest {
            name: policy.clone(),
        };
        assert_eq!(
            bad_fields(Named::try_from(calendar_name).unwrap_err()),
            ["name"]
        );
        let missing = pb::GetSlaPolicyRequest {
            name: String::new(),
        };
        assert_eq!(bad_fields(Named::try_from(missing).unwrap_err()), ["name"]);
        let fields = bad_fields(
            Delete::try_from(pb::DeleteBusinessCalendarRequest {
                name: "businessCalendars/1".into(),
                etag: String::new(),
            })
            .unwrap_err(),
        );
        assert_eq!(fields, ["name", "etag"]);
        let delete = Delete::try_from(pb::DeleteSlaPolicyRequest {
            name: policy.clone(),
            etag: "\"3\"".into(),
        })
        .unwrap();
        assert_eq!(delete.etag, 3);
        // An etag this service never issued is stale (re-read), not malformed.
        let garbage = Delete::try_from(pb::DeleteSlaPolicyRequest {
            name: policy,
            etag: "\"three\"".into(),
        })
        .unwrap();
        assert_eq!(garbage.etag, -1);
    }

    #[test]
    fn a_new_policy_is_version_one_with_every_field_parsed() {
        let create = Create::<SlaPolicy>::try_from(pb::CreateSlaPolicyRequest {
            sla_policy: Some(good_policy()),
            request_id: "0190A3C4-5B6D-7E8F-9A0B-1C2D3E4F5A6B".into(),
        })
        .unwrap();
        let p = create.resource;
        assert_eq!(p.display_name, "VIP complaints");
        assert_eq!(p.version, 1);
        assert_eq!(p.first_response_target, 30 * MINUTE);
        assert_eq!(p.resolution_target, 600 * MINUTE);
        assert_eq!(p.conditions.kinds, [Kind::Complaint]);
        assert_eq!(
            p.escalation_rules,
            [EscalationRule {
                trigger: SlaTrigger::ResolutionBreached,
                action: RuleAction::EscalateLevel(None, TeamName::parse("teams/leads").ok()),
            }]
        );
        assert_eq!(
            create.request_id.as_deref(),
            Some("0190a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b")
        );
    }

    #[test]
    fn a_policy_names_every_bad_field_at_once() {
        let error = Create::<SlaPolicy>::try_from(pb::CreateSlaPolicyRequest {
            sla_policy: Some(pb::SlaPolicy {
                display_name: "x".repeat(101),
                description: "d".repeat(2_001),
                rank: -1,
                conditions: Some(pb::SlaPolicyConditions {
                    kinds: vec![Kind::Complaint.rank(), Kind::Complaint.rank()],
                    priorities: vec![42],
                    customer_tiers: vec!["GOLD".into()],
                    regions: vec!["Not A Region".into()],
                    channels: Vec::new(),
                }),
                first_response_target: Some(prost_types::Duration {
                    seconds: 90,
                    nanos: 0,
                }),
                resolution_target: minutes(1),
                at_risk_threshold_percent: 100,
                business_calendar: "calendars/1".into(),
                escalation_rules: vec![
                    pb::SlaEscalationRule {
                        trigger: 99,
                        action: Some(Action::RaisePriority(pb::RaisePriorityAction {
                            priority: 42,
                        })),
                    },
                    pb::SlaEscalationRule {
                        trigger: SlaTrigger::FirstResponseAtRisk.rank(),
                        action: Some(Action::NotifyTeam(pb::NotifyTeamAction {
                            team: "Not A Team".into(),
                        })),
                    },
                    pb::SlaEscalationRule {
                        trigger: 0,
                        action: None,
                    },
                ],
                ..Default::default()
            }),
            request_id: "x".into(),
        })
        .unwrap_err();
        assert_eq!(
            bad_fields(error),
            [
                "sla_policy.display_name",
                "sla_policy.description",
                "sla_policy.rank",
                "sla_policy.conditions.customer_tiers[0]",
                "sla_policy.conditions.regions[0]",
                "sla_policy.conditions.kinds[1]",
                "sla_policy.conditions.priorities[0]",
                "sla_policy.first_response_target",
                "sla_policy.at_risk_threshold_percent",
                "sla_policy.business_calendar",
                "sla_policy.escalation_rules[0].trigger",
                "sla_policy.escalation_rules[0].raise_priority.priority",
                "sla_policy.escalation_rules[1].notify_team.team",
                "sla_policy.escalation_rules[2].trigger",
                "sla_policy.escalation_rules[2].action",
                "sla_policy.resolution_target",
                "request_id",
            ]
        );
        let missing = Create::<SlaPolicy>::try_from(pb::CreateSlaPolicyRequest::default());
        assert_eq!(bad_fields(missing.unwrap_err()), ["sla_policy"]);
    }

    #[test]
    fn an_update_parses_the_mask_only_and_keeps_targets_in_order() {
        let current = stored_policy(60, 120);
        let update = Update::<PolicyPatch>::try_from(pb::UpdateSlaPolicyRequest {
            sla_policy: Some(pb::SlaPolicy {
                name: current.name(),
                etag: "\"4\"".into(),
                display_name: String::new(),
                rank: 7,
                resolution_target: minutes(30),
                ..Default::default()
            }),
            update_mask: mask(&["rank", "resolution_target"]),
        })
        .unwrap();
        assert_eq!(update.target.id, current.id);
        assert_eq!(update.etag, 4);
        assert_eq!(update.patch.rank, Some(7));
        assert_eq!(update.patch.display_name, None);
        // Below the stored first-response target: refused when applied.
        let mut policy = current.clone();
        let error = update.patch.apply(&mut policy).unwrap_err();
        assert_eq!(bad_fields(error), ["sla_policy.resolution_target"]);
        let fields = bad_fields(
            Update::<PolicyPatch>::try_from(pb::UpdateSlaPolicyRequest {
                sla_policy: Some(pb::SlaPolicy {
                    name: "slaPolicies/x".into(),
                    display_name: "y".repeat(101),
                    ..Default::default()
                }),
                update_mask: mask(&["display_name", "etag"]),
            })
            .unwrap_err(),
        );
        assert_eq!(
            fields,
            [
                "sla_policy.name",
                "sla_policy.etag",
                "update_mask",
                "sla_policy.display_name"
            ]
        );
    }

    #[test]
    fn policy_filters_take_equality_on_known_fields() {
        let fields = bad_fields(
            ListSlaPolicies::try_from(pb::ListSlaPoliciesRequest {
                page_size: -1,
                filter: "kind = NOPE AND colour = RED AND disabled > false AND disabled = maybe"
                    .into(),
                ..Default::default()
            })
            .unwrap_err(),
        );
        assert_eq!(
            fields,
            ["page_size", "filter", "filter", "filter", "filter"]
        );
        let list = ListSlaPolicies::try_from(pb::ListSlaPoliciesRequest {
            filter: "kind = COMPLAINT AND disabled = false AND region != \"us-east\"".into(),
            ..Default::default()
        })
        .unwrap();
        let mut policy = stored_policy(60, 120);
        assert!(list.selects(&policy));
        policy.disabled = true;
        assert!(!list.selects(&policy));
    }

    #[test]
    fn a_calendar_names_every_bad_field_at_once() {
        let error = Create::<CalendarResource>::try_from(pb::CreateBusinessCalendarRequest {
            business_calendar: Some(pb::BusinessCalendar {
                display_name: "c".repeat(101),
                region: "Shanghai".into(),
                service_centre: "Centre 1".into(),
                time_zone: "Mars/Olympus".into(),
                weekly_hours: vec![
                    pb::BusinessDayHours {
                        weekday: 0,
                        intervals: Vec::new(),
                    },
                    pb::BusinessDayHours {
                        weekday: Weekday::Monday.rank(),
                        intervals: vec![
                            pb::BusinessHoursInterval {
                                start_time_of_day: "13:00".into(),
                                end_time_of_day: "18:00".into(),
                            },
                            pb::BusinessHoursInterval {
                                start_time_of_day: "09:00".into(),
                                end_time_of_day: "12:00".into(),
                            },
                        ],
                    },
                    pb::BusinessDayHours {
                        weekday: Weekday::Monday.rank(),
                        intervals: Vec::new(),
                    },
                ],
                holidays: vec![
                    pb::Holiday {
                        date: "2027-13-01".into(),
                        display_name: "h".repeat(101),
                    },
                    pb::Holiday {
                        date: "2027-10-01".into(),
                        display_name: String::new(),
                    },
                    pb::Holiday {
                        date: "2027-10-01".into(),
                        display_name: String::new(),
                    },
                ],
                ..Default::default()
            }),
            request_id: "again".into(),
        })
        .unwrap_err();
        assert_eq!(
            bad_fields(error),
            [
                "business_calendar.display_name",
                "business_calendar.region",
                "business_calendar.service_centre",
                "business_calendar.time_zone",
                "business_calendar.weekly_hours[0].weekday",
                "business_calendar.weekly_hours[1].intervals[1]",
                "business_calendar.weekly_hours[2].weekday",
                "business_calendar.weekly_hours[2].intervals",
                "business_calendar.holidays[0].display_name",
                "business_calendar.holidays[0].date",
                "business_calendar.holidays[2].date",
                "request_id",
            ]
        );
        let missing =
            Create::<CalendarResource>::try_from(pb::CreateBusinessCalendarRequest::default());
        assert_eq!(bad_fields(missing.unwrap_err()), ["business_calendar"]);
    }

    #[test]
    fn a_new_calendar_is_version_one_and_an_update_sets_the_mask_only() {
        let calendar = Create::<CalendarResource>::try_from(pb::CreateBusinessCalendarRequest {
            business_calendar: Some(good_calendar()),
            request_id: String::new(),
        })
        .unwrap()
        .resource;
        assert_eq!(calendar.version, 1);
        assert_eq!(calendar.time_zone, chrono_tz::Asia::Shanghai);
        assert_eq!(calendar.service_centre, None);
        assert_eq!(calendar.weekly.len(), 1);
        assert_eq!(calendar.holidays.len(), 1);
        let update = Update::<CalendarPatch>::try_from(pb::UpdateBusinessCalendarRequest {
            business_calendar: Some(pb::BusinessCalendar {
                name: calendar.name(),
                etag: "\"1\"".into(),
                time_zone: "Europe/Berlin".into(),
                region: "Not A Region".into(),
                ..Default::default()
            }),
            update_mask: mask(&["time_zone"]),
        })
        .unwrap();
        let mut updated = calendar.clone();
        update.patch.apply(&mut updated);
        assert_eq!(updated.time_zone, chrono_tz::Europe::Berlin);
        assert_eq!(updated.region, calendar.region);
        let fields = bad_fields(
            Update::<CalendarPatch>::try_from(pb::UpdateBusinessCalendarRequest {
                business_calendar: Some(pb::BusinessCalendar {
                    name: calendar.name(),
                    ..Default::default()
                }),
                update_mask: None,
            })
            .unwrap_err(),
        );
        assert_eq!(fields, ["business_calendar.etag", "update_mask"]);
    }

    #[test]
    fn calendar_filters_take_quoted_equality_on_known_fields() {
        let fields = bad_fields(
            ListBusinessCalendars::try_from(pb::ListBusinessCalendarsRequest {
                filter: "colour = \"red\" AND region > \"a\" AND time_zone = UTC".into(),
                ..Default::default()
            })
            .unwrap_err(),
        );
        assert_eq!(fields, ["filter", "filter", "filter"]);
        let list = ListBusinessCalendars::try_from(pb::ListBusinessCalendarsRequest {
            filter: "region = \"cn-east\" AND service_centre != \"sh-1\"".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            list.equals,
            [
                ("region", true, "cn-east".to_owned()),
                ("service_centre", false, "sh-1".to_owned())
            ]
        );
    }
}

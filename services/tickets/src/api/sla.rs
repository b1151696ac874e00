//! `SlaService`: SLA policies and business calendars. Reading is open to staff (and other
//! services); writing needs the admin role.

use std::collections::BTreeSet;

use aftercare_platform::auth::{Principal, Role};
use aftercare_platform::db::Database;
use aftercare_platform::error::FieldViolations;
use aftercare_platform::request::{
    Etag, Page, optional_text, request_id, required_text, resource_id, update_paths,
};
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::tickets::v1 as pb;
use chrono::NaiveDate;
use tonic::{Request, Response};
use uuid::Uuid;

use super::{Api, Reply};
use crate::convert;
use crate::domain::{
    CalendarResource, Channel, Conditions, DAY, EscalationLevel, EscalationRule, Filter, Holiday,
    Kind, MINUTE, OpenInterval, PageToken, Priority, Region, RuleAction, ServiceCentre, SlaPolicy,
    SlaTrigger, TeamName, Weekday, WireEnum,
};
use crate::error::{Error, Result};
use crate::store::{self, CalendarCreated};

const POLICY: &str = "aftercare.tickets.v1.SlaPolicy";
const CALENDAR: &str = "aftercare.tickets.v1.BusinessCalendar";
const TIERS: &[&str] = &["STANDARD", "POTENTIAL", "PREMIUM", "VIP"];

impl Api {
    /// The caller, if they may read (or with `write`, change) SLA policies and calendars.
    fn authorise_sla<T>(&self, request: &Request<T>, write: bool) -> Result<Principal> {
        let principal = self
            .principals
            .verify(request.metadata(), "tickets")
            .map_err(Error::Unauthenticated)?;
        let allowed = if write {
            principal.has_any_role(&[Role::Admin, Role::Service])
        } else {
            principal.is_staff() || principal.has_role(Role::Service)
        };
        if !allowed {
            return Err(Error::PermissionDenied(if write {
                "only admins change SLA policies and calendars".into()
            } else {
                "only staff read SLA policies and calendars".into()
            }));
        }
        Ok(principal)
    }
}

fn parse_id(field: &str, name: &str, collection: &str) -> Result<Uuid> {
    let mut v = FieldViolations::new();
    resource_id(&mut v, field, name, collection).ok_or(Error::Invalid(v))
}

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

fn team(v: &mut FieldViolations, field: &str, value: &str) -> Option<TeamName> {
    (!value.is_empty())
        .then(|| v.check(field, TeamName::parse(value)))
        .flatten()
}

/// The fields of a policy, checked; `version` and times are the caller's.
fn policy_fields(v: &mut FieldViolations, p: &pb::SlaPolicy, into: &mut SlaPolicy, paths: &[&str]) {
    let has = |path: &str| paths.contains(&path);
    if has("display_name") {
        into.display_name =
            required_text(v, "sla_policy.display_name", &p.display_name, 100).unwrap_or_default();
    }
    if has("description") {
        into.description =
            optional_text(v, "sla_policy.description", &p.description, 2_000).unwrap_or_default();
    }
    if has("rank") {
        if !(0..=1_000_000).contains(&p.rank) {
            v.add("sla_policy.rank", "must be 0 to 1,000,000");
        }
        into.rank = p.rank;
    }
    if has("disabled") {
        into.disabled = p.disabled;
    }
    if has("conditions") {
        let c = p.conditions.clone().unwrap_or_default();
        let tiers: Vec<String> = c.customer_tiers.clone();
        for (i, tier) in tiers.iter().enumerate() {
            if !TIERS.contains(&tier.as_str()) {
                v.add(
                    format!("sla_policy.conditions.customer_tiers[{i}]"),
                    "must be STANDARD, POTENTIAL, PREMIUM or VIP",
                );
            }
        }
        if tiers.len() > 20 || tiers.iter().collect::<BTreeSet<_>>().len() != tiers.len() {
            v.add(
                "sla_policy.conditions.customer_tiers",
                "at most 20, distinct",
            );
        }
        if c.regions.len() > 50 {
            v.add("sla_policy.conditions.regions", "at most 50");
        }
        for (i, region) in c.regions.iter().enumerate() {
            v.check(
                &format!("sla_policy.conditions.regions[{i}]"),
                Region::parse(region),
            );
        }
        into.conditions = Conditions {
            kinds: enums::<Kind>(v, "sla_policy.conditions.kinds", &c.kinds),
            priorities: enums::<Priority>(v, "sla_policy.conditions.priorities", &c.priorities),
            customer_tiers: tiers,
            regions: c.regions,
            channels: enums::<Channel>(v, "sla_policy.conditions.channels", &c.channels),
        };
    }
    if has("first_response_target") {
        into.first_response_target = target(
            v,
            "sla_policy.first_response_target",
            p.first_response_target.as_ref(),
            90,
        );
    }
    if has("resolution_target") {
        into.resolution_target = target(
            v,
            "sla_policy.resolution_target",
            p.resolution_target.as_ref(),
            365,
        );
    }
    if into.resolution_target < into.first_response_target {
        v.add(
            "sla_policy.resolution_target",
            "must be at least first_response_target",
        );
    }
    if has("at_risk_threshold_percent") {
        if !(0..=99).contains(&p.at_risk_threshold_percent) {
            v.add(
                "sla_policy.at_risk_threshold_percent",
                "must be 1 to 99 (0: the default, 80)",
            );
        }
        into.at_risk_percent = p.at_risk_threshold_percent.clamp(0, 99) as u32;
    }
    if has("business_calendar") {
        into.business_calendar =
            (!p.business_calendar.is_empty()).then(|| p.business_calendar.clone());
        if let Some(name) = &into.business_calendar
            && parse_id("sla_policy.business_calendar", name, "businessCalendars").is_err()
        {
            v.add(
                "sla_policy.business_calendar",
                "must be `businessCalendars/{uuid}`",
            );
        }
    }
    if has("escalation_rules") {
        if p.escalation_rules.len() > 20 {
            v.add("sla_policy.escalation_rules", "at most 20 rules");
        }
        into.escalation_rules = p
            .escalation_rules
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let field = |f: &str| format!("sla_policy.escalation_rules[{i}].{f}");
                let trigger = SlaTrigger::from_rank(r.trigger);
                if trigger.is_none() {
                    v.add(field("trigger"), "is required");
                }
                use pb::sla_escalation_rule::Action;
                let action = match &r.action {
                    Some(Action::RaisePriority(a)) => {
                        let p = (a.priority != 0)
                            .then(|| Priority::from_rank(a.priority))
                            .flatten();
                        if a.priority != 0 && p.is_none() {
                            v.add(field("raise_priority.priority"), "unknown value");
                        }
                        Some(RuleAction::RaisePriority(p))
                    }
                    Some(Action::EscalateLevel(a)) => {
                        let l = (a.level != 0)
                            .then(|| EscalationLevel::from_rank(a.level))
                            .flatten();
                        if a.level != 0 && l.is_none() {
                            v.add(field("escalate_level.level"), "unknown value");
                        }
                        Some(RuleAction::EscalateLevel(
                            l,
                            team(v, &field("escalate_level.team"), &a.team),
                        ))
                    }
                    Some(Action::NotifyTeam(a)) => Some(RuleAction::NotifyTeam(team(
                        v,
                        &field("notify_team.team"),
                        &a.team,
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
            })
            .collect();
    }
}

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

/// The fields of a calendar, checked.
fn calendar_fields(
    v: &mut FieldViolations,
    c: &pb::BusinessCalendar,
    into: &mut CalendarResource,
    paths: &[&str],
) {
    let has = |path: &str| paths.contains(&path);
    if has("display_name") {
        into.display_name =
            required_text(v, "business_calendar.display_name", &c.display_name, 100)
                .unwrap_or_default();
    }
    if has("region")
        && let Some(region) = v.check("business_calendar.region", Region::parse(&c.region))
    {
        into.region = region;
    }
    if has("service_centre") {
        into.service_centre = (!c.service_centre.is_empty())
            .then(|| {
                v.check(
                    "business_calendar.service_centre",
                    ServiceCentre::parse(&c.service_centre),
                )
            })
            .flatten();
    }
    if has("time_zone") {
        match c.time_zone.parse::<chrono_tz::Tz>() {
            Ok(zone) => into.time_zone = zone,
            Err(_) => v.add(
                "business_calendar.time_zone",
                "must be an IANA time zone such as Asia/Shanghai",
            ),
        }
    }
    if has("weekly_hours") {
        if c.weekly_hours.is_empty() {
            v.add(
                "business_calendar.weekly_hours",
                "give the hours of at least one weekday",
            );
        }
        let mut days = Vec::new();
        for (i, day) in c.weekly_hours.iter().enumerate() {
            let field = format!("business_calendar.weekly_hours[{i}]");
            let Some(weekday) = Weekday::from_rank(day.weekday) else {
                v.add(format!("{field}.weekday"), "is required");
                continue;
            };
            if days.iter().any(|(d, _)| *d == weekday) {
                v.add(format!("{field}.weekday"), "at most one entry per weekday");
            }
            if !(1..=8).contains(&day.intervals.len()) {
                v.add(format!("{field}.intervals"), "give 1 to 8 intervals");
            }
            let mut intervals: Vec<OpenInterval> = Vec::new();
            for (j, interval) in day.intervals.iter().enumerate() {
                let parsed = v.check(
                    &format!("{field}.intervals[{j}]"),
                    OpenInterval::parse(&interval.start_time_of_day, &interval.end_time_of_day),
                );
                if let Some(parsed) = parsed {
                    if intervals.last().is_some_and(|last| last.end > parsed.start) {
                        v.add(
                            format!("{field}.intervals[{j}]"),
                            "intervals must be in order and not overlap",
                        );
                    }
                    intervals.push(parsed);
                }
            }
            days.push((weekday, intervals));
        }
        into.weekly = days;
    }
    if has("holidays") {
        if c.holidays.len() > 500 {
            v.add("business_calendar.holidays", "at most 500");
        }
        let mut holidays: Vec<Holiday> = Vec::new();
        for (i, h) in c.holidays.iter().enumerate() {
            let field = format!("business_calendar.holidays[{i}]");
            match NaiveDate::parse_from_str(&h.date, "%Y-%m-%d") {
                Ok(date) if holidays.iter().any(|x| x.date == date) => {
                    v.add(format!("{field}.date"), "duplicate date");
                }
                Ok(date) => holidays.push(Holiday {
                    date,
                    display_name: optional_text(
                        v,
                        &format!("{field}.display_name"),
                        &h.display_name,
                        100,
                    )
                    .unwrap_or_default(),
                }),
                Err(_) => v.add(format!("{field}.date"), "must be YYYY-MM-DD"),
            }
        }
        into.holidays = holidays;
    }
}

const CALENDAR_PATHS: &[&str] = &[
    "display_name",
    "region",
    "service_centre",
    "time_zone",
    "weekly_hours",
    "holidays",
];

async fn check_calendar_exists(db: &Database, policy: &SlaPolicy) -> Result<()> {
    if let Some(name) = &policy.business_calendar {
        let id = parse_id("sla_policy.business_calendar", name, "businessCalendars")?;
        if store::get_calendar(db, id).await?.is_none() {
            return Err(Error::invalid(
                "sla_policy.business_calendar",
                "names no calendar",
            ));
        }
    }
    Ok(())
}

fn etag_version(field: &str, etag: &str, current: i64, name: &str) -> Result<i64> {
    let mut v = FieldViolations::new();
    match Etag::parse(&mut v, field, etag) {
        None => Err(Error::Invalid(v)),
        Some(version) if version == current => Ok(current),
        Some(_) => Err(Error::StaleEtag(name.to_owned())),
    }
}

#[tracing::instrument(skip_all)]
pub(super) async fn create_sla_policy(
    api: &Api,
    request: Request<pb::CreateSlaPolicyRequest>,
) -> Reply<pb::CreateSlaPolicyResponse> {
    api.authorise_sla(&request, true)?;
    let r = request.into_inner();
    let mut v = FieldViolations::new();
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
    let Some(given) = r.sla_policy else {
        return Err(Error::invalid("sla_policy", "is required").into());
    };
    policy_fields(&mut v, &given, &mut policy, POLICY_PATHS);
    let request_id = request_id(&mut v, "request_id", &r.request_id);
    if !v.is_empty() {
        return Err(Error::Invalid(v).into());
    }
    check_calendar_exists(&api.db, &policy).await?;
    let policy = store::create_policy(&api.db, &policy, request_id.as_deref()).await?;
    Ok(Response::new(pb::CreateSlaPolicyResponse {
        sla_policy: Some(convert::sla_policy(&policy)),
    }))
}

#[tracing::instrument(skip_all, fields(policy = %request.get_ref().name))]
pub(super) async fn get_sla_policy(
    api: &Api,
    request: Request<pb::GetSlaPolicyRequest>,
) -> Reply<pb::GetSlaPolicyResponse> {
    api.authorise_sla(&request, false)?;
    let name = request.into_inner().name;
    let id = parse_id("name", &name, "slaPolicies")?;
    let policy = store::get_policy(&api.db, id)
        .await?
        .ok_or(Error::NotFound {
            resource_type: POLICY,
            name,
        })?;
    Ok(Response::new(pb::GetSlaPolicyResponse {
        sla_policy: Some(convert::sla_policy(&policy)),
    }))
}

/// One condition of a policy filter.
type PolicyTest = Box<dyn Fn(&SlaPolicy) -> bool + Send>;

#[tracing::instrument(skip_all, fields(filter = %request.get_ref().filter))]
pub(super) async fn list_sla_policies(
    api: &Api,
    request: Request<pb::ListSlaPoliciesRequest>,
) -> Reply<pb::ListSlaPoliciesResponse> {
    api.authorise_sla(&request, false)?;
    let r = request.into_inner();
    let mut v = FieldViolations::new();
    let page = Page::parse(&mut v, r.page_size, &r.page_token, &[&r.filter]);
    let filter = v
        .check("filter", Filter::parse(&r.filter))
        .unwrap_or_default();
    let mut keep: Vec<PolicyTest> = Vec::new();
    for c in &filter.conditions {
        let text = c.value.text().to_owned();
        let eq = c.op == crate::domain::Comparison::Eq;
        if !c.op.is_equality() {
            v.add("filter", format!("`{}` accepts = and != only", c.field));
            continue;
        }
        let test: Box<dyn Fn(&SlaPolicy) -> bool + Send> = match c.field.as_str() {
            "disabled" => match c.value.boolean() {
                Ok(b) => Box::new(move |p| p.disabled == b),
                Err(e) => {
                    v.add("filter", e);
                    continue;
                }
            },
            "kind" => match Kind::parse(&text) {
                Some(k) => Box::new(move |p| {
                    p.conditions.kinds.is_empty() || p.conditions.kinds.contains(&k)
                }),
                None => {
                    v.add("filter", format!("`{text}` is not a kind"));
                    continue;
                }
            },
            "priority" => match Priority::parse(&text) {
                Some(k) => Box::new(move |p| {
                    p.conditions.priorities.is_empty() || p.conditions.priorities.contains(&k)
                }),
                None => {
                    v.add("filter", format!("`{text}` is not a priority"));
                    continue;
                }
            },
            "customer_tier" => Box::new(move |p| {
                p.conditions.customer_tiers.is_empty()
                    || p.conditions.customer_tiers.contains(&text)
            }),
            "region" => Box::new(move |p| {
                p.conditions.regions.is_empty() || p.conditions.regions.contains(&text)
            }),
            "business_calendar" => {
                Box::new(move |p| p.business_calendar.as_deref() == Some(text.as_str()))
            }
            other => {
                v.add("filter", format!("unknown field `{other}`"));
                continue;
            }
        };
        keep.push(if eq {
            test
        } else {
            Box::new(move |p| !test(p))
        });
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v).into());
    }
    let mut policies: Vec<SlaPolicy> = store::all_policies(&api.db)
        .await?
        .into_iter()
        .filter(|p| keep.iter().all(|k| k(p)))
        .filter(|p| {
            page.after.as_ref().is_none_or(|t| {
                (i64::from(p.rank), p.id.to_string())
                    > (t.int_key().unwrap_or_default(), t.id.clone())
            })
        })
        .take(page.size as usize + 1)
        .collect();
    let next_page_token = page.finish(&mut policies, |p| {
        PageToken::int(i64::from(p.rank), p.id.to_string())
    });
    Ok(Response::new(pb::ListSlaPoliciesResponse {
        sla_policies: policies.iter().map(convert::sla_policy).collect(),
        next_page_token,
    }))
}

#[tracing::instrument(skip_all)]
pub(super) async fn update_sla_policy(
    api: &Api,
    request: Request<pb::UpdateSlaPolicyRequest>,
) -> Reply<pb::UpdateSlaPolicyResponse> {
    api.authorise_sla(&request, true)?;
    let r = request.into_inner();
    let Some(given) = r.sla_policy else {
        return Err(Error::invalid("sla_policy", "is required").into());
    };
    let id = parse_id("sla_policy.name", &given.name, "slaPolicies")?;
    let mut policy = store::get_policy(&api.db, id)
        .await?
        .ok_or_else(|| Error::NotFound {
            resource_type: POLICY,
            name: given.name.clone(),
        })?;
    etag_version(
        "sla_policy.etag",
        &given.etag,
        policy.version,
        &policy.name(),
    )?;
    let mut v = FieldViolations::new();
    let paths = update_paths(&mut v, r.update_mask.as_ref(), POLICY_PATHS);
    policy_fields(&mut v, &given, &mut policy, &paths);
    if !v.is_empty() {
        return Err(Error::Invalid(v).into());
    }
    check_calendar_exists(&api.db, &policy).await?;
    policy.update_time = now_micros();
    let policy = store::update_policy(&api.db, policy).await?;
    Ok(Response::new(pb::UpdateSlaPolicyResponse {
        sla_policy: Some(convert::sla_policy(&policy)),
    }))
}

#[tracing::instrument(skip_all, fields(policy = %request.get_ref().name))]
pub(super) async fn delete_sla_policy(
    api: &Api,
    request: Request<pb::DeleteSlaPolicyRequest>,
) -> Reply<pb::DeleteSlaPolicyResponse> {
    api.authorise_sla(&request, true)?;
    let r = request.into_inner();
    let id = parse_id("name", &r.name, "slaPolicies")?;
    let policy = store::get_policy(&api.db, id)
        .await?
        .ok_or_else(|| Error::NotFound {
            resource_type: POLICY,
            name: r.name.clone(),
        })?;
    let version = etag_version("etag", &r.etag, policy.version, &r.name)?;
    if !store::delete_policy(&api.db, id, version).await? {
        return Err(Error::StaleEtag(r.name).into());
    }
    Ok(Response::new(pb::DeleteSlaPolicyResponse {}))
}

#[tracing::instrument(skip_all)]
pub(super) async fn create_business_calendar(
    api: &Api,
    request: Request<pb::CreateBusinessCalendarRequest>,
) -> Reply<pb::CreateBusinessCalendarResponse> {
    api.authorise_sla(&request, true)?;
    let r = request.into_inner();
    let Some(given) = r.business_calendar else {
        return Err(Error::invalid("business_calendar", "is required").into());
    };
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
    let mut v = FieldViolations::new();
    calendar_fields(&mut v, &given, &mut calendar, CALENDAR_PATHS);
    let request_id = request_id(&mut v, "request_id", &r.request_id);
    if !v.is_empty() {
        return Err(Error::Invalid(v).into());
    }
    match store::create_calendar(&api.db, &calendar, request_id.as_deref()).await? {
        CalendarCreated::Made(calendar) => Ok(Response::new(pb::CreateBusinessCalendarResponse {
            business_calendar: Some(convert::business_calendar(&calendar)),
        })),
        CalendarCreated::Taken => Err(Error::AlreadyExists {
            resource_type: CALENDAR,
            name: format!(
                "{}/{}",
                calendar.region,
                calendar
                    .service_centre
                    .map(String::from)
                    .unwrap_or_default()
            ),
            description: "the region and service centre already have a calendar".into(),
        }
        .into()),
    }
}

#[tracing::instrument(skip_all, fields(calendar = %request.get_ref().name))]
pub(super) async fn get_business_calendar(
    api: &Api,
    request: Request<pb::GetBusinessCalendarRequest>,
) -> Reply<pb::GetBusinessCalendarResponse> {
    api.authorise_sla(&request, false)?;
    let name = request.into_inner().name;
    let id = parse_id("name", &name, "businessCalendars")?;
    let calendar = store::get_calendar(&api.db, id)
        .await?
        .ok_or(Error::NotFound {
            resource_type: CALENDAR,
            name,
        })?;
    Ok(Response::new(pb::GetBusinessCalendarResponse {
        business_calendar: Some(convert::business_calendar(&calendar)),
    }))
}

#[tracing::instrument(skip_all, fields(filter = %request.get_ref().filter))]
pub(super) async fn list_business_calendars(
    api: &Api,
    request: Request<pb::ListBusinessCalendarsRequest>,
) -> Reply<pb::ListBusinessCalendarsResponse> {
    api.authorise_sla(&request, false)?;
    let r = request.into_inner();
    let mut v = FieldViolations::new();
    let page = Page::parse(&mut v, r.page_size, &r.page_token, &[&r.filter]);
    let filter = v
        .check("filter", Filter::parse(&r.filter))
        .unwrap_or_default();
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
        match (c.op.is_equality(), c.value.quoted()) {
            (true, Ok(value)) => equals.push((
                column,
                c.op == crate::domain::Comparison::Eq,
                value.to_owned(),
            )),
            (false, _) => v.add("filter", format!("`{}` accepts = and != only", c.field)),
            (_, Err(e)) => v.add("filter", e),
        }
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v).into());
    }
    let mut calendars =
        store::list_calendars(&api.db, &equals, page.after.as_ref(), page.size).await?;
    let next_page_token = page.finish(&mut calendars, |c| PageToken::int(0, c.id.to_string()));
    Ok(Response::new(pb::ListBusinessCalendarsResponse {
        business_calendars: calendars.iter().map(convert::business_calendar).collect(),
        next_page_token,
    }))
}

#[tracing::instrument(skip_all)]
pub(super) async fn update_business_calendar(
    api: &Api,
    request: Request<pb::UpdateBusinessCalendarRequest>,
) -> Reply<pb::UpdateBusinessCalendarResponse> {
    api.authorise_sla(&request, true)?;
    let r = request.into_inner();
    let Some(given) = r.business_calendar else {
        return Err(Error::invalid("business_calendar", "is required").into());
    };
    let id = parse_id("business_calendar.name", &given.name, "businessCalendars")?;
    let mut calendar = store::get_calendar(&api.db, id)
        .await?
        .ok_or_else(|| Error::NotFound {
            resource_type: CALENDAR,
            name: given.name.clone(),
        })?;
    etag_version(
        "business_calendar.etag",
        &given.etag,
        calendar.version,
        &calendar.name(),
    )?;
    let mut v = FieldViolations::new();
    let paths = update_paths(&mut v, r.update_mask.as_ref(), CALENDAR_PATHS);
    calendar_fields(&mut v, &given, &mut calendar, &paths);
    if !v.is_empty() {
        return Err(Error::Invalid(v).into());
    }
    calendar.update_time = now_micros();
    let name = calendar.name();
    let calendar = store::update_calendar(&api.db, calendar)
        .await?
        .ok_or_else(|| Error::AlreadyExists {
            resource_type: CALENDAR,
            name,
            description: "the region and service centre already have a calendar".into(),
        })?;
    Ok(Response::new(pb::UpdateBusinessCalendarResponse {
        business_calendar: Some(convert::business_calendar(&calendar)),
    }))
}

#[tracing::instrument(skip_all, fields(calendar = %request.get_ref().name))]
pub(super) async fn delete_business_calendar(
    api: &Api,
    request: Request<pb::DeleteBusinessCalendarRequest>,
) -> Reply<pb::DeleteBusinessCalendarResponse> {
    api.authorise_sla(&request, true)?;
    let r = request.into_inner();
    let id = parse_id("name", &r.name, "businessCalendars")?;
    let calendar = store::get_calendar(&api.db, id)
        .await?
        .ok_or_else(|| Error::NotFound {
            resource_type: CALENDAR,
            name: r.name.clone(),
        })?;
    let version = etag_version("etag", &r.etag, calendar.version, &r.name)?;
    if store::calendar_in_use(&api.db, &r.name).await? {
        return Err(Error::FailedPrecondition {
            violation: "IN_USE",
            subject: r.name,
            description: "an SLA policy names this calendar".into(),
        }
        .into());
    }
    if !store::delete_calendar(&api.db, id, version).await? {
        return Err(Error::StaleEtag(r.name).into());
    }
    Ok(Response::new(pb::DeleteBusinessCalendarResponse {}))
}

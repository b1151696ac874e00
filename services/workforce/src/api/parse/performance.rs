//! Performance and recognition requests.

use aftercare_platform::request::{
    FieldViolations, Page, optional_text, required_enum, required_text, resource_id,
};
use aftercare_platform::time::{from_timestamp, now_micros};
use aftercare_proto::aftercare::common::v1::Interval as PbInterval;
use aftercare_proto::aftercare::workforce::v1 as pb;
use uuid::Uuid;

use super::{
    Idempotency, enum_word, equality, filter, idempotency, number, page, quoted_id, quoted_text,
    role_word,
};
use crate::domain::agent::StaffRole;
use crate::domain::performance::Interval;
use crate::error::{Error, finish};
use crate::store::RecognitionFilter;

const DAY: i64 = 86_400_000_000;

/// A time range `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// Start.
    pub start: i64,
    /// End.
    pub end: i64,
}

fn range(
    v: &mut FieldViolations,
    start: Option<&prost_types::Timestamp>,
    end: Option<&prost_types::Timestamp>,
) -> Range {
    let end = match end {
        Some(t) => from_timestamp(t).unwrap_or_else(|| {
            v.add("end_time", "is not a valid time");
            now_micros()
        }),
        None => now_micros(),
    };
    let start = match start {
        Some(t) => from_timestamp(t).unwrap_or_else(|| {
            v.add("start_time", "is not a valid time");
            end - 30 * DAY
        }),
        None => end - 30 * DAY,
    };
    if start >= end {
        v.add("start_time", "must be before end_time");
    } else if end - start > 366 * DAY {
        v.add("start_time", "the range is at most 366 days");
    }
    Range { start, end }
}

fn interval(v: &mut FieldViolations, n: i32) -> Option<Interval> {
    number::<PbInterval>(v, "interval", n).and_then(|i| Interval::from_number(i as i64))
}

/// `GetAgentPerformance` / `GetTeamPerformance`.
#[derive(Debug, Clone, Copy)]
pub struct Performance {
    /// The agent or team.
    pub id: Uuid,
    /// The range.
    pub range: Range,
    /// Buckets.
    pub interval: Option<Interval>,
}

impl TryFrom<pb::GetAgentPerformanceRequest> for Performance {
    type Error = Error;
    fn try_from(r: pb::GetAgentPerformanceRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let id = resource_id(&mut v, "agent", &r.agent, "agents");
        let range = range(&mut v, r.start_time.as_ref(), r.end_time.as_ref());
        let interval = interval(&mut v, r.interval);
        finish(v)?;
        Ok(Self {
            id: id.unwrap_or_default(),
            range,
            interval,
        })
    }
}

impl TryFrom<pb::GetTeamPerformanceRequest> for Performance {
    type Error = Error;
    fn try_from(r: pb::GetTeamPerformanceRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let id = resource_id(&mut v, "team", &r.team, "teams");
        let range = range(&mut v, r.start_time.as_ref(), r.end_time.as_ref());
        let interval = interval(&mut v, r.interval);
        finish(v)?;
        Ok(Self {
            id: id.unwrap_or_default(),
            range,
            interval,
        })
    }
}

/// What scorecards are sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreOrder {
    /// Composite score.
    Score,
    /// CSAT.
    Csat,
    /// SLA compliance.
    Sla,
    /// Resolution rate.
    ResolutionRate,
    /// Tickets resolved.
    Resolved,
    /// First response mean.
    FirstResponse,
}

/// `ListScorecards`.
#[derive(Debug)]
pub struct ListScorecards {
    /// The range.
    pub range: Range,
    /// Team.
    pub team: Option<Uuid>,
    /// Region.
    pub region: Option<String>,
    /// Centre.
    pub service_centre: Option<String>,
    /// Role.
    pub role: Option<StaffRole>,
    /// Order.
    pub order: ScoreOrder,
    /// Descending.
    pub descending: bool,
    /// Page.
    pub page: Page,
}

impl TryFrom<pb::ListScorecardsRequest> for ListScorecards {
    type Error = Error;
    fn try_from(r: pb::ListScorecardsRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let range = range(&mut v, r.start_time.as_ref(), r.end_time.as_ref());
        let bound = format!("{}:{}", range.start, range.end);
        let page = page(
            &mut v,
            r.page_size,
            &r.page_token,
            &[&r.filter, &r.order_by, &bound],
        );
        let mut q = ListScorecards {
            range,
            team: None,
            region: None,
            service_centre: None,
            role: None,
            order: ScoreOrder::Score,
            descending: true,
            page,
        };
        for c in filter(&mut v, &r.filter).conditions {
            let field = c.field.as_str();
            if !matches!(field, "team" | "region" | "service_centre" | "role") {
                v.add(
                    "filter",
                    format!(
                        "unknown field `{field}`; accepted: team, region, service_centre, role"
                    ),
                );
                continue;
            }
            if !equality(&mut v, field, c.op) {
                continue;
            }
            match field {
                "team" => q.team = quoted_id(&mut v, field, &c.value, "teams"),
                "region" => q.region = quoted_text(&mut v, field, &c.value),
                "service_centre" => q.service_centre = quoted_text(&mut v, field, &c.value),
                _ => q.role = enum_word(&mut v, field, c.value.text(), role_word),
            }
        }
        let order = r.order_by.trim();
        if !order.is_empty() {
            let mut words = order.split_whitespace();
            let key = words.next().unwrap_or_default();
            let direction = words.next();
            q.order = match key {
                "score" => ScoreOrder::Score,
                "csat_average" => ScoreOrder::Csat,
                "sla_compliance_rate" => ScoreOrder::Sla,
                "resolution_rate" => ScoreOrder::ResolutionRate,
                "tickets_resolved" => ScoreOrder::Resolved,
                "first_response_time_mean" => ScoreOrder::FirstResponse,
                other => {
                    v.add("order_by", format!("cannot sort by `{other}`"));
                    ScoreOrder::Score
                }
            };
            q.descending = match direction {
                None | Some("desc") => true,
                Some("asc") => false,
                Some(other) => {
                    v.add("order_by", format!("`{other}` is not asc or desc"));
                    true
                }
            };
            if words.next().is_some() {
                v.add("order_by", "one field and an optional direction");
            }
        }
        finish(v)?;
        Ok(q)
    }
}

/// `CreateRecognition`.
#[derive(Debug)]
pub struct CreateRecognition {
    /// Agent.
    pub agent: Uuid,
    /// Badge number.
    pub badge: i64,
    /// Reason.
    pub reason: String,
    /// References.
    pub references: Vec<String>,
    /// Idempotency.
    pub idempotency: Idempotency,
}

impl TryFrom<pb::CreateRecognitionRequest> for CreateRecognition {
    type Error = Error;
    fn try_from(r: pb::CreateRecognitionRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let rec = r.recognition.unwrap_or_default();
        let agent = resource_id(&mut v, "recognition.agent", &rec.agent, "agents");
        let badge = required_enum::<pb::RecognitionBadge>(&mut v, "recognition.badge", rec.badge);
        let reason = required_text(&mut v, "recognition.reason", &rec.reason, 1000);
        if rec.references.len() > 10 {
            v.add("recognition.references", "at most 10");
        }
        let references: Vec<String> = rec
            .references
            .iter()
            .enumerate()
            .filter_map(|(i, reference)| {
                let field = format!("recognition.references[{i}]");
                let text = optional_text(&mut v, &field, reference, 300);
                if text
                    .as_ref()
                    .is_some_and(|t| !t.contains('/') || t.contains(char::is_whitespace))
                {
                    v.add(field, "must be a resource name such as `tickets/{ticket}`");
                    return None;
                }
                if text.is_none() && reference.trim().is_empty() {
                    v.add(field, "must not be empty");
                }
                text
            })
            .collect();
        let what = (agent, rec.badge, &reason, &references);
        let idempotency = idempotency(&mut v, &r.request_id, &what);
        finish(v)?;
        Ok(Self {
            agent: agent.unwrap_or_default(),
            badge: badge.map_or(0, |b| b as i64),
            reason: reason.unwrap_or_default(),
            references,
            idempotency,
        })
    }
}

impl TryFrom<pb::GetRecognitionRequest> for super::ByName {
    type Error = Error;
    fn try_from(r: pb::GetRecognitionRequest) -> Result<Self, Error> {
        super::by_name(&r.name, "recognitions")
    }
}

/// `ListRecognitions`.
#[derive(Debug)]
pub struct ListRecognitions {
    /// Conditions.
    pub filters: Vec<RecognitionFilter>,
    /// Page.
    pub page: Page,
}

fn badge_word(word: &str) -> Option<i64> {
    pb::RecognitionBadge::from_str_name(&format!("RECOGNITION_BADGE_{word}"))
        .or_else(|| pb::RecognitionBadge::from_str_name(word))
        .map(|b| b as i64)
        .filter(|b| *b != 0)
}

impl TryFrom<pb::ListRecognitionsRequest> for ListRecognitions {
    type Error = Error;
    fn try_from(r: pb::ListRecognitionsRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let page = page(&mut v, r.page_size, &r.page_token, &[&r.filter]);
        let mut filters = Vec::new();
        for c in filter(&mut v, &r.filter).conditions {
            let field = c.field.as_str();
            let parsed = match field {
                "create_time" => v
                    .check("filter", c.value.time())
                    .map(|t| RecognitionFilter::CreateTime(c.op, t)),
                "agent" | "badge" | "awarded_by" | "team" => {
                    if !equality(&mut v, field, c.op) {
                        continue;
                    }
                    match field {
                        "agent" => quoted_id(&mut v, field, &c.value, "agents")
                            .map(RecognitionFilter::Agent),
                        "team" => {
                            quoted_id(&mut v, field, &c.value, "teams").map(RecognitionFilter::Team)
                        }
                        "awarded_by" => {
                            quoted_text(&mut v, field, &c.value).map(RecognitionFilter::AwardedBy)
                        }
                        _ => enum_word(&mut v, field, c.value.text(), badge_word)
                            .map(RecognitionFilter::Badge),
                    }
                }
                other => {
                    v.add("filter", format!("unknown field `{other}`; accepted: agent, badge, awarded_by, team, create_time"));
                    None
                }
            };
            filters.extend(parsed);
        }
        finish(v)?;
        Ok(Self { filters, page })
    }
}

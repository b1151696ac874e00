//! `GetFeedbackStats`.

use aftercare_platform::auth::{Principal, Role};
use aftercare_platform::query::Filter;
use aftercare_platform::request::FieldViolations;
use aftercare_platform::time::{now_micros, to_timestamp};
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::feedback::v1 as pb;

use super::Api;
use super::parse::time;
use crate::convert;
use crate::domain::access::{Reach, read_reach};
use crate::domain::stats::{Dimension, Interval, buckets};
use crate::domain::survey::DAY;
use crate::domain::values::{Channel, Topic};
use crate::error::{Error, Result, finish};
use crate::store::StatsQuery;

const FIELDS: &[&str] = &["region", "channel", "team", "agent", "survey", "topic"];

/// `GetFeedbackStats`.
pub async fn get(
    api: &Api,
    principal: &Principal,
    request: pb::GetFeedbackStatsRequest,
) -> Result<pb::GetFeedbackStatsResponse> {
    let mut v = FieldViolations::new();
    let start = time(&mut v, "start_time", request.start_time.as_ref());
    let end = time(&mut v, "end_time", request.end_time.as_ref());
    if request.start_time.is_none() {
        v.add("start_time", "is required");
    }
    if request.end_time.is_none() {
        v.add("end_time", "is required");
    }
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            v.add("end_time", "must be after start_time");
        } else if e - s > 400 * DAY {
            v.add("end_time", "must be at most 400 days after start_time");
        }
    }
    let interval = match common::Interval::try_from(request.interval) {
        Ok(common::Interval::Hour) => Interval::Hour,
        Ok(common::Interval::Week) => Interval::Week,
        Ok(common::Interval::Month) => Interval::Month,
        Ok(_) => Interval::Day,
        Err(_) => {
            v.add("interval", format!("unknown value {}", request.interval));
            Interval::Day
        }
    };
    if request.group_by.len() > 3 {
        v.add("group_by", "at most 3 dimensions");
    }
    let mut group_by = Vec::new();
    for (index, number) in request.group_by.iter().enumerate() {
        let dim = match pb::FeedbackStatsDimension::try_from(*number) {
            Ok(pb::FeedbackStatsDimension::Region) => Some(Dimension::Region),
            Ok(pb::FeedbackStatsDimension::Channel) => Some(Dimension::Channel),
            Ok(pb::FeedbackStatsDimension::Topic) => Some(Dimension::Topic),
            Ok(pb::FeedbackStatsDimension::Team) => Some(Dimension::Team),
            Ok(pb::FeedbackStatsDimension::Agent) => Some(Dimension::Agent),
            _ => None,
        };
        match dim {
            None => v.add(format!("group_by[{index}]"), "must be a dimension"),
            Some(d) if group_by.contains(&d) => v.add(format!("group_by[{index}]"), "is repeated"),
            Some(d) => group_by.push(d),
        }
    }
    let filter = match Filter::parse(&request.filter) {
        Ok(filter) => {
            for condition in &filter.conditions {
                if !FIELDS.contains(&condition.field.as_str()) {
                    v.add(
                        "filter",
                        format!(
                            "unknown field `{}`; accepted: {}",
                            condition.field,
                            FIELDS.join(", ")
                        ),
                    );
                } else if !condition.op.is_equality() {
                    v.add(
                        "filter",
                        format!("`{}` accepts only = and !=", condition.field),
                    );
                } else if condition.field == "channel"
                    && Channel::from_name(condition.value.text()).is_none()
                {
                    v.add(
                        "filter",
                        format!("`{}` is not a channel", condition.value.text()),
                    );
                } else if condition.field == "topic"
                    && Topic::from_name(condition.value.text()).is_none()
                {
                    v.add(
                        "filter",
                        format!("`{}` is not a topic", condition.value.text()),
                    );
                }
            }
            filter
        }
        Err(error) => {
            v.add("filter", error.to_string());
            Filter::default()
        }
    };
    let bucket_starts = match (start, end) {
        (Some(s), Some(e)) if e > s && e - s <= 400 * DAY => match buckets(s, e, interval) {
            Ok(b) => b,
            Err(message) => {
                v.add("interval", message);
                Vec::new()
            }
        },
        _ => Vec::new(),
    };
    finish(v)?;
    let reach = read_reach(principal)
        .filter(|r| !matches!(r, Reach::Customer(_)))
        .filter(|_| !principal.has_role(Role::Customer) || principal.is_staff())
        .ok_or(Error::PermissionDenied("statistics are for staff"))?;
    let query = StatsQuery {
        buckets: bucket_starts,
        start: start.unwrap_or_default(),
        end: end.unwrap_or_default(),
        group_by: group_by.clone(),
        filter,
        reach,
        now: now_micros(),
    };
    let (groups, total) = api
        .store
        .stats(&query)
        .await?
        .map_err(|message| Error::invalid("group_by", message))?;
    let groups = groups
        .iter()
        .map(|g| {
            let mut out = pb::FeedbackStatsGroup {
                period_start_time: Some(to_timestamp(g.period_start)),
                metrics: Some(convert::metrics(&g.metrics)),
                ..Default::default()
            };
            for (dim, value) in group_by.iter().zip(&g.dims) {
                match dim {
                    Dimension::Region => out.region = value.clone(),
                    Dimension::Channel => out.channel = value.parse().unwrap_or_default(),
                    Dimension::Topic => out.topic = value.parse().unwrap_or_default(),
                    Dimension::Team => out.team = value.clone(),
                    Dimension::Agent => out.agent = value.clone(),
                }
            }
            out
        })
        .collect();
    Ok(pb::GetFeedbackStatsResponse {
        groups,
        total: Some(convert::metrics(&total)),
    })
}

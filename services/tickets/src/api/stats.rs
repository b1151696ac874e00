//! GetTicketStats.

use aftercare_platform::auth::{Principal, Role};
use aftercare_platform::error::FieldViolations;
use aftercare_platform::time::{from_timestamp, now_micros, to_timestamp};
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::tickets::v1 as pb;
use tonic::{Request, Response};

use super::{Api, Reply};
use crate::convert;
use crate::domain::{DAY, Dimension, Filter, Interval, TicketField};
use crate::error::{Error, Result};
use crate::store;

const MAX_RANGE: i64 = 366 * DAY;
const MAX_BUCKETS: usize = 1_000;

impl Api {
    pub(super) async fn stats(
        &self,
        principal: &Principal,
        r: pb::GetTicketStatsRequest,
    ) -> Result<pb::GetTicketStatsResponse> {
        if !principal.has_any_role(&[Role::Analyst, Role::Lead, Role::Admin, Role::Service]) {
            return Err(Error::PermissionDenied(
                "statistics need the analyst, lead or admin role".into(),
            ));
        }
        let mut v = FieldViolations::new();
        let now = now_micros();
        let start = match &r.start_time {
            Some(t) => from_timestamp(t),
            None => {
                v.add("start_time", "is required");
                None
            }
        };
        let end = r.end_time.as_ref().map_or(Some(now), from_timestamp);
        if end.is_none() {
            v.add("end_time", "is out of range");
        }
        if let (Some(start), Some(end)) = (start, end)
            && (end <= start || end - start > MAX_RANGE)
        {
            v.add(
                "end_time",
                "must be after start_time and at most 366 days later",
            );
        }
        let criteria = v
            .check(
                "filter",
                Filter::parse(&r.filter)
                    .map_err(|e| e.to_string())
                    .and_then(|f| crate::domain::ticket_criteria(&f)),
            )
            .unwrap_or_default();
        for c in &criteria {
            use TicketField as F;
            if !matches!(
                c.field,
                F::Region
                    | F::ServiceCentre
                    | F::Channel
                    | F::Kind
                    | F::SubKind
                    | F::Priority
                    | F::Team
                    | F::Assignee
                    | F::CustomerTier
                    | F::Tag
            ) {
                v.add(
                    "filter",
                    format!("{:?} is not accepted in statistics", c.field).to_lowercase(),
                );
            }
        }
        let mut dimensions = Vec::new();
        for (i, d) in r.group_by.iter().enumerate() {
            let dimension = match pb::TicketStatsDimension::try_from(*d) {
                Ok(pb::TicketStatsDimension::Region) => Dimension::Region,
                Ok(pb::TicketStatsDimension::Channel) => Dimension::Channel,
                Ok(pb::TicketStatsDimension::Kind) => Dimension::Kind,
                Ok(pb::TicketStatsDimension::Priority) => Dimension::Priority,
                Ok(pb::TicketStatsDimension::Team) => Dimension::Team,
                Ok(pb::TicketStatsDimension::Period) => Dimension::Period,
                _ => {
                    v.add(format!("group_by[{i}]"), "unknown or unspecified dimension");
                    continue;
                }
            };
            if dimensions.contains(&dimension) {
                v.add(format!("group_by[{i}]"), "duplicate dimension");
            }
            dimensions.push(dimension);
        }
        if r.group_by.len() > 3 {
            v.add("group_by", "at most 3 dimensions");
        }
        let interval = match common::Interval::try_from(r.interval) {
            Ok(common::Interval::Unspecified | common::Interval::Day) => Interval::Day,
            Ok(common::Interval::Hour) => Interval::Hour,
            Ok(common::Interval::Week) => Interval::Week,
            Ok(common::Interval::Month) => Interval::Month,
            Err(_) => {
                v.add("interval", "unknown value");
                Interval::Day
            }
        };
        let calendar_time = match pb::TimeBasis::try_from(r.time_basis) {
            Ok(pb::TimeBasis::Calendar) => true,
            Ok(_) => false,
            Err(_) => {
                v.add("time_basis", "unknown value");
                false
            }
        };
        let (Some(start), Some(end)) = (start, end) else {
            return Err(Error::Invalid(v));
        };
        if dimensions.contains(&Dimension::Period) && interval.buckets(start, end) > MAX_BUCKETS {
            v.add(
                "interval",
                "the range holds more than 1,000 buckets of this size",
            );
        }
        if !v.is_empty() {
            return Err(Error::Invalid(v));
        }
        let query = store::StatsQuery {
            criteria: &criteria,
            start,
            end,
            interval,
            calendar_time,
        };
        let (total, groups) = store::ticket_stats(&self.db, &query, &dimensions).await?;
        let groups: Vec<pb::TicketStatsGroup> = groups
            .into_iter()
            .map(|(key, figures)| {
                let mut out = pb::TicketStatsGroup {
                    stats: Some(convert::ticket_stats(&figures)),
                    ..Default::default()
                };
                for (dimension, text, number) in key {
                    match dimension {
                        Dimension::Region => out.region = text,
                        Dimension::Channel => out.channel = number as i32,
                        Dimension::Kind => out.kind = number as i32,
                        Dimension::Priority => out.priority = number as i32,
                        Dimension::Team => out.team = text,
                        Dimension::Period => {
                            out.period_start_time = Some(to_timestamp(number));
                            out.period_end_time = Some(to_timestamp(interval.next(number)));
                        }
                    }
                }
                out
            })
            .collect();
        Ok(pb::GetTicketStatsResponse {
            total: Some(convert::ticket_stats(&total)),
            groups,
            compute_time: Some(to_timestamp(now)),
        })
    }
}

#[tracing::instrument(skip_all)]
pub(super) async fn get_ticket_stats(
    api: &Api,
    request: Request<pb::GetTicketStatsRequest>,
) -> Reply<pb::GetTicketStatsResponse> {
    let principal = api.principal(&request)?;
    Ok(Response::new(
        api.stats(&principal, request.into_inner()).await?,
    ))
}

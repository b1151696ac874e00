//! Performance: facts recorded from ticket and feedback events, the figures computed from
//! them over a range, time buckets, and the scorecard's composite score.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use uuid::Uuid;

use super::agent::numbered;

numbered!(
    /// What a fact records.
    FactKind {
        /// A ticket assigned to the agent.
        Assigned = 1,
        /// A public reply by the agent to a ticket.
        Handled = 2,
        /// A ticket resolved by the agent (value: resolution time, µs).
        Resolved = 3,
        /// A first response (value: business time, µs).
        FirstResponse = 4,
        /// An SLA target met.
        SlaMet = 5,
        /// An SLA target breached.
        SlaBreached = 6,
        /// A ticket escalated away from the agent.
        Escalated = 7,
        /// A ticket the agent resolved was reopened.
        Reopened = 8,
        /// A CSAT answer (value: 1 to 5).
        Csat = 9,
    }
);

/// One recorded fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// The agent credited (none yet for a CSAT answer that arrived before its resolution).
    pub agent: Option<Uuid>,
    /// The ticket.
    pub ticket: Option<Uuid>,
    /// What.
    pub kind: FactKind,
    /// A duration in µs or a score.
    pub value: i64,
    /// When (UTC µs).
    pub time: i64,
}

/// The figures over a range.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    /// Assigned.
    pub assigned: i64,
    /// Handled (distinct tickets).
    pub handled: i64,
    /// Resolved.
    pub resolved: i64,
    /// resolved / assigned, capped at 1.
    pub resolution_rate: f64,
    /// Mean first response, µs.
    pub first_response_mean: Option<i64>,
    /// Median first response, µs.
    pub first_response_median: Option<i64>,
    /// Mean resolution, µs.
    pub resolution_mean: Option<i64>,
    /// Mean CSAT.
    pub csat_average: f64,
    /// CSAT answers.
    pub csat_responses: i64,
    /// SLA met.
    pub sla_met: i64,
    /// SLA breached.
    pub sla_breached: i64,
    /// met / (met + breached).
    pub sla_compliance: f64,
    /// Escalations.
    pub escalations: i64,
    /// Reopened.
    pub reopened: i64,
}

fn mean(values: &[i64]) -> Option<i64> {
    (!values.is_empty()).then(|| values.iter().sum::<i64>() / values.len() as i64)
}

fn median(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2
    } else {
        values[mid]
    })
}

/// The figures of `facts` whose time is in `[start, end)`.
pub fn metrics<'a>(facts: impl IntoIterator<Item = &'a Fact>, start: i64, end: i64) -> Metrics {
    let mut m = Metrics::default();
    let mut handled = std::collections::HashSet::new();
    let mut first = Vec::new();
    let mut resolution = Vec::new();
    let mut csat = Vec::new();
    for f in facts
        .into_iter()
        .filter(|f| f.time >= start && f.time < end)
    {
        match f.kind {
            FactKind::Assigned => m.assigned += 1,
            FactKind::Handled => {
                handled.insert(f.ticket);
            }
            FactKind::Resolved => {
                m.resolved += 1;
                if f.value > 0 {
                    resolution.push(f.value);
                }
            }
            FactKind::FirstResponse => first.push(f.value),
            FactKind::SlaMet => m.sla_met += 1,
            FactKind::SlaBreached => m.sla_breached += 1,
            FactKind::Escalated => m.escalations += 1,
            FactKind::Reopened => m.reopened += 1,
            FactKind::Csat => csat.push(f.value),
        }
    }
    m.handled = handled.len() as i64;
    m.resolution_rate = if m.assigned == 0 {
        0.0
    } else {
        (m.resolved as f64 / m.assigned as f64).min(1.0)
    };
    m.first_response_mean = mean(&first);
    m.first_response_median = median(&mut first);
    m.resolution_mean = mean(&resolution);
    m.csat_responses = csat.len() as i64;
    m.csat_average = if csat.is_empty() {
        0.0
    } else {
        csat.iter().sum::<i64>() as f64 / csat.len() as f64
    };
    let targets = m.sla_met + m.sla_breached;
    m.sla_compliance = if targets == 0 {
        0.0
    } else {
        m.sla_met as f64 / targets as f64
    };
    m
}

/// The composite score, 0 to 100: 40 × SLA compliance + 30 × (CSAT − 1) / 4 + 30 ×
/// resolution rate; components without data are left out and the rest scaled to 100.
/// `None` without any data.
pub fn score(m: &Metrics) -> Option<f64> {
    let mut parts = Vec::new();
    if m.sla_met + m.sla_breached > 0 {
        parts.push((40.0, m.sla_compliance));
    }
    if m.csat_responses > 0 {
        parts.push((30.0, (m.csat_average - 1.0) / 4.0));
    }
    if m.assigned > 0 {
        parts.push((30.0, m.resolution_rate));
    }
    let weight: f64 = parts.iter().map(|(w, _)| w).sum();
    if weight == 0.0 {
        return None;
    }
    let total: f64 = parts.iter().map(|(w, v)| w * v).sum::<f64>() * 100.0 / weight;
    Some((total * 100.0).round() / 100.0)
}

numbered!(
    /// Bucket size.
    Interval {
        /// Hours.
        Hour = 1,
        /// UTC days.
        Day = 2,
        /// ISO weeks from Monday.
        Week = 3,
        /// Calendar months.
        Month = 4,
    }
);

fn start_of(interval: Interval, at: DateTime<Utc>) -> DateTime<Utc> {
    let date = at.date_naive();
    let midnight =
        |d: NaiveDate| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default());
    match interval {
        Interval::Hour => {
            Utc.from_utc_datetime(&date.and_hms_opt(at.hour(), 0, 0).unwrap_or_default())
        }
        Interval::Day => midnight(date),
        Interval::Week => {
            midnight(date - Duration::days(i64::from(date.weekday().num_days_from_monday())))
        }
        Interval::Month => midnight(date.with_day(1).unwrap_or(date)),
    }
}

fn next(interval: Interval, at: DateTime<Utc>) -> DateTime<Utc> {
    match interval {
        Interval::Hour => at + Duration::hours(1),
        Interval::Day => at + Duration::days(1),
        Interval::Week => at + Duration::weeks(1),
        Interval::Month => {
            let (y, m) = if at.month() == 12 {
                (at.year() + 1, 1)
            } else {
                (at.year(), at.month() + 1)
            };
            Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0)
                .single()
                .unwrap_or(at)
        }
    }
}

/// The buckets covering `[start, end)`, aligned to the interval and clipped to the range;
/// `None` when there would be more than 1000.
pub fn buckets(start: i64, end: i64, interval: Interval) -> Option<Vec<(i64, i64)>> {
    let mut out = Vec::new();
    let end_time = DateTime::<Utc>::from_timestamp_micros(end)?;
    let mut at = start_of(interval, DateTime::<Utc>::from_timestamp_micros(start)?);
    while at < end_time {
        let after = next(interval, at);
        out.push((
            at.timestamp_micros().max(start),
            after.timestamp_micros().min(end),
        ));
        if out.len() > 1000 {
            return None;
        }
        at = after;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(kind: FactKind, value: i64, time: i64) -> Fact {
        Fact {
            agent: None,
            ticket: Some(Uuid::now_v7()),
            kind,
            value,
            time,
        }
    }

    #[test]
    fn figures_count_only_the_range_and_rates_are_bounded() {
        let facts = [
            fact(FactKind::Assigned, 0, 1),
            fact(FactKind::Resolved, 100, 2),
            fact(FactKind::Resolved, 300, 3),
            fact(FactKind::FirstResponse, 10, 2),
            fact(FactKind::FirstResponse, 30, 3),
            fact(FactKind::FirstResponse, 50, 4),
            fact(FactKind::SlaMet, 0, 2),
            fact(FactKind::SlaBreached, 0, 3),
            fact(FactKind::Csat, 5, 4),
            fact(FactKind::Csat, 2, 4),
            fact(FactKind::Assigned, 0, 99),
        ];
        let m = metrics(&facts, 0, 10);
        assert_eq!(m.assigned, 1);
        assert_eq!(m.resolved, 2);
        assert_eq!(m.resolution_rate, 1.0);
        assert_eq!(m.first_response_mean, Some(30));
        assert_eq!(m.first_response_median, Some(30));
        assert_eq!(m.resolution_mean, Some(200));
        assert_eq!(m.csat_average, 3.5);
        assert_eq!(m.sla_compliance, 0.5);
    }

    #[test]
    fn the_score_leaves_out_components_without_data() {
        let mut m = Metrics {
            sla_met: 1,
            sla_compliance: 1.0,
            ..Metrics::default()
        };
        assert_eq!(score(&m), Some(100.0));
        m.csat_responses = 1;
        m.csat_average = 1.0;
        // 40 × 1 + 30 × 0 over a weight of 70.
        assert_eq!(score(&m), Some(57.14));
        assert_eq!(score(&Metrics::default()), None);
    }

    #[test]
    fn buckets_align_to_weeks_and_months() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros();
        let weeks = buckets(
            at("2026-03-04T12:00:00Z"),
            at("2026-03-17T00:00:00Z"),
            Interval::Week,
        )
        .unwrap();
        assert_eq!(weeks.len(), 3);
        assert_eq!(weeks[0].0, at("2026-03-04T12:00:00Z"));
        assert_eq!(weeks[1].0, at("2026-03-09T00:00:00Z"));
        let months = buckets(
            at("2026-11-15T00:00:00Z"),
            at("2027-01-02T00:00:00Z"),
            Interval::Month,
        )
        .unwrap();
        assert_eq!(months.len(), 3);
        assert_eq!(months[1].0, at("2026-12-01T00:00:00Z"));
        assert_eq!(
            months[2],
            (at("2027-01-01T00:00:00Z"), at("2027-01-02T00:00:00Z"))
        );
        assert!(buckets(0, 1_001 * 3_600_000_000, Interval::Hour).is_none());
    }
}

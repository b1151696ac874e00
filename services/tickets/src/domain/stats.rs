//! Ticket statistics: volumes, response and resolution times, SLA compliance and backlog
//! over the tickets created in a range, in total and grouped.
//!
//! Figures are of the tickets as they are now, except `backlog`: it counts those neither
//! resolved nor closed at the end of the range or bucket (`as_of`). A ticket reopened and
//! not yet resolved again does not count as resolved (its resolution time was cleared on
//! reopen), so it counts as backlog at any time after its creation. Business-time durations are those
//! recorded on the ticket (its calendar, paused time excluded).
//!
//! The store aggregates in SQL (one `GROUP BY` for the counts, one window query per duration
//! for its percentiles), so memory grows with the number of groups, never with the number
//! of tickets; it returns a [`Tally`] per group. [`StatRow`] and [`figures`] are the same
//! rules over rows in memory, the reference the unit tests pin the definitions with.

#[cfg(test)]
use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};

#[cfg(test)]
use super::values::{Channel, Kind, Priority, Status};

/// What statistics need of one ticket.
#[cfg(test)]
#[derive(Debug, Clone)]
pub struct StatRow {
    /// Created (UTC microseconds).
    pub create_time: i64,
    /// Region.
    pub region: String,
    /// Channel.
    pub channel: Channel,
    /// Kind.
    pub kind: Kind,
    /// Priority.
    pub priority: Priority,
    /// Team (empty: none).
    pub team: String,
    /// Status.
    pub status: Status,
    /// First public agent reply.
    pub first_response_time: Option<i64>,
    /// Last resolution.
    pub resolve_time: Option<i64>,
    /// Closed.
    pub close_time: Option<i64>,
    /// Reopened at least once.
    pub reopened: bool,
    /// Has an SLA policy.
    pub has_sla: bool,
    /// First-response target missed.
    pub first_response_breached: bool,
    /// Resolution target missed.
    pub resolution_breached: bool,
    /// Business time to the first response, paused time excluded.
    pub first_response_business: Option<i64>,
    /// Business time to resolution, paused time excluded.
    pub resolution_business: Option<i64>,
}

/// A dimension to group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dimension {
    /// Region.
    Region,
    /// Channel.
    Channel,
    /// Kind.
    Kind,
    /// Priority.
    Priority,
    /// Team.
    Team,
    /// Time bucket.
    Period,
}

/// A bucket size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    /// An hour.
    Hour,
    /// A UTC day.
    Day,
    /// An ISO week (from Monday, UTC).
    Week,
    /// A calendar month (UTC).
    Month,
}

impl Interval {
    /// The start of the bucket holding `micros`.
    pub fn floor(self, micros: i64) -> i64 {
        let t = DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or_default();
        let day = t.date_naive();
        let start = match self {
            Self::Hour => return micros - micros.rem_euclid(3_600_000_000),
            Self::Day => day,
            Self::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
            Self::Month => day.with_day(1).unwrap_or(day),
        };
        Utc.from_utc_datetime(&start.and_hms_opt(0, 0, 0).unwrap_or_default())
            .timestamp_micros()
    }

    /// The start of the bucket after the one starting at `start`.
    pub fn next(self, start: i64) -> i64 {
        match self {
            Self::Hour => start + 3_600_000_000,
            Self::Day => start + 86_400_000_000,
            Self::Week => start + 7 * 86_400_000_000,
            Self::Month => {
                let t = DateTime::<Utc>::from_timestamp_micros(start).unwrap_or_default();
                let (y, m) = if t.month() == 12 {
                    (t.year() + 1, 1)
                } else {
                    (t.year(), t.month() + 1)
                };
                Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0)
                    .single()
                    .map_or(start, |t| t.timestamp_micros())
            }
        }
    }

    /// How many buckets `[start, end)` spans.
    pub fn buckets(self, start: i64, end: i64) -> usize {
        let mut count = 0;
        let mut at = self.floor(start);
        while at < end && count <= 100_000 {
            count += 1;
            at = self.next(at);
        }
        count
    }
}

/// Durations in microseconds, summarised.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DurationSummary {
    /// How many.
    pub count: i64,
    /// Mean.
    pub average: i64,
    /// Median.
    pub p50: i64,
    /// 90th percentile.
    pub p90: i64,
}

/// The 0-based positions, in ascending order, of the median and the 90th percentile of `n`
/// values: the nearest rank, `round((n - 1) × p)` with halves rounded up, in integer
/// arithmetic (the store's SQL uses the same formulas).
pub fn percentile_positions(n: i64) -> (i64, i64) {
    (n / 2, (9 * (n - 1) + 5) / 10)
}

#[cfg(test)]
fn summarise(mut values: Vec<i64>) -> DurationSummary {
    if values.is_empty() {
        return DurationSummary::default();
    }
    values.sort_unstable();
    let at = |p: f64| values[((values.len() - 1) as f64 * p).round() as usize];
    DurationSummary {
        count: values.len() as i64,
        average: values.iter().sum::<i64>() / values.len() as i64,
        p50: at(0.5),
        p90: at(0.9),
    }
}

/// Figures for a set of tickets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    /// Created.
    pub created: i64,
    /// Resolved.
    pub resolved: i64,
    /// Closed without resolution.
    pub closed_unresolved: i64,
    /// Reopened at least once.
    pub reopened: i64,
    /// Still open.
    pub backlog: i64,
    /// Time to first response.
    pub first_response: DurationSummary,
    /// Time to resolution.
    pub resolution: DurationSummary,
    /// First-response targets met / decided.
    pub first_response_compliance: f64,
    /// Resolution targets met / decided.
    pub resolution_compliance: f64,
    /// Every target met / decided.
    pub compliance: f64,
    /// Tickets with a missed target.
    pub breached: i64,
}

fn ratio(met: i64, decided: i64) -> f64 {
    if decided == 0 {
        0.0
    } else {
        met as f64 / decided as f64
    }
}

#[cfg(test)]
impl StatRow {
    /// Whether the ticket was neither resolved nor closed at `at` (created before it).
    pub fn open_at(&self, at: i64) -> bool {
        if self.create_time >= at {
            return false;
        }
        if self.status.is_open() {
            return true;
        }
        [self.resolve_time, self.close_time]
            .into_iter()
            .flatten()
            .min()
            .is_some_and(|ended| ended > at)
    }
}

/// The figures of `rows` (the reference of [`Tally`]), durations in wall-clock time (`calendar_time`) or business time;
/// `backlog` counts the rows neither resolved nor closed at `as_of` (the end of the range
/// or bucket).
#[cfg(test)]
pub fn figures(rows: &[&StatRow], calendar_time: bool, as_of: i64) -> Figures {
    let mut f = Figures {
        created: rows.len() as i64,
        ..Figures::default()
    };
    let (mut fr, mut res) = (Vec::new(), Vec::new());
    let (mut fr_met, mut fr_decided, mut res_met, mut res_decided, mut all_met, mut all_decided) =
        (0, 0, 0, 0, 0, 0);
    for row in rows {
        let resolved = row.resolve_time.is_some();
        f.resolved += i64::from(resolved);
        f.closed_unresolved += i64::from(row.status == Status::Closed && !resolved);
        f.reopened += i64::from(row.reopened);
        f.backlog += i64::from(row.open_at(as_of));
        let measure = |at: Option<i64>, business: Option<i64>| {
            if calendar_time {
                at.map(|at| at - row.create_time)
            } else {
                business.or(at.map(|at| at - row.create_time))
            }
        };
        fr.extend(measure(
            row.first_response_time,
            row.first_response_business,
        ));
        res.extend(measure(row.resolve_time, row.resolution_business));
        if row.has_sla {
            let breached = row.first_response_breached || row.resolution_breached;
            f.breached += i64::from(breached);
            if row.first_response_breached || row.first_response_time.is_some() {
                fr_decided += 1;
                fr_met += i64::from(!row.first_response_breached);
            }
            if row.resolution_breached || resolved {
                res_decided += 1;
                res_met += i64::from(!row.resolution_breached);
            }
            if breached || resolved {
                all_decided += 1;
                all_met += i64::from(!breached);
            }
        }
    }
    f.first_response = summarise(fr);
    f.resolution = summarise(res);
    f.first_response_compliance = ratio(fr_met, fr_decided);
    f.resolution_compliance = ratio(res_met, res_decided);
    f.compliance = ratio(all_met, all_decided);
    f
}

/// A group's key: per dimension, its text value (region, team) or number (channel, kind
/// and priority by rank, a period by its start).
pub type GroupKey = Vec<(Dimension, String, i64)>;

/// The counts and sums of a set of tickets, as the store aggregates them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// Created.
    pub created: i64,
    /// Resolved.
    pub resolved: i64,
    /// Closed without resolution.
    pub closed_unresolved: i64,
    /// Reopened at least once.
    pub reopened: i64,
    /// Neither resolved nor closed at the end of the range or bucket.
    pub backlog: i64,
    /// With an SLA and a missed target.
    pub breached: i64,
    /// With an SLA, first response met.
    pub first_response_met: i64,
    /// With an SLA, first response met or missed.
    pub first_response_decided: i64,
    /// With an SLA, resolution met.
    pub resolution_met: i64,
    /// With an SLA, resolution met or missed.
    pub resolution_decided: i64,
    /// With an SLA, resolved or breached, no target missed.
    pub all_met: i64,
    /// With an SLA, resolved or breached.
    pub all_decided: i64,
    /// Durations to the first response: how many, their sum.
    pub first_response: (i64, i64),
    /// Durations to resolution: how many, their sum.
    pub resolution: (i64, i64),
}

impl Tally {
    /// The figures, with the percentiles (median, 90th) of each duration.
    pub fn figures(&self, first_response: (i64, i64), resolution: (i64, i64)) -> Figures {
        let summary = |(count, sum): (i64, i64), (p50, p90): (i64, i64)| {
            if count == 0 {
                DurationSummary::default()
            } else {
                DurationSummary {
                    count,
                    average: sum / count,
                    p50,
                    p90,
                }
            }
        };
        Figures {
            created: self.created,
            resolved: self.resolved,
            closed_unresolved: self.closed_unresolved,
            reopened: self.reopened,
            backlog: self.backlog,
            first_response: summary(self.first_response, first_response),
            resolution: summary(self.resolution, resolution),
            first_response_compliance: ratio(self.first_response_met, self.first_response_decided),
            resolution_compliance: ratio(self.resolution_met, self.resolution_decided),
            compliance: ratio(self.all_met, self.all_decided),
            breached: self.breached,
        }
    }
}

impl Interval {
    /// The buckets, `[start, stop)`, that `[start, end)` touches, in time order.
    pub fn bucket_list(self, start: i64, end: i64) -> Vec<(i64, i64)> {
        let mut buckets = Vec::new();
        let mut at = self.floor(start);
        while at < end {
            let next = self.next(at);
            if next <= at {
                break;
            }
            buckets.push((at, next));
            at = next;
        }
        buckets
    }
}

/// Groups `rows` by `dimensions` (periods by `interval`), in key order.
#[cfg(test)]
pub fn group<'a>(
    rows: &'a [StatRow],
    dimensions: &[Dimension],
    interval: Interval,
) -> BTreeMap<Vec<(Dimension, String, i64)>, Vec<&'a StatRow>> {
    let mut groups: BTreeMap<Vec<(Dimension, String, i64)>, Vec<&StatRow>> = BTreeMap::new();
    for row in rows {
        let key = dimensions
            .iter()
            .map(|d| match d {
                Dimension::Region => (*d, row.region.clone(), 0),
                Dimension::Channel => (
                    *d,
                    String::new(),
                    i64::from(super::WireEnum::rank(row.channel)),
                ),
                Dimension::Kind => (
                    *d,
                    String::new(),
                    i64::from(super::WireEnum::rank(row.kind)),
                ),
                Dimension::Priority => (
                    *d,
                    String::new(),
                    i64::from(super::WireEnum::rank(row.priority)),
                ),
                Dimension::Team => (*d, row.team.clone(), 0),
                Dimension::Period => (*d, String::new(), interval.floor(row.create_time)),
            })
            .collect();
        groups.entry(key).or_default().push(row);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000_000;
    const T0: i64 = 1_764_028_800_000_000; // 2025-11-25T00:00:00Z, a Tuesday

    fn row(status: Status, fr: Option<i64>, resolved: Option<i64>, breached: bool) -> StatRow {
        StatRow {
            create_time: T0,
            region: "eu-west".into(),
            channel: Channel::Web,
            kind: Kind::Inquiry,
            priority: Priority::Normal,
            team: String::new(),
            status,
            first_response_time: fr.map(|h| T0 + h * HOUR),
            resolve_time: resolved.map(|h| T0 + h * HOUR),
            close_time: None,
            reopened: false,
            has_sla: true,
            first_response_breached: breached,
            resolution_breached: false,
            first_response_business: None,
            resolution_business: None,
        }
    }

    #[test]
    fn figures_count_volumes_times_and_compliance() {
        let rows = [
            row(Status::Resolved, Some(1), Some(4), false),
            row(Status::Open, Some(3), None, true),
            row(Status::Closed, None, None, false),
            row(Status::New, None, None, false),
        ];
        let refs: Vec<&StatRow> = rows.iter().collect();
        let f = figures(&refs, true, T0 + 5 * HOUR);
        assert_eq!(
            (f.created, f.resolved, f.closed_unresolved, f.backlog),
            (4, 1, 1, 2)
        );
        assert_eq!(f.first_response.count, 2);
        assert_eq!(f.first_response.average, 2 * HOUR);
        assert_eq!(f.resolution.p50, 4 * HOUR);
        assert!((f.first_response_compliance - 0.5).abs() < 1e-9);
        assert!((f.compliance - 0.5).abs() < 1e-9);
        assert_eq!(f.breached, 1);
    }

    #[test]
    fn backlog_is_counted_at_the_given_time() {
        let mut closed = row(Status::Closed, None, Some(3), false);
        closed.close_time = Some(T0 + 5 * HOUR);
        let rows = [
            row(Status::Resolved, None, Some(4), false),
            row(Status::Open, None, None, false),
            closed,
        ];
        let refs: Vec<&StatRow> = rows.iter().collect();
        let at = |h: i64| figures(&refs, true, T0 + h * HOUR).backlog;
        assert_eq!((at(0), at(1), at(3), at(4), at(6)), (0, 3, 2, 1, 1));
    }

    #[test]
    fn percentile_positions_are_the_nearest_ranks_of_the_reference() {
        for n in 1..2_000_i64 {
            let values: Vec<i64> = (0..n).collect();
            let s = summarise(values);
            assert_eq!(percentile_positions(n), (s.p50, s.p90), "n = {n}");
        }
    }

    #[test]
    fn a_tally_gives_the_figures_of_its_rows() {
        let rows = [
            row(Status::Resolved, Some(1), Some(4), false),
            row(Status::Open, Some(3), None, true),
            row(Status::Closed, None, None, false),
            row(Status::New, None, None, false),
        ];
        let refs: Vec<&StatRow> = rows.iter().collect();
        let tally = Tally {
            created: 4,
            resolved: 1,
            closed_unresolved: 1,
            reopened: 0,
            backlog: 2,
            breached: 1,
            first_response_met: 1,
            first_response_decided: 2,
            resolution_met: 1,
            resolution_decided: 1,
            all_met: 1,
            all_decided: 2,
            first_response: (2, 4 * HOUR),
            resolution: (1, 4 * HOUR),
        };
        assert_eq!(
            tally.figures((3 * HOUR, 3 * HOUR), (4 * HOUR, 4 * HOUR)),
            figures(&refs, true, T0 + 5 * HOUR)
        );
        assert_eq!(Tally::default().figures((0, 0), (0, 0)), Figures::default());
    }

    #[test]
    fn bucket_lists_cover_the_range() {
        assert_eq!(
            Interval::Day.bucket_list(T0 + HOUR, T0 + 25 * HOUR),
            vec![(T0, T0 + 24 * HOUR), (T0 + 24 * HOUR, T0 + 48 * HOUR)]
        );
        assert_eq!(
            Interval::Month.bucket_list(T0, T0 + 10 * 24 * HOUR).len(),
            2
        );
    }

    #[test]
    fn buckets_follow_the_calendar() {
        assert_eq!(Interval::Day.floor(T0 + 5 * HOUR), T0);
        assert_eq!(Interval::Week.floor(T0), T0 - 24 * HOUR);
        assert_eq!(
            Interval::Month.next(Interval::Month.floor(T0)),
            1_764_547_200_000_000
        );
        assert_eq!(Interval::Day.buckets(T0, T0 + 48 * HOUR), 2);
        assert_eq!(Interval::Hour.buckets(T0, T0 + 1), 1);
    }

    #[test]
    fn rows_group_by_dimension_in_key_order() {
        let mut a = row(Status::New, None, None, false);
        a.region = "cn-east".into();
        let b = row(Status::New, None, None, false);
        let rows = [b, a];
        let groups = group(&rows, &[Dimension::Region], Interval::Day);
        let keys: Vec<String> = groups.keys().map(|k| k[0].1.clone()).collect();
        assert_eq!(keys, ["cn-east", "eu-west"]);
    }
}

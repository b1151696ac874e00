//! Statistics: period buckets and the metrics of a group.

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};

/// A bucket interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    /// Hours.
    Hour,
    /// UTC days.
    Day,
    /// ISO weeks from Monday.
    Week,
    /// Calendar months.
    Month,
}

/// A dimension to group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    /// Region.
    Region,
    /// Channel.
    Channel,
    /// Topic.
    Topic,
    /// Team.
    Team,
    /// Agent.
    Agent,
}

/// The most buckets a range may have.
pub const MAX_BUCKETS: usize = 1000;

/// The starts of the buckets covering `[start, end)` (micros), aligned to `interval`, and
/// the end as the last element; `Err` when there would be more than [`MAX_BUCKETS`].
pub fn buckets(start: i64, end: i64, interval: Interval) -> Result<Vec<i64>, String> {
    let to_dt = |micros: i64| DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or_default();
    let first = to_dt(start);
    let aligned = match interval {
        Interval::Hour => Utc
            .with_ymd_and_hms(
                first.year(),
                first.month(),
                first.day(),
                first.hour_of(),
                0,
                0,
            )
            .single(),
        Interval::Day => Utc
            .with_ymd_and_hms(first.year(), first.month(), first.day(), 0, 0, 0)
            .single(),
        Interval::Week => Utc
            .with_ymd_and_hms(first.year(), first.month(), first.day(), 0, 0, 0)
            .single()
            .map(|d| d - Duration::days(i64::from(d.weekday().num_days_from_monday()))),
        Interval::Month => Utc
            .with_ymd_and_hms(first.year(), first.month(), 1, 0, 0, 0)
            .single(),
    }
    .unwrap_or(first);
    let mut out = vec![aligned.timestamp_micros()];
    let mut current = aligned;
    while current.timestamp_micros() < end {
        current = match interval {
            Interval::Hour => current + Duration::hours(1),
            Interval::Day => current + Duration::days(1),
            Interval::Week => current + Duration::weeks(1),
            Interval::Month => {
                let (y, m) = if current.month() == 12 {
                    (current.year() + 1, 1)
                } else {
                    (current.year(), current.month() + 1)
                };
                Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0)
                    .single()
                    .unwrap_or(current + Duration::days(31))
            }
        };
        out.push(current.timestamp_micros());
        if out.len() > MAX_BUCKETS + 1 {
            return Err(format!(
                "the range has more than {MAX_BUCKETS} buckets: use a longer interval"
            ));
        }
    }
    Ok(out)
}

trait HourOf {
    fn hour_of(&self) -> u32;
}

impl HourOf for DateTime<Utc> {
    fn hour_of(&self) -> u32 {
        chrono::Timelike::hour(self)
    }
}

/// Sums over a group of facts; ratios are computed from these.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    /// Invitations sent.
    pub invitations_sent: i64,
    /// Of those, answered.
    pub invitations_answered: i64,
    /// Responses.
    pub responses: i64,
    /// CSAT count.
    pub csat_count: i64,
    /// CSAT sum.
    pub csat_sum: i64,
    /// CSAT 4 or 5.
    pub csat_satisfied: i64,
    /// CSAT 1..5 counts.
    pub csat_distribution: [i64; 5],
    /// NPS count.
    pub nps_count: i64,
    /// 9–10.
    pub nps_promoters: i64,
    /// 7–8.
    pub nps_passives: i64,
    /// 0–6.
    pub nps_detractors: i64,
    /// CES count.
    pub ces_count: i64,
    /// CES sum.
    pub ces_sum: i64,
    /// Items.
    pub feedback_items: i64,
    /// Negative texts.
    pub sentiment_negative: i64,
    /// Neutral texts.
    pub sentiment_neutral: i64,
    /// Positive texts.
    pub sentiment_positive: i64,
    /// Sum of sentiment scores.
    pub sentiment_sum: f64,
    /// Follow-ups opened.
    pub follow_ups_opened: i64,
    /// Follow-ups due.
    pub follow_ups_due: i64,
    /// Of those, on time.
    pub follow_ups_on_time: i64,
}

impl Metrics {
    /// Adds `other` to these.
    pub fn add(&mut self, other: &Self) {
        self.invitations_sent += other.invitations_sent;
        self.invitations_answered += other.invitations_answered;
        self.responses += other.responses;
        self.csat_count += other.csat_count;
        self.csat_sum += other.csat_sum;
        self.csat_satisfied += other.csat_satisfied;
        for (a, b) in self
            .csat_distribution
            .iter_mut()
            .zip(other.csat_distribution)
        {
            *a += b;
        }
        self.nps_count += other.nps_count;
        self.nps_promoters += other.nps_promoters;
        self.nps_passives += other.nps_passives;
        self.nps_detractors += other.nps_detractors;
        self.ces_count += other.ces_count;
        self.ces_sum += other.ces_sum;
        self.feedback_items += other.feedback_items;
        self.sentiment_negative += other.sentiment_negative;
        self.sentiment_neutral += other.sentiment_neutral;
        self.sentiment_positive += other.sentiment_positive;
        self.sentiment_sum += other.sentiment_sum;
        self.follow_ups_opened += other.follow_ups_opened;
        self.follow_ups_due += other.follow_ups_due;
        self.follow_ups_on_time += other.follow_ups_on_time;
    }

    /// `a / b`, absent when `b` is 0.
    pub fn ratio(a: i64, b: i64) -> Option<f64> {
        (b > 0).then(|| a as f64 / b as f64)
    }

    /// NPS, -100 to 100.
    pub fn nps(&self) -> Option<f64> {
        (self.nps_count > 0).then(|| {
            (self.nps_promoters - self.nps_detractors) as f64 * 100.0 / self.nps_count as f64
        })
    }

    /// Classified texts.
    pub fn classified(&self) -> i64 {
        self.sentiment_negative + self.sentiment_neutral + self.sentiment_positive
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp_micros()
    }

    #[test]
    fn buckets_align_to_their_interval() {
        let b = buckets(
            micros("2025-06-01T10:30:00Z"),
            micros("2025-06-03T00:00:00Z"),
            Interval::Day,
        )
        .unwrap();
        assert_eq!(
            b,
            [
                micros("2025-06-01T00:00:00Z"),
                micros("2025-06-02T00:00:00Z"),
                micros("2025-06-03T00:00:00Z")
            ]
        );
        let w = buckets(
            micros("2025-06-04T00:00:00Z"),
            micros("2025-06-05T00:00:00Z"),
            Interval::Week,
        )
        .unwrap();
        assert_eq!(w[0], micros("2025-06-02T00:00:00Z"));
        let m = buckets(
            micros("2025-11-15T00:00:00Z"),
            micros("2026-01-02T00:00:00Z"),
            Interval::Month,
        )
        .unwrap();
        assert_eq!(
            m,
            [
                micros("2025-11-01T00:00:00Z"),
                micros("2025-12-01T00:00:00Z"),
                micros("2026-01-01T00:00:00Z"),
                micros("2026-02-01T00:00:00Z")
            ]
        );
        assert!(
            buckets(
                micros("2025-01-01T00:00:00Z"),
                micros("2025-03-01T00:00:00Z"),
                Interval::Hour
            )
            .is_err()
        );
    }

    #[test]
    fn nps_and_ratios() {
        let m = Metrics {
            nps_count: 4,
            nps_promoters: 2,
            nps_detractors: 1,
            ..Metrics::default()
        };
        assert_eq!(m.nps(), Some(25.0));
        assert_eq!(Metrics::default().nps(), None);
        assert_eq!(Metrics::ratio(1, 4), Some(0.25));
        assert_eq!(Metrics::ratio(1, 0), None);
    }
}

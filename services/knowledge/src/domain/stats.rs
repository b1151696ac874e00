//! Statistics periods: buckets aligned to hours, UTC days, ISO weeks or calendar months.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};

/// The bucket size.
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

/// At most this many buckets per request.
pub const MAX_BUCKETS: usize = 1_000;

fn at(micros: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(micros).single().unwrap_or_default()
}

/// The start of the bucket holding `micros`.
pub fn bucket_start(interval: Interval, micros: i64) -> i64 {
    let t = at(micros);
    let date = t.date_naive();
    let start = match interval {
        Interval::Hour => {
            return micros - micros.rem_euclid(3_600_000_000);
        }
        Interval::Day => date,
        Interval::Week => date - Duration::days(i64::from(date.weekday().num_days_from_monday())),
        Interval::Month => NaiveDate::from_ymd_opt(date.year(), date.month(), 1).unwrap_or(date),
    };
    start
        .and_hms_opt(0, 0, 0)
        .map_or(micros, |d| d.and_utc().timestamp_micros())
}

/// The start of the bucket after the one starting at `start`.
pub fn next_bucket(interval: Interval, start: i64) -> i64 {
    match interval {
        Interval::Hour => start + 3_600_000_000,
        Interval::Day => start + 86_400_000_000,
        Interval::Week => start + 7 * 86_400_000_000,
        Interval::Month => {
            let date = at(start).date_naive();
            let (y, m) = if date.month() == 12 {
                (date.year() + 1, 1)
            } else {
                (date.year(), date.month() + 1)
            };
            NaiveDate::from_ymd_opt(y, m, 1)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map_or(start + 31 * 86_400_000_000, |d| {
                    d.and_utc().timestamp_micros()
                })
        }
    }
}

/// The bucket starts covering `[start, end)`, or `None` when more than [`MAX_BUCKETS`].
pub fn buckets(interval: Interval, start: i64, end: i64) -> Option<Vec<i64>> {
    let mut out = Vec::new();
    let mut cursor = bucket_start(interval, start);
    while cursor < end {
        out.push(cursor);
        if out.len() > MAX_BUCKETS {
            return None;
        }
        cursor = next_bucket(interval, cursor);
    }
    Some(out)
}

/// `numerator / denominator`, absent when the denominator is zero.
pub fn ratio(numerator: i64, denominator: i64) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)]
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros()
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        // 2025-06-05 is a Thursday.
        assert_eq!(
            bucket_start(Interval::Week, micros("2025-06-05T10:00:00Z")),
            micros("2025-06-02T00:00:00Z")
        );
        assert_eq!(
            bucket_start(Interval::Month, micros("2025-06-05T10:00:00Z")),
            micros("2025-06-01T00:00:00Z")
        );
        assert_eq!(
            next_bucket(Interval::Month, micros("2025-12-01T00:00:00Z")),
            micros("2026-01-01T00:00:00Z")
        );
    }

    #[test]
    fn ranges_with_too_many_buckets_are_refused() {
        let start = micros("2025-01-01T00:00:00Z");
        assert_eq!(
            buckets(Interval::Day, start, start + 3 * 86_400_000_000)
                .unwrap()
                .len(),
            3
        );
        assert!(buckets(Interval::Hour, start, start + 400 * 86_400_000_000).is_none());
    }

    #[test]
    fn ratios_are_absent_without_a_denominator() {
        assert_eq!(ratio(1, 0), None);
        assert_eq!(ratio(1, 4), Some(0.25));
    }
}

//! Shifts: weekly working intervals in a time zone plus dated exceptions, and whether a
//! shift is working at an instant. Intervals start at a local wall-clock time and last a
//! real duration, so a shift across a daylight-saving change is still as long as it says.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Refused, check_version};

/// A working interval: a start in minutes after local midnight and a length in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interval {
    /// 1 (Monday) to 7 (Sunday); 0 in exceptions.
    pub weekday: u8,
    /// 0 to 1439.
    pub start_minute: u32,
    /// 1 to 1440.
    pub minutes: u32,
}

/// Working hours of one date replacing the weekly intervals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exception {
    /// Local date.
    pub date: NaiveDate,
    /// Why.
    pub description: Option<String>,
    /// The intervals; empty is a day off.
    pub intervals: Vec<Interval>,
}

/// A shift as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub display_name: String,
    /// IANA zone.
    pub time_zone: Tz,
    /// Region code.
    pub region: Option<String>,
    /// Weekly intervals.
    pub intervals: Vec<Interval>,
    /// Dated exceptions, one per date.
    pub exceptions: Vec<Exception>,
    /// Agents on it (output only).
    pub agent_count: i64,
    /// Version.
    pub version: i64,
    /// Created.
    pub create_time: i64,
    /// Changed.
    pub update_time: i64,
}

/// Checks weekly intervals: none overlapping another of the same weekday.
pub fn check_intervals(intervals: &[Interval]) -> Result<(), String> {
    for (i, a) in intervals.iter().enumerate() {
        for b in &intervals[i + 1..] {
            if a.weekday == b.weekday
                && a.start_minute < b.start_minute + b.minutes
                && b.start_minute < a.start_minute + a.minutes
            {
                return Err(format!(
                    "intervals of weekday {} overlap (starting at minute {} and {})",
                    a.weekday, a.start_minute, b.start_minute
                ));
            }
        }
    }
    Ok(())
}

/// The UTC instant of a local wall-clock time: in a gap (spring forward) the first instant
/// after it, when ambiguous (fall back) the earlier one.
fn local_to_utc(tz: Tz, date: NaiveDate, minute: u32) -> Option<DateTime<Utc>> {
    let naive = date.and_hms_opt(minute / 60, minute % 60, 0)?;
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(early, _) => Some(early.with_timezone(&Utc)),
        LocalResult::None => {
            // Walk forward a minute at a time through the gap (at most a few hours).
            (1..=240).find_map(|step| {
                let later = naive + Duration::minutes(step);
                tz.from_local_datetime(&later)
                    .earliest()
                    .map(|t| t.with_timezone(&Utc))
            })
        }
    }
}

fn weekday_number(day: Weekday) -> u8 {
    day.number_from_monday() as u8
}

/// One field of a shift update.
#[derive(Debug, Clone)]
pub enum ShiftChange {
    /// `display_name`.
    DisplayName(String),
    /// `time_zone`.
    TimeZone(Tz),
    /// `region`.
    Region(Option<String>),
    /// `intervals`.
    Intervals(Vec<Interval>),
    /// `exceptions`.
    Exceptions(Vec<Exception>),
}

impl Shift {
    /// A new shift at version 1, nobody on it.
    pub fn new(
        display_name: String,
        time_zone: Tz,
        region: Option<String>,
        intervals: Vec<Interval>,
        exceptions: Vec<Exception>,
        now: i64,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            display_name,
            time_zone,
            region,
            intervals,
            exceptions,
            agent_count: 0,
            version: 1,
            create_time: now,
            update_time: now,
        }
    }

    /// Applies an update made against `version` (the etag sent), raising the version when
    /// anything changed; returns whether it did.
    pub fn update(
        &mut self,
        version: i64,
        changes: Vec<ShiftChange>,
        now: i64,
    ) -> Result<bool, Refused> {
        check_version(self.version, version)?;
        let before = self.clone();
        for change in changes {
            match change {
                ShiftChange::DisplayName(v) => self.display_name = v,
                ShiftChange::TimeZone(v) => self.time_zone = v,
                ShiftChange::Region(v) => self.region = v,
                ShiftChange::Intervals(v) => self.intervals = v,
                ShiftChange::Exceptions(v) => self.exceptions = v,
            }
        }
        if *self == before {
            return Ok(false);
        }
        self.version += 1;
        self.update_time = now;
        Ok(true)
    }

    /// The intervals of a local date: its exception's, else the weekday's.
    fn day(&self, date: NaiveDate) -> Vec<Interval> {
        match self.exceptions.iter().find(|e| e.date == date) {
            Some(exception) => exception.intervals.clone(),
            None => self
                .intervals
                .iter()
                .filter(|i| i.weekday == weekday_number(date.weekday()))
                .copied()
                .collect(),
        }
    }

    /// Whether the shift is working at `at` (UTC microseconds).
    pub fn on_shift_at(&self, at: i64) -> bool {
        let Some(now) = DateTime::<Utc>::from_timestamp_micros(at) else {
            return false;
        };
        let today = now.with_timezone(&self.time_zone).date_naive();
        // An interval lasts at most 24 h, so only today's and yesterday's can cover `now`.
        [today.pred_opt(), Some(today)]
            .into_iter()
            .flatten()
            .any(|date| {
                self.day(date).iter().any(|interval| {
                    local_to_utc(self.time_zone, date, interval.start_minute).is_some_and(|start| {
                        let end = start + Duration::minutes(i64::from(interval.minutes));
                        start <= now && now < end
                    })
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shift_update_checks_the_etag_and_raises_the_version_only_on_a_change() {
        let mut s = Shift::new("Day".into(), chrono_tz::UTC, None, vec![], vec![], 1);
        assert_eq!(s.update(2, vec![], 2), Err(Refused::Stale));
        assert_eq!(
            s.update(1, vec![ShiftChange::DisplayName("Day".into())], 2),
            Ok(false)
        );
        let zone: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(s.update(1, vec![ShiftChange::TimeZone(zone)], 2), Ok(true));
        assert_eq!((s.version, s.time_zone), (2, zone));
    }

    fn shift(zone: &str, intervals: Vec<Interval>, exceptions: Vec<Exception>) -> Shift {
        Shift {
            id: Uuid::now_v7(),
            display_name: "s".into(),
            time_zone: zone.parse().unwrap(),
            region: None,
            intervals,
            exceptions,
            agent_count: 0,
            version: 1,
            create_time: 0,
            update_time: 0,
        }
    }

    fn every_day(start_minute: u32, minutes: u32) -> Vec<Interval> {
        (1..=7)
            .map(|weekday| Interval {
                weekday,
                start_minute,
                minutes,
            })
            .collect()
    }

    fn at(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp_micros()
    }

    #[test]
    fn berlin_nine_to_five_follows_summer_time() {
        let s = shift("Europe/Berlin", every_day(9 * 60, 8 * 60), vec![]);
        // Winter (CET, UTC+1): 09:00 local is 08:00 UTC.
        assert!(!s.on_shift_at(at("2026-03-27T07:59:00Z")));
        assert!(s.on_shift_at(at("2026-03-27T08:00:00Z")));
        assert!(s.on_shift_at(at("2026-03-27T15:59:00Z")));
        assert!(!s.on_shift_at(at("2026-03-27T16:00:00Z")));
        // Summer time starts on 2026-03-29: 09:00 local is 07:00 UTC.
        assert!(s.on_shift_at(at("2026-03-29T07:30:00Z")));
        assert!(!s.on_shift_at(at("2026-03-29T15:00:00Z")));
        // And ends on 2026-10-25: back to 08:00 UTC.
        assert!(s.on_shift_at(at("2026-10-24T07:30:00Z")));
        assert!(!s.on_shift_at(at("2026-10-25T07:30:00Z")));
        assert!(s.on_shift_at(at("2026-10-25T08:30:00Z")));
    }

    #[test]
    fn a_night_shift_across_the_spring_gap_lasts_its_real_duration() {
        // 22:00 Saturday + 8 h in Berlin: the clocks jump 02:00 -> 03:00 on Sunday 29 March,
        // so the shift ends at 07:00 local (05:00 UTC), not 06:00.
        let s = shift(
            "Europe/Berlin",
            vec![Interval {
                weekday: 6,
                start_minute: 22 * 60,
                minutes: 8 * 60,
            }],
            vec![],
        );
        assert!(s.on_shift_at(at("2026-03-28T21:00:00Z")));
        assert!(s.on_shift_at(at("2026-03-29T04:59:00Z")));
        assert!(!s.on_shift_at(at("2026-03-29T05:00:00Z")));
        assert!(!s.on_shift_at(at("2026-03-28T20:59:00Z")));
    }

    #[test]
    fn a_start_inside_the_gap_begins_when_the_clock_resumes() {
        // 02:30 does not exist in Berlin on 2026-03-29; the interval starts at 03:00 CEST.
        let s = shift(
            "Europe/Berlin",
            vec![Interval {
                weekday: 7,
                start_minute: 150,
                minutes: 60,
            }],
            vec![],
        );
        assert!(!s.on_shift_at(at("2026-03-29T00:59:00Z")));
        assert!(s.on_shift_at(at("2026-03-29T01:00:00Z")));
        assert!(!s.on_shift_at(at("2026-03-29T02:00:00Z")));
    }

    #[test]
    fn shanghai_has_no_daylight_saving() {
        let s = shift("Asia/Shanghai", every_day(9 * 60, 9 * 60), vec![]);
        for day in ["2026-01-15", "2026-07-15"] {
            assert!(!s.on_shift_at(at(&format!("{day}T00:59:00Z"))));
            assert!(s.on_shift_at(at(&format!("{day}T01:00:00Z"))));
            assert!(s.on_shift_at(at(&format!("{day}T09:59:00Z"))));
            assert!(!s.on_shift_at(at(&format!("{day}T10:00:00Z"))));
        }
    }

    #[test]
    fn an_exception_replaces_the_weekday() {
        let national_day = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
        let s = shift(
            "Asia/Shanghai",
            every_day(9 * 60, 9 * 60),
            vec![
                Exception {
                    date: national_day,
                    description: Some("National Day".into()),
                    intervals: vec![],
                },
                Exception {
                    date: national_day.succ_opt().unwrap(),
                    description: None,
                    intervals: vec![Interval {
                        weekday: 0,
                        start_minute: 13 * 60,
                        minutes: 60,
                    }],
                },
            ],
        );
        assert!(!s.on_shift_at(at("2026-10-01T02:00:00Z")));
        assert!(!s.on_shift_at(at("2026-10-02T02:00:00Z")));
        assert!(s.on_shift_at(at("2026-10-02T05:30:00Z")));
        assert!(s.on_shift_at(at("2026-10-03T02:00:00Z")));
    }

    #[test]
    fn a_night_shift_covers_the_next_morning() {
        let s = shift(
            "Asia/Shanghai",
            vec![Interval {
                weekday: 1,
                start_minute: 22 * 60,
                minutes: 10 * 60,
            }],
            vec![],
        );
        // Monday 2026-01-12 22:00 CST = 14:00 UTC, until Tuesday 08:00 CST = 00:00 UTC.
        assert!(s.on_shift_at(at("2026-01-12T23:00:00Z")));
        assert!(!s.on_shift_at(at("2026-01-13T00:00:00Z")));
    }

    #[test]
    fn overlapping_intervals_of_one_day_are_refused() {
        let overlapping = [
            Interval {
                weekday: 1,
                start_minute: 540,
                minutes: 120,
            },
            Interval {
                weekday: 1,
                start_minute: 600,
                minutes: 60,
            },
        ];
        assert!(check_intervals(&overlapping).is_err());
        let other_days = [
            overlapping[0],
            Interval {
                weekday: 2,
                ..overlapping[1]
            },
        ];
        assert!(check_intervals(&other_days).is_ok());
    }
}

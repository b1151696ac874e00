//! Business time: a service centre's weekly opening hours in its own time zone, minus its
//! holidays. SLA targets are amounts of business time; due times are the wall-clock
//! instants at which that much business time has passed.
//!
//! Days are walked in local time and each opening interval is turned into UTC instants with
//! the time zone's rules of that date, so daylight-saving changes are honoured: an interval
//! over a spring-forward gap is an hour shorter, one over a fall-back overlap an hour longer.
//! A local time inside a gap maps to the first instant after it.

use std::collections::BTreeSet;

use chrono::{Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Microseconds in a minute.
pub const MINUTE: i64 = 60_000_000;
/// Microseconds in an hour.
pub const HOUR: i64 = 60 * MINUTE;
/// Microseconds in a day.
pub const DAY: i64 = 24 * HOUR;

/// How far ahead [`BusinessCalendar::add`] looks for enough open time before giving up
/// (a calendar open one hour a year still fits a 90-day target within this).
const MAX_DAYS: i64 = 366 * 30;

/// An open interval of a local day, in minutes since midnight (`end` may be 1440).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OpenInterval {
    /// Opening, minutes since local midnight.
    pub start: u32,
    /// Closing, minutes since local midnight, after `start`, at most 1440.
    pub end: u32,
}

impl OpenInterval {
    /// Parses `HH:MM` (start, `00:00`–`23:59`) and `HH:MM` (end, up to `24:00`).
    pub fn parse(start: &str, end: &str) -> Result<Self, String> {
        let minutes = |text: &str, max: u32| -> Option<u32> {
            let (h, m) = text.split_once(':')?;
            if h.len() != 2 || m.len() != 2 {
                return None;
            }
            let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
            (m < 60 && h * 60 + m <= max).then_some(h * 60 + m)
        };
        let start = minutes(start, 1439).ok_or("start must be HH:MM between 00:00 and 23:59")?;
        let end = minutes(end, 1440).ok_or("end must be HH:MM between 00:01 and 24:00")?;
        if end <= start {
            return Err("end must be after start".to_owned());
        }
        Ok(Self { start, end })
    }

    /// `HH:MM` of a minute count.
    pub fn render(minutes: u32) -> String {
        format!("{:02}:{:02}", minutes / 60, minutes % 60)
    }
}

/// A business calendar, ready for arithmetic.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessCalendar {
    zone: Tz,
    /// Open intervals per weekday, Monday first, sorted, not overlapping.
    weekly: [Vec<OpenInterval>; 7],
    holidays: BTreeSet<NaiveDate>,
}

impl BusinessCalendar {
    /// A calendar; `weekly` is indexed Monday = 0. Intervals must be sorted and disjoint
    /// (the edge checks that).
    pub fn new(zone: Tz, weekly: [Vec<OpenInterval>; 7], holidays: BTreeSet<NaiveDate>) -> Self {
        Self {
            zone,
            weekly,
            holidays,
        }
    }

    /// Open every minute of every day, in UTC: business time is wall-clock time.
    pub fn around_the_clock() -> Self {
        let all_day = vec![OpenInterval {
            start: 0,
            end: 1440,
        }];
        Self::new(
            chrono_tz::UTC,
            std::array::from_fn(|_| all_day.clone()),
            BTreeSet::new(),
        )
    }

    /// The UTC instant (microseconds) of local `minutes` after midnight of `date`.
    fn instant(&self, date: NaiveDate, minutes: u32) -> i64 {
        let local: NaiveDateTime =
            date.and_time(NaiveTime::MIN) + Duration::minutes(i64::from(minutes));
        let mut probe = local;
        // A local time in a gap (spring forward) does not exist: take the first that does.
        for _ in 0..(4 * 60) {
            match self.zone.from_local_datetime(&probe) {
                LocalResult::Single(t) => return t.timestamp_micros(),
                LocalResult::Ambiguous(earliest, _) => return earliest.timestamp_micros(),
                LocalResult::None => probe += Duration::minutes(1),
            }
        }
        Utc.from_utc_datetime(&local).timestamp_micros()
    }

    fn local_date(&self, micros: i64) -> NaiveDate {
        Utc.timestamp_micros(micros)
            .single()
            .map(|t| t.with_timezone(&self.zone).date_naive())
            .unwrap_or_default()
    }

    /// The open periods (UTC microseconds) of the local `date`.
    fn open_periods(&self, date: NaiveDate) -> impl Iterator<Item = (i64, i64)> + '_ {
        let closed = self.holidays.contains(&date);
        let intervals: &[OpenInterval] = if closed {
            &[]
        } else {
            &self.weekly[date.weekday().num_days_from_monday() as usize]
        };
        intervals
            .iter()
            .map(move |i| (self.instant(date, i.start), self.instant(date, i.end)))
            .filter(|(start, end)| end > start)
    }

    /// Business time (microseconds) between two instants; 0 when `to <= from`.
    pub fn between(&self, from: i64, to: i64) -> i64 {
        if to <= from {
            return 0;
        }
        let mut total = 0;
        // Start a day early: a local day's intervals can begin before `from`'s UTC date.
        let mut date = self.local_date(from) - Duration::days(1);
        let last = self.local_date(to) + Duration::days(1);
        while date <= last {
            for (start, end) in self.open_periods(date) {
                let (start, end) = (start.max(from), end.min(to));
                if end > start {
                    total += end - start;
                }
            }
            date += Duration::days(1);
        }
        total
    }

    /// The instant at which `amount` of business time has passed since `from`; `None` when
    /// the calendar is not open long enough within the next 30 years.
    pub fn add(&self, from: i64, amount: i64) -> Option<i64> {
        let mut remaining = amount.max(0);
        let mut date = self.local_date(from) - Duration::days(1);
        for _ in 0..MAX_DAYS {
            for (start, end) in self.open_periods(date) {
                let start = start.max(from);
                if end <= start {
                    continue;
                }
                if remaining == 0 {
                    return Some(start);
                }
                if end - start >= remaining {
                    return Some(start + remaining);
                }
                remaining -= end - start;
            }
            date += Duration::days(1);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(zone: Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        zone.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .earliest()
            .expect("a valid local time")
            .timestamp_micros()
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        at(chrono_tz::UTC, y, mo, d, h, mi)
    }

    fn office(zone: Tz, holidays: &[(i32, u32, u32)]) -> BusinessCalendar {
        let day = vec![
            OpenInterval::parse("09:00", "12:00").unwrap(),
            OpenInterval::parse("13:00", "18:00").unwrap(),
        ];
        let mut weekly: [Vec<OpenInterval>; 7] = Default::default();
        for weekday in weekly.iter_mut().take(5) {
            weekday.clone_from(&day);
        }
        let holidays = holidays
            .iter()
            .map(|(y, m, d)| NaiveDate::from_ymd_opt(*y, *m, *d).unwrap())
            .collect();
        BusinessCalendar::new(zone, weekly, holidays)
    }

    #[test]
    fn around_the_clock_is_wall_clock_time() {
        let cal = BusinessCalendar::around_the_clock();
        let start = utc(2026, 3, 28, 22, 15);
        assert_eq!(cal.add(start, 30 * HOUR), Some(start + 30 * HOUR));
        assert_eq!(cal.between(start, start + 5 * DAY), 5 * DAY);
    }

    #[test]
    fn time_within_a_day_skips_the_lunch_break() {
        let cal = office(chrono_tz::Asia::Shanghai, &[]);
        let sh = chrono_tz::Asia::Shanghai;
        // Wednesday 2026-11-25, 10:00 + 4 h of business time = 15:00 (lunch skipped).
        let start = at(sh, 2026, 11, 25, 10, 0);
        assert_eq!(cal.add(start, 4 * HOUR), Some(at(sh, 2026, 11, 25, 15, 0)));
        assert_eq!(cal.between(start, at(sh, 2026, 11, 25, 15, 0)), 4 * HOUR);
        // Starting during lunch counts from 13:00.
        let lunch = at(sh, 2026, 11, 25, 12, 30);
        assert_eq!(
            cal.add(lunch, 30 * MINUTE),
            Some(at(sh, 2026, 11, 25, 13, 30))
        );
    }

    #[test]
    fn weekends_are_skipped() {
        let sh = chrono_tz::Asia::Shanghai;
        let cal = office(sh, &[]);
        // Friday 2026-11-27 17:00 + 2 h = Monday 10:00.
        let friday = at(sh, 2026, 11, 27, 17, 0);
        assert_eq!(cal.add(friday, 2 * HOUR), Some(at(sh, 2026, 11, 30, 10, 0)));
        // Saturday evening counts from Monday 09:00.
        let saturday = at(sh, 2026, 11, 28, 20, 0);
        assert_eq!(cal.add(saturday, HOUR), Some(at(sh, 2026, 11, 30, 10, 0)));
        assert_eq!(cal.between(friday, at(sh, 2026, 11, 30, 10, 0)), 2 * HOUR);
        // A target of exactly zero from a closed time is the next opening.
        assert_eq!(cal.add(saturday, 0), Some(at(sh, 2026, 11, 30, 9, 0)));
    }

    #[test]
    fn holidays_close_the_whole_day() {
        let sh = chrono_tz::Asia::Shanghai;
        // Spring Festival 2027: Feb 5 (Fri) to Feb 11 (Thu), working days closed.
        let cal = office(
            sh,
            &[
                (2027, 2, 5),
                (2027, 2, 8),
                (2027, 2, 9),
                (2027, 2, 10),
                (2027, 2, 11),
            ],
        );
        let thursday = at(sh, 2027, 2, 4, 17, 0);
        assert_eq!(
            cal.add(thursday, 2 * HOUR),
            Some(at(sh, 2027, 2, 12, 10, 0))
        );
        assert_eq!(cal.between(thursday, at(sh, 2027, 2, 12, 10, 0)), 2 * HOUR);
    }

    #[test]
    fn the_calendar_counts_in_its_own_time_zone() {
        // 09:00 in Berlin is 08:00 UTC in winter; a ticket at 07:30 UTC waits for it.
        let berlin = office(chrono_tz::Europe::Berlin, &[]);
        let start = utc(2026, 11, 25, 7, 30);
        assert_eq!(berlin.add(start, HOUR), Some(utc(2026, 11, 25, 9, 0)));
        // The same instant is mid-afternoon in Shanghai (15:30): 1 h later is 16:30 local.
        let shanghai = office(chrono_tz::Asia::Shanghai, &[]);
        assert_eq!(shanghai.add(start, HOUR), Some(utc(2026, 11, 25, 8, 30)));
    }

    #[test]
    fn daylight_saving_changes_are_honoured() {
        let berlin = chrono_tz::Europe::Berlin;
        // Open around the clock in Berlin local time.
        let all_day = vec![OpenInterval {
            start: 0,
            end: 1440,
        }];
        let cal = BusinessCalendar::new(
            berlin,
            std::array::from_fn(|_| all_day.clone()),
            BTreeSet::new(),
        );
        // Spring forward on 2026-03-29: the local day has 23 hours.
        let day_start = at(berlin, 2026, 3, 29, 0, 0);
        let next_day = at(berlin, 2026, 3, 30, 0, 0);
        assert_eq!(cal.between(day_start, next_day), 23 * HOUR);
        // Fall back on 2026-10-25: 25 hours.
        let day_start = at(berlin, 2026, 10, 25, 0, 0);
        let next_day = at(berlin, 2026, 10, 26, 0, 0);
        assert_eq!(cal.between(day_start, next_day), 25 * HOUR);
        // Office hours keep their local times across the change: Friday 17:00 (UTC+1) +
        // 2 h lands on Monday 10:00 (UTC+2).
        let office = office(berlin, &[]);
        let friday = at(berlin, 2026, 3, 27, 17, 0);
        assert_eq!(office.add(friday, 2 * HOUR), Some(utc(2026, 3, 30, 8, 0)));
        // A night shift over the gap (01:00–05:00 local) is an hour shorter that night.
        let night = vec![OpenInterval::parse("01:00", "05:00").unwrap()];
        let shift = BusinessCalendar::new(
            berlin,
            std::array::from_fn(|_| night.clone()),
            BTreeSet::new(),
        );
        let evening = at(berlin, 2026, 3, 28, 22, 0);
        assert_eq!(
            shift.between(evening, at(berlin, 2026, 3, 29, 12, 0)),
            3 * HOUR
        );
        assert_eq!(
            shift.between(
                at(berlin, 2026, 3, 27, 22, 0),
                at(berlin, 2026, 3, 28, 12, 0)
            ),
            4 * HOUR
        );
    }

    #[test]
    fn add_and_between_agree() {
        let cal = office(chrono_tz::America::New_York, &[(2026, 11, 26)]);
        let start = utc(2026, 11, 20, 15, 7);
        for hours in [0, 1, 5, 8, 9, 17, 40, 100] {
            let due = cal.add(start, hours * HOUR).unwrap();
            assert_eq!(cal.between(start, due), hours * HOUR, "{hours} h");
        }
    }

    #[test]
    fn a_calendar_that_is_never_open_gives_no_due_time() {
        let cal = BusinessCalendar::new(chrono_tz::UTC, Default::default(), BTreeSet::new());
        assert_eq!(cal.add(utc(2026, 1, 1, 0, 0), HOUR), None);
        assert_eq!(cal.between(utc(2026, 1, 1, 0, 0), utc(2026, 2, 1, 0, 0)), 0);
    }

    #[test]
    fn intervals_parse_hours_and_minutes() {
        assert_eq!(
            OpenInterval::parse("09:30", "24:00"),
            Ok(OpenInterval {
                start: 570,
                end: 1440
            })
        );
        assert!(OpenInterval::parse("18:00", "09:00").is_err());
        assert!(OpenInterval::parse("24:00", "24:00").is_err());
        assert!(OpenInterval::parse("9:00", "10:00").is_err());
        assert!(OpenInterval::parse("09:60", "10:00").is_err());
        assert_eq!(OpenInterval::render(570), "09:30");
    }
}

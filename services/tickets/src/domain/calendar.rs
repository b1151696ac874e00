//! Business calendars as the tickets service keeps them (`businessCalendars/{id}`): a
//! region's (or a service centre's) time zone, weekly hours and holidays. The arithmetic
//! (business time between instants, due times) is the platform's
//! `aftercare_platform::time::calendar`, shared with the feedback service.

use chrono::NaiveDate;
use chrono_tz::Tz;

pub use aftercare_platform::time::calendar::{BusinessCalendar, DAY, MINUTE, OpenInterval};

use super::values::{Region, ServiceCentre, Weekday, WireEnum};

/// A closed day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    /// The local date.
    pub date: NaiveDate,
    /// A name to show.
    pub display_name: String,
}

/// A business calendar as a resource (`businessCalendars/{id}`).
#[derive(Debug, Clone, PartialEq)]
pub struct CalendarResource {
    /// Its id.
    pub id: uuid::Uuid,
    /// A name to show.
    pub display_name: String,
    /// Its region.
    pub region: Region,
    /// Its service centre; `None` for the region's default calendar.
    pub service_centre: Option<ServiceCentre>,
    /// Its time zone.
    pub time_zone: Tz,
    /// Opening hours per weekday (at most one entry per weekday).
    pub weekly: Vec<(Weekday, Vec<OpenInterval>)>,
    /// Closed days.
    pub holidays: Vec<Holiday>,
    /// Version behind the etag.
    pub version: i64,
    /// Created (UTC microseconds).
    pub create_time: i64,
    /// Last changed.
    pub update_time: i64,
}

impl CalendarResource {
    /// The resource name.
    pub fn name(&self) -> String {
        format!("businessCalendars/{}", self.id)
    }

    /// The calendar for arithmetic.
    pub fn calendar(&self) -> BusinessCalendar {
        let mut weekly: [Vec<OpenInterval>; 7] = Default::default();
        for (day, intervals) in &self.weekly {
            weekly[(day.rank() - 1) as usize].clone_from(intervals);
        }
        BusinessCalendar::new(
            self.time_zone,
            weekly,
            self.holidays.iter().map(|h| h.date).collect(),
        )
    }
}

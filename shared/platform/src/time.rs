//! Times as the databases store them: UTC microseconds since the Unix epoch in a `BIGINT`,
//! and their conversions to and from `google.protobuf.Timestamp`; business calendars
//! ([`calendar`]) for due times counted in opening hours.

pub mod calendar;

use std::time::{SystemTime, UNIX_EPOCH};

use prost_types::Timestamp;

/// Microseconds since the Unix epoch, UTC.
pub type Micros = i64;

/// Now, in UTC microseconds.
pub fn now_micros() -> Micros {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_micros()).unwrap_or(i64::MAX)
}

/// A stored time as a protobuf timestamp.
pub fn to_timestamp(micros: Micros) -> Timestamp {
    Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: i32::try_from(micros.rem_euclid(1_000_000) * 1_000).unwrap_or(0),
    }
}

/// A protobuf timestamp as a stored time, or `None` when it is out of range
/// (before year 1 or after 9999, or with nanos outside 0..1e9).
pub fn from_timestamp(timestamp: &Timestamp) -> Option<Micros> {
    const MIN_SECONDS: i64 = -62_135_596_800; // 0001-01-01T00:00:00Z
    const MAX_SECONDS: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    if !(MIN_SECONDS..=MAX_SECONDS).contains(&timestamp.seconds)
        || !(0..1_000_000_000).contains(&timestamp.nanos)
    {
        return None;
    }
    Some(timestamp.seconds * 1_000_000 + i64::from(timestamp.nanos) / 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_at_microsecond_precision() {
        for micros in [0, 1, 1_732_540_000_123_456, -1, -1_500_000] {
            assert_eq!(from_timestamp(&to_timestamp(micros)), Some(micros));
        }
    }

    #[test]
    fn out_of_range_timestamps_are_refused() {
        let bad_nanos = Timestamp {
            seconds: 0,
            nanos: -1,
        };
        let far_future = Timestamp {
            seconds: 253_402_300_800,
            nanos: 0,
        };
        assert_eq!(from_timestamp(&bad_nanos), None);
        assert_eq!(from_timestamp(&far_future), None);
    }
}

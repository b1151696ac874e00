//! The closed loop: who is a detractor, what is a severe complaint, and the life of a
//! follow-up (OPEN → CONTACTED / OVERDUE → CLOSED).

use aftercare_platform::config::FeedbackConfig;
use aftercare_platform::time::calendar::BusinessCalendar;

use super::classify::Classification;
use super::survey::{Answers, HOUR};
use super::values::{FollowUpStatus, Outcome, Reason, Sentiment, Severity};

/// The rules of the closed loop, configurable per deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopRules {
    /// A CSAT at or below this is a detractor (default 2).
    pub csat_detractor_max: i32,
    /// An NPS at or below this is a detractor (default 6).
    pub nps_detractor_max: i32,
    /// A CES at or above this opens a follow-up (default 5).
    pub ces_detractor_min: i32,
    /// The service standard: contact within this many microseconds (default 24 h), of
    /// wall-clock time, or of `business_hours` when set.
    pub follow_up_within: i64,
    /// The opening hours `follow_up_within` counts in (the same business calendar the
    /// tickets service counts SLA targets in); `None` (the default) counts around the clock.
    pub business_hours: Option<BusinessCalendar>,
    /// A customer surveyed (by any survey) within this many microseconds is not invited
    /// again on a resolution (default 0: only each survey's own cooldown applies).
    pub quiet_period: i64,
}

impl Default for LoopRules {
    fn default() -> Self {
        Self {
            csat_detractor_max: 2,
            nps_detractor_max: 6,
            ces_detractor_min: 5,
            follow_up_within: 24 * HOUR,
            business_hours: None,
            quiet_period: 0,
        }
    }
}

impl LoopRules {
    /// The rules of the configuration's `feedback` section (checked when it was loaded; a
    /// calendar that no longer builds counts around the clock).
    pub fn from_config(config: &FeedbackConfig) -> Self {
        let micros = |d: std::time::Duration| i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
        Self {
            csat_detractor_max: config.csat_detractor_max,
            nps_detractor_max: config.nps_detractor_max,
            ces_detractor_min: config.ces_detractor_min,
            follow_up_within: micros(config.follow_up_within),
            business_hours: config
                .business_hours
                .as_ref()
                .and_then(|hours| hours.calendar("feedback.business_hours").ok()),
            quiet_period: micros(config.quiet_period),
        }
    }

    /// Why `answers` (with the comment's classification, if any) need a follow-up; empty
    /// when they do not.
    pub fn reasons(
        &self,
        answers: &Answers,
        classification: Option<&Classification>,
    ) -> Vec<Reason> {
        let mut reasons = Vec::new();
        if answers.nps.is_some_and(|n| n <= self.nps_detractor_max) {
            reasons.push(Reason::NpsDetractor);
        }
        if answers.csat.is_some_and(|c| c <= self.csat_detractor_max) {
            reasons.push(Reason::LowCsat);
        }
        if answers.ces.is_some_and(|c| c >= self.ces_detractor_min) {
            reasons.push(Reason::HighEffort);
        }
        if classification.is_some_and(is_severe) {
            reasons.push(Reason::SevereComplaint);
        }
        reasons
    }

    /// When a follow-up opened at `opened` is due: `follow_up_within` later, counted in
    /// `business_hours` when set (a calendar never open falls back to wall-clock time).
    pub fn due_time(&self, opened: i64) -> i64 {
        self.business_hours
            .as_ref()
            .and_then(|calendar| calendar.add(opened, self.follow_up_within))
            .unwrap_or(opened + self.follow_up_within)
    }

    /// Whether the scores make the response a detractor (as the contract defines it for
    /// `Response.detractor`: NPS or CSAT at or below the thresholds).
    pub fn is_detractor(&self, answers: &Answers) -> bool {
        answers.nps.is_some_and(|n| n <= self.nps_detractor_max)
            || answers.csat.is_some_and(|c| c <= self.csat_detractor_max)
    }
}

/// A severe complaint: `HIGH` or `CRITICAL` severity with negative sentiment.
pub fn is_severe(classification: &Classification) -> bool {
    classification.sentiment == Sentiment::Negative
        && matches!(classification.severity, Severity::High | Severity::Critical)
}

/// The NPS bucket of a score: 1 detractor (0–6), 2 passive (7–8), 3 promoter (9–10).
pub fn nps_category(score: Option<i32>) -> i32 {
    match score {
        Some(0..=6) => 1,
        Some(7..=8) => 2,
        Some(_) => 3,
        None => 0,
    }
}

/// A follow-up's state as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUpState {
    /// Status.
    pub status: FollowUpStatus,
    /// The due time set at opening.
    pub original_due_time: i64,
    /// When opened.
    pub create_time: i64,
    /// First contact, if any.
    pub contact_time: Option<i64>,
    /// Whether contact was missed by the original due time.
    pub overdue: bool,
}

/// A refused follow-up change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub &'static str);

/// A contact recorded at `at`: the new status, whether it was on time, and the first
/// contact time (a second contact keeps the first).
pub fn record_contact(
    state: &FollowUpState,
    at: i64,
) -> Result<(FollowUpStatus, bool, i64), Refused> {
    if state.status == FollowUpStatus::Closed {
        return Err(Refused("the follow-up is closed"));
    }
    if at < state.create_time {
        return Err(Refused("contact_time is before the follow-up was opened"));
    }
    let first = state.contact_time.map_or(at, |t| t.min(at));
    Ok((
        FollowUpStatus::Contacted,
        first <= state.original_due_time,
        first,
    ))
}

/// Closing with `outcome`; refused when already closed.
pub fn close(state: &FollowUpState) -> Result<FollowUpStatus, Refused> {
    if state.status == FollowUpStatus::Closed {
        return Err(Refused("the follow-up is already closed"));
    }
    Ok(FollowUpStatus::Closed)
}

/// Whether the sweep finds the follow-up overdue at `now`: open, never contacted, due passed.
pub fn becomes_overdue(state: &FollowUpState, due_time: i64, now: i64) -> bool {
    state.status == FollowUpStatus::Open && state.contact_time.is_none() && due_time <= now
}

/// Whether a closing outcome allows surveying the customer again.
pub fn outcome_allows_resurvey(outcome: Outcome) -> bool {
    !matches!(
        outcome,
        Outcome::CustomerUnreachable | Outcome::CustomerDeclined
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::values::Topic;

    fn classification(sentiment: Sentiment, severity: Severity) -> Classification {
        Classification {
            topics: vec![Topic::ServiceAttitude],
            severity,
            sentiment,
            score: sentiment.default_score(),
            confidence: 0.9,
            matched_terms: Vec::new(),
        }
    }

    #[test]
    fn detractors_by_default_thresholds() {
        let rules = LoopRules::default();
        let a = |csat, nps, ces| Answers {
            csat,
            nps,
            ces,
            comment: String::new(),
        };
        assert_eq!(
            rules.reasons(&a(Some(2), None, None), None),
            [Reason::LowCsat]
        );
        assert!(rules.reasons(&a(Some(3), None, None), None).is_empty());
        assert_eq!(
            rules.reasons(&a(None, Some(6), None), None),
            [Reason::NpsDetractor]
        );
        assert!(rules.reasons(&a(None, Some(7), None), None).is_empty());
        assert_eq!(
            rules.reasons(&a(None, None, Some(5)), None),
            [Reason::HighEffort]
        );
        assert!(rules.reasons(&a(None, None, Some(4)), None).is_empty());
        assert_eq!(
            rules.reasons(&a(Some(1), Some(0), None), None),
            [Reason::NpsDetractor, Reason::LowCsat]
        );
        assert!(rules.is_detractor(&a(Some(1), None, None)));
        assert!(!rules.is_detractor(&a(None, None, Some(7))));
    }

    #[test]
    fn thresholds_are_configurable() {
        let rules = LoopRules {
            csat_detractor_max: 3,
            ..LoopRules::default()
        };
        let answers = Answers {
            csat: Some(3),
            ..Answers::default()
        };
        assert_eq!(rules.reasons(&answers, None), [Reason::LowCsat]);
    }

    #[test]
    fn the_configurations_feedback_section_makes_the_rules() {
        use aftercare_platform::config::BusinessHoursConfig;
        use chrono::TimeZone;
        assert_eq!(
            LoopRules::from_config(&FeedbackConfig::default()),
            LoopRules::default()
        );
        let config = FeedbackConfig {
            csat_detractor_max: 3,
            follow_up_within: std::time::Duration::from_secs(8 * 3600),
            quiet_period: std::time::Duration::from_secs(86_400),
            business_hours: Some(BusinessHoursConfig {
                time_zone: "Asia/Shanghai".into(),
                weekly: ["mon", "tue", "wed", "thu", "fri"]
                    .into_iter()
                    .map(|day| (day.to_owned(), vec!["09:00-18:00".to_owned()]))
                    .collect(),
                holidays: vec!["2026-11-30".into()],
            }),
            ..FeedbackConfig::default()
        };
        let rules = LoopRules::from_config(&config);
        assert_eq!(rules.csat_detractor_max, 3);
        assert_eq!(rules.quiet_period, 24 * HOUR);
        let answers = Answers {
            csat: Some(3),
            ..Answers::default()
        };
        assert_eq!(rules.reasons(&answers, None), [Reason::LowCsat]);
        // Friday 16:00 + 8 business hours: 2 h on Friday, Monday is a holiday, 6 h on
        // Tuesday: due Tuesday 15:00.
        let at = |m, d, h| {
            chrono_tz::Asia::Shanghai
                .with_ymd_and_hms(2026, m, d, h, 0, 0)
                .unwrap()
                .timestamp_micros()
        };
        assert_eq!(rules.due_time(at(11, 27, 16)), at(12, 1, 15));
    }

    #[test]
    fn the_due_time_counts_in_business_hours_when_configured() {
        use aftercare_platform::time::calendar::OpenInterval;
        use chrono::TimeZone;
        let shanghai = chrono_tz::Asia::Shanghai;
        let at = |m, d, h| {
            shanghai
                .with_ymd_and_hms(2026, m, d, h, 0, 0)
                .unwrap()
                .timestamp_micros()
        };
        // Friday 2026-11-27 at 16:00.
        let opened = at(11, 27, 16);
        assert_eq!(LoopRules::default().due_time(opened), opened + 24 * HOUR);
        // Weekdays 09:00–18:00: 2 h on Friday, 9 h on Monday, 9 h on Tuesday, then 4 h on
        // Wednesday: due Wednesday 13:00.
        let mut weekly: [Vec<OpenInterval>; 7] = Default::default();
        for day in weekly.iter_mut().take(5) {
            day.push(OpenInterval::parse("09:00", "18:00").unwrap());
        }
        let office = LoopRules {
            business_hours: Some(BusinessCalendar::new(shanghai, weekly, Default::default())),
            ..LoopRules::default()
        };
        assert_eq!(office.due_time(opened), at(12, 2, 13));
        // A calendar that is never open cannot be met: wall-clock time instead.
        let never = LoopRules {
            business_hours: Some(BusinessCalendar::new(
                shanghai,
                Default::default(),
                Default::default(),
            )),
            ..LoopRules::default()
        };
        assert_eq!(never.due_time(opened), opened + 24 * HOUR);
    }

    #[test]
    fn only_a_negative_high_or_critical_text_is_a_severe_complaint() {
        assert!(is_severe(&classification(
            Sentiment::Negative,
            Severity::High
        )));
        assert!(is_severe(&classification(
            Sentiment::Negative,
            Severity::Critical
        )));
        assert!(!is_severe(&classification(
            Sentiment::Negative,
            Severity::Medium
        )));
        assert!(!is_severe(&classification(
            Sentiment::Neutral,
            Severity::Critical
        )));
        let rules = LoopRules::default();
        let severe = classification(Sentiment::Negative, Severity::High);
        assert_eq!(
            rules.reasons(&Answers::default(), Some(&severe)),
            [Reason::SevereComplaint]
        );
    }

    #[test]
    fn nps_buckets() {
        assert_eq!(nps_category(Some(0)), 1);
        assert_eq!(nps_category(Some(6)), 1);
        assert_eq!(nps_category(Some(8)), 2);
        assert_eq!(nps_category(Some(10)), 3);
        assert_eq!(nps_category(None), 0);
    }

    #[test]
    fn contacts_are_judged_against_the_original_due_time() {
        let state = FollowUpState {
            status: FollowUpStatus::Open,
            original_due_time: 100,
            create_time: 10,
            contact_time: None,
            overdue: false,
        };
        assert_eq!(
            record_contact(&state, 50),
            Ok((FollowUpStatus::Contacted, true, 50))
        );
        assert_eq!(
            record_contact(&state, 150),
            Ok((FollowUpStatus::Contacted, false, 150))
        );
        assert!(record_contact(&state, 5).is_err());
        let contacted = FollowUpState {
            contact_time: Some(50),
            status: FollowUpStatus::Contacted,
            ..state.clone()
        };
        assert_eq!(
            record_contact(&contacted, 150),
            Ok((FollowUpStatus::Contacted, true, 50))
        );
        let closed = FollowUpState {
            status: FollowUpStatus::Closed,
            ..state.clone()
        };
        assert!(record_contact(&closed, 50).is_err());
        assert!(close(&closed).is_err());
        assert_eq!(close(&state), Ok(FollowUpStatus::Closed));
    }

    #[test]
    fn only_uncontacted_open_follow_ups_past_due_become_overdue() {
        let state = FollowUpState {
            status: FollowUpStatus::Open,
            original_due_time: 100,
            create_time: 10,
            contact_time: None,
            overdue: false,
        };
        assert!(becomes_overdue(&state, 100, 100));
        assert!(!becomes_overdue(&state, 100, 99));
        let contacted = FollowUpState {
            status: FollowUpStatus::Contacted,
            contact_time: Some(20),
            ..state
        };
        assert!(!becomes_overdue(&contacted, 100, 200));
        assert!(!outcome_allows_resurvey(Outcome::CustomerDeclined));
        assert!(outcome_allows_resurvey(Outcome::Resolved));
    }
}

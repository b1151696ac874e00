//! Surveys, their questions, and the answers a response gives to them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::values::{Actor, Channel, QuestionType, Trigger};

/// Microseconds in an hour and in a day.
pub const HOUR: i64 = 3_600_000_000;
/// Microseconds in a day.
pub const DAY: i64 = 24 * HOUR;

/// The default time an invitation can be answered: 7 days.
pub const DEFAULT_TTL: i64 = 7 * DAY;

/// One question of a survey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// The kind (fixes the scale), as its number.
    #[serde(rename = "type")]
    pub kind: i32,
    /// The text per language.
    pub texts: BTreeMap<String, String>,
    /// Whether it must be answered.
    pub required: bool,
}

impl Question {
    /// The question's type.
    pub fn question_type(&self) -> QuestionType {
        QuestionType::from_number(self.kind.into()).unwrap_or(QuestionType::FreeText)
    }
}

/// The part of a survey that is versioned: what a customer is shown and how long they have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyContent {
    /// Title per language.
    pub titles: BTreeMap<String, String>,
    /// The fallback language.
    pub default_language: String,
    /// The questions in order.
    pub questions: Vec<Question>,
    /// How long an invitation can be answered, microseconds.
    pub invitation_ttl: i64,
}

impl SurveyContent {
    /// The languages every text is available in.
    pub fn languages(&self) -> Vec<String> {
        self.titles
            .keys()
            .filter(|l| self.questions.iter().all(|q| q.texts.contains_key(*l)))
            .cloned()
            .collect()
    }

    /// The question of `kind`, if the survey asks it.
    pub fn question(&self, kind: QuestionType) -> Option<&Question> {
        self.questions.iter().find(|q| q.question_type() == kind)
    }
}

/// A survey as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Survey {
    /// Its id.
    pub id: uuid::Uuid,
    /// Its version (the etag).
    pub version: i64,
    /// The versioned content.
    pub content: SurveyContent,
    /// What sends invitations.
    pub trigger: Trigger,
    /// The default channel; `None` means the ticket's channel.
    pub channel: Option<Channel>,
    /// Delay after resolution, microseconds.
    pub send_delay: i64,
    /// No second invitation by this survey to a customer within this, microseconds.
    pub customer_cooldown: i64,
    /// Regions it applies to (empty: all).
    pub regions: Vec<String>,
    /// Whether it sends invitations.
    pub enabled: bool,
    /// Who created it.
    pub creator: Actor,
    /// When created and last changed.
    pub create_time: i64,
    /// When last changed.
    pub update_time: i64,
}

/// The settable fields of a survey (create, or update with a mask).
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyFields {
    /// Content.
    pub content: SurveyContent,
    /// Trigger.
    pub trigger: Trigger,
    /// Channel.
    pub channel: Option<Channel>,
    /// Delay.
    pub send_delay: i64,
    /// Cooldown.
    pub customer_cooldown: i64,
    /// Regions.
    pub regions: Vec<String>,
    /// Enabled.
    pub enabled: bool,
}

impl Survey {
    /// Whether this survey applies to a ticket handled in `region`, and how well: 2 when it is
    /// scoped to that region, 1 when unscoped, `None` when it does not apply.
    pub fn match_rank(&self, region: &str) -> Option<u8> {
        if self.regions.is_empty() {
            Some(1)
        } else if self.regions.iter().any(|r| r == region) {
            Some(2)
        } else {
            None
        }
    }
}

/// The survey a resolved ticket in `region` gets, among enabled ticket-resolved `surveys`:
/// one scoped to the region wins over an unscoped one, then the most recently updated.
pub fn matching_survey<'a>(surveys: &'a [Survey], region: &str) -> Option<&'a Survey> {
    surveys
        .iter()
        .filter(|s| s.enabled && s.trigger == Trigger::TicketResolved)
        .filter_map(|s| s.match_rank(region).map(|rank| (rank, s.update_time, s)))
        .max_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)))
        .map(|(_, _, s)| s)
}

/// Answers given to a survey.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
    /// CSAT 1–5.
    pub csat: Option<i32>,
    /// NPS 0–10.
    pub nps: Option<i32>,
    /// CES 1–7.
    pub ces: Option<i32>,
    /// Free text (trimmed; empty for none).
    pub comment: String,
}

/// The scale of each scored question type.
pub fn scale(kind: QuestionType) -> Option<(i32, i32)> {
    match kind {
        QuestionType::Csat => Some((1, 5)),
        QuestionType::Nps => Some((0, 10)),
        QuestionType::Ces => Some((1, 7)),
        QuestionType::FreeText => None,
    }
}

/// Checks `answers` against `content`'s questions: every score within its scale, no answer
/// to a question the survey does not ask, every required question answered. Returns the
/// bad fields (named with `prefix`, e.g. `response.`) and why.
pub fn check_answers(
    content: &SurveyContent,
    answers: &Answers,
    prefix: &str,
) -> Vec<(String, String)> {
    let mut bad = Vec::new();
    let scored = [
        (QuestionType::Csat, answers.csat, "csat_score"),
        (QuestionType::Nps, answers.nps, "nps_score"),
        (QuestionType::Ces, answers.ces, "ces_score"),
    ];
    for (kind, value, field) in scored {
        let asked = content.question(kind);
        match (asked, value) {
            (None, Some(_)) => bad.push((
                format!("{prefix}{field}"),
                "the survey has no such question".to_owned(),
            )),
            (Some(_), Some(score)) => {
                let (low, high) = scale(kind).unwrap_or((0, 0));
                if !(low..=high).contains(&score) {
                    bad.push((
                        format!("{prefix}{field}"),
                        format!("must be from {low} to {high} (got {score})"),
                    ));
                }
            }
            (Some(q), None) if q.required => bad.push((
                format!("{prefix}{field}"),
                "is required by the survey".to_owned(),
            )),
            _ => {}
        }
    }
    match content.question(QuestionType::FreeText) {
        None if !answers.comment.is_empty() => bad.push((
            format!("{prefix}comment"),
            "the survey has no free-text question".to_owned(),
        )),
        Some(q) if q.required && answers.comment.is_empty() => bad.push((
            format!("{prefix}comment"),
            "is required by the survey".to_owned(),
        )),
        _ => {}
    }
    if answers.csat.is_none()
        && answers.nps.is_none()
        && answers.ces.is_none()
        && answers.comment.is_empty()
        && bad.is_empty()
    {
        bad.push((
            format!("{prefix}csat_score"),
            "at least one question must be answered".to_owned(),
        ));
    }
    bad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(kinds: &[(QuestionType, bool)]) -> SurveyContent {
        SurveyContent {
            titles: BTreeMap::from([("en".to_owned(), "How did we do?".to_owned())]),
            default_language: "en".to_owned(),
            questions: kinds
                .iter()
                .map(|(k, required)| Question {
                    kind: k.number(),
                    texts: BTreeMap::from([("en".to_owned(), "?".to_owned())]),
                    required: *required,
                })
                .collect(),
            invitation_ttl: DEFAULT_TTL,
        }
    }

    fn fields(bad: &[(String, String)]) -> Vec<&str> {
        bad.iter().map(|(f, _)| f.as_str()).collect()
    }

    #[test]
    fn scores_must_fit_their_scales() {
        let survey = content(&[
            (QuestionType::Csat, true),
            (QuestionType::Nps, false),
            (QuestionType::Ces, false),
        ]);
        let ok = Answers {
            csat: Some(5),
            nps: Some(0),
            ces: Some(7),
            comment: String::new(),
        };
        assert!(check_answers(&survey, &ok, "").is_empty());
        let bad = Answers {
            csat: Some(6),
            nps: Some(11),
            ces: Some(0),
            comment: String::new(),
        };
        assert_eq!(
            fields(&check_answers(&survey, &bad, "")),
            ["csat_score", "nps_score", "ces_score"]
        );
    }

    #[test]
    fn unknown_questions_and_missing_required_answers_are_named() {
        let survey = content(&[(QuestionType::Csat, true), (QuestionType::FreeText, true)]);
        let answers = Answers {
            csat: None,
            nps: Some(9),
            ces: None,
            comment: String::new(),
        };
        assert_eq!(
            fields(&check_answers(&survey, &answers, "r.")),
            ["r.csat_score", "r.nps_score", "r.comment"]
        );
        let no_text = content(&[(QuestionType::Csat, false)]);
        let answers = Answers {
            csat: Some(3),
            comment: "hi".into(),
            ..Answers::default()
        };
        assert_eq!(fields(&check_answers(&no_text, &answers, "")), ["comment"]);
    }

    #[test]
    fn an_empty_answer_is_refused() {
        let survey = content(&[(QuestionType::Csat, false)]);
        assert_eq!(
            fields(&check_answers(&survey, &Answers::default(), "")),
            ["csat_score"]
        );
    }

    #[test]
    fn a_region_scoped_survey_wins_then_the_latest() {
        let base = Survey {
            id: uuid::Uuid::now_v7(),
            version: 1,
            content: content(&[(QuestionType::Csat, true)]),
            trigger: Trigger::TicketResolved,
            channel: None,
            send_delay: 0,
            customer_cooldown: 0,
            regions: Vec::new(),
            enabled: true,
            creator: Actor::system(),
            create_time: 0,
            update_time: 10,
        };
        let newer = Survey {
            id: uuid::Uuid::now_v7(),
            update_time: 20,
            ..base.clone()
        };
        let scoped = Survey {
            id: uuid::Uuid::now_v7(),
            regions: vec!["cn-east".into()],
            update_time: 5,
            ..base.clone()
        };
        let disabled = Survey {
            id: uuid::Uuid::now_v7(),
            enabled: false,
            update_time: 99,
            ..base.clone()
        };
        let all = vec![base.clone(), newer.clone(), scoped.clone(), disabled];
        assert_eq!(
            matching_survey(&all, "cn-east").map(|s| s.id),
            Some(scoped.id)
        );
        assert_eq!(
            matching_survey(&all, "eu-west").map(|s| s.id),
            Some(newer.id)
        );
        assert_eq!(matching_survey(&all[2..3], "eu-west"), None);
    }
}

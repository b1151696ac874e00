//! Surveys, their questions, and the answers a response gives to them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::values::{Actor, Channel, QuestionType, TicketKind, Trigger};

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
    /// Ticket kinds it applies to (empty: all).
    pub ticket_kinds: Vec<TicketKind>,
    /// Intake channels of the tickets it applies to (empty: all).
    pub ticket_channels: Vec<Channel>,
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
    /// Ticket kinds.
    pub ticket_kinds: Vec<TicketKind>,
    /// Ticket channels.
    pub ticket_channels: Vec<Channel>,
    /// Enabled.
    pub enabled: bool,
}

/// What a resolved ticket offers a survey's targeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'a> {
    /// The handling centre's region (may be empty).
    pub region: &'a str,
    /// The ticket's kind, when known.
    pub kind: Option<TicketKind>,
    /// The ticket's intake channel, when known.
    pub channel: Option<Channel>,
}

/// How one targeting list judges a value: `None` when the survey excludes it, `Some(true)`
/// when the survey is scoped to it, `Some(false)` when the list is empty (everything).
fn scoped<T: PartialEq>(list: &[T], value: Option<&T>) -> Option<bool> {
    if list.is_empty() {
        Some(false)
    } else if value.is_some_and(|v| list.contains(v)) {
        Some(true)
    } else {
        None
    }
}

impl Survey {
    /// Whether this survey applies to `target`, and how closely: `None` when its regions,
    /// kinds or channels exclude the ticket; else (how many of the three it is scoped on,
    /// region scoped, kind scoped, channel scoped), larger being closer.
    pub fn match_rank(&self, target: &Target<'_>) -> Option<(u8, bool, bool, bool)> {
        let region = (!target.region.is_empty()).then(|| target.region.to_owned());
        let region = scoped(&self.regions, region.as_ref())?;
        let kind = scoped(&self.ticket_kinds, target.kind.as_ref())?;
        let channel = scoped(&self.ticket_channels, target.channel.as_ref())?;
        Some((
            u8::from(region) + u8::from(kind) + u8::from(channel),
            region,
            kind,
            channel,
        ))
    }
}

/// The survey a resolved ticket gets, among enabled ticket-resolved `surveys`: the one
/// scoped most closely to the ticket (see [`Survey::match_rank`]), then the most recently
/// updated.
pub fn matching_survey<'a>(surveys: &'a [Survey], target: &Target<'_>) -> Option<&'a Survey> {
    surveys
        .iter()
        .filter(|s| s.enabled && s.trigger == Trigger::TicketResolved)
        .filter_map(|s| s.match_rank(target).map(|rank| (rank, s.update_time, s)))
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
            ticket_kinds: Vec::new(),
            ticket_channels: Vec::new(),
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
        let in_region = |region| Target {
            region,
            kind: Some(TicketKind::Inquiry),
            channel: Some(Channel::Web),
        };
        assert_eq!(
            matching_survey(&all, &in_region("cn-east")).map(|s| s.id),
            Some(scoped.id)
        );
        assert_eq!(
            matching_survey(&all, &in_region("eu-west")).map(|s| s.id),
            Some(newer.id)
        );
        assert_eq!(matching_survey(&all[2..3], &in_region("eu-west")), None);
        assert_eq!(matching_survey(&all[2..3], &in_region("")), None);
    }

    #[test]
    fn a_survey_for_the_tickets_kind_and_channel_wins_and_others_are_excluded() {
        let base = Survey {
            id: uuid::Uuid::now_v7(),
            version: 1,
            content: content(&[(QuestionType::Csat, true)]),
            trigger: Trigger::TicketResolved,
            channel: None,
            send_delay: 0,
            customer_cooldown: 0,
            regions: Vec::new(),
            ticket_kinds: Vec::new(),
            ticket_channels: Vec::new(),
            enabled: true,
            creator: Actor::system(),
            create_time: 0,
            update_time: 30,
        };
        let after_sales = Survey {
            id: uuid::Uuid::now_v7(),
            ticket_kinds: vec![TicketKind::AfterSales],
            update_time: 10,
            ..base.clone()
        };
        let after_sales_by_phone = Survey {
            id: uuid::Uuid::now_v7(),
            ticket_kinds: vec![TicketKind::AfterSales, TicketKind::Complaint],
            ticket_channels: vec![Channel::Phone],
            update_time: 5,
            ..base.clone()
        };
        let all = vec![
            base.clone(),
            after_sales.clone(),
            after_sales_by_phone.clone(),
        ];
        let target = |kind, channel| Target {
            region: "cn-east",
            kind: Some(kind),
            channel: Some(channel),
        };
        let pick = |kind, channel| matching_survey(&all, &target(kind, channel)).map(|s| s.id);
        assert_eq!(
            pick(TicketKind::AfterSales, Channel::Phone),
            Some(after_sales_by_phone.id)
        );
        assert_eq!(
            pick(TicketKind::AfterSales, Channel::Web),
            Some(after_sales.id)
        );
        assert_eq!(
            pick(TicketKind::Complaint, Channel::Phone),
            Some(after_sales_by_phone.id)
        );
        assert_eq!(pick(TicketKind::Inquiry, Channel::Phone), Some(base.id));
        // Without the unscoped survey an inquiry gets nothing, and an unknown kind never
        // matches a kind-scoped survey.
        assert_eq!(
            matching_survey(&all[1..], &target(TicketKind::Inquiry, Channel::Phone)),
            None
        );
        let unknown = Target {
            region: "cn-east",
            kind: None,
            channel: Some(Channel::Phone),
        };
        assert_eq!(matching_survey(&all[1..], &unknown), None);
    }
}

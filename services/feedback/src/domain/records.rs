//! The feedback resources as the service keeps them (plain data: the store reads and writes
//! them, `convert` turns them into messages).

use uuid::Uuid;

use super::classify::Classification;
use super::values::{Actor, Channel, FollowUpStatus, InvitationStatus, Method, Outcome, Reason};

/// An invitation to answer a survey.
#[derive(Debug, Clone, PartialEq)]
pub struct Invitation {
    /// Its id.
    pub id: Uuid,
    /// The survey.
    pub survey_id: Uuid,
    /// The survey version it was made with (its questions and expiry).
    pub survey_version: i64,
    /// `customers/{id}`.
    pub customer: String,
    /// `tickets/{id}` or empty.
    pub ticket: String,
    /// The channel.
    pub channel: Channel,
    /// The language.
    pub language: String,
    /// `followUps/{id}` it re-surveys, or empty.
    pub follow_up: String,
    /// Status.
    pub status: InvitationStatus,
    /// When to send.
    pub schedule_time: i64,
    /// When sent.
    pub send_time: Option<i64>,
    /// When it expires (set when sent).
    pub expire_time: Option<i64>,
    /// When answered.
    pub answer_time: Option<i64>,
    /// The response id, or empty.
    pub response_id: String,
    /// Region, team, agent of the ticket.
    pub region: String,
    /// Team.
    pub team: String,
    /// Agent.
    pub agent: String,
    /// Who created it.
    pub creator: Actor,
    /// Version.
    pub version: i64,
    /// Created.
    pub create_time: i64,
    /// Changed.
    pub update_time: i64,
}

impl Invitation {
    /// `surveys/{survey}/invitations/{id}`.
    pub fn name(&self) -> String {
        format!("surveys/{}/invitations/{}", self.survey_id, self.id)
    }

    /// The status as of `now`: a sent invitation past its expiry is expired.
    pub fn status_at(&self, now: i64) -> InvitationStatus {
        match (self.status, self.expire_time) {
            (InvitationStatus::Sent, Some(expire)) if expire <= now => InvitationStatus::Expired,
            (status, _) => status,
        }
    }
}

/// A stored classification.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredClassification {
    /// The classification.
    pub value: Classification,
    /// Rules or manual.
    pub method: Method,
    /// A person's note.
    pub note: String,
    /// Who classified.
    pub classifier: Actor,
    /// The classifier version (`rules-zh-en-1`, or `manual`).
    pub classifier_version: String,
    /// When.
    pub classify_time: i64,
}

/// A survey response.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// Id.
    pub id: Uuid,
    /// The invitation.
    pub invitation_id: Uuid,
    /// The survey.
    pub survey_id: Uuid,
    /// The customer.
    pub customer: String,
    /// The ticket.
    pub ticket: String,
    /// Scores.
    pub csat: Option<i32>,
    /// NPS.
    pub nps: Option<i32>,
    /// CES.
    pub ces: Option<i32>,
    /// The comment.
    pub comment: String,
    /// Its language.
    pub language: String,
    /// The channel answered on.
    pub channel: Channel,
    /// Whether a detractor.
    pub detractor: bool,
    /// The follow-up it opened.
    pub triggered_follow_up: String,
    /// The follow-up it answers.
    pub answered_follow_up: String,
    /// The response that led to that follow-up.
    pub previous_response: String,
    /// Region, team, agent.
    pub region: String,
    /// Team.
    pub team: String,
    /// Agent.
    pub agent: String,
    /// Who recorded it.
    pub recorder: Actor,
    /// Version.
    pub version: i64,
    /// Created.
    pub create_time: i64,
    /// Changed.
    pub update_time: i64,
    /// The comment's classification.
    pub classification: Option<StoredClassification>,
}

impl Response {
    /// `responses/{id}`.
    pub fn name(&self) -> String {
        format!("responses/{}", self.id)
    }
}

/// Unsolicited feedback.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackItem {
    /// Id.
    pub id: Uuid,
    /// Channel.
    pub channel: Channel,
    /// Customer or empty.
    pub customer: String,
    /// Ticket or empty.
    pub ticket: String,
    /// Product.
    pub product: String,
    /// Region.
    pub region: String,
    /// Subject.
    pub subject: String,
    /// Text.
    pub text: String,
    /// Language.
    pub language: String,
    /// Source URI.
    pub source_uri: String,
    /// When received.
    pub receive_time: i64,
    /// The follow-up it opened.
    pub triggered_follow_up: String,
    /// Who recorded it.
    pub recorder: Actor,
    /// Version.
    pub version: i64,
    /// Created.
    pub create_time: i64,
    /// Changed.
    pub update_time: i64,
    /// Classification.
    pub classification: Option<StoredClassification>,
}

impl FeedbackItem {
    /// `feedbackItems/{id}`.
    pub fn name(&self) -> String {
        format!("feedbackItems/{}", self.id)
    }
}

/// What a follow-up is opened from, before its ticket exists.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingFollowUp {
    /// The follow-up's id (also the follow-up ticket's request id).
    pub id: Uuid,
    /// `responses/{id}` or `feedbackItems/{id}`.
    pub source_feedback: String,
    /// Why.
    pub reasons: Vec<Reason>,
    /// The customer.
    pub customer: String,
    /// The original ticket or empty.
    pub original_ticket: String,
    /// The survey of the source response, or empty.
    pub survey_id: String,
    /// The feedback's channel.
    pub channel: Channel,
    /// Region, team, agent.
    pub region: String,
    /// Team.
    pub team: String,
    /// Agent.
    pub agent: String,
    /// Language of the feedback.
    pub language: String,
    /// What the customer said (for the ticket's description).
    pub summary: String,
    /// When the customer must be contacted.
    pub due_time: i64,
    /// Who caused it.
    pub actor: Actor,
    /// Attempts so far.
    pub attempts: i64,
    /// When opened.
    pub create_time: i64,
}

/// A follow-up.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowUp {
    /// Id.
    pub id: Uuid,
    /// Source.
    pub source_feedback: String,
    /// Reasons.
    pub reasons: Vec<Reason>,
    /// Customer.
    pub customer: String,
    /// The follow-up ticket.
    pub ticket: String,
    /// The original ticket.
    pub original_ticket: String,
    /// Survey of the source response.
    pub survey_id: String,
    /// Channel of the source feedback.
    pub channel: Channel,
    /// Owner.
    pub assignee: String,
    /// Due.
    pub due_time: i64,
    /// Due as opened.
    pub original_due_time: i64,
    /// Status.
    pub status: FollowUpStatus,
    /// Missed the original due time.
    pub overdue: bool,
    /// First contact.
    pub contact_time: Option<i64>,
    /// Contact channel.
    pub contact_channel: Option<Channel>,
    /// Contacted by the original due time.
    pub on_time: bool,
    /// Outcome.
    pub outcome: Option<Outcome>,
    /// Notes.
    pub notes: String,
    /// Re-survey invitation name.
    pub resurvey_invitation: String,
    /// Region, team, agent.
    pub region: String,
    /// Team.
    pub team: String,
    /// Agent.
    pub agent: String,
    /// Who closed it.
    pub closer: Option<Actor>,
    /// When closed.
    pub close_time: Option<i64>,
    /// Version.
    pub version: i64,
    /// Created.
    pub create_time: i64,
    /// Changed.
    pub update_time: i64,
}

impl FollowUp {
    /// `followUps/{id}`.
    pub fn name(&self) -> String {
        format!("followUps/{}", self.id)
    }
}

/// Reasons as stored: their numbers, comma-separated.
pub fn reasons_to_text(reasons: &[Reason]) -> String {
    reasons
        .iter()
        .map(|r| r.number().to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Stored reasons.
pub fn reasons_from_text(text: &str) -> Vec<Reason> {
    text.split(',')
        .filter_map(|n| n.parse().ok().and_then(Reason::from_number))
        .collect()
}

//! Responses, feedback items and their classifications; the pending follow-ups they open.

use aftercare_platform::events::append;
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};
use uuid::Uuid;

use super::invitations::get_in;
use super::query::{Field, Kind, Where};
use super::{RequestKey, Store, boolean, int, opt_int, remember, text, uuid};
use crate::domain::classify::Classification;
use crate::domain::follow_up::is_severe;
use crate::domain::records::{
    FeedbackItem, PendingFollowUp, Response, StoredClassification, reasons_to_text,
};
use crate::domain::values::{Actor, Channel, InvitationStatus, Method, Sentiment, Severity, Topic};
use crate::error::{Error, FEEDBACK_ITEM, INVITATION, RESPONSE, Result};
use crate::events;

const RESPONSE_COLUMNS: &str = "id, invitation_id, survey_id, customer, ticket, csat_score, nps_score, ces_score,
    comment, language, channel, detractor, triggered_follow_up, answered_follow_up, previous_response, region,
    team, agent, recorder, version, create_time, update_time";

const ITEM_COLUMNS: &str =
    "id, channel, customer, ticket, product, region, subject, text, language, source_uri,
    receive_time, triggered_follow_up, recorder, version, create_time, update_time";

const CLASS_COLUMNS: &str =
    "topics, severity, sentiment, sentiment_score, confidence, method, matched_terms, note,
    classifier, classifier_version, classify_time";

fn small(row: &AnyRow, column: &str) -> Result<Option<i32>> {
    Ok(opt_int(row, column)?.and_then(|v| i32::try_from(v).ok()))
}

fn response(row: &AnyRow) -> Result<Response> {
    Ok(Response {
        id: uuid(row, "id")?,
        invitation_id: uuid(row, "invitation_id")?,
        survey_id: uuid(row, "survey_id")?,
        customer: text(row, "customer")?,
        ticket: text(row, "ticket")?,
        csat: small(row, "csat_score")?,
        nps: small(row, "nps_score")?,
        ces: small(row, "ces_score")?,
        comment: text(row, "comment")?,
        language: text(row, "language")?,
        channel: Channel::from_number(int(row, "channel")?).unwrap_or(Channel::Web),
        detractor: boolean(row, "detractor")?,
        triggered_follow_up: text(row, "triggered_follow_up")?,
        answered_follow_up: text(row, "answered_follow_up")?,
        previous_response: text(row, "previous_response")?,
        region: text(row, "region")?,
        team: text(row, "team")?,
        agent: text(row, "agent")?,
        recorder: Actor::from_json(&text(row, "recorder")?),
        version: int(row, "version")?,
        create_time: int(row, "create_time")?,
        update_time: int(row, "update_time")?,
        classification: None,
    })
}

fn item(row: &AnyRow) -> Result<FeedbackItem> {
    Ok(FeedbackItem {
        id: uuid(row, "id")?,
        channel: Channel::from_number(int(row, "channel")?).unwrap_or(Channel::Web),
        customer: text(row, "customer")?,
        ticket: text(row, "ticket")?,
        product: text(row, "product")?,
        region: text(row, "region")?,
        subject: text(row, "subject")?,
        text: text(row, "text")?,
        language: text(row, "language")?,
        source_uri: text(row, "source_uri")?,
        receive_time: int(row, "receive_time")?,
        triggered_follow_up: text(row, "triggered_follow_up")?,
        recorder: Actor::from_json(&text(row, "recorder")?),
        version: int(row, "version")?,
        create_time: int(row, "create_time")?,
        update_time: int(row, "update_time")?,
        classification: None,
    })
}

fn classification(row: &AnyRow) -> Result<StoredClassification> {
    let topics = text(row, "topics")?
        .split(',')
        .filter_map(|n| n.parse().ok().and_then(Topic::from_number))
        .collect();
    Ok(StoredClassification {
        value: Classification {
            topics,
            severity: Severity::from_number(int(row, "severity")?).unwrap_or(Severity::Low),
            sentiment: Sentiment::from_number(int(row, "sentiment")?).unwrap_or(Sentiment::Neutral),
            score: sqlx::Row::try_get(row, "sentiment_score")?,
            confidence: sqlx::Row::try_get(row, "confidence")?,
            matched_terms: serde_json::from_str(&text(row, "matched_terms")?).unwrap_or_default(),
        },
        method: Method::from_number(int(row, "method")?).unwrap_or(Method::Rules),
        note: text(row, "note")?,
        classifier: Actor::from_json(&text(row, "classifier")?),
        classifier_version: text(row, "classifier_version")?,
        classify_time: int(row, "classify_time")?,
    })
}

/// Writes `stored` as the classification of `feedback` (replacing any), and its history row.
async fn write_classification(
    tx: &mut Transaction<'_, Any>,
    feedback: &str,
    stored: &StoredClassification,
) -> Result<()> {
    sqlx::query("DELETE FROM classifications WHERE feedback = $1")
        .bind(feedback)
        .execute(&mut **tx)
        .await?;
    let topics = stored
        .value
        .topics
        .iter()
        .map(|t| t.number().to_string())
        .collect::<Vec<_>>()
        .join(",");
    sqlx::query(&format!(
        "INSERT INTO classifications (feedback, topic, {CLASS_COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(feedback)
    .bind(i64::from(stored.value.topic().number()))
    .bind(topics)
    .bind(i64::from(stored.value.severity.number()))
    .bind(i64::from(stored.value.sentiment.number()))
    .bind(stored.value.score)
    .bind(stored.value.confidence)
    .bind(i64::from(stored.method.number()))
    .bind(serde_json::to_string(&stored.value.matched_terms).unwrap_or_default())
    .bind(&stored.note)
    .bind(stored.classifier.to_json())
    .bind(&stored.classifier_version)
    .bind(stored.classify_time)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO classification_history (id, feedback, topic, severity, sentiment, sentiment_score, method, note,
            classifier, classifier_version, classify_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(feedback)
    .bind(i64::from(stored.value.topic().number()))
    .bind(i64::from(stored.value.severity.number()))
    .bind(i64::from(stored.value.sentiment.number()))
    .bind(stored.value.score)
    .bind(i64::from(stored.method.number()))
    .bind(&stored.note)
    .bind(stored.classifier.to_json())
    .bind(&stored.classifier_version)
    .bind(stored.classify_time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Queues `pending` unless the feedback already has a follow-up (pending or opened).
pub(super) async fn queue_follow_up(
    tx: &mut Transaction<'_, Any>,
    pending: &PendingFollowUp,
) -> Result<bool> {
    let existing: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM pending_follow_ups WHERE source_feedback = $1)
              + (SELECT COUNT(*) FROM follow_ups WHERE source_feedback = $2)",
    )
    .bind(&pending.source_feedback)
    .bind(&pending.source_feedback)
    .fetch_one(&mut **tx)
    .await?;
    if existing > 0 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO pending_follow_ups (id, source_feedback, reasons, customer, original_ticket, survey_id, channel,
            region, team, agent, language, summary, due_time, actor, attempts, next_attempt_time, create_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 0, $15, $16)",
    )
    .bind(pending.id.to_string())
    .bind(&pending.source_feedback)
    .bind(reasons_to_text(&pending.reasons))
    .bind(&pending.customer)
    .bind(&pending.original_ticket)
    .bind(&pending.survey_id)
    .bind(i64::from(pending.channel.number()))
    .bind(&pending.region)
    .bind(&pending.team)
    .bind(&pending.agent)
    .bind(&pending.language)
    .bind(&pending.summary)
    .bind(pending.due_time)
    .bind(pending.actor.to_json())
    .bind(pending.create_time)
    .bind(pending.create_time)
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

/// The classification of `feedback`, if any.
async fn classification_of(
    pool: &sqlx::AnyPool,
    feedback: &str,
) -> Result<Option<StoredClassification>> {
    let row = sqlx::query(&format!(
        "SELECT {CLASS_COLUMNS} FROM classifications WHERE feedback = $1"
    ))
    .bind(feedback)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(classification).transpose()
}

/// A response to record, with what it may open.
#[derive(Debug, Clone)]
pub struct NewResponse {
    /// The response.
    pub response: Response,
    /// The follow-up to open, if needed.
    pub follow_up: Option<PendingFollowUp>,
    /// The request key.
    pub key: Option<RequestKey>,
}

impl Store {
    /// Records a response to its invitation (which must be `SENT` and not expired, checked in
    /// the transaction), its classification, the follow-up it needs, and the events.
    pub async fn create_response(&self, new: &NewResponse, now: i64) -> Result<()> {
        let r = &new.response;
        let mut tx = self.begin().await?;
        let invitation = get_in(&mut tx, r.invitation_id).await?.ok_or_else(|| {
            Error::not_found(
                INVITATION,
                format!("surveys/-/invitations/{}", r.invitation_id),
            )
        })?;
        match invitation.status_at(now) {
            InvitationStatus::Sent => {}
            InvitationStatus::Answered => {
                return Err(Error::Precondition {
                    kind: "ANSWERED",
                    subject: invitation.name(),
                    description: "the invitation was already answered".into(),
                });
            }
            InvitationStatus::Expired => {
                return Err(Error::Precondition {
                    kind: "EXPIRED",
                    subject: invitation.name(),
                    description: "the invitation has expired".into(),
                });
            }
            InvitationStatus::Pending => {
                return Err(Error::state(
                    invitation.name(),
                    "the invitation has not been sent yet",
                ));
            }
        }
        let changed = sqlx::query(
            "UPDATE invitations SET status = $1, answer_time = $2, response_id = $3, version = version + 1,
                update_time = $4 WHERE id = $5 AND status = $6",
        )
        .bind(i64::from(InvitationStatus::Answered.number()))
        .bind(r.create_time)
        .bind(r.id.to_string())
        .bind(now)
        .bind(r.invitation_id.to_string())
        .bind(i64::from(InvitationStatus::Sent.number()))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(Error::Precondition {
                kind: "ANSWERED",
                subject: invitation.name(),
                description: "the invitation was already answered".into(),
            });
        }
        sqlx::query(&format!(
            "INSERT INTO responses ({RESPONSE_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)"
        ))
        .bind(r.id.to_string())
        .bind(r.invitation_id.to_string())
        .bind(r.survey_id.to_string())
        .bind(&r.customer)
        .bind(&r.ticket)
        .bind(r.csat.map(i64::from))
        .bind(r.nps.map(i64::from))
        .bind(r.ces.map(i64::from))
        .bind(&r.comment)
        .bind(&r.language)
        .bind(i64::from(r.channel.number()))
        .bind(i64::from(r.detractor))
        .bind(&r.triggered_follow_up)
        .bind(&r.answered_follow_up)
        .bind(&r.previous_response)
        .bind(&r.region)
        .bind(&r.team)
        .bind(&r.agent)
        .bind(r.recorder.to_json())
        .bind(r.version)
        .bind(r.create_time)
        .bind(r.update_time)
        .execute(&mut *tx)
        .await?;
        append(
            &mut tx,
            "feedback",
            &r.name(),
            &events::response_received(r),
        )
        .await?;
        if let Some(stored) = &r.classification {
            write_classification(&mut tx, &r.name(), stored).await?;
            let classified = events::classified(
                &r.name(),
                &r.customer,
                &r.ticket,
                &r.region,
                &r.team,
                &r.agent,
                r.channel,
                stored,
                None,
            );
            append(&mut tx, "feedback", &r.name(), &classified).await?;
        }
        if let Some(pending) = &new.follow_up {
            queue_follow_up(&mut tx, pending).await?;
        }
        remember(&mut tx, new.key.as_ref(), &r.name(), now).await?;
        self.commit(tx).await
    }

    /// The response `id`, with its classification.
    pub async fn response(&self, id: Uuid) -> Result<Response> {
        let row = sqlx::query(&format!(
            "SELECT {RESPONSE_COLUMNS} FROM responses WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(self.db.reader())
        .await?
        .ok_or_else(|| Error::not_found(RESPONSE, format!("responses/{id}")))?;
        let mut r = response(&row)?;
        r.classification = classification_of(self.db.reader(), &r.name()).await?;
        Ok(r)
    }

    /// Responses matching `filter` (columns prefixed `r.`, classification `c.`), newest first.
    pub async fn list_responses(
        &self,
        mut filter: Where,
        after: Option<(i64, String)>,
        limit: i64,
    ) -> Result<Vec<Response>> {
        if let Some((key, id)) = after {
            filter.after("r.create_time", "r.id", key, &id);
        }
        let columns = RESPONSE_COLUMNS
            .split(',')
            .map(|c| format!("r.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns} FROM responses r LEFT JOIN classifications c ON c.feedback = 'responses/' || r.id{}
             ORDER BY r.create_time DESC, r.id DESC LIMIT {limit}",
            filter.sql()
        );
        let rows = filter
            .apply(sqlx::query(&sql))
            .fetch_all(self.db.reader())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut r = response(row)?;
            r.classification = classification_of(self.db.reader(), &r.name()).await?;
            out.push(r);
        }
        Ok(out)
    }

    /// Records a feedback item, its classification, the follow-up it needs and the events.
    pub async fn create_item(
        &self,
        item: &FeedbackItem,
        follow_up: Option<&PendingFollowUp>,
        key: Option<&RequestKey>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO feedback_items ({ITEM_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        ))
        .bind(item.id.to_string())
        .bind(i64::from(item.channel.number()))
        .bind(&item.customer)
        .bind(&item.ticket)
        .bind(&item.product)
        .bind(&item.region)
        .bind(&item.subject)
        .bind(&item.text)
        .bind(&item.language)
        .bind(&item.source_uri)
        .bind(item.receive_time)
        .bind(&item.triggered_follow_up)
        .bind(item.recorder.to_json())
        .bind(item.version)
        .bind(item.create_time)
        .bind(item.update_time)
        .execute(&mut *tx)
        .await?;
        append(
            &mut tx,
            "feedback",
            &item.name(),
            &events::item_received(item),
        )
        .await?;
        if let Some(stored) = &item.classification {
            write_classification(&mut tx, &item.name(), stored).await?;
            let classified = events::classified(
                &item.name(),
                &item.customer,
                &item.ticket,
                &item.region,
                "",
                "",
                item.channel,
                stored,
                None,
            );
            append(&mut tx, "feedback", &item.name(), &classified).await?;
        }
        if let Some(pending) = follow_up {
            queue_follow_up(&mut tx, pending).await?;
        }
        remember(&mut tx, key, &item.name(), item.create_time).await?;
        self.commit(tx).await
    }

    /// The feedback item `id`.
    pub async fn item(&self, id: Uuid) -> Result<FeedbackItem> {
        let row = sqlx::query(&format!(
            "SELECT {ITEM_COLUMNS} FROM feedback_items WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(self.db.reader())
        .await?
        .ok_or_else(|| Error::not_found(FEEDBACK_ITEM, format!("feedbackItems/{id}")))?;
        let mut i = item(&row)?;
        i.classification = classification_of(self.db.reader(), &i.name()).await?;
        Ok(i)
    }

    /// Items matching `filter` (columns `i.`, classification `c.`), newest `receive_time` first.
    pub async fn list_items(
        &self,
        mut filter: Where,
        after: Option<(i64, String)>,
        limit: i64,
    ) -> Result<Vec<FeedbackItem>> {
        if let Some((key, id)) = after {
            filter.after("i.receive_time", "i.id", key, &id);
        }
        let columns = ITEM_COLUMNS
            .split(',')
            .map(|c| format!("i.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns} FROM feedback_items i LEFT JOIN classifications c ON c.feedback = 'feedbackItems/' || i.id{}
             ORDER BY i.receive_time DESC, i.id DESC LIMIT {limit}",
            filter.sql()
        );
        let rows = filter
            .apply(sqlx::query(&sql))
            .fetch_all(self.db.reader())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut i = item(row)?;
            i.classification = classification_of(self.db.reader(), &i.name()).await?;
            out.push(i);
        }
        Ok(out)
    }

    /// Replaces the classification of `feedback` (a response or an item at `expected`
    /// version) by a person's; queues `follow_up` when the new one is severe and the feedback
    /// has none. Returns whether a follow-up was queued.
    #[allow(clippy::too_many_arguments)]
    pub async fn reclassify(
        &self,
        feedback: &str,
        expected: i64,
        stored: &StoredClassification,
        previous: &StoredClassification,
        context: &events::Context,
        follow_up: Option<&PendingFollowUp>,
        now: i64,
    ) -> Result<bool> {
        let table = if feedback.starts_with("responses/") {
            "responses"
        } else {
            "feedback_items"
        };
        let id = feedback.rsplit('/').next().unwrap_or_default();
        let mut tx = self.begin().await?;
        let changed = sqlx::query(&format!(
            "UPDATE {table} SET version = version + 1, update_time = $1 WHERE id = $2 AND version = $3"
        ))
        .bind(now)
        .bind(id)
        .bind(expected)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(Error::StaleEtag(feedback.to_owned()));
        }
        write_classification(&mut tx, feedback, stored).await?;
        let event = events::classified(
            feedback,
            &context.customer,
            &context.ticket,
            &context.region,
            &context.team,
            &context.agent,
            context.channel,
            stored,
            Some(previous),
        );
        append(&mut tx, "feedback", feedback, &event).await?;
        let queued = match follow_up {
            Some(pending) if is_severe(&stored.value) => queue_follow_up(&mut tx, pending).await?,
            _ => false,
        };
        self.commit(tx).await?;
        Ok(queued)
    }
}

/// The response filter's fields.
pub const RESPONSE_FIELDS: &[Field] = &[
    ("survey", "('surveys/' || r.survey_id) {op} {}", Kind::Text),
    (
        "invitation",
        "('surveys/' || r.survey_id || '/invitations/' || r.invitation_id) {op} {}",
        Kind::Text,
    ),
    ("customer", "r.customer", Kind::Text),
    ("ticket", "r.ticket", Kind::Text),
    ("team", "r.team", Kind::Text),
    ("agent", "r.agent", Kind::Text),
    ("answered_follow_up", "r.answered_follow_up", Kind::Text),
    ("triggered_follow_up", "r.triggered_follow_up", Kind::Text),
    ("region", "r.region", Kind::Text),
    (
        "channel",
        "r.channel",
        Kind::Enum(|n| Channel::from_name(n).map(Channel::number)),
    ),
    ("csat_score", "r.csat_score", Kind::Int),
    ("nps_score", "r.nps_score", Kind::Int),
    ("ces_score", "r.ces_score", Kind::Int),
    (
        "nps_category",
        "(CASE WHEN r.nps_score IS NULL THEN 0 WHEN r.nps_score <= 6 THEN 1 WHEN r.nps_score <= 8 THEN 2 ELSE 3 END) {op} {}",
        Kind::Enum(|n| match n {
            "DETRACTOR" => Some(1),
            "PASSIVE" => Some(2),
            "PROMOTER" => Some(3),
            _ => None,
        }),
    ),
    ("detractor", "r.detractor", Kind::Bool),
    (
        "topic",
        TOPIC_CONDITION,
        Kind::Enum(|n| Topic::from_name(n).map(Topic::number)),
    ),
    (
        "severity",
        "COALESCE(c.severity, 0)",
        Kind::Enum(|n| Severity::from_name(n).map(Severity::number)),
    ),
    (
        "sentiment",
        "COALESCE(c.sentiment, 0)",
        Kind::Enum(|n| Sentiment::from_name(n).map(Sentiment::number)),
    ),
    (
        "method",
        "COALESCE(c.method, 0)",
        Kind::Enum(|n| Method::from_name(n).map(Method::number)),
    ),
    ("confidence", "c.confidence", Kind::Float),
    ("create_time", "r.create_time", Kind::Time),
];

/// `topic = X` matches feedback with X among its topics (`c.topics`, the numbers joined by
/// commas, primary first); `topic != X` feedback without it.
const TOPIC_CONDITION: &str = "(CASE WHEN (',' || COALESCE(c.topics, '') || ',') LIKE ('%,' || CAST({} AS TEXT) || ',%') THEN 1 ELSE 0 END) {op} 1";

/// The feedback item filter's fields.
pub const ITEM_FIELDS: &[Field] = &[
    (
        "channel",
        "i.channel",
        Kind::Enum(|n| Channel::from_name(n).map(Channel::number)),
    ),
    ("customer", "i.customer", Kind::Text),
    ("ticket", "i.ticket", Kind::Text),
    ("product", "i.product", Kind::Text),
    ("region", "i.region", Kind::Text),
    ("language", "i.language", Kind::Text),
    (
        "topic",
        TOPIC_CONDITION,
        Kind::Enum(|n| Topic::from_name(n).map(Topic::number)),
    ),
    (
        "severity",
        "COALESCE(c.severity, 0)",
        Kind::Enum(|n| Severity::from_name(n).map(Severity::number)),
    ),
    (
        "sentiment",
        "COALESCE(c.sentiment, 0)",
        Kind::Enum(|n| Sentiment::from_name(n).map(Sentiment::number)),
    ),
    (
        "method",
        "COALESCE(c.method, 0)",
        Kind::Enum(|n| Method::from_name(n).map(Method::number)),
    ),
    ("confidence", "c.confidence", Kind::Float),
    ("triggered_follow_up", "i.triggered_follow_up", Kind::Text),
    ("receive_time", "i.receive_time", Kind::Time),
    ("create_time", "i.create_time", Kind::Time),
];

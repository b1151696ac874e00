//! Follow-ups: the pending queue retried until the ticket exists, and the follow-ups.

use aftercare_platform::events::append;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::invitations::insert as insert_invitation;
use super::query::{Field, Kind, Where};
use super::{Store, boolean, int, opt_int, text, uuid};
use crate::domain::follow_up::{FollowUpState, becomes_overdue};
use crate::domain::invite::Delivery;
use crate::domain::records::{
    FollowUp, Invitation, PendingFollowUp, reasons_from_text, reasons_to_text,
};
use crate::domain::values::{Actor, Channel, FollowUpStatus, Outcome, Reason};
use crate::error::{Error, FOLLOW_UP, Result};
use crate::events;

const COLUMNS: &str = "id, source_feedback, reasons, customer, ticket, original_ticket, survey_id, channel, assignee,
    due_time, original_due_time, status, overdue, contact_time, contact_channel, on_time, outcome, notes,
    resurvey_invitation, region, team, agent, closer, close_time, version, create_time, update_time";

fn follow_up(row: &AnyRow) -> Result<FollowUp> {
    let closer = text(row, "closer")?;
    Ok(FollowUp {
        id: uuid(row, "id")?,
        source_feedback: text(row, "source_feedback")?,
        reasons: reasons_from_text(&text(row, "reasons")?),
        customer: text(row, "customer")?,
        ticket: text(row, "ticket")?,
        original_ticket: text(row, "original_ticket")?,
        survey_id: text(row, "survey_id")?,
        channel: Channel::from_number(int(row, "channel")?).unwrap_or(Channel::Web),
        assignee: text(row, "assignee")?,
        due_time: int(row, "due_time")?,
        original_due_time: int(row, "original_due_time")?,
        status: FollowUpStatus::from_number(int(row, "status")?).unwrap_or(FollowUpStatus::Open),
        overdue: boolean(row, "overdue")?,
        contact_time: opt_int(row, "contact_time")?,
        contact_channel: Channel::from_number(int(row, "contact_channel")?),
        on_time: boolean(row, "on_time")?,
        outcome: Outcome::from_number(int(row, "outcome")?),
        notes: text(row, "notes")?,
        resurvey_invitation: text(row, "resurvey_invitation")?,
        region: text(row, "region")?,
        team: text(row, "team")?,
        agent: text(row, "agent")?,
        closer: (!closer.is_empty()).then(|| Actor::from_json(&closer)),
        close_time: opt_int(row, "close_time")?,
        version: int(row, "version")?,
        create_time: int(row, "create_time")?,
        update_time: int(row, "update_time")?,
    })
}

fn pending(row: &AnyRow) -> Result<PendingFollowUp> {
    Ok(PendingFollowUp {
        id: uuid(row, "id")?,
        source_feedback: text(row, "source_feedback")?,
        reasons: reasons_from_text(&text(row, "reasons")?),
        customer: text(row, "customer")?,
        original_ticket: text(row, "original_ticket")?,
        survey_id: text(row, "survey_id")?,
        channel: Channel::from_number(int(row, "channel")?).unwrap_or(Channel::Web),
        region: text(row, "region")?,
        team: text(row, "team")?,
        agent: text(row, "agent")?,
        language: text(row, "language")?,
        summary: text(row, "summary")?,
        due_time: int(row, "due_time")?,
        actor: Actor::from_json(&text(row, "actor")?),
        attempts: int(row, "attempts")?,
        create_time: int(row, "create_time")?,
    })
}

/// What closing a follow-up writes.
#[derive(Debug, Clone)]
pub struct Closing {
    /// The follow-up as closed.
    pub follow_up: FollowUp,
    /// The re-survey invitation, its token hash and its delivery, if one is sent.
    pub resurvey: Option<(Invitation, String, Delivery)>,
    /// The closing note (for the event).
    pub note: String,
}

impl Store {
    /// The pending follow-up of `source_feedback`, if its ticket is not made yet.
    pub async fn pending_for(&self, source_feedback: &str) -> Result<Option<PendingFollowUp>> {
        let row = sqlx::query(
            "SELECT id, source_feedback, reasons, customer, original_ticket, survey_id, channel, region, team, agent,
                language, summary, due_time, actor, attempts, create_time
             FROM pending_follow_ups WHERE source_feedback = $1",
        )
        .bind(source_feedback)
        .fetch_optional(self.db.reader())
        .await?;
        row.as_ref().map(pending).transpose()
    }

    /// Pending follow-ups due for an attempt at `now`.
    pub async fn pending_due(&self, now: i64, limit: i64) -> Result<Vec<PendingFollowUp>> {
        let rows = sqlx::query(&format!(
            "SELECT id, source_feedback, reasons, customer, original_ticket, survey_id, channel, region, team, agent,
                language, summary, due_time, actor, attempts, create_time
             FROM pending_follow_ups WHERE next_attempt_time <= $1 ORDER BY next_attempt_time LIMIT {limit}"
        ))
        .bind(now)
        .fetch_all(self.db.reader())
        .await?;
        rows.iter().map(pending).collect()
    }

    /// Records a failed attempt: tried again at `next`.
    pub async fn pending_failed(&self, id: Uuid, error: &str, next: i64) -> Result<()> {
        sqlx::query(
            "UPDATE pending_follow_ups SET attempts = attempts + 1, last_error = $1, next_attempt_time = $2 WHERE id = $3",
        )
        .bind(error.chars().take(500).collect::<String>())
        .bind(next)
        .bind(id.to_string())
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    /// Records the follow-up of `pending` now that its ticket `ticket` exists: the follow-up,
    /// the link on the source feedback and `FollowUpOpened`, and removes the pending row, in
    /// one transaction. Returns the follow-up (the existing one if another attempt won).
    pub async fn open_follow_up(
        &self,
        pending: &PendingFollowUp,
        ticket: &str,
        now: i64,
    ) -> Result<FollowUp> {
        let mut tx = self.begin().await?;
        let existing = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM follow_ups WHERE source_feedback = $1"
        ))
        .bind(&pending.source_feedback)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = existing {
            sqlx::query("DELETE FROM pending_follow_ups WHERE id = $1")
                .bind(pending.id.to_string())
                .execute(&mut *tx)
                .await?;
            self.commit(tx).await?;
            return follow_up(&row);
        }
        let f = FollowUp {
            id: pending.id,
            source_feedback: pending.source_feedback.clone(),
            reasons: pending.reasons.clone(),
            customer: pending.customer.clone(),
            ticket: ticket.to_owned(),
            original_ticket: pending.original_ticket.clone(),
            survey_id: pending.survey_id.clone(),
            channel: pending.channel,
            assignee: String::new(),
            due_time: pending.due_time,
            original_due_time: pending.due_time,
            status: FollowUpStatus::Open,
            overdue: false,
            contact_time: None,
            contact_channel: None,
            on_time: false,
            outcome: None,
            notes: String::new(),
            resurvey_invitation: String::new(),
            region: pending.region.clone(),
            team: pending.team.clone(),
            agent: pending.agent.clone(),
            closer: None,
            close_time: None,
            version: 1,
            create_time: now,
            update_time: now,
        };
        // The immediate attempt and the sweep may both get here for one pending row: the
        // second insert does nothing, and that attempt answers with the first one's record.
        let inserted = sqlx::query(&format!(
            "INSERT INTO follow_ups ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27) ON CONFLICT DO NOTHING"
        ))
        .bind(f.id.to_string())
        .bind(&f.source_feedback)
        .bind(reasons_to_text(&f.reasons))
        .bind(&f.customer)
        .bind(&f.ticket)
        .bind(&f.original_ticket)
        .bind(&f.survey_id)
        .bind(i64::from(f.channel.number()))
        .bind(&f.assignee)
        .bind(f.due_time)
        .bind(f.original_due_time)
        .bind(i64::from(f.status.number()))
        .bind(0_i64)
        .bind(None::<i64>)
        .bind(0_i64)
        .bind(0_i64)
        .bind(0_i64)
        .bind("")
        .bind("")
        .bind(&f.region)
        .bind(&f.team)
        .bind(&f.agent)
        .bind("")
        .bind(None::<i64>)
        .bind(f.version)
        .bind(f.create_time)
        .bind(f.update_time)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            drop(tx);
            let row = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM follow_ups WHERE source_feedback = $1"
            ))
            .bind(&pending.source_feedback)
            .fetch_one(self.db.writer())
            .await?;
            return follow_up(&row);
        }
        let (table, id) = source_table(&f.source_feedback);
        sqlx::query(&format!(
            "UPDATE {table} SET triggered_follow_up = $1, version = version + 1, update_time = $2 WHERE id = $3"
        ))
        .bind(f.name())
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM pending_follow_ups WHERE id = $1")
            .bind(pending.id.to_string())
            .execute(&mut *tx)
            .await?;
        append(
            &mut tx,
            "feedback",
            &f.name(),
            &events::follow_up_opened(&f, &pending.actor),
        )
        .await?;
        self.commit(tx).await?;
        Ok(f)
    }

    /// The follow-up `id`.
    pub async fn follow_up(&self, id: Uuid) -> Result<FollowUp> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM follow_ups WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.db.reader())
            .await?
            .ok_or_else(|| Error::not_found(FOLLOW_UP, format!("followUps/{id}")))?;
        follow_up(&row)
    }

    /// Follow-ups matching `filter`, newest first.
    pub async fn list_follow_ups(
        &self,
        mut filter: Where,
        after: Option<(i64, String)>,
        limit: i64,
    ) -> Result<Vec<FollowUp>> {
        if let Some((key, id)) = after {
            filter.after("create_time", "id", key, &id);
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM follow_ups{} ORDER BY create_time DESC, id DESC LIMIT {limit}",
            filter.sql()
        );
        let rows = filter
            .apply(sqlx::query(&sql))
            .fetch_all(self.db.reader())
            .await?;
        rows.iter().map(follow_up).collect()
    }

    /// Writes the changed fields of `f` (assignee, due, status, contact, notes) if it is still
    /// at `expected`.
    pub async fn save_follow_up(&self, f: &FollowUp, expected: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        save(&mut tx, f, expected).await?;
        self.commit(tx).await
    }

    /// Closes the follow-up (at `expected`), sends the re-survey invitation if any, and
    /// publishes `FollowUpClosed`.
    pub async fn close_follow_up(&self, closing: &Closing, expected: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        if let Some((invitation, hash, delivery)) = &closing.resurvey {
            insert_invitation(&mut tx, invitation, hash, Some(delivery)).await?;
        }
        save(&mut tx, &closing.follow_up, expected).await?;
        let closer = closing
            .follow_up
            .closer
            .clone()
            .unwrap_or_else(Actor::system);
        append(
            &mut tx,
            "feedback",
            &closing.follow_up.name(),
            &events::follow_up_closed(&closing.follow_up, &closing.note, &closer),
        )
        .await?;
        self.commit(tx).await
    }

    /// Marks open follow-ups past due `OVERDUE` and publishes `FollowUpOverdue` for each.
    pub async fn mark_overdue(&self, now: i64, limit: i64) -> Result<usize> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM follow_ups WHERE status = $1 AND contact_time IS NULL AND due_time <= $2
             ORDER BY due_time LIMIT {limit}"
        ))
        .bind(i64::from(FollowUpStatus::Open.number()))
        .bind(now)
        .fetch_all(self.db.reader())
        .await?;
        let mut count = 0;
        for row in &rows {
            let mut f = follow_up(row)?;
            let state = FollowUpState {
                status: f.status,
                original_due_time: f.original_due_time,
                create_time: f.create_time,
                contact_time: f.contact_time,
                overdue: f.overdue,
            };
            if !becomes_overdue(&state, f.due_time, now) {
                continue;
            }
            let expected = f.version;
            f.status = FollowUpStatus::Overdue;
            f.overdue = true;
            f.version += 1;
            f.update_time = now;
            let mut tx = self.begin().await?;
            match save(&mut tx, &f, expected).await {
                Ok(()) => {}
                Err(Error::StaleEtag(_)) => continue,
                Err(other) => return Err(other),
            }
            append(
                &mut tx,
                "feedback",
                &f.name(),
                &events::follow_up_overdue(&f, now),
            )
            .await?;
            self.commit(tx).await?;
            count += 1;
        }
        Ok(count)
    }
}

fn source_table(source: &str) -> (&'static str, &str) {
    let id = source.rsplit('/').next().unwrap_or_default();
    if source.starts_with("responses/") {
        ("responses", id)
    } else {
        ("feedback_items", id)
    }
}

async fn save(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    f: &FollowUp,
    expected: i64,
) -> Result<()> {
    let changed = sqlx::query(
        "UPDATE follow_ups SET assignee = $1, due_time = $2, status = $3, overdue = $4, contact_time = $5,
            contact_channel = $6, on_time = $7, outcome = $8, notes = $9, resurvey_invitation = $10, closer = $11,
            close_time = $12, version = $13, update_time = $14
         WHERE id = $15 AND version = $16",
    )
    .bind(&f.assignee)
    .bind(f.due_time)
    .bind(i64::from(f.status.number()))
    .bind(i64::from(f.overdue))
    .bind(f.contact_time)
    .bind(f.contact_channel.map_or(0, |c| i64::from(c.number())))
    .bind(i64::from(f.on_time))
    .bind(f.outcome.map_or(0, |o| i64::from(o.number())))
    .bind(&f.notes)
    .bind(&f.resurvey_invitation)
    .bind(f.closer.as_ref().map(Actor::to_json).unwrap_or_default())
    .bind(f.close_time)
    .bind(f.version)
    .bind(f.update_time)
    .bind(f.id.to_string())
    .bind(expected)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(Error::StaleEtag(f.name()));
    }
    Ok(())
}

/// The follow-up filter's fields.
pub const FOLLOW_UP_FIELDS: &[Field] = &[
    (
        "status",
        "status",
        Kind::Enum(|n| FollowUpStatus::from_name(n).map(FollowUpStatus::number)),
    ),
    ("overdue", "overdue", Kind::Bool),
    ("on_time", "on_time", Kind::Bool),
    (
        "reason",
        "(',' || reasons || ',') LIKE ('%,' || CAST({} AS TEXT) || ',%')",
        Kind::Enum(|n| Reason::from_name(n).map(Reason::number)),
    ),
    (
        "outcome",
        "outcome",
        Kind::Enum(|n| Outcome::from_name(n).map(Outcome::number)),
    ),
    ("customer", "customer", Kind::Text),
    ("assignee", "assignee", Kind::Text),
    ("ticket", "ticket", Kind::Text),
    ("original_ticket", "original_ticket", Kind::Text),
    ("source_feedback", "source_feedback", Kind::Text),
    ("team", "team", Kind::Text),
    ("agent", "agent", Kind::Text),
    ("region", "region", Kind::Text),
    ("due_time", "due_time", Kind::Time),
    ("create_time", "create_time", Kind::Time),
    ("close_time", "close_time", Kind::Time),
];

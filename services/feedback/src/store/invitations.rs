//! Invitations, consents and reopened tickets.

use aftercare_platform::events::append;
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};
use uuid::Uuid;

use super::query::{Field, Kind, Where};
use super::{RequestKey, Store, int, opt_int, remember, text, uuid};
use crate::domain::invite::Delivery;
use crate::domain::records::Invitation;
use crate::domain::values::{Actor, Channel, InvitationStatus};
use crate::error::{Error, INVITATION, Result};
use crate::events;

const COLUMNS: &str = "id, survey_id, survey_version, customer, ticket, channel, language, follow_up, status,
    schedule_time, send_time, expire_time, answer_time, response_id, region, team, agent, creator, version,
    create_time, update_time";

fn invitation(row: &AnyRow) -> Result<Invitation> {
    Ok(Invitation {
        id: uuid(row, "id")?,
        survey_id: uuid(row, "survey_id")?,
        survey_version: int(row, "survey_version")?,
        customer: text(row, "customer")?,
        ticket: text(row, "ticket")?,
        channel: Channel::from_number(int(row, "channel")?).unwrap_or(Channel::Email),
        language: text(row, "language")?,
        follow_up: text(row, "follow_up")?,
        status: InvitationStatus::from_number(int(row, "status")?)
            .unwrap_or(InvitationStatus::Pending),
        schedule_time: int(row, "schedule_time")?,
        send_time: opt_int(row, "send_time")?,
        expire_time: opt_int(row, "expire_time")?,
        answer_time: opt_int(row, "answer_time")?,
        response_id: text(row, "response_id")?,
        region: text(row, "region")?,
        team: text(row, "team")?,
        agent: text(row, "agent")?,
        creator: Actor::from_json(&text(row, "creator")?),
        version: int(row, "version")?,
        create_time: int(row, "create_time")?,
        update_time: int(row, "update_time")?,
    })
}

/// Inserts `invitation` with its token's hash in `tx`; publishes `SurveyInvitationSent` when
/// it is sent at once, and `SurveyInvitationDelivery` when the service made it by itself
/// (`delivery`: nobody else holds its token). `ALREADY_EXISTS` when the ticket already has an
/// invitation.
pub(super) async fn insert(
    tx: &mut Transaction<'_, Any>,
    invitation: &Invitation,
    token_hash: &str,
    delivery: Option<&Delivery>,
) -> Result<()> {
    if !invitation.ticket.is_empty() {
        let existing: Option<String> =
            sqlx::query_scalar("SELECT id FROM invitations WHERE ticket = $1 AND follow_up = $2")
                .bind(&invitation.ticket)
                .bind(&invitation.follow_up)
                .fetch_optional(&mut **tx)
                .await?;
        if let Some(existing) = existing {
            return Err(Error::AlreadyExists {
                kind: INVITATION,
                name: existing,
                description: format!("{} already has an invitation", invitation.ticket),
            });
        }
    }
    sqlx::query(&format!(
        "INSERT INTO invitations ({COLUMNS}, token_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)"
    ))
    .bind(invitation.id.to_string())
    .bind(invitation.survey_id.to_string())
    .bind(invitation.survey_version)
    .bind(&invitation.customer)
    .bind(&invitation.ticket)
    .bind(i64::from(invitation.channel.number()))
    .bind(&invitation.language)
    .bind(&invitation.follow_up)
    .bind(i64::from(invitation.status.number()))
    .bind(invitation.schedule_time)
    .bind(invitation.send_time)
    .bind(invitation.expire_time)
    .bind(invitation.answer_time)
    .bind(&invitation.response_id)
    .bind(&invitation.region)
    .bind(&invitation.team)
    .bind(&invitation.agent)
    .bind(invitation.creator.to_json())
    .bind(invitation.version)
    .bind(invitation.create_time)
    .bind(invitation.update_time)
    .bind(token_hash)
    .execute(&mut **tx)
    .await?;
    if invitation.status == InvitationStatus::Sent {
        append(
            tx,
            "feedback",
            &invitation.name(),
            &events::invitation_sent(invitation),
        )
        .await?;
    }
    if let Some(delivery) = delivery.filter(|_| invitation.channel != Channel::Api) {
        append(
            tx,
            "feedback",
            &invitation.name(),
            &events::invitation_delivery(invitation, delivery),
        )
        .await?;
    }
    Ok(())
}

/// Whether `customer` withdrew survey consent on `channel` (as last reported).
pub(super) async fn consent_withdrawn(
    tx: &mut Transaction<'_, Any>,
    customer: &str,
    channel: Channel,
) -> Result<bool> {
    let withdrawn: Option<i64> = sqlx::query_scalar(
        "SELECT withdrawn FROM survey_consents WHERE customer = $1 AND channel = $2",
    )
    .bind(customer)
    .bind(i64::from(channel.number()))
    .fetch_optional(&mut **tx)
    .await?;
    Ok(withdrawn == Some(1))
}

/// When `customer` was last invited (by `survey`, or by any survey when `None`).
pub(super) async fn last_invited(
    tx: &mut Transaction<'_, Any>,
    customer: &str,
    survey: Option<Uuid>,
) -> Result<Option<i64>> {
    let last: Option<i64> =
        match survey {
            Some(survey) => sqlx::query_scalar(
                "SELECT MAX(create_time) FROM invitations WHERE customer = $1 AND survey_id = $2",
            )
            .bind(customer)
            .bind(survey.to_string())
            .fetch_one(&mut **tx)
            .await?,
            None => {
                sqlx::query_scalar("SELECT MAX(create_time) FROM invitations WHERE customer = $1")
                    .bind(customer)
                    .fetch_one(&mut **tx)
                    .await?
            }
        };
    Ok(last)
}

/// The invitation `id` in `tx`.
pub(super) async fn get_in(tx: &mut Transaction<'_, Any>, id: Uuid) -> Result<Option<Invitation>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM invitations WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(invitation).transpose()
}

/// The preferred language of `customer` as last reported, or empty.
pub(super) async fn customer_locale_in(
    tx: &mut Transaction<'_, Any>,
    customer: &str,
) -> Result<String> {
    let locale: Option<String> =
        sqlx::query_scalar("SELECT locale FROM customer_locales WHERE customer = $1")
            .bind(customer)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(locale.unwrap_or_default())
}

impl Store {
    /// The preferred language of `customer` as the customers service last reported it, or
    /// empty when unknown.
    pub async fn customer_locale(&self, customer: &str) -> Result<String> {
        let locale: Option<String> =
            sqlx::query_scalar("SELECT locale FROM customer_locales WHERE customer = $1")
                .bind(customer)
                .fetch_optional(self.db.reader())
                .await?;
        Ok(locale.unwrap_or_default())
    }

    /// Creates a manual invitation, remembering `key`; `FAILED_PRECONDITION` when the
    /// customer withdrew survey consent on its channel.
    pub async fn create_invitation(
        &self,
        invitation: &Invitation,
        token_hash: &str,
        key: Option<&RequestKey>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        if consent_withdrawn(&mut tx, &invitation.customer, invitation.channel).await? {
            return Err(Error::Precondition {
                kind: "CONSENT",
                subject: invitation.customer.clone(),
                description: format!(
                    "the customer withdrew consent for surveys on {}",
                    invitation.channel.name()
                ),
            });
        }
        insert(&mut tx, invitation, token_hash, None).await?;
        remember(&mut tx, key, &invitation.name(), invitation.create_time).await?;
        self.commit(tx).await
    }

    /// The invitation `id`, or `NOT_FOUND`.
    pub async fn invitation(&self, id: Uuid) -> Result<Invitation> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM invitations WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.db.reader())
            .await?
            .ok_or_else(|| Error::not_found(INVITATION, format!("surveys/-/invitations/{id}")))?;
        invitation(&row)
    }

    /// The invitation whose token hashes to `hash`, if any.
    pub async fn invitation_by_token(&self, hash: &str) -> Result<Option<Invitation>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM invitations WHERE token_hash = $1"
        ))
        .bind(hash)
        .fetch_optional(self.db.reader())
        .await?;
        row.as_ref().map(invitation).transpose()
    }

    /// Invitations matching `filter`, newest first.
    pub async fn list_invitations(
        &self,
        mut filter: Where,
        after: Option<(i64, String)>,
        limit: i64,
    ) -> Result<Vec<Invitation>> {
        if let Some((key, id)) = after {
            filter.after("create_time", "id", key, &id);
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM invitations{} ORDER BY create_time DESC, id DESC LIMIT {limit}",
            filter.sql()
        );
        let rows = filter
            .apply(sqlx::query(&sql))
            .fetch_all(self.db.reader())
            .await?;
        rows.iter().map(invitation).collect()
    }

    /// Sends the pending invitations due by `now` (at most `batch`): `SENT`, with their expiry,
    /// and `SurveyInvitationSent`; those of tickets reopened since are expired instead.
    pub async fn send_due_invitations(&self, now: i64, batch: i64) -> Result<usize> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM invitations WHERE status = $1 AND schedule_time <= $2
             ORDER BY schedule_time LIMIT {batch}"
        ))
        .bind(i64::from(InvitationStatus::Pending.number()))
        .bind(now)
        .fetch_all(self.db.reader())
        .await?;
        let mut sent = 0;
        for row in &rows {
            let mut invitation = invitation(row)?;
            let mut tx = self.begin().await?;
            let content_ttl: i64 = sqlx::query_scalar(
                "SELECT invitation_ttl FROM survey_versions WHERE survey_id = $1 AND version = $2",
            )
            .bind(invitation.survey_id.to_string())
            .bind(invitation.survey_version)
            .fetch_one(&mut *tx)
            .await?;
            let reopened: Option<i64> =
                sqlx::query_scalar("SELECT reopen_time FROM reopened_tickets WHERE ticket = $1")
                    .bind(&invitation.ticket)
                    .fetch_optional(&mut *tx)
                    .await?;
            let reopened = reopened.is_some_and(|t| t >= invitation.create_time);
            invitation.version += 1;
            invitation.update_time = now;
            if reopened {
                invitation.status = InvitationStatus::Expired;
            } else {
                invitation.status = InvitationStatus::Sent;
                invitation.send_time = Some(now);
                invitation.expire_time = Some(now + content_ttl);
            }
            let changed = sqlx::query(
                "UPDATE invitations SET status = $1, send_time = $2, expire_time = $3, version = $4, update_time = $5
                 WHERE id = $6 AND status = $7",
            )
            .bind(i64::from(invitation.status.number()))
            .bind(invitation.send_time)
            .bind(invitation.expire_time)
            .bind(invitation.version)
            .bind(now)
            .bind(invitation.id.to_string())
            .bind(i64::from(InvitationStatus::Pending.number()))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 1 && !reopened {
                append(
                    &mut tx,
                    "feedback",
                    &invitation.name(),
                    &events::invitation_sent(&invitation),
                )
                .await?;
                sent += 1;
            }
            self.commit(tx).await?;
        }
        Ok(sent)
    }

    /// Marks sent invitations past their expiry `EXPIRED`.
    pub async fn expire_invitations(&self, now: i64) -> Result<u64> {
        let mut tx = self.begin().await?;
        let changed = sqlx::query(
            "UPDATE invitations SET status = $1, version = version + 1, update_time = $2
             WHERE status = $3 AND expire_time <= $4",
        )
        .bind(i64::from(InvitationStatus::Expired.number()))
        .bind(now)
        .bind(i64::from(InvitationStatus::Sent.number()))
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        self.commit(tx).await?;
        Ok(changed)
    }
}

/// The invitation filter's fields.
pub const INVITATION_FIELDS: &[Field] = &[
    (
        "status",
        "status",
        Kind::Enum(|n| InvitationStatus::from_name(n).map(InvitationStatus::number)),
    ),
    ("customer", "customer", Kind::Text),
    ("ticket", "ticket", Kind::Text),
    ("follow_up", "follow_up", Kind::Text),
    (
        "channel",
        "channel",
        Kind::Enum(|n| Channel::from_name(n).map(Channel::number)),
    ),
    ("region", "region", Kind::Text),
    ("team", "team", Kind::Text),
    ("agent", "agent", Kind::Text),
    ("create_time", "create_time", Kind::Time),
    ("send_time", "send_time", Kind::Time),
    ("expire_time", "expire_time", Kind::Time),
];

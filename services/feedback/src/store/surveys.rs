//! Surveys and their versions.

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};
use uuid::Uuid;

use super::query::Where;
use super::{RequestKey, Store, boolean, int, remember, text, uuid};
use crate::domain::survey::{Question, Survey, SurveyContent};
use crate::domain::values::{Actor, Channel, TicketKind, Trigger};
use crate::error::{Error, Result, SURVEY};

const COLUMNS: &str =
    "id, version, titles, default_language, questions, trigger_kind, channel, invitation_ttl,
    send_delay, customer_cooldown, regions, enabled, creator, create_time, update_time, ticket_kinds,
    ticket_channels";

/// A list of numbered values as the JSON array of their numbers.
fn numbers(values: impl Iterator<Item = i32>) -> String {
    serde_json::to_string(&values.collect::<Vec<_>>()).unwrap_or_else(|_| "[]".to_owned())
}

/// The values of a JSON array of numbers (unknown numbers dropped).
fn from_numbers<T>(json: &str, from: fn(i64) -> Option<T>) -> Vec<T> {
    serde_json::from_str::<Vec<i64>>(json)
        .unwrap_or_default()
        .into_iter()
        .filter_map(from)
        .collect()
}

fn survey(row: &AnyRow) -> Result<Survey> {
    let titles: BTreeMap<String, String> =
        serde_json::from_str(&text(row, "titles")?).unwrap_or_default();
    let questions: Vec<Question> =
        serde_json::from_str(&text(row, "questions")?).unwrap_or_default();
    let regions: Vec<String> = serde_json::from_str(&text(row, "regions")?).unwrap_or_default();
    Ok(Survey {
        id: uuid(row, "id")?,
        version: int(row, "version")?,
        content: SurveyContent {
            titles,
            default_language: text(row, "default_language")?,
            questions,
            invitation_ttl: int(row, "invitation_ttl")?,
        },
        trigger: Trigger::from_number(int(row, "trigger_kind")?).unwrap_or(Trigger::Manual),
        channel: Channel::from_number(int(row, "channel")?),
        send_delay: int(row, "send_delay")?,
        customer_cooldown: int(row, "customer_cooldown")?,
        regions,
        ticket_kinds: from_numbers(&text(row, "ticket_kinds")?, TicketKind::from_number),
        ticket_channels: from_numbers(&text(row, "ticket_channels")?, Channel::from_number),
        enabled: boolean(row, "enabled")?,
        creator: Actor::from_json(&text(row, "creator")?),
        create_time: int(row, "create_time")?,
        update_time: int(row, "update_time")?,
    })
}

async fn write_version(tx: &mut Transaction<'_, Any>, survey: &Survey) -> Result<()> {
    sqlx::query(
        "INSERT INTO survey_versions (survey_id, version, titles, default_language, questions, invitation_ttl)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(survey.id.to_string())
    .bind(survey.version)
    .bind(serde_json::to_string(&survey.content.titles).unwrap_or_default())
    .bind(&survey.content.default_language)
    .bind(serde_json::to_string(&survey.content.questions).unwrap_or_default())
    .bind(survey.content.invitation_ttl)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM survey_regions WHERE survey_id = $1")
        .bind(survey.id.to_string())
        .execute(&mut **tx)
        .await?;
    for region in &survey.regions {
        sqlx::query("INSERT INTO survey_regions (survey_id, region) VALUES ($1, $2)")
            .bind(survey.id.to_string())
            .bind(region)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

impl Store {
    /// Creates `survey`, remembering `key`.
    pub async fn create_survey(&self, survey: &Survey, key: Option<&RequestKey>) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO surveys ({COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        ))
        .bind(survey.id.to_string())
        .bind(survey.version)
        .bind(serde_json::to_string(&survey.content.titles).unwrap_or_default())
        .bind(&survey.content.default_language)
        .bind(serde_json::to_string(&survey.content.questions).unwrap_or_default())
        .bind(i64::from(survey.trigger.number()))
        .bind(survey.channel.map_or(0, |c| i64::from(c.number())))
        .bind(survey.content.invitation_ttl)
        .bind(survey.send_delay)
        .bind(survey.customer_cooldown)
        .bind(serde_json::to_string(&survey.regions).unwrap_or_default())
        .bind(i64::from(survey.enabled))
        .bind(survey.creator.to_json())
        .bind(survey.create_time)
        .bind(survey.update_time)
        .bind(numbers(survey.ticket_kinds.iter().map(|k| k.number())))
        .bind(numbers(survey.ticket_channels.iter().map(|c| c.number())))
        .execute(&mut *tx)
        .await?;
        write_version(&mut tx, survey).await?;
        remember(
            &mut tx,
            key,
            &format!("surveys/{}", survey.id),
            survey.create_time,
        )
        .await?;
        self.commit(tx).await
    }

    /// The survey `id`, or `NOT_FOUND`.
    pub async fn survey(&self, id: Uuid) -> Result<Survey> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM surveys WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.db.reader())
            .await?
            .ok_or_else(|| Error::not_found(SURVEY, format!("surveys/{id}")))?;
        survey(&row)
    }

    /// The content of survey `id` at `version`.
    pub async fn survey_content(&self, id: Uuid, version: i64) -> Result<SurveyContent> {
        let row = sqlx::query(
            "SELECT titles, default_language, questions, invitation_ttl FROM survey_versions
             WHERE survey_id = $1 AND version = $2",
        )
        .bind(id.to_string())
        .bind(version)
        .fetch_optional(self.db.reader())
        .await?
        .ok_or_else(|| Error::not_found(SURVEY, format!("surveys/{id}")))?;
        Ok(SurveyContent {
            titles: serde_json::from_str(&text(&row, "titles")?).unwrap_or_default(),
            default_language: text(&row, "default_language")?,
            questions: serde_json::from_str(&text(&row, "questions")?).unwrap_or_default(),
            invitation_ttl: int(&row, "invitation_ttl")?,
        })
    }

    /// Surveys matching `filter`, newest first, after the keyset position.
    pub async fn list_surveys(
        &self,
        mut filter: Where,
        after: Option<(i64, String)>,
        limit: i64,
    ) -> Result<Vec<Survey>> {
        if let Some((key, id)) = after {
            filter.after("create_time", "id", key, &id);
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM surveys{} ORDER BY create_time DESC, id DESC LIMIT {limit}",
            filter.sql()
        );
        let rows = filter
            .apply(sqlx::query(&sql))
            .fetch_all(self.db.reader())
            .await?;
        rows.iter().map(survey).collect()
    }

    /// Replaces survey `survey.id` at `expected` version by `survey` (whose version is the
    /// next), keeping the old definition for invitations already made.
    pub async fn update_survey(&self, survey: &Survey, expected: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        let changed = sqlx::query(
            "UPDATE surveys SET version = $1, titles = $2, default_language = $3, questions = $4,
                trigger_kind = $5, channel = $6, invitation_ttl = $7, send_delay = $8,
                customer_cooldown = $9, regions = $10, enabled = $11, update_time = $12,
                ticket_kinds = $13, ticket_channels = $14
             WHERE id = $15 AND version = $16",
        )
        .bind(survey.version)
        .bind(serde_json::to_string(&survey.content.titles).unwrap_or_default())
        .bind(&survey.content.default_language)
        .bind(serde_json::to_string(&survey.content.questions).unwrap_or_default())
        .bind(i64::from(survey.trigger.number()))
        .bind(survey.channel.map_or(0, |c| i64::from(c.number())))
        .bind(survey.content.invitation_ttl)
        .bind(survey.send_delay)
        .bind(survey.customer_cooldown)
        .bind(serde_json::to_string(&survey.regions).unwrap_or_default())
        .bind(i64::from(survey.enabled))
        .bind(survey.update_time)
        .bind(numbers(survey.ticket_kinds.iter().map(|k| k.number())))
        .bind(numbers(survey.ticket_channels.iter().map(|c| c.number())))
        .bind(survey.id.to_string())
        .bind(expected)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(Error::StaleEtag(format!("surveys/{}", survey.id)));
        }
        write_version(&mut tx, survey).await?;
        self.commit(tx).await
    }

    /// Deletes survey `id` at `expected` version; refused while it has invitations.
    pub async fn delete_survey(&self, id: Uuid, expected: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        let invitations: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM invitations WHERE survey_id = $1")
                .bind(id.to_string())
                .fetch_one(&mut *tx)
                .await?;
        if invitations > 0 {
            return Err(Error::state(
                format!("surveys/{id}"),
                "the survey has invitations: disable it instead",
            ));
        }
        sqlx::query("DELETE FROM survey_regions WHERE survey_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        let deleted = sqlx::query("DELETE FROM surveys WHERE id = $1 AND version = $2")
            .bind(id.to_string())
            .bind(expected)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(Error::StaleEtag(format!("surveys/{id}")));
        }
        sqlx::query("DELETE FROM survey_versions WHERE survey_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        self.commit(tx).await
    }
}

/// The survey filter's fields.
pub const SURVEY_FIELDS: &[super::query::Field] = &[
    (
        "trigger",
        "trigger_kind",
        super::query::Kind::Enum(|n| Trigger::from_name(n).map(Trigger::number)),
    ),
    ("enabled", "enabled", super::query::Kind::Bool),
    (
        "channel",
        "channel",
        super::query::Kind::Enum(|n| Channel::from_name(n).map(Channel::number)),
    ),
    (
        "region",
        "id IN (SELECT survey_id FROM survey_regions WHERE region {op} {})",
        super::query::Kind::Text,
    ),
    ("create_time", "create_time", super::query::Kind::Time),
    ("update_time", "update_time", super::query::Kind::Time),
];

/// Enabled ticket-resolved surveys, read in `tx`.
pub(super) async fn resolution_surveys_in(tx: &mut Transaction<'_, Any>) -> Result<Vec<Survey>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM surveys WHERE enabled = 1 AND trigger_kind = $1"
    ))
    .bind(i64::from(Trigger::TicketResolved.number()))
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(survey).collect()
}

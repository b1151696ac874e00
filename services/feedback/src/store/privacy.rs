//! What the consumers write: invitations for resolved tickets, reopened tickets, consents
//! and erasure. Each runs in the consumer's transaction (with its inbox row).

use sqlx::{Any, Transaction};

use super::invitations::{consent_withdrawn, customer_locale_in, insert, last_invited};
use super::surveys_in;
use crate::domain::follow_up::LoopRules;
use crate::domain::invite::{
    Delivery, Resolution, Skip, Token, channel_for, for_resolution, within,
};
use crate::domain::records::Invitation;
use crate::domain::survey::matching_survey;
use crate::domain::values::Channel;
use crate::error::{Error, Result};

/// Invites the customer of a resolved ticket to the survey targeting it (region, kind,
/// channel), in the customer's language, unless skipped; publishes what a notifier needs to
/// deliver it (the link with the token made here, under `portal`); returns the invitation
/// made, or why none was.
pub async fn invite_on_resolution(
    tx: &mut Transaction<'_, Any>,
    resolution: &Resolution,
    rules: &LoopRules,
    portal: &str,
    now: i64,
) -> Result<Result<Option<Invitation>, Skip>> {
    if resolution.customer.is_empty() {
        return Ok(Err(Skip::NoCustomer));
    }
    let resolution = &Resolution {
        customer_locale: customer_locale_in(tx, &resolution.customer).await?,
        ..resolution.clone()
    };
    let surveys = surveys_in(tx).await?;
    let Some(survey) = matching_survey(&surveys, &resolution.target()) else {
        return Ok(Ok(None));
    };
    let by_survey = last_invited(tx, &resolution.customer, Some(survey.id)).await?;
    let by_any = last_invited(tx, &resolution.customer, None).await?;
    if within(by_survey, survey.customer_cooldown, now) || within(by_any, rules.quiet_period, now) {
        return Ok(Err(Skip::Quiet));
    }
    let channel = channel_for(survey, resolution.channel);
    if consent_withdrawn(tx, &resolution.customer, channel).await? {
        return Ok(Err(Skip::NoConsent));
    }
    let invitation = for_resolution(survey, resolution, channel, now);
    // Only the token's hash is kept; the token itself leaves once, in the delivery event.
    let token = Token::generate();
    let delivery = Delivery::of(survey, &invitation, &token, portal);
    match insert(tx, &invitation, &token.hash(), Some(&delivery)).await {
        Ok(()) => Ok(Ok(Some(invitation))),
        Err(Error::AlreadyExists { .. }) => Ok(Ok(None)),
        Err(other) => Err(other),
    }
}

/// Records that `ticket` was reopened at `time` (a delayed invitation for it is not sent).
pub async fn ticket_reopened(tx: &mut Transaction<'_, Any>, ticket: &str, time: i64) -> Result<()> {
    sqlx::query("DELETE FROM reopened_tickets WHERE ticket = $1")
        .bind(ticket)
        .execute(&mut **tx)
        .await?;
    sqlx::query("INSERT INTO reopened_tickets (ticket, reopen_time) VALUES ($1, $2)")
        .bind(ticket)
        .bind(time)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records `customer`'s preferred language (`locale`, a BCP 47 tag; empty forgets it) as of
/// `time`; an older report than the one kept is ignored.
pub async fn locale_changed(
    tx: &mut Transaction<'_, Any>,
    customer: &str,
    locale: &str,
    time: i64,
) -> Result<()> {
    let current: Option<i64> =
        sqlx::query_scalar("SELECT update_time FROM customer_locales WHERE customer = $1")
            .bind(customer)
            .fetch_optional(&mut **tx)
            .await?;
    if current.is_some_and(|t| t > time) {
        return Ok(());
    }
    sqlx::query("DELETE FROM customer_locales WHERE customer = $1")
        .bind(customer)
        .execute(&mut **tx)
        .await?;
    sqlx::query("INSERT INTO customer_locales (customer, locale, update_time) VALUES ($1, $2, $3)")
        .bind(customer)
        .bind(locale)
        .bind(time)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records a survey consent decision (the latest decision wins).
pub async fn consent_changed(
    tx: &mut Transaction<'_, Any>,
    customer: &str,
    channel: Channel,
    withdrawn: bool,
    decide_time: i64,
) -> Result<()> {
    let current: Option<i64> = sqlx::query_scalar(
        "SELECT decide_time FROM survey_consents WHERE customer = $1 AND channel = $2",
    )
    .bind(customer)
    .bind(i64::from(channel.number()))
    .fetch_optional(&mut **tx)
    .await?;
    if current.is_some_and(|t| t > decide_time) {
        return Ok(());
    }
    sqlx::query("DELETE FROM survey_consents WHERE customer = $1 AND channel = $2")
        .bind(customer)
        .bind(i64::from(channel.number()))
        .execute(&mut **tx)
        .await?;
    sqlx::query("INSERT INTO survey_consents (customer, channel, withdrawn, decide_time) VALUES ($1, $2, $3, $4)")
        .bind(customer)
        .bind(i64::from(channel.number()))
        .bind(i64::from(withdrawn))
        .bind(decide_time)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Scrubs `customer`'s free text and contact data: response comments, item texts, subjects
/// and source links, the matched terms of their classifications, follow-up notes, consents.
/// Scores, classifications and links stay (they carry no personal data) so statistics hold.
pub async fn erase_customer(tx: &mut Transaction<'_, Any>, customer: &str, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE classifications SET matched_terms = '[]', note = ''
         WHERE feedback IN (SELECT 'responses/' || id FROM responses WHERE customer = $1)
            OR feedback IN (SELECT 'feedbackItems/' || id FROM feedback_items WHERE customer = $2)",
    )
    .bind(customer)
    .bind(customer)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE responses SET comment = '', version = version + 1, update_time = $1 WHERE customer = $2")
        .bind(now)
        .bind(customer)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE feedback_items SET text = '', subject = '', source_uri = '', version = version + 1, update_time = $1
         WHERE customer = $2",
    )
    .bind(now)
    .bind(customer)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE pending_follow_ups SET summary = '' WHERE customer = $1")
        .bind(customer)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE follow_ups SET notes = '', version = version + 1, update_time = $1 WHERE customer = $2")
        .bind(now)
        .bind(customer)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM survey_consents WHERE customer = $1")
        .bind(customer)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM customer_locales WHERE customer = $1")
        .bind(customer)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

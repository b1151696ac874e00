//! The events the feedback service publishes (built from its records) and the consumer it
//! runs: invitations on `TicketResolved`, reopened tickets, survey consents from the
//! customers service, and erasure on `CustomerErased`.

use aftercare_platform::events::{Event, EventHandler, SubscriptionFilter, decode_payload};
use aftercare_platform::time::{from_timestamp, now_micros, to_timestamp};
use aftercare_proto::aftercare::customers::v1 as customers_pb;
use aftercare_proto::aftercare::events::v1 as ev;
use async_trait::async_trait;
use sqlx::{Any, Transaction};

use crate::convert;
use crate::domain::follow_up::{LoopRules, is_severe, nps_category};
use crate::domain::invite::{Delivery, Resolution};
use crate::domain::records::{FeedbackItem, FollowUp, Invitation, Response, StoredClassification};
use crate::domain::values::{Actor, Channel, TicketKind};
use crate::store;

/// The consumer's durable name.
pub const CONSUMER: &str = "feedback";

/// Where a piece of feedback belongs, for `FeedbackClassified`.
#[derive(Debug, Clone)]
pub struct Context {
    /// Customer.
    pub customer: String,
    /// Ticket.
    pub ticket: String,
    /// Region.
    pub region: String,
    /// Team.
    pub team: String,
    /// Agent.
    pub agent: String,
    /// Channel.
    pub channel: Channel,
}

/// `SurveyInvitationSent` (never with the token).
pub fn invitation_sent(i: &Invitation) -> ev::SurveyInvitationSent {
    ev::SurveyInvitationSent {
        invitation: i.name(),
        survey: format!("surveys/{}", i.survey_id),
        customer: i.customer.clone(),
        ticket: i.ticket.clone(),
        follow_up: i.follow_up.clone(),
        channel: i.channel.number(),
        language: i.language.clone(),
        region: i.region.clone(),
        send_time: i.send_time.map(to_timestamp),
        expire_time: i.expire_time.map(to_timestamp),
        actor: Some(convert::actor(&i.creator)),
    }
}

/// `SurveyInvitationDelivery`: the one event that carries a token (in `survey_uri`), for
/// the notifier that delivers an invitation the service made by itself.
pub fn invitation_delivery(i: &Invitation, delivery: &Delivery) -> ev::SurveyInvitationDelivery {
    ev::SurveyInvitationDelivery {
        invitation: i.name(),
        survey: format!("surveys/{}", i.survey_id),
        customer: i.customer.clone(),
        ticket: i.ticket.clone(),
        follow_up: i.follow_up.clone(),
        channel: i.channel.number(),
        language: i.language.clone(),
        title: delivery.title.clone(),
        survey_uri: delivery.survey_uri.clone(),
        schedule_time: Some(to_timestamp(i.schedule_time)),
        expire_time: i.expire_time.map(to_timestamp),
        region: i.region.clone(),
    }
}

/// `SurveyResponseReceived`.
pub fn response_received(r: &Response) -> ev::SurveyResponseReceived {
    ev::SurveyResponseReceived {
        response: r.name(),
        invitation: format!("surveys/{}/invitations/{}", r.survey_id, r.invitation_id),
        survey: format!("surveys/{}", r.survey_id),
        customer: r.customer.clone(),
        ticket: r.ticket.clone(),
        csat_score: r.csat,
        nps_score: r.nps,
        ces_score: r.ces,
        nps_category: nps_category(r.nps),
        detractor: r.detractor,
        comment: r.comment.clone(),
        language: r.language.clone(),
        channel: r.channel.number(),
        answered_follow_up: r.answered_follow_up.clone(),
        previous_response: r.previous_response.clone(),
        region: r.region.clone(),
        team: r.team.clone(),
        agent: r.agent.clone(),
        receive_time: Some(to_timestamp(r.create_time)),
        actor: Some(convert::actor(&r.recorder)),
    }
}

/// `FeedbackItemReceived`.
pub fn item_received(i: &FeedbackItem) -> ev::FeedbackItemReceived {
    ev::FeedbackItemReceived {
        feedback_item: i.name(),
        channel: i.channel.number(),
        customer: i.customer.clone(),
        ticket: i.ticket.clone(),
        product: i.product.clone(),
        region: i.region.clone(),
        subject: i.subject.clone(),
        text: i.text.clone(),
        language: i.language.clone(),
        source_uri: i.source_uri.clone(),
        receive_time: Some(to_timestamp(i.receive_time)),
        actor: Some(convert::actor(&i.recorder)),
    }
}

/// `FeedbackClassified`.
#[allow(clippy::too_many_arguments)]
pub fn classified(
    feedback: &str,
    customer: &str,
    ticket: &str,
    region: &str,
    team: &str,
    agent: &str,
    channel: Channel,
    stored: &StoredClassification,
    previous: Option<&StoredClassification>,
) -> ev::FeedbackClassified {
    ev::FeedbackClassified {
        feedback: feedback.to_owned(),
        customer: customer.to_owned(),
        ticket: ticket.to_owned(),
        region: region.to_owned(),
        team: team.to_owned(),
        agent: agent.to_owned(),
        channel: channel.number(),
        classification: Some(convert::classification(stored)),
        previous_classification: previous.map(convert::classification),
        reclassified: previous.is_some(),
        severe: is_severe(&stored.value),
        classify_time: Some(to_timestamp(stored.classify_time)),
        actor: Some(convert::actor(&stored.classifier)),
    }
}

/// `FollowUpOpened`.
pub fn follow_up_opened(f: &FollowUp, actor: &Actor) -> ev::FollowUpOpened {
    ev::FollowUpOpened {
        follow_up: f.name(),
        reasons: convert::reasons(&f.reasons),
        source_feedback: f.source_feedback.clone(),
        customer: f.customer.clone(),
        ticket: f.ticket.clone(),
        original_ticket: f.original_ticket.clone(),
        assignee: f.assignee.clone(),
        due_time: Some(to_timestamp(f.due_time)),
        region: f.region.clone(),
        team: f.team.clone(),
        agent: f.agent.clone(),
        open_time: Some(to_timestamp(f.create_time)),
        actor: Some(convert::actor(actor)),
    }
}

/// `FollowUpClosed`.
pub fn follow_up_closed(f: &FollowUp, note: &str, actor: &Actor) -> ev::FollowUpClosed {
    ev::FollowUpClosed {
        follow_up: f.name(),
        source_feedback: f.source_feedback.clone(),
        customer: f.customer.clone(),
        ticket: f.ticket.clone(),
        original_ticket: f.original_ticket.clone(),
        outcome: f.outcome.map_or(0, |o| o.number()),
        note: note.to_owned(),
        contact_time: f.contact_time.map(to_timestamp),
        on_time: f.on_time,
        due_time: Some(to_timestamp(f.original_due_time)),
        resurvey_invitation: f.resurvey_invitation.clone(),
        region: f.region.clone(),
        team: f.team.clone(),
        agent: f.agent.clone(),
        close_time: f.close_time.map(to_timestamp),
        actor: Some(convert::actor(actor)),
    }
}

/// `FollowUpOverdue`.
pub fn follow_up_overdue(f: &FollowUp, now: i64) -> ev::FollowUpOverdue {
    ev::FollowUpOverdue {
        follow_up: f.name(),
        customer: f.customer.clone(),
        ticket: f.ticket.clone(),
        original_ticket: f.original_ticket.clone(),
        assignee: f.assignee.clone(),
        reasons: convert::reasons(&f.reasons),
        due_time: Some(to_timestamp(f.original_due_time)),
        region: f.region.clone(),
        team: f.team.clone(),
        agent: f.agent.clone(),
        detect_time: Some(to_timestamp(now)),
        actor: Some(convert::actor(&Actor::system())),
    }
}

/// The feedback service's consumer of other services' events.
#[derive(Debug, Clone)]
pub struct FeedbackConsumer {
    /// The closed-loop rules (quiet period).
    pub rules: LoopRules,
    /// The survey page invitations link to (`…#token=`).
    pub portal: String,
}

impl FeedbackConsumer {
    /// The events it handles.
    pub fn filter() -> SubscriptionFilter {
        SubscriptionFilter::all()
            .with_type::<ev::TicketResolved>()
            .with_type::<ev::TicketReopened>()
            .with_type::<ev::ConsentChanged>()
            .with_type::<ev::CustomerCreated>()
            .with_type::<ev::CustomerUpdated>()
            .with_type::<ev::CustomerErased>()
    }
}

#[async_trait]
impl EventHandler for FeedbackConsumer {
    async fn handle(&self, tx: &mut Transaction<'_, Any>, event: &Event) -> anyhow::Result<()> {
        let now = now_micros();
        let kind = event.r#type.rsplit('.').next().unwrap_or_default();
        match kind {
            "TicketResolved" => {
                let resolved: ev::TicketResolved = decode_payload(event)?;
                let ticket = resolved.ticket.unwrap_or_default();
                let resolution = Resolution {
                    ticket: ticket.name,
                    customer: ticket.customer,
                    channel: Channel::from_number(ticket.channel.into()),
                    kind: TicketKind::from_number(ticket.kind.into()),
                    region: ticket.region,
                    team: ticket.team,
                    agent: ticket.assignee,
                    language: ticket.language_code,
                    customer_locale: String::new(),
                    resolve_time: resolved
                        .resolve_time
                        .as_ref()
                        .and_then(from_timestamp)
                        .unwrap_or(now),
                };
                match store::invite_on_resolution(tx, &resolution, &self.rules, &self.portal, now)
                    .await?
                {
                    Ok(Some(invitation)) => {
                        tracing::info!(ticket = %resolution.ticket, invitation = %invitation.name(), "customer invited")
                    }
                    Ok(None) => {
                        tracing::debug!(ticket = %resolution.ticket, "no survey for the resolution")
                    }
                    Err(skip) => {
                        tracing::info!(ticket = %resolution.ticket, reason = ?skip, "customer not invited")
                    }
                }
            }
            "TicketReopened" => {
                let reopened: ev::TicketReopened = decode_payload(event)?;
                let ticket = reopened.ticket.unwrap_or_default();
                store::ticket_reopened(tx, &ticket.name, now).await?;
            }
            "ConsentChanged" => {
                let changed: ev::ConsentChanged = decode_payload(event)?;
                if changed.purpose == customers_pb::ConsentPurpose::Survey as i32
                    && let Some(channel) = Channel::from_number(changed.channel.into())
                {
                    let withdrawn = changed.state == customers_pb::ConsentState::Withdrawn as i32;
                    let time = changed
                        .decide_time
                        .as_ref()
                        .and_then(from_timestamp)
                        .unwrap_or(now);
                    store::consent_changed(tx, &changed.customer, channel, withdrawn, time).await?;
                }
            }
            "CustomerCreated" | "CustomerUpdated" => {
                let customer = if kind == "CustomerCreated" {
                    decode_payload::<ev::CustomerCreated>(event)?.customer
                } else {
                    decode_payload::<ev::CustomerUpdated>(event)?.customer
                };
                if let Some(customer) = customer.filter(|c| !c.erased && c.merged_into.is_empty()) {
                    let time = customer
                        .update_time
                        .as_ref()
                        .and_then(from_timestamp)
                        .unwrap_or(now);
                    store::locale_changed(tx, &customer.name, &customer.locale, time).await?;
                }
            }
            "CustomerErased" => {
                let erased: ev::CustomerErased = decode_payload(event)?;
                for customer in
                    std::iter::once(&erased.customer).chain(erased.merged_customers.iter())
                {
                    store::erase_customer(tx, customer, now).await?;
                }
                tracing::info!(customer = %erased.customer, "customer's feedback text erased");
            }
            _ => {}
        }
        Ok(())
    }
}

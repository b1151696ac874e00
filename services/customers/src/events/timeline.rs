//! Which events of which services become timeline entries, and what each says.

use aftercare_platform::events::{Event, EventError, decode_payload};
use aftercare_platform::time::{Micros, from_timestamp};
use aftercare_proto::aftercare::common::v1::Actor as WireActor;
use aftercare_proto::aftercare::events::v1::{
    ConsentChanged, FeedbackItemReceived, FollowUpClosed, FollowUpOpened, LoyaltyEntryRecorded,
    SurveyResponseReceived, TicketCreated, TicketReopened, TicketResolved, TicketSnapshot,
};
use prost::Name;

use crate::domain::timeline::{Actor, Channel, Interaction, MAX_SUMMARY};
use crate::domain::wire::ActorKind;

/// The event types the timeline is built from.
pub(crate) fn event_types() -> Vec<String> {
    vec![
        TicketCreated::full_name(),
        TicketResolved::full_name(),
        TicketReopened::full_name(),
        SurveyResponseReceived::full_name(),
        FeedbackItemReceived::full_name(),
        FollowUpOpened::full_name(),
        FollowUpClosed::full_name(),
        LoyaltyEntryRecorded::full_name(),
        ConsentChanged::full_name(),
    ]
}

/// The interaction `event` records, or `None` for events the timeline does not show (or
/// that name no customer).
pub(crate) fn interaction(event: &Event) -> Result<Option<Interaction>, EventError> {
    let kind = event.r#type.as_str();
    let found = if kind == TicketCreated::full_name() {
        let p: TicketCreated = decode_payload(event)?;
        ticket(p.ticket, p.actor, "opened")
    } else if kind == TicketResolved::full_name() {
        let p: TicketResolved = decode_payload(event)?;
        ticket(p.ticket, p.actor, "resolved")
    } else if kind == TicketReopened::full_name() {
        let p: TicketReopened = decode_payload(event)?;
        ticket(p.ticket, p.actor, "reopened")
    } else if kind == SurveyResponseReceived::full_name() {
        let p: SurveyResponseReceived = decode_payload(event)?;
        let mut scores = Vec::new();
        scores.extend(p.csat_score.map(|s| format!("CSAT {s}")));
        scores.extend(p.nps_score.map(|s| format!("NPS {s}")));
        scores.extend(p.ces_score.map(|s| format!("CES {s}")));
        let summary = if scores.is_empty() {
            "Survey answered".to_owned()
        } else {
            format!("Survey answered ({})", scores.join(", "))
        };
        Some(Interaction {
            customer: p.customer,
            subject: p.response,
            summary,
            region: p.region,
            channel: channel(p.channel),
            actor: p.actor.map(actor_from_wire),
        })
    } else if kind == FeedbackItemReceived::full_name() {
        let p: FeedbackItemReceived = decode_payload(event)?;
        let summary = if p.subject.is_empty() {
            "Feedback given".to_owned()
        } else {
            format!("Feedback given: {}", p.subject)
        };
        Some(Interaction {
            customer: p.customer,
            subject: p.feedback_item,
            summary,
            region: p.region,
            channel: channel(p.channel),
            actor: p.actor.map(actor_from_wire),
        })
    } else if kind == FollowUpOpened::full_name() {
        let p: FollowUpOpened = decode_payload(event)?;
        Some(Interaction {
            customer: p.customer,
            subject: p.follow_up,
            summary: "Follow-up opened after feedback".into(),
            region: p.region,
            channel: Channel::Unspecified,
            actor: p.actor.map(actor_from_wire),
        })
    } else if kind == FollowUpClosed::full_name() {
        let p: FollowUpClosed = decode_payload(event)?;
        Some(Interaction {
            customer: p.customer,
            subject: p.follow_up,
            summary: "Follow-up closed".into(),
            region: p.region,
            channel: Channel::Unspecified,
            actor: p.actor.map(actor_from_wire),
        })
    } else if kind == LoyaltyEntryRecorded::full_name() {
        let p: LoyaltyEntryRecorded = decode_payload(event)?;
        let verb = match p.points {
            points if points > 0 => "earned",
            _ => "deducted",
        };
        Some(Interaction {
            customer: p.customer,
            subject: p.entry,
            summary: format!("Loyalty points {verb}: {:+} ({})", p.points, p.reason),
            region: String::new(),
            channel: Channel::Unspecified,
            actor: p.actor.map(actor_from_wire),
        })
    } else if kind == ConsentChanged::full_name() {
        let p: ConsentChanged = decode_payload(event)?;
        let channel_name = channel(p.channel)
            .as_str_name()
            .trim_start_matches("CHANNEL_");
        let purpose = p
            .purpose()
            .as_str_name()
            .trim_start_matches("CONSENT_PURPOSE_");
        let state = p.state().as_str_name().trim_start_matches("CONSENT_STATE_");
        Some(Interaction {
            customer: p.customer,
            subject: p.consent,
            summary: format!(
                "Consent to {} contact by {}: {}",
                purpose.to_lowercase(),
                channel_name.to_lowercase(),
                state.to_lowercase()
            ),
            region: String::new(),
            channel: channel(p.channel),
            actor: p.actor.map(actor_from_wire),
        })
    } else {
        None
    };
    Ok(found
        .filter(|interaction| !interaction.customer.is_empty())
        .map(|mut interaction| {
            interaction.summary = interaction.summary.chars().take(MAX_SUMMARY).collect();
            interaction
        }))
}

/// When `event` happened (its time), or `fallback`.
pub(crate) fn occur_time(event: &Event, fallback: Micros) -> Micros {
    event
        .time
        .as_ref()
        .and_then(from_timestamp)
        .unwrap_or(fallback)
}

fn ticket(
    ticket: Option<TicketSnapshot>,
    actor: Option<WireActor>,
    verb: &str,
) -> Option<Interaction> {
    let ticket = ticket?;
    Some(Interaction {
        customer: ticket.customer,
        summary: format!("Ticket #{} {verb}: {}", ticket.number, ticket.subject),
        subject: ticket.name,
        region: ticket.region,
        channel: channel(ticket.channel),
        actor: actor.map(actor_from_wire),
    })
}

/// An event's actor as the domain records it.
pub(crate) fn actor_from_wire(actor: WireActor) -> Actor {
    Actor {
        kind: ActorKind::try_from(actor.r#type).unwrap_or_default(),
        id: actor.id,
        display_name: actor.display_name,
    }
}

fn channel(value: i32) -> Channel {
    Channel::try_from(value).unwrap_or(Channel::Unspecified)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aftercare_platform::time::to_timestamp;
    use uuid::Uuid;

    fn event<M: Name>(payload: &M) -> Event {
        Event {
            id: Uuid::now_v7().to_string(),
            r#type: M::full_name(),
            source: "tickets".into(),
            subject: "tickets/1".into(),
            time: Some(to_timestamp(1_700_000_000_000_000)),
            trace_context: Default::default(),
            payload: Some(prost_types::Any::from_msg(payload).unwrap()),
        }
    }

    #[test]
    fn a_ticket_event_becomes_an_interaction_of_its_customer() {
        let created = TicketCreated {
            ticket: Some(TicketSnapshot {
                name: "tickets/1".into(),
                number: 42,
                customer: "customers/abc".into(),
                channel: Channel::Phone as i32,
                region: "cn-east".into(),
                subject: "Washer leaks water".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let event = event(&created);
        let interaction = interaction(&event).unwrap().unwrap();
        assert_eq!(interaction.customer, "customers/abc");
        assert_eq!(interaction.summary, "Ticket #42 opened: Washer leaks water");
        assert_eq!(interaction.channel, Channel::Phone);
        assert_eq!(occur_time(&event, 0), 1_700_000_000_000_000);
    }

    #[test]
    fn anonymous_and_unrelated_events_are_not_shown() {
        let anonymous = FeedbackItemReceived::default();
        assert_eq!(interaction(&event(&anonymous)).unwrap(), None);
        let unrelated = aftercare_proto::aftercare::events::v1::AgentCreated::default();
        assert_eq!(interaction(&event(&unrelated)).unwrap(), None);
    }
}

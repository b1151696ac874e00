//! Domain values to their protobuf form (responses and event payloads). The domain's wire
//! enums are declared in proto order, so a value's rank is its proto number.

use aftercare_platform::request::Etag;
use aftercare_platform::time::to_timestamp;
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::events::v1 as events;
use aftercare_proto::aftercare::tickets::v1 as pb;

use crate::domain::{
    Actor, ActorKind, ClassificationSource, FieldChange, SlaState, Target, Ticket, TicketMessage,
    WireEnum,
};

/// The proto number of a wire enum value.
pub fn wire<E: WireEnum>(value: E) -> i32 {
    value.rank()
}

/// The proto number of an optional wire enum value (0 = unspecified).
pub fn opt_wire<E: WireEnum>(value: Option<E>) -> i32 {
    value.map_or(0, WireEnum::rank)
}

fn source(source: ClassificationSource) -> i32 {
    match source {
        ClassificationSource::Given => pb::ClassificationSource::Given as i32,
        ClassificationSource::Inferred => pb::ClassificationSource::Inferred as i32,
        ClassificationSource::Defaulted => pb::ClassificationSource::Defaulted as i32,
    }
}

/// The SLA state's proto number.
pub fn sla_state(state: SlaState) -> i32 {
    (match state {
        SlaState::None => pb::SlaState::None,
        SlaState::OnTrack => pb::SlaState::OnTrack,
        SlaState::AtRisk => pb::SlaState::AtRisk,
        SlaState::Breached => pb::SlaState::Breached,
        SlaState::Paused => pb::SlaState::Paused,
        SlaState::Met => pb::SlaState::Met,
    }) as i32
}

/// A duration of microseconds.
pub fn duration(micros: i64) -> prost_types::Duration {
    let micros = micros.max(0);
    prost_types::Duration {
        seconds: micros / 1_000_000,
        nanos: ((micros % 1_000_000) * 1_000) as i32,
    }
}

/// An SLA target's proto number.
pub fn sla_target(target: Target) -> i32 {
    (match target {
        Target::FirstResponse => pb::SlaTargetKind::FirstResponse,
        Target::Resolution => pb::SlaTargetKind::Resolution,
    }) as i32
}

/// An actor.
pub fn actor(actor: &Actor) -> common::Actor {
    common::Actor {
        r#type: (match actor.kind {
            ActorKind::Agent => common::ActorType::Agent,
            ActorKind::Customer => common::ActorType::Customer,
            ActorKind::Integration => common::ActorType::Integration,
            ActorKind::System => common::ActorType::System,
        }) as i32,
        id: actor.id.clone(),
        display_name: actor.display_name.clone(),
    }
}

/// A field change.
pub fn field_change(change: &FieldChange) -> pb::FieldChange {
    pb::FieldChange {
        field: change.field.clone(),
        old_value: change.old_value.clone(),
        new_value: change.new_value.clone(),
    }
}

fn opt_string<T: ToString>(value: Option<&T>) -> String {
    value.map(ToString::to_string).unwrap_or_default()
}

/// The classification.
pub fn classification(ticket: &Ticket) -> pb::Classification {
    let c = &ticket.classification;
    pb::Classification {
        kind_source: source(c.kind_source),
        kind_confidence: c.kind_confidence,
        sub_kind_source: c.sub_kind_source.map_or(0, source),
        sub_kind_confidence: c.sub_kind_confidence,
        priority_source: source(c.priority_source),
        priority_confidence: c.priority_confidence,
        language_detected: c.language_detected,
        classifier: c.classifier.clone(),
        classify_time: Some(to_timestamp(c.classify_time)),
    }
}

/// The SLA as shown on a ticket.
pub fn ticket_sla(ticket: &Ticket) -> pb::TicketSla {
    let sla = &ticket.sla;
    pb::TicketSla {
        policy: sla.policy.clone().unwrap_or_default(),
        calendar: sla.calendar.clone().unwrap_or_default(),
        state: sla_state(sla.state(ticket.status)),
        first_response_due_time: sla.first_response_due.map(to_timestamp),
        resolution_due_time: sla.resolution_due.map(to_timestamp),
        at_risk: sla.at_risk(),
        breached: sla.first_response_breached || sla.resolution_breached,
        first_response_breached: sla.first_response_breached,
        resolution_breached: sla.resolution_breached,
        paused: sla.pause_time.is_some(),
        pause_time: sla.pause_time.map(to_timestamp),
        first_response_time: sla.first_response_time.map(to_timestamp),
        resolve_time: sla.resolve_time.map(to_timestamp),
        first_response_duration: sla.first_response_business.map(duration),
        resolution_duration: sla.resolution_business.map(duration),
    }
}

/// A ticket as a response shows it; for a customer the internal-only fields are empty.
pub fn ticket(ticket: &Ticket, for_customer: bool) -> pb::Ticket {
    let mut out = pb::Ticket {
        name: ticket.name(),
        number: ticket.number,
        customer: ticket.customer.to_string(),
        customer_identity: ticket.identity.as_ref().map(|i| common::ChannelIdentity {
            channel: wire(i.channel),
            handle: i.handle.clone(),
            provider: i.provider.clone(),
        }),
        customer_display_name: ticket.customer_display_name.clone(),
        customer_tier: ticket.customer_tier.clone(),
        channel: wire(ticket.channel),
        external_id: opt_string(ticket.external_id.as_ref()),
        subject: ticket.subject.clone(),
        description: ticket.description.clone(),
        kind: wire(ticket.kind),
        sub_kind: opt_wire(ticket.sub_kind),
        priority: wire(ticket.priority),
        classification: Some(classification(ticket)),
        status: wire(ticket.status),
        product: Some(pb::Product {
            product_line: ticket.product.product_line.clone(),
            model: ticket.product.model.clone(),
            serial_number: ticket.product.serial_number.clone(),
        }),
        region: ticket.region.to_string(),
        service_centre: opt_string(ticket.service_centre.as_ref()),
        language_code: opt_string(ticket.language_code.as_ref()),
        assignee: opt_string(ticket.assignee.as_ref()),
        team: opt_string(ticket.team.as_ref()),
        escalation_level: wire(ticket.escalation_level),
        tags: ticket.tags.as_slice().to_vec(),
        sla: Some(ticket_sla(ticket)),
        merged_into: ticket.merged_into.map(|t| t.name()).unwrap_or_default(),
        resolution_summary: ticket.resolution_summary.clone(),
        reopen_count: ticket.reopen_count,
        creator: Some(actor(&ticket.creator)),
        etag: Etag::of(ticket.version),
        create_time: Some(to_timestamp(ticket.create_time)),
        update_time: Some(to_timestamp(ticket.update_time)),
        close_time: ticket.close_time.map(to_timestamp),
    };
    if for_customer {
        out.assignee.clear();
        out.team.clear();
        out.tags.clear();
        out.classification = None;
        out.escalation_level = 0;
        out.resolution_summary.clear();
    }
    out
}

/// The snapshot carried by events.
pub fn snapshot(ticket: &Ticket) -> events::TicketSnapshot {
    events::TicketSnapshot {
        name: ticket.name(),
        number: ticket.number,
        customer: ticket.customer.to_string(),
        customer_tier: ticket.customer_tier.clone(),
        channel: wire(ticket.channel),
        region: ticket.region.to_string(),
        service_centre: opt_string(ticket.service_centre.as_ref()),
        language_code: opt_string(ticket.language_code.as_ref()),
        subject: ticket.subject.clone(),
        kind: wire(ticket.kind),
        sub_kind: opt_wire(ticket.sub_kind),
        priority: wire(ticket.priority),
        status: wire(ticket.status),
        assignee: opt_string(ticket.assignee.as_ref()),
        team: opt_string(ticket.team.as_ref()),
        escalation_level: wire(ticket.escalation_level),
        tags: ticket.tags.as_slice().to_vec(),
        product_line: ticket.product.product_line.clone(),
        product_model: ticket.product.model.clone(),
        sla_state: sla_state(ticket.sla.state(ticket.status)),
        first_response_due_time: ticket.sla.first_response_due.map(to_timestamp),
        resolution_due_time: ticket.sla.resolution_due.map(to_timestamp),
        merged_into: ticket.merged_into.map(|t| t.name()).unwrap_or_default(),
        reopen_count: ticket.reopen_count,
        create_time: Some(to_timestamp(ticket.create_time)),
        update_time: Some(to_timestamp(ticket.update_time)),
    }
}

/// A message.
pub fn message(message: &TicketMessage) -> pb::TicketMessage {
    pb::TicketMessage {
        name: message.name(),
        visibility: wire(message.visibility),
        author: Some(actor(&message.author)),
        body: message.body.clone(),
        format: wire(message.format),
        channel: opt_wire(message.channel),
        attachments: message
            .attachments
            .iter()
            .map(|a| pb::Attachment {
                uri: a.uri.clone(),
                file_name: a.file_name.clone(),
                content_type: a.content_type.clone(),
                size_bytes: a.size_bytes,
            })
            .collect(),
        source_ticket: message.source_ticket.map(|t| t.name()).unwrap_or_default(),
        create_time: Some(to_timestamp(message.create_time)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        Channel, EscalationLevel, Kind, MessageFormat, Priority, Status, SubKind, Visibility,
    };

    fn names_match<E: WireEnum>(proto_name: impl Fn(i32) -> Option<&'static str>) {
        for value in E::ALL {
            let expected = format!("{}{}", E::PREFIX, value.as_str());
            assert_eq!(proto_name(wire(*value)), Some(expected.as_str()));
        }
    }

    #[test]
    fn every_wire_enum_rank_is_its_proto_number() {
        names_match::<Kind>(|n| pb::TicketKind::try_from(n).ok().map(|v| v.as_str_name()));
        names_match::<SubKind>(|n| pb::TicketSubKind::try_from(n).ok().map(|v| v.as_str_name()));
        names_match::<Priority>(|n| {
            pb::TicketPriority::try_from(n)
                .ok()
                .map(|v| v.as_str_name())
        });
        names_match::<Status>(|n| pb::TicketStatus::try_from(n).ok().map(|v| v.as_str_name()));
        names_match::<EscalationLevel>(|n| {
            pb::EscalationLevel::try_from(n)
                .ok()
                .map(|v| v.as_str_name())
        });
        names_match::<Channel>(|n| common::Channel::try_from(n).ok().map(|v| v.as_str_name()));
        names_match::<Visibility>(|n| {
            pb::MessageVisibility::try_from(n)
                .ok()
                .map(|v| v.as_str_name())
        });
        names_match::<MessageFormat>(|n| {
            pb::MessageFormat::try_from(n).ok().map(|v| v.as_str_name())
        });
    }
}

//! Domain values to their protobuf form (responses and event payloads). The domain's wire
//! enums are declared in proto order, so a value's rank is its proto number.

use aftercare_platform::request::Etag;
use aftercare_platform::time::to_timestamp;
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::events::v1 as events;
use aftercare_proto::aftercare::tickets::v1 as pb;

use crate::domain::TicketId;
use crate::domain::{
    Actor, ActorKind, AfterSalesCase, Attachment, CalendarResource, ClassificationSource,
    DurationSummary, FieldChange, Figures, OpenInterval, RuleAction, SlaPolicy, SlaState, Target,
    Ticket, TicketMessage, WireEnum,
};
use crate::events::{CommittedChange, TicketChanged};
use crate::store::{HistoryRow, LinkRow};

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

/// An SLA policy.
pub fn sla_policy(p: &SlaPolicy) -> pb::SlaPolicy {
    use pb::sla_escalation_rule::Action;
    pb::SlaPolicy {
        name: p.name(),
        display_name: p.display_name.clone(),
        description: p.description.clone(),
        rank: p.rank,
        disabled: p.disabled,
        conditions: Some(pb::SlaPolicyConditions {
            kinds: p.conditions.kinds.iter().map(|k| wire(*k)).collect(),
            priorities: p.conditions.priorities.iter().map(|k| wire(*k)).collect(),
            customer_tiers: p.conditions.customer_tiers.clone(),
            regions: p.conditions.regions.clone(),
            channels: p.conditions.channels.iter().map(|k| wire(*k)).collect(),
        }),
        first_response_target: Some(duration(p.first_response_target)),
        resolution_target: Some(duration(p.resolution_target)),
        at_risk_threshold_percent: p.at_risk_percent as i32,
        business_calendar: p.business_calendar.clone().unwrap_or_default(),
        escalation_rules: p
            .escalation_rules
            .iter()
            .map(|r| pb::SlaEscalationRule {
                trigger: wire(r.trigger),
                action: Some(match &r.action {
                    RuleAction::RaisePriority(p) => {
                        Action::RaisePriority(pb::RaisePriorityAction {
                            priority: opt_wire(*p),
                        })
                    }
                    RuleAction::EscalateLevel(l, t) => {
                        Action::EscalateLevel(pb::EscalateLevelAction {
                            level: opt_wire(*l),
                            team: t.clone().map(String::from).unwrap_or_default(),
                        })
                    }
                    RuleAction::NotifyTeam(t) => Action::NotifyTeam(pb::NotifyTeamAction {
                        team: t.clone().map(String::from).unwrap_or_default(),
                    }),
                }),
            })
            .collect(),
        etag: Etag::of(p.version),
        create_time: Some(to_timestamp(p.create_time)),
        update_time: Some(to_timestamp(p.update_time)),
    }
}

/// A business calendar.
pub fn business_calendar(c: &CalendarResource) -> pb::BusinessCalendar {
    pb::BusinessCalendar {
        name: c.name(),
        display_name: c.display_name.clone(),
        region: c.region.to_string(),
        service_centre: c
            .service_centre
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        time_zone: c.time_zone.name().to_owned(),
        weekly_hours: c
            .weekly
            .iter()
            .map(|(day, intervals)| pb::BusinessDayHours {
                weekday: wire(*day),
                intervals: intervals
                    .iter()
                    .map(|i| pb::BusinessHoursInterval {
                        start_time_of_day: OpenInterval::render(i.start),
                        end_time_of_day: OpenInterval::render(i.end),
                    })
                    .collect(),
            })
            .collect(),
        holidays: c
            .holidays
            .iter()
            .map(|h| pb::Holiday {
                date: h.date.format("%Y-%m-%d").to_string(),
                display_name: h.display_name.clone(),
            })
            .collect(),
        etag: Etag::of(c.version),
        create_time: Some(to_timestamp(c.create_time)),
        update_time: Some(to_timestamp(c.update_time)),
    }
}

/// An actor, when there is one.
pub fn optional_actor(given: &Option<Actor>) -> Option<common::Actor> {
    given.as_ref().map(actor)
}

/// Files by reference.
pub fn attachments(list: &[Attachment]) -> Vec<pb::Attachment> {
    list.iter()
        .map(|a| pb::Attachment {
            uri: a.uri.clone(),
            file_name: a.file_name.clone(),
            content_type: a.content_type.clone(),
            size_bytes: a.size_bytes,
        })
        .collect()
}

/// A date as `YYYY-MM-DD`.
pub fn day(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// An after-sales case.
pub fn after_sales_case(c: &AfterSalesCase) -> pb::AfterSalesCase {
    let a = &c.application;
    pb::AfterSalesCase {
        name: c.name(),
        customer: c.customer.clone(),
        region: c.region.clone(),
        state: wire(c.state),
        service_type: wire(c.service_type()),
        application: Some(pb::AfterSalesApplication {
            requested_service_type: wire(a.requested),
            product: Some(pb::Product {
                product_line: a.product.product_line.clone(),
                model: a.product.model.clone(),
                serial_number: a.product.serial_number.clone(),
            }),
            purchase_date: day(a.purchase_date),
            purchase_reference: a.purchase_reference.clone(),
            problem_description: a.problem.clone(),
            attachments: attachments(&a.attachments),
        }),
        review: c.review.as_ref().map(|r| pb::AfterSalesReview {
            decision: if r.eligible {
                pb::EligibilityDecision::Eligible as i32
            } else {
                pb::EligibilityDecision::NotEligible as i32
            },
            warranty_check: wire(r.warranty_check),
            warranty_end_date: day(r.warranty_end),
            return_window_check: wire(r.return_check),
            return_window_end_date: day(r.return_end),
            approved_service_type: wire(r.approved),
            chargeable: r.chargeable,
            reason: r.reason.clone(),
            reviewer: Some(actor(&r.reviewer)),
            review_time: Some(to_timestamp(r.time)),
        }),
        arrangement: c.arrangement.as_ref().map(|r| pb::AfterSalesArrangement {
            service_type: wire(r.service_type),
            appointment_start_time: r.appointment.map(|a| to_timestamp(a.0)),
            appointment_end_time: r.appointment.map(|a| to_timestamp(a.1)),
            address: r.address.as_ref().map(|a| pb::PostalAddress {
                region_code: a.region_code.clone(),
                postal_code: a.postal_code.clone(),
                administrative_area: a.administrative_area.clone(),
                locality: a.locality.clone(),
                sublocality: a.sublocality.clone(),
                address_lines: a.address_lines.clone(),
                recipient: a.recipient.clone(),
                phone_number: a.phone_number.clone(),
            }),
            service_centre: r.service_centre.clone(),
            technician: r.technician.clone(),
            carrier: r.carrier.clone(),
            tracking_number: r.tracking_number.clone(),
            instructions: r.instructions.clone(),
            arranged_by: optional_actor(&r.arranged_by),
            arrange_time: Some(to_timestamp(r.time)),
        }),
        completion: c.completion.as_ref().map(|r| pb::AfterSalesCompletion {
            outcome: r.outcome.clone(),
            replacement_serial_number: r.replacement_serial_number.clone(),
            refund_reference: r.refund_reference.clone(),
            attachments: attachments(&r.attachments),
            completed_by: optional_actor(&r.completed_by),
            complete_time: Some(to_timestamp(r.time)),
        }),
        confirmation: c.confirmation.as_ref().map(|r| pb::AfterSalesConfirmation {
            satisfied: r.satisfied,
            comment: r.comment.clone(),
            confirmed_by: optional_actor(&r.confirmed_by),
            confirm_time: Some(to_timestamp(r.time)),
        }),
        cancel_reason: c.cancel_reason.clone(),
        steps: c
            .steps
            .iter()
            .map(|s| pb::AfterSalesStep {
                step_kind: wire(s.kind),
                state: wire(s.state),
                actor: Some(actor(&s.actor)),
                summary: s.summary.clone(),
                create_time: Some(to_timestamp(s.time)),
            })
            .collect(),
        etag: Etag::of(c.version),
        create_time: Some(to_timestamp(c.create_time)),
        update_time: Some(to_timestamp(c.update_time)),
    }
}

/// A link between tickets.
pub fn link(link: &LinkRow) -> pb::TicketLink {
    pb::TicketLink {
        name: format!("{}/links/{}", link.ticket.name(), link.id),
        linked_ticket: link.linked.name(),
        link_type: wire(link.link_type),
        linked_ticket_subject: link.linked_subject.clone(),
        linked_ticket_status: wire(link.linked_status),
        linked_ticket_number: link.linked_number,
        from_merge: link.from_merge,
        creator: Some(actor(&link.creator)),
        create_time: Some(to_timestamp(link.create_time)),
    }
}

/// Durations summarised.
pub fn duration_stats(d: &DurationSummary) -> pb::DurationStats {
    let set = |v: i64| (d.count > 0).then(|| duration(v));
    pb::DurationStats {
        count: d.count,
        average: set(d.average),
        p50: set(d.p50),
        p90: set(d.p90),
    }
}

/// The figures of one stats row.
pub fn ticket_stats(f: &Figures) -> pb::TicketStats {
    pb::TicketStats {
        created_count: f.created,
        resolved_count: f.resolved,
        closed_unresolved_count: f.closed_unresolved,
        reopened_count: f.reopened,
        backlog_count: f.backlog,
        first_response: Some(duration_stats(&f.first_response)),
        resolution: Some(duration_stats(&f.resolution)),
        first_response_sla_compliance: f.first_response_compliance,
        resolution_sla_compliance: f.resolution_compliance,
        sla_compliance: f.compliance,
        sla_breached_count: f.breached,
    }
}

/// One entry of `ticket`'s history.
pub fn history_entry(ticket: TicketId, h: &HistoryRow) -> pb::TicketHistoryEntry {
    pb::TicketHistoryEntry {
        name: format!("{}/history/{}", ticket.name(), h.id),
        event_kind: pb::HistoryEventKind::from_str_name(&format!(
            "HISTORY_EVENT_KIND_{}",
            h.event_kind
        ))
        .map_or(0, |k| k as i32),
        actor: Some(actor(&h.actor)),
        changes: h.changes.iter().map(field_change).collect(),
        reason: h.reason.clone(),
        message: h.message.clone(),
        related_ticket: h.related_ticket.clone(),
        after_sales_case: h.after_sales_case.clone(),
        create_time: Some(to_timestamp(h.create_time)),
    }
}

/// The responses that carry one resource, each `From` the resource's domain value (converted
/// by the function named like the field), so a handler answers with `(&value).into()`.
macro_rules! responses_carrying {
    ($field:ident: $domain:ty => $($response:ident),+ $(,)?) => {
        $(
            impl From<&$domain> for pb::$response {
                fn from(value: &$domain) -> Self {
                    Self {
                        $field: Some($field(value)),
                    }
                }
            }
        )+
    };
}

responses_carrying!(sla_policy: SlaPolicy =>
    CreateSlaPolicyResponse, GetSlaPolicyResponse, UpdateSlaPolicyResponse);
responses_carrying!(business_calendar: CalendarResource =>
    CreateBusinessCalendarResponse, GetBusinessCalendarResponse, UpdateBusinessCalendarResponse);
responses_carrying!(after_sales_case: AfterSalesCase =>
    CreateAfterSalesCaseResponse,
    GetAfterSalesCaseResponse,
    ReviewAfterSalesCaseResponse,
    ArrangeAfterSalesCaseResponse,
    CompleteAfterSalesCaseResponse,
    ConfirmAfterSalesCaseResponse,
    CancelAfterSalesCaseResponse,
);

/// The answer to a deleted SLA policy (the message carries nothing).
pub fn sla_policy_deleted() -> pb::DeleteSlaPolicyResponse {
    pb::DeleteSlaPolicyResponse {}
}

/// The answer to a deleted business calendar (the message carries nothing).
pub fn business_calendar_deleted() -> pb::DeleteBusinessCalendarResponse {
    pb::DeleteBusinessCalendarResponse {}
}

/// A page of SLA policies.
pub fn sla_policy_page(
    policies: &[SlaPolicy],
    next_page_token: String,
) -> pb::ListSlaPoliciesResponse {
    pb::ListSlaPoliciesResponse {
        sla_policies: policies.iter().map(sla_policy).collect(),
        next_page_token,
    }
}

/// A page of business calendars.
pub fn business_calendar_page(
    calendars: &[CalendarResource],
    next_page_token: String,
) -> pb::ListBusinessCalendarsResponse {
    pb::ListBusinessCalendarsResponse {
        business_calendars: calendars.iter().map(business_calendar).collect(),
        next_page_token,
    }
}

/// A page of after-sales cases.
pub fn after_sales_case_page(
    cases: &[AfterSalesCase],
    next_page_token: String,
) -> pb::ListAfterSalesCasesResponse {
    pb::ListAfterSalesCasesResponse {
        after_sales_cases: cases.iter().map(after_sales_case).collect(),
        next_page_token,
    }
}

/// A ticket of a watched queue as it stood when the watch began.
pub fn watch_initial(t: &Ticket) -> pb::WatchTicketsResponse {
    pb::WatchTicketsResponse {
        change_type: pb::TicketChangeType::Initial as i32,
        ticket: Some(ticket(t, false)),
        change_time: Some(to_timestamp(t.update_time)),
        ..Default::default()
    }
}

/// A watch message without a ticket (the end of the initial tickets, a heartbeat), at
/// `time` (UTC microseconds).
pub fn watch_marker(change_type: pb::TicketChangeType, time: i64) -> pb::WatchTicketsResponse {
    pb::WatchTicketsResponse {
        change_type: change_type as i32,
        change_time: Some(to_timestamp(time)),
        ..Default::default()
    }
}

/// One committed change of a watched ticket.
pub fn watch_change(changed: &TicketChanged, change: &CommittedChange) -> pb::WatchTicketsResponse {
    pb::WatchTicketsResponse {
        change_type: change.change_type as i32,
        ticket: Some(ticket(&changed.ticket, false)),
        actor: Some(actor(&changed.actor)),
        changes: change.fields.clone(),
        change_time: Some(to_timestamp(changed.time)),
        event_id: change.event_id.clone(),
        resume_token: String::new(),
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

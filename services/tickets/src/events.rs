//! What the service publishes: one event per change, written to the outbox in the
//! transaction that makes the change; and the feed of committed changes that `WatchTickets`
//! streams (`feed`: the service's own events read back from the bus, or, in one process,
//! the writes announced after their commit).
//!
//! Published (payloads in `aftercare.events.v1`): `TicketCreated`, `TicketUpdated` (fields
//! or tags), `TicketStatusChanged`, `TicketResolved`, `TicketReopened`, `TicketAssigned`,
//! `TicketEscalated`, `TicketReplied`, `TicketSlaAtRisk`, `TicketSlaBreached`, `TicketsMerged`,
//! `AfterSalesCaseChanged`.
//!
//! Consumed: `CustomerErased` (customers; scrubs the customer) and `TicketRouted` (workforce;
//! a queued ticket held for an agent is assigned to them).

mod feed;

use aftercare_platform::events::append;
use aftercare_platform::time::to_timestamp;
use aftercare_proto::aftercare::events::v1 as ev;
use aftercare_proto::aftercare::tickets::v1 as pb;
use prost::Name;
use sqlx::{Any, Transaction};

use crate::convert;
use crate::domain::{Actor, Change, Ticket, Visibility};
use crate::error::Result;

pub use feed::{Backlog, ChangeFeed, ResumeToken};

/// The service name events are published under.
pub const SOURCE: &str = "tickets";

/// One committed change, as the watch stream sends it.
#[derive(Debug, Clone)]
pub struct CommittedChange {
    /// What kind of change (`TicketChangeType`).
    pub change_type: pb::TicketChangeType,
    /// The fields changed.
    pub fields: Vec<pb::FieldChange>,
    /// The event published for it.
    pub event_id: String,
}

/// The changes of one committed write.
pub type Committed = Vec<CommittedChange>;

/// A committed write, broadcast to watchers.
#[derive(Debug, Clone)]
pub struct TicketChanged {
    /// The ticket after the write.
    pub ticket: Ticket,
    /// Who made it.
    pub actor: Actor,
    /// What changed.
    pub changes: Committed,
    /// When (UTC microseconds).
    pub time: i64,
    /// The feed position of the first change (the next ones follow it).
    pub position: u64,
}

async fn emit<M: Name>(
    tx: &mut Transaction<'_, Any>,
    ticket: &Ticket,
    payload: &M,
) -> Result<String> {
    Ok(append(tx, SOURCE, &ticket.name(), payload).await?.id)
}

fn excerpt(body: &str) -> String {
    body.chars().take(200).collect()
}

/// Appends the event of each change to the outbox in `tx`.
pub async fn publish(
    tx: &mut Transaction<'_, Any>,
    ticket: &Ticket,
    changes: Vec<Change>,
    actor: &Actor,
) -> Result<Committed> {
    use pb::TicketChangeType as T;
    let snapshot = || Some(convert::snapshot(ticket));
    let who = || Some(convert::actor(actor));
    let mut committed = Vec::new();
    for change in changes {
        let fields: Vec<pb::FieldChange> = change
            .history()
            .map(|h| h.changes.iter().map(convert::field_change).collect())
            .unwrap_or_default();
        let (change_type, event_id) = match change {
            Change::Created {
                follow_up_of,
                customer_created,
                identity,
            } => {
                let payload = ev::TicketCreated {
                    ticket: snapshot(),
                    actor: who(),
                    classification: Some(convert::classification(ticket)),
                    customer_created,
                    customer_identity: identity.map(|i| {
                        aftercare_proto::aftercare::common::v1::ChannelIdentity {
                            channel: convert::wire(i.channel),
                            handle: i.handle,
                            provider: i.provider,
                        }
                    }),
                    follow_up_of: follow_up_of.map(|t| t.name()).unwrap_or_default(),
                    external_id: ticket
                        .external_id
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                };
                (T::Created, emit(tx, ticket, &payload).await?)
            }
            Change::Classified { .. } | Change::Linked { .. } | Change::Unlinked { .. } => continue,
            Change::MergedInto { .. } => (T::Merged, String::new()),
            Change::MergedFrom { sources, reason } => {
                let payload = ev::TicketsMerged {
                    target: snapshot(),
                    sources: sources.iter().map(convert::snapshot).collect(),
                    actor: who(),
                    reason,
                };
                (T::Merged, emit(tx, ticket, &payload).await?)
            }
            Change::Updated { .. } | Change::TagsChanged { .. } => {
                let payload = ev::TicketUpdated {
                    ticket: snapshot(),
                    actor: who(),
                    changes: fields.clone(),
                };
                (T::Updated, emit(tx, ticket, &payload).await?)
            }
            Change::StatusChanged { from, to, reason } => {
                let payload = ev::TicketStatusChanged {
                    ticket: snapshot(),
                    actor: who(),
                    old_status: convert::wire(from),
                    new_status: convert::wire(to),
                    reason,
                };
                (T::StatusChanged, emit(tx, ticket, &payload).await?)
            }
            Change::Resolved { after_reopen } => {
                let payload = ev::TicketResolved {
                    ticket: snapshot(),
                    actor: who(),
                    resolve_time: ticket.sla.resolve_time.map(to_timestamp),
                    resolution_summary: ticket.resolution_summary.clone(),
                    first_response_duration: convert::ticket_sla(ticket).first_response_duration,
                    resolution_duration: convert::ticket_sla(ticket).resolution_duration,
                    sla_met: ticket.sla.policy.is_some()
                        && !ticket.sla.first_response_breached
                        && !ticket.sla.resolution_breached,
                    after_reopen,
                };
                (T::StatusChanged, emit(tx, ticket, &payload).await?)
            }
            Change::Reopened {
                previous,
                reason,
                by_customer_reply,
            } => {
                let payload = ev::TicketReopened {
                    ticket: snapshot(),
                    actor: who(),
                    previous_status: convert::wire(previous),
                    reason,
                    by_customer_reply,
                };
                (T::StatusChanged, emit(tx, ticket, &payload).await?)
            }
            Change::Assigned {
                previous_assignee,
                previous_team,
                reason,
                auto_routed,
                ..
            } => {
                let payload = ev::TicketAssigned {
                    ticket: snapshot(),
                    actor: who(),
                    previous_assignee: previous_assignee.unwrap_or_default(),
                    previous_team: previous_team.unwrap_or_default(),
                    auto_routed,
                    reason,
                };
                (T::Assigned, emit(tx, ticket, &payload).await?)
            }
            Change::Escalated {
                previous,
                level,
                reason,
                trigger,
            } => {
                let payload = ev::TicketEscalated {
                    ticket: snapshot(),
                    actor: who(),
                    previous_level: convert::wire(previous),
                    level: convert::wire(level),
                    reason,
                    sla_trigger: convert::opt_wire(trigger),
                };
                (T::Escalated, emit(tx, ticket, &payload).await?)
            }
            Change::MessageAdded {
                message,
                first_response,
            } => {
                let payload = ev::TicketReplied {
                    ticket: snapshot(),
                    actor: who(),
                    message: message.name(),
                    visibility: convert::wire(message.visibility),
                    channel: convert::opt_wire(message.channel),
                    first_response,
                    body_excerpt: if message.visibility == Visibility::Public {
                        excerpt(&message.body)
                    } else {
                        String::new()
                    },
                    attachment_count: message.attachments.len() as i32,
                    create_time: Some(to_timestamp(message.create_time)),
                };
                (T::MessageAdded, emit(tx, ticket, &payload).await?)
            }
            Change::SlaPausedOrResumed { .. }
            | Change::SlaApplied { .. }
            | Change::SlaTeamNotified { .. } => (T::SlaChanged, String::new()),
            Change::AfterSalesCaseChanged {
                case,
                previous,
                step,
            } => {
                let arrangement = case.arrangement.as_ref();
                let appointment = arrangement.and_then(|a| a.appointment);
                let payload = ev::AfterSalesCaseChanged {
                    after_sales_case: case.name(),
                    ticket: snapshot(),
                    actor: who(),
                    step_kind: convert::wire(step),
                    previous_state: convert::opt_wire(previous),
                    state: convert::wire(case.state),
                    service_type: convert::wire(case.service_type()),
                    product_model: case.application.product.model.clone(),
                    serial_number: case.application.product.serial_number.clone(),
                    appointment_start_time: appointment.map(|a| to_timestamp(a.0)),
                    appointment_end_time: appointment.map(|a| to_timestamp(a.1)),
                    technician: arrangement
                        .map(|a| a.technician.clone())
                        .unwrap_or_default(),
                    satisfied: case.confirmation.as_ref().is_some_and(|c| c.satisfied),
                    summary: case
                        .steps
                        .last()
                        .map(|s| s.summary.clone())
                        .unwrap_or_default(),
                    update_time: Some(to_timestamp(case.update_time)),
                };
                (T::Updated, emit(tx, ticket, &payload).await?)
            }
            Change::SlaAtRisk {
                target,
                due_time,
                remaining,
                used_percent,
            } => {
                let payload = ev::TicketSlaAtRisk {
                    ticket: snapshot(),
                    target: convert::sla_target(target),
                    policy: ticket.sla.policy.clone().unwrap_or_default(),
                    due_time: Some(to_timestamp(due_time)),
                    remaining: Some(convert::duration(remaining)),
                    used_percent: used_percent as i32,
                };
                (T::SlaChanged, emit(tx, ticket, &payload).await?)
            }
            Change::SlaBreached {
                target,
                due_time,
                breach_time,
            } => {
                let payload = ev::TicketSlaBreached {
                    ticket: snapshot(),
                    target: convert::sla_target(target),
                    policy: ticket.sla.policy.clone().unwrap_or_default(),
                    due_time: Some(to_timestamp(due_time)),
                    breach_time: Some(to_timestamp(breach_time)),
                };
                (T::SlaChanged, emit(tx, ticket, &payload).await?)
            }
        };
        committed.push(CommittedChange {
            change_type,
            fields,
            event_id,
        });
    }
    Ok(committed)
}

/// The name the tickets service's consumer is known by on the bus.
pub const CONSUMER: &str = "tickets";

/// Applies `CustomerErased`: the customer (and the customers merged into it) no longer
/// appear in the tickets service's data (see [`crate::store::erase_customer`]). Idempotent
/// through the platform's inbox; applied in the same transaction as the inbox row.
#[derive(Debug, Clone, Copy, Default)]
pub struct ErasureConsumer;

impl ErasureConsumer {
    /// The events it handles.
    pub fn filter() -> aftercare_platform::events::SubscriptionFilter {
        aftercare_platform::events::SubscriptionFilter::all().with_type::<ev::CustomerErased>()
    }
}

#[async_trait::async_trait]
impl aftercare_platform::events::EventHandler for ErasureConsumer {
    async fn handle(
        &self,
        tx: &mut Transaction<'_, Any>,
        event: &aftercare_platform::events::Event,
    ) -> anyhow::Result<()> {
        let erased: ev::CustomerErased = aftercare_platform::events::decode_payload(event)?;
        let mut tickets = 0;
        for customer in std::iter::once(&erased.customer).chain(erased.merged_customers.iter()) {
            tickets += crate::store::erase_customer(tx, customer).await?;
        }
        tracing::info!(customer = %erased.customer, tickets, "customer erased from tickets");
        Ok(())
    }
}

/// The name the routing consumer (`TicketRouted`) is known by on the bus.
pub const ROUTING_CONSUMER: &str = "tickets-routing";

/// Why a ticket routed from the workforce queue was assigned (its history).
pub const ROUTED_FROM_QUEUE: &str = "routed from the queue by the workforce service";

/// Applies the workforce service's `TicketRouted`: a queued ticket held for an agent (who
/// came online or freed capacity) is assigned to them as the system, recorded as routed
/// (`TicketAssigned.auto_routed`), while it is unassigned and neither resolved nor closed;
/// otherwise nothing changes (the workforce service releases its hold when it sees the
/// ticket assigned elsewhere, resolved or closed, or when the hold lapses). Idempotent
/// through the platform's inbox; applied in the same transaction as the inbox row.
#[derive(Debug, Clone)]
pub struct RoutingConsumer {
    db: aftercare_platform::db::Database,
    relay: aftercare_platform::events::RelayWaker,
    feed: ChangeFeed,
}

impl RoutingConsumer {
    /// A consumer writing to `db`, waking `relay` and announcing on `feed`.
    pub fn new(
        db: aftercare_platform::db::Database,
        relay: aftercare_platform::events::RelayWaker,
        feed: ChangeFeed,
    ) -> Self {
        Self { db, relay, feed }
    }

    /// The events it handles.
    pub fn filter() -> aftercare_platform::events::SubscriptionFilter {
        aftercare_platform::events::SubscriptionFilter::all()
            .with_type::<ev::TicketRouted>()
            .from_source("workforce")
    }

    /// The system, as the actor of a routed assignment.
    fn actor() -> Actor {
        Actor {
            kind: crate::domain::ActorKind::System,
            id: "services/workforce".to_owned(),
            display_name: "workforce routing".to_owned(),
        }
    }
}

#[async_trait::async_trait]
impl aftercare_platform::events::EventHandler for RoutingConsumer {
    async fn handle(
        &self,
        tx: &mut Transaction<'_, Any>,
        event: &aftercare_platform::events::Event,
    ) -> anyhow::Result<()> {
        let routed: ev::TicketRouted = aftercare_platform::events::decode_payload(event)?;
        let (Ok(id), Ok(agent)) = (
            crate::domain::TicketId::parse_name(&routed.ticket),
            crate::domain::AgentName::parse(&routed.agent),
        ) else {
            tracing::warn!(ticket = %routed.ticket, agent = %routed.agent, "TicketRouted with a malformed name: ignored");
            return Ok(());
        };
        let Some(mut ticket) = crate::store::get_ticket_in(tx, id).await? else {
            tracing::info!(ticket = %routed.ticket, "TicketRouted for an unknown ticket: ignored");
            return Ok(());
        };
        let paused_at = ticket.sla.pause_time;
        let now = aftercare_platform::time::now_micros();
        let changes = ticket.take_routed(agent, ROUTED_FROM_QUEUE, now)?;
        if changes.is_empty() {
            tracing::info!(ticket = %routed.ticket, agent = %routed.agent, "routed ticket already taken or done: left alone");
            return Ok(());
        }
        if ticket.sla_needs_calendar(paused_at) {
            let calendars = crate::store::all_calendars(&self.db).await?;
            let calendar = crate::domain::fallback_calendar(
                &calendars,
                ticket.sla.calendar.as_deref(),
                &ticket,
            )
            .map_or_else(crate::domain::BusinessCalendar::around_the_clock, |c| {
                c.calendar()
            });
            ticket.settle_sla(&calendar, paused_at);
        }
        let actor = Self::actor();
        let (ticket, committed) = crate::store::save_ticket_in(tx, ticket, changes, &actor).await?;
        // Announced before the inbox commits: a watcher may, rarely, see a change a failed
        // commit undoes and the redelivery makes again.
        self.relay.wake();
        self.feed.send(&ticket, &actor, committed);
        tracing::info!(ticket = %routed.ticket, agent = %routed.agent, "queued ticket assigned as routed");
        Ok(())
    }
}

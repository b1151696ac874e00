//! Events this service publishes (built from domain values) and the consumer that keeps
//! agents' load from the tickets service's events.

use aftercare_platform::auth::{Principal, Role};
use aftercare_platform::events::{EventHandler, SubscriptionFilter, decode_payload};
use aftercare_platform::time::{now_micros, to_timestamp};
use aftercare_proto::aftercare::common::v1::{Actor, ActorType};
use aftercare_proto::aftercare::events::v1 as ev;
use aftercare_proto::aftercare::tickets::v1::TicketStatus;
use std::sync::Arc;

use async_trait::async_trait;
use prost::Name;
use sqlx::{Any, Transaction};
use tokio::sync::broadcast;

use crate::Settings;
use crate::convert::{self, certification_name, course_name, enrolment_name};
use crate::domain::agent::{Agent, HeldSkill, PresenceState};
use crate::domain::names::{
    agent_name, parse_agent_name, parse_ticket_name, team_name, ticket_name,
};
use crate::domain::routing::Routable;
use crate::domain::training::{Actor as Recorded, Certification, Course, Enrolment};
use crate::store::{self, Conn, RecognitionRow};

/// The consumer name of the load tracker (its inbox key).
pub const LOAD_CONSUMER: &str = "workforce-load";

/// The service's name as an event source.
pub const SOURCE: &str = "workforce";

/// A presence (or load) change for `WatchPresence`, sent after it is written.
#[derive(Debug, Clone)]
pub struct PresenceUpdate {
    /// The agent after the change.
    pub agent: Agent,
    /// Whether their shift is working now.
    pub on_shift: bool,
}

/// The channel presence changes are announced on.
pub type PresenceFeed = broadcast::Sender<PresenceUpdate>;

/// Writes `payload` to the outbox in `tx`.
pub async fn publish<M: Name>(
    tx: &mut Transaction<'_, Any>,
    subject: &str,
    payload: &M,
) -> Result<(), aftercare_platform::events::EventError> {
    aftercare_platform::events::append(tx, SOURCE, subject, payload).await?;
    Ok(())
}

/// The actor of a principal.
pub fn actor(principal: &Principal) -> Actor {
    let kind = if principal.is_staff() {
        ActorType::Agent
    } else if principal.has_role(Role::Integration) {
        ActorType::Integration
    } else {
        ActorType::System
    };
    Actor {
        r#type: kind as i32,
        id: principal.subject.clone(),
        display_name: principal.display_name.clone().unwrap_or_default(),
    }
}

/// The system as an actor (sweeps).
pub fn system() -> Actor {
    Actor {
        r#type: ActorType::System as i32,
        id: String::new(),
        display_name: "workforce".into(),
    }
}

/// A principal as the domain records who did something.
pub fn recorded(principal: &Principal) -> Recorded {
    recorded_actor(actor(principal))
}

/// The system as the domain records it.
pub fn recorded_system() -> Recorded {
    recorded_actor(system())
}

fn recorded_actor(a: Actor) -> Recorded {
    Recorded {
        kind: a.r#type,
        id: a.id,
        name: a.display_name,
    }
}

/// `AgentCreated`.
pub fn agent_created(agent: &Agent, by: &Recorded) -> ev::AgentCreated {
    ev::AgentCreated {
        agent: Some(snapshot(agent)),
        actor: Some(convert::actor(by)),
    }
}

/// `AgentUpdated` with the fields that changed.
pub fn agent_updated(
    agent: &Agent,
    changed_fields: Vec<String>,
    by: &Recorded,
) -> ev::AgentUpdated {
    ev::AgentUpdated {
        agent: Some(snapshot(agent)),
        changed_fields,
        actor: Some(convert::actor(by)),
    }
}

/// `PresenceChanged` from `previous` to the agent's state, at `now`.
pub fn presence_changed(
    agent: &Agent,
    previous: PresenceState,
    on_shift: bool,
    by: &Recorded,
    now: i64,
) -> ev::PresenceChanged {
    ev::PresenceChanged {
        agent: agent_name(agent.id),
        agent_display_name: agent.profile.display_name.clone(),
        previous_state: previous.number() as i32,
        state: agent.presence.state.number() as i32,
        active_tickets: agent.active_tickets as i32,
        capacity: agent.profile.max_concurrent_tickets as i32,
        region: agent.profile.region.clone(),
        teams: agent.teams.iter().map(|t| team_name(*t)).collect(),
        on_shift,
        actor: Some(convert::actor(by)),
        change_time: Some(to_timestamp(now)),
    }
}

/// `CertificationIssued` (by hand, or by completing its course).
pub fn certification_issued(c: &Certification) -> ev::CertificationIssued {
    ev::CertificationIssued {
        certification: certification_name(c.agent, c.id),
        agent: agent_name(c.agent),
        code: c.code.clone(),
        display_name: c.display_name.clone(),
        course: c.course.map(course_name).unwrap_or_default(),
        issue_time: Some(to_timestamp(c.issue_time)),
        expire_time: c.expire_time.map(to_timestamp),
        actor: Some(convert::actor(&c.issuer)),
    }
}

/// `CertificationExpired`.
pub fn certification_expired(c: &Certification) -> ev::CertificationExpired {
    ev::CertificationExpired {
        certification: certification_name(c.agent, c.id),
        agent: agent_name(c.agent),
        code: c.code.clone(),
        display_name: c.display_name.clone(),
        course: c.course.map(course_name).unwrap_or_default(),
        expire_time: c.expire_time.map(to_timestamp),
    }
}

/// `EnrolmentCompleted`, with the skills the course raised.
pub fn enrolment_completed(
    course: &Course,
    enrolment: &Enrolment,
    raised: &[HeldSkill],
) -> ev::EnrolmentCompleted {
    ev::EnrolmentCompleted {
        enrolment: enrolment_name(course.id, enrolment.id),
        course: course_name(course.id),
        course_title: course.title.clone(),
        agent: agent_name(enrolment.agent),
        score_percent: enrolment.best_score,
        attempts: enrolment.attempts as i32,
        certification: enrolment
            .certification
            .map(|c| certification_name(enrolment.agent, c))
            .unwrap_or_default(),
        raised_skills: convert::agent_skills(raised),
        finish_time: enrolment.finish_time.map(to_timestamp),
    }
}

/// `RecognitionAwarded` to `agent`.
pub fn recognition_awarded(r: &RecognitionRow, agent: &Agent) -> ev::RecognitionAwarded {
    ev::RecognitionAwarded {
        recognition: recognition_name(r.id),
        agent: agent_name(agent.id),
        agent_display_name: agent.profile.display_name.clone(),
        badge: r.badge as i32,
        reason: r.reason.clone(),
        references: r.references.clone(),
        awarded_by: Some(convert::actor(&r.awarded_by)),
        create_time: Some(to_timestamp(r.create_time)),
    }
}

/// `TicketRouted`: the queued `ticket` (queued at `queue_time` for `reason`) held for
/// `agent` at `now`.
pub fn ticket_routed(
    ticket: uuid::Uuid,
    agent: &Routable,
    reason: &str,
    queue_time: i64,
    now: i64,
) -> ev::TicketRouted {
    ev::TicketRouted {
        ticket: ticket_name(ticket),
        agent: agent_name(agent.id),
        agent_display_name: agent.display_name.clone(),
        queue_reason: reason.to_owned(),
        queue_time: Some(to_timestamp(queue_time)),
        route_time: Some(to_timestamp(now)),
    }
}

/// The resource name of a recognition.
pub fn recognition_name(id: uuid::Uuid) -> String {
    format!("recognitions/{id}")
}

/// Whether an agent's shift is working now (no shift: never).
pub async fn on_shift(conn: &mut Conn, agent: &Agent, now: i64) -> Result<bool, sqlx::Error> {
    match agent.profile.shift {
        Some(shift) => Ok(store::find_shift(conn, shift)
            .await?
            .is_some_and(|shift| shift.on_shift_at(now))),
        None => Ok(false),
    }
}

/// Keeps `agents.active_tickets` from ticket events: assigned, resolved, closed, reopened,
/// merged. Each event carries the ticket as it is after the change, so the handler sets the
/// ticket's carrier from it (idempotent, and a late older event is ignored).
#[derive(Debug, Clone)]
pub struct LoadTracker {
    feed: PresenceFeed,
    settings: Arc<Settings>,
}

impl LoadTracker {
    /// A tracker announcing load changes on `feed`, with default settings.
    pub fn new(feed: PresenceFeed) -> Self {
        Self::with_settings(feed, Arc::new(Settings::default()))
    }

    /// A tracker announcing load changes on `feed`; an agent whose load goes down gets the
    /// queued tickets it may take under `settings`' follow-the-sun policies.
    pub fn with_settings(feed: PresenceFeed, settings: Arc<Settings>) -> Self {
        Self { feed, settings }
    }

    /// The events it consumes.
    pub fn filter() -> SubscriptionFilter {
        SubscriptionFilter::all()
            .with_type::<ev::TicketAssigned>()
            .with_type::<ev::TicketResolved>()
            .with_type::<ev::TicketStatusChanged>()
            .with_type::<ev::TicketReopened>()
            .with_type::<ev::TicketsMerged>()
            .from_source("tickets")
    }
}

fn snapshots(event: &ev::Event) -> anyhow::Result<(Vec<ev::TicketSnapshot>, bool)> {
    let kind = event.r#type.as_str();
    let one = |s: Option<ev::TicketSnapshot>| s.into_iter().collect::<Vec<_>>();
    Ok(if kind == ev::TicketAssigned::full_name() {
        (
            one(decode_payload::<ev::TicketAssigned>(event)?.ticket),
            true,
        )
    } else if kind == ev::TicketResolved::full_name() {
        (
            one(decode_payload::<ev::TicketResolved>(event)?.ticket),
            false,
        )
    } else if kind == ev::TicketStatusChanged::full_name() {
        (
            one(decode_payload::<ev::TicketStatusChanged>(event)?.ticket),
            false,
        )
    } else if kind == ev::TicketReopened::full_name() {
        (
            one(decode_payload::<ev::TicketReopened>(event)?.ticket),
            false,
        )
    } else if kind == ev::TicketsMerged::full_name() {
        let merged = decode_payload::<ev::TicketsMerged>(event)?;
        (
            merged.sources.into_iter().chain(merged.target).collect(),
            false,
        )
    } else {
        (Vec::new(), false)
    })
}

#[async_trait]
impl EventHandler for LoadTracker {
    async fn handle(&self, tx: &mut Transaction<'_, Any>, event: &ev::Event) -> anyhow::Result<()> {
        let (tickets, assigned) = snapshots(event)?;
        let now = now_micros();
        let mut touched = Vec::new();
        let mut freed = Vec::new();
        for ticket in tickets {
            let Some(id) = parse_ticket_name(&ticket.name) else {
                tracing::warn!(ticket = %ticket.name, "ticket event with a malformed ticket name");
                continue;
            };
            let assignee = parse_agent_name(&ticket.assignee);
            let status = TicketStatus::try_from(ticket.status).unwrap_or(TicketStatus::Unspecified);
            let open = !matches!(status, TicketStatus::Resolved | TicketStatus::Closed);
            let time = ticket
                .update_time
                .as_ref()
                .and_then(aftercare_platform::time::from_timestamp)
                .unwrap_or(now);
            let change =
                store::apply_ticket_snapshot(tx, id, assignee, open, time, assigned, now).await?;
            touched.extend(change.agents.into_iter().map(|(agent, _)| agent));
            freed.extend(change.freed);
        }
        // Capacity freed: the agent takes the queued tickets it may, in this transaction.
        let settings = &self.settings;
        for agent in freed {
            store::route_queued_in(tx, agent, &|r, a| settings.takes(r, a), now).await?;
        }
        for id in touched {
            if let Some(agent) = store::find_agent(tx, id).await? {
                let on_shift = on_shift(tx, &agent, now).await?;
                let _ = self.feed.send(PresenceUpdate { agent, on_shift });
            }
        }
        Ok(())
    }
}

/// The event snapshot of an agent.
pub fn snapshot(agent: &Agent) -> ev::AgentSnapshot {
    let p = &agent.profile;
    ev::AgentSnapshot {
        name: crate::domain::names::agent_name(agent.id),
        display_name: p.display_name.clone(),
        email: p.email.clone(),
        roles: p.roles.iter().map(|r| r.number() as i32).collect(),
        teams: agent
            .teams
            .iter()
            .map(|t| crate::domain::names::team_name(*t))
            .collect(),
        region: p.region.clone(),
        service_centre: p.service_centre.clone().unwrap_or_default(),
        languages: p.languages.iter().map(|l| l.as_str().to_owned()).collect(),
        skills: convert::agent_skills(&p.skills),
        max_concurrent_tickets: p.max_concurrent_tickets as i32,
        shift: p
            .shift
            .map(crate::domain::names::shift_name)
            .unwrap_or_default(),
        state: p.state.number() as i32,
        delete_time: agent.delete_time.map(to_timestamp),
        create_time: Some(to_timestamp(agent.create_time)),
        update_time: Some(to_timestamp(agent.update_time)),
    }
}

/// The consumer name of the performance projection.
pub const PERFORMANCE_CONSUMER: &str = "workforce-performance";

/// Records performance facts from ticket and feedback events. CSAT answers are credited
/// to the agent the survey names, else to the ticket's resolver; one that arrives before
/// the resolution waits and is credited when `TicketResolved` arrives (either order).
#[derive(Debug, Clone, Copy, Default)]
pub struct PerformanceProjection;

impl PerformanceProjection {
    /// The events it consumes.
    pub fn filter() -> SubscriptionFilter {
        SubscriptionFilter::all()
            .with_type::<ev::TicketAssigned>()
            .with_type::<ev::TicketReplied>()
            .with_type::<ev::TicketResolved>()
            .with_type::<ev::TicketReopened>()
            .with_type::<ev::TicketEscalated>()
            .with_type::<ev::SurveyResponseReceived>()
    }
}

fn micros(t: Option<&prost_types::Timestamp>, fallback: i64) -> i64 {
    t.and_then(aftercare_platform::time::from_timestamp)
        .unwrap_or(fallback)
}

fn duration(d: Option<&prost_types::Duration>) -> Option<i64> {
    d.map(|d| d.seconds.saturating_mul(1_000_000) + i64::from(d.nanos) / 1_000)
}

async fn agent_of(conn: &mut Conn, name: &str) -> Result<Option<uuid::Uuid>, sqlx::Error> {
    if name.is_empty() {
        return Ok(None);
    }
    match parse_agent_name(name) {
        Some(id) => Ok(Some(id)),
        None => store::find_agent_by_subject(conn, name).await,
    }
}

#[async_trait]
impl EventHandler for PerformanceProjection {
    async fn handle(&self, tx: &mut Transaction<'_, Any>, event: &ev::Event) -> anyhow::Result<()> {
        use crate::domain::performance::{Fact, FactKind};
        let kind = event.r#type.as_str();
        let at = micros(event.time.as_ref(), now_micros());
        let fact = |agent, ticket, kind, value, time| Fact {
            agent,
            ticket,
            kind,
            value,
            time,
        };
        let mut facts = Vec::new();
        if kind == ev::TicketAssigned::full_name() {
            let e = decode_payload::<ev::TicketAssigned>(event)?;
            let t = e.ticket.unwrap_or_default();
            if let Some(agent) = parse_agent_name(&t.assignee) {
                let time = micros(t.update_time.as_ref(), at);
                facts.push(fact(
                    Some(agent),
                    parse_ticket_name(&t.name),
                    FactKind::Assigned,
                    0,
                    time,
                ));
            }
        } else if kind == ev::TicketReplied::full_name() {
            let e = decode_payload::<ev::TicketReplied>(event)?;
            let public = e.visibility
                == aftercare_proto::aftercare::tickets::v1::MessageVisibility::Public as i32;
            let actor = e.actor.unwrap_or_default();
            if public
                && actor.r#type == ActorType::Agent as i32
                && let Some(agent) = agent_of(tx, &actor.id).await?
            {
                let ticket = e.ticket.as_ref().and_then(|t| parse_ticket_name(&t.name));
                let time = micros(e.create_time.as_ref(), at);
                facts.push(fact(Some(agent), ticket, FactKind::Handled, 0, time));
            }
        } else if kind == ev::TicketResolved::full_name() {
            let e = decode_payload::<ev::TicketResolved>(event)?;
            let t = e.ticket.clone().unwrap_or_default();
            let ticket = parse_ticket_name(&t.name);
            if let Some(agent) = parse_agent_name(&t.assignee) {
                let time = micros(e.resolve_time.as_ref(), at);
                let resolution = duration(e.resolution_duration.as_ref()).unwrap_or(0);
                facts.push(fact(
                    Some(agent),
                    ticket,
                    FactKind::Resolved,
                    resolution,
                    time,
                ));
                if let Some(first) = duration(e.first_response_duration.as_ref()) {
                    facts.push(fact(
                        Some(agent),
                        ticket,
                        FactKind::FirstResponse,
                        first,
                        time,
                    ));
                }
                let sla = if e.sla_met {
                    FactKind::SlaMet
                } else {
                    FactKind::SlaBreached
                };
                facts.push(fact(Some(agent), ticket, sla, 0, time));
                if let Some(ticket) = ticket {
                    for f in facts.drain(..) {
                        store::insert_fact(tx, &f).await?;
                    }
                    store::attach_waiting_csat(tx, ticket, agent).await?;
                }
            }
        } else if kind == ev::TicketReopened::full_name() {
            let e = decode_payload::<ev::TicketReopened>(event)?;
            let t = e.ticket.unwrap_or_default();
            if let Some(ticket) = parse_ticket_name(&t.name) {
                let agent = match store::resolver_of(tx, ticket).await? {
                    Some(agent) => Some(agent),
                    None => parse_agent_name(&t.assignee),
                };
                if agent.is_some() {
                    facts.push(fact(
                        agent,
                        Some(ticket),
                        FactKind::Reopened,
                        0,
                        micros(t.update_time.as_ref(), at),
                    ));
                }
            }
        } else if kind == ev::TicketEscalated::full_name() {
            let e = decode_payload::<ev::TicketEscalated>(event)?;
            let t = e.ticket.unwrap_or_default();
            if let Some(agent) = parse_agent_name(&t.assignee) {
                facts.push(fact(
                    Some(agent),
                    parse_ticket_name(&t.name),
                    FactKind::Escalated,
                    0,
                    micros(t.update_time.as_ref(), at),
                ));
            }
        } else if kind == ev::SurveyResponseReceived::full_name() {
            let e = decode_payload::<ev::SurveyResponseReceived>(event)?;
            if let Some(score) = e.csat_score.filter(|s| (1..=5).contains(s)) {
                let ticket = parse_ticket_name(&e.ticket);
                let agent = match agent_of(tx, &e.agent).await? {
                    Some(agent) => Some(agent),
                    None => match ticket {
                        Some(ticket) => store::resolver_of(tx, ticket).await?,
                        None => None,
                    },
                };
                if agent.is_some() || ticket.is_some() {
                    let time = micros(e.receive_time.as_ref(), at);
                    facts.push(fact(agent, ticket, FactKind::Csat, i64::from(score), time));
                }
            }
        }
        for f in &facts {
            store::insert_fact(tx, f).await?;
        }
        Ok(())
    }
}

//! The feed `WatchTickets` streams: every committed change in one order, each with a
//! position, and a replay from a position (the watch's resume token).
//!
//! Its source depends on the bus:
//! - **NATS JetStream** (a cluster; every replica shares one database): the service's own
//!   events as the stream stored them, read by one ordered consumer per replica and fanned
//!   out to its watchers. A watcher on any replica sees the changes made on every replica,
//!   in the stream's order (a ticket's changes in the order they were made: its writes are
//!   serialised and the relay publishes in commit order). A position is a stream sequence,
//!   the same on every replica; a replay reads the stream from it for as long as the stream
//!   keeps events (`events.retention`). [`ChangeFeed::send`] does nothing there: the relay
//!   publishes the outbox and the feed hears it back. A message carries the ticket as read
//!   when the event arrives (at or after the change) and the fields the event names.
//! - **In-process** (`aftercare up`, one process): the writes of this process, announced
//!   after their commit through [`ChangeFeed::send`] and numbered as they come; the last
//!   `capacity` writes are kept for a replay, for as long as the process lives.
//!
//! Changes that publish no event (SLA pause or resume, a policy applied, the source side of
//! a merge) are announced in one process only: on a cluster, watchers see their effect in
//! the ticket of the next change.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aftercare_platform::db::Database;
use aftercare_platform::events::{
    Event, EventBus, EventError, SubscriptionFilter, TailStart, decode_payload,
};
use aftercare_platform::time::{from_timestamp, now_micros};
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::events::v1 as ev;
use aftercare_proto::aftercare::tickets::v1 as pb;
use futures::StreamExt as _;
use futures::stream::BoxStream;
use prost::Name;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::{Committed, CommittedChange, SOURCE, TicketChanged};
use crate::domain::{
    Actor, ActorKind, CaseState, EscalationLevel, FieldChange, Status, Target, Ticket, TicketId,
    WireEnum,
};
use crate::error::Error;
use crate::store;

/// The longest pause before the feed reads the bus again after a failure.
const MAX_RETRY: Duration = Duration::from_secs(5);

/// Changes a watcher replays before it goes live, in order.
pub type Backlog = BoxStream<'static, Result<TicketChanged, Error>>;

/// Where a watch resumes: after the change at `position` of the feed `feed`. Written as
/// `<feed>.<position>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeToken {
    /// The feed that numbered it.
    pub feed: String,
    /// The change's position.
    pub position: u64,
}

impl ResumeToken {
    /// The token `text` names, or why it names none.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let (feed, position) = text
            .rsplit_once('.')
            .ok_or("must be a resume_token a WatchTickets response carried")?;
        let position = position
            .parse()
            .map_err(|_| "must be a resume_token a WatchTickets response carried")?;
        if feed.is_empty()
            || feed.len() > 64
            || !feed
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err("must be a resume_token a WatchTickets response carried");
        }
        Ok(Self {
            feed: feed.to_owned(),
            position,
        })
    }
}

impl std::fmt::Display for ResumeToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.feed, self.position)
    }
}

/// The feed of committed changes. Cheap to clone; clones share it.
#[derive(Debug, Clone)]
pub struct ChangeFeed {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    id: String,
    sender: broadcast::Sender<TicketChanged>,
    capacity: usize,
    source: Source,
}

#[derive(Debug)]
enum Source {
    Local(Mutex<Log>),
    Bus {
        bus: Arc<dyn EventBus>,
        db: Database,
    },
}

/// The positions given so far and the last writes, in one process.
#[derive(Debug)]
struct Log {
    next: u64,
    recent: VecDeque<TicketChanged>,
}

fn own_events() -> SubscriptionFilter {
    SubscriptionFilter::all().from_source(SOURCE)
}

impl ChangeFeed {
    /// A feed of this process's writes, buffering up to `capacity` changes per slow
    /// subscriber and keeping the last `capacity` writes for a replay.
    pub fn local(capacity: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                id: format!("p{:x}", now_micros()),
                sender: broadcast::channel(capacity.max(1)).0,
                capacity: capacity.max(1),
                source: Source::Local(Mutex::new(Log {
                    next: 1,
                    recent: VecDeque::new(),
                })),
            }),
        }
    }

    /// The feed `bus` carries, when it keeps an ordered log (JetStream), read until
    /// `shutdown`, its tickets read from `db`; `stream` names the log in resume tokens.
    /// Otherwise a [`ChangeFeed::local`] feed.
    pub async fn start(
        capacity: usize,
        bus: Arc<dyn EventBus>,
        db: Database,
        stream: &str,
        shutdown: CancellationToken,
    ) -> Result<Self, EventError> {
        let Some(tail) = bus.tail(&own_events(), TailStart::New).await? else {
            return Ok(Self::local(capacity));
        };
        let id: String = stream
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .take(60)
            .collect();
        let feed = Self {
            inner: Arc::new(Inner {
                id: format!("s{id}"),
                sender: broadcast::channel(capacity.max(1)).0,
                capacity: capacity.max(1),
                source: Source::Bus { bus, db },
            }),
        };
        tokio::spawn(feed.clone().follow(tail.events, shutdown));
        Ok(feed)
    }

    /// Reads the bus's log until `shutdown`, announcing each change while anyone watches;
    /// after a failure, reads on from the last position seen.
    async fn follow(
        self,
        mut events: BoxStream<'static, Result<aftercare_platform::events::Tailed, EventError>>,
        shutdown: CancellationToken,
    ) {
        let Source::Bus { bus, db } = &self.inner.source else {
            return;
        };
        let mut last: Option<u64> = None;
        let mut failures = 0u32;
        loop {
            match shutdown.run_until_cancelled(events.next()).await {
                None => return,
                Some(Some(Ok(tailed))) => {
                    failures = 0;
                    last = Some(tailed.position);
                    if self.inner.sender.receiver_count() == 0 {
                        continue;
                    }
                    // A change the database cannot give now is waited for, not skipped:
                    // watchers fall behind (and are told) rather than miss it.
                    let mut attempt = 0u32;
                    let changed = loop {
                        match changed_from_event(db, &tailed.event, tailed.position).await {
                            Ok(changed) => break changed,
                            Err(err) => {
                                attempt = attempt.saturating_add(1);
                                tracing::warn!(error = %err, position = tailed.position, "cannot read a watched ticket; retrying");
                                if shutdown
                                    .run_until_cancelled(tokio::time::sleep(retry(attempt)))
                                    .await
                                    .is_none()
                                {
                                    return;
                                }
                            }
                        }
                    };
                    if let Some(changed) = changed {
                        let _ = self.inner.sender.send(changed);
                    }
                    continue;
                }
                Some(Some(Err(err))) => {
                    tracing::warn!(error = %err, "the watch feed's bus read failed; reading again");
                }
                Some(None) => tracing::warn!("the watch feed's bus read ended; reading again"),
            }
            // Read again from the last position seen.
            loop {
                failures = failures.saturating_add(1);
                if shutdown
                    .run_until_cancelled(tokio::time::sleep(retry(failures)))
                    .await
                    .is_none()
                {
                    return;
                }
                let start = last.map_or(TailStart::New, TailStart::After);
                match bus.tail(&own_events(), start).await {
                    Ok(Some(tail)) => {
                        events = tail.events;
                        break;
                    }
                    Ok(None) => return,
                    Err(err) => {
                        tracing::warn!(error = %err, "cannot read the bus for the watch feed")
                    }
                }
            }
        }
    }

    /// How many changes a slow subscriber may fall behind before it misses some.
    pub fn capacity(&self) -> usize {
        self.inner.capacity
    }

    /// The resume token of the change at `position`.
    pub fn token(&self, position: u64) -> String {
        ResumeToken {
            feed: self.inner.id.clone(),
            position,
        }
        .to_string()
    }

    /// Announces a committed write of this process (in-process feed; on a bus the feed hears
    /// the write's events instead).
    pub fn send(&self, ticket: &Ticket, actor: &Actor, changes: Committed) {
        let Source::Local(log) = &self.inner.source else {
            return;
        };
        if changes.is_empty() {
            return;
        }
        let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
        let changed = TicketChanged {
            ticket: ticket.clone(),
            actor: actor.clone(),
            position: log.next,
            time: ticket.update_time,
            changes,
        };
        log.next += changed.changes.len() as u64;
        if log.recent.len() == self.inner.capacity {
            log.recent.pop_front();
        }
        log.recent.push_back(changed.clone());
        // Sent under the lock, so subscribers receive positions in order.
        let _ = self.inner.sender.send(changed);
    }

    /// A subscription to the changes after now, or after `resume` (then with the changes
    /// since, to send first). `ABORTED` when `resume` is from another feed or older than the
    /// feed keeps.
    pub async fn subscribe(
        &self,
        resume: Option<&ResumeToken>,
    ) -> Result<(Backlog, broadcast::Receiver<TicketChanged>), Error> {
        let expired = || {
            Error::Aborted(
                "resume_token is older than the changes this server keeps (or from before \
                 it restarted): watch again with send_initial"
                    .to_owned(),
            )
        };
        if let Some(token) = resume
            && token.feed != self.inner.id
        {
            return Err(expired());
        }
        match &self.inner.source {
            Source::Local(log) => {
                let log = log.lock().unwrap_or_else(PoisonError::into_inner);
                let receiver = self.inner.sender.subscribe();
                let Some(after) = resume.map(|t| t.position) else {
                    return Ok((futures::stream::empty().boxed(), receiver));
                };
                let oldest = log.recent.front().map_or(log.next, |c| c.position);
                if after.saturating_add(1) < oldest || after >= log.next {
                    return Err(expired());
                }
                let backlog: Vec<Result<TicketChanged, Error>> = log
                    .recent
                    .iter()
                    .filter(|c| c.position + c.changes.len() as u64 > after + 1)
                    .cloned()
                    .map(Ok)
                    .collect();
                Ok((futures::stream::iter(backlog).boxed(), receiver))
            }
            Source::Bus { bus, db } => {
                let receiver = self.inner.sender.subscribe();
                let Some(after) = resume.map(|t| t.position) else {
                    return Ok((futures::stream::empty().boxed(), receiver));
                };
                let tail = match bus.tail(&own_events(), TailStart::After(after)).await {
                    Ok(Some(tail)) => tail,
                    Ok(None) => return Err(expired()),
                    Err(EventError::Expired { .. }) => return Err(expired()),
                    Err(err) => return Err(Error::Event(err)),
                };
                if tail.pending == 0 {
                    return Ok((futures::stream::empty().boxed(), receiver));
                }
                let db = db.clone();
                // Up to the event that left nothing pending; the live feed goes on from there.
                let backlog = futures::stream::unfold(
                    (tail.events, db, false),
                    |(mut events, db, done)| async move {
                        if done {
                            return None;
                        }
                        loop {
                            let tailed = match events.next().await? {
                                Ok(tailed) => tailed,
                                Err(err) => {
                                    return Some((Err(Error::Event(err)), (events, db, true)));
                                }
                            };
                            let done = tailed.pending == 0;
                            match changed_from_event(&db, &tailed.event, tailed.position).await {
                                Ok(Some(changed)) => {
                                    return Some((Ok(changed), (events, db, done)));
                                }
                                Ok(None) if done => return None,
                                Ok(None) => {}
                                Err(err) => return Some((Err(err), (events, db, true))),
                            }
                        }
                    },
                );
                Ok((backlog.boxed(), receiver))
            }
        }
    }
}

fn retry(failures: u32) -> Duration {
    Duration::from_millis(100)
        .saturating_mul(1 << failures.min(8))
        .min(MAX_RETRY)
}

/// The change one of the service's events announces, with the ticket as it is now; `None`
/// for an event of another kind or about a ticket that is gone.
async fn changed_from_event(
    db: &Database,
    event: &Event,
    position: u64,
) -> Result<Option<TicketChanged>, Error> {
    let Some(announced) = Announced::of(event)? else {
        return Ok(None);
    };
    let Ok(id) = TicketId::parse_name(&announced.ticket) else {
        return Ok(None);
    };
    let Some(ticket) = store::get_ticket(db, id).await? else {
        return Ok(None);
    };
    let time = event
        .time
        .as_ref()
        .and_then(from_timestamp)
        .unwrap_or(ticket.update_time);
    Ok(Some(TicketChanged {
        ticket,
        actor: announced.actor.map_or_else(system, actor),
        position,
        time,
        changes: vec![CommittedChange {
            change_type: announced.change_type,
            fields: announced
                .fields
                .iter()
                .map(crate::convert::field_change)
                .collect(),
            event_id: event.id.clone(),
        }],
    }))
}

fn system() -> Actor {
    Actor {
        kind: ActorKind::System,
        id: String::new(),
        display_name: String::new(),
    }
}

fn actor(actor: common::Actor) -> Actor {
    let kind = match common::ActorType::try_from(actor.r#type) {
        Ok(common::ActorType::Agent) => ActorKind::Agent,
        Ok(common::ActorType::Customer) => ActorKind::Customer,
        Ok(common::ActorType::Integration) => ActorKind::Integration,
        _ => ActorKind::System,
    };
    Actor {
        kind,
        id: actor.id,
        display_name: actor.display_name,
    }
}

/// What one event says changed, as a watcher is told.
struct Announced {
    ticket: String,
    actor: Option<common::Actor>,
    change_type: pb::TicketChangeType,
    fields: Vec<FieldChange>,
}

fn name<E: WireEnum>(rank: i32) -> &'static str {
    E::from_rank(rank).map_or("", WireEnum::as_str)
}

fn target(rank: i32) -> Option<Target> {
    match pb::SlaTargetKind::try_from(rank) {
        Ok(pb::SlaTargetKind::FirstResponse) => Some(Target::FirstResponse),
        Ok(pb::SlaTargetKind::Resolution) => Some(Target::Resolution),
        _ => None,
    }
}

impl Announced {
    /// The fields each event names are those the same change's history records.
    fn of(event: &Event) -> Result<Option<Self>, Error> {
        use pb::TicketChangeType as T;
        let kind = event.r#type.as_str();
        let decode_error = |err: EventError| Error::Event(err);
        let announced = |ticket: Option<ev::TicketSnapshot>,
                         actor: Option<common::Actor>,
                         change_type: T,
                         fields: Vec<FieldChange>| {
            Some(Self {
                ticket: ticket.map(|t| t.name).unwrap_or_default(),
                actor,
                change_type,
                fields,
            })
        };
        Ok(if kind == ev::TicketCreated::full_name() {
            let e: ev::TicketCreated = decode_payload(event).map_err(decode_error)?;
            announced(e.ticket, e.actor, T::Created, Vec::new())
        } else if kind == ev::TicketUpdated::full_name() {
            let e: ev::TicketUpdated = decode_payload(event).map_err(decode_error)?;
            let fields = e
                .changes
                .into_iter()
                .map(|f| FieldChange::new(&f.field, &f.old_value, &f.new_value))
                .collect();
            announced(e.ticket, e.actor, T::Updated, fields)
        } else if kind == ev::TicketStatusChanged::full_name() {
            let e: ev::TicketStatusChanged = decode_payload(event).map_err(decode_error)?;
            let field = FieldChange::new(
                "status",
                name::<Status>(e.old_status),
                name::<Status>(e.new_status),
            );
            announced(e.ticket, e.actor, T::StatusChanged, vec![field])
        } else if kind == ev::TicketResolved::full_name() {
            let e: ev::TicketResolved = decode_payload(event).map_err(decode_error)?;
            announced(e.ticket, e.actor, T::StatusChanged, Vec::new())
        } else if kind == ev::TicketReopened::full_name() {
            let e: ev::TicketReopened = decode_payload(event).map_err(decode_error)?;
            announced(e.ticket, e.actor, T::StatusChanged, Vec::new())
        } else if kind == ev::TicketAssigned::full_name() {
            let e: ev::TicketAssigned = decode_payload(event).map_err(decode_error)?;
            let (assignee, team) = e
                .ticket
                .as_ref()
                .map(|t| (t.assignee.clone(), t.team.clone()))
                .unwrap_or_default();
            let mut fields = Vec::new();
            if e.previous_assignee != assignee {
                fields.push(FieldChange::new(
                    "assignee",
                    &e.previous_assignee,
                    &assignee,
                ));
            }
            if e.previous_team != team {
                fields.push(FieldChange::new("team", &e.previous_team, &team));
            }
            announced(e.ticket, e.actor, T::Assigned, fields)
        } else if kind == ev::TicketEscalated::full_name() {
            let e: ev::TicketEscalated = decode_payload(event).map_err(decode_error)?;
            let field = FieldChange::new(
                "escalation_level",
                name::<EscalationLevel>(e.previous_level),
                name::<EscalationLevel>(e.level),
            );
            announced(e.ticket, e.actor, T::Escalated, vec![field])
        } else if kind == ev::TicketReplied::full_name() {
            let e: ev::TicketReplied = decode_payload(event).map_err(decode_error)?;
            announced(e.ticket, e.actor, T::MessageAdded, Vec::new())
        } else if kind == ev::TicketsMerged::full_name() {
            let e: ev::TicketsMerged = decode_payload(event).map_err(decode_error)?;
            announced(e.target, e.actor, T::Merged, Vec::new())
        } else if kind == ev::AfterSalesCaseChanged::full_name() {
            let e: ev::AfterSalesCaseChanged = decode_payload(event).map_err(decode_error)?;
            let field = FieldChange::new(
                "after_sales_case.state",
                name::<CaseState>(e.previous_state),
                name::<CaseState>(e.state),
            );
            announced(e.ticket, e.actor, T::Updated, vec![field])
        } else if kind == ev::TicketSlaAtRisk::full_name() {
            let e: ev::TicketSlaAtRisk = decode_payload(event).map_err(decode_error)?;
            let fields = target(e.target)
                .map(|t| vec![FieldChange::new(t.at_risk_field(), "false", "true")])
                .unwrap_or_default();
            announced(e.ticket, None, T::SlaChanged, fields)
        } else if kind == ev::TicketSlaBreached::full_name() {
            let e: ev::TicketSlaBreached = decode_payload(event).map_err(decode_error)?;
            let fields = target(e.target)
                .map(|t| vec![FieldChange::new(t.breached_field(), "false", "true")])
                .unwrap_or_default();
            announced(e.ticket, None, T::SlaChanged, fields)
        } else {
            None
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resume_token_reads_back_and_refuses_what_no_response_carried() {
        let token = ResumeToken {
            feed: "sAFTERCARE".into(),
            position: 42,
        };
        assert_eq!(token.to_string(), "sAFTERCARE.42");
        assert_eq!(ResumeToken::parse("sAFTERCARE.42"), Ok(token));
        for bad in ["", "42", ".42", "s.x", "s.-1", "a b.3", "s.42.", "<b>.1"] {
            assert!(ResumeToken::parse(bad).is_err(), "{bad}");
        }
    }
}

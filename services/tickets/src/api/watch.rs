//! WatchTickets: the initial tickets of a queue (optional), then its live changes from the
//! in-process feed of committed writes, with a heartbeat after 30 s of silence.
//!
//! Streams are capped per principal and per server ([`WatchLimits`]): one more is refused
//! with `RESOURCE_EXHAUSTED`. A watcher that falls so far behind that the feed dropped
//! changes for it is told so, never left silently stale: its stream ends with `ABORTED`
//! ("lagged ... resubscribe"), and the client watches again with `send_initial` to
//! resynchronise (the contract has no reset message type to send instead).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::tickets::v1 as pb;
use futures::{Stream, StreamExt as _};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use super::parse::Queue;
use super::{Api, Reply};
use crate::convert;
use crate::domain::{Access, Action, Ticket};
use crate::error::Error;
use crate::events::{Backlog, ChangeFeed, TicketChanged};
use crate::store;

/// How long a quiet stream waits before a heartbeat.
pub const HEARTBEAT: Duration = Duration::from_secs(30);
/// The most initial tickets sent.
pub const MAX_INITIAL: u32 = 1_000;

type Item = Result<pb::WatchTicketsResponse, Status>;

fn marker(change_type: pb::TicketChangeType) -> pb::WatchTicketsResponse {
    convert::watch_marker(change_type, now_micros())
}

/// The responses a committed write sends to this queue, for its changes after position
/// `after`: every change of a ticket in the queue, and an assignment that moved it out (so
/// the client can drop it), each with its resume token.
fn responses(
    queue: &Queue,
    access: &Access,
    feed: &ChangeFeed,
    changed: &TicketChanged,
    after: u64,
) -> Vec<pb::WatchTicketsResponse> {
    let ticket = &changed.ticket;
    if !access.reaches(&ticket.customer, &ticket.region) {
        return Vec::new();
    }
    let holds_now = queue.holds_ticket(ticket);
    changed
        .changes
        .iter()
        .zip(changed.position..)
        .filter(|(_, position)| *position > after)
        .filter(|(change, _)| {
            holds_now
                || (change.change_type == pb::TicketChangeType::Assigned && {
                    let old = |field: &str, now: Option<&str>| {
                        change
                            .fields
                            .iter()
                            .find(|f| f.field == field)
                            .map_or(now.map(ToOwned::to_owned), |f| {
                                (!f.old_value.is_empty()).then(|| f.old_value.clone())
                            })
                    };
                    let team = old("team", ticket.team.as_ref().map(AsRef::as_ref));
                    let assignee = old("assignee", ticket.assignee.as_ref().map(AsRef::as_ref));
                    queue.holds(team.as_deref(), ticket.region.as_ref(), assignee.as_deref())
                })
        })
        .map(|(change, position)| pb::WatchTicketsResponse {
            resume_token: feed.token(position),
            ..convert::watch_change(changed, change)
        })
        .collect()
}

/// The position of the last change of `changed`.
fn last_position(changed: &TicketChanged) -> u64 {
    changed.position + (changed.changes.len() as u64).saturating_sub(1)
}

/// How many watch streams one principal, and the server in total, may hold at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchLimits {
    /// Streams per principal (by subject).
    pub per_principal: usize,
    /// Streams per server.
    pub total: usize,
}

impl Default for WatchLimits {
    fn default() -> Self {
        Self {
            per_principal: 8,
            total: 1_024,
        }
    }
}

/// The open watch streams, counted against [`WatchLimits`].
#[derive(Debug, Clone)]
pub struct Watchers {
    limits: WatchLimits,
    open: Arc<Mutex<Open>>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_subject: HashMap<String, usize>,
}

/// One admitted stream; dropping it (when the stream ends) frees its place.
#[derive(Debug)]
pub struct WatchSlot {
    open: Arc<Mutex<Open>>,
    subject: String,
}

impl Watchers {
    /// No streams yet, under `limits`.
    pub fn new(limits: WatchLimits) -> Self {
        Self {
            limits,
            open: Arc::default(),
        }
    }

    /// A place for one more stream of `subject`, or `RESOURCE_EXHAUSTED`.
    pub fn admit(&self, subject: &str) -> Result<WatchSlot, Error> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.total >= self.limits.total {
            return Err(Error::ResourceExhausted(format!(
                "the server holds its most watch streams ({}): retry later",
                self.limits.total
            )));
        }
        let mine = open.by_subject.entry(subject.to_owned()).or_default();
        if *mine >= self.limits.per_principal {
            return Err(Error::ResourceExhausted(format!(
                "at most {} watch streams per caller: close one first",
                self.limits.per_principal
            )));
        }
        *mine += 1;
        open.total += 1;
        Ok(WatchSlot {
            open: self.open.clone(),
            subject: subject.to_owned(),
        })
    }
}

impl Drop for WatchSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(mine) = open.by_subject.get_mut(&self.subject) {
            *mine = mine.saturating_sub(1);
            if *mine == 0 {
                open.by_subject.remove(&self.subject);
            }
        }
    }
}

/// What one watcher is sent: the initial tickets (optional), the backlog of a resumed
/// watch, then the live changes of `changes`.
pub struct Watch {
    /// The queue.
    pub queue: Queue,
    /// What the caller may see.
    pub access: Access,
    /// The initial tickets.
    pub initial: Vec<Ticket>,
    /// The feed (for resume tokens).
    pub feed: ChangeFeed,
    /// The changes to send before the live ones (a resumed watch).
    pub backlog: Backlog,
    /// The live changes.
    pub changes: broadcast::Receiver<TicketChanged>,
    /// The position the watch resumes after (0: none).
    pub after: u64,
}

/// Feeds `sender` until the client goes away or the server shuts down; `slot` is held
/// as long as the stream runs.
pub async fn run(
    watch: Watch,
    sender: mpsc::Sender<Item>,
    shutdown: CancellationToken,
    slot: WatchSlot,
) {
    let _slot = slot;
    let Watch {
        queue,
        access,
        initial,
        feed,
        mut backlog,
        mut changes,
        mut after,
    } = watch;
    if queue.send_initial {
        for ticket in initial {
            if sender
                .send(Ok(convert::watch_initial(&ticket)))
                .await
                .is_err()
            {
                return;
            }
        }
        if sender
            .send(Ok(marker(pb::TicketChangeType::InitialComplete)))
            .await
            .is_err()
        {
            return;
        }
    }
    loop {
        let next = tokio::select! {
            () = shutdown.cancelled() => {
                let _ = sender.send(Err(Status::unavailable("the server is shutting down: reconnect"))).await;
                return;
            }
            () = sender.closed() => return,
            next = backlog.next() => match next {
                None => break,
                Some(Ok(changed)) => changed,
                Some(Err(err)) => {
                    let _ = sender.send(Err(err.into())).await;
                    return;
                }
            },
        };
        let responses = responses(&queue, &access, &feed, &next, after);
        after = after.max(last_position(&next));
        for response in responses {
            if sender.send(Ok(response)).await.is_err() {
                return;
            }
        }
    }
    loop {
        let next = tokio::select! {
            () = shutdown.cancelled() => {
                let _ = sender.send(Err(Status::unavailable("the server is shutting down: reconnect"))).await;
                return;
            }
            () = sender.closed() => return,
            next = tokio::time::timeout(HEARTBEAT, changes.recv()) => next,
        };
        let responses = match next {
            Err(_) => vec![marker(pb::TicketChangeType::Heartbeat)],
            Ok(Ok(changed)) => {
                let responses = responses(&queue, &access, &feed, &changed, after);
                after = after.max(last_position(&changed));
                responses
            }
            Ok(Err(broadcast::error::RecvError::Lagged(missed))) => {
                tracing::warn!(missed, "watcher fell behind; its stream ends");
                let _ = sender
                    .send(Err(Status::aborted(format!(
                        "lagged: {missed} changes were dropped while this watcher fell behind; \
                         resubscribe with send_initial to resynchronise"
                    ))))
                    .await;
                return;
            }
            Ok(Err(broadcast::error::RecvError::Closed)) => return,
        };
        for response in responses {
            if sender.send(Ok(response)).await.is_err() {
                return;
            }
        }
    }
}

/// The stream of a watcher.
pub type WatchStream =
    Pin<Box<dyn Stream<Item = std::result::Result<pb::WatchTicketsResponse, Status>> + Send>>;

#[tracing::instrument(skip_all, fields(team = %request.get_ref().team, region = %request.get_ref().region))]
pub(super) async fn watch_tickets(
    api: &Api,
    request: Request<pb::WatchTicketsRequest>,
) -> Reply<WatchStream> {
    let principal = api.principal(&request)?;
    let queue = Queue::try_from(request.into_inner())?;
    if !(principal.is_staff() || principal.has_role(aftercare_platform::auth::Role::Service)) {
        return Err(Error::PermissionDenied("only agents watch ticket queues".into()).into());
    }
    let access = Api::access(&principal, Action::Read)?;
    let slot = api.watchers.admit(&principal.subject)?;
    // Subscribe before listing, so no change between the two is lost.
    let (backlog, changes) = api.feed.subscribe(queue.resume.as_ref()).await?;
    let after = queue.resume.as_ref().map_or(0, |token| token.position);
    let initial = if queue.send_initial {
        store::list_tickets(
            &api.db,
            &access,
            &queue.criteria(),
            store::TicketOrder::UpdateTime,
            false,
            None,
            MAX_INITIAL - 1,
        )
        .await?
    } else {
        Vec::new()
    };
    let (sender, receiver) = tokio::sync::mpsc::channel(api.feed.capacity().min(64));
    let watch = Watch {
        queue,
        access,
        initial,
        feed: api.feed.clone(),
        backlog,
        changes,
        after,
    };
    tokio::spawn(run(watch, sender, api.shutdown.clone(), slot));
    Ok(Response::new(Box::pin(
        tokio_stream::wrappers::ReceiverStream::new(receiver),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        Actor, ActorKind, Channel, CustomerName, NewTicket, Product, Region, TicketCustomer,
    };

    fn changed(n: i64) -> TicketChanged {
        let actor = Actor {
            kind: ActorKind::Agent,
            id: "agents/a1".into(),
            display_name: String::new(),
        };
        let (ticket, _) = NewTicket {
            channel: Channel::Web,
            identity: None,
            external_id: None,
            subject: format!("burst {n}"),
            description: "details".into(),
            kind: None,
            sub_kind: None,
            priority: None,
            product: Product::default(),
            region: Region::parse("eu-west").ok(),
            service_centre: None,
            language_code: None,
            assignee: None,
            team: None,
            tags: Default::default(),
        }
        .into_ticket(
            TicketCustomer {
                name: CustomerName::parse("customers/c1").unwrap(),
                display_name: String::new(),
                tier: String::new(),
                region: None,
                created: false,
            },
            actor.clone(),
            None,
            n,
        );
        TicketChanged {
            ticket,
            actor,
            changes: Vec::new(),
            time: n,
            position: n as u64 + 1,
        }
    }

    #[tokio::test]
    async fn a_watcher_that_fell_behind_is_told_to_resubscribe() {
        let (feed, changes) = broadcast::channel(2);
        // More changes than the feed holds arrive before the watcher reads any.
        for n in 0..5 {
            feed.send(changed(n)).unwrap();
        }
        let (sender, mut receiver) = mpsc::channel(8);
        let queue = Queue::try_from(pb::WatchTicketsRequest::default()).unwrap();
        let watchers = Watchers::new(WatchLimits::default());
        let slot = watchers.admit("agents/a1").unwrap();
        let watch = Watch {
            queue,
            access: Access::All,
            initial: Vec::new(),
            feed: ChangeFeed::local(2),
            backlog: futures::stream::empty().boxed(),
            changes,
            after: 0,
        };
        run(watch, sender, CancellationToken::new(), slot).await;
        let status = receiver.recv().await.unwrap().unwrap_err();
        assert_eq!(status.code(), tonic::Code::Aborted);
        assert!(status.message().contains("resubscribe"), "{status:?}");
        assert!(receiver.recv().await.is_none(), "the stream ends");
        // Its place is free again.
        assert_eq!(watchers.open.lock().unwrap().total, 0);
    }

    #[test]
    fn places_are_counted_per_subject_and_in_total() {
        let watchers = Watchers::new(WatchLimits {
            per_principal: 1,
            total: 2,
        });
        let a = watchers.admit("a").unwrap();
        assert!(matches!(
            watchers.admit("a"),
            Err(Error::ResourceExhausted(_))
        ));
        let _b = watchers.admit("b").unwrap();
        assert!(matches!(
            watchers.admit("c"),
            Err(Error::ResourceExhausted(_))
        ));
        drop(a);
        assert!(watchers.admit("a").is_ok());
    }
}

//! WatchTickets: the initial tickets of a queue (optional), then its live changes from the
//! in-process feed of committed writes, with a heartbeat after 30 s of silence.

use std::pin::Pin;
use std::time::Duration;

use aftercare_platform::error::FieldViolations;
use aftercare_platform::time::{now_micros, to_timestamp};
use aftercare_proto::aftercare::tickets::v1 as pb;
use futures::Stream;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use super::{Api, Reply};
use crate::convert;
use crate::domain::{
    Access, Action, AgentName, Comparison, FieldValue, Region, TeamName, Ticket, TicketCriterion,
    TicketField,
};
use crate::error::Error;
use crate::events::TicketChanged;
use crate::store;

/// How long a quiet stream waits before a heartbeat.
pub const HEARTBEAT: Duration = Duration::from_secs(30);
/// The most initial tickets sent.
pub const MAX_INITIAL: u32 = 1_000;

/// Whose tickets `assignee` selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssigneeFilter {
    /// Any.
    Any,
    /// Unassigned only (`-`).
    Unassigned,
    /// This agent's.
    Agent(AgentName),
}

/// A parsed WatchTickets: the queue.
#[derive(Debug, Clone)]
pub struct Queue {
    /// Only this team.
    pub team: Option<TeamName>,
    /// Only this region.
    pub region: Option<Region>,
    /// Only these assignees.
    pub assignee: AssigneeFilter,
    /// Whether to start with the queue's current tickets.
    pub send_initial: bool,
}

impl TryFrom<pb::WatchTicketsRequest> for Queue {
    type Error = Error;

    fn try_from(r: pb::WatchTicketsRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let team = (!r.team.is_empty())
            .then(|| v.check("team", TeamName::parse(&r.team)))
            .flatten();
        let region = (!r.region.is_empty())
            .then(|| v.check("region", Region::parse(&r.region)))
            .flatten();
        let assignee = match r.assignee.as_str() {
            "" => AssigneeFilter::Any,
            "-" => AssigneeFilter::Unassigned,
            name => v
                .check("assignee", AgentName::parse(name))
                .map_or(AssigneeFilter::Any, AssigneeFilter::Agent),
        };
        if !v.is_empty() {
            return Err(Error::Invalid(v));
        }
        Ok(Self {
            team,
            region,
            assignee,
            send_initial: r.send_initial,
        })
    }
}

impl Queue {
    /// Whether a ticket with this team, region and assignee is in the queue.
    fn holds(&self, team: Option<&str>, region: &str, assignee: Option<&str>) -> bool {
        self.team.as_ref().is_none_or(|t| Some(t.as_ref()) == team)
            && self.region.as_ref().is_none_or(|r| r.as_ref() == region)
            && match &self.assignee {
                AssigneeFilter::Any => true,
                AssigneeFilter::Unassigned => assignee.is_none(),
                AssigneeFilter::Agent(a) => Some(a.as_ref()) == assignee,
            }
    }

    fn holds_ticket(&self, ticket: &Ticket) -> bool {
        self.holds(
            ticket.team.as_ref().map(AsRef::as_ref),
            ticket.region.as_ref(),
            ticket.assignee.as_ref().map(AsRef::as_ref),
        )
    }

    /// The filter listing the queue's open tickets.
    pub fn criteria(&self) -> Vec<TicketCriterion> {
        let eq = |field, value| TicketCriterion {
            field,
            op: Comparison::Eq,
            value,
        };
        let mut criteria = vec![TicketCriterion {
            field: TicketField::Status,
            op: Comparison::Ne,
            value: FieldValue::Text("CLOSED".into()),
        }];
        if let Some(team) = &self.team {
            criteria.push(eq(TicketField::Team, FieldValue::Text(team.to_string())));
        }
        if let Some(region) = &self.region {
            criteria.push(eq(
                TicketField::Region,
                FieldValue::Text(region.to_string()),
            ));
        }
        match &self.assignee {
            AssigneeFilter::Any => {}
            AssigneeFilter::Unassigned => {
                criteria.push(eq(TicketField::Assignee, FieldValue::Unset))
            }
            AssigneeFilter::Agent(a) => {
                criteria.push(eq(TicketField::Assignee, FieldValue::Text(a.to_string())));
            }
        }
        criteria
    }
}

type Item = Result<pb::WatchTicketsResponse, Status>;

fn marker(change_type: pb::TicketChangeType) -> pb::WatchTicketsResponse {
    pb::WatchTicketsResponse {
        change_type: change_type as i32,
        change_time: Some(to_timestamp(now_micros())),
        ..Default::default()
    }
}

/// The responses a committed write sends to this queue: every change of a ticket in the
/// queue, and an assignment that moved it out (so the client can drop it).
fn responses(
    queue: &Queue,
    access: &Access,
    changed: &TicketChanged,
) -> Vec<pb::WatchTicketsResponse> {
    let ticket = &changed.ticket;
    if !access.reaches(&ticket.customer, &ticket.region) {
        return Vec::new();
    }
    let holds_now = queue.holds_ticket(ticket);
    changed
        .changes
        .iter()
        .filter(|change| {
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
        .map(|change| pb::WatchTicketsResponse {
            change_type: change.change_type as i32,
            ticket: Some(convert::ticket(ticket, false)),
            actor: Some(convert::actor(&changed.actor)),
            changes: change.fields.clone(),
            change_time: Some(to_timestamp(changed.time)),
            event_id: change.event_id.clone(),
        })
        .collect()
}

/// Feeds `sender` until the client goes away or the server shuts down.
pub async fn run(
    queue: Queue,
    access: Access,
    initial: Vec<Ticket>,
    mut changes: broadcast::Receiver<TicketChanged>,
    sender: mpsc::Sender<Item>,
    shutdown: CancellationToken,
) {
    if queue.send_initial {
        for ticket in initial {
            let response = pb::WatchTicketsResponse {
                change_type: pb::TicketChangeType::Initial as i32,
                ticket: Some(convert::ticket(&ticket, false)),
                change_time: Some(to_timestamp(ticket.update_time)),
                ..Default::default()
            };
            if sender.send(Ok(response)).await.is_err() {
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
            next = tokio::time::timeout(HEARTBEAT, changes.recv()) => next,
        };
        let responses = match next {
            Err(_) => vec![marker(pb::TicketChangeType::Heartbeat)],
            Ok(Ok(changed)) => responses(&queue, &access, &changed),
            Ok(Err(broadcast::error::RecvError::Lagged(missed))) => {
                tracing::warn!(missed, "watcher fell behind; changes were skipped");
                Vec::new()
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
    // Subscribe before listing, so no change between the two is lost.
    let changes = api.feed.subscribe();
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
    let (sender, receiver) = tokio::sync::mpsc::channel(64);
    tokio::spawn(run(
        queue,
        access,
        initial,
        changes,
        sender,
        api.shutdown.clone(),
    ));
    Ok(Response::new(Box::pin(
        tokio_stream::wrappers::ReceiverStream::new(receiver),
    )))
}

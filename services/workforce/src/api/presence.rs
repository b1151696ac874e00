//! Presence: set (a heartbeat too), get, and watch.

use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::workforce::v1 as pb;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::parse::{ByName, SetPresence, WatchPresence};
use super::{Api, PresenceStream};
use crate::convert;
use crate::domain::access::{Caller, Reach};
use crate::domain::agent::{Agent, AgentFilter, PresenceState};
use crate::domain::names::agent_name;
use crate::error::Error;
use crate::events::{PresenceUpdate, on_shift, recorded};
use crate::store::{self, AgentQuery};

#[tracing::instrument(skip_all, fields(agent = %request.agent))]
pub async fn set(
    api: &Api,
    caller: &Caller,
    request: SetPresence,
) -> Result<pb::SetPresenceResponse, Error> {
    let now = now_micros();
    let mut conn = api.db.reader().acquire().await?;
    let mut agent = store::load_agent(&mut conn, request.agent).await?;
    drop(conn);
    if !caller.may_set_presence(&agent) {
        return Err(Error::PermissionDenied(
            "agents set their own presence; leads their members'; admins anyone's",
        ));
    }
    let previous = agent
        .set_presence(
            request.state,
            request.status_message,
            request.active_tickets,
            now,
        )
        .map_err(|why| Error::state(agent_name(agent.id), why))?;
    let by = recorded(&caller.principal);
    let on_shift = store::set_presence(
        &api.db,
        &mut agent,
        request.active_tickets,
        previous,
        &by,
        now,
    )
    .await?;
    if previous.is_some() {
        api.relay.wake();
    }
    if previous.is_some() && agent.presence.state == PresenceState::Available {
        // Online: the agent takes the queued tickets it may. The presence is saved either
        // way; a failure here leaves them for the sweep.
        let settings = &api.settings;
        let takes = |r: &_, a: &_| settings.takes(r, a);
        match store::route_queued(&api.db, agent.id, &takes, now).await {
            Ok(held) => {
                if !held.is_empty() {
                    // Their `TicketRouted` events wait in the outbox.
                    api.relay.wake();
                }
                agent.active_tickets += held.len() as i64
            }
            Err(err) => {
                tracing::warn!(error = %aftercare_platform::error::cause_chain(&err), "queued tickets not routed")
            }
        }
    }
    let presence = convert::presence(&agent, on_shift, now);
    let _ = api.feed.send(PresenceUpdate { agent, on_shift });
    Ok(pb::SetPresenceResponse {
        presence: Some(presence),
    })
}

#[tracing::instrument(skip_all, fields(agent = %request.0))]
pub async fn get(
    api: &Api,
    caller: &Caller,
    request: ByName,
) -> Result<pb::GetPresenceResponse, Error> {
    if caller.reach().is_none() {
        return Err(Error::PermissionDenied(
            "customers and integrations cannot read presence",
        ));
    }
    let now = now_micros();
    let mut conn = api.db.reader().acquire().await?;
    let agent = store::load_agent(&mut conn, request.0).await?;
    if !caller.may_read_agent(&agent) {
        return Err(Error::PermissionDenied(
            "agents read only themselves and their teams",
        ));
    }
    let shift_on = on_shift(&mut conn, &agent, now).await?;
    Ok(pb::GetPresenceResponse {
        presence: Some(convert::presence(&agent, shift_on, now)),
    })
}

fn matches(filter: &WatchPresence, reach: &Reach, agent: &Agent, now: i64) -> bool {
    let visible = match reach {
        Reach::All => true,
        Reach::Own { agent: me, teams } => {
            *me == Some(agent.id) || agent.teams.iter().any(|t| teams.contains(t))
        }
    };
    visible
        && filter.team.is_none_or(|t| agent.teams.contains(&t))
        && filter.agent.is_none_or(|a| a == agent.id)
        && filter
            .region
            .as_ref()
            .is_none_or(|r| *r == agent.profile.region)
        && filter
            .state
            .is_none_or(|s| s == agent.effective_presence(now))
}

fn message(
    presence: Option<pb::Presence>,
    snapshot: bool,
    complete: bool,
) -> pb::WatchPresenceResponse {
    pb::WatchPresenceResponse {
        presence,
        snapshot,
        snapshot_complete: complete,
    }
}

/// The snapshot of every matching agent, page by page.
async fn snapshot(
    api: &Api,
    filter: &WatchPresence,
    reach: &Reach,
) -> Result<Vec<pb::Presence>, Error> {
    let now = now_micros();
    let mut filters = Vec::new();
    filters.extend(filter.team.map(AgentFilter::Team));
    filters.extend(filter.region.clone().map(AgentFilter::Region));
    filters.extend(filter.state.map(AgentFilter::Presence));
    let mut conn = api.db.reader().acquire().await?;
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let query = AgentQuery {
            filters: filters.clone(),
            text: None,
            show_deleted: false,
            reach: reach.clone(),
            after: after.clone(),
            limit: 500,
            now,
        };
        let agents = store::list_agents(&mut conn, &query).await?;
        let shifts: Vec<uuid::Uuid> = agents.iter().filter_map(|a| a.profile.shift).collect();
        let shifts = store::load_shifts(&mut conn, &shifts).await?;
        for agent in agents.iter().filter(|a| matches(filter, reach, a, now)) {
            let on = agent
                .profile
                .shift
                .and_then(|s| shifts.get(&s))
                .is_some_and(|s| s.on_shift_at(now));
            out.push(convert::presence(agent, on, now));
        }
        match agents.last() {
            Some(last) if agents.len() == 500 => {
                after = Some((
                    last.profile.display_name.to_lowercase(),
                    last.id.to_string(),
                ));
            }
            _ => return Ok(out),
        }
    }
}

#[tracing::instrument(skip_all)]
pub async fn watch(
    api: &Api,
    caller: Caller,
    filter: WatchPresence,
) -> Result<PresenceStream, Error> {
    let reach = caller.reach().ok_or(Error::PermissionDenied(
        "customers and integrations cannot watch presence",
    ))?;
    // Subscribe before the snapshot is read, so no change falls between the two.
    let mut changes = api.feed.subscribe();
    let initial = if filter.skip_snapshot {
        None
    } else {
        Some(snapshot(api, &filter, &reach).await?)
    };
    let (tx, rx) = mpsc::channel::<Result<pb::WatchPresenceResponse, Status>>(64);
    tokio::spawn(async move {
        if let Some(initial) = initial {
            let count = initial.len();
            if count == 0 && tx.send(Ok(message(None, true, true))).await.is_err() {
                return;
            }
            for (i, presence) in initial.into_iter().enumerate() {
                if tx
                    .send(Ok(message(Some(presence), true, i + 1 == count)))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
        loop {
            tokio::select! {
                () = tx.closed() => return,
                next = changes.recv() => match next {
                    Ok(update) => {
                        let now = now_micros();
                        if !matches(&filter, &reach, &update.agent, now) {
                            continue;
                        }
                        let presence = convert::presence(&update.agent, update.on_shift, now);
                        if tx.send(Ok(message(Some(presence), false, false))).await.is_err() {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        let _ = tx
                            .send(Err(Status::data_loss(format!(
                                "the watch fell {missed} changes behind: reconnect for a fresh snapshot"
                            ))))
                            .await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    });
    Ok(Box::pin(ReceiverStream::new(rx)))
}

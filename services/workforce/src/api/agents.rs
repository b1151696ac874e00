//! Agents: create, get, list, update, delete.

use aftercare_platform::request::PageToken;
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::workforce::v1 as pb;

use super::parse::{ByName, CreateAgent, Delete, ListAgents, UpdateAgent};
use super::{Api, request_key};
use crate::convert;
use crate::domain::access::Caller;
use crate::domain::agent::Agent;
use crate::domain::names::agent_name;
use crate::error::Error;
use crate::events::recorded;
use crate::store::{self, AgentQuery};

fn created(agent: &Agent) -> pb::CreateAgentResponse {
    pb::CreateAgentResponse {
        agent: Some(convert::agent(agent, now_micros())),
    }
}

#[tracing::instrument(skip_all)]
pub async fn create(
    api: &Api,
    caller: &Caller,
    request: CreateAgent,
) -> Result<pb::CreateAgentResponse, Error> {
    if !caller.is_admin() {
        return Err(Error::PermissionDenied("only admins create agents"));
    }
    let key = request_key(caller, "CreateAgent", "", &request.idempotency);
    let agent = Agent::new(request.profile, now_micros());
    let by = recorded(&caller.principal);
    let agent = store::create_agent(&api.db, &agent, key.as_ref(), &by).await?;
    api.relay.wake();
    Ok(created(&agent))
}

#[tracing::instrument(skip_all, fields(agent = %request.0))]
pub async fn get(
    api: &Api,
    caller: &Caller,
    request: ByName,
) -> Result<pb::GetAgentResponse, Error> {
    if caller.reach().is_none() {
        return Err(Error::PermissionDenied(
            "customers and integrations cannot read agents",
        ));
    }
    let mut conn = api.db.reader().acquire().await?;
    let agent = store::load_agent(&mut conn, request.0).await?;
    if !caller.may_read_agent(&agent) {
        return Err(Error::PermissionDenied(
            "agents read only themselves and their teams",
        ));
    }
    Ok(pb::GetAgentResponse {
        agent: Some(convert::agent(&agent, now_micros())),
    })
}

#[tracing::instrument(skip_all)]
pub async fn list(
    api: &Api,
    caller: &Caller,
    request: ListAgents,
) -> Result<pb::ListAgentsResponse, Error> {
    let reach = caller.reach().ok_or(Error::PermissionDenied(
        "customers and integrations cannot list agents",
    ))?;
    let now = now_micros();
    let page = &request.page;
    let query = AgentQuery {
        filters: request.filters.clone(),
        text: request.text.clone(),
        show_deleted: request.show_deleted,
        reach,
        after: page
            .after
            .as_ref()
            .and_then(|t| t.text_key().map(|k| (k.to_owned(), t.id.clone()))),
        limit: page.limit(),
        now,
    };
    let mut conn = api.db.reader().acquire().await?;
    let mut agents = store::list_agents(&mut conn, &query).await?;
    let next_page_token = page.finish(&mut agents, |a| {
        PageToken::text(a.profile.display_name.to_lowercase(), a.id)
    });
    Ok(pb::ListAgentsResponse {
        agents: agents.iter().map(|a| convert::agent(a, now)).collect(),
        next_page_token,
    })
}

#[tracing::instrument(skip_all, fields(agent = %request.id))]
pub async fn update(
    api: &Api,
    caller: &Caller,
    request: UpdateAgent,
) -> Result<pb::UpdateAgentResponse, Error> {
    if caller.reach().is_none() {
        return Err(Error::PermissionDenied(
            "customers and integrations cannot change agents",
        ));
    }
    let now = now_micros();
    let mut conn = api.db.reader().acquire().await?;
    let mut agent = store::load_agent(&mut conn, request.id).await?;
    drop(conn);
    if !caller.may_update_agent(&agent, &request.changes) {
        return Err(Error::PermissionDenied(
            "admins change agents; team leads change their members' skills, languages, capacity, shift, centre and state",
        ));
    }
    let changed = agent
        .update(request.version, request.changes, now)
        .map_err(|refused| Error::refused(refused, agent_name(request.id)))?;
    if !changed.is_empty() {
        let by = recorded(&caller.principal);
        store::save_agent(&api.db, &agent, request.version, changed, &by).await?;
        api.relay.wake();
    }
    Ok(pb::UpdateAgentResponse {
        agent: Some(convert::agent(&agent, now)),
    })
}

#[tracing::instrument(skip_all, fields(agent = %request.id))]
pub async fn delete(
    api: &Api,
    caller: &Caller,
    request: Delete,
) -> Result<pb::DeleteAgentResponse, Error> {
    if !caller.is_admin() {
        return Err(Error::PermissionDenied("only admins delete agents"));
    }
    let now = now_micros();
    let mut conn = api.db.reader().acquire().await?;
    let mut agent = store::load_agent(&mut conn, request.id).await?;
    drop(conn);
    let changed = agent
        .remove(request.version, now)
        .map_err(|refused| Error::refused(refused, agent_name(request.id)))?;
    let by = recorded(&caller.principal);
    store::save_agent(&api.db, &agent, request.version, changed, &by).await?;
    api.relay.wake();
    Ok(pb::DeleteAgentResponse {
        agent: Some(convert::agent(&agent, now)),
    })
}

//! Agents: create, get, list, update, delete.

use aftercare_platform::request::PageToken;
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::events::v1::{AgentCreated, AgentUpdated};
use aftercare_proto::aftercare::workforce::v1 as pb;
use uuid::Uuid;

use super::Api;
use super::parse::{ByName, CreateAgent, Delete, Idempotency, ListAgents, UpdateAgent};
use crate::convert;
use crate::domain::access::Caller;
use crate::domain::agent::{Agent, Change, HeldSkill, Profile};
use crate::domain::names::agent_name;
use crate::error::{AGENT, Error};
use crate::events::{actor, publish, snapshot};
use crate::store::{self, AgentQuery, Conn, RequestKey};

/// The key of a create's request id, scoped to the caller, the method and the parent.
pub fn request_key(
    caller: &Caller,
    method: &'static str,
    parent: &str,
    idempotency: &Idempotency,
) -> Option<RequestKey> {
    idempotency.request_id.as_ref().map(|id| RequestKey {
        subject: caller.principal.subject.clone(),
        method,
        parent: parent.to_owned(),
        request_id: id.clone(),
    })
}

/// The id of what an earlier call with the same key made, or `ALREADY_EXISTS` when the key
/// was used for another request.
pub async fn replayed(
    conn: &mut Conn,
    key: Option<&RequestKey>,
    fingerprint: &str,
    kind: &'static str,
) -> Result<Option<Uuid>, Error> {
    let Some(key) = key else { return Ok(None) };
    match store::find_request(conn, key).await? {
        Some((stored, _)) if stored != fingerprint => Err(Error::exists(
            kind,
            format!("request_id {}", key.request_id),
            "this request_id was used for a different request",
        )),
        Some((_, id)) => Ok(Uuid::parse_str(&id).ok()),
        None => Ok(None),
    }
}

/// Records the key in the transaction; false when a concurrent call recorded it first.
pub async fn remember(
    conn: &mut Conn,
    key: Option<&RequestKey>,
    fingerprint: &str,
    id: Uuid,
    now: i64,
) -> Result<bool, Error> {
    match key {
        Some(key) => Ok(store::insert_request(conn, key, fingerprint, &id.to_string(), now).await?),
        None => Ok(true),
    }
}

/// The agent with `id`, or `NOT_FOUND`.
pub async fn load(conn: &mut Conn, id: Uuid) -> Result<Agent, Error> {
    store::find_agent(conn, id)
        .await?
        .ok_or_else(|| Error::not_found(AGENT, agent_name(id)))
}

/// Refuses skills not in the catalogue and a shift that does not exist.
async fn check_references(
    conn: &mut Conn,
    skills: Option<&[HeldSkill]>,
    shift: Option<Option<Uuid>>,
) -> Result<(), Error> {
    let mut violations = aftercare_platform::request::FieldViolations::new();
    if let Some(skills) = skills {
        let ids: Vec<Uuid> = skills.iter().map(|s| s.skill).collect();
        let missing = store::missing_skills(conn, &ids).await?;
        for (i, skill) in skills.iter().enumerate() {
            if missing.contains(&skill.skill) {
                violations.add(format!("agent.skills[{i}].skill"), "no such skill");
            }
        }
    }
    if let Some(Some(shift)) = shift
        && !store::shift_exists(conn, shift).await?
    {
        violations.add("agent.shift", "no such shift");
    }
    crate::error::finish(violations)
}

async fn check_unique(conn: &mut Conn, profile: &Profile, id: Uuid) -> Result<(), Error> {
    match store::agent_conflict(
        conn,
        &profile.email,
        profile.identity_subject.as_deref(),
        id,
    )
    .await?
    {
        Some((other, field)) => Err(Error::exists(
            AGENT,
            agent_name(other),
            format!("another agent has this {field}"),
        )),
        None => Ok(()),
    }
}

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
    let fingerprint = &request.idempotency.fingerprint;
    let now = now_micros();
    let mut tx = api.db.begin().await?;
    if let Some(id) = replayed(&mut tx, key.as_ref(), fingerprint, AGENT).await? {
        return Ok(created(&load(&mut tx, id).await?));
    }
    check_references(
        &mut tx,
        Some(&request.profile.skills),
        Some(request.profile.shift),
    )
    .await?;
    let agent = Agent::new(request.profile, now);
    check_unique(&mut tx, &agent.profile, agent.id).await?;
    if !remember(&mut tx, key.as_ref(), fingerprint, agent.id, now).await? {
        tx.rollback().await?;
        let mut conn = api.db.reader().acquire().await?;
        let id = replayed(&mut conn, key.as_ref(), fingerprint, AGENT).await?;
        return match id {
            Some(id) => Ok(created(&load(&mut conn, id).await?)),
            None => Err(Error::state("agents", "a concurrent create failed; retry")),
        };
    }
    store::insert_agent(&mut tx, &agent).await?;
    let event = AgentCreated {
        agent: Some(snapshot(&agent)),
        actor: Some(actor(&caller.principal)),
    };
    publish(&mut tx, &agent_name(agent.id), &event).await?;
    tx.commit().await?;
    api.relay.wake();
    tracing::info!(agent = %agent.id, "agent created");
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
    let agent = load(&mut conn, request.0).await?;
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
    let mut tx = api.db.begin().await?;
    let mut agent = load(&mut tx, request.id).await?;
    let lead_may = caller.leads_member(&agent) && request.changes.iter().all(Change::lead_may_make);
    if !caller.is_admin() && !lead_may {
        return Err(Error::PermissionDenied(
            "admins change agents; team leads change their members' skills, languages, capacity, shift, centre and state",
        ));
    }
    let name = agent_name(agent.id);
    if agent.version != request.version {
        return Err(Error::StaleEtag(name));
    }
    if agent.is_deleted() {
        return Err(Error::state(name, "the agent is deleted"));
    }
    let skills = request.changes.iter().find_map(|c| match c {
        Change::Skills(s) => Some(s.as_slice()),
        _ => None,
    });
    let shift = request.changes.iter().find_map(|c| match c {
        Change::Shift(s) => Some(*s),
        _ => None,
    });
    check_references(&mut tx, skills, shift).await?;
    let changed = agent.apply(request.changes);
    if changed.is_empty() {
        return Ok(pb::UpdateAgentResponse {
            agent: Some(convert::agent(&agent, now)),
        });
    }
    if changed
        .iter()
        .any(|f| f == "email" || f == "identity_subject")
    {
        check_unique(&mut tx, &agent.profile, agent.id).await?;
    }
    agent.version += 1;
    agent.update_time = now;
    if !store::update_agent(&mut tx, &agent, request.version).await? {
        return Err(Error::StaleEtag(name));
    }
    let event = AgentUpdated {
        agent: Some(snapshot(&agent)),
        changed_fields: changed,
        actor: Some(actor(&caller.principal)),
    };
    publish(&mut tx, &name, &event).await?;
    tx.commit().await?;
    api.relay.wake();
    tracing::info!(agent = %agent.id, version = agent.version, "agent updated");
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
    let mut tx = api.db.begin().await?;
    let mut agent = load(&mut tx, request.id).await?;
    let name = agent_name(agent.id);
    if agent.version != request.version {
        return Err(Error::StaleEtag(name));
    }
    if agent.is_deleted() {
        return Err(Error::state(name, "the agent is already deleted"));
    }
    agent.delete(now);
    if !store::update_agent(&mut tx, &agent, request.version).await? {
        return Err(Error::StaleEtag(name));
    }
    store::save_presence(&mut tx, &agent).await?;
    let event = AgentUpdated {
        agent: Some(snapshot(&agent)),
        changed_fields: ["delete_time", "state", "teams", "shift"]
            .map(str::to_owned)
            .to_vec(),
        actor: Some(actor(&caller.principal)),
    };
    publish(&mut tx, &name, &event).await?;
    tx.commit().await?;
    api.relay.wake();
    tracing::info!(agent = %agent.id, "agent deleted");
    Ok(pb::DeleteAgentResponse {
        agent: Some(convert::agent(&agent, now)),
    })
}

//! Teams: create, get, list, update, delete, and membership.

use aftercare_platform::request::PageToken;
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::events::v1::AgentUpdated;
use aftercare_proto::aftercare::workforce::v1 as pb;
use uuid::Uuid;

use super::Api;
use super::agents::{load as load_agent, remember, replayed, request_key};
use super::parse::{ByName, CreateTeam, Delete, ListTeams, Membership, UpdateTeam};
use crate::convert;
use crate::domain::access::Caller;
use crate::domain::agent::{AgentState, StaffRole};
use crate::domain::names::{agent_name, team_name};
use crate::domain::team::{Team, TeamChange};
use crate::error::{Error, TEAM};
use crate::events::{actor, publish, snapshot};
use crate::store::{self, Conn, TeamQuery};

/// The team with `id`, or `NOT_FOUND`.
pub async fn load(conn: &mut Conn, id: Uuid) -> Result<Team, Error> {
    store::find_team(conn, id)
        .await?
        .ok_or_else(|| Error::not_found(TEAM, team_name(id)))
}

fn name_taken(team: &Team) -> Error {
    Error::exists(
        TEAM,
        team.display_name.clone(),
        "another team has this display name",
    )
}

#[tracing::instrument(skip_all)]
pub async fn create(
    api: &Api,
    caller: &Caller,
    request: CreateTeam,
) -> Result<pb::CreateTeamResponse, Error> {
    if !caller.is_admin() {
        return Err(Error::PermissionDenied("only admins create teams"));
    }
    let key = request_key(caller, "CreateTeam", "", &request.idempotency);
    let fingerprint = &request.idempotency.fingerprint;
    let now = now_micros();
    let mut tx = api.db.begin().await?;
    if let Some(id) = replayed(&mut tx, key.as_ref(), fingerprint, TEAM).await? {
        let team = load(&mut tx, id).await?;
        return Ok(pb::CreateTeamResponse {
            team: Some(convert::team(&team)),
        });
    }
    let t = request.team;
    let team = Team {
        id: Uuid::now_v7(),
        display_name: t.display_name,
        description: t.description,
        region: t.region,
        service_centre: t.service_centre,
        lead: None,
        tier: t.tier,
        member_count: 0,
        version: 1,
        create_time: now,
        update_time: now,
    };
    if !remember(&mut tx, key.as_ref(), fingerprint, team.id, now).await? {
        tx.rollback().await?;
        let mut conn = api.db.reader().acquire().await?;
        let id = replayed(&mut conn, key.as_ref(), fingerprint, TEAM)
            .await?
            .ok_or_else(|| Error::state("teams", "a concurrent create failed; retry"))?;
        return Ok(pb::CreateTeamResponse {
            team: Some(convert::team(&load(&mut conn, id).await?)),
        });
    }
    if !store::insert_team(&mut tx, &team).await? {
        return Err(name_taken(&team));
    }
    tx.commit().await?;
    tracing::info!(team = %team.id, "team created");
    Ok(pb::CreateTeamResponse {
        team: Some(convert::team(&team)),
    })
}

#[tracing::instrument(skip_all, fields(team = %request.0))]
pub async fn get(
    api: &Api,
    caller: &Caller,
    request: ByName,
) -> Result<pb::GetTeamResponse, Error> {
    if caller.reach().is_none() {
        return Err(Error::PermissionDenied(
            "customers and integrations cannot read teams",
        ));
    }
    let mut conn = api.db.reader().acquire().await?;
    let team = load(&mut conn, request.0).await?;
    if !caller.may_read_team(team.id) {
        return Err(Error::PermissionDenied("agents read only their own teams"));
    }
    Ok(pb::GetTeamResponse {
        team: Some(convert::team(&team)),
    })
}

#[tracing::instrument(skip_all)]
pub async fn list(
    api: &Api,
    caller: &Caller,
    request: ListTeams,
) -> Result<pb::ListTeamsResponse, Error> {
    let reach = caller.reach().ok_or(Error::PermissionDenied(
        "customers and integrations cannot list teams",
    ))?;
    let page = &request.page;
    let query = TeamQuery {
        region: request.region.clone(),
        service_centre: request.service_centre.clone(),
        lead: request.lead,
        tier: request.tier,
        member: request.member,
        reach,
        after: page
            .after
            .as_ref()
            .and_then(|t| t.text_key().map(str::to_owned)),
        limit: page.limit(),
    };
    let mut conn = api.db.reader().acquire().await?;
    let mut teams = store::list_teams(&mut conn, &query).await?;
    let next_page_token = page.finish(&mut teams, |t| {
        PageToken::text(crate::domain::team::display_key(&t.display_name), t.id)
    });
    Ok(pb::ListTeamsResponse {
        teams: teams.iter().map(convert::team).collect(),
        next_page_token,
    })
}

#[tracing::instrument(skip_all, fields(team = %request.id))]
pub async fn update(
    api: &Api,
    caller: &Caller,
    request: UpdateTeam,
) -> Result<pb::UpdateTeamResponse, Error> {
    let now = now_micros();
    let mut tx = api.db.begin().await?;
    let mut team = load(&mut tx, request.id).await?;
    if !caller.may_manage_team(&team) {
        return Err(Error::PermissionDenied(
            "admins and the team's lead change a team",
        ));
    }
    if !caller.is_admin()
        && request
            .changes
            .iter()
            .any(|c| matches!(c, TeamChange::Lead(_) | TeamChange::Region(_)))
    {
        return Err(Error::PermissionDenied(
            "only admins change a team's lead or region",
        ));
    }
    let name = team_name(team.id);
    if team.version != request.version {
        return Err(Error::StaleEtag(name));
    }
    for change in &request.changes {
        if let TeamChange::Lead(Some(lead)) = change {
            let agent = store::find_agent(&mut tx, *lead).await?;
            let fits = agent.is_some_and(|a| {
                !a.is_deleted()
                    && a.profile.state == AgentState::Active
                    && a.profile.roles.contains(&StaffRole::TeamLead)
                    && a.teams.contains(&team.id)
            });
            if !fits {
                return Err(Error::invalid(
                    "team.lead",
                    "must be an active member of the team holding AGENT_ROLE_TEAM_LEAD",
                ));
            }
        }
    }
    if !team.apply(request.changes) {
        return Ok(pb::UpdateTeamResponse {
            team: Some(convert::team(&team)),
        });
    }
    team.version += 1;
    team.update_time = now;
    match store::update_team(&mut tx, &team, request.version).await {
        Ok(true) => {}
        Ok(false) => return Err(Error::StaleEtag(name)),
        Err(err) if store::is_unique_violation(&err) => return Err(name_taken(&team)),
        Err(err) => return Err(err.into()),
    }
    tx.commit().await?;
    tracing::info!(team = %team.id, version = team.version, "team updated");
    Ok(pb::UpdateTeamResponse {
        team: Some(convert::team(&team)),
    })
}

#[tracing::instrument(skip_all, fields(team = %request.id))]
pub async fn delete(
    api: &Api,
    caller: &Caller,
    request: Delete,
) -> Result<pb::DeleteTeamResponse, Error> {
    if !caller.is_admin() {
        return Err(Error::PermissionDenied("only admins delete teams"));
    }
    let now = now_micros();
    let mut tx = api.db.begin().await?;
    let team = load(&mut tx, request.id).await?;
    let name = team_name(team.id);
    let Some(members) = store::delete_team(&mut tx, team.id, request.version, now).await? else {
        return Err(Error::StaleEtag(name));
    };
    for agent in store::load_agents(&mut tx, &members).await? {
        let event = AgentUpdated {
            agent: Some(snapshot(&agent)),
            changed_fields: vec!["teams".into()],
            actor: Some(actor(&caller.principal)),
        };
        publish(&mut tx, &agent_name(agent.id), &event).await?;
    }
    tx.commit().await?;
    api.relay.wake();
    tracing::info!(team = %team.id, members = members.len(), "team deleted");
    Ok(pb::DeleteTeamResponse {})
}

/// Adds or removes a member; returns the team and the agent after the change.
async fn change_membership(
    api: &Api,
    caller: &Caller,
    request: Membership,
    add: bool,
) -> Result<(pb::Team, pb::Agent), Error> {
    let now = now_micros();
    let mut tx = api.db.begin().await?;
    let team = load(&mut tx, request.team).await?;
    if !caller.may_manage_team(&team) {
        return Err(Error::PermissionDenied(
            "admins and the team's lead manage its members",
        ));
    }
    let agent = load_agent(&mut tx, request.agent).await?;
    if add && agent.is_deleted() {
        return Err(Error::state(agent_name(agent.id), "the agent is deleted"));
    }
    let changed = if add {
        store::add_member(&mut tx, team.id, agent.id, now).await?
    } else {
        store::remove_member(&mut tx, team.id, agent.id, now).await?
    };
    let team = load(&mut tx, team.id).await?;
    let agent = load_agent(&mut tx, agent.id).await?;
    if changed {
        let event = AgentUpdated {
            agent: Some(snapshot(&agent)),
            changed_fields: vec!["teams".into()],
            actor: Some(actor(&caller.principal)),
        };
        publish(&mut tx, &agent_name(agent.id), &event).await?;
    }
    tx.commit().await?;
    if changed {
        api.relay.wake();
        tracing::info!(team = %team.id, agent = %agent.id, add, "team membership changed");
    }
    Ok((convert::team(&team), convert::agent(&agent, now)))
}

#[tracing::instrument(skip_all, fields(team = %request.team, agent = %request.agent))]
pub async fn add_member(
    api: &Api,
    caller: &Caller,
    request: Membership,
) -> Result<pb::AddTeamMemberResponse, Error> {
    let (team, agent) = change_membership(api, caller, request, true).await?;
    Ok(pb::AddTeamMemberResponse {
        team: Some(team),
        agent: Some(agent),
    })
}

#[tracing::instrument(skip_all, fields(team = %request.team, agent = %request.agent))]
pub async fn remove_member(
    api: &Api,
    caller: &Caller,
    request: Membership,
) -> Result<pb::RemoveTeamMemberResponse, Error> {
    let (team, agent) = change_membership(api, caller, request, false).await?;
    Ok(pb::RemoveTeamMemberResponse {
        team: Some(team),
        agent: Some(agent),
    })
}

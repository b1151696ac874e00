//! Teams: create, get, list, update, delete, and membership.

use aftercare_platform::request::PageToken;
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::workforce::v1 as pb;

use super::parse::{ByName, CreateTeam, Delete, ListTeams, Membership, UpdateTeam};
use super::{Api, request_key};
use crate::convert;
use crate::domain::access::Caller;
use crate::domain::names::{agent_name, team_name};
use crate::domain::team::{Team, TeamChange};
use crate::error::Error;
use crate::events::recorded;
use crate::store::{self, TeamQuery};

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
    let t = request.team;
    let team = Team::new(
        t.display_name,
        t.description,
        t.region,
        t.service_centre,
        t.tier,
        now_micros(),
    );
    let team = store::create_team(&api.db, &team, key.as_ref()).await?;
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
    let team = store::load_team(&mut conn, request.0).await?;
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
    let mut conn = api.db.reader().acquire().await?;
    let mut team = store::load_team(&mut conn, request.id).await?;
    if !caller.may_manage_team(&team) {
        return Err(Error::PermissionDenied(
            "admins and the team's lead change a team",
        ));
    }
    if !caller.is_admin() && request.changes.iter().any(TeamChange::admin_only) {
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
            let agent = store::find_agent(&mut conn, *lead).await?;
            if !agent.is_some_and(|a| team.fits_lead(&a)) {
                return Err(Error::invalid(
                    "team.lead",
                    "must be an active member of the team holding AGENT_ROLE_TEAM_LEAD",
                ));
            }
        }
    }
    drop(conn);
    if team
        .update(request.version, request.changes, now_micros())
        .map_err(|refused| Error::refused(refused, &name))?
    {
        store::save_team(&api.db, &team, request.version).await?;
    }
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
    let mut conn = api.db.reader().acquire().await?;
    let team = store::load_team(&mut conn, request.id).await?;
    drop(conn);
    let by = recorded(&caller.principal);
    store::remove_team(&api.db, team.id, request.version, &by, now_micros()).await?;
    api.relay.wake();
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
    let mut conn = api.db.reader().acquire().await?;
    let team = store::load_team(&mut conn, request.team).await?;
    if !caller.may_manage_team(&team) {
        return Err(Error::PermissionDenied(
            "admins and the team's lead manage its members",
        ));
    }
    let agent = store::load_agent(&mut conn, request.agent).await?;
    drop(conn);
    if add && agent.is_deleted() {
        return Err(Error::state(agent_name(agent.id), "the agent is deleted"));
    }
    let by = recorded(&caller.principal);
    let (team, agent, changed) =
        store::change_membership(&api.db, team.id, agent.id, add, &by, now).await?;
    if changed {
        api.relay.wake();
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

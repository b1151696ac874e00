//! The `teams` and `team_members` tables.

use sqlx::Row as _;
use sqlx::any::AnyRow;
use uuid::Uuid;

use aftercare_platform::db::Database;

use super::{
    Conn, RequestKey, Where, claim, enum_value, is_unique_violation, load_agent, load_agents,
    optional_uuid, uuid,
};
use crate::domain::access::Reach;
use crate::domain::agent::Agent;
use crate::domain::names::{agent_name, team_name};
use crate::domain::team::{Team, Tier, display_key};
use crate::domain::training::Actor;
use crate::error::{Error, TEAM};
use crate::events;

/// The team with `id`, or `NOT_FOUND`.
pub async fn load_team(conn: &mut Conn, id: Uuid) -> Result<Team, Error> {
    find_team(conn, id)
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

/// Creates `team`, claiming `key`, in one transaction; a replay answers the team the key
/// made first. `ALREADY_EXISTS` when another team has the name.
pub async fn create_team(
    db: &Database,
    team: &Team,
    key: Option<&RequestKey>,
) -> Result<Team, Error> {
    let mut tx = db.begin().await?;
    if let Some(first) = claim(&mut tx, key, TEAM, team.id, team.create_time).await? {
        return load_team(&mut tx, first).await;
    }
    if !insert_team(&mut tx, team).await? {
        return Err(name_taken(team));
    }
    tx.commit().await?;
    tracing::info!(team = %team.id, "team created");
    Ok(team.clone())
}

/// Writes `team` over the row still at `expected_version`: `FAILED_PRECONDITION` (etag)
/// when that version is gone, `ALREADY_EXISTS` when another team has the name.
pub async fn save_team(db: &Database, team: &Team, expected_version: i64) -> Result<(), Error> {
    let mut tx = db.begin().await?;
    match update_team(&mut tx, team, expected_version).await {
        Ok(true) => {}
        Ok(false) => return Err(Error::StaleEtag(team_name(team.id))),
        Err(err) if is_unique_violation(&err) => return Err(name_taken(team)),
        Err(err) => return Err(err.into()),
    }
    tx.commit().await?;
    tracing::info!(team = %team.id, version = team.version, "team updated");
    Ok(())
}

/// Deletes team `id` at `expected_version` with its memberships, and an `AgentUpdated`
/// (teams) for each member, in one transaction.
pub async fn remove_team(
    db: &Database,
    id: Uuid,
    expected_version: i64,
    by: &Actor,
    now: i64,
) -> Result<(), Error> {
    let mut tx = db.begin().await?;
    let Some(members) = delete_team(&mut tx, id, expected_version, now).await? else {
        return Err(Error::StaleEtag(team_name(id)));
    };
    for agent in load_agents(&mut tx, &members).await? {
        let event = events::agent_updated(&agent, vec!["teams".into()], by);
        events::publish(&mut tx, &agent_name(agent.id), &event).await?;
    }
    tx.commit().await?;
    tracing::info!(team = %id, members = members.len(), "team deleted");
    Ok(())
}

/// Adds `agent` to `team` (or removes it), with the agent's `AgentUpdated` (teams) when it
/// changed, in one transaction; returns the team and the agent after it, and whether it
/// changed.
pub async fn change_membership(
    db: &Database,
    team: Uuid,
    agent: Uuid,
    add: bool,
    by: &Actor,
    now: i64,
) -> Result<(Team, Agent, bool), Error> {
    let mut tx = db.begin().await?;
    let changed = if add {
        add_member(&mut tx, team, agent, now).await?
    } else {
        remove_member(&mut tx, team, agent, now).await?
    };
    let team = load_team(&mut tx, team).await?;
    let agent = load_agent(&mut tx, agent).await?;
    if changed {
        let event = events::agent_updated(&agent, vec!["teams".into()], by);
        events::publish(&mut tx, &agent_name(agent.id), &event).await?;
    }
    tx.commit().await?;
    if changed {
        tracing::info!(team = %team.id, agent = %agent.id, add, "team membership changed");
    }
    Ok((team, agent, changed))
}

const COLUMNS: &str = "id, display_name, description, region, service_centre, lead_id, \
    escalation_tier, version, create_time, update_time, (SELECT COUNT(*) FROM team_members m \
    JOIN agents a ON a.id = m.agent_id WHERE m.team_id = teams.id AND a.delete_time IS NULL) \
    AS member_count";

fn decode(row: &AnyRow) -> Result<Team, sqlx::Error> {
    Ok(Team {
        id: uuid(&row.try_get::<String, _>("id")?, "teams.id")?,
        display_name: row.try_get("display_name")?,
        description: row.try_get("description")?,
        region: row.try_get("region")?,
        service_centre: row.try_get("service_centre")?,
        lead: optional_uuid(row.try_get("lead_id")?, "teams.lead_id")?,
        tier: enum_value(
            row.try_get("escalation_tier")?,
            "teams.escalation_tier",
            Tier::from_number,
        )?,
        member_count: row.try_get("member_count")?,
        version: row.try_get("version")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
    })
}

/// Inserts a team; false when another team has the display name.
async fn insert_team(conn: &mut Conn, team: &Team) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "INSERT INTO teams (id, display_name, display_key, description, region, service_centre,
            lead_id, escalation_tier, version, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING",
    )
    .bind(team.id.to_string())
    .bind(team.display_name.clone())
    .bind(display_key(&team.display_name))
    .bind(team.description.clone())
    .bind(team.region.clone())
    .bind(team.service_centre.clone())
    .bind(team.lead.map(|id| id.to_string()))
    .bind(team.tier.number())
    .bind(team.version)
    .bind(team.create_time)
    .bind(team.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Writes `team` over the row at `expected_version`. A name taken by another team is a
/// unique violation.
async fn update_team(
    conn: &mut Conn,
    team: &Team,
    expected_version: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE teams SET display_name = $3, display_key = $4, description = $5, region = $6,
            service_centre = $7, lead_id = $8, escalation_tier = $9, version = $10,
            update_time = $11
         WHERE id = $1 AND version = $2",
    )
    .bind(team.id.to_string())
    .bind(expected_version)
    .bind(team.display_name.clone())
    .bind(display_key(&team.display_name))
    .bind(team.description.clone())
    .bind(team.region.clone())
    .bind(team.service_centre.clone())
    .bind(team.lead.map(|id| id.to_string()))
    .bind(team.tier.number())
    .bind(team.version)
    .bind(team.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Deletes the team at `expected_version` and its memberships; returns the members (whose
/// agents' versions were bumped), or `None` when the version did not match.
async fn delete_team(
    conn: &mut Conn,
    id: Uuid,
    expected_version: i64,
    now: i64,
) -> Result<Option<Vec<Uuid>>, sqlx::Error> {
    let result = sqlx::query("DELETE FROM teams WHERE id = $1 AND version = $2")
        .bind(id.to_string())
        .bind(expected_version)
        .execute(&mut *conn)
        .await?;
    if result.rows_affected() != 1 {
        return Ok(None);
    }
    let members: Vec<String> =
        sqlx::query_scalar("SELECT agent_id FROM team_members WHERE team_id = $1")
            .bind(id.to_string())
            .fetch_all(&mut *conn)
            .await?;
    sqlx::query(
        "UPDATE agents SET version = version + 1, update_time = $2
         WHERE id IN (SELECT agent_id FROM team_members WHERE team_id = $1)",
    )
    .bind(id.to_string())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM team_members WHERE team_id = $1")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    members
        .iter()
        .map(|id| uuid(id, "team_members.agent_id"))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Adds a member; returns false when already one. Bumps the agent's version.
async fn add_member(
    conn: &mut Conn,
    team: Uuid,
    agent: Uuid,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "INSERT INTO team_members (team_id, agent_id, create_time) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(team.to_string())
    .bind(agent.to_string())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if result.rows_affected() == 1 {
        bump_agent(conn, agent, now).await?;
    }
    Ok(result.rows_affected() == 1)
}

/// Removes a member (and the lead, when the member led the team); returns false when not a
/// member. Bumps the agent's version, and the team's when its lead was cleared.
async fn remove_member(
    conn: &mut Conn,
    team: Uuid,
    agent: Uuid,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND agent_id = $2")
        .bind(team.to_string())
        .bind(agent.to_string())
        .execute(&mut *conn)
        .await?;
    if result.rows_affected() != 1 {
        return Ok(false);
    }
    bump_agent(conn, agent, now).await?;
    sqlx::query(
        "UPDATE teams SET lead_id = NULL, version = version + 1, update_time = $3
         WHERE id = $1 AND lead_id = $2",
    )
    .bind(team.to_string())
    .bind(agent.to_string())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

async fn bump_agent(conn: &mut Conn, agent: Uuid, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE agents SET version = version + 1, update_time = $2 WHERE id = $1")
        .bind(agent.to_string())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The team with `id`.
pub async fn find_team(conn: &mut Conn, id: Uuid) -> Result<Option<Team>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM teams WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(decode)
        .transpose()
}

/// The teams `agent` leads.
pub async fn led_teams(conn: &mut Conn, agent: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM teams WHERE lead_id = $1")
        .bind(agent.to_string())
        .fetch_all(&mut *conn)
        .await?;
    ids.iter().map(|id| uuid(id, "teams.id")).collect()
}

/// A page of teams ordered by display name.
#[derive(Debug, Clone)]
pub struct TeamQuery {
    /// Only this region.
    pub region: Option<String>,
    /// Only this centre.
    pub service_centre: Option<String>,
    /// Only teams led by this agent.
    pub lead: Option<Uuid>,
    /// Only this tier.
    pub tier: Option<Tier>,
    /// Only teams this agent belongs to.
    pub member: Option<Uuid>,
    /// What the caller reads.
    pub reach: Reach,
    /// After this display key.
    pub after: Option<String>,
    /// Rows to read.
    pub limit: i64,
}

/// A page of teams.
pub async fn list_teams(conn: &mut Conn, q: &TeamQuery) -> Result<Vec<Team>, sqlx::Error> {
    let mut w = Where::default();
    if let Some(region) = &q.region {
        let r = w.text(region.clone());
        w.push(format!("region = {r}"));
    }
    if let Some(centre) = &q.service_centre {
        let c = w.text(centre.clone());
        w.push(format!("service_centre = {c}"));
    }
    if let Some(lead) = q.lead {
        let l = w.text(lead.to_string());
        w.push(format!("lead_id = {l}"));
    }
    if let Some(tier) = q.tier {
        let t = w.int(tier.number());
        w.push(format!("escalation_tier = {t}"));
    }
    if let Some(member) = q.member {
        let m = w.text(member.to_string());
        w.push(format!(
            "id IN (SELECT team_id FROM team_members WHERE agent_id = {m})"
        ));
    }
    if let Reach::Own { teams, .. } = &q.reach {
        let list = w.ids_in("id", teams);
        w.push(list);
    }
    if let Some(key) = &q.after {
        let k = w.text(key.clone());
        w.push(format!("display_key > {k}"));
    }
    let limit = w.int(q.limit);
    let sql = format!(
        "SELECT {COLUMNS} FROM teams WHERE {} ORDER BY display_key LIMIT {limit}",
        w.sql()
    );
    w.bind(sqlx::query(&sql))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(decode)
        .collect()
}

//! The `teams` and `team_members` tables.

use sqlx::Row as _;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::{Conn, Where, enum_value, optional_uuid, uuid};
use crate::domain::access::Reach;
use crate::domain::team::{Team, Tier, display_key};

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
pub async fn insert_team(conn: &mut Conn, team: &Team) -> Result<bool, sqlx::Error> {
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
pub async fn update_team(
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
pub async fn delete_team(
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
pub async fn add_member(
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
pub async fn remove_member(
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

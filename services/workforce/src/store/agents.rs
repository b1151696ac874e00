//! The `agents`, `agent_skills` tables (and team membership as agents see it).

use std::collections::HashMap;

use sqlx::Row as _;
use sqlx::any::AnyRow;
use uuid::Uuid;

use aftercare_platform::db::Database;
use aftercare_platform::request::FieldViolations;

use super::{
    Conn, RequestKey, Where, claim, comma_list, enum_value, like_pattern, optional_uuid,
    placeholders, uuid,
};
use crate::domain::access::Reach;
use crate::domain::agent::{
    Agent, AgentFilter, AgentState, HEARTBEAT_TIMEOUT_MICROS, HeldSkill, Presence, PresenceState,
    Profile, StaffRole,
};
use crate::domain::names::agent_name;
use crate::domain::routing::{HeldCertification, Routable};
use crate::domain::training::Actor;
use crate::domain::values::LanguageTag;
use crate::error::{AGENT, Error};
use crate::events;

const COLUMNS: &str = "id, display_name, email, identity_subject, roles, region, \
    service_centre, languages, max_concurrent_tickets, shift_id, state, presence_state, \
    status_message, state_change_time, heartbeat_time, presence_update_time, last_assign_time, \
    active_tickets, version, create_time, update_time, delete_time";

fn roles_text(roles: &[StaffRole]) -> String {
    comma_list(roles.iter().map(|r| r.number().to_string()))
}

fn languages_json(languages: &[LanguageTag]) -> String {
    serde_json::to_string(
        &languages
            .iter()
            .map(LanguageTag::as_str)
            .collect::<Vec<_>>(),
    )
    .unwrap_or_else(|_| "[]".into())
}

fn tags_text(languages: &[LanguageTag]) -> String {
    comma_list(languages.iter().map(|l| l.as_str().to_lowercase()))
}

fn primaries_text(languages: &[LanguageTag]) -> String {
    comma_list(languages.iter().map(|l| l.primary().to_owned()))
}

/// Inserts a new agent and its skills. A unique violation (email, identity subject) comes
/// back as the database error; see [`super::is_unique_violation`].
pub async fn insert_agent(conn: &mut Conn, agent: &Agent) -> Result<(), sqlx::Error> {
    let p = &agent.profile;
    sqlx::query(
        "INSERT INTO agents (id, display_name, display_key, email, identity_subject, roles,
            region, service_centre, languages, language_tags, language_primaries,
            max_concurrent_tickets, shift_id, state, presence_state, status_message,
            state_change_time, heartbeat_time, presence_update_time, last_assign_time,
            active_tickets, version, create_time, update_time, delete_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
            $18, $19, $20, $21, $22, $23, $24, $25)",
    )
    .bind(agent.id.to_string())
    .bind(p.display_name.clone())
    .bind(p.display_name.to_lowercase())
    .bind(p.email.clone())
    .bind(p.identity_subject.clone())
    .bind(roles_text(&p.roles))
    .bind(p.region.clone())
    .bind(p.service_centre.clone())
    .bind(languages_json(&p.languages))
    .bind(tags_text(&p.languages))
    .bind(primaries_text(&p.languages))
    .bind(p.max_concurrent_tickets)
    .bind(p.shift.map(|id| id.to_string()))
    .bind(p.state.number())
    .bind(agent.presence.state.number())
    .bind(agent.presence.status_message.clone())
    .bind(agent.presence.state_change_time)
    .bind(agent.presence.heartbeat_time)
    .bind(agent.presence.update_time)
    .bind(agent.presence.last_assign_time)
    .bind(agent.active_tickets)
    .bind(agent.version)
    .bind(agent.create_time)
    .bind(agent.update_time)
    .bind(agent.delete_time)
    .execute(&mut *conn)
    .await?;
    write_skills(conn, agent.id, &p.skills).await
}

async fn write_skills(conn: &mut Conn, id: Uuid, skills: &[HeldSkill]) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM agent_skills WHERE agent_id = $1")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    for (position, skill) in skills.iter().enumerate() {
        sqlx::query(
            "INSERT INTO agent_skills (agent_id, skill_id, level, position) VALUES ($1, $2, $3, $4)",
        )
        .bind(id.to_string())
        .bind(skill.skill.to_string())
        .bind(i64::from(skill.level))
        .bind(position as i64)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Writes `agent` (version bumped) over the row still at `expected_version`; returns whether
/// it did. Rewrites skills; a deleted agent also leaves its teams.
pub async fn update_agent(
    conn: &mut Conn,
    agent: &Agent,
    expected_version: i64,
) -> Result<bool, sqlx::Error> {
    let p = &agent.profile;
    let result = sqlx::query(
        "UPDATE agents SET display_name = $3, display_key = $4, email = $5,
            identity_subject = $6, roles = $7, region = $8, service_centre = $9,
            languages = $10, language_tags = $11, language_primaries = $12,
            max_concurrent_tickets = $13, shift_id = $14, state = $15,
            presence_state = CASE WHEN $15 = 1 THEN presence_state ELSE $16 END,
            state_change_time = CASE WHEN $15 = 1 THEN state_change_time ELSE $17 END,
            presence_update_time = CASE WHEN $15 = 1 THEN presence_update_time ELSE $18 END,
            version = $19, update_time = $20, delete_time = $21
         WHERE id = $1 AND version = $2",
    )
    .bind(agent.id.to_string())
    .bind(expected_version)
    .bind(p.display_name.clone())
    .bind(p.display_name.to_lowercase())
    .bind(p.email.clone())
    .bind(p.identity_subject.clone())
    .bind(roles_text(&p.roles))
    .bind(p.region.clone())
    .bind(p.service_centre.clone())
    .bind(languages_json(&p.languages))
    .bind(tags_text(&p.languages))
    .bind(primaries_text(&p.languages))
    .bind(p.max_concurrent_tickets)
    .bind(p.shift.map(|id| id.to_string()))
    .bind(p.state.number())
    .bind(agent.presence.state.number())
    .bind(agent.presence.state_change_time)
    .bind(agent.presence.update_time)
    .bind(agent.version)
    .bind(agent.update_time)
    .bind(agent.delete_time)
    .execute(&mut *conn)
    .await?;
    if result.rows_affected() != 1 {
        return Ok(false);
    }
    write_skills(conn, agent.id, &p.skills).await?;
    if agent.is_deleted() {
        sqlx::query("DELETE FROM team_members WHERE agent_id = $1")
            .bind(agent.id.to_string())
            .execute(&mut *conn)
            .await?;
        sqlx::query("UPDATE teams SET lead_id = NULL WHERE lead_id = $1")
            .bind(agent.id.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(true)
}

/// Writes an agent's presence (not a profile change: no version bump) and, when `load` is
/// given (an override), its load; returns the load as stored. The load is otherwise left as
/// the row has it: routing holds and ticket events change it concurrently, and the agent
/// read before this write may carry an older count.
async fn save_presence(
    conn: &mut Conn,
    agent: &Agent,
    load: Option<i64>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE agents SET presence_state = $2, status_message = $3, state_change_time = $4,
            heartbeat_time = $5, presence_update_time = $6,
            active_tickets = COALESCE($7, active_tickets)
         WHERE id = $1 RETURNING active_tickets",
    )
    .bind(agent.id.to_string())
    .bind(agent.presence.state.number())
    .bind(agent.presence.status_message.clone())
    .bind(agent.presence.state_change_time)
    .bind(agent.presence.heartbeat_time)
    .bind(agent.presence.update_time)
    .bind(load)
    .fetch_one(&mut *conn)
    .await
}

fn decode(row: &AnyRow) -> Result<Agent, sqlx::Error> {
    let id = uuid(&row.try_get::<String, _>("id")?, "agents.id")?;
    let roles: String = row.try_get("roles")?;
    let roles = roles
        .split(',')
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<i64>()
                .ok()
                .and_then(StaffRole::from_number)
                .ok_or_else(|| super::corrupt("agents.roles", part))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let languages: String = row.try_get("languages")?;
    let languages: Vec<String> =
        serde_json::from_str(&languages).map_err(|err| super::corrupt("agents.languages", err))?;
    let languages = languages
        .iter()
        .map(|tag| LanguageTag::parse(tag).map_err(|err| super::corrupt("agents.languages", err)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Agent {
        id,
        profile: Profile {
            display_name: row.try_get("display_name")?,
            email: row.try_get("email")?,
            identity_subject: row.try_get("identity_subject")?,
            roles,
            region: row.try_get("region")?,
            service_centre: row.try_get("service_centre")?,
            languages,
            skills: Vec::new(),
            max_concurrent_tickets: row.try_get("max_concurrent_tickets")?,
            shift: optional_uuid(row.try_get("shift_id")?, "agents.shift_id")?,
            state: enum_value(
                row.try_get("state")?,
                "agents.state",
                AgentState::from_number,
            )?,
        },
        teams: Vec::new(),
        presence: Presence {
            state: enum_value(
                row.try_get("presence_state")?,
                "agents.presence_state",
                PresenceState::from_number,
            )?,
            status_message: row.try_get("status_message")?,
            state_change_time: row.try_get("state_change_time")?,
            heartbeat_time: row.try_get("heartbeat_time")?,
            update_time: row.try_get("presence_update_time")?,
            last_assign_time: row.try_get("last_assign_time")?,
        },
        active_tickets: row.try_get("active_tickets")?,
        version: row.try_get("version")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
        delete_time: row.try_get("delete_time")?,
    })
}

/// Fills in skills and teams of `agents`, in two queries.
async fn complete(conn: &mut Conn, agents: &mut [Agent]) -> Result<(), sqlx::Error> {
    if agents.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = agents.iter().map(|a| a.id.to_string()).collect();
    let list = placeholders(1, ids.len());
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, id) in ids.iter().enumerate() {
        index.insert(id.clone(), i);
    }
    let sql = format!(
        "SELECT agent_id, skill_id, level FROM agent_skills WHERE agent_id IN ({list})
         ORDER BY agent_id, position"
    );
    let mut query = sqlx::query(&sql);
    for id in &ids {
        query = query.bind(id.clone());
    }
    for row in query.fetch_all(&mut *conn).await? {
        let agent: String = row.try_get("agent_id")?;
        let level: i64 = row.try_get("level")?;
        if let Some(&i) = index.get(&agent) {
            agents[i].profile.skills.push(HeldSkill {
                skill: uuid(
                    &row.try_get::<String, _>("skill_id")?,
                    "agent_skills.skill_id",
                )?,
                level: u8::try_from(level).map_err(|e| super::corrupt("agent_skills.level", e))?,
            });
        }
    }
    let sql = format!(
        "SELECT agent_id, team_id FROM team_members WHERE agent_id IN ({list})
         ORDER BY agent_id, create_time, team_id"
    );
    let mut query = sqlx::query(&sql);
    for id in &ids {
        query = query.bind(id.clone());
    }
    for row in query.fetch_all(&mut *conn).await? {
        let agent: String = row.try_get("agent_id")?;
        if let Some(&i) = index.get(&agent) {
            agents[i].teams.push(uuid(
                &row.try_get::<String, _>("team_id")?,
                "team_members.team_id",
            )?);
        }
    }
    Ok(())
}

/// The agent with `id`.
pub async fn find_agent(conn: &mut Conn, id: Uuid) -> Result<Option<Agent>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM agents WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut agents = vec![decode(&row)?];
    complete(conn, &mut agents).await?;
    Ok(agents.pop())
}

/// The agents with these ids (missing ones left out), in no particular order.
pub async fn load_agents(conn: &mut Conn, ids: &[Uuid]) -> Result<Vec<Agent>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM agents WHERE id IN ({})",
        placeholders(1, ids.len())
    );
    let mut query = sqlx::query(&sql);
    for id in ids {
        query = query.bind(id.to_string());
    }
    let mut agents = query
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(decode)
        .collect::<Result<Vec<_>, _>>()?;
    complete(conn, &mut agents).await?;
    Ok(agents)
}

/// The non-deleted agent a principal's subject stands for: `agents/{id}` or an
/// `identity_subject`.
pub async fn find_agent_by_subject(
    conn: &mut Conn,
    subject: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    let by_name = crate::domain::names::parse_agent_name(subject).map(|id| id.to_string());
    let row: Option<String> = sqlx::query_scalar(
        "SELECT id FROM agents WHERE delete_time IS NULL AND (id = $1 OR identity_subject = $2)
         ORDER BY id LIMIT 1",
    )
    .bind(by_name.unwrap_or_default())
    .bind(subject.to_owned())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|id| uuid(&id, "agents.id")).transpose()
}

/// Which of `skills` do not exist in the catalogue.
pub async fn missing_skills(conn: &mut Conn, skills: &[Uuid]) -> Result<Vec<Uuid>, sqlx::Error> {
    if skills.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id FROM skills WHERE id IN ({})",
        placeholders(1, skills.len())
    );
    let mut query = sqlx::query_scalar::<_, String>(&sql);
    for id in skills {
        query = query.bind(id.to_string());
    }
    let found: Vec<String> = query.fetch_all(&mut *conn).await?;
    Ok(skills
        .iter()
        .filter(|id| !found.contains(&id.to_string()))
        .copied()
        .collect())
}

/// A page of `ListAgents`.
#[derive(Debug, Clone)]
pub struct AgentQuery {
    /// Filter conditions.
    pub filters: Vec<AgentFilter>,
    /// Substring of name or email.
    pub text: Option<String>,
    /// Include deleted agents.
    pub show_deleted: bool,
    /// What the caller reads.
    pub reach: Reach,
    /// After this (display key, id).
    pub after: Option<(String, String)>,
    /// Rows to read.
    pub limit: i64,
    /// Now, for presence.
    pub now: i64,
}

/// A page of agents ordered by display name.
pub async fn list_agents(conn: &mut Conn, q: &AgentQuery) -> Result<Vec<Agent>, sqlx::Error> {
    let mut w = Where::default();
    if !q.show_deleted {
        w.push("delete_time IS NULL");
    }
    if let Reach::Own { agent, teams } = &q.reach {
        let me = w.text(agent.map(|id| id.to_string()).unwrap_or_default());
        let teams = w.ids_in("team_id", teams);
        w.push(format!(
            "(id = {me} OR id IN (SELECT agent_id FROM team_members WHERE {teams}))"
        ));
    }
    let stale = q.now - HEARTBEAT_TIMEOUT_MICROS;
    for filter in &q.filters {
        let clause = match filter {
            AgentFilter::Team(team) => format!(
                "id IN (SELECT agent_id FROM team_members WHERE team_id = {})",
                w.text(team.to_string())
            ),
            AgentFilter::Role(role) => {
                format!("roles LIKE {}", w.text(format!("%,{},%", role.number())))
            }
            AgentFilter::Region(region) => format!("region = {}", w.text(region.clone())),
            AgentFilter::ServiceCentre(centre) => {
                format!("service_centre = {}", w.text(centre.clone()))
            }
            AgentFilter::Skill(skill) => format!(
                "id IN (SELECT agent_id FROM agent_skills WHERE skill_id = {})",
                w.text(skill.to_string())
            ),
            AgentFilter::Language(tag) if tag.is_bare() => format!(
                "language_primaries LIKE {}",
                w.text(format!("%,{},%", tag.primary()))
            ),
            AgentFilter::Language(tag) => format!(
                "language_tags LIKE {}",
                w.text(format!("%,{},%", tag.as_str().to_lowercase()))
            ),
            AgentFilter::Presence(PresenceState::Offline) => {
                format!("(presence_state = 4 OR heartbeat_time <= {})", w.int(stale))
            }
            AgentFilter::Presence(state) => format!(
                "(presence_state = {} AND heartbeat_time > {})",
                w.int(state.number()),
                w.int(stale)
            ),
            AgentFilter::State(state) => format!("state = {}", w.int(state.number())),
            AgentFilter::Shift(shift) => format!("shift_id = {}", w.text(shift.to_string())),
            AgentFilter::CreateTime(op, time) => {
                format!("create_time {} {}", op.sql(), w.int(*time))
            }
        };
        w.push(clause);
    }
    if let Some(text) = &q.text {
        let pattern = w.text(like_pattern(&text.to_lowercase()));
        w.push(format!(
            "(display_key LIKE {pattern} ESCAPE '\\' OR email LIKE {pattern} ESCAPE '\\')"
        ));
    }
    if let Some((key, id)) = &q.after {
        let key = w.text(key.clone());
        let id = w.text(id.clone());
        w.push(format!(
            "(display_key > {key} OR (display_key = {key} AND id > {id}))"
        ));
    }
    let limit = w.int(q.limit);
    let sql = format!(
        "SELECT {COLUMNS} FROM agents WHERE {} ORDER BY display_key, id LIMIT {limit}",
        w.sql()
    );
    let rows = w.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await?;
    let mut agents = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
    complete(conn, &mut agents).await?;
    Ok(agents)
}

/// Agents whose heartbeat is older than the timeout but who are not offline yet.
pub async fn stale_presence(conn: &mut Conn, now: i64) -> Result<Vec<Uuid>, sqlx::Error> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM agents WHERE presence_state <> 4 AND heartbeat_time <= $1 LIMIT 500",
    )
    .bind(now - HEARTBEAT_TIMEOUT_MICROS)
    .fetch_all(&mut *conn)
    .await?;
    ids.iter().map(|id| uuid(id, "agents.id")).collect()
}

/// The active, available (fresh heartbeat), non-excluded agents, with their skills and
/// teams: the only rows routing reads per call. `on_shift` is filled in by the caller.
pub async fn routable_agents(
    conn: &mut Conn,
    exclude: &[Uuid],
    now: i64,
) -> Result<(Vec<Routable>, HashMap<Uuid, Option<Uuid>>), sqlx::Error> {
    routable(conn, exclude, None, now).await
}

/// Agent `id` as routing sees it, with `on_shift` computed, when it is active, available and
/// its heartbeat fresh.
pub async fn routable_agent(
    conn: &mut Conn,
    id: Uuid,
    now: i64,
) -> Result<Option<Routable>, sqlx::Error> {
    let (agents, shifts) = routable(conn, &[], Some(id), now).await?;
    let Some(mut agent) = agents.into_iter().next() else {
        return Ok(None);
    };
    if let Some(Some(shift)) = shifts.get(&id) {
        agent.on_shift = super::find_shift(conn, *shift)
            .await?
            .is_some_and(|s| s.on_shift_at(now));
    }
    Ok(Some(agent))
}

async fn routable(
    conn: &mut Conn,
    exclude: &[Uuid],
    only: Option<Uuid>,
    now: i64,
) -> Result<(Vec<Routable>, HashMap<Uuid, Option<Uuid>>), sqlx::Error> {
    let mut w = Where::default();
    let fresh = w.int(now - HEARTBEAT_TIMEOUT_MICROS);
    let mut sql = format!(
        "SELECT id, display_name, region, languages, max_concurrent_tickets, shift_id,
            active_tickets, last_assign_time FROM agents
         WHERE state = 1 AND presence_state = 1 AND delete_time IS NULL
           AND heartbeat_time > {fresh}"
    );
    if !exclude.is_empty() {
        sql.push_str(&format!(" AND NOT {}", w.ids_in("id", exclude)));
    }
    if let Some(only) = only {
        sql.push_str(&format!(" AND id = {}", w.text(only.to_string())));
    }
    let rows = w.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await?;
    let mut agents = Vec::with_capacity(rows.len());
    let mut shifts = HashMap::new();
    let mut index = HashMap::new();
    for row in &rows {
        let id = uuid(&row.try_get::<String, _>("id")?, "agents.id")?;
        let languages: String = row.try_get("languages")?;
        let languages: Vec<String> = serde_json::from_str(&languages)
            .map_err(|err| super::corrupt("agents.languages", err))?;
        shifts.insert(
            id,
            optional_uuid(row.try_get("shift_id")?, "agents.shift_id")?,
        );
        index.insert(id.to_string(), agents.len());
        agents.push(Routable {
            id,
            display_name: row.try_get("display_name")?,
            region: row.try_get("region")?,
            languages: languages
                .iter()
                .filter_map(|tag| LanguageTag::parse(tag).ok())
                .collect(),
            skills: HashMap::new(),
            certifications: Vec::<HeldCertification>::new(),
            teams: Vec::new(),
            available: true,
            active_tickets: row.try_get("active_tickets")?,
            capacity: row.try_get("max_concurrent_tickets")?,
            on_shift: false,
            last_assign_time: row.try_get("last_assign_time")?,
        });
    }
    if agents.is_empty() {
        return Ok((agents, shifts));
    }
    let ids: Vec<Uuid> = agents.iter().map(|a| a.id).collect();
    let mut w = Where::default();
    let list = w.ids_in("agent_id", &ids);
    let sql = format!("SELECT agent_id, skill_id, level FROM agent_skills WHERE {list}");
    for row in w.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await? {
        let agent: String = row.try_get("agent_id")?;
        let level: i64 = row.try_get("level")?;
        if let Some(&i) = index.get(&agent) {
            agents[i].skills.insert(
                uuid(
                    &row.try_get::<String, _>("skill_id")?,
                    "agent_skills.skill_id",
                )?,
                u8::try_from(level).unwrap_or(0),
            );
        }
    }
    let mut w = Where::default();
    let list = w.ids_in("m.agent_id", &ids);
    let sql = format!(
        "SELECT m.agent_id, m.team_id, t.escalation_tier FROM team_members m
         JOIN teams t ON t.id = m.team_id WHERE {list}"
    );
    for row in w.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await? {
        let agent: String = row.try_get("agent_id")?;
        if let Some(&i) = index.get(&agent) {
            let tier = enum_value(
                row.try_get("escalation_tier")?,
                "teams.escalation_tier",
                crate::domain::team::Tier::from_number,
            )?;
            agents[i].teams.push((
                uuid(
                    &row.try_get::<String, _>("team_id")?,
                    "team_members.team_id",
                )?,
                tier,
            ));
        }
    }
    for (agent, certification) in super::active_certifications(conn, &ids, now).await? {
        if let Some(&i) = index.get(&agent.to_string()) {
            agents[i].certifications.push(certification);
        }
    }
    Ok((agents, shifts))
}

/// Another non-deleted agent using `email` or `identity_subject`: its id and which field.
pub async fn agent_conflict(
    conn: &mut Conn,
    email: &str,
    identity_subject: Option<&str>,
    except: Uuid,
) -> Result<Option<(Uuid, &'static str)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, email FROM agents WHERE delete_time IS NULL AND id <> $1
           AND (email = $2 OR identity_subject = $3) LIMIT 1",
    )
    .bind(except.to_string())
    .bind(email.to_owned())
    .bind(identity_subject.unwrap_or("\u{1}").to_owned())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| {
        let id = uuid(&row.try_get::<String, _>("id")?, "agents.id")?;
        let field = if row.try_get::<String, _>("email")? == email {
            "email"
        } else {
            "identity_subject"
        };
        Ok((id, field))
    })
    .transpose()
}

/// Whether the shift exists.
pub async fn shift_exists(conn: &mut Conn, id: Uuid) -> Result<bool, sqlx::Error> {
    let found: Option<String> = sqlx::query_scalar("SELECT id FROM shifts WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(found.is_some())
}

/// Whether any non-deleted agent is on the shift.
pub async fn shift_in_use(conn: &mut Conn, id: Uuid) -> Result<bool, sqlx::Error> {
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM agents WHERE shift_id = $1 AND delete_time IS NULL",
    )
    .bind(id.to_string())
    .fetch_one(&mut *conn)
    .await?;
    Ok(count > 0)
}

/// The agent with `id`, or `NOT_FOUND`.
pub async fn load_agent(conn: &mut Conn, id: Uuid) -> Result<Agent, Error> {
    find_agent(conn, id)
        .await?
        .ok_or_else(|| Error::not_found(AGENT, agent_name(id)))
}

/// Refuses skills not in the catalogue and a shift that does not exist, naming the fields.
async fn check_references(
    conn: &mut Conn,
    skills: Option<&[HeldSkill]>,
    shift: Option<Uuid>,
) -> Result<(), Error> {
    let mut violations = FieldViolations::new();
    if let Some(skills) = skills {
        let ids: Vec<Uuid> = skills.iter().map(|s| s.skill).collect();
        let missing = missing_skills(conn, &ids).await?;
        for (i, skill) in skills.iter().enumerate() {
            if missing.contains(&skill.skill) {
                violations.add(format!("agent.skills[{i}].skill"), "no such skill");
            }
        }
    }
    if let Some(shift) = shift
        && !shift_exists(conn, shift).await?
    {
        violations.add("agent.shift", "no such shift");
    }
    crate::error::finish(violations)
}

/// Refuses an email or identity subject another agent uses.
async fn check_unique(conn: &mut Conn, agent: &Agent) -> Result<(), Error> {
    let p = &agent.profile;
    match agent_conflict(conn, &p.email, p.identity_subject.as_deref(), agent.id).await? {
        Some((other, field)) => Err(Error::exists(
            AGENT,
            agent_name(other),
            format!("another agent has this {field}"),
        )),
        None => Ok(()),
    }
}

/// Creates `agent` with its `AgentCreated`, claiming `key`, in one transaction; a replay
/// answers the agent the key made first.
pub async fn create_agent(
    db: &Database,
    agent: &Agent,
    key: Option<&RequestKey>,
    by: &Actor,
) -> Result<Agent, Error> {
    let mut tx = db.begin().await?;
    if let Some(first) = claim(&mut tx, key, AGENT, agent.id, agent.create_time).await? {
        return load_agent(&mut tx, first).await;
    }
    check_references(&mut tx, Some(&agent.profile.skills), agent.profile.shift).await?;
    check_unique(&mut tx, agent).await?;
    insert_agent(&mut tx, agent).await?;
    events::publish(
        &mut tx,
        &agent_name(agent.id),
        &events::agent_created(agent, by),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(agent = %agent.id, "agent created");
    Ok(agent.clone())
}

/// Writes `agent` (changed in `changed` fields, version raised) over the row still at
/// `expected_version`, with its `AgentUpdated`, in one transaction; `FAILED_PRECONDITION`
/// (etag) when that version is gone.
pub async fn save_agent(
    db: &Database,
    agent: &Agent,
    expected_version: i64,
    changed: Vec<String>,
    by: &Actor,
) -> Result<(), Error> {
    let has = |field: &str| changed.iter().any(|f| f == field);
    let mut tx = db.begin().await?;
    let skills = has("skills").then_some(agent.profile.skills.as_slice());
    let shift = agent.profile.shift.filter(|_| has("shift"));
    check_references(&mut tx, skills, shift).await?;
    if has("email") || has("identity_subject") {
        check_unique(&mut tx, agent).await?;
    }
    if !update_agent(&mut tx, agent, expected_version).await? {
        return Err(Error::StaleEtag(agent_name(agent.id)));
    }
    if agent.is_deleted() {
        save_presence(&mut tx, agent, None).await?;
    }
    let event = events::agent_updated(agent, changed, by);
    events::publish(&mut tx, &agent_name(agent.id), &event).await?;
    tx.commit().await?;
    tracing::info!(agent = %agent.id, version = agent.version, "agent updated");
    Ok(())
}

/// Writes an agent's presence (a heartbeat too), and its load when `load` overrides it,
/// and, when the state changed from `previous`, its `PresenceChanged`, in one transaction;
/// `agent` gets the load as stored. Returns whether the agent's shift is working now.
pub async fn set_presence(
    db: &Database,
    agent: &mut Agent,
    load: Option<i64>,
    previous: Option<PresenceState>,
    by: &Actor,
    now: i64,
) -> Result<bool, Error> {
    let mut tx = db.begin().await?;
    agent.active_tickets = save_presence(&mut tx, agent, load).await?;
    let on_shift = match agent.profile.shift {
        Some(shift) => super::find_shift(&mut tx, shift)
            .await?
            .is_some_and(|shift| shift.on_shift_at(now)),
        None => false,
    };
    if let Some(previous) = previous {
        let event = events::presence_changed(agent, previous, on_shift, by, now);
        events::publish(&mut tx, &agent_name(agent.id), &event).await?;
    }
    tx.commit().await?;
    if previous.is_some() {
        tracing::info!(agent = %agent.id, state = ?agent.presence.state, "presence changed");
    }
    Ok(on_shift)
}

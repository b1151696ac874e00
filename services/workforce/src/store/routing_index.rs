//! What `RouteTicket` reads, indexed in memory: each agent's profile as routing sees it
//! (name, region, languages, skills, teams) by agent version; the active certifications,
//! team tiers and shifts by a validator of their tables; and the active agents' changing
//! columns (version, presence, heartbeat, load, capacity, shift) by a checksum the database
//! computes in one row. A call reads the checksums (two one-row queries); only what moved is
//! read again, so presence, load and changes committed by another replica are seen at once.
//! Holds stay atomic in the database ([`super::place_ticket`]): a stale read could only
//! propose, never over-fill.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use sqlx::Row as _;
use uuid::Uuid;

use super::{Conn, Where, enum_value, optional_uuid, uuid};
use crate::domain::agent::HEARTBEAT_TIMEOUT_MICROS;
use crate::domain::routing::{Exclusion, HeldCertification, Routable};
use crate::domain::shift::Shift;
use crate::domain::team::Tier;
use crate::domain::values::LanguageTag;

/// An agent's profile as routing sees it, at a version.
#[derive(Debug, Clone)]
struct Profile {
    version: i64,
    display_name: String,
    region: String,
    languages: Vec<LanguageTag>,
    skills: HashMap<Uuid, u8>,
    teams: Vec<Uuid>,
}

/// A certification as routing counts it.
#[derive(Debug, Clone)]
struct Held {
    certification: HeldCertification,
    issue_time: i64,
    expire_time: Option<i64>,
}

/// (row count, latest update time, a sum over the columns routing reads) of a table: moves
/// with every insert, update and delete that matters here (certifications and shifts are
/// never deleted while used; a team's deletion bumps its members' versions), also with a
/// change written without raising `update_time`.
type Validator = (i64, i64, i64);

#[derive(Debug, Default)]
struct Inner {
    profiles: HashMap<Uuid, Profile>,
    certifications: Option<(Validator, HashMap<Uuid, Vec<Held>>)>,
    tiers: Option<(Validator, HashMap<Uuid, Tier>)>,
    shifts: Option<(Validator, HashMap<Uuid, Shift>)>,
    live: Option<(LiveValidator, Vec<Live>)>,
}

/// The routing index of one service instance.
#[derive(Debug, Default)]
pub struct RoutingIndex {
    inner: Mutex<Inner>,
}

/// One active agent's changing columns.
#[derive(Debug, Clone)]
struct Live {
    id: Uuid,
    version: i64,
    presence_state: i64,
    heartbeat_time: i64,
    active_tickets: i64,
    capacity: i64,
    last_assign_time: Option<i64>,
    shift: Option<Uuid>,
}

/// A checksum of every active agent's changing columns, each weighted by the agent (so a
/// ticket moving from one agent to another moves it too): computed by the database in one
/// row; while it holds, the rows read last are current.
type LiveValidator = (i64, i64, i64, i64, i64);

impl RoutingIndex {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The active agents' changing columns: the rows read last while the checksum holds,
    /// else read again.
    async fn live(
        &self,
        conn: &mut Conn,
        validator: LiveValidator,
    ) -> Result<Vec<Live>, sqlx::Error> {
        if let Some((seen, rows)) = &self.lock().live
            && *seen == validator
        {
            return Ok(rows.clone());
        }
        let rows = sqlx::query(
            "SELECT id, version, presence_state, heartbeat_time, active_tickets,
                max_concurrent_tickets, last_assign_time, shift_id
             FROM agents WHERE state = 1 AND delete_time IS NULL",
        )
        .fetch_all(&mut *conn)
        .await?;
        let mut live = Vec::with_capacity(rows.len());
        for row in &rows {
            live.push(Live {
                id: uuid(&row.try_get::<String, _>("id")?, "agents.id")?,
                version: row.try_get("version")?,
                presence_state: row.try_get("presence_state")?,
                heartbeat_time: row.try_get("heartbeat_time")?,
                active_tickets: row.try_get("active_tickets")?,
                capacity: row.try_get("max_concurrent_tickets")?,
                last_assign_time: row.try_get("last_assign_time")?,
                shift: optional_uuid(row.try_get("shift_id")?, "agents.shift_id")?,
            });
        }
        self.lock().live = Some((validator, live.clone()));
        Ok(live)
    }

    /// The agents routing considers (active, not deleted), the counts removed before the
    /// domain sees them (excluded, not available), and the available agents with `on_shift`
    /// computed at `now`.
    pub async fn candidates(
        &self,
        conn: &mut Conn,
        exclude: &[Uuid],
        now: i64,
    ) -> Result<(i64, Vec<(Exclusion, i64)>, Vec<Routable>), sqlx::Error> {
        let fresh = now - HEARTBEAT_TIMEOUT_MICROS;
        let (live_validator, validators) = validators(conn).await?;
        let all = self.live(conn, live_validator).await?;
        let considered = all.len() as i64;
        let excluded = all.iter().filter(|l| exclude.contains(&l.id)).count() as i64;
        let live: Vec<Live> = all
            .into_iter()
            .filter(|l| {
                !exclude.contains(&l.id) && l.presence_state == 1 && l.heartbeat_time > fresh
            })
            .collect();
        let removed = vec![
            (Exclusion::Excluded, excluded),
            (
                Exclusion::NotAvailable,
                considered - excluded - live.len() as i64,
            ),
        ];
        let (stale, certifications, tiers, shifts) = {
            let inner = self.lock();
            let stale: Vec<Uuid> = live
                .iter()
                .filter(|l| {
                    inner
                        .profiles
                        .get(&l.id)
                        .is_none_or(|p| p.version != l.version)
                })
                .map(|l| l.id)
                .collect();
            let moved = |v: Option<Validator>, now: Validator| v != Some(now);
            (
                stale,
                moved(inner.certifications.as_ref().map(|(v, _)| *v), validators.0),
                moved(inner.tiers.as_ref().map(|(v, _)| *v), validators.1),
                moved(inner.shifts.as_ref().map(|(v, _)| *v), validators.2),
            )
        };
        let profiles = load_profiles(conn, &stale).await?;
        let certifications = match certifications {
            true => Some((validators.0, load_certifications(conn).await?)),
            false => None,
        };
        let tiers = match tiers {
            true => Some((validators.1, load_tiers(conn).await?)),
            false => None,
        };
        let shifts = match shifts {
            true => Some((validators.2, super::shifts::all_shifts(conn).await?)),
            false => None,
        };
        let mut inner = self.lock();
        inner.profiles.extend(profiles);
        if certifications.is_some() {
            inner.certifications = certifications;
        }
        if tiers.is_some() {
            inner.tiers = tiers;
        }
        if shifts.is_some() {
            inner.shifts = shifts;
        }
        if inner.profiles.len() > 2 * considered as usize + 64 {
            let known: HashSet<Uuid> = live.iter().map(|l| l.id).collect();
            inner.profiles.retain(|id, _| known.contains(id));
        }
        let inner = &*inner;
        let empty = HashMap::new();
        let certifications = inner.certifications.as_ref().map_or(&empty, |(_, c)| c);
        let tiers = inner.tiers.as_ref().map(|(_, t)| t);
        let working: HashSet<Uuid> = inner
            .shifts
            .as_ref()
            .map(|(_, shifts)| {
                shifts
                    .values()
                    .filter(|s| s.on_shift_at(now))
                    .map(|s| s.id)
                    .collect()
            })
            .unwrap_or_default();
        let mut agents = Vec::with_capacity(live.len());
        for l in live {
            let Some(p) = inner.profiles.get(&l.id) else {
                continue; // deleted or deactivated since the first read
            };
            agents.push(Routable {
                id: l.id,
                display_name: p.display_name.clone(),
                region: p.region.clone(),
                languages: p.languages.clone(),
                skills: p.skills.clone(),
                certifications: certifications
                    .get(&l.id)
                    .into_iter()
                    .flatten()
                    .filter(|h| h.issue_time <= now && h.expire_time.is_none_or(|e| e > now))
                    .map(|h| h.certification.clone())
                    .collect(),
                teams: p
                    .teams
                    .iter()
                    .filter_map(|t| Some((*t, *tiers?.get(t)?)))
                    .collect(),
                available: true,
                active_tickets: l.active_tickets,
                capacity: l.capacity,
                on_shift: l.shift.is_some_and(|s| working.contains(&s)),
                last_assign_time: l.last_assign_time,
            });
        }
        Ok((considered, removed, agents))
    }
}

/// The checksum of the active agents and the validators of certifications, teams and
/// shifts, in one round trip.
async fn validators(
    conn: &mut Conn,
) -> Result<(LiveValidator, (Validator, Validator, Validator)), sqlx::Error> {
    let row = sqlx::query(
        "SELECT a.n, a.w, a.h, a.l, a.m,
            (SELECT COUNT(*) FROM certifications) AS c_count,
            (SELECT COALESCE(MAX(update_time), 0) FROM certifications) AS c_time,
            (SELECT CAST(COALESCE(SUM(state + issue_time % 1000003
                + COALESCE(expire_time, 0) % 1000003), 0) AS BIGINT) FROM certifications)
                AS c_sum,
            (SELECT COUNT(*) FROM teams) AS t_count,
            (SELECT COALESCE(MAX(update_time), 0) FROM teams) AS t_time,
            (SELECT CAST(COALESCE(SUM(escalation_tier + version), 0) AS BIGINT) FROM teams)
                AS t_sum,
            (SELECT COUNT(*) FROM shifts) AS s_count,
            (SELECT COALESCE(MAX(update_time), 0) FROM shifts) AS s_time,
            (SELECT CAST(COALESCE(SUM(version), 0) AS BIGINT) FROM shifts) AS s_sum
         FROM (SELECT COUNT(*) AS n,
                CAST(COALESCE(SUM((version + 7 * active_tickets + 131 * presence_state
                    + 977 * max_concurrent_tickets) * (create_time % 1000003 + 1)), 0)
                    AS BIGINT) AS w,
                CAST(COALESCE(SUM((heartbeat_time % 1000003) * (create_time % 1009 + 1)), 0)
                    AS BIGINT) AS h,
                CAST(COALESCE(SUM((COALESCE(last_assign_time, 0) % 1000003)
                    * (create_time % 1013 + 1)), 0) AS BIGINT) AS l,
                COALESCE(MAX(heartbeat_time), 0) AS m
             FROM agents WHERE state = 1 AND delete_time IS NULL) a",
    )
    .fetch_one(&mut *conn)
    .await?;
    let get = |column: &str| row.try_get::<i64, _>(column);
    Ok((
        (get("n")?, get("w")?, get("h")?, get("l")?, get("m")?),
        (
            (get("c_count")?, get("c_time")?, get("c_sum")?),
            (get("t_count")?, get("t_time")?, get("t_sum")?),
            (get("s_count")?, get("s_time")?, get("s_sum")?),
        ),
    ))
}

async fn load_profiles(conn: &mut Conn, ids: &[Uuid]) -> Result<Vec<(Uuid, Profile)>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut w = Where::default();
    let list = w.ids_in("id", ids);
    let sql =
        format!("SELECT id, version, display_name, region, languages FROM agents WHERE {list}");
    let mut profiles = HashMap::new();
    for row in w.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await? {
        let id = uuid(&row.try_get::<String, _>("id")?, "agents.id")?;
        let languages: String = row.try_get("languages")?;
        let languages: Vec<String> = serde_json::from_str(&languages)
            .map_err(|err| super::corrupt("agents.languages", err))?;
        profiles.insert(
            id,
            Profile {
                version: row.try_get("version")?,
                display_name: row.try_get("display_name")?,
                region: row.try_get("region")?,
                languages: languages
                    .iter()
                    .filter_map(|tag| LanguageTag::parse(tag).ok())
                    .collect(),
                skills: HashMap::new(),
                teams: Vec::new(),
            },
        );
    }
    let mut w = Where::default();
    let list = w.ids_in("agent_id", ids);
    let sql = format!("SELECT agent_id, skill_id, level FROM agent_skills WHERE {list}");
    for row in w.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await? {
        let agent = uuid(
            &row.try_get::<String, _>("agent_id")?,
            "agent_skills.agent_id",
        )?;
        let skill = uuid(
            &row.try_get::<String, _>("skill_id")?,
            "agent_skills.skill_id",
        )?;
        let level: i64 = row.try_get("level")?;
        if let Some(p) = profiles.get_mut(&agent) {
            p.skills.insert(skill, u8::try_from(level).unwrap_or(0));
        }
    }
    let mut w = Where::default();
    let list = w.ids_in("agent_id", ids);
    let sql = format!("SELECT agent_id, team_id FROM team_members WHERE {list}");
    for row in w.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await? {
        let agent = uuid(
            &row.try_get::<String, _>("agent_id")?,
            "team_members.agent_id",
        )?;
        let team = uuid(
            &row.try_get::<String, _>("team_id")?,
            "team_members.team_id",
        )?;
        if let Some(p) = profiles.get_mut(&agent) {
            p.teams.push(team);
        }
    }
    Ok(profiles.into_iter().collect())
}

async fn load_certifications(conn: &mut Conn) -> Result<HashMap<Uuid, Vec<Held>>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT agent_id, code, skills, issue_time, expire_time FROM certifications
         WHERE state = 1",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut held: HashMap<Uuid, Vec<Held>> = HashMap::new();
    for row in rows {
        let agent = uuid(
            &row.try_get::<String, _>("agent_id")?,
            "certifications.agent_id",
        )?;
        let skills: String = row.try_get("skills")?;
        held.entry(agent).or_default().push(Held {
            certification: HeldCertification {
                code: row.try_get("code")?,
                skills: skills
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .filter_map(|s| Uuid::parse_str(s).ok())
                    .collect(),
            },
            issue_time: row.try_get("issue_time")?,
            expire_time: row.try_get("expire_time")?,
        });
    }
    Ok(held)
}

async fn load_tiers(conn: &mut Conn) -> Result<HashMap<Uuid, Tier>, sqlx::Error> {
    sqlx::query("SELECT id, escalation_tier FROM teams")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| {
            Ok((
                uuid(&row.try_get::<String, _>("id")?, "teams.id")?,
                enum_value(
                    row.try_get("escalation_tier")?,
                    "teams.escalation_tier",
                    Tier::from_number,
                )?,
            ))
        })
        .collect()
}

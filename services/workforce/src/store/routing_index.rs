//! What `RouteTicket` reads, indexed in memory, kept current by a change feed: the
//! `routing_version` row holds two counters that triggers move in the same transaction as
//! any change routing reads (`live`: the agents' rows and skills; `config`: certifications,
//! teams and their members, shifts and the skill catalogue). A call reads that one row;
//! while a counter holds, what was read under it is current, so a routing call costs one
//! round trip. When `live` moves, the active agents' changing columns (version, presence,
//! heartbeat, load, capacity, shift) are read again in one query, and the profiles (name,
//! region, languages, skills) of the agents whose version moved; when `config` moves, the
//! certifications, team tiers and members, shifts and skill catalogue are. Changes committed
//! by another replica move the same counters, so they are seen at the next call.
//! Holds stay atomic in the database ([`super::place_ticket`]): a stale read could only
//! propose, never over-fill.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use sqlx::Row as _;
use uuid::Uuid;

use super::{Conn, Where, enum_value, optional_uuid, uuid};
use crate::domain::agent::HEARTBEAT_TIMEOUT_MICROS;
use crate::domain::routing::{Exclusion, HeldCertification, Routable};
use crate::domain::shift::Shift;
use crate::domain::skill::{Category, Skill};
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
}

/// A certification as routing counts it.
#[derive(Debug, Clone)]
struct Held {
    certification: HeldCertification,
    issue_time: i64,
    expire_time: Option<i64>,
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

/// What changes rarely: certifications, teams (tiers and members), shifts and the skill
/// catalogue, as read at one `config` version.
#[derive(Debug, Default)]
pub struct Catalogue {
    certifications: HashMap<Uuid, Vec<Held>>,
    tiers: HashMap<Uuid, Tier>,
    members: HashMap<Uuid, Vec<Uuid>>,
    shifts: HashMap<Uuid, Shift>,
    skills: Vec<Skill>,
}

impl Catalogue {
    /// The display name of the skill `id`, if there is one.
    pub fn skill_name(&self, id: Uuid) -> Option<&str> {
        self.skills
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.display_name.as_str())
    }

    /// The skills of `category` whose code is one of `codes`.
    pub fn skills_by_code<'a>(
        &'a self,
        category: Category,
        codes: &'a [String],
    ) -> impl Iterator<Item = &'a Skill> + 'a {
        self.skills
            .iter()
            .filter(move |s| s.category == category && codes.contains(&s.code))
    }
}

/// What one routing call reads: the catalogue, the agents routing considers (active, not
/// deleted), the counts removed before the domain sees them (excluded, not available), and
/// the available agents with `on_shift` computed at the call's instant.
#[derive(Debug)]
pub struct Candidates {
    /// The catalogue the agents were read with.
    pub catalogue: Arc<Catalogue>,
    /// Active agents considered.
    pub considered: i64,
    /// Agents removed before scoring, by why.
    pub removed: Vec<(Exclusion, i64)>,
    /// The available agents.
    pub agents: Vec<Routable>,
}

#[derive(Debug, Default)]
struct Inner {
    profiles: HashMap<Uuid, Profile>,
    config: Option<(i64, Arc<Catalogue>)>,
    live: Option<(i64, Arc<Vec<Live>>)>,
}

/// The routing index of one service instance.
#[derive(Debug, Default)]
pub struct RoutingIndex {
    inner: Mutex<Inner>,
}

impl RoutingIndex {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The catalogue and the candidates for a routing at `now`, without the agents in
    /// `exclude`: one round trip while nothing routing reads has changed.
    pub async fn candidates(
        &self,
        conn: &mut Conn,
        exclude: &[Uuid],
        now: i64,
    ) -> Result<Candidates, sqlx::Error> {
        let (live_version, config_version) = versions(conn).await?;
        let (live, config) = {
            let inner = self.lock();
            (
                inner
                    .live
                    .as_ref()
                    .filter(|(v, _)| *v == live_version)
                    .map(|(_, l)| l.clone()),
                inner
                    .config
                    .as_ref()
                    .filter(|(v, _)| *v == config_version)
                    .map(|(_, c)| c.clone()),
            )
        };
        let config = match config {
            Some(config) => config,
            None => {
                let config = Arc::new(load_catalogue(conn).await?);
                self.lock().config = Some((config_version, config.clone()));
                config
            }
        };
        let all = match live {
            Some(live) => live,
            None => {
                let live = Arc::new(load_live(conn).await?);
                self.lock().live = Some((live_version, live.clone()));
                live
            }
        };
        let fresh = now - HEARTBEAT_TIMEOUT_MICROS;
        let considered = all.len() as i64;
        let excluded = all.iter().filter(|l| exclude.contains(&l.id)).count() as i64;
        let live: Vec<&Live> = all
            .iter()
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
        let stale: Vec<Uuid> = {
            let inner = self.lock();
            live.iter()
                .filter(|l| {
                    inner
                        .profiles
                        .get(&l.id)
                        .is_none_or(|p| p.version != l.version)
                })
                .map(|l| l.id)
                .collect()
        };
        let profiles = load_profiles(conn, &stale).await?;
        let mut inner = self.lock();
        inner.profiles.extend(profiles);
        if inner.profiles.len() > 2 * all.len() + 64 {
            let known: HashSet<Uuid> = all.iter().map(|l| l.id).collect();
            inner.profiles.retain(|id, _| known.contains(id));
        }
        let working: HashSet<Uuid> = config
            .shifts
            .values()
            .filter(|s| s.on_shift_at(now))
            .map(|s| s.id)
            .collect();
        let mut agents = Vec::with_capacity(live.len());
        for l in live {
            let Some(p) = inner.profiles.get(&l.id) else {
                continue; // deleted or deactivated since the live rows were read
            };
            agents.push(Routable {
                id: l.id,
                display_name: p.display_name.clone(),
                region: p.region.clone(),
                languages: p.languages.clone(),
                skills: p.skills.clone(),
                certifications: config
                    .certifications
                    .get(&l.id)
                    .into_iter()
                    .flatten()
                    .filter(|h| h.issue_time <= now && h.expire_time.is_none_or(|e| e > now))
                    .map(|h| h.certification.clone())
                    .collect(),
                teams: config
                    .members
                    .get(&l.id)
                    .into_iter()
                    .flatten()
                    .filter_map(|t| Some((*t, *config.tiers.get(t)?)))
                    .collect(),
                available: true,
                active_tickets: l.active_tickets,
                capacity: l.capacity,
                on_shift: l.shift.is_some_and(|s| working.contains(&s)),
                last_assign_time: l.last_assign_time,
            });
        }
        drop(inner);
        Ok(Candidates {
            catalogue: config,
            considered,
            removed,
            agents,
        })
    }
}

/// The change feed's counters: (`live`, `config`).
async fn versions(conn: &mut Conn) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query("SELECT live, config FROM routing_version WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    Ok((row.try_get("live")?, row.try_get("config")?))
}

/// The active agents' changing columns.
async fn load_live(conn: &mut Conn) -> Result<Vec<Live>, sqlx::Error> {
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
    Ok(live)
}

async fn load_catalogue(conn: &mut Conn) -> Result<Catalogue, sqlx::Error> {
    Ok(Catalogue {
        certifications: load_certifications(conn).await?,
        tiers: load_tiers(conn).await?,
        members: load_members(conn).await?,
        shifts: super::shifts::all_shifts(conn).await?,
        skills: super::skills::all_skills(conn).await?,
    })
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
    Ok(profiles.into_iter().collect())
}

async fn load_members(conn: &mut Conn) -> Result<HashMap<Uuid, Vec<Uuid>>, sqlx::Error> {
    let mut members: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for row in sqlx::query("SELECT agent_id, team_id FROM team_members")
        .fetch_all(&mut *conn)
        .await?
    {
        let agent = uuid(
            &row.try_get::<String, _>("agent_id")?,
            "team_members.agent_id",
        )?;
        let team = uuid(
            &row.try_get::<String, _>("team_id")?,
            "team_members.team_id",
        )?;
        members.entry(agent).or_default().push(team);
    }
    Ok(members)
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

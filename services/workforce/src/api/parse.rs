//! Requests → domain commands, on the platform's request toolkit; every bad field at once.

mod performance;
mod training;

pub use performance::*;
pub use training::*;

use aftercare_platform::query::{Comparison, Filter};
use aftercare_platform::request::{
    Etag, FieldViolations, Page, enum_value, optional_text, request_id, required_enum,
    required_text, resource_id, update_paths,
};
use aftercare_proto::aftercare::workforce::v1 as pb;
use chrono::NaiveDate;
use uuid::Uuid;

use crate::domain::agent::{
    AgentFilter, AgentState, Change, DEFAULT_CAPACITY, HeldSkill, PresenceState, Profile, StaffRole,
};
use crate::domain::routing::Priority;
use crate::domain::shift::{Exception, Interval, check_intervals};
use crate::domain::skill::{Category, normalise_code};
use crate::domain::team::{TeamChange, Tier};
use crate::domain::values::{LanguageTag, code, email};
use crate::error::{Error, finish};

fn number<E: TryFrom<i32>>(v: &mut FieldViolations, field: &str, n: i32) -> Option<E> {
    enum_value::<E>(v, field, n)
}

fn role(v: &mut FieldViolations, field: &str, n: i32) -> Option<StaffRole> {
    number::<pb::AgentRole>(v, field, n).and_then(|r| StaffRole::from_number(r as i64))
}

fn roles(v: &mut FieldViolations, field: &str, given: &[i32]) -> Vec<StaffRole> {
    if given.is_empty() {
        v.add(field, "at least one role is required");
    }
    let mut roles = Vec::new();
    for (i, n) in given.iter().enumerate() {
        let item = format!("{field}[{i}]");
        if *n == 0 {
            v.add(item, "is required");
        } else if let Some(role) = role(v, &item, *n) {
            if roles.contains(&role) {
                v.add(item, "is listed twice");
            } else {
                roles.push(role);
            }
        }
    }
    roles
}

fn languages(v: &mut FieldViolations, field: &str, given: &[String]) -> Vec<LanguageTag> {
    if given.len() > 20 {
        v.add(field, "at most 20 languages");
    }
    let mut tags = Vec::new();
    for (i, tag) in given.iter().enumerate() {
        let item = format!("{field}[{i}]");
        if let Some(tag) = v.check(&item, LanguageTag::parse(tag)) {
            if tags.contains(&tag) {
                v.add(item, "is listed twice");
            } else {
                tags.push(tag);
            }
        }
    }
    tags
}

fn level(v: &mut FieldViolations, field: &str, level: i32) -> Option<u8> {
    if (1..=5).contains(&level) {
        Some(level as u8)
    } else {
        v.add(field, "must be 1 to 5");
        None
    }
}

fn skills(v: &mut FieldViolations, field: &str, given: &[pb::AgentSkill]) -> Vec<HeldSkill> {
    if given.len() > 100 {
        v.add(field, "at most 100 skills");
    }
    let mut skills: Vec<HeldSkill> = Vec::new();
    for (i, skill) in given.iter().enumerate() {
        let id = resource_id(v, &format!("{field}[{i}].skill"), &skill.skill, "skills");
        let lvl = level(v, &format!("{field}[{i}].level"), skill.level);
        if let (Some(id), Some(lvl)) = (id, lvl) {
            if skills.iter().any(|s| s.skill == id) {
                v.add(format!("{field}[{i}].skill"), "is listed twice");
            } else {
                skills.push(HeldSkill {
                    skill: id,
                    level: lvl,
                });
            }
        }
    }
    skills
}

fn region(v: &mut FieldViolations, field: &str, value: &str) -> Option<String> {
    v.check(field, code(value, 32))
}

fn optional_code(v: &mut FieldViolations, field: &str, value: &str, max: usize) -> Option<String> {
    if value.trim().is_empty() {
        None
    } else {
        v.check(field, code(value, max))
    }
}

fn capacity(v: &mut FieldViolations, field: &str, value: i32, default: bool) -> Option<i64> {
    match value {
        0 if default => Some(DEFAULT_CAPACITY),
        1..=100 => Some(i64::from(value)),
        _ => {
            v.add(field, "must be 1 to 100");
            None
        }
    }
}

fn optional_id(v: &mut FieldViolations, field: &str, name: &str, collection: &str) -> Option<Uuid> {
    if name.is_empty() {
        None
    } else {
        resource_id(v, field, name, collection)
    }
}

fn identity(v: &mut FieldViolations, field: &str, value: &str) -> Option<String> {
    optional_text(v, field, value, 255)
}

fn page(v: &mut FieldViolations, size: i32, token: &str, bound: &[&str]) -> Page {
    Page::parse(v, size, token, bound)
}

fn filter(v: &mut FieldViolations, text: &str) -> Filter {
    v.check("filter", Filter::parse(text)).unwrap_or_default()
}

fn equality(v: &mut FieldViolations, field: &str, op: Comparison) -> bool {
    if op == Comparison::Eq {
        true
    } else {
        v.add("filter", format!("`{field}` accepts only `=`"));
        false
    }
}

fn quoted_id(
    v: &mut FieldViolations,
    field: &str,
    value: &aftercare_platform::query::Value,
    collection: &str,
) -> Option<Uuid> {
    match value.quoted() {
        Ok(text) => {
            let mut inner = FieldViolations::new();
            let id = resource_id(&mut inner, "filter", text, collection);
            if id.is_none() {
                v.add(
                    "filter",
                    format!("`{field}` must be a `{collection}/{{id}}` name"),
                );
            }
            id
        }
        Err(err) => {
            v.add("filter", format!("`{field}`: {err}"));
            None
        }
    }
}

fn enum_word<E>(
    v: &mut FieldViolations,
    field: &str,
    word: &str,
    from: fn(&str) -> Option<E>,
) -> Option<E> {
    let found = from(word);
    if found.is_none() {
        v.add("filter", format!("`{field}` has no value `{word}`"));
    }
    found
}

fn version(v: &mut FieldViolations, field: &str, etag: &str) -> i64 {
    Etag::parse(v, field, etag).unwrap_or(-1)
}

/// A create's optional request id and the fingerprint of what it asks.
#[derive(Debug, Clone)]
pub struct Idempotency {
    /// The request id.
    pub request_id: Option<String>,
    /// A hash of the request without its id.
    pub fingerprint: String,
}

fn idempotency(v: &mut FieldViolations, id: &str, what: &impl std::fmt::Debug) -> Idempotency {
    Idempotency {
        request_id: request_id(v, "request_id", id),
        fingerprint: format!(
            "{:016x}",
            aftercare_platform::request::fingerprint(&[&format!("{what:?}")])
        ),
    }
}

// ---- agents -------------------------------------------------------------------------

/// `CreateAgent`.
#[derive(Debug)]
pub struct CreateAgent {
    /// The profile.
    pub profile: Profile,
    /// Idempotency.
    pub idempotency: Idempotency,
}

impl TryFrom<pb::CreateAgentRequest> for CreateAgent {
    type Error = Error;
    fn try_from(r: pb::CreateAgentRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let a = r.agent.unwrap_or_default();
        let display_name = required_text(&mut v, "agent.display_name", &a.display_name, 200);
        let email = v.check("agent.email", email(&a.email));
        let identity_subject = identity(&mut v, "agent.identity_subject", &a.identity_subject);
        let roles = roles(&mut v, "agent.roles", &a.roles);
        let region = region(&mut v, "agent.region", &a.region);
        let service_centre = optional_code(&mut v, "agent.service_centre", &a.service_centre, 64);
        let languages = languages(&mut v, "agent.languages", &a.languages);
        let skills = skills(&mut v, "agent.skills", &a.skills);
        let capacity = capacity(
            &mut v,
            "agent.max_concurrent_tickets",
            a.max_concurrent_tickets,
            true,
        );
        let shift = optional_id(&mut v, "agent.shift", &a.shift, "shifts");
        let state = number::<pb::AgentState>(&mut v, "agent.state", a.state)
            .and_then(|s| AgentState::from_number(s as i64))
            .unwrap_or(AgentState::Active);
        let profile = Profile {
            display_name: display_name.unwrap_or_default(),
            email: email.unwrap_or_default(),
            identity_subject,
            roles,
            region: region.unwrap_or_default(),
            service_centre,
            languages,
            skills,
            max_concurrent_tickets: capacity.unwrap_or(DEFAULT_CAPACITY),
            shift,
            state,
        };
        let idempotency = idempotency(&mut v, &r.request_id, &profile);
        finish(v)?;
        Ok(Self {
            profile,
            idempotency,
        })
    }
}

/// A resource by name.
#[derive(Debug, Clone, Copy)]
pub struct ByName(pub Uuid);

/// Parses a `name` of `collection`.
pub fn by_name(name: &str, collection: &str) -> Result<ByName, Error> {
    let mut v = FieldViolations::new();
    let id = resource_id(&mut v, "name", name, collection);
    finish(v)?;
    Ok(ByName(id.unwrap_or_default()))
}

/// A resource by name with its etag.
#[derive(Debug, Clone, Copy)]
pub struct Delete {
    /// Id.
    pub id: Uuid,
    /// Version.
    pub version: i64,
}

/// Parses `name` + `etag`.
pub fn delete(name: &str, etag: &str, collection: &str) -> Result<Delete, Error> {
    let mut v = FieldViolations::new();
    let id = resource_id(&mut v, "name", name, collection);
    let version = version(&mut v, "etag", etag);
    finish(v)?;
    Ok(Delete {
        id: id.unwrap_or_default(),
        version,
    })
}

/// `ListAgents`.
#[derive(Debug)]
pub struct ListAgents {
    /// Conditions.
    pub filters: Vec<AgentFilter>,
    /// Text.
    pub text: Option<String>,
    /// Deleted too.
    pub show_deleted: bool,
    /// Page.
    pub page: Page,
}

fn role_word(word: &str) -> Option<StaffRole> {
    pb::AgentRole::from_str_name(&format!("AGENT_ROLE_{word}"))
        .or_else(|| pb::AgentRole::from_str_name(word))
        .and_then(|r| StaffRole::from_number(r as i64))
}

fn presence_word(word: &str) -> Option<PresenceState> {
    pb::PresenceState::from_str_name(&format!("PRESENCE_STATE_{word}"))
        .or_else(|| pb::PresenceState::from_str_name(word))
        .and_then(|r| PresenceState::from_number(r as i64))
}

fn state_word(word: &str) -> Option<AgentState> {
    pb::AgentState::from_str_name(&format!("AGENT_STATE_{word}"))
        .or_else(|| pb::AgentState::from_str_name(word))
        .and_then(|r| AgentState::from_number(r as i64))
}

fn tier_word(word: &str) -> Option<Tier> {
    pb::EscalationTier::from_str_name(&format!("ESCALATION_TIER_{word}"))
        .or_else(|| pb::EscalationTier::from_str_name(word))
        .and_then(|r| Tier::from_number(r as i64))
}

fn category_word(word: &str) -> Option<Category> {
    pb::SkillCategory::from_str_name(&format!("SKILL_CATEGORY_{word}"))
        .or_else(|| pb::SkillCategory::from_str_name(word))
        .and_then(|r| Category::from_number(r as i64))
}

fn quoted_text(
    v: &mut FieldViolations,
    field: &str,
    value: &aftercare_platform::query::Value,
) -> Option<String> {
    match value.quoted() {
        Ok(text) => Some(text.to_owned()),
        Err(err) => {
            v.add("filter", format!("`{field}`: {err}"));
            None
        }
    }
}

fn search(v: &mut FieldViolations, text: &str) -> Option<String> {
    let text = optional_text(v, "query", text, 200)?;
    if text.chars().count() < 2 {
        v.add("query", "must be 2 to 200 characters");
        return None;
    }
    Some(text)
}

impl TryFrom<pb::ListAgentsRequest> for ListAgents {
    type Error = Error;
    fn try_from(r: pb::ListAgentsRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let show = r.show_deleted.to_string();
        let page = page(
            &mut v,
            r.page_size,
            &r.page_token,
            &[&r.filter, &r.query, &show],
        );
        let mut filters = Vec::new();
        for c in filter(&mut v, &r.filter).conditions {
            let field = c.field.as_str();
            let parsed = match field {
                "create_time" => v
                    .check("filter", c.value.time())
                    .map(|t| AgentFilter::CreateTime(c.op, t)),
                "team" | "role" | "region" | "service_centre" | "skill" | "language"
                | "presence" | "state" | "shift" => {
                    if !equality(&mut v, field, c.op) {
                        continue;
                    }
                    let word = c.value.text();
                    match field {
                        "team" => {
                            quoted_id(&mut v, field, &c.value, "teams").map(AgentFilter::Team)
                        }
                        "skill" => {
                            quoted_id(&mut v, field, &c.value, "skills").map(AgentFilter::Skill)
                        }
                        "shift" => {
                            quoted_id(&mut v, field, &c.value, "shifts").map(AgentFilter::Shift)
                        }
                        "role" => enum_word(&mut v, field, word, role_word).map(AgentFilter::Role),
                        "presence" => {
                            enum_word(&mut v, field, word, presence_word).map(AgentFilter::Presence)
                        }
                        "state" => {
                            enum_word(&mut v, field, word, state_word).map(AgentFilter::State)
                        }
                        "region" => quoted_text(&mut v, field, &c.value).map(AgentFilter::Region),
                        "service_centre" => {
                            quoted_text(&mut v, field, &c.value).map(AgentFilter::ServiceCentre)
                        }
                        _ => quoted_text(&mut v, field, &c.value).and_then(|t| {
                            v.check("filter", LanguageTag::parse(&t))
                                .map(AgentFilter::Language)
                        }),
                    }
                }
                other => {
                    v.add("filter", format!("unknown field `{other}`; accepted: team, role, region, service_centre, skill, language, presence, state, shift, create_time"));
                    None
                }
            };
            filters.extend(parsed);
        }
        let text = search(&mut v, &r.query);
        finish(v)?;
        Ok(Self {
            filters,
            text,
            show_deleted: r.show_deleted,
            page,
        })
    }
}

/// `UpdateAgent`.
#[derive(Debug)]
pub struct UpdateAgent {
    /// Id.
    pub id: Uuid,
    /// Version.
    pub version: i64,
    /// Changes.
    pub changes: Vec<Change>,
}

const AGENT_FIELDS: &[&str] = &[
    "display_name",
    "email",
    "identity_subject",
    "roles",
    "region",
    "service_centre",
    "languages",
    "skills",
    "max_concurrent_tickets",
    "shift",
    "state",
];

impl TryFrom<pb::UpdateAgentRequest> for UpdateAgent {
    type Error = Error;
    fn try_from(r: pb::UpdateAgentRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let a = r.agent.unwrap_or_default();
        let id = resource_id(&mut v, "agent.name", &a.name, "agents");
        let version = version(&mut v, "agent.etag", &a.etag);
        let mut changes = Vec::new();
        for path in update_paths(&mut v, r.update_mask.as_ref(), AGENT_FIELDS) {
            let field = format!("agent.{path}");
            let change = match path {
                "display_name" => {
                    required_text(&mut v, &field, &a.display_name, 200).map(Change::DisplayName)
                }
                "email" => v.check(&field, email(&a.email)).map(Change::Email),
                "identity_subject" => Some(Change::IdentitySubject(identity(
                    &mut v,
                    &field,
                    &a.identity_subject,
                ))),
                "roles" => Some(Change::Roles(roles(&mut v, &field, &a.roles))),
                "region" => region(&mut v, &field, &a.region).map(Change::Region),
                "service_centre" => Some(Change::ServiceCentre(optional_code(
                    &mut v,
                    &field,
                    &a.service_centre,
                    64,
                ))),
                "languages" => Some(Change::Languages(languages(&mut v, &field, &a.languages))),
                "skills" => Some(Change::Skills(skills(&mut v, &field, &a.skills))),
                "max_concurrent_tickets" => {
                    capacity(&mut v, &field, a.max_concurrent_tickets, false).map(Change::Capacity)
                }
                "shift" => Some(Change::Shift(optional_id(
                    &mut v, &field, &a.shift, "shifts",
                ))),
                _ => required_enum::<pb::AgentState>(&mut v, &field, a.state)
                    .and_then(|s| AgentState::from_number(s as i64))
                    .map(Change::State),
            };
            changes.extend(change);
        }
        finish(v)?;
        Ok(Self {
            id: id.unwrap_or_default(),
            version,
            changes,
        })
    }
}

// ---- teams --------------------------------------------------------------------------

/// A team's fields on create.
#[derive(Debug, Clone)]
pub struct TeamFields {
    /// Name.
    pub display_name: String,
    /// Description.
    pub description: Option<String>,
    /// Region.
    pub region: String,
    /// Centre.
    pub service_centre: Option<String>,
    /// Lead.
    pub lead: Option<Uuid>,
    /// Tier.
    pub tier: Tier,
}

/// `CreateTeam`.
#[derive(Debug)]
pub struct CreateTeam {
    /// Fields.
    pub team: TeamFields,
    /// Idempotency.
    pub idempotency: Idempotency,
}

fn tier(v: &mut FieldViolations, field: &str, n: i32) -> Option<Tier> {
    number::<pb::EscalationTier>(v, field, n).and_then(|t| Tier::from_number(t as i64))
}

impl TryFrom<pb::CreateTeamRequest> for CreateTeam {
    type Error = Error;
    fn try_from(r: pb::CreateTeamRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let t = r.team.unwrap_or_default();
        let team = TeamFields {
            display_name: required_text(&mut v, "team.display_name", &t.display_name, 200)
                .unwrap_or_default(),
            description: optional_text(&mut v, "team.description", &t.description, 2000),
            region: region(&mut v, "team.region", &t.region).unwrap_or_default(),
            service_centre: optional_code(&mut v, "team.service_centre", &t.service_centre, 64),
            lead: optional_id(&mut v, "team.lead", &t.lead, "agents"),
            tier: tier(&mut v, "team.escalation_tier", t.escalation_tier)
                .unwrap_or(Tier::FirstLine),
        };
        if team.lead.is_some() {
            v.add(
                "team.lead",
                "a new team has no members: add the lead with AddTeamMember, then set `lead`",
            );
        }
        let idempotency = idempotency(&mut v, &r.request_id, &team);
        finish(v)?;
        Ok(Self { team, idempotency })
    }
}

/// `ListTeams`.
#[derive(Debug)]
pub struct ListTeams {
    /// Region.
    pub region: Option<String>,
    /// Centre.
    pub service_centre: Option<String>,
    /// Lead.
    pub lead: Option<Uuid>,
    /// Tier.
    pub tier: Option<Tier>,
    /// Member.
    pub member: Option<Uuid>,
    /// Page.
    pub page: Page,
}

impl TryFrom<pb::ListTeamsRequest> for ListTeams {
    type Error = Error;
    fn try_from(r: pb::ListTeamsRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let page = page(&mut v, r.page_size, &r.page_token, &[&r.filter]);
        let mut q = ListTeams {
            region: None,
            service_centre: None,
            lead: None,
            tier: None,
            member: None,
            page,
        };
        for c in filter(&mut v, &r.filter).conditions {
            let field = c.field.as_str();
            if !matches!(
                field,
                "region" | "service_centre" | "lead" | "escalation_tier" | "member"
            ) {
                v.add("filter", format!("unknown field `{field}`; accepted: region, service_centre, lead, escalation_tier, member"));
                continue;
            }
            if !equality(&mut v, field, c.op) {
                continue;
            }
            match field {
                "region" => q.region = quoted_text(&mut v, field, &c.value),
                "service_centre" => q.service_centre = quoted_text(&mut v, field, &c.value),
                "lead" => q.lead = quoted_id(&mut v, field, &c.value, "agents"),
                "member" => q.member = quoted_id(&mut v, field, &c.value, "agents"),
                _ => q.tier = enum_word(&mut v, field, c.value.text(), tier_word),
            }
        }
        finish(v)?;
        Ok(q)
    }
}

/// `UpdateTeam`.
#[derive(Debug)]
pub struct UpdateTeam {
    /// Id.
    pub id: Uuid,
    /// Version.
    pub version: i64,
    /// Changes.
    pub changes: Vec<TeamChange>,
}

const TEAM_FIELDS: &[&str] = &[
    "display_name",
    "description",
    "region",
    "service_centre",
    "lead",
    "escalation_tier",
];

impl TryFrom<pb::UpdateTeamRequest> for UpdateTeam {
    type Error = Error;
    fn try_from(r: pb::UpdateTeamRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let t = r.team.unwrap_or_default();
        let id = resource_id(&mut v, "team.name", &t.name, "teams");
        let version = version(&mut v, "team.etag", &t.etag);
        let mut changes = Vec::new();
        for path in update_paths(&mut v, r.update_mask.as_ref(), TEAM_FIELDS) {
            let field = format!("team.{path}");
            let change = match path {
                "display_name" => {
                    required_text(&mut v, &field, &t.display_name, 200).map(TeamChange::DisplayName)
                }
                "description" => Some(TeamChange::Description(optional_text(
                    &mut v,
                    &field,
                    &t.description,
                    2000,
                ))),
                "region" => region(&mut v, &field, &t.region).map(TeamChange::Region),
                "service_centre" => Some(TeamChange::ServiceCentre(optional_code(
                    &mut v,
                    &field,
                    &t.service_centre,
                    64,
                ))),
                "lead" => Some(TeamChange::Lead(optional_id(
                    &mut v, &field, &t.lead, "agents",
                ))),
                _ => {
                    if t.escalation_tier == 0 {
                        v.add(field.clone(), "is required");
                    }
                    tier(&mut v, &field, t.escalation_tier).map(TeamChange::Tier)
                }
            };
            changes.extend(change);
        }
        finish(v)?;
        Ok(Self {
            id: id.unwrap_or_default(),
            version,
            changes,
        })
    }
}

/// `AddTeamMember` / `RemoveTeamMember`.
#[derive(Debug, Clone, Copy)]
pub struct Membership {
    /// Team.
    pub team: Uuid,
    /// Agent.
    pub agent: Uuid,
}

/// Parses a team and an agent.
pub fn membership(team: &str, agent: &str) -> Result<Membership, Error> {
    let mut v = FieldViolations::new();
    let team = resource_id(&mut v, "team", team, "teams");
    let agent = resource_id(&mut v, "agent", agent, "agents");
    finish(v)?;
    Ok(Membership {
        team: team.unwrap_or_default(),
        agent: agent.unwrap_or_default(),
    })
}

// ---- skills -------------------------------------------------------------------------

/// `CreateSkill`.
#[derive(Debug)]
pub struct CreateSkill {
    /// Name.
    pub display_name: String,
    /// Category.
    pub category: Category,
    /// Code.
    pub code: String,
    /// Description.
    pub description: Option<String>,
    /// Idempotency.
    pub idempotency: Idempotency,
}

impl TryFrom<pb::CreateSkillRequest> for CreateSkill {
    type Error = Error;
    fn try_from(r: pb::CreateSkillRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let s = r.skill.unwrap_or_default();
        let display_name = required_text(&mut v, "skill.display_name", &s.display_name, 200);
        let category = required_enum::<pb::SkillCategory>(&mut v, "skill.category", s.category)
            .and_then(|c| Category::from_number(c as i64));
        let code = category.and_then(|c| v.check("skill.code", normalise_code(c, &s.code)));
        if category.is_none() && s.code.trim().is_empty() {
            v.add("skill.code", "is required");
        }
        let description = optional_text(&mut v, "skill.description", &s.description, 2000);
        let fields = (&display_name, category, &code, &description);
        let idempotency = idempotency(&mut v, &r.request_id, &fields);
        finish(v)?;
        Ok(Self {
            display_name: display_name.unwrap_or_default(),
            category: category.unwrap_or(Category::Other),
            code: code.unwrap_or_default(),
            description,
            idempotency,
        })
    }
}

/// `ListSkills`.
#[derive(Debug)]
pub struct ListSkills {
    /// Category.
    pub category: Option<Category>,
    /// Code.
    pub code: Option<String>,
    /// Page.
    pub page: Page,
}

impl TryFrom<pb::ListSkillsRequest> for ListSkills {
    type Error = Error;
    fn try_from(r: pb::ListSkillsRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let page = page(&mut v, r.page_size, &r.page_token, &[&r.filter]);
        let mut q = ListSkills {
            category: None,
            code: None,
            page,
        };
        for c in filter(&mut v, &r.filter).conditions {
            let field = c.field.as_str();
            match field {
                "category" if equality(&mut v, field, c.op) => {
                    q.category = enum_word(&mut v, field, c.value.text(), category_word);
                }
                "code" if equality(&mut v, field, c.op) => {
                    q.code = quoted_text(&mut v, field, &c.value);
                }
                "category" | "code" => {}
                other => v.add(
                    "filter",
                    format!("unknown field `{other}`; accepted: category, code"),
                ),
            }
        }
        finish(v)?;
        Ok(q)
    }
}

/// `UpdateSkill`.
#[derive(Debug)]
pub struct UpdateSkill {
    /// Id.
    pub id: Uuid,
    /// Version.
    pub version: i64,
    /// New name.
    pub display_name: Option<String>,
    /// New description (`Some(None)` clears).
    pub description: Option<Option<String>>,
}

impl TryFrom<pb::UpdateSkillRequest> for UpdateSkill {
    type Error = Error;
    fn try_from(r: pb::UpdateSkillRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let s = r.skill.unwrap_or_default();
        let id = resource_id(&mut v, "skill.name", &s.name, "skills");
        let version = version(&mut v, "skill.etag", &s.etag);
        let mut q = UpdateSkill {
            id: id.unwrap_or_default(),
            version,
            display_name: None,
            description: None,
        };
        for path in update_paths(
            &mut v,
            r.update_mask.as_ref(),
            &["display_name", "description"],
        ) {
            if path == "display_name" {
                q.display_name = required_text(&mut v, "skill.display_name", &s.display_name, 200);
            } else {
                q.description = Some(optional_text(
                    &mut v,
                    "skill.description",
                    &s.description,
                    2000,
                ));
            }
        }
        finish(v)?;
        Ok(q)
    }
}

// ---- shifts -------------------------------------------------------------------------

/// A shift's fields.
#[derive(Debug, Clone)]
pub struct ShiftFields {
    /// Name.
    pub display_name: String,
    /// Zone.
    pub time_zone: chrono_tz::Tz,
    /// Region.
    pub region: Option<String>,
    /// Weekly intervals.
    pub intervals: Vec<Interval>,
    /// Exceptions.
    pub exceptions: Vec<Exception>,
}

fn time_zone(v: &mut FieldViolations, field: &str, zone: &str) -> Option<chrono_tz::Tz> {
    if zone.trim().is_empty() {
        v.add(field, "is required");
        return None;
    }
    v.check(
        field,
        zone.trim()
            .parse::<chrono_tz::Tz>()
            .map_err(|_| format!("`{zone}` is not an IANA time zone (e.g. `Asia/Shanghai`)")),
    )
}

fn interval(
    v: &mut FieldViolations,
    field: &str,
    i: &pb::ShiftInterval,
    weekly: bool,
) -> Option<Interval> {
    let weekday = if weekly {
        if i.weekday == 0 {
            v.add(format!("{field}.weekday"), "is required");
            None
        } else {
            number::<pb::ShiftWeekday>(v, &format!("{field}.weekday"), i.weekday).map(|d| d as u8)
        }
    } else {
        Some(0)
    };
    let start = if (0..1440).contains(&i.start_minute) {
        Some(i.start_minute as u32)
    } else {
        v.add(format!("{field}.start_minute"), "must be 0 to 1439");
        None
    };
    let minutes = match &i.duration {
        Some(d) if d.nanos == 0 && d.seconds % 60 == 0 && (60..=86_400).contains(&d.seconds) => {
            Some((d.seconds / 60) as u32)
        }
        Some(_) => {
            v.add(
                format!("{field}.duration"),
                "must be whole minutes from 1 minute to 24 hours",
            );
            None
        }
        None => {
            v.add(format!("{field}.duration"), "is required");
            None
        }
    };
    Some(Interval {
        weekday: weekday?,
        start_minute: start?,
        minutes: minutes?,
    })
}

fn intervals(v: &mut FieldViolations, field: &str, given: &[pb::ShiftInterval]) -> Vec<Interval> {
    if given.len() > 50 {
        v.add(field, "at most 50 intervals");
    }
    let parsed: Vec<Interval> = given
        .iter()
        .enumerate()
        .filter_map(|(n, i)| interval(v, &format!("{field}[{n}]"), i, true))
        .collect();
    if parsed.len() == given.len()
        && let Err(err) = check_intervals(&parsed)
    {
        v.add(field, err);
    }
    parsed
}

fn exceptions(
    v: &mut FieldViolations,
    field: &str,
    given: &[pb::ShiftException],
) -> Vec<Exception> {
    if given.len() > 500 {
        v.add(field, "at most 500 exceptions");
    }
    let mut out: Vec<Exception> = Vec::new();
    for (n, e) in given.iter().enumerate() {
        let item = format!("{field}[{n}]");
        let date = v.check(
            &format!("{item}.date"),
            NaiveDate::parse_from_str(&e.date, "%Y-%m-%d")
                .map_err(|_| "must be a date `YYYY-MM-DD`"),
        );
        let description = optional_text(v, &format!("{item}.description"), &e.description, 200);
        let list: Vec<Interval> = e
            .intervals
            .iter()
            .enumerate()
            .filter_map(|(k, i)| interval(v, &format!("{item}.intervals[{k}]"), i, false))
            .collect();
        if let Some(date) = date {
            if out.iter().any(|x| x.date == date) {
                v.add(format!("{item}.date"), "is listed twice");
            } else {
                out.push(Exception {
                    date,
                    description,
                    intervals: list,
                });
            }
        }
    }
    out
}

/// `CreateShift`.
#[derive(Debug)]
pub struct CreateShift {
    /// Fields.
    pub shift: ShiftFields,
    /// Idempotency.
    pub idempotency: Idempotency,
}

impl TryFrom<pb::CreateShiftRequest> for CreateShift {
    type Error = Error;
    fn try_from(r: pb::CreateShiftRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let s = r.shift.unwrap_or_default();
        let display_name = required_text(&mut v, "shift.display_name", &s.display_name, 200);
        let zone = time_zone(&mut v, "shift.time_zone", &s.time_zone);
        let region = optional_code(&mut v, "shift.region", &s.region, 32);
        let intervals = intervals(&mut v, "shift.intervals", &s.intervals);
        let exceptions = exceptions(&mut v, "shift.exceptions", &s.exceptions);
        let shift = ShiftFields {
            display_name: display_name.unwrap_or_default(),
            time_zone: zone.unwrap_or(chrono_tz::UTC),
            region,
            intervals,
            exceptions,
        };
        let idempotency = idempotency(&mut v, &r.request_id, &shift);
        finish(v)?;
        Ok(Self { shift, idempotency })
    }
}

/// `ListShifts`.
#[derive(Debug)]
pub struct ListShifts {
    /// Region.
    pub region: Option<String>,
    /// Zone.
    pub time_zone: Option<String>,
    /// Page.
    pub page: Page,
}

impl TryFrom<pb::ListShiftsRequest> for ListShifts {
    type Error = Error;
    fn try_from(r: pb::ListShiftsRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let page = page(&mut v, r.page_size, &r.page_token, &[&r.filter]);
        let mut q = ListShifts {
            region: None,
            time_zone: None,
            page,
        };
        for c in filter(&mut v, &r.filter).conditions {
            let field = c.field.as_str();
            match field {
                "region" if equality(&mut v, field, c.op) => {
                    q.region = quoted_text(&mut v, field, &c.value)
                }
                "time_zone" if equality(&mut v, field, c.op) => {
                    q.time_zone = quoted_text(&mut v, field, &c.value)
                }
                "region" | "time_zone" => {}
                other => v.add(
                    "filter",
                    format!("unknown field `{other}`; accepted: region, time_zone"),
                ),
            }
        }
        finish(v)?;
        Ok(q)
    }
}

pub use crate::domain::shift::ShiftChange;

/// `UpdateShift`.
#[derive(Debug)]
pub struct UpdateShift {
    /// Id.
    pub id: Uuid,
    /// Version.
    pub version: i64,
    /// Changes.
    pub changes: Vec<ShiftChange>,
}

impl TryFrom<pb::UpdateShiftRequest> for UpdateShift {
    type Error = Error;
    fn try_from(r: pb::UpdateShiftRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let s = r.shift.unwrap_or_default();
        let id = resource_id(&mut v, "shift.name", &s.name, "shifts");
        let version = version(&mut v, "shift.etag", &s.etag);
        let mut changes = Vec::new();
        let fields = [
            "display_name",
            "time_zone",
            "region",
            "intervals",
            "exceptions",
        ];
        for path in update_paths(&mut v, r.update_mask.as_ref(), &fields) {
            let field = format!("shift.{path}");
            let change = match path {
                "display_name" => required_text(&mut v, &field, &s.display_name, 200)
                    .map(ShiftChange::DisplayName),
                "time_zone" => time_zone(&mut v, &field, &s.time_zone).map(ShiftChange::TimeZone),
                "region" => Some(ShiftChange::Region(optional_code(
                    &mut v, &field, &s.region, 32,
                ))),
                "intervals" => Some(ShiftChange::Intervals(intervals(
                    &mut v,
                    &field,
                    &s.intervals,
                ))),
                _ => Some(ShiftChange::Exceptions(exceptions(
                    &mut v,
                    &field,
                    &s.exceptions,
                ))),
            };
            changes.extend(change);
        }
        finish(v)?;
        Ok(Self {
            id: id.unwrap_or_default(),
            version,
            changes,
        })
    }
}

// ---- presence -----------------------------------------------------------------------

/// Parses `agents/{id}/presence`.
pub fn presence_name(v: &mut FieldViolations, name: &str) -> Option<Uuid> {
    match name.strip_suffix("/presence") {
        Some(agent) => {
            let mut inner = FieldViolations::new();
            let id = resource_id(&mut inner, "name", agent, "agents");
            if id.is_none() {
                v.add("name", "must be a resource name `agents/{id}/presence`");
            }
            id
        }
        None => {
            if name.is_empty() {
                v.add("name", "is required");
            } else {
                v.add("name", "must be a resource name `agents/{id}/presence`");
            }
            None
        }
    }
}

/// `SetPresence`.
#[derive(Debug)]
pub struct SetPresence {
    /// Agent.
    pub agent: Uuid,
    /// State.
    pub state: PresenceState,
    /// Message.
    pub status_message: String,
    /// Load override.
    pub active_tickets: Option<i64>,
}

impl TryFrom<pb::SetPresenceRequest> for SetPresence {
    type Error = Error;
    fn try_from(r: pb::SetPresenceRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let agent = presence_name(&mut v, &r.name);
        let state = required_enum::<pb::PresenceState>(&mut v, "state", r.state)
            .and_then(|s| PresenceState::from_number(s as i64));
        let status_message = optional_text(&mut v, "status_message", &r.status_message, 200);
        let active_tickets = match r.active_tickets {
            Some(n) if n < 0 => {
                v.add("active_tickets", "must not be negative");
                None
            }
            other => other.map(i64::from),
        };
        finish(v)?;
        Ok(Self {
            agent: agent.unwrap_or_default(),
            state: state.unwrap_or(PresenceState::Offline),
            status_message: status_message.unwrap_or_default(),
            active_tickets,
        })
    }
}

/// `WatchPresence`'s filter.
#[derive(Debug, Clone, Default)]
pub struct WatchPresence {
    /// Team.
    pub team: Option<Uuid>,
    /// Region.
    pub region: Option<String>,
    /// State after the change.
    pub state: Option<PresenceState>,
    /// One agent.
    pub agent: Option<Uuid>,
    /// Skip the snapshot.
    pub skip_snapshot: bool,
}

impl TryFrom<pb::WatchPresenceRequest> for WatchPresence {
    type Error = Error;
    fn try_from(r: pb::WatchPresenceRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let mut q = WatchPresence {
            skip_snapshot: r.skip_snapshot,
            ..Default::default()
        };
        for c in filter(&mut v, &r.filter).conditions {
            let field = c.field.as_str();
            if !matches!(field, "team" | "region" | "state" | "agent") {
                v.add(
                    "filter",
                    format!("unknown field `{field}`; accepted: team, region, state, agent"),
                );
                continue;
            }
            if !equality(&mut v, field, c.op) {
                continue;
            }
            match field {
                "team" => q.team = quoted_id(&mut v, field, &c.value, "teams"),
                "agent" => q.agent = quoted_id(&mut v, field, &c.value, "agents"),
                "region" => q.region = quoted_text(&mut v, field, &c.value),
                _ => q.state = enum_word(&mut v, field, c.value.text(), presence_word),
            }
        }
        finish(v)?;
        Ok(q)
    }
}

// ---- routing ------------------------------------------------------------------------

/// `RouteTicket`, before the catalogue resolves product line, kind and language skills.
#[derive(Debug)]
pub struct RouteTicket {
    /// The ticket, when routing a real one (the best agent is then held for it).
    pub ticket: Option<Uuid>,
    /// Kind code (upper case).
    pub kind: Option<String>,
    /// Product line code (lower case).
    pub product_line: Option<String>,
    /// Language.
    pub language: Option<LanguageTag>,
    /// Region.
    pub region: Option<String>,
    /// Priority.
    pub priority: Priority,
    /// Required skills with minimum levels.
    pub required: Vec<(Uuid, u8)>,
    /// Certification codes.
    pub certifications: Vec<String>,
    /// Excluded agents.
    pub exclude: Vec<Uuid>,
    /// Teams.
    pub teams: Vec<Uuid>,
    /// Tier.
    pub tier: Option<Tier>,
    /// Allowances.
    pub allow_other_regions: bool,
    /// Allowances.
    pub allow_off_shift: bool,
    /// Allowances.
    pub allow_over_capacity: bool,
    /// Candidates to return.
    pub max_candidates: usize,
}

impl TryFrom<pb::RouteTicketRequest> for RouteTicket {
    type Error = Error;
    fn try_from(r: pb::RouteTicketRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let ticket = optional_id(&mut v, "ticket", &r.ticket, "tickets");
        let kind = optional_text(&mut v, "kind", &r.kind, 64)
            .and_then(|k| v.check("kind", normalise_code(Category::TicketKind, &k)));
        let product_line = optional_text(&mut v, "product_line", &r.product_line, 64)
            .and_then(|k| v.check("product_line", normalise_code(Category::ProductLine, &k)));
        let language = optional_text(&mut v, "language", &r.language, 35)
            .and_then(|l| v.check("language", LanguageTag::parse(&l)));
        let region = optional_code(&mut v, "region", &r.region, 32);
        let priority = number::<pb::RoutingPriority>(&mut v, "priority", r.priority)
            .and_then(|p| Priority::from_number(p as i64))
            .unwrap_or(Priority::Normal);
        if r.required_skills.len() > 20 {
            v.add("required_skills", "at most 20");
        }
        let mut required: Vec<(Uuid, u8)> = Vec::new();
        for (i, s) in r.required_skills.iter().enumerate() {
            let id = resource_id(
                &mut v,
                &format!("required_skills[{i}].skill"),
                &s.skill,
                "skills",
            );
            let min = if s.min_level == 0 {
                Some(1)
            } else {
                level(
                    &mut v,
                    &format!("required_skills[{i}].min_level"),
                    s.min_level,
                )
            };
            if let (Some(id), Some(min)) = (id, min) {
                match required.iter_mut().find(|(s, _)| *s == id) {
                    Some(existing) => existing.1 = existing.1.max(min),
                    None => required.push((id, min)),
                }
            }
        }
        if r.required_certifications.len() > 20 {
            v.add("required_certifications", "at most 20");
        }
        let certifications: Vec<String> = r
            .required_certifications
            .iter()
            .enumerate()
            .filter_map(|(i, c)| v.check(&format!("required_certifications[{i}]"), code(c, 64)))
            .collect();
        if r.exclude_agents.len() > 100 {
            v.add("exclude_agents", "at most 100");
        }
        let exclude = r
            .exclude_agents
            .iter()
            .enumerate()
            .filter_map(|(i, a)| resource_id(&mut v, &format!("exclude_agents[{i}]"), a, "agents"))
            .collect();
        if r.teams.len() > 20 {
            v.add("teams", "at most 20");
        }
        let teams = r
            .teams
            .iter()
            .enumerate()
            .filter_map(|(i, t)| resource_id(&mut v, &format!("teams[{i}]"), t, "teams"))
            .collect();
        let tier = tier(&mut v, "escalation_tier", r.escalation_tier);
        let max_candidates = match r.max_candidates {
            0 => 5,
            n @ 1..=50 => n as usize,
            _ => {
                v.add("max_candidates", "must be 1 to 50");
                5
            }
        };
        finish(v)?;
        Ok(Self {
            ticket,
            kind,
            product_line,
            language,
            region,
            priority,
            required,
            certifications,
            exclude,
            teams,
            tier,
            allow_other_regions: r.allow_other_regions,
            allow_off_shift: r.allow_off_shift,
            allow_over_capacity: r.allow_over_capacity,
            max_candidates,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(err: Error) -> Vec<String> {
        match err {
            Error::Invalid(v) => v.violations().iter().map(|v| v.field.clone()).collect(),
            other => panic!("not invalid: {other:?}"),
        }
    }

    #[test]
    fn a_bad_agent_names_every_bad_field() {
        let request = pb::CreateAgentRequest {
            agent: Some(pb::Agent {
                display_name: " ".into(),
                email: "nope".into(),
                roles: vec![1, 1, 99],
                region: "EU West".into(),
                languages: vec!["chinese".into()],
                skills: vec![pb::AgentSkill {
                    skill: "skills/x".into(),
                    level: 9,
                }],
                max_concurrent_tickets: 101,
                shift: "teams/1".into(),
                ..Default::default()
            }),
            request_id: "retry-1".into(),
        };
        let got = fields(CreateAgent::try_from(request).unwrap_err());
        assert_eq!(
            got,
            [
                "agent.display_name",
                "agent.email",
                "agent.roles[1]",
                "agent.roles[2]",
                "agent.region",
                "agent.languages[0]",
                "agent.skills[0].skill",
                "agent.skills[0].level",
                "agent.max_concurrent_tickets",
                "agent.shift",
                "request_id",
            ]
        );
    }

    #[test]
    fn agent_filters_are_typed() {
        let ok = ListAgents::try_from(pb::ListAgentsRequest {
            filter: r#"role = TEAM_LEAD AND language = "zh" AND presence = AVAILABLE"#.into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(ok.filters.len(), 3);
        let bad = ListAgents::try_from(pb::ListAgentsRequest {
            filter: r#"role = CHEF AND colour = "red" AND region != "eu""#.into(),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(fields(bad).len(), 3);
    }

    #[test]
    fn shift_intervals_need_a_weekday_a_start_and_whole_minutes() {
        let request = pb::CreateShiftRequest {
            shift: Some(pb::Shift {
                display_name: "Early".into(),
                time_zone: "Mars/Olympus".into(),
                intervals: vec![pb::ShiftInterval {
                    weekday: 0,
                    start_minute: 1440,
                    duration: Some(prost_types::Duration {
                        seconds: 90,
                        nanos: 0,
                    }),
                }],
                exceptions: vec![pb::ShiftException {
                    date: "2026-02-30".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            request_id: String::new(),
        };
        assert_eq!(
            fields(CreateShift::try_from(request).unwrap_err()),
            [
                "shift.time_zone",
                "shift.intervals[0].weekday",
                "shift.intervals[0].start_minute",
                "shift.intervals[0].duration",
                "shift.exceptions[0].date",
            ]
        );
    }

    #[test]
    fn route_requests_are_bounded() {
        let request = pb::RouteTicketRequest {
            ticket: "ticket-1".into(),
            language: "klingon".into(),
            max_candidates: 51,
            required_skills: vec![pb::RequiredSkill {
                skill: "skills/1".into(),
                min_level: 6,
            }],
            ..Default::default()
        };
        assert_eq!(
            fields(RouteTicket::try_from(request).unwrap_err()),
            [
                "ticket",
                "language",
                "required_skills[0].skill",
                "required_skills[0].min_level",
                "max_candidates"
            ]
        );
    }
}

macro_rules! by_name_requests {
    ($($request:ident => $collection:literal),+ $(,)?) => {
        $(impl TryFrom<pb::$request> for ByName {
            type Error = Error;
            fn try_from(r: pb::$request) -> Result<Self, Error> {
                by_name(&r.name, $collection)
            }
        })+
    };
}

by_name_requests!(
    GetAgentRequest => "agents",
    GetTeamRequest => "teams",
    GetSkillRequest => "skills",
    GetShiftRequest => "shifts",
);

macro_rules! delete_requests {
    ($($request:ident => $collection:literal),+ $(,)?) => {
        $(impl TryFrom<pb::$request> for Delete {
            type Error = Error;
            fn try_from(r: pb::$request) -> Result<Self, Error> {
                delete(&r.name, &r.etag, $collection)
            }
        })+
    };
}

delete_requests!(
    DeleteAgentRequest => "agents",
    DeleteTeamRequest => "teams",
    DeleteSkillRequest => "skills",
    DeleteShiftRequest => "shifts",
);

impl TryFrom<pb::AddTeamMemberRequest> for Membership {
    type Error = Error;
    fn try_from(r: pb::AddTeamMemberRequest) -> Result<Self, Error> {
        membership(&r.team, &r.agent)
    }
}

impl TryFrom<pb::RemoveTeamMemberRequest> for Membership {
    type Error = Error;
    fn try_from(r: pb::RemoveTeamMemberRequest) -> Result<Self, Error> {
        membership(&r.team, &r.agent)
    }
}

impl TryFrom<pb::GetPresenceRequest> for ByName {
    type Error = Error;
    fn try_from(r: pb::GetPresenceRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let id = presence_name(&mut v, &r.name);
        finish(v)?;
        Ok(ByName(id.unwrap_or_default()))
    }
}

//! Routing: which agents may take a ticket (hard filters, in the contract's order) and how
//! well each fits (a score of 0 to 100), with the reasons.

use std::cmp::Ordering;
use std::collections::HashMap;

use uuid::Uuid;

use super::agent::numbered;
use super::team::Tier;
use super::values::LanguageTag;

numbered!(
    /// Urgency.
    Priority {
        /// Low.
        Low = 1,
        /// Normal.
        Normal = 2,
        /// High.
        High = 3,
        /// Urgent: capacity is ignored.
        Urgent = 4,
    }
);

numbered!(
    /// Why an agent is not a candidate, in the order the filters apply.
    Exclusion {
        /// In `exclude_agents`.
        Excluded = 1,
        /// Not available.
        NotAvailable = 2,
        /// Not in the teams or tier.
        Team = 3,
        /// Missing a skill or level.
        Skill = 4,
        /// Missing a certification.
        Certification = 5,
        /// Does not speak the language.
        Language = 6,
        /// Other region.
        Region = 7,
        /// Off shift.
        OffShift = 8,
        /// At capacity.
        AtCapacity = 9,
    }
);

numbered!(
    /// The factors of a score.
    Factor {
        /// Skills.
        Skill = 1,
        /// Certifications.
        Certification = 2,
        /// Language.
        Language = 3,
        /// Region.
        Region = 4,
        /// Shift.
        Shift = 5,
        /// Load.
        Load = 6,
    }
);

/// Where a region's tickets go when nobody eligible is on shift there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowTheSun {
    /// To whichever region has an eligible agent on shift (the default).
    AnyRegion,
    /// To these regions, in order.
    Regions(Vec<String>),
    /// Nowhere: the ticket waits in its queue.
    Queue,
}

/// A skill a ticket needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Need {
    /// The skill.
    pub skill: Uuid,
    /// Its name, for reasons.
    pub display_name: String,
    /// Minimum level, 1 to 5.
    pub min_level: u8,
}

/// What a ticket needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Route {
    /// Skills needed (the request's, the product line's and the kind's).
    pub needs: Vec<Need>,
    /// Certification codes needed.
    pub certifications: Vec<String>,
    /// The customer's language.
    pub language: Option<LanguageTag>,
    /// `LANGUAGE` skills of that language.
    pub language_skills: Vec<Uuid>,
    /// The handling region.
    pub region: Option<String>,
    /// Urgency.
    pub priority: Priority,
    /// Agents never proposed.
    pub exclude: Vec<Uuid>,
    /// Only members of these teams.
    pub teams: Vec<Uuid>,
    /// Only members of teams at this tier.
    pub tier: Option<Tier>,
    /// Other regions allowed (scored 0 on region).
    pub allow_other_regions: bool,
    /// Off-shift agents allowed.
    pub allow_off_shift: bool,
    /// Agents at capacity allowed.
    pub allow_over_capacity: bool,
    /// How many candidates to return.
    pub max_candidates: usize,
}

impl Route {
    /// Whether capacity is ignored (asked for, or urgent).
    pub fn ignores_capacity(&self) -> bool {
        self.allow_over_capacity || self.priority == Priority::Urgent
    }
}

/// An active certification, with the skills of the course that granted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldCertification {
    /// Code.
    pub code: String,
    /// Skills of the granting course (empty when recorded by hand).
    pub skills: Vec<Uuid>,
}

/// What routing knows of one agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routable {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub display_name: String,
    /// Region.
    pub region: String,
    /// Languages spoken.
    pub languages: Vec<LanguageTag>,
    /// Skills and levels.
    pub skills: HashMap<Uuid, u8>,
    /// Active, unexpired certifications.
    pub certifications: Vec<HeldCertification>,
    /// Teams with their tiers.
    pub teams: Vec<(Uuid, Tier)>,
    /// Presence is available (and the heartbeat fresh).
    pub available: bool,
    /// Current load.
    pub active_tickets: i64,
    /// Capacity.
    pub capacity: i64,
    /// On shift now.
    pub on_shift: bool,
    /// Last assignment.
    pub last_assign_time: Option<i64>,
}

/// One factor's points.
#[derive(Debug, Clone, PartialEq)]
pub struct Points {
    /// The factor.
    pub factor: Factor,
    /// Points scored.
    pub points: f64,
    /// The weight.
    pub max_points: f64,
    /// How.
    pub detail: String,
}

/// A candidate with its score.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The agent.
    pub agent: Routable,
    /// Total score.
    pub score: f64,
    /// Breakdown.
    pub factors: Vec<Points>,
    /// Reasons for people.
    pub reasons: Vec<String>,
}

/// The outcome: candidates best first (all of them; the caller truncates), and how many
/// agents each filter removed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    /// Candidates, best first.
    pub candidates: Vec<Candidate>,
    /// Agents removed per filter.
    pub exclusions: Vec<(Exclusion, i64)>,
}

impl Outcome {
    /// The candidate at `index` was held for the ticket: it goes first, its load counting
    /// the ticket.
    pub fn hold(&mut self, index: usize) {
        let mut chosen = self.candidates.remove(index);
        chosen.agent.active_tickets += 1;
        chosen.reasons.push("held for this ticket".into());
        self.candidates.insert(0, chosen);
    }

    /// A one-line summary of why nobody (or who) was found, for the queue.
    pub fn summary(&self) -> String {
        if self.exclusions.is_empty() {
            return "no active agent".into();
        }
        let parts: Vec<String> = self
            .exclusions
            .iter()
            .map(|(reason, count)| format!("{count} {}", reason_text(*reason)))
            .collect();
        format!("no eligible agent: {}", parts.join(", "))
    }
}

fn reason_text(reason: Exclusion) -> &'static str {
    match reason {
        Exclusion::Excluded => "excluded",
        Exclusion::NotAvailable => "not available",
        Exclusion::Team => "outside the teams or tier",
        Exclusion::Skill => "missing a skill",
        Exclusion::Certification => "missing a certification",
        Exclusion::Language => "not speaking the language",
        Exclusion::Region => "in another region",
        Exclusion::OffShift => "off shift",
        Exclusion::AtCapacity => "at capacity",
    }
}

/// The first filter `agent` fails, if any.
pub fn exclusion(route: &Route, agent: &Routable) -> Option<Exclusion> {
    if route.exclude.contains(&agent.id) {
        return Some(Exclusion::Excluded);
    }
    if !agent.available {
        return Some(Exclusion::NotAvailable);
    }
    let in_teams = route.teams.is_empty()
        || agent
            .teams
            .iter()
            .any(|(team, _)| route.teams.contains(team));
    let in_tier = route
        .tier
        .is_none_or(|tier| agent.teams.iter().any(|(_, t)| *t == tier));
    if !in_teams || !in_tier {
        return Some(Exclusion::Team);
    }
    if route.needs.iter().any(|need| {
        agent
            .skills
            .get(&need.skill)
            .is_none_or(|level| *level < need.min_level)
    }) {
        return Some(Exclusion::Skill);
    }
    if route
        .certifications
        .iter()
        .any(|code| !agent.certifications.iter().any(|c| &c.code == code))
    {
        return Some(Exclusion::Certification);
    }
    if let Some(language) = &route.language
        && !agent.languages.iter().any(|spoken| spoken.serves(language))
    {
        return Some(Exclusion::Language);
    }
    if let Some(region) = &route.region
        && !route.allow_other_regions
        && &agent.region != region
    {
        return Some(Exclusion::Region);
    }
    if !route.allow_off_shift && !agent.on_shift {
        return Some(Exclusion::OffShift);
    }
    if !route.ignores_capacity() && agent.active_tickets >= agent.capacity {
        return Some(Exclusion::AtCapacity);
    }
    None
}

/// The score of an eligible agent.
pub fn score(route: &Route, agent: &Routable) -> Candidate {
    let mut factors = Vec::with_capacity(6);
    let mut reasons = Vec::new();
    // SKILL: 35 × mean(level / 5) over the needed skills.
    let (skill_points, skill_detail) = if route.needs.is_empty() {
        (35.0, "no skill required".to_owned())
    } else {
        let levels: Vec<f64> = route
            .needs
            .iter()
            .map(|need| f64::from(*agent.skills.get(&need.skill).unwrap_or(&0)))
            .collect();
        for (need, level) in route.needs.iter().zip(&levels) {
            reasons.push(format!("skill {} level {level}", need.display_name));
        }
        let mean = levels.iter().sum::<f64>() / levels.len() as f64;
        (
            35.0 * mean / 5.0,
            format!("mean level {mean:.1} of {} skills", levels.len()),
        )
    };
    factors.push(points(Factor::Skill, skill_points, 35.0, skill_detail));
    // CERTIFICATION: 10 × the share of needed skills backed by a certification.
    let (cert_points, cert_detail) = if route.needs.is_empty() {
        (10.0, "no skill matched".to_owned())
    } else {
        let backed = route
            .needs
            .iter()
            .filter(|need| {
                agent
                    .certifications
                    .iter()
                    .any(|c| c.skills.contains(&need.skill))
            })
            .count();
        (
            10.0 * backed as f64 / route.needs.len() as f64,
            format!("{backed} of {} skills certified", route.needs.len()),
        )
    };
    for code in &route.certifications {
        reasons.push(format!("certified {code}"));
    }
    factors.push(points(
        Factor::Certification,
        cert_points,
        10.0,
        cert_detail,
    ));
    // LANGUAGE: a LANGUAGE skill's level, else an exact (15) or primary (10) tag match.
    let (language_points, language_detail) = match &route.language {
        None => (15.0, "no language given".to_owned()),
        Some(wanted) => {
            let level = route
                .language_skills
                .iter()
                .filter_map(|skill| agent.skills.get(skill))
                .max();
            if let Some(level) = level {
                reasons.push(format!("{} level {level}", wanted.as_str()));
                (
                    15.0 * f64::from(*level) / 5.0,
                    format!("language skill level {level}"),
                )
            } else if agent.languages.iter().any(|l| l == wanted) {
                reasons.push(format!("speaks {}", wanted.as_str()));
                (15.0, format!("speaks {}", wanted.as_str()))
            } else {
                reasons.push(format!("speaks {}", wanted.primary()));
                (10.0, format!("speaks {}", wanted.primary()))
            }
        }
    };
    factors.push(points(
        Factor::Language,
        language_points,
        15.0,
        language_detail,
    ));
    // REGION: 15 in the ticket's region (or none given).
    let in_region = route.region.as_ref().is_none_or(|r| *r == agent.region);
    if !in_region {
        reasons.push(format!("other region {}", agent.region));
    }
    factors.push(points(
        Factor::Region,
        if in_region { 15.0 } else { 0.0 },
        15.0,
        if in_region {
            format!("region {}", agent.region)
        } else {
            format!("other region {}", agent.region)
        },
    ));
    // SHIFT: 10 on shift.
    reasons.push(
        if agent.on_shift {
            "on shift"
        } else {
            "off shift"
        }
        .to_owned(),
    );
    factors.push(points(
        Factor::Shift,
        if agent.on_shift { 10.0 } else { 0.0 },
        10.0,
        if agent.on_shift {
            "on shift"
        } else {
            "off shift"
        }
        .to_owned(),
    ));
    // LOAD: 15 × (1 − load / capacity), 0 at or over capacity.
    let spare = if agent.capacity <= 0 {
        0.0
    } else {
        (1.0 - agent.active_tickets as f64 / agent.capacity as f64).max(0.0)
    };
    reasons.push(format!(
        "{} of {} tickets",
        agent.active_tickets, agent.capacity
    ));
    factors.push(points(
        Factor::Load,
        15.0 * spare,
        15.0,
        format!("{} of {} tickets", agent.active_tickets, agent.capacity),
    ));
    let score = factors.iter().map(|f| f.points).sum::<f64>();
    Candidate {
        agent: agent.clone(),
        score: (score * 100.0).round() / 100.0,
        factors,
        reasons,
    }
}

fn points(factor: Factor, value: f64, max: f64, detail: String) -> Points {
    Points {
        factor,
        points: (value * 100.0).round() / 100.0,
        max_points: max,
        detail,
    }
}

/// Best first: score, then fewer tickets, then longest idle (never assigned first), then id.
pub fn rank(a: &Candidate, b: &Candidate) -> Ordering {
    b.score
        .partial_cmp(&a.score)
        .unwrap_or(Ordering::Equal)
        .then(a.agent.active_tickets.cmp(&b.agent.active_tickets))
        .then(
            a.agent
                .last_assign_time
                .unwrap_or(i64::MIN)
                .cmp(&b.agent.last_assign_time.unwrap_or(i64::MIN)),
        )
        .then(a.agent.id.cmp(&b.agent.id))
}

/// Routes over `agents`. `removed` are counts of agents removed before `agents` was read
/// (by indexed queries), merged with the counts found here.
pub fn route(route: &Route, agents: &[Routable], removed: &[(Exclusion, i64)]) -> Outcome {
    let mut counts: HashMap<Exclusion, i64> = removed.iter().copied().collect();
    let mut candidates = Vec::new();
    for agent in agents {
        match exclusion(route, agent) {
            Some(reason) => *counts.entry(reason).or_default() += 1,
            None => candidates.push(score(route, agent)),
        }
    }
    candidates.sort_by(rank);
    let mut exclusions: Vec<(Exclusion, i64)> =
        counts.into_iter().filter(|(_, count)| *count > 0).collect();
    exclusions.sort();
    Outcome {
        candidates,
        exclusions,
    }
}

/// Whether a queued ticket needing `route` may go to `agent` now: eligible (skills,
/// certifications, language, region or the region's follow-the-sun `policy`, shift,
/// presence, room) as routing would find it.
pub fn takes(policy: &FollowTheSun, route: &Route, agent: &Routable) -> bool {
    let agents = std::slice::from_ref(agent);
    let outcome = self::route(route, agents, &[]);
    !follow_the_sun(policy, route, agents, &[], outcome)
        .candidates
        .is_empty()
}

/// When nobody in the ticket's region can take it (and other regions were not asked for),
/// the region's follow-the-sun `policy` picks agents of other regions on shift, with the
/// reason; otherwise (or with nobody there either) the outcome stays as it is and the ticket
/// queues. The exclusions keep explaining the ticket's own region.
pub fn follow_the_sun(
    policy: &FollowTheSun,
    route: &Route,
    agents: &[Routable],
    removed: &[(Exclusion, i64)],
    outcome: Outcome,
) -> Outcome {
    let Some(region) = route.region.as_deref() else {
        return outcome;
    };
    if !outcome.candidates.is_empty() || route.allow_other_regions {
        return outcome;
    }
    let allowed: Option<&[String]> = match policy {
        FollowTheSun::Queue => return outcome,
        FollowTheSun::AnyRegion => None,
        FollowTheSun::Regions(regions) => Some(regions),
    };
    let wider = Route {
        allow_other_regions: true,
        ..route.clone()
    };
    let mut other = self::route(&wider, agents, removed);
    if let Some(order) = allowed {
        other.candidates.retain(|c| order.contains(&c.agent.region));
        other.candidates.sort_by_key(|c| {
            order
                .iter()
                .position(|r| *r == c.agent.region)
                .unwrap_or(usize::MAX)
        });
    }
    if other.candidates.is_empty() {
        return outcome;
    }
    for candidate in &mut other.candidates {
        candidate.reasons.push(format!(
            "follow-the-sun: nobody eligible on shift in {region}"
        ));
    }
    other.exclusions = outcome.exclusions;
    other
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base_route() -> Route {
        Route {
            needs: vec![],
            certifications: vec![],
            language: None,
            language_skills: vec![],
            region: None,
            priority: Priority::Normal,
            exclude: vec![],
            teams: vec![],
            tier: None,
            allow_other_regions: false,
            allow_off_shift: false,
            allow_over_capacity: false,
            max_candidates: 5,
        }
    }

    fn agent(name: &str) -> Routable {
        Routable {
            id: Uuid::now_v7(),
            display_name: name.into(),
            region: "eu-west".into(),
            languages: vec![LanguageTag::parse("en").unwrap()],
            skills: HashMap::new(),
            certifications: vec![],
            teams: vec![],
            available: true,
            active_tickets: 0,
            capacity: 5,
            on_shift: true,
            last_assign_time: None,
        }
    }

    #[test]
    fn filters_apply_in_the_contracts_order_and_count_each_agent_once() {
        let skill = Uuid::now_v7();
        let mut r = base_route();
        r.needs.push(Need {
            skill,
            display_name: "Washers".into(),
            min_level: 3,
        });
        r.region = Some("eu-west".into());
        let mut away = agent("away");
        away.available = false;
        let mut novice = agent("novice");
        novice.skills.insert(skill, 2);
        let mut far = agent("far");
        far.skills.insert(skill, 4);
        far.region = "cn-east".into();
        far.on_shift = false;
        let mut full = agent("full");
        full.skills.insert(skill, 4);
        full.active_tickets = 5;
        let mut good = agent("good");
        good.skills.insert(skill, 3);
        let outcome = route(&r, &[away, novice, far, full, good.clone()], &[]);
        assert_eq!(outcome.candidates.len(), 1);
        assert_eq!(outcome.candidates[0].agent.id, good.id);
        assert_eq!(
            outcome.exclusions,
            [
                (Exclusion::NotAvailable, 1),
                (Exclusion::Skill, 1),
                (Exclusion::Region, 1),
                (Exclusion::AtCapacity, 1),
            ]
        );
    }

    #[test]
    fn follow_the_sun_goes_to_the_listed_regions_in_order_or_queues() {
        let mut r = base_route();
        r.region = Some("eu-west".into());
        let mut home = agent("home");
        home.on_shift = false;
        let mut east = agent("east");
        east.region = "cn-east".into();
        let mut west = agent("west");
        west.region = "us-west".into();
        let agents = [home, east.clone(), west.clone()];
        let outcome = || route(&r, &agents, &[]);
        assert!(outcome().candidates.is_empty());

        let any = follow_the_sun(&FollowTheSun::AnyRegion, &r, &agents, &[], outcome());
        assert_eq!(any.candidates.len(), 2);
        assert!(
            any.candidates[0]
                .reasons
                .iter()
                .any(|r| r.contains("follow-the-sun"))
        );
        assert_eq!(any.exclusions, outcome().exclusions);

        let listed = FollowTheSun::Regions(vec!["us-west".into(), "cn-east".into()]);
        let ordered = follow_the_sun(&listed, &r, &agents, &[], outcome());
        let ids: Vec<Uuid> = ordered.candidates.iter().map(|c| c.agent.id).collect();
        assert_eq!(ids, [west.id, east.id]);

        let queue = follow_the_sun(&FollowTheSun::Queue, &r, &agents, &[], outcome());
        assert!(queue.candidates.is_empty());
        let nowhere = FollowTheSun::Regions(vec!["ap-south".into()]);
        assert!(
            follow_the_sun(&nowhere, &r, &agents, &[], outcome())
                .candidates
                .is_empty()
        );
    }

    #[test]
    fn a_queued_ticket_goes_to_an_agent_who_is_eligible_with_room_or_by_the_sun() {
        let mut r = base_route();
        r.region = Some("eu-west".into());
        let any = FollowTheSun::AnyRegion;
        let mut ada = agent("ada");
        assert!(takes(&any, &r, &ada));
        ada.active_tickets = 5;
        assert!(!takes(&any, &r, &ada), "no room");
        r.priority = Priority::Urgent;
        assert!(takes(&any, &r, &ada), "urgent ignores capacity");
        r.priority = Priority::Normal;
        let mut bo = agent("bo");
        bo.region = "cn-east".into();
        assert!(takes(&any, &r, &bo), "follows the sun");
        assert!(!takes(&FollowTheSun::Queue, &r, &bo), "the region queues");
        bo.on_shift = false;
        assert!(!takes(&any, &r, &bo), "off shift");
    }

    #[test]
    fn urgent_tickets_ignore_capacity() {
        let mut r = base_route();
        let mut full = agent("full");
        full.active_tickets = 9;
        assert_eq!(exclusion(&r, &full), Some(Exclusion::AtCapacity));
        r.priority = Priority::Urgent;
        assert_eq!(exclusion(&r, &full), None);
        assert_eq!(score(&r, &full).factors[5].points, 0.0);
    }

    #[test]
    fn certifications_are_required_by_code() {
        let mut r = base_route();
        r.certifications.push("washer-repair-l2".into());
        let mut a = agent("a");
        assert_eq!(exclusion(&r, &a), Some(Exclusion::Certification));
        a.certifications.push(HeldCertification {
            code: "washer-repair-l2".into(),
            skills: vec![],
        });
        assert_eq!(exclusion(&r, &a), None);
    }

    #[test]
    fn languages_match_by_primary_subtag_and_score_exact_tags_higher() {
        let mut r = base_route();
        r.language = Some(LanguageTag::parse("zh-CN").unwrap());
        let english = agent("en");
        assert_eq!(exclusion(&r, &english), Some(Exclusion::Language));
        let mut exact = agent("exact");
        exact.languages = vec![LanguageTag::parse("zh-CN").unwrap()];
        let mut primary = agent("primary");
        primary.languages = vec![LanguageTag::parse("zh-TW").unwrap()];
        assert_eq!(score(&r, &exact).factors[2].points, 15.0);
        assert_eq!(score(&r, &primary).factors[2].points, 10.0);
    }

    #[test]
    fn a_perfect_agent_scores_100_and_load_lowers_the_score() {
        let skill = Uuid::now_v7();
        let mut r = base_route();
        r.needs.push(Need {
            skill,
            display_name: "s".into(),
            min_level: 1,
        });
        let mut a = agent("a");
        a.skills.insert(skill, 5);
        a.certifications.push(HeldCertification {
            code: "c".into(),
            skills: vec![skill],
        });
        assert_eq!(score(&r, &a).score, 100.0);
        a.active_tickets = 1;
        assert_eq!(score(&r, &a).score, 97.0);
    }

    #[test]
    fn ties_go_to_fewer_tickets_then_the_longest_idle() {
        let r = base_route();
        let mut busy = agent("busy");
        busy.active_tickets = 1;
        busy.capacity = 100;
        let mut idle_long = agent("idle long");
        idle_long.capacity = 100;
        idle_long.last_assign_time = Some(10);
        let mut idle_short = agent("idle short");
        idle_short.capacity = 100;
        idle_short.last_assign_time = Some(20);
        let mut never = agent("never");
        never.capacity = 100;
        // Scores: busy loses 0.15 on load; the other three tie.
        let outcome = route(&r, &[busy, idle_short, idle_long, never], &[]);
        let order: Vec<&str> = outcome
            .candidates
            .iter()
            .map(|c| c.agent.display_name.as_str())
            .collect();
        assert_eq!(order, ["never", "idle long", "idle short", "busy"]);
    }

    #[test]
    fn teams_and_tiers_restrict_candidates() {
        let team = Uuid::now_v7();
        let mut r = base_route();
        r.teams.push(team);
        let mut member = agent("member");
        member.teams.push((team, Tier::FirstLine));
        assert_eq!(exclusion(&r, &agent("outsider")), Some(Exclusion::Team));
        assert_eq!(exclusion(&r, &member), None);
        r.tier = Some(Tier::TechnicalSpecialist);
        assert_eq!(exclusion(&r, &member), Some(Exclusion::Team));
    }
}

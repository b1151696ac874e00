//! Domain → proto: the only place proto messages are built.

use aftercare_platform::request::Etag;
use aftercare_platform::time::to_timestamp;
use aftercare_proto::aftercare::workforce::v1 as pb;

use crate::domain::agent::{Agent, HeldSkill};
use crate::domain::names::{agent_name, presence_name, shift_name, skill_name, team_name};
use crate::domain::routing::{Candidate, Outcome};
use crate::domain::shift::{Interval, Shift};
use crate::domain::skill::Skill;
use crate::domain::team::Team;

/// Skills with levels.
pub fn agent_skills(skills: &[HeldSkill]) -> Vec<pb::AgentSkill> {
    skills
        .iter()
        .map(|s| pb::AgentSkill {
            skill: skill_name(s.skill),
            level: i32::from(s.level),
        })
        .collect()
}

/// An agent; `now` decides a stale heartbeat.
pub fn agent(agent: &Agent, now: i64) -> pb::Agent {
    let p = &agent.profile;
    pb::Agent {
        name: agent_name(agent.id),
        display_name: p.display_name.clone(),
        email: p.email.clone(),
        identity_subject: p.identity_subject.clone().unwrap_or_default(),
        roles: p.roles.iter().map(|r| r.number() as i32).collect(),
        teams: agent.teams.iter().map(|t| team_name(*t)).collect(),
        region: p.region.clone(),
        service_centre: p.service_centre.clone().unwrap_or_default(),
        languages: p.languages.iter().map(|l| l.as_str().to_owned()).collect(),
        skills: agent_skills(&p.skills),
        max_concurrent_tickets: p.max_concurrent_tickets as i32,
        shift: p.shift.map(shift_name).unwrap_or_default(),
        state: p.state.number() as i32,
        presence_state: agent.effective_presence(now).number() as i32,
        active_tickets: agent.active_tickets as i32,
        etag: Etag::of(agent.version),
        create_time: Some(to_timestamp(agent.create_time)),
        update_time: Some(to_timestamp(agent.update_time)),
        delete_time: agent.delete_time.map(to_timestamp),
    }
}

/// An agent's presence.
pub fn presence(agent: &Agent, on_shift: bool, now: i64) -> pb::Presence {
    pb::Presence {
        name: presence_name(agent.id),
        agent_display_name: agent.profile.display_name.clone(),
        state: agent.effective_presence(now).number() as i32,
        status_message: agent.presence.status_message.clone(),
        active_tickets: agent.active_tickets as i32,
        capacity: agent.profile.max_concurrent_tickets as i32,
        on_shift,
        region: agent.profile.region.clone(),
        teams: agent.teams.iter().map(|t| team_name(*t)).collect(),
        state_change_time: Some(to_timestamp(agent.presence.state_change_time)),
        last_assign_time: agent.presence.last_assign_time.map(to_timestamp),
        update_time: Some(to_timestamp(agent.presence.update_time)),
    }
}

/// A team.
pub fn team(team: &Team) -> pb::Team {
    pb::Team {
        name: team_name(team.id),
        display_name: team.display_name.clone(),
        description: team.description.clone().unwrap_or_default(),
        region: team.region.clone(),
        service_centre: team.service_centre.clone().unwrap_or_default(),
        lead: team.lead.map(agent_name).unwrap_or_default(),
        escalation_tier: team.tier.number() as i32,
        member_count: team.member_count as i32,
        etag: Etag::of(team.version),
        create_time: Some(to_timestamp(team.create_time)),
        update_time: Some(to_timestamp(team.update_time)),
    }
}

/// A skill.
pub fn skill(skill: &Skill) -> pb::Skill {
    pb::Skill {
        name: skill_name(skill.id),
        display_name: skill.display_name.clone(),
        category: skill.category.number() as i32,
        code: skill.code.clone(),
        description: skill.description.clone().unwrap_or_default(),
        agent_count: skill.agent_count as i32,
        etag: Etag::of(skill.version),
        create_time: Some(to_timestamp(skill.create_time)),
        update_time: Some(to_timestamp(skill.update_time)),
    }
}

fn interval(interval: &Interval) -> pb::ShiftInterval {
    pb::ShiftInterval {
        weekday: i32::from(interval.weekday),
        start_minute: interval.start_minute as i32,
        duration: Some(prost_types::Duration {
            seconds: i64::from(interval.minutes) * 60,
            nanos: 0,
        }),
    }
}

/// A shift, with whether it works at `now`.
pub fn shift(shift: &Shift, now: i64) -> pb::Shift {
    pb::Shift {
        name: shift_name(shift.id),
        display_name: shift.display_name.clone(),
        time_zone: shift.time_zone.name().to_owned(),
        region: shift.region.clone().unwrap_or_default(),
        intervals: shift.intervals.iter().map(interval).collect(),
        exceptions: shift
            .exceptions
            .iter()
            .map(|e| pb::ShiftException {
                date: e.date.format("%Y-%m-%d").to_string(),
                description: e.description.clone().unwrap_or_default(),
                intervals: e.intervals.iter().map(interval).collect(),
            })
            .collect(),
        agent_count: shift.agent_count as i32,
        on_shift_now: shift.on_shift_at(now),
        etag: Etag::of(shift.version),
        create_time: Some(to_timestamp(shift.create_time)),
        update_time: Some(to_timestamp(shift.update_time)),
    }
}

fn candidate(candidate: &Candidate) -> pb::RoutingCandidate {
    pb::RoutingCandidate {
        agent: agent_name(candidate.agent.id),
        display_name: candidate.agent.display_name.clone(),
        score: candidate.score,
        factors: candidate
            .factors
            .iter()
            .map(|f| pb::RoutingFactor {
                kind: f.factor.number() as i32,
                points: f.points,
                max_points: f.max_points,
                detail: f.detail.clone(),
            })
            .collect(),
        reasons: candidate.reasons.clone(),
        active_tickets: candidate.agent.active_tickets as i32,
        capacity: candidate.agent.capacity as i32,
        on_shift: candidate.agent.on_shift,
        region: candidate.agent.region.clone(),
    }
}

/// A routing outcome.
pub fn route(outcome: &Outcome, considered: i64, max: usize) -> pb::RouteTicketResponse {
    pb::RouteTicketResponse {
        candidates: outcome.candidates.iter().take(max).map(candidate).collect(),
        considered_agents: considered as i32,
        exclusions: outcome
            .exclusions
            .iter()
            .map(|(reason, count)| pb::RoutingExclusion {
                reason: reason.number() as i32,
                agent_count: *count as i32,
            })
            .collect(),
    }
}

//! Domain → proto: the only place proto messages are built.

use aftercare_platform::request::Etag;
use aftercare_platform::time::to_timestamp;
use aftercare_proto::aftercare::workforce::v1 as pb;

use crate::domain::agent::{Agent, HeldSkill};
use crate::domain::names::{agent_name, presence_name, shift_name, skill_name, team_name};
use crate::domain::performance::Metrics;
use crate::domain::routing::{Candidate, Outcome};
use crate::domain::shift::{Interval, Shift};
use crate::domain::skill::Skill;
use crate::domain::team::Team;
use crate::domain::training::{Actor, Assessment, Certification, Course, Enrolment};
use crate::store::RecognitionRow;

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

/// A recorded actor.
pub fn actor(actor: &Actor) -> aftercare_proto::aftercare::common::v1::Actor {
    aftercare_proto::aftercare::common::v1::Actor {
        r#type: actor.kind,
        id: actor.id.clone(),
        display_name: actor.name.clone(),
    }
}

/// `courses/{id}`.
pub fn course_name(id: uuid::Uuid) -> String {
    format!("courses/{id}")
}

/// `courses/{c}/enrolments/{e}`.
pub fn enrolment_name(course: uuid::Uuid, id: uuid::Uuid) -> String {
    format!("courses/{course}/enrolments/{id}")
}

/// `agents/{a}/certifications/{c}`.
pub fn certification_name(agent: uuid::Uuid, id: uuid::Uuid) -> String {
    format!("agents/{agent}/certifications/{id}")
}

/// A course.
pub fn course(c: &Course) -> pb::Course {
    pb::Course {
        name: course_name(c.id),
        title: c.title.clone(),
        description: c.description.clone().unwrap_or_default(),
        skills: c
            .skills
            .iter()
            .map(|t| pb::CourseSkill {
                skill: skill_name(t.skill),
                level: i32::from(t.level),
            })
            .collect(),
        certification_code: c.certification_code.clone().unwrap_or_default(),
        certification_display_name: c
            .certification_display_name
            .clone()
            .or_else(|| c.certification_code.as_ref().map(|_| c.title.clone()))
            .unwrap_or_default(),
        certification_validity: c.certification_validity.map(|v| prost_types::Duration {
            seconds: v / 1_000_000,
            nanos: ((v % 1_000_000) * 1_000) as i32,
        }),
        completion: c.completion.number() as i32,
        pass_mark: c.pass_mark as i32,
        max_attempts: c.max_attempts as i32,
        state: c.state.number() as i32,
        open_enrolment_count: c.open_enrolments as i32,
        etag: Etag::of(c.version),
        create_time: Some(to_timestamp(c.create_time)),
        update_time: Some(to_timestamp(c.update_time)),
    }
}

/// An enrolment.
pub fn enrolment(e: &Enrolment) -> pb::Enrolment {
    pb::Enrolment {
        name: enrolment_name(e.course, e.id),
        agent: agent_name(e.agent),
        status: e.status.number() as i32,
        progress_percent: e.progress as i32,
        due_time: e.due_time.map(to_timestamp),
        attempts: e.attempts as i32,
        best_score_percent: e.best_score,
        certification: e
            .certification
            .map(|c| certification_name(e.agent, c))
            .unwrap_or_default(),
        enrolled_by: Some(actor(&e.enrolled_by)),
        finish_time: e.finish_time.map(to_timestamp),
        etag: Etag::of(e.version),
        create_time: Some(to_timestamp(e.create_time)),
        update_time: Some(to_timestamp(e.update_time)),
    }
}

/// An assessment of an enrolment of `course`.
pub fn assessment(course: uuid::Uuid, a: &Assessment) -> pb::Assessment {
    pb::Assessment {
        name: format!(
            "{}/assessments/{}",
            enrolment_name(course, a.enrolment),
            a.id
        ),
        score: a.score as i32,
        max_score: a.max_score as i32,
        score_percent: a.score_percent,
        pass_mark: a.pass_mark as i32,
        passed: a.passed,
        attempt: a.attempt as i32,
        assessor: Some(actor(&a.assessor)),
        notes: a.notes.clone().unwrap_or_default(),
        submit_time: Some(to_timestamp(a.submit_time)),
    }
}

/// A certification, its state as of `now`.
pub fn certification(c: &Certification, now: i64) -> pb::Certification {
    pb::Certification {
        name: certification_name(c.agent, c.id),
        code: c.code.clone(),
        display_name: c.display_name.clone(),
        course: c.course.map(course_name).unwrap_or_default(),
        enrolment: match (c.course, c.enrolment) {
            (Some(course), Some(e)) => enrolment_name(course, e),
            _ => String::new(),
        },
        issue_time: Some(to_timestamp(c.issue_time)),
        expire_time: c.expire_time.map(to_timestamp),
        state: c.state_at(now).number() as i32,
        issuer: Some(actor(&c.issuer)),
        revoke_time: c.revoke_time.map(to_timestamp),
        revoke_reason: c.revoke_reason.clone().unwrap_or_default(),
        etag: Etag::of(c.version),
        create_time: Some(to_timestamp(c.create_time)),
        update_time: Some(to_timestamp(c.update_time)),
    }
}

fn duration(micros: Option<i64>) -> Option<prost_types::Duration> {
    micros.map(|m| prost_types::Duration {
        seconds: m.div_euclid(1_000_000),
        nanos: (m.rem_euclid(1_000_000) * 1_000) as i32,
    })
}

/// Performance figures.
pub fn metrics(m: &Metrics) -> pb::PerformanceMetrics {
    pb::PerformanceMetrics {
        tickets_assigned: m.assigned,
        tickets_handled: m.handled,
        tickets_resolved: m.resolved,
        resolution_rate: m.resolution_rate,
        first_response_time_mean: duration(m.first_response_mean),
        first_response_time_median: duration(m.first_response_median),
        resolution_time_mean: duration(m.resolution_mean),
        csat_average: m.csat_average,
        csat_responses: m.csat_responses,
        sla_targets_met: m.sla_met,
        sla_targets_breached: m.sla_breached,
        sla_compliance_rate: m.sla_compliance,
        escalations: m.escalations,
        reopened: m.reopened,
    }
}

/// A bucket of figures.
pub fn bucket(start: i64, end: i64, m: &Metrics) -> pb::PerformanceBucket {
    pb::PerformanceBucket {
        start_time: Some(to_timestamp(start)),
        end_time: Some(to_timestamp(end)),
        metrics: Some(metrics(m)),
    }
}

/// A recognition.
pub fn recognition(r: &RecognitionRow) -> pb::Recognition {
    pb::Recognition {
        name: format!("recognitions/{}", r.id),
        agent: agent_name(r.agent),
        badge: r.badge as i32,
        reason: r.reason.clone(),
        references: r.references.clone(),
        awarded_by: Some(actor(&r.awarded_by)),
        create_time: Some(to_timestamp(r.create_time)),
    }
}

//! Training: courses, enrolments, graded assessments and the certifications they issue.
//! The rules of completing a course (by assessment or by progress), failing it, raising
//! the agent's skills and issuing a certification live here.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::agent::{Agent, AgentState, HeldSkill, numbered};
use super::{Refused, check_version};

numbered!(
    /// How an enrolment completes.
    Completion {
        /// By passing an assessment.
        Assessment = 1,
        /// By reaching 100 % progress.
        Progress = 2,
    }
);

numbered!(
    /// Whether a course takes enrolments.
    CourseState {
        /// Open.
        Active = 1,
        /// Closed for new enrolments.
        Archived = 2,
    }
);

numbered!(
    /// Where an enrolment stands.
    EnrolmentStatus {
        /// Not started.
        Enrolled = 1,
        /// Started.
        InProgress = 2,
        /// Passed. Final.
        Completed = 3,
        /// Attempts used up. Final.
        Failed = 4,
    }
);

numbered!(
    /// A certification's state.
    CertificationState {
        /// Valid.
        Active = 1,
        /// Past its expiry.
        Expired = 2,
        /// Withdrawn.
        Revoked = 3,
    }
);

/// Who did something, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// `ActorType` number.
    pub kind: i32,
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// A course's fields on create.
#[derive(Debug, Clone)]
pub struct CourseFields {
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Skills.
    pub skills: Vec<Taught>,
    /// Certification code.
    pub certification_code: Option<String>,
    /// Its name.
    pub certification_display_name: Option<String>,
    /// Validity.
    pub certification_validity: Option<i64>,
    /// Completion.
    pub completion: Completion,
    /// Pass mark.
    pub pass_mark: i64,
    /// Attempts.
    pub max_attempts: i64,
    /// State.
    pub state: CourseState,
}

/// One field of a course update.
#[derive(Debug, Clone)]
pub enum CourseChange {
    /// `title`.
    Title(String),
    /// `description`.
    Description(Option<String>),
    /// `skills`.
    Skills(Vec<Taught>),
    /// `certification_code`.
    CertificationCode(Option<String>),
    /// `certification_display_name`.
    CertificationDisplayName(Option<String>),
    /// `certification_validity`.
    CertificationValidity(Option<i64>),
    /// `completion`.
    Completion(Completion),
    /// `pass_mark`.
    PassMark(i64),
    /// `max_attempts`.
    MaxAttempts(i64),
    /// `state`.
    State(CourseState),
}

impl Course {
    /// A new course at version 1, without enrolments.
    pub fn new(c: CourseFields, now: i64) -> Self {
        Self {
            id: Uuid::now_v7(),
            title: c.title,
            description: c.description,
            skills: c.skills,
            certification_code: c.certification_code,
            certification_display_name: c.certification_display_name,
            certification_validity: c.certification_validity,
            completion: c.completion,
            pass_mark: c.pass_mark,
            max_attempts: c.max_attempts,
            state: c.state,
            open_enrolments: 0,
            version: 1,
            create_time: now,
            update_time: now,
        }
    }

    /// Applies an update made against `version` (the etag sent), raising the version when
    /// anything changed; returns whether it did.
    pub fn update(
        &mut self,
        version: i64,
        changes: Vec<CourseChange>,
        now: i64,
    ) -> Result<bool, Refused> {
        check_version(self.version, version)?;
        let before = self.clone();
        for change in changes {
            match change {
                CourseChange::Title(v) => self.title = v,
                CourseChange::Description(v) => self.description = v,
                CourseChange::Skills(v) => self.skills = v,
                CourseChange::CertificationCode(v) => self.certification_code = v,
                CourseChange::CertificationDisplayName(v) => self.certification_display_name = v,
                CourseChange::CertificationValidity(v) => self.certification_validity = v,
                CourseChange::Completion(v) => self.completion = v,
                CourseChange::PassMark(v) => self.pass_mark = v,
                CourseChange::MaxAttempts(v) => self.max_attempts = v,
                CourseChange::State(v) => self.state = v,
            }
        }
        if *self == before {
            return Ok(false);
        }
        self.version += 1;
        self.update_time = now;
        Ok(true)
    }
}

/// A skill a course teaches, with the level completion brings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taught {
    /// The skill.
    pub skill: Uuid,
    /// 1 to 5.
    pub level: u8,
}

/// A course.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Course {
    /// Id.
    pub id: Uuid,
    /// Title.
    pub title: String,
    /// Description (text, never rendered here).
    pub description: Option<String>,
    /// Skills taught.
    pub skills: Vec<Taught>,
    /// Certification granted.
    pub certification_code: Option<String>,
    /// Its display name.
    pub certification_display_name: Option<String>,
    /// Validity in microseconds.
    pub certification_validity: Option<i64>,
    /// Completion rule.
    pub completion: Completion,
    /// Pass mark, percent.
    pub pass_mark: i64,
    /// Attempts allowed; 0 unlimited.
    pub max_attempts: i64,
    /// State.
    pub state: CourseState,
    /// Open enrolments (output only).
    pub open_enrolments: i64,
    /// Version.
    pub version: i64,
    /// Created.
    pub create_time: i64,
    /// Changed.
    pub update_time: i64,
}

/// An enrolment.
#[derive(Debug, Clone, PartialEq)]
pub struct Enrolment {
    /// Id.
    pub id: Uuid,
    /// Course.
    pub course: Uuid,
    /// Agent.
    pub agent: Uuid,
    /// Status.
    pub status: EnrolmentStatus,
    /// Progress, percent.
    pub progress: i64,
    /// Due.
    pub due_time: Option<i64>,
    /// Attempts made.
    pub attempts: i64,
    /// Best score, percent.
    pub best_score: f64,
    /// Certification issued.
    pub certification: Option<Uuid>,
    /// Who enrolled the agent.
    pub enrolled_by: Actor,
    /// When it completed or failed.
    pub finish_time: Option<i64>,
    /// Version.
    pub version: i64,
    /// Created.
    pub create_time: i64,
    /// Changed.
    pub update_time: i64,
}

/// A graded attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// Id.
    pub id: Uuid,
    /// Enrolment.
    pub enrolment: Uuid,
    /// Points.
    pub score: i64,
    /// Possible.
    pub max_score: i64,
    /// Percent.
    pub score_percent: f64,
    /// Pass mark at the time.
    pub pass_mark: i64,
    /// Passed.
    pub passed: bool,
    /// Attempt number from 1.
    pub attempt: i64,
    /// Who graded it.
    pub assessor: Actor,
    /// Notes.
    pub notes: Option<String>,
    /// When.
    pub submit_time: i64,
}

/// A certification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certification {
    /// Id.
    pub id: Uuid,
    /// Agent.
    pub agent: Uuid,
    /// Code.
    pub code: String,
    /// Name.
    pub display_name: String,
    /// Granting course.
    pub course: Option<Uuid>,
    /// Granting enrolment.
    pub enrolment: Option<Uuid>,
    /// Skills of the granting course.
    pub skills: Vec<Uuid>,
    /// Issued.
    pub issue_time: i64,
    /// Expires.
    pub expire_time: Option<i64>,
    /// State.
    pub state: CertificationState,
    /// Issuer.
    pub issuer: Actor,
    /// Revoked.
    pub revoke_time: Option<i64>,
    /// Why.
    pub revoke_reason: Option<String>,
    /// Version.
    pub version: i64,
    /// Created.
    pub create_time: i64,
    /// Changed.
    pub update_time: i64,
}

impl Enrolment {
    /// A new enrolment of `agent` in `course`, by `by`.
    pub fn new(course: Uuid, agent: Uuid, due_time: Option<i64>, by: Actor, now: i64) -> Self {
        Self {
            id: Uuid::now_v7(),
            course,
            agent,
            status: EnrolmentStatus::Enrolled,
            progress: 0,
            due_time,
            attempts: 0,
            best_score: 0.0,
            certification: None,
            enrolled_by: by,
            finish_time: None,
            version: 1,
            create_time: now,
            update_time: now,
        }
    }

    /// Reports progress and/or changes the due time (`Some(None)` clears it) against
    /// `version` (the etag sent); returns whether this completed the enrolment.
    pub fn update(
        &mut self,
        version: i64,
        course: &Course,
        progress: Option<i64>,
        due_time: Option<Option<i64>>,
        now: i64,
    ) -> Result<bool, Refused> {
        check_version(self.version, version)?;
        if !self.is_open() {
            return Err(Refused::State(
                "the enrolment is already completed or failed",
            ));
        }
        let mut completed = false;
        if let Some(progress) = progress {
            completed = report_progress(course, self, progress, now).map_err(Refused::State)?;
        }
        if let Some(due) = due_time {
            self.due_time = due;
        }
        self.version += 1;
        self.update_time = now;
        Ok(completed)
    }

    /// Withdraws the enrolment at `version` (the etag sent): only an open one (completed
    /// and failed ones are training history).
    pub fn withdraw(&self, version: i64) -> Result<(), Refused> {
        check_version(self.version, version)?;
        if !self.is_open() {
            return Err(Refused::State(
                "completed and failed enrolments are kept as training history",
            ));
        }
        Ok(())
    }

    /// Whether the enrolment is still open.
    pub fn is_open(&self) -> bool {
        matches!(
            self.status,
            EnrolmentStatus::Enrolled | EnrolmentStatus::InProgress
        )
    }
}

/// What completing a course does to an agent: the skills raised (new levels) and the skill
/// list after.
pub fn raise_skills(held: &[HeldSkill], taught: &[Taught]) -> (Vec<HeldSkill>, Vec<HeldSkill>) {
    let mut after = held.to_vec();
    let mut raised = Vec::new();
    for t in taught {
        match after.iter_mut().find(|h| h.skill == t.skill) {
            Some(h) if h.level >= t.level => {}
            Some(h) => {
                h.level = t.level;
                raised.push(*h);
            }
            None => {
                let new = HeldSkill {
                    skill: t.skill,
                    level: t.level,
                };
                after.push(new);
                raised.push(new);
            }
        }
    }
    (raised, after)
}

impl Course {
    /// Whether the course takes enrolments (it is not archived).
    pub fn takes_enrolments(&self) -> bool {
        self.state == CourseState::Active
    }
}

/// Whether `agent` may be enrolled: active and not deleted.
pub fn may_enrol(agent: &Agent) -> bool {
    !agent.is_deleted() && agent.profile.state == AgentState::Active
}

/// What completing a course writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Completed {
    /// The agent with its raised skills (version raised); `None` when nothing was raised.
    pub agent: Option<Agent>,
    /// The skills raised, at their new levels.
    pub raised: Vec<HeldSkill>,
    /// The certification issued, when the course grants one.
    pub certification: Option<Certification>,
}

/// Completes `enrolment` (already marked completed) of `agent` in `course`: raises the
/// agent's skills and issues the course's certification, recorded on the enrolment.
pub fn complete(course: &Course, enrolment: &mut Enrolment, agent: &Agent, now: i64) -> Completed {
    let (raised, after) = raise_skills(&agent.profile.skills, &course.skills);
    let agent = (!raised.is_empty()).then(|| {
        let mut agent = agent.clone();
        agent.profile.skills = after;
        agent.version += 1;
        agent.update_time = now;
        agent
    });
    let certification = issue(course, enrolment, now);
    if let Some(c) = &certification {
        enrolment.certification = Some(c.id);
    }
    Completed {
        agent,
        raised,
        certification,
    }
}

/// The outcome of grading an attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Graded {
    /// The attempt.
    pub assessment: Assessment,
    /// The enrolment completed with this attempt.
    pub completed: bool,
    /// The enrolment failed with this attempt.
    pub failed: bool,
}

/// Grades `score` of `max_score` against the course: refused unless the course completes
/// by assessment and the enrolment is open.
pub fn grade(
    course: &Course,
    enrolment: &mut Enrolment,
    score: i64,
    max_score: i64,
    assessor: Actor,
    notes: Option<String>,
    now: i64,
) -> Result<Graded, &'static str> {
    if course.completion != Completion::Assessment {
        return Err("the course completes by progress, not by assessment");
    }
    if !enrolment.is_open() {
        return Err("the enrolment is already completed or failed");
    }
    let percent = (score as f64) * 100.0 / (max_score as f64);
    let percent = (percent * 100.0).round() / 100.0;
    let passed = percent >= course.pass_mark as f64;
    enrolment.attempts += 1;
    enrolment.best_score = enrolment.best_score.max(percent);
    enrolment.version += 1;
    enrolment.update_time = now;
    let failed = !passed && course.max_attempts > 0 && enrolment.attempts >= course.max_attempts;
    if passed {
        enrolment.status = EnrolmentStatus::Completed;
        enrolment.progress = 100;
        enrolment.finish_time = Some(now);
    } else if failed {
        enrolment.status = EnrolmentStatus::Failed;
        enrolment.finish_time = Some(now);
    } else if enrolment.status == EnrolmentStatus::Enrolled {
        enrolment.status = EnrolmentStatus::InProgress;
    }
    Ok(Graded {
        assessment: Assessment {
            id: Uuid::now_v7(),
            enrolment: enrolment.id,
            score,
            max_score,
            score_percent: percent,
            pass_mark: course.pass_mark,
            passed,
            attempt: enrolment.attempts,
            assessor,
            notes,
            submit_time: now,
        },
        completed: passed,
        failed,
    })
}

/// Reports progress; returns whether this completed the enrolment (progress courses at
/// 100 %).
pub fn report_progress(
    course: &Course,
    enrolment: &mut Enrolment,
    progress: i64,
    now: i64,
) -> Result<bool, &'static str> {
    if !enrolment.is_open() {
        return Err("the enrolment is already completed or failed");
    }
    enrolment.progress = progress;
    if progress > 0 && enrolment.status == EnrolmentStatus::Enrolled {
        enrolment.status = EnrolmentStatus::InProgress;
    }
    if course.completion == Completion::Progress && progress >= 100 {
        enrolment.status = EnrolmentStatus::Completed;
        enrolment.finish_time = Some(now);
        return Ok(true);
    }
    Ok(false)
}

/// The certification a completed enrolment issues, if the course grants one.
pub fn issue(course: &Course, enrolment: &Enrolment, now: i64) -> Option<Certification> {
    let code = course.certification_code.clone()?;
    Some(Certification {
        id: Uuid::now_v7(),
        agent: enrolment.agent,
        display_name: course
            .certification_display_name
            .clone()
            .unwrap_or_else(|| course.title.clone()),
        code,
        course: Some(course.id),
        enrolment: Some(enrolment.id),
        skills: course.skills.iter().map(|t| t.skill).collect(),
        issue_time: now,
        expire_time: course.certification_validity.map(|v| now + v),
        state: CertificationState::Active,
        issuer: Actor {
            kind: 4,
            id: String::new(),
            name: "workforce".into(),
        },
        revoke_time: None,
        revoke_reason: None,
        version: 1,
        create_time: now,
        update_time: now,
    })
}

impl Certification {
    /// A certification recorded by hand for `agent` by `issuer`: issued at `issue_time`
    /// (default now, never in the future), expiring after it (or never). Refused with the
    /// field and why.
    pub fn record(
        agent: Uuid,
        code: String,
        display_name: String,
        issue_time: Option<i64>,
        expire_time: Option<i64>,
        issuer: Actor,
        now: i64,
    ) -> Result<Self, (&'static str, &'static str)> {
        let issue_time = issue_time.unwrap_or(now);
        if issue_time > now {
            return Err(("certification.issue_time", "must not be in the future"));
        }
        if expire_time.is_some_and(|e| e <= issue_time) {
            return Err(("certification.expire_time", "must be after issue_time"));
        }
        Ok(Self {
            id: Uuid::now_v7(),
            agent,
            code,
            display_name,
            course: None,
            enrolment: None,
            skills: Vec::new(),
            issue_time,
            expire_time,
            state: CertificationState::Active,
            issuer,
            revoke_time: None,
            revoke_reason: None,
            version: 1,
            create_time: now,
            update_time: now,
        })
    }

    /// Revokes the certification at `version` (the etag sent), with why.
    pub fn revoke(&mut self, version: i64, reason: String, now: i64) -> Result<(), Refused> {
        check_version(self.version, version)?;
        if self.state == CertificationState::Revoked {
            return Err(Refused::State("the certification is already revoked"));
        }
        self.state = CertificationState::Revoked;
        self.revoke_time = Some(now);
        self.revoke_reason = Some(reason);
        self.version += 1;
        self.update_time = now;
        Ok(())
    }

    /// Marks the certification expired (the sweep, past its expiry).
    pub fn expire(&mut self, now: i64) {
        self.state = CertificationState::Expired;
        self.version += 1;
        self.update_time = now;
    }

    /// The state shown at `now`: an active one past its expiry reads as expired at once.
    pub fn state_at(&self, now: i64) -> CertificationState {
        match (self.state, self.expire_time) {
            (CertificationState::Active, Some(expiry)) if expiry <= now => {
                CertificationState::Expired
            }
            (state, _) => state,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::agent::tests_support::agent_in;

    #[test]
    fn progress_updates_check_the_etag_and_the_open_state() {
        let c = course(Completion::Progress, 0);
        let mut e = enrolment();
        assert_eq!(e.update(2, &c, Some(10), None, 1), Err(Refused::Stale));
        assert_eq!(e.update(1, &c, Some(40), Some(Some(9)), 1), Ok(false));
        assert_eq!((e.progress, e.due_time, e.version), (40, Some(9), 2));
        assert_eq!(e.update(2, &c, Some(100), None, 2), Ok(true));
        assert_eq!(e.status, EnrolmentStatus::Completed);
        assert!(matches!(
            e.update(3, &c, None, None, 3),
            Err(Refused::State(_))
        ));
        assert!(
            matches!(e.withdraw(3), Err(Refused::State(_))),
            "history is kept"
        );
        assert_eq!(enrolment().withdraw(2), Err(Refused::Stale));
        assert_eq!(enrolment().withdraw(1), Ok(()));
    }

    #[test]
    fn completing_raises_skills_and_issues_the_certification_on_the_enrolment() {
        let skill = Uuid::now_v7();
        let mut c = course(Completion::Progress, 0);
        c.skills = vec![Taught { skill, level: 3 }];
        let mut e = enrolment();
        let agent = agent_in(vec![]);
        let done = complete(&c, &mut e, &agent, 5);
        let raised = done.agent.expect("a skill was raised");
        assert_eq!(raised.version, agent.version + 1);
        assert_eq!(done.raised, [HeldSkill { skill, level: 3 }]);
        let cert = done.certification.expect("the course grants one");
        assert_eq!(e.certification, Some(cert.id));
        assert_eq!(cert.expire_time, Some(5 + 1_000));
        // Already at the level: nothing raised, the agent is not written.
        let again = complete(&c, &mut enrolment(), &raised, 6);
        assert!(again.agent.is_none() && again.raised.is_empty());
    }

    #[test]
    fn only_active_courses_take_only_active_agents() {
        let mut c = course(Completion::Progress, 0);
        assert!(c.takes_enrolments());
        c.state = CourseState::Archived;
        assert!(!c.takes_enrolments());
        let mut agent = agent_in(vec![]);
        assert!(may_enrol(&agent));
        agent.profile.state = AgentState::Inactive;
        assert!(!may_enrol(&agent));
    }

    #[test]
    fn a_hand_recorded_certification_is_never_issued_in_the_future_and_revoked_once() {
        let record = |issue, expire| {
            Certification::record(
                Uuid::now_v7(),
                "c".into(),
                "C".into(),
                issue,
                expire,
                assessor(),
                10,
            )
        };
        assert_eq!(
            record(Some(11), None).unwrap_err().0,
            "certification.issue_time"
        );
        assert_eq!(
            record(Some(5), Some(5)).unwrap_err().0,
            "certification.expire_time"
        );
        let mut c = record(None, Some(20)).unwrap();
        assert_eq!(c.issue_time, 10);
        assert_eq!(c.revoke(2, "x".into(), 11), Err(Refused::Stale));
        c.revoke(1, "left".into(), 11).unwrap();
        assert_eq!((c.state, c.version), (CertificationState::Revoked, 2));
        assert!(matches!(
            c.revoke(2, "x".into(), 12),
            Err(Refused::State(_))
        ));
    }

    fn course(completion: Completion, max_attempts: i64) -> Course {
        Course {
            id: Uuid::now_v7(),
            title: "Washer repair, level 2".into(),
            description: None,
            skills: vec![],
            certification_code: Some("washer-repair-l2".into()),
            certification_display_name: None,
            certification_validity: Some(1_000),
            completion,
            pass_mark: 70,
            max_attempts,
            state: CourseState::Active,
            open_enrolments: 0,
            version: 1,
            create_time: 0,
            update_time: 0,
        }
    }

    fn enrolment() -> Enrolment {
        Enrolment {
            id: Uuid::now_v7(),
            course: Uuid::now_v7(),
            agent: Uuid::now_v7(),
            status: EnrolmentStatus::Enrolled,
            progress: 0,
            due_time: None,
            attempts: 0,
            best_score: 0.0,
            certification: None,
            enrolled_by: Actor {
                kind: 1,
                id: "x".into(),
                name: "x".into(),
            },
            finish_time: None,
            version: 1,
            create_time: 0,
            update_time: 0,
        }
    }

    fn assessor() -> Actor {
        Actor {
            kind: 1,
            id: "t".into(),
            name: "t".into(),
        }
    }

    #[test]
    fn a_score_at_the_pass_mark_passes_and_completes() {
        let c = course(Completion::Assessment, 0);
        let mut e = enrolment();
        let low = grade(&c, &mut e, 69, 100, assessor(), None, 1).unwrap();
        assert!(!low.completed && !low.failed);
        assert_eq!(e.status, EnrolmentStatus::InProgress);
        let pass = grade(&c, &mut e, 14, 20, assessor(), None, 2).unwrap();
        assert!(pass.completed);
        assert_eq!(pass.assessment.score_percent, 70.0);
        assert_eq!(pass.assessment.attempt, 2);
        assert_eq!(e.status, EnrolmentStatus::Completed);
        assert_eq!(e.best_score, 70.0);
        assert!(grade(&c, &mut e, 20, 20, assessor(), None, 3).is_err());
    }

    #[test]
    fn the_last_allowed_failed_attempt_fails_the_enrolment() {
        let c = course(Completion::Assessment, 2);
        let mut e = enrolment();
        grade(&c, &mut e, 10, 100, assessor(), None, 1).unwrap();
        let last = grade(&c, &mut e, 20, 100, assessor(), None, 2).unwrap();
        assert!(last.failed);
        assert_eq!(e.status, EnrolmentStatus::Failed);
        assert_eq!(e.finish_time, Some(2));
    }

    #[test]
    fn progress_courses_complete_at_100_and_refuse_assessments() {
        let c = course(Completion::Progress, 0);
        let mut e = enrolment();
        assert!(grade(&c, &mut e, 1, 1, assessor(), None, 1).is_err());
        assert_eq!(report_progress(&c, &mut e, 40, 1), Ok(false));
        assert_eq!(e.status, EnrolmentStatus::InProgress);
        assert_eq!(report_progress(&c, &mut e, 100, 2), Ok(true));
        assert_eq!(e.status, EnrolmentStatus::Completed);
    }

    #[test]
    fn completion_raises_skills_but_never_lowers_them() {
        let a = Uuid::now_v7();
        let b = Uuid::now_v7();
        let held = [HeldSkill { skill: a, level: 4 }];
        let taught = [Taught { skill: a, level: 3 }, Taught { skill: b, level: 2 }];
        let (raised, after) = raise_skills(&held, &taught);
        assert_eq!(raised, [HeldSkill { skill: b, level: 2 }]);
        assert_eq!(after.len(), 2);
        assert_eq!(after[0].level, 4);
    }

    #[test]
    fn certifications_expire_by_validity_and_read_expired_at_once() {
        let c = course(Completion::Assessment, 0);
        let cert = issue(&c, &enrolment(), 10).unwrap();
        assert_eq!(cert.expire_time, Some(1_010));
        assert_eq!(cert.display_name, "Washer repair, level 2");
        assert_eq!(cert.state_at(1_009), CertificationState::Active);
        assert_eq!(cert.state_at(1_010), CertificationState::Expired);
    }
}

//! Training requests: courses, enrolments, assessments, certifications.

use aftercare_platform::request::{
    FieldViolations, Page, child_id, optional_text, required_text, resource_id, update_paths,
};
use aftercare_platform::time::from_timestamp;
use aftercare_proto::aftercare::workforce::v1 as pb;
use uuid::Uuid;

use super::{
    Idempotency, enum_word, equality, filter, idempotency, level, number, page, quoted_id,
    quoted_text, search, version,
};
use crate::domain::training::{
    CertificationState, Completion, CourseState, EnrolmentStatus, Taught,
};
use crate::domain::values::code;
use crate::error::{Error, finish};
use crate::store::{CertificationFilter, EnrolmentFilter};

pub use crate::domain::training::{CourseChange, CourseFields};

const DAY: i64 = 86_400_000_000;

fn taught(v: &mut FieldViolations, field: &str, given: &[pb::CourseSkill]) -> Vec<Taught> {
    if given.len() > 20 {
        v.add(field, "at most 20 skills");
    }
    let mut out: Vec<Taught> = Vec::new();
    for (i, s) in given.iter().enumerate() {
        let id = resource_id(v, &format!("{field}[{i}].skill"), &s.skill, "skills");
        let lvl = level(v, &format!("{field}[{i}].level"), s.level);
        if let (Some(id), Some(lvl)) = (id, lvl) {
            if out.iter().any(|t| t.skill == id) {
                v.add(format!("{field}[{i}].skill"), "is listed twice");
            } else {
                out.push(Taught {
                    skill: id,
                    level: lvl,
                });
            }
        }
    }
    out
}

fn validity(
    v: &mut FieldViolations,
    field: &str,
    d: Option<&prost_types::Duration>,
) -> Option<i64> {
    let d = d?;
    let micros = d.seconds.saturating_mul(1_000_000) + i64::from(d.nanos) / 1_000;
    if micros < DAY || d.nanos < 0 {
        v.add(field, "must be at least 1 day");
        return None;
    }
    Some(micros)
}

fn pass_mark(v: &mut FieldViolations, field: &str, n: i32, default: bool) -> Option<i64> {
    match n {
        0 if default => Some(70),
        1..=100 => Some(i64::from(n)),
        _ => {
            v.add(field, "must be a percentage 1 to 100");
            None
        }
    }
}

fn attempts(v: &mut FieldViolations, field: &str, n: i32) -> Option<i64> {
    if n < 0 {
        v.add(field, "must not be negative");
        None
    } else {
        Some(i64::from(n))
    }
}

fn completion(v: &mut FieldViolations, field: &str, n: i32) -> Option<Completion> {
    number::<pb::CourseCompletion>(v, field, n).and_then(|c| Completion::from_number(c as i64))
}

fn course_state(v: &mut FieldViolations, field: &str, n: i32) -> Option<CourseState> {
    number::<pb::CourseState>(v, field, n).and_then(|c| CourseState::from_number(c as i64))
}

fn cert_code(v: &mut FieldViolations, field: &str, value: &str) -> Option<String> {
    if value.trim().is_empty() {
        None
    } else {
        v.check(field, code(value, 64))
    }
}

/// `CreateCourse`.
#[derive(Debug)]
pub struct CreateCourse {
    /// Fields.
    pub course: CourseFields,
    /// Idempotency.
    pub idempotency: Idempotency,
}

impl TryFrom<pb::CreateCourseRequest> for CreateCourse {
    type Error = Error;
    fn try_from(r: pb::CreateCourseRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let c = r.course.unwrap_or_default();
        let course = CourseFields {
            title: required_text(&mut v, "course.title", &c.title, 200).unwrap_or_default(),
            description: optional_text(&mut v, "course.description", &c.description, 10_000),
            skills: taught(&mut v, "course.skills", &c.skills),
            certification_code: cert_code(
                &mut v,
                "course.certification_code",
                &c.certification_code,
            ),
            certification_display_name: optional_text(
                &mut v,
                "course.certification_display_name",
                &c.certification_display_name,
                200,
            ),
            certification_validity: validity(
                &mut v,
                "course.certification_validity",
                c.certification_validity.as_ref(),
            ),
            completion: completion(&mut v, "course.completion", c.completion)
                .unwrap_or(Completion::Assessment),
            pass_mark: pass_mark(&mut v, "course.pass_mark", c.pass_mark, true).unwrap_or(70),
            max_attempts: attempts(&mut v, "course.max_attempts", c.max_attempts).unwrap_or(0),
            state: course_state(&mut v, "course.state", c.state).unwrap_or(CourseState::Active),
        };
        let idempotency = idempotency(&mut v, &r.request_id, &course);
        finish(v)?;
        Ok(Self {
            course,
            idempotency,
        })
    }
}

/// `ListCourses`.
#[derive(Debug)]
pub struct ListCourses {
    /// State.
    pub state: Option<CourseState>,
    /// Skill taught.
    pub skill: Option<Uuid>,
    /// Code.
    pub certification_code: Option<String>,
    /// Title text.
    pub text: Option<String>,
    /// Page.
    pub page: Page,
}

fn course_state_word(word: &str) -> Option<CourseState> {
    pb::CourseState::from_str_name(&format!("COURSE_STATE_{word}"))
        .or_else(|| pb::CourseState::from_str_name(word))
        .and_then(|s| CourseState::from_number(s as i64))
}

impl TryFrom<pb::ListCoursesRequest> for ListCourses {
    type Error = Error;
    fn try_from(r: pb::ListCoursesRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let page = page(&mut v, r.page_size, &r.page_token, &[&r.filter, &r.query]);
        let mut q = ListCourses {
            state: None,
            skill: None,
            certification_code: None,
            text: None,
            page,
        };
        for c in filter(&mut v, &r.filter).conditions {
            let field = c.field.as_str();
            if !matches!(field, "state" | "skill" | "certification_code") {
                v.add(
                    "filter",
                    format!("unknown field `{field}`; accepted: state, skill, certification_code"),
                );
                continue;
            }
            if !equality(&mut v, field, c.op) {
                continue;
            }
            match field {
                "state" => q.state = enum_word(&mut v, field, c.value.text(), course_state_word),
                "skill" => q.skill = quoted_id(&mut v, field, &c.value, "skills"),
                _ => q.certification_code = quoted_text(&mut v, field, &c.value),
            }
        }
        q.text = search(&mut v, &r.query);
        finish(v)?;
        Ok(q)
    }
}

/// `UpdateCourse`.
#[derive(Debug)]
pub struct UpdateCourse {
    /// Id.
    pub id: Uuid,
    /// Version.
    pub version: i64,
    /// Changes.
    pub changes: Vec<CourseChange>,
}

const COURSE_FIELDS: &[&str] = &[
    "title",
    "description",
    "skills",
    "certification_code",
    "certification_display_name",
    "certification_validity",
    "completion",
    "pass_mark",
    "max_attempts",
    "state",
];

impl TryFrom<pb::UpdateCourseRequest> for UpdateCourse {
    type Error = Error;
    fn try_from(r: pb::UpdateCourseRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let c = r.course.unwrap_or_default();
        let id = resource_id(&mut v, "course.name", &c.name, "courses");
        let version = version(&mut v, "course.etag", &c.etag);
        let mut changes = Vec::new();
        for path in update_paths(&mut v, r.update_mask.as_ref(), COURSE_FIELDS) {
            let field = format!("course.{path}");
            let change = match path {
                "title" => required_text(&mut v, &field, &c.title, 200).map(CourseChange::Title),
                "description" => Some(CourseChange::Description(optional_text(
                    &mut v,
                    &field,
                    &c.description,
                    10_000,
                ))),
                "skills" => Some(CourseChange::Skills(taught(&mut v, &field, &c.skills))),
                "certification_code" => Some(CourseChange::CertificationCode(cert_code(
                    &mut v,
                    &field,
                    &c.certification_code,
                ))),
                "certification_display_name" => Some(CourseChange::CertificationDisplayName(
                    optional_text(&mut v, &field, &c.certification_display_name, 200),
                )),
                "certification_validity" => Some(CourseChange::CertificationValidity(validity(
                    &mut v,
                    &field,
                    c.certification_validity.as_ref(),
                ))),
                "completion" => Some(CourseChange::Completion(
                    completion(&mut v, &field, c.completion).unwrap_or(Completion::Assessment),
                )),
                "pass_mark" => {
                    pass_mark(&mut v, &field, c.pass_mark, false).map(CourseChange::PassMark)
                }
                "max_attempts" => {
                    attempts(&mut v, &field, c.max_attempts).map(CourseChange::MaxAttempts)
                }
                _ => {
                    if c.state == 0 {
                        v.add(field.clone(), "is required");
                    }
                    course_state(&mut v, &field, c.state).map(CourseChange::State)
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

impl TryFrom<pb::GetCourseRequest> for super::ByName {
    type Error = Error;
    fn try_from(r: pb::GetCourseRequest) -> Result<Self, Error> {
        super::by_name(&r.name, "courses")
    }
}

impl TryFrom<pb::DeleteCourseRequest> for super::Delete {
    type Error = Error;
    fn try_from(r: pb::DeleteCourseRequest) -> Result<Self, Error> {
        super::delete(&r.name, &r.etag, "courses")
    }
}

fn time(v: &mut FieldViolations, field: &str, t: Option<&prost_types::Timestamp>) -> Option<i64> {
    let t = t?;
    let micros = from_timestamp(t);
    if micros.is_none() {
        v.add(field, "is not a valid time");
    }
    micros
}

/// `CreateEnrolment`.
#[derive(Debug)]
pub struct CreateEnrolment {
    /// Course.
    pub course: Uuid,
    /// Agent.
    pub agent: Uuid,
    /// Due.
    pub due_time: Option<i64>,
    /// Idempotency.
    pub idempotency: Idempotency,
}

impl TryFrom<pb::CreateEnrolmentRequest> for CreateEnrolment {
    type Error = Error;
    fn try_from(r: pb::CreateEnrolmentRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let e = r.enrolment.unwrap_or_default();
        let course = resource_id(&mut v, "parent", &r.parent, "courses");
        let agent = resource_id(&mut v, "enrolment.agent", &e.agent, "agents");
        let due_time = time(&mut v, "enrolment.due_time", e.due_time.as_ref());
        let what = (course, agent, due_time);
        let idempotency = idempotency(&mut v, &r.request_id, &what);
        finish(v)?;
        Ok(Self {
            course: course.unwrap_or_default(),
            agent: agent.unwrap_or_default(),
            due_time,
            idempotency,
        })
    }
}

/// An enrolment by name.
#[derive(Debug, Clone, Copy)]
pub struct EnrolmentName {
    /// Course.
    pub course: Uuid,
    /// Enrolment.
    pub id: Uuid,
}

fn enrolment_name(v: &mut FieldViolations, field: &str, name: &str) -> EnrolmentName {
    let (course, id) = child_id(v, field, name, "courses", "enrolments").unwrap_or_default();
    EnrolmentName { course, id }
}

impl TryFrom<pb::GetEnrolmentRequest> for EnrolmentName {
    type Error = Error;
    fn try_from(r: pb::GetEnrolmentRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let name = enrolment_name(&mut v, "name", &r.name);
        finish(v)?;
        Ok(name)
    }
}

/// `DeleteEnrolment`.
#[derive(Debug)]
pub struct DeleteEnrolment {
    /// The enrolment.
    pub name: EnrolmentName,
    /// Version.
    pub version: i64,
}

impl TryFrom<pb::DeleteEnrolmentRequest> for DeleteEnrolment {
    type Error = Error;
    fn try_from(r: pb::DeleteEnrolmentRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let name = enrolment_name(&mut v, "name", &r.name);
        let version = version(&mut v, "etag", &r.etag);
        finish(v)?;
        Ok(Self { name, version })
    }
}

/// `ListEnrolments`.
#[derive(Debug)]
pub struct ListEnrolments {
    /// The course, or all (`courses/-`).
    pub course: Option<Uuid>,
    /// Conditions.
    pub filters: Vec<EnrolmentFilter>,
    /// Page.
    pub page: Page,
}

fn enrolment_status_word(word: &str) -> Option<EnrolmentStatus> {
    pb::EnrolmentStatus::from_str_name(&format!("ENROLMENT_STATUS_{word}"))
        .or_else(|| pb::EnrolmentStatus::from_str_name(word))
        .and_then(|s| EnrolmentStatus::from_number(s as i64))
}

impl TryFrom<pb::ListEnrolmentsRequest> for ListEnrolments {
    type Error = Error;
    fn try_from(r: pb::ListEnrolmentsRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let course = if r.parent == "courses/-" {
            None
        } else {
            resource_id(&mut v, "parent", &r.parent, "courses")
        };
        let page = page(&mut v, r.page_size, &r.page_token, &[&r.parent, &r.filter]);
        let mut filters = Vec::new();
        for c in filter(&mut v, &r.filter).conditions {
            let field = c.field.as_str();
            let parsed = match field {
                "agent" if equality(&mut v, field, c.op) => {
                    quoted_id(&mut v, field, &c.value, "agents").map(EnrolmentFilter::Agent)
                }
                "status" if equality(&mut v, field, c.op) => {
                    enum_word(&mut v, field, c.value.text(), enrolment_status_word)
                        .map(EnrolmentFilter::Status)
                }
                "agent" | "status" => None,
                "due_time" | "create_time" | "finish_time" => {
                    let column = match field {
                        "due_time" => "due_time",
                        "create_time" => "create_time",
                        _ => "finish_time",
                    };
                    v.check("filter", c.value.time())
                        .map(|t| EnrolmentFilter::Time(column, c.op, t))
                }
                other => {
                    v.add("filter", format!("unknown field `{other}`; accepted: agent, status, due_time, create_time, finish_time"));
                    None
                }
            };
            filters.extend(parsed);
        }
        finish(v)?;
        Ok(Self {
            course,
            filters,
            page,
        })
    }
}

/// `UpdateEnrolment`.
#[derive(Debug)]
pub struct UpdateEnrolment {
    /// The enrolment.
    pub name: EnrolmentName,
    /// Version.
    pub version: i64,
    /// New progress.
    pub progress: Option<i64>,
    /// New due time (`Some(None)` clears).
    pub due_time: Option<Option<i64>>,
}

impl TryFrom<pb::UpdateEnrolmentRequest> for UpdateEnrolment {
    type Error = Error;
    fn try_from(r: pb::UpdateEnrolmentRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let e = r.enrolment.unwrap_or_default();
        let name = enrolment_name(&mut v, "enrolment.name", &e.name);
        let version = version(&mut v, "enrolment.etag", &e.etag);
        let mut q = UpdateEnrolment {
            name,
            version,
            progress: None,
            due_time: None,
        };
        for path in update_paths(
            &mut v,
            r.update_mask.as_ref(),
            &["progress_percent", "due_time"],
        ) {
            if path == "progress_percent" {
                if (0..=100).contains(&e.progress_percent) {
                    q.progress = Some(i64::from(e.progress_percent));
                } else {
                    v.add("enrolment.progress_percent", "must be 0 to 100");
                }
            } else {
                q.due_time = Some(time(&mut v, "enrolment.due_time", e.due_time.as_ref()));
            }
        }
        finish(v)?;
        Ok(q)
    }
}

/// `SubmitAssessment`.
#[derive(Debug)]
pub struct SubmitAssessment {
    /// The enrolment.
    pub name: EnrolmentName,
    /// Points.
    pub score: i64,
    /// Possible.
    pub max_score: i64,
    /// Notes.
    pub notes: Option<String>,
    /// Idempotency.
    pub idempotency: Idempotency,
}

impl TryFrom<pb::SubmitAssessmentRequest> for SubmitAssessment {
    type Error = Error;
    fn try_from(r: pb::SubmitAssessmentRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let name = enrolment_name(&mut v, "enrolment", &r.enrolment);
        let max_score = match r.max_score {
            0 => 100,
            n @ 1..=10_000 => i64::from(n),
            _ => {
                v.add("max_score", "must be 1 to 10000");
                100
            }
        };
        if r.score < 0 || i64::from(r.score) > max_score {
            v.add("score", format!("must be 0 to max_score ({max_score})"));
        }
        let notes = optional_text(&mut v, "notes", &r.notes, 2000);
        let what = (name.id, r.score, max_score, &notes);
        let idempotency = idempotency(&mut v, &r.request_id, &what);
        finish(v)?;
        Ok(Self {
            name,
            score: i64::from(r.score),
            max_score,
            notes,
            idempotency,
        })
    }
}

/// `ListAssessments`.
#[derive(Debug)]
pub struct ListAssessments {
    /// The enrolment.
    pub name: EnrolmentName,
    /// Page.
    pub page: Page,
}

impl TryFrom<pb::ListAssessmentsRequest> for ListAssessments {
    type Error = Error;
    fn try_from(r: pb::ListAssessmentsRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let name = enrolment_name(&mut v, "parent", &r.parent);
        let page = page(&mut v, r.page_size, &r.page_token, &[&r.parent]);
        finish(v)?;
        Ok(Self { name, page })
    }
}

/// `CreateCertification`.
#[derive(Debug)]
pub struct CreateCertification {
    /// Agent.
    pub agent: Uuid,
    /// Code.
    pub code: String,
    /// Name.
    pub display_name: String,
    /// Issued.
    pub issue_time: Option<i64>,
    /// Expires.
    pub expire_time: Option<i64>,
    /// Idempotency.
    pub idempotency: Idempotency,
}

impl TryFrom<pb::CreateCertificationRequest> for CreateCertification {
    type Error = Error;
    fn try_from(r: pb::CreateCertificationRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let c = r.certification.unwrap_or_default();
        let agent = resource_id(&mut v, "parent", &r.parent, "agents");
        let code = v.check("certification.code", code(&c.code, 64));
        let display_name =
            required_text(&mut v, "certification.display_name", &c.display_name, 200);
        let issue_time = time(&mut v, "certification.issue_time", c.issue_time.as_ref());
        let expire_time = time(&mut v, "certification.expire_time", c.expire_time.as_ref());
        if let (Some(issue), Some(expire)) = (issue_time, expire_time)
            && expire <= issue
        {
            v.add("certification.expire_time", "must be after issue_time");
        }
        let what = (agent, &code, &display_name, issue_time, expire_time);
        let idempotency = idempotency(&mut v, &r.request_id, &what);
        finish(v)?;
        Ok(Self {
            agent: agent.unwrap_or_default(),
            code: code.unwrap_or_default(),
            display_name: display_name.unwrap_or_default(),
            issue_time,
            expire_time,
            idempotency,
        })
    }
}

/// A certification by name.
#[derive(Debug, Clone, Copy)]
pub struct CertificationName {
    /// Agent.
    pub agent: Uuid,
    /// Certification.
    pub id: Uuid,
}

impl TryFrom<pb::GetCertificationRequest> for CertificationName {
    type Error = Error;
    fn try_from(r: pb::GetCertificationRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let (agent, id) =
            child_id(&mut v, "name", &r.name, "agents", "certifications").unwrap_or_default();
        finish(v)?;
        Ok(Self { agent, id })
    }
}

/// `RevokeCertification`.
#[derive(Debug)]
pub struct RevokeCertification {
    /// The certification.
    pub name: CertificationName,
    /// Version.
    pub version: i64,
    /// Why.
    pub reason: String,
}

impl TryFrom<pb::RevokeCertificationRequest> for RevokeCertification {
    type Error = Error;
    fn try_from(r: pb::RevokeCertificationRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let (agent, id) =
            child_id(&mut v, "name", &r.name, "agents", "certifications").unwrap_or_default();
        let version = version(&mut v, "etag", &r.etag);
        let reason = required_text(&mut v, "reason", &r.reason, 500);
        finish(v)?;
        Ok(Self {
            name: CertificationName { agent, id },
            version,
            reason: reason.unwrap_or_default(),
        })
    }
}

/// `ListCertifications`.
#[derive(Debug)]
pub struct ListCertifications {
    /// One agent, or all (`agents/-`).
    pub agent: Option<Uuid>,
    /// Conditions.
    pub filters: Vec<CertificationFilter>,
    /// Expiring within, microseconds.
    pub expire_within: Option<i64>,
    /// Page.
    pub page: Page,
}

fn certification_state_word(word: &str) -> Option<CertificationState> {
    pb::CertificationState::from_str_name(&format!("CERTIFICATION_STATE_{word}"))
        .or_else(|| pb::CertificationState::from_str_name(word))
        .and_then(|s| CertificationState::from_number(s as i64))
}

impl TryFrom<pb::ListCertificationsRequest> for ListCertifications {
    type Error = Error;
    fn try_from(r: pb::ListCertificationsRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let agent = if r.parent == "agents/-" {
            None
        } else {
            resource_id(&mut v, "parent", &r.parent, "agents")
        };
        let within = r
            .expire_within
            .as_ref()
            .map(|d| format!("{}.{}", d.seconds, d.nanos))
            .unwrap_or_default();
        let page = page(
            &mut v,
            r.page_size,
            &r.page_token,
            &[&r.parent, &r.filter, &within],
        );
        let mut filters = Vec::new();
        for c in filter(&mut v, &r.filter).conditions {
            let field = c.field.as_str();
            let parsed = match field {
                "code" if equality(&mut v, field, c.op) => {
                    quoted_text(&mut v, field, &c.value).map(CertificationFilter::Code)
                }
                "course" if equality(&mut v, field, c.op) => {
                    quoted_id(&mut v, field, &c.value, "courses").map(CertificationFilter::Course)
                }
                "state" if equality(&mut v, field, c.op) => {
                    enum_word(&mut v, field, c.value.text(), certification_state_word)
                        .map(CertificationFilter::State)
                }
                "code" | "course" | "state" => None,
                "issue_time" | "expire_time" => {
                    let column = if field == "issue_time" {
                        "issue_time"
                    } else {
                        "expire_time"
                    };
                    v.check("filter", c.value.time())
                        .map(|t| CertificationFilter::Time(column, c.op, t))
                }
                other => {
                    v.add("filter", format!("unknown field `{other}`; accepted: code, state, course, issue_time, expire_time"));
                    None
                }
            };
            filters.extend(parsed);
        }
        let expire_within = r.expire_within.as_ref().and_then(|d| {
            let micros = d.seconds.saturating_mul(1_000_000);
            if d.seconds <= 0 || d.seconds > 3660 * 86_400 {
                v.add("expire_within", "must be more than 0 and at most 3660 days");
                None
            } else {
                Some(micros)
            }
        });
        finish(v)?;
        Ok(Self {
            agent,
            filters,
            expire_within,
            page,
        })
    }
}

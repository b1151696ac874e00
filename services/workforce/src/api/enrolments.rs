//! Enrolments and assessments: enrol, read, report progress, withdraw, grade; completing a
//! course raises the agent's skills and issues its certification in the same transaction.

use aftercare_platform::request::PageToken;
use aftercare_platform::time::{now_micros, to_timestamp};
use aftercare_proto::aftercare::events::v1::{
    AgentUpdated, CertificationIssued, EnrolmentCompleted,
};
use aftercare_proto::aftercare::workforce::v1 as pb;
use uuid::Uuid;

use super::Api;
use super::agents::{load as load_agent, remember, replayed, request_key};
use super::courses::load as load_course;
use super::parse::{
    CreateEnrolment, DeleteEnrolment, EnrolmentName, ListAssessments, ListEnrolments,
    SubmitAssessment, UpdateEnrolment,
};
use crate::convert::{self, certification_name, course_name, enrolment_name};
use crate::domain::access::Caller;
use crate::domain::agent::AgentState;
use crate::domain::names::agent_name;
use crate::domain::training::{
    Actor, Certification, Course, CourseState, Enrolment, EnrolmentStatus, grade, issue,
    raise_skills, report_progress,
};
use crate::error::{ENROLMENT, Error};
use crate::events::{actor, publish, snapshot, system};
use crate::store::{self, Conn, EnrolmentQuery};

fn recorded(principal: &aftercare_platform::auth::Principal) -> Actor {
    let a = actor(principal);
    Actor {
        kind: a.r#type,
        id: a.id,
        name: a.display_name,
    }
}

/// The enrolment named, or `NOT_FOUND` (also when it belongs to another course).
pub async fn load(conn: &mut Conn, name: EnrolmentName) -> Result<Enrolment, Error> {
    store::find_enrolment(conn, name.id)
        .await?
        .filter(|e| e.course == name.course)
        .ok_or_else(|| Error::not_found(ENROLMENT, enrolment_name(name.course, name.id)))
}

/// Completes `enrolment` (already marked completed): raises the agent's skills, issues the
/// certification, and writes the events, in `tx`.
async fn complete(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    course: &Course,
    enrolment: &mut Enrolment,
    now: i64,
) -> Result<Option<Certification>, Error> {
    let mut agent = load_agent(tx, enrolment.agent).await?;
    let (raised, after) = raise_skills(&agent.profile.skills, &course.skills);
    if !raised.is_empty() {
        let expected = agent.version;
        agent.profile.skills = after;
        agent.version += 1;
        agent.update_time = now;
        if !store::update_agent(tx, &agent, expected).await? {
            return Err(Error::state(
                agent_name(agent.id),
                "the agent changed meanwhile; retry",
            ));
        }
        let event = AgentUpdated {
            agent: Some(snapshot(&agent)),
            changed_fields: vec!["skills".into()],
            actor: Some(system()),
        };
        publish(tx, &agent_name(agent.id), &event).await?;
    }
    let certification = issue(course, enrolment, now);
    if let Some(c) = &certification {
        store::insert_certification(tx, c).await?;
        enrolment.certification = Some(c.id);
        let event = CertificationIssued {
            certification: certification_name(c.agent, c.id),
            agent: agent_name(c.agent),
            code: c.code.clone(),
            display_name: c.display_name.clone(),
            course: course_name(course.id),
            issue_time: Some(to_timestamp(c.issue_time)),
            expire_time: c.expire_time.map(to_timestamp),
            actor: Some(system()),
        };
        publish(tx, &certification_name(c.agent, c.id), &event).await?;
    }
    let event = EnrolmentCompleted {
        enrolment: enrolment_name(course.id, enrolment.id),
        course: course_name(course.id),
        course_title: course.title.clone(),
        agent: agent_name(enrolment.agent),
        score_percent: enrolment.best_score,
        attempts: enrolment.attempts as i32,
        certification: enrolment
            .certification
            .map(|c| certification_name(enrolment.agent, c))
            .unwrap_or_default(),
        raised_skills: convert::agent_skills(&raised),
        finish_time: enrolment.finish_time.map(to_timestamp),
    };
    publish(tx, &enrolment_name(course.id, enrolment.id), &event).await?;
    Ok(certification)
}

#[tracing::instrument(skip_all, fields(course = %request.course))]
pub async fn create(
    api: &Api,
    caller: &Caller,
    request: CreateEnrolment,
) -> Result<pb::CreateEnrolmentResponse, Error> {
    if !caller.may_manage_training() {
        return Err(Error::PermissionDenied("trainers and admins enrol agents"));
    }
    let parent = course_name(request.course);
    let key = request_key(caller, "CreateEnrolment", &parent, &request.idempotency);
    let fingerprint = &request.idempotency.fingerprint;
    let now = now_micros();
    let mut tx = api.db.begin().await?;
    if let Some(id) = replayed(&mut tx, key.as_ref(), fingerprint, ENROLMENT).await? {
        let name = EnrolmentName {
            course: request.course,
            id,
        };
        return Ok(pb::CreateEnrolmentResponse {
            enrolment: Some(convert::enrolment(&load(&mut tx, name).await?)),
        });
    }
    let course = load_course(&mut tx, request.course).await?;
    if course.state != CourseState::Active {
        return Err(Error::state(
            parent,
            "the course is archived and takes no enrolments",
        ));
    }
    let agent = load_agent(&mut tx, request.agent).await?;
    if agent.is_deleted() || agent.profile.state != AgentState::Active {
        return Err(Error::state(
            agent_name(agent.id),
            "only active agents are enrolled",
        ));
    }
    let enrolment = Enrolment {
        id: Uuid::now_v7(),
        course: course.id,
        agent: agent.id,
        status: EnrolmentStatus::Enrolled,
        progress: 0,
        due_time: request.due_time,
        attempts: 0,
        best_score: 0.0,
        certification: None,
        enrolled_by: recorded(&caller.principal),
        finish_time: None,
        version: 1,
        create_time: now,
        update_time: now,
    };
    if !remember(&mut tx, key.as_ref(), fingerprint, enrolment.id, now).await? {
        tx.rollback().await?;
        let mut conn = api.db.reader().acquire().await?;
        let id = replayed(&mut conn, key.as_ref(), fingerprint, ENROLMENT)
            .await?
            .ok_or_else(|| Error::state("enrolments", "a concurrent create failed; retry"))?;
        let name = EnrolmentName {
            course: request.course,
            id,
        };
        return Ok(pb::CreateEnrolmentResponse {
            enrolment: Some(convert::enrolment(&load(&mut conn, name).await?)),
        });
    }
    if !store::insert_enrolment(&mut tx, &enrolment).await? {
        return Err(Error::exists(
            ENROLMENT,
            agent_name(agent.id),
            "the agent already has an open enrolment in this course",
        ));
    }
    tx.commit().await?;
    tracing::info!(enrolment = %enrolment.id, "agent enrolled");
    Ok(pb::CreateEnrolmentResponse {
        enrolment: Some(convert::enrolment(&enrolment)),
    })
}

#[tracing::instrument(skip_all, fields(enrolment = %request.id))]
pub async fn get(
    api: &Api,
    caller: &Caller,
    request: EnrolmentName,
) -> Result<pb::GetEnrolmentResponse, Error> {
    let mut conn = api.db.reader().acquire().await?;
    let enrolment = load(&mut conn, request).await?;
    if !caller.may_read_training_of(enrolment.agent) {
        return Err(Error::PermissionDenied(
            "agents read only their own enrolments",
        ));
    }
    Ok(pb::GetEnrolmentResponse {
        enrolment: Some(convert::enrolment(&enrolment)),
    })
}

#[tracing::instrument(skip_all)]
pub async fn list(
    api: &Api,
    caller: &Caller,
    request: ListEnrolments,
) -> Result<pb::ListEnrolmentsResponse, Error> {
    if caller.reach().is_none() {
        return Err(Error::PermissionDenied(
            "customers and integrations cannot read enrolments",
        ));
    }
    let only_agent = match caller.training_limited_to() {
        Some(Some(me)) => Some(me),
        Some(None) => return Ok(pb::ListEnrolmentsResponse::default()),
        None => None,
    };
    let page = &request.page;
    let query = EnrolmentQuery {
        course: request.course,
        filters: request.filters.clone(),
        only_agent,
        before: page
            .after
            .as_ref()
            .and_then(|t| t.int_key().map(|k| (k, t.id.clone()))),
        limit: page.limit(),
    };
    let mut conn = api.db.reader().acquire().await?;
    let mut enrolments = store::list_enrolments(&mut conn, &query).await?;
    let next_page_token = page.finish(&mut enrolments, |e| PageToken::int(e.create_time, e.id));
    Ok(pb::ListEnrolmentsResponse {
        enrolments: enrolments.iter().map(convert::enrolment).collect(),
        next_page_token,
    })
}

#[tracing::instrument(skip_all, fields(enrolment = %request.name.id))]
pub async fn update(
    api: &Api,
    caller: &Caller,
    request: UpdateEnrolment,
) -> Result<pb::UpdateEnrolmentResponse, Error> {
    let now = now_micros();
    let mut tx = api.db.begin().await?;
    let mut enrolment = load(&mut tx, request.name).await?;
    let own = caller.agent == Some(enrolment.agent);
    let manager = caller.may_manage_training();
    let may = manager || (own && request.due_time.is_none());
    if !may {
        return Err(Error::PermissionDenied(
            "agents report their own progress; trainers and admins change due times",
        ));
    }
    let name = enrolment_name(enrolment.course, enrolment.id);
    if enrolment.version != request.version {
        return Err(Error::StaleEtag(name));
    }
    if !enrolment.is_open() {
        return Err(Error::state(
            name,
            "the enrolment is already completed or failed",
        ));
    }
    let course = load_course(&mut tx, enrolment.course).await?;
    let mut completed = false;
    if let Some(progress) = request.progress {
        completed = report_progress(&course, &mut enrolment, progress, now)
            .map_err(|why| Error::state(&name, why))?;
    }
    if let Some(due) = request.due_time {
        enrolment.due_time = due;
    }
    enrolment.version += 1;
    enrolment.update_time = now;
    let certification = if completed {
        complete(&mut tx, &course, &mut enrolment, now).await?
    } else {
        None
    };
    if !store::update_enrolment(&mut tx, &enrolment, request.version).await? {
        return Err(Error::StaleEtag(name));
    }
    tx.commit().await?;
    if completed {
        api.relay.wake();
        tracing::info!(enrolment = %enrolment.id, "enrolment completed");
    }
    Ok(pb::UpdateEnrolmentResponse {
        enrolment: Some(convert::enrolment(&enrolment)),
        certification: certification.map(|c| convert::certification(&c, now)),
    })
}

#[tracing::instrument(skip_all, fields(enrolment = %request.name.id))]
pub async fn delete(
    api: &Api,
    caller: &Caller,
    request: DeleteEnrolment,
) -> Result<pb::DeleteEnrolmentResponse, Error> {
    if !caller.may_manage_training() {
        return Err(Error::PermissionDenied(
            "trainers and admins withdraw agents",
        ));
    }
    let mut tx = api.db.begin().await?;
    let enrolment = load(&mut tx, request.name).await?;
    let name = enrolment_name(enrolment.course, enrolment.id);
    if enrolment.version != request.version {
        return Err(Error::StaleEtag(name));
    }
    if !enrolment.is_open() {
        return Err(Error::state(
            name,
            "completed and failed enrolments are kept as training history",
        ));
    }
    if !store::delete_enrolment(&mut tx, enrolment.id, request.version).await? {
        return Err(Error::StaleEtag(name));
    }
    tx.commit().await?;
    Ok(pb::DeleteEnrolmentResponse {})
}

#[tracing::instrument(skip_all, fields(enrolment = %request.name.id))]
pub async fn submit_assessment(
    api: &Api,
    caller: &Caller,
    request: SubmitAssessment,
) -> Result<pb::SubmitAssessmentResponse, Error> {
    if !caller.may_manage_training() {
        return Err(Error::PermissionDenied(
            "trainers and admins grade assessments",
        ));
    }
    let parent = enrolment_name(request.name.course, request.name.id);
    let key = request_key(caller, "SubmitAssessment", &parent, &request.idempotency);
    let fingerprint = &request.idempotency.fingerprint;
    let now = now_micros();
    let mut tx = api.db.begin().await?;
    let mut enrolment = load(&mut tx, request.name).await?;
    let course = load_course(&mut tx, enrolment.course).await?;
    if let Some(id) = replayed(&mut tx, key.as_ref(), fingerprint, ENROLMENT).await? {
        let assessment = store::find_assessment(&mut tx, id)
            .await?
            .ok_or_else(|| Error::not_found(ENROLMENT, parent.clone()))?;
        let certification = match enrolment.certification.filter(|_| assessment.passed) {
            Some(c) => store::find_certification(&mut tx, c).await?,
            None => None,
        };
        return Ok(pb::SubmitAssessmentResponse {
            assessment: Some(convert::assessment(course.id, &assessment)),
            enrolment: Some(convert::enrolment(&enrolment)),
            certification: certification.map(|c| convert::certification(&c, now)),
        });
    }
    let expected = enrolment.version;
    let graded = grade(
        &course,
        &mut enrolment,
        request.score,
        request.max_score,
        recorded(&caller.principal),
        request.notes,
        now,
    )
    .map_err(|why| Error::state(&parent, why))?;
    if !remember(
        &mut tx,
        key.as_ref(),
        fingerprint,
        graded.assessment.id,
        now,
    )
    .await?
    {
        return Err(Error::state(
            parent,
            "a concurrent submission with this request_id; retry",
        ));
    }
    store::insert_assessment(&mut tx, &graded.assessment).await?;
    let certification = if graded.completed {
        complete(&mut tx, &course, &mut enrolment, now).await?
    } else {
        None
    };
    if !store::update_enrolment(&mut tx, &enrolment, expected).await? {
        return Err(Error::StaleEtag(parent));
    }
    tx.commit().await?;
    api.relay.wake();
    tracing::info!(enrolment = %enrolment.id, passed = graded.assessment.passed, "assessment graded");
    Ok(pb::SubmitAssessmentResponse {
        assessment: Some(convert::assessment(course.id, &graded.assessment)),
        enrolment: Some(convert::enrolment(&enrolment)),
        certification: certification.map(|c| convert::certification(&c, now)),
    })
}

#[tracing::instrument(skip_all, fields(enrolment = %request.name.id))]
pub async fn list_assessments(
    api: &Api,
    caller: &Caller,
    request: ListAssessments,
) -> Result<pb::ListAssessmentsResponse, Error> {
    let mut conn = api.db.reader().acquire().await?;
    let enrolment = load(&mut conn, request.name).await?;
    if !caller.may_read_training_of(enrolment.agent) {
        return Err(Error::PermissionDenied(
            "agents read only their own assessments",
        ));
    }
    let page = &request.page;
    let after = page
        .after
        .as_ref()
        .and_then(PageToken::int_key)
        .unwrap_or(0);
    let mut assessments =
        store::list_assessments(&mut conn, enrolment.id, after, page.limit()).await?;
    let next_page_token = page.finish(&mut assessments, |a| PageToken::int(a.attempt, a.id));
    Ok(pb::ListAssessmentsResponse {
        assessments: assessments
            .iter()
            .map(|a| convert::assessment(enrolment.course, a))
            .collect(),
        next_page_token,
    })
}

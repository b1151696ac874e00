//! Enrolments and assessments: enrol, read, report progress, withdraw, grade; completing a
//! course raises the agent's skills and issues its certification in the same transaction.

use aftercare_platform::request::PageToken;
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::workforce::v1 as pb;

use super::parse::{
    CreateEnrolment, DeleteEnrolment, EnrolmentName, ListAssessments, ListEnrolments,
    SubmitAssessment, UpdateEnrolment,
};
use super::{Api, request_key};
use crate::convert::{self, course_name, enrolment_name};
use crate::domain::access::Caller;
use crate::domain::names::agent_name;
use crate::domain::training::{Enrolment, complete, grade, may_enrol};
use crate::error::{ENROLMENT, Error};
use crate::events::recorded;
use crate::store::{self, EnrolmentQuery};

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
    let mut conn = api.db.reader().acquire().await?;
    if let Some(first) = api.replayed(key.as_ref(), ENROLMENT).await? {
        let enrolment = store::load_enrolment(&mut conn, request.course, first).await?;
        return Ok(pb::CreateEnrolmentResponse {
            enrolment: Some(convert::enrolment(&enrolment)),
        });
    }
    let course = store::load_course(&mut conn, request.course).await?;
    if !course.takes_enrolments() {
        return Err(Error::state(
            parent,
            "the course is archived and takes no enrolments",
        ));
    }
    let agent = store::load_agent(&mut conn, request.agent).await?;
    drop(conn);
    if !may_enrol(&agent) {
        return Err(Error::state(
            agent_name(agent.id),
            "only active agents are enrolled",
        ));
    }
    let by = recorded(&caller.principal);
    let enrolment = Enrolment::new(course.id, agent.id, request.due_time, by, now_micros());
    let enrolment = store::create_enrolment(&api.db, &enrolment, key.as_ref()).await?;
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
    let enrolment = store::load_enrolment(&mut conn, request.course, request.id).await?;
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
    let name = &request.name;
    let mut conn = api.db.reader().acquire().await?;
    let mut enrolment = store::load_enrolment(&mut conn, name.course, name.id).await?;
    if !caller.may_update_enrolment(enrolment.agent, request.due_time.is_some()) {
        return Err(Error::PermissionDenied(
            "agents report their own progress; trainers and admins change due times",
        ));
    }
    let course = store::load_course(&mut conn, enrolment.course).await?;
    let expected = request.version;
    let completed = enrolment
        .update(expected, &course, request.progress, request.due_time, now)
        .map_err(|refused| Error::refused(refused, enrolment_name(name.course, name.id)))?;
    let completed = match completed {
        true => {
            let agent = store::load_agent(&mut conn, enrolment.agent).await?;
            Some(complete(&course, &mut enrolment, &agent, now))
        }
        false => None,
    };
    drop(conn);
    store::save_enrolment(&api.db, &enrolment, expected, &course, completed.as_ref()).await?;
    if completed.is_some() {
        api.relay.wake();
    }
    Ok(pb::UpdateEnrolmentResponse {
        enrolment: Some(convert::enrolment(&enrolment)),
        certification: completed
            .and_then(|c| c.certification)
            .map(|c| convert::certification(&c, now)),
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
    let name = &request.name;
    let mut conn = api.db.reader().acquire().await?;
    let enrolment = store::load_enrolment(&mut conn, name.course, name.id).await?;
    drop(conn);
    enrolment
        .withdraw(request.version)
        .map_err(|refused| Error::refused(refused, enrolment_name(name.course, name.id)))?;
    store::remove_enrolment(&api.db, name.course, name.id, request.version).await?;
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
    let now = now_micros();
    let mut conn = api.db.reader().acquire().await?;
    let mut enrolment =
        store::load_enrolment(&mut conn, request.name.course, request.name.id).await?;
    let course = store::load_course(&mut conn, enrolment.course).await?;
    if let Some(first) = api.replayed(key.as_ref(), ENROLMENT).await? {
        let assessment = store::find_assessment(&mut conn, first)
            .await?
            .ok_or_else(|| Error::not_found(ENROLMENT, parent.clone()))?;
        let certification = match enrolment.certification.filter(|_| assessment.passed) {
            Some(c) => store::find_certification(&mut conn, c).await?,
            None => None,
        };
        return Ok(pb::SubmitAssessmentResponse {
            assessment: Some(convert::assessment(course.id, &assessment)),
            enrolment: Some(convert::enrolment(&enrolment)),
            certification: certification.map(|c| convert::certification(&c, now)),
        });
    }
    let expected = enrolment.version;
    let by = recorded(&caller.principal);
    let graded = grade(
        &course,
        &mut enrolment,
        request.score,
        request.max_score,
        by,
        request.notes,
        now,
    )
    .map_err(|why| Error::state(&parent, why))?;
    let completed = match graded.completed {
        true => {
            let agent = store::load_agent(&mut conn, enrolment.agent).await?;
            Some(complete(&course, &mut enrolment, &agent, now))
        }
        false => None,
    };
    drop(conn);
    let assessment = &graded.assessment;
    store::record_assessment(
        &api.db,
        assessment,
        key.as_ref(),
        &enrolment,
        expected,
        &course,
        completed.as_ref(),
    )
    .await?;
    api.relay.wake();
    Ok(pb::SubmitAssessmentResponse {
        assessment: Some(convert::assessment(course.id, assessment)),
        enrolment: Some(convert::enrolment(&enrolment)),
        certification: completed
            .and_then(|c| c.certification)
            .map(|c| convert::certification(&c, now)),
    })
}

#[tracing::instrument(skip_all, fields(enrolment = %request.name.id))]
pub async fn list_assessments(
    api: &Api,
    caller: &Caller,
    request: ListAssessments,
) -> Result<pb::ListAssessmentsResponse, Error> {
    let mut conn = api.db.reader().acquire().await?;
    let enrolment = store::load_enrolment(&mut conn, request.name.course, request.name.id).await?;
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

//! Courses: create, get, list, update, delete.

use aftercare_platform::request::PageToken;
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::workforce::v1 as pb;
use uuid::Uuid;

use super::Api;
use super::agents::{remember, replayed, request_key};
use super::parse::{ByName, CourseChange, CreateCourse, Delete, ListCourses, UpdateCourse};
use crate::convert::{self, course_name};
use crate::domain::access::Caller;
use crate::domain::training::{Course, Taught};
use crate::error::{COURSE, Error};
use crate::store::{self, Conn, CourseQuery};

/// The course with `id`, or `NOT_FOUND`.
pub async fn load(conn: &mut Conn, id: Uuid) -> Result<Course, Error> {
    store::find_course(conn, id)
        .await?
        .ok_or_else(|| Error::not_found(COURSE, course_name(id)))
}

async fn check_skills(conn: &mut Conn, skills: &[Taught]) -> Result<(), Error> {
    let ids: Vec<Uuid> = skills.iter().map(|t| t.skill).collect();
    let missing = store::missing_skills(conn, &ids).await?;
    let mut violations = aftercare_platform::request::FieldViolations::new();
    for (i, t) in skills.iter().enumerate() {
        if missing.contains(&t.skill) {
            violations.add(format!("course.skills[{i}].skill"), "no such skill");
        }
    }
    crate::error::finish(violations)
}

fn deny() -> Error {
    Error::PermissionDenied("trainers and admins manage courses")
}

#[tracing::instrument(skip_all)]
pub async fn create(
    api: &Api,
    caller: &Caller,
    request: CreateCourse,
) -> Result<pb::CreateCourseResponse, Error> {
    if !caller.may_manage_training() {
        return Err(deny());
    }
    let key = request_key(caller, "CreateCourse", "", &request.idempotency);
    let fingerprint = &request.idempotency.fingerprint;
    let now = now_micros();
    let mut tx = api.db.begin().await?;
    if let Some(id) = replayed(&mut tx, key.as_ref(), fingerprint, COURSE).await? {
        return Ok(pb::CreateCourseResponse {
            course: Some(convert::course(&load(&mut tx, id).await?)),
        });
    }
    let c = request.course;
    check_skills(&mut tx, &c.skills).await?;
    let course = Course {
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
    };
    if !remember(&mut tx, key.as_ref(), fingerprint, course.id, now).await? {
        tx.rollback().await?;
        let mut conn = api.db.reader().acquire().await?;
        let id = replayed(&mut conn, key.as_ref(), fingerprint, COURSE)
            .await?
            .ok_or_else(|| Error::state("courses", "a concurrent create failed; retry"))?;
        return Ok(pb::CreateCourseResponse {
            course: Some(convert::course(&load(&mut conn, id).await?)),
        });
    }
    store::insert_course(&mut tx, &course).await?;
    tx.commit().await?;
    tracing::info!(course = %course.id, "course created");
    Ok(pb::CreateCourseResponse {
        course: Some(convert::course(&course)),
    })
}

#[tracing::instrument(skip_all, fields(course = %request.0))]
pub async fn get(
    api: &Api,
    caller: &Caller,
    request: ByName,
) -> Result<pb::GetCourseResponse, Error> {
    if !caller.may_read_catalogue() {
        return Err(Error::PermissionDenied(
            "customers and integrations cannot read courses",
        ));
    }
    let mut conn = api.db.reader().acquire().await?;
    Ok(pb::GetCourseResponse {
        course: Some(convert::course(&load(&mut conn, request.0).await?)),
    })
}

#[tracing::instrument(skip_all)]
pub async fn list(
    api: &Api,
    caller: &Caller,
    request: ListCourses,
) -> Result<pb::ListCoursesResponse, Error> {
    if !caller.may_read_catalogue() {
        return Err(Error::PermissionDenied(
            "customers and integrations cannot read courses",
        ));
    }
    let page = &request.page;
    let query = CourseQuery {
        state: request.state,
        skill: request.skill,
        certification_code: request.certification_code.clone(),
        text: request.text.clone(),
        after: page
            .after
            .as_ref()
            .and_then(|t| t.text_key().map(|k| (k.to_owned(), t.id.clone()))),
        limit: page.limit(),
    };
    let mut conn = api.db.reader().acquire().await?;
    let mut courses = store::list_courses(&mut conn, &query).await?;
    let next_page_token = page.finish(&mut courses, |c| {
        PageToken::text(c.title.to_lowercase(), c.id)
    });
    Ok(pb::ListCoursesResponse {
        courses: courses.iter().map(convert::course).collect(),
        next_page_token,
    })
}

#[tracing::instrument(skip_all, fields(course = %request.id))]
pub async fn update(
    api: &Api,
    caller: &Caller,
    request: UpdateCourse,
) -> Result<pb::UpdateCourseResponse, Error> {
    if !caller.may_manage_training() {
        return Err(deny());
    }
    let mut tx = api.db.begin().await?;
    let mut course = load(&mut tx, request.id).await?;
    let name = course_name(course.id);
    if course.version != request.version {
        return Err(Error::StaleEtag(name));
    }
    let before = course.clone();
    for change in request.changes {
        match change {
            CourseChange::Title(v) => course.title = v,
            CourseChange::Description(v) => course.description = v,
            CourseChange::Skills(v) => {
                check_skills(&mut tx, &v).await?;
                course.skills = v;
            }
            CourseChange::CertificationCode(v) => course.certification_code = v,
            CourseChange::CertificationDisplayName(v) => course.certification_display_name = v,
            CourseChange::CertificationValidity(v) => course.certification_validity = v,
            CourseChange::Completion(v) => course.completion = v,
            CourseChange::PassMark(v) => course.pass_mark = v,
            CourseChange::MaxAttempts(v) => course.max_attempts = v,
            CourseChange::State(v) => course.state = v,
        }
    }
    if course != before {
        course.version += 1;
        course.update_time = now_micros();
        if !store::update_course(&mut tx, &course, request.version).await? {
            return Err(Error::StaleEtag(name));
        }
        tx.commit().await?;
        tracing::info!(course = %course.id, version = course.version, "course updated");
    }
    Ok(pb::UpdateCourseResponse {
        course: Some(convert::course(&course)),
    })
}

#[tracing::instrument(skip_all, fields(course = %request.id))]
pub async fn delete(
    api: &Api,
    caller: &Caller,
    request: Delete,
) -> Result<pb::DeleteCourseResponse, Error> {
    if !caller.may_manage_training() {
        return Err(deny());
    }
    let mut tx = api.db.begin().await?;
    let course = load(&mut tx, request.id).await?;
    let name = course_name(course.id);
    if course.version != request.version {
        return Err(Error::StaleEtag(name));
    }
    if store::course_has_enrolments(&mut tx, course.id).await? {
        return Err(Error::dependents(
            name,
            "the course has enrolments: archive it with `state` instead",
        ));
    }
    if !store::delete_course(&mut tx, course.id, request.version).await? {
        return Err(Error::StaleEtag(name));
    }
    tx.commit().await?;
    tracing::info!(course = %course.id, "course deleted");
    Ok(pb::DeleteCourseResponse {})
}

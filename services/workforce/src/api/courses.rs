//! Courses: create, get, list, update, delete.

use aftercare_platform::request::PageToken;
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::workforce::v1 as pb;

use super::parse::{ByName, CreateCourse, Delete, ListCourses, UpdateCourse};
use super::{Api, request_key};
use crate::convert::{self, course_name};
use crate::domain::access::Caller;
use crate::domain::training::Course;
use crate::error::Error;
use crate::store::{self, CourseQuery};

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
    let course = Course::new(request.course, now_micros());
    let course = store::create_course(&api.db, &course, key.as_ref()).await?;
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
        course: Some(convert::course(
            &store::load_course(&mut conn, request.0).await?,
        )),
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
    let mut conn = api.db.reader().acquire().await?;
    let mut course = store::load_course(&mut conn, request.id).await?;
    drop(conn);
    let changed = course
        .update(request.version, request.changes, now_micros())
        .map_err(|refused| Error::refused(refused, course_name(request.id)))?;
    if changed {
        store::save_course(&api.db, &course, request.version).await?;
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
    store::remove_course(&api.db, request.id, request.version).await?;
    Ok(pb::DeleteCourseResponse {})
}

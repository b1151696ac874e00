//! The `courses`, `enrolments` and `assessments` tables.

use sqlx::Row as _;
use sqlx::any::AnyRow;
use uuid::Uuid;

use aftercare_platform::db::Database;
use aftercare_platform::request::FieldViolations;

use super::{
    Conn, RequestKey, Where, claim, comma_list, corrupt, enum_value, missing_skills, optional_uuid,
    uuid,
};
use crate::convert::{certification_name, course_name, enrolment_name};
use crate::domain::names::agent_name;
use crate::domain::training::{
    Actor, Assessment, Completed, Completion, Course, CourseState, Enrolment, EnrolmentStatus,
    Taught,
};
use crate::error::{COURSE, ENROLMENT, Error};
use crate::events;

/// Enrolment `id` in `course`, or `NOT_FOUND` (also when it belongs to another course).
pub async fn load_enrolment(conn: &mut Conn, course: Uuid, id: Uuid) -> Result<Enrolment, Error> {
    find_enrolment(conn, id)
        .await?
        .filter(|e| e.course == course)
        .ok_or_else(|| Error::not_found(ENROLMENT, enrolment_name(course, id)))
}

/// Enrols, claiming `key`, in one transaction; a replay answers the enrolment the key made
/// first. `ALREADY_EXISTS` when the agent has an open enrolment in the course.
pub async fn create_enrolment(
    db: &Database,
    e: &Enrolment,
    key: Option<&RequestKey>,
) -> Result<Enrolment, Error> {
    let mut tx = db.begin().await?;
    if let Some(first) = claim(&mut tx, key, ENROLMENT, e.id, e.create_time).await? {
        return load_enrolment(&mut tx, e.course, first).await;
    }
    if !insert_enrolment(&mut tx, e).await? {
        return Err(Error::exists(
            ENROLMENT,
            agent_name(e.agent),
            "the agent already has an open enrolment in this course",
        ));
    }
    tx.commit().await?;
    tracing::info!(enrolment = %e.id, "agent enrolled");
    Ok(e.clone())
}

/// Writes what completing `course` did (the agent's raised skills, the certification) with
/// `AgentUpdated`, `CertificationIssued` and `EnrolmentCompleted`, in `tx`.
async fn write_completion(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    course: &Course,
    enrolment: &Enrolment,
    completed: &Completed,
) -> Result<(), Error> {
    let system = events::recorded_system();
    if let Some(agent) = &completed.agent {
        if !super::update_agent(tx, agent, agent.version - 1).await? {
            return Err(Error::state(
                agent_name(agent.id),
                "the agent changed meanwhile; retry",
            ));
        }
        let event = events::agent_updated(agent, vec!["skills".into()], &system);
        events::publish(tx, &agent_name(agent.id), &event).await?;
    }
    if let Some(c) = &completed.certification {
        super::insert_certification(tx, c).await?;
        let name = certification_name(c.agent, c.id);
        events::publish(tx, &name, &events::certification_issued(c)).await?;
    }
    let event = events::enrolment_completed(course, enrolment, &completed.raised);
    events::publish(tx, &enrolment_name(course.id, enrolment.id), &event).await?;
    Ok(())
}

/// Writes `enrolment` over the row still at `expected_version` and, when it completed, what
/// completing `course` did, in one transaction.
pub async fn save_enrolment(
    db: &Database,
    enrolment: &Enrolment,
    expected_version: i64,
    course: &Course,
    completed: Option<&Completed>,
) -> Result<(), Error> {
    let mut tx = db.begin().await?;
    if let Some(completed) = completed {
        write_completion(&mut tx, course, enrolment, completed).await?;
    }
    if !update_enrolment(&mut tx, enrolment, expected_version).await? {
        return Err(Error::StaleEtag(enrolment_name(course.id, enrolment.id)));
    }
    tx.commit().await?;
    if completed.is_some() {
        tracing::info!(enrolment = %enrolment.id, "enrolment completed");
    }
    Ok(())
}

/// Records a graded `assessment`, claiming `key`, with the enrolment it changed (over the
/// row still at `expected_version`) and what completing `course` did, in one transaction.
/// `FAILED_PRECONDITION` when a concurrent call with the key got there first.
pub async fn record_assessment(
    db: &Database,
    assessment: &Assessment,
    key: Option<&RequestKey>,
    enrolment: &Enrolment,
    expected_version: i64,
    course: &Course,
    completed: Option<&Completed>,
) -> Result<(), Error> {
    let name = enrolment_name(course.id, enrolment.id);
    let mut tx = db.begin().await?;
    let now = assessment.submit_time;
    if claim(&mut tx, key, ENROLMENT, assessment.id, now)
        .await?
        .is_some()
    {
        return Err(Error::state(
            name,
            "a concurrent submission with this request_id; retry",
        ));
    }
    insert_assessment(&mut tx, assessment).await?;
    if let Some(completed) = completed {
        write_completion(&mut tx, course, enrolment, completed).await?;
    }
    if !update_enrolment(&mut tx, enrolment, expected_version).await? {
        return Err(Error::StaleEtag(name));
    }
    tx.commit().await?;
    tracing::info!(enrolment = %enrolment.id, passed = assessment.passed, "assessment graded");
    Ok(())
}

/// Withdraws (deletes) enrolment `id` of `course` at `expected_version`, or
/// `FAILED_PRECONDITION` (etag).
pub async fn remove_enrolment(
    db: &Database,
    course: Uuid,
    id: Uuid,
    expected_version: i64,
) -> Result<(), Error> {
    let mut tx = db.begin().await?;
    if !delete_enrolment(&mut tx, id, expected_version).await? {
        return Err(Error::StaleEtag(enrolment_name(course, id)));
    }
    tx.commit().await?;
    Ok(())
}

/// The course with `id`, or `NOT_FOUND`.
pub async fn load_course(conn: &mut Conn, id: Uuid) -> Result<Course, Error> {
    find_course(conn, id)
        .await?
        .ok_or_else(|| Error::not_found(COURSE, course_name(id)))
}

/// Refuses skills a course teaches that are not in the catalogue.
async fn check_taught(conn: &mut Conn, skills: &[Taught]) -> Result<(), Error> {
    let ids: Vec<Uuid> = skills.iter().map(|t| t.skill).collect();
    let missing = missing_skills(conn, &ids).await?;
    let mut violations = FieldViolations::new();
    for (i, t) in skills.iter().enumerate() {
        if missing.contains(&t.skill) {
            violations.add(format!("course.skills[{i}].skill"), "no such skill");
        }
    }
    crate::error::finish(violations)
}

/// Creates `course`, claiming `key`, in one transaction; a replay answers the course the
/// key made first.
pub async fn create_course(
    db: &Database,
    course: &Course,
    key: Option<&RequestKey>,
) -> Result<Course, Error> {
    let mut tx = db.begin().await?;
    if let Some(first) = claim(&mut tx, key, COURSE, course.id, course.create_time).await? {
        return load_course(&mut tx, first).await;
    }
    check_taught(&mut tx, &course.skills).await?;
    insert_course(&mut tx, course).await?;
    tx.commit().await?;
    tracing::info!(course = %course.id, "course created");
    Ok(course.clone())
}

/// Writes `course` over the row still at `expected_version`, or `FAILED_PRECONDITION`
/// (etag); its skills must be in the catalogue.
pub async fn save_course(
    db: &Database,
    course: &Course,
    expected_version: i64,
) -> Result<(), Error> {
    let mut tx = db.begin().await?;
    check_taught(&mut tx, &course.skills).await?;
    if !update_course(&mut tx, course, expected_version).await? {
        return Err(Error::StaleEtag(course_name(course.id)));
    }
    tx.commit().await?;
    tracing::info!(course = %course.id, version = course.version, "course updated");
    Ok(())
}

/// Deletes course `id` at `expected_version`, in one transaction: refused once it has had
/// enrolments (archive it instead).
pub async fn remove_course(db: &Database, id: Uuid, expected_version: i64) -> Result<(), Error> {
    let name = course_name(id);
    let mut tx = db.begin().await?;
    let course = load_course(&mut tx, id).await?;
    if course.version != expected_version {
        return Err(Error::StaleEtag(name));
    }
    if course_has_enrolments(&mut tx, id).await? {
        return Err(Error::dependents(
            name,
            "the course has enrolments: archive it with `state` instead",
        ));
    }
    if !delete_course(&mut tx, id, expected_version).await? {
        return Err(Error::StaleEtag(name));
    }
    tx.commit().await?;
    tracing::info!(course = %id, "course deleted");
    Ok(())
}

const COURSE_COLUMNS: &str = "id, title, description, skills, certification_code, \
    certification_display_name, certification_validity, completion, pass_mark, max_attempts, \
    state, version, create_time, update_time, (SELECT COUNT(*) FROM enrolments e \
    WHERE e.course_id = courses.id AND e.status IN (1, 2)) AS open_enrolments";

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

fn actor(row: &AnyRow, column: &str) -> Result<Actor, sqlx::Error> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|err| corrupt(column, err))
}

fn decode_course(row: &AnyRow) -> Result<Course, sqlx::Error> {
    let skills: String = row.try_get("skills")?;
    let skills: Vec<Taught> =
        serde_json::from_str(&skills).map_err(|err| corrupt("courses.skills", err))?;
    Ok(Course {
        id: uuid(&row.try_get::<String, _>("id")?, "courses.id")?,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        skills,
        certification_code: row.try_get("certification_code")?,
        certification_display_name: row.try_get("certification_display_name")?,
        certification_validity: row.try_get("certification_validity")?,
        completion: enum_value(
            row.try_get("completion")?,
            "courses.completion",
            Completion::from_number,
        )?,
        pass_mark: row.try_get("pass_mark")?,
        max_attempts: row.try_get("max_attempts")?,
        state: enum_value(
            row.try_get("state")?,
            "courses.state",
            CourseState::from_number,
        )?,
        open_enrolments: row.try_get("open_enrolments")?,
        version: row.try_get("version")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
    })
}

/// Inserts a course.
async fn insert_course(conn: &mut Conn, c: &Course) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO courses (id, title, title_key, description, skills, skill_ids,
            certification_code, certification_display_name, certification_validity, completion,
            pass_mark, max_attempts, state, version, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(c.id.to_string())
    .bind(c.title.clone())
    .bind(c.title.to_lowercase())
    .bind(c.description.clone())
    .bind(json(&c.skills))
    .bind(comma_list(c.skills.iter().map(|s| s.skill.to_string())))
    .bind(c.certification_code.clone())
    .bind(c.certification_display_name.clone())
    .bind(c.certification_validity)
    .bind(c.completion.number())
    .bind(c.pass_mark)
    .bind(c.max_attempts)
    .bind(c.state.number())
    .bind(c.version)
    .bind(c.create_time)
    .bind(c.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes a course over the row at `expected_version`.
async fn update_course(
    conn: &mut Conn,
    c: &Course,
    expected_version: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE courses SET title = $3, title_key = $4, description = $5, skills = $6,
            skill_ids = $7, certification_code = $8, certification_display_name = $9,
            certification_validity = $10, completion = $11, pass_mark = $12, max_attempts = $13,
            state = $14, version = $15, update_time = $16
         WHERE id = $1 AND version = $2",
    )
    .bind(c.id.to_string())
    .bind(expected_version)
    .bind(c.title.clone())
    .bind(c.title.to_lowercase())
    .bind(c.description.clone())
    .bind(json(&c.skills))
    .bind(comma_list(c.skills.iter().map(|s| s.skill.to_string())))
    .bind(c.certification_code.clone())
    .bind(c.certification_display_name.clone())
    .bind(c.certification_validity)
    .bind(c.completion.number())
    .bind(c.pass_mark)
    .bind(c.max_attempts)
    .bind(c.state.number())
    .bind(c.version)
    .bind(c.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Deletes a course at `expected_version`.
async fn delete_course(
    conn: &mut Conn,
    id: Uuid,
    expected_version: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("DELETE FROM courses WHERE id = $1 AND version = $2")
        .bind(id.to_string())
        .bind(expected_version)
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Whether a course ever had an enrolment.
pub async fn course_has_enrolments(conn: &mut Conn, id: Uuid) -> Result<bool, sqlx::Error> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM enrolments WHERE course_id = $1")
        .bind(id.to_string())
        .fetch_one(&mut *conn)
        .await?;
    Ok(count > 0)
}

/// Whether any course teaches the skill.
pub async fn skill_taught(conn: &mut Conn, skill: Uuid) -> Result<bool, sqlx::Error> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM courses WHERE skill_ids LIKE $1")
        .bind(format!("%,{skill},%"))
        .fetch_one(&mut *conn)
        .await?;
    Ok(count > 0)
}

/// The course with `id`.
pub async fn find_course(conn: &mut Conn, id: Uuid) -> Result<Option<Course>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COURSE_COLUMNS} FROM courses WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(decode_course)
    .transpose()
}

/// A page of courses by title.
#[derive(Debug, Clone)]
pub struct CourseQuery {
    /// State.
    pub state: Option<CourseState>,
    /// Teaches the skill.
    pub skill: Option<Uuid>,
    /// Certification code.
    pub certification_code: Option<String>,
    /// Title substring.
    pub text: Option<String>,
    /// After (title key, id).
    pub after: Option<(String, String)>,
    /// Rows.
    pub limit: i64,
}

/// A page of courses.
pub async fn list_courses(conn: &mut Conn, q: &CourseQuery) -> Result<Vec<Course>, sqlx::Error> {
    let mut w = Where::default();
    if let Some(state) = q.state {
        let s = w.int(state.number());
        w.push(format!("state = {s}"));
    }
    if let Some(skill) = q.skill {
        let s = w.text(format!("%,{skill},%"));
        w.push(format!("skill_ids LIKE {s}"));
    }
    if let Some(code) = &q.certification_code {
        let c = w.text(code.clone());
        w.push(format!("certification_code = {c}"));
    }
    if let Some(text) = &q.text {
        let t = w.text(super::like_pattern(&text.to_lowercase()));
        w.push(format!("title_key LIKE {t} ESCAPE '\\'"));
    }
    if let Some((key, id)) = &q.after {
        let k = w.text(key.clone());
        let i = w.text(id.clone());
        w.push(format!(
            "(title_key > {k} OR (title_key = {k} AND id > {i}))"
        ));
    }
    let limit = w.int(q.limit);
    let sql = format!(
        "SELECT {COURSE_COLUMNS} FROM courses WHERE {} ORDER BY title_key, id LIMIT {limit}",
        w.sql()
    );
    w.bind(sqlx::query(&sql))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(decode_course)
        .collect()
}

const ENROLMENT_COLUMNS: &str = "id, course_id, agent_id, status, progress_percent, due_time, \
    attempts, best_score_percent, certification_id, enrolled_by, finish_time, version, \
    create_time, update_time";

fn decode_enrolment(row: &AnyRow) -> Result<Enrolment, sqlx::Error> {
    Ok(Enrolment {
        id: uuid(&row.try_get::<String, _>("id")?, "enrolments.id")?,
        course: uuid(
            &row.try_get::<String, _>("course_id")?,
            "enrolments.course_id",
        )?,
        agent: uuid(
            &row.try_get::<String, _>("agent_id")?,
            "enrolments.agent_id",
        )?,
        status: enum_value(
            row.try_get("status")?,
            "enrolments.status",
            EnrolmentStatus::from_number,
        )?,
        progress: row.try_get("progress_percent")?,
        due_time: row.try_get("due_time")?,
        attempts: row.try_get("attempts")?,
        best_score: row.try_get("best_score_percent")?,
        certification: optional_uuid(
            row.try_get("certification_id")?,
            "enrolments.certification_id",
        )?,
        enrolled_by: actor(row, "enrolled_by")?,
        finish_time: row.try_get("finish_time")?,
        version: row.try_get("version")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
    })
}

/// Inserts an enrolment; false when the agent already has an open one in the course.
async fn insert_enrolment(conn: &mut Conn, e: &Enrolment) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "INSERT INTO enrolments (id, course_id, agent_id, status, progress_percent, due_time,
            attempts, best_score_percent, certification_id, enrolled_by, finish_time, version,
            create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT DO NOTHING",
    )
    .bind(e.id.to_string())
    .bind(e.course.to_string())
    .bind(e.agent.to_string())
    .bind(e.status.number())
    .bind(e.progress)
    .bind(e.due_time)
    .bind(e.attempts)
    .bind(e.best_score)
    .bind(e.certification.map(|c| c.to_string()))
    .bind(json(&e.enrolled_by))
    .bind(e.finish_time)
    .bind(e.version)
    .bind(e.create_time)
    .bind(e.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Writes an enrolment over the row at `expected_version`.
async fn update_enrolment(
    conn: &mut Conn,
    e: &Enrolment,
    expected_version: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE enrolments SET status = $3, progress_percent = $4, due_time = $5, attempts = $6,
            best_score_percent = $7, certification_id = $8, finish_time = $9, version = $10,
            update_time = $11
         WHERE id = $1 AND version = $2",
    )
    .bind(e.id.to_string())
    .bind(expected_version)
    .bind(e.status.number())
    .bind(e.progress)
    .bind(e.due_time)
    .bind(e.attempts)
    .bind(e.best_score)
    .bind(e.certification.map(|c| c.to_string()))
    .bind(e.finish_time)
    .bind(e.version)
    .bind(e.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Deletes an open enrolment at `expected_version`.
async fn delete_enrolment(
    conn: &mut Conn,
    id: Uuid,
    expected_version: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("DELETE FROM enrolments WHERE id = $1 AND version = $2")
        .bind(id.to_string())
        .bind(expected_version)
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// The enrolment with `id`.
pub async fn find_enrolment(conn: &mut Conn, id: Uuid) -> Result<Option<Enrolment>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {ENROLMENT_COLUMNS} FROM enrolments WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(decode_enrolment)
    .transpose()
}

/// One condition of `ListEnrolments`.
#[derive(Debug, Clone)]
pub enum EnrolmentFilter {
    /// The agent.
    Agent(Uuid),
    /// The status.
    Status(EnrolmentStatus),
    /// A time column compared.
    Time(&'static str, aftercare_platform::query::Comparison, i64),
}

/// A page of enrolments, newest first.
#[derive(Debug, Clone)]
pub struct EnrolmentQuery {
    /// One course, or all.
    pub course: Option<Uuid>,
    /// Conditions.
    pub filters: Vec<EnrolmentFilter>,
    /// Only this agent's (callers who read only their own).
    pub only_agent: Option<Uuid>,
    /// Before (create time, id).
    pub before: Option<(i64, String)>,
    /// Rows.
    pub limit: i64,
}

/// A page of enrolments.
pub async fn list_enrolments(
    conn: &mut Conn,
    q: &EnrolmentQuery,
) -> Result<Vec<Enrolment>, sqlx::Error> {
    let mut w = Where::default();
    if let Some(course) = q.course {
        let c = w.text(course.to_string());
        w.push(format!("course_id = {c}"));
    }
    if let Some(agent) = q.only_agent {
        let a = w.text(agent.to_string());
        w.push(format!("agent_id = {a}"));
    }
    for f in &q.filters {
        let clause = match f {
            EnrolmentFilter::Agent(a) => format!("agent_id = {}", w.text(a.to_string())),
            EnrolmentFilter::Status(s) => format!("status = {}", w.int(s.number())),
            EnrolmentFilter::Time(column, op, t) => format!("{column} {} {}", op.sql(), w.int(*t)),
        };
        w.push(clause);
    }
    if let Some((time, id)) = &q.before {
        let t = w.int(*time);
        let i = w.text(id.clone());
        w.push(format!(
            "(create_time < {t} OR (create_time = {t} AND id < {i}))"
        ));
    }
    let limit = w.int(q.limit);
    let sql = format!(
        "SELECT {ENROLMENT_COLUMNS} FROM enrolments WHERE {} ORDER BY create_time DESC, id DESC LIMIT {limit}",
        w.sql()
    );
    w.bind(sqlx::query(&sql))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(decode_enrolment)
        .collect()
}

/// Inserts a graded attempt.
async fn insert_assessment(conn: &mut Conn, a: &Assessment) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO assessments (id, enrolment_id, score, max_score, score_percent, pass_mark,
            passed, attempt, assessor, notes, submit_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(a.id.to_string())
    .bind(a.enrolment.to_string())
    .bind(a.score)
    .bind(a.max_score)
    .bind(a.score_percent)
    .bind(a.pass_mark)
    .bind(i64::from(a.passed))
    .bind(a.attempt)
    .bind(json(&a.assessor))
    .bind(a.notes.clone())
    .bind(a.submit_time)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn decode_assessment(row: &AnyRow) -> Result<Assessment, sqlx::Error> {
    Ok(Assessment {
        id: uuid(&row.try_get::<String, _>("id")?, "assessments.id")?,
        enrolment: uuid(
            &row.try_get::<String, _>("enrolment_id")?,
            "assessments.enrolment_id",
        )?,
        score: row.try_get("score")?,
        max_score: row.try_get("max_score")?,
        score_percent: row.try_get("score_percent")?,
        pass_mark: row.try_get("pass_mark")?,
        passed: row.try_get::<i64, _>("passed")? == 1,
        attempt: row.try_get("attempt")?,
        assessor: actor(row, "assessor")?,
        notes: row.try_get("notes")?,
        submit_time: row.try_get("submit_time")?,
    })
}

/// The assessment with `id`.
pub async fn find_assessment(conn: &mut Conn, id: Uuid) -> Result<Option<Assessment>, sqlx::Error> {
    sqlx::query("SELECT * FROM assessments WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(decode_assessment)
        .transpose()
}

/// A page of an enrolment's attempts after attempt `after`.
pub async fn list_assessments(
    conn: &mut Conn,
    enrolment: Uuid,
    after: i64,
    limit: i64,
) -> Result<Vec<Assessment>, sqlx::Error> {
    sqlx::query(
        "SELECT * FROM assessments WHERE enrolment_id = $1 AND attempt > $2
         ORDER BY attempt LIMIT $3",
    )
    .bind(enrolment.to_string())
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(decode_assessment)
    .collect()
}

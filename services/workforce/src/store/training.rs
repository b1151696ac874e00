//! The `courses`, `enrolments` and `assessments` tables.

use sqlx::Row as _;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::{Conn, Where, comma_list, corrupt, enum_value, optional_uuid, uuid};
use crate::domain::training::{
    Actor, Assessment, Completion, Course, CourseState, Enrolment, EnrolmentStatus, Taught,
};

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
pub async fn insert_course(conn: &mut Conn, c: &Course) -> Result<(), sqlx::Error> {
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
pub async fn update_course(
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
pub async fn delete_course(
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
pub async fn insert_enrolment(conn: &mut Conn, e: &Enrolment) -> Result<bool, sqlx::Error> {
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
pub async fn update_enrolment(
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
pub async fn delete_enrolment(
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
pub async fn insert_assessment(conn: &mut Conn, a: &Assessment) -> Result<(), sqlx::Error> {
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

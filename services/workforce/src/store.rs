//! Every SQL statement of the workforce service, one query set for SQLite and PostgreSQL
//! through `sqlx::Any`: `$n` placeholders, times as microseconds, ids and JSON as text,
//! enums as their contract numbers, flags as 0/1.

mod agents;
mod certifications;
mod load;
mod performance;
mod queue;
mod requests;
mod shifts;
mod skills;
mod teams;
mod training;

use sqlx::AnyConnection;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use uuid::Uuid;

pub use agents::{
    AgentQuery, agent_conflict, find_agent, find_agent_by_subject, insert_agent, list_agents,
    load_agents, missing_skills, routable_agents, routing_counts, save_presence, shift_exists,
    shift_in_use, stale_presence, update_agent,
};
pub use certifications::{
    CertificationFilter, CertificationQuery, NEVER, active_certifications, find_certification,
    insert_certification, lapsed_certifications, list_certifications, update_certification,
};
pub use load::{Hold, apply_ticket_snapshot, expire_holds, hold, release_hold};
pub use performance::{
    FactScope, RecognitionFilter, RecognitionRow, attach_waiting_csat, facts, find_recognition,
    insert_fact, insert_recognition, list_recognitions, resolver_of,
};
pub use queue::{dequeue, enqueue};
pub use requests::{RequestKey, find_request, insert_request};
pub use shifts::{
    ShiftQuery, delete_shift, find_shift, insert_shift, list_shifts, load_shifts, update_shift,
};
pub use skills::{
    SkillQuery, delete_skill, find_skill, find_skill_by_code, insert_skill, list_skills,
    skills_by_code, skills_named, update_skill,
};
pub use teams::{
    TeamQuery, add_member, delete_team, find_team, insert_team, led_teams, list_teams,
    remove_member, update_team,
};
pub use training::{
    CourseQuery, EnrolmentFilter, EnrolmentQuery, course_has_enrolments, delete_course,
    delete_enrolment, find_assessment, find_course, find_enrolment, insert_assessment,
    insert_course, insert_enrolment, list_assessments, list_courses, list_enrolments, skill_taught,
    update_course, update_enrolment,
};

/// A connection: from the reader pool, or a write transaction's.
pub type Conn = AnyConnection;

/// One bound value.
#[derive(Debug, Clone)]
enum Arg {
    Int(i64),
    Text(String),
}

/// A `WHERE` clause being built, with its arguments in placeholder order.
#[derive(Debug, Default)]
struct Where {
    clauses: Vec<String>,
    args: Vec<Arg>,
}

impl Where {
    fn int(&mut self, value: i64) -> String {
        self.args.push(Arg::Int(value));
        format!("${}", self.args.len())
    }

    fn text(&mut self, value: impl Into<String>) -> String {
        self.args.push(Arg::Text(value.into()));
        format!("${}", self.args.len())
    }

    fn push(&mut self, clause: impl Into<String>) {
        self.clauses.push(clause.into());
    }

    /// `column IN ($a, $b, …)` over ids; FALSE when empty.
    fn ids_in(&mut self, column: &str, ids: &[Uuid]) -> String {
        if ids.is_empty() {
            return "FALSE".into();
        }
        let params: Vec<String> = ids.iter().map(|id| self.text(id.to_string())).collect();
        format!("{column} IN ({})", params.join(", "))
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "TRUE".into()
        } else {
            self.clauses.join(" AND ")
        }
    }

    fn bind<'q>(
        &self,
        mut query: Query<'q, sqlx::Any, AnyArguments<'q>>,
    ) -> Query<'q, sqlx::Any, AnyArguments<'q>> {
        for arg in &self.args {
            query = match arg {
                Arg::Int(value) => query.bind(*value),
                Arg::Text(value) => query.bind(value.clone()),
            };
        }
        query
    }
}

/// `%text%` for LIKE, with `\`, `%` and `_` escaped (use `ESCAPE '\'`).
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A stored value that does not decode.
fn corrupt(what: &str, detail: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Decode(format!("stored {what} is not valid: {detail}").into())
}

fn uuid(text: &str, column: &str) -> Result<Uuid, sqlx::Error> {
    Uuid::parse_str(text).map_err(|err| corrupt(column, err))
}

fn optional_uuid(text: Option<String>, column: &str) -> Result<Option<Uuid>, sqlx::Error> {
    text.map(|text| uuid(&text, column)).transpose()
}

fn enum_value<E>(number: i64, column: &str, from: fn(i64) -> Option<E>) -> Result<E, sqlx::Error> {
    from(number).ok_or_else(|| corrupt(column, number))
}

/// Whether `err` is a unique-constraint violation.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// `,a,b,` lists used for LIKE filters.
fn comma_list<I: IntoIterator<Item = String>>(items: I) -> String {
    let mut text = String::from(",");
    for item in items {
        text.push_str(&item);
        text.push(',');
    }
    text
}

/// `$start, $start+1, …` placeholders for `count` values.
fn placeholders(start: usize, count: usize) -> String {
    (start..start + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

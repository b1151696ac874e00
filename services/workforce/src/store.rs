//! Every SQL statement of the workforce service, one query set for SQLite and PostgreSQL
//! through `sqlx::Any`: `$n` placeholders, times as microseconds, ids and JSON as text,
//! enums as their contract numbers, flags as 0/1.

mod agents;
mod certifications;
mod load;
mod performance;
mod queue;
mod requests;
mod routing_index;
mod shifts;
mod skills;
mod teams;
mod training;

use sqlx::AnyConnection;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use uuid::Uuid;

pub use agents::{
    AgentQuery, create_agent, find_agent, find_agent_by_subject, list_agents, load_agent,
    load_agents, missing_skills, routable_agent, routable_agents, save_agent, set_presence,
    shift_in_use, stale_presence, update_agent,
};
use certifications::insert_certification;
pub use certifications::{
    CertificationFilter, CertificationQuery, NEVER, active_certifications, create_certification,
    expire_certifications, find_certification, list_certifications, load_certification,
    save_certification,
};
use load::{Hold, hold, release_hold};
pub use load::{apply_ticket_snapshot, release_expired_holds};
pub use performance::{
    FactScope, RecognitionFilter, RecognitionRow, attach_waiting_csat, create_recognition, facts,
    insert_fact, list_recognitions, load_recognition, resolver_of,
};
pub use queue::{Placed, Queued, place_ticket, queue_waiting, route_queued, route_queued_in};
pub use requests::{RequestKey, claim, replayed};
pub use routing_index::{Candidates, Catalogue, RoutingIndex};
pub use shifts::{
    ShiftQuery, create_shift, find_shift, list_shifts, load_shift, load_shifts, remove_shift,
    save_shift,
};
pub use skills::{SkillQuery, create_skill, list_skills, load_skill, remove_skill, save_skill};
pub use teams::{
    TeamQuery, change_membership, create_team, led_teams, list_teams, load_team, remove_team,
    save_team,
};
pub use training::{
    CourseQuery, EnrolmentFilter, EnrolmentQuery, create_course, create_enrolment, find_assessment,
    list_assessments, list_courses, list_enrolments, load_course, load_enrolment,
    record_assessment, remove_course, remove_enrolment, save_course, save_enrolment, skill_taught,
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

//! The `performance_facts` and `recognitions` tables.

use sqlx::Row as _;
use sqlx::any::AnyRow;
use uuid::Uuid;

use aftercare_platform::db::Database;

use super::{Conn, RequestKey, Where, claim, comma_list, corrupt, enum_value, optional_uuid, uuid};
use crate::domain::agent::Agent;
use crate::domain::performance::{Fact, FactKind};
use crate::domain::training::Actor;
use crate::error::{Error, RECOGNITION};
use crate::events::{self, recognition_name};

/// The recognition with `id`, or `NOT_FOUND`.
pub async fn load_recognition(conn: &mut Conn, id: Uuid) -> Result<RecognitionRow, Error> {
    find_recognition(conn, id)
        .await?
        .ok_or_else(|| Error::not_found(RECOGNITION, recognition_name(id)))
}

/// Awards recognition `r` to `agent` (given by the caller `subject`) with its
/// `RecognitionAwarded`, claiming `key`, in one transaction; a replay answers the
/// recognition the key made first.
pub async fn create_recognition(
    db: &Database,
    r: &RecognitionRow,
    key: Option<&RequestKey>,
    agent: &Agent,
    subject: &str,
) -> Result<RecognitionRow, Error> {
    let mut tx = db.begin().await?;
    if let Some(first) = claim(&mut tx, key, RECOGNITION, r.id, r.create_time).await? {
        return load_recognition(&mut tx, first).await;
    }
    insert_recognition(&mut tx, r, subject).await?;
    let event = events::recognition_awarded(r, agent);
    events::publish(&mut tx, &recognition_name(r.id), &event).await?;
    tx.commit().await?;
    tracing::info!(recognition = %r.id, "recognition awarded");
    Ok(r.clone())
}

/// The teams `agent` belongs to now, as a `,id,` list.
pub async fn teams_text(conn: &mut Conn, agent: Uuid) -> Result<String, sqlx::Error> {
    let teams: Vec<String> =
        sqlx::query_scalar("SELECT team_id FROM team_members WHERE agent_id = $1")
            .bind(agent.to_string())
            .fetch_all(&mut *conn)
            .await?;
    Ok(comma_list(teams))
}

/// Records a fact (credited to the agent's current teams).
pub async fn insert_fact(conn: &mut Conn, fact: &Fact) -> Result<(), sqlx::Error> {
    let teams = match fact.agent {
        Some(agent) => teams_text(conn, agent).await?,
        None => ",".into(),
    };
    sqlx::query(
        "INSERT INTO performance_facts (id, agent_id, teams, ticket_id, kind, value, occur_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(fact.agent.map(|a| a.to_string()))
    .bind(teams)
    .bind(fact.ticket.map(|t| t.to_string()))
    .bind(fact.kind.number())
    .bind(fact.value)
    .bind(fact.time)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The agent credited with the latest resolution of `ticket`, if any.
pub async fn resolver_of(conn: &mut Conn, ticket: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    let agent: Option<Option<String>> = sqlx::query_scalar(
        "SELECT agent_id FROM performance_facts WHERE ticket_id = $1 AND kind = 3
         ORDER BY occur_time DESC LIMIT 1",
    )
    .bind(ticket.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    optional_uuid(agent.flatten(), "performance_facts.agent_id")
}

/// Credits CSAT answers of `ticket` that arrived before its resolution to `agent`.
pub async fn attach_waiting_csat(
    conn: &mut Conn,
    ticket: Uuid,
    agent: Uuid,
) -> Result<(), sqlx::Error> {
    let teams = teams_text(conn, agent).await?;
    sqlx::query(
        "UPDATE performance_facts SET agent_id = $2, teams = $3
         WHERE ticket_id = $1 AND kind = 9 AND agent_id IS NULL",
    )
    .bind(ticket.to_string())
    .bind(agent.to_string())
    .bind(teams)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn decode(row: &AnyRow) -> Result<Fact, sqlx::Error> {
    Ok(Fact {
        agent: optional_uuid(row.try_get("agent_id")?, "performance_facts.agent_id")?,
        ticket: optional_uuid(row.try_get("ticket_id")?, "performance_facts.ticket_id")?,
        kind: enum_value(
            row.try_get("kind")?,
            "performance_facts.kind",
            FactKind::from_number,
        )?,
        value: row.try_get("value")?,
        time: row.try_get("occur_time")?,
    })
}

/// Whose facts to read.
#[derive(Debug, Clone)]
pub enum FactScope {
    /// One agent.
    Agent(Uuid),
    /// Agents while members of the team.
    Team(Uuid),
    /// Every credited agent.
    All,
}

/// The facts of a scope in `[start, end)`, read through the time indexes.
pub async fn facts(
    conn: &mut Conn,
    scope: &FactScope,
    start: i64,
    end: i64,
) -> Result<Vec<Fact>, sqlx::Error> {
    let mut w = Where::default();
    let s = w.int(start);
    let e = w.int(end);
    w.push(format!("occur_time >= {s} AND occur_time < {e}"));
    match scope {
        FactScope::Agent(agent) => {
            let a = w.text(agent.to_string());
            w.push(format!("agent_id = {a}"));
        }
        FactScope::Team(team) => {
            let t = w.text(format!("%,{team},%"));
            w.push(format!("teams LIKE {t}"));
        }
        FactScope::All => w.push("agent_id IS NOT NULL"),
    }
    let sql = format!(
        "SELECT agent_id, ticket_id, kind, value, occur_time FROM performance_facts WHERE {}",
        w.sql()
    );
    w.bind(sqlx::query(&sql))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(decode)
        .collect()
}

/// A recognition as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecognitionRow {
    /// Id.
    pub id: Uuid,
    /// Agent.
    pub agent: Uuid,
    /// Badge number.
    pub badge: i64,
    /// Reason.
    pub reason: String,
    /// References.
    pub references: Vec<String>,
    /// Who.
    pub awarded_by: Actor,
    /// When.
    pub create_time: i64,
}

/// Inserts a recognition.
async fn insert_recognition(
    conn: &mut Conn,
    r: &RecognitionRow,
    subject: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO recognitions (id, agent_id, badge, reason, refs, awarded_by,
            awarded_by_subject, create_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(r.id.to_string())
    .bind(r.agent.to_string())
    .bind(r.badge)
    .bind(r.reason.clone())
    .bind(serde_json::to_string(&r.references).unwrap_or_else(|_| "[]".into()))
    .bind(serde_json::to_string(&r.awarded_by).unwrap_or_default())
    .bind(subject.to_owned())
    .bind(r.create_time)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn decode_recognition(row: &AnyRow) -> Result<RecognitionRow, sqlx::Error> {
    let refs: String = row.try_get("refs")?;
    let by: String = row.try_get("awarded_by")?;
    Ok(RecognitionRow {
        id: uuid(&row.try_get::<String, _>("id")?, "recognitions.id")?,
        agent: uuid(
            &row.try_get::<String, _>("agent_id")?,
            "recognitions.agent_id",
        )?,
        badge: row.try_get("badge")?,
        reason: row.try_get("reason")?,
        references: serde_json::from_str(&refs).map_err(|e| corrupt("recognitions.refs", e))?,
        awarded_by: serde_json::from_str(&by).map_err(|e| corrupt("recognitions.awarded_by", e))?,
        create_time: row.try_get("create_time")?,
    })
}

/// The recognition with `id`.
pub async fn find_recognition(
    conn: &mut Conn,
    id: Uuid,
) -> Result<Option<RecognitionRow>, sqlx::Error> {
    sqlx::query("SELECT * FROM recognitions WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(decode_recognition)
        .transpose()
}

/// One condition of `ListRecognitions`.
#[derive(Debug, Clone)]
pub enum RecognitionFilter {
    /// The agent.
    Agent(Uuid),
    /// The badge number.
    Badge(i64),
    /// Who awarded it (subject).
    AwardedBy(String),
    /// The team's current members.
    Team(Uuid),
    /// Created compared.
    CreateTime(aftercare_platform::query::Comparison, i64),
}

/// A page of recognitions, newest first.
pub async fn list_recognitions(
    conn: &mut Conn,
    filters: &[RecognitionFilter],
    before: Option<(i64, String)>,
    limit: i64,
) -> Result<Vec<RecognitionRow>, sqlx::Error> {
    let mut w = Where::default();
    for f in filters {
        let clause = match f {
            RecognitionFilter::Agent(a) => format!("agent_id = {}", w.text(a.to_string())),
            RecognitionFilter::Badge(b) => format!("badge = {}", w.int(*b)),
            RecognitionFilter::AwardedBy(s) => {
                format!("awarded_by_subject = {}", w.text(s.clone()))
            }
            RecognitionFilter::Team(t) => format!(
                "agent_id IN (SELECT agent_id FROM team_members WHERE team_id = {})",
                w.text(t.to_string())
            ),
            RecognitionFilter::CreateTime(op, t) => {
                format!("create_time {} {}", op.sql(), w.int(*t))
            }
        };
        w.push(clause);
    }
    if let Some((time, id)) = before {
        let t = w.int(time);
        let i = w.text(id);
        w.push(format!(
            "(create_time < {t} OR (create_time = {t} AND id < {i}))"
        ));
    }
    let l = w.int(limit);
    let sql = format!(
        "SELECT * FROM recognitions WHERE {} ORDER BY create_time DESC, id DESC LIMIT {l}",
        w.sql()
    );
    w.bind(sqlx::query(&sql))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(decode_recognition)
        .collect()
}

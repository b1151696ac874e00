//! The `certifications` table, as routing reads it.

use sqlx::Row as _;
use sqlx::any::AnyRow;
use uuid::Uuid;

use aftercare_platform::db::Database;

use super::{Conn, RequestKey, Where, claim, corrupt, enum_value, optional_uuid, uuid};
use crate::convert::certification_name;
use crate::domain::routing::HeldCertification;
use crate::domain::training::{Actor, Certification, CertificationState};
use crate::error::{CERTIFICATION, Error};
use crate::events;

/// Certification `id` of `agent`, or `NOT_FOUND`.
pub async fn load_certification(
    conn: &mut Conn,
    agent: Uuid,
    id: Uuid,
) -> Result<Certification, Error> {
    find_certification(conn, id)
        .await?
        .filter(|c| c.agent == agent)
        .ok_or_else(|| Error::not_found(CERTIFICATION, certification_name(agent, id)))
}

/// Records certification `c` by hand with its `CertificationIssued`, claiming `key`, in one
/// transaction; a replay answers the certification the key made first.
pub async fn create_certification(
    db: &Database,
    c: &Certification,
    key: Option<&RequestKey>,
) -> Result<Certification, Error> {
    let mut tx = db.begin().await?;
    if let Some(first) = claim(&mut tx, key, CERTIFICATION, c.id, c.create_time).await? {
        return load_certification(&mut tx, c.agent, first).await;
    }
    insert_certification(&mut tx, c).await?;
    let name = certification_name(c.agent, c.id);
    events::publish(&mut tx, &name, &events::certification_issued(c)).await?;
    tx.commit().await?;
    tracing::info!(certification = %c.id, "certification recorded");
    Ok(c.clone())
}

/// Writes a revoked certification over the row still at `expected_version`, or
/// `FAILED_PRECONDITION` (etag).
pub async fn save_certification(
    db: &Database,
    c: &Certification,
    expected_version: i64,
) -> Result<(), Error> {
    let mut tx = db.begin().await?;
    if !update_certification(&mut tx, c, expected_version).await? {
        return Err(Error::StaleEtag(certification_name(c.agent, c.id)));
    }
    tx.commit().await?;
    tracing::info!(certification = %c.id, state = ?c.state, "certification changed");
    Ok(())
}

/// Marks up to 500 certifications past their expiry `EXPIRED`, each with its
/// `CertificationExpired`, in one transaction; returns how many.
pub async fn expire_certifications(db: &Database, now: i64) -> Result<usize, Error> {
    let mut tx = db.begin().await?;
    let mut expired = 0;
    for mut c in lapsed_certifications(&mut tx, now).await? {
        let expected = c.version;
        c.expire(now);
        if !update_certification(&mut tx, &c, expected).await? {
            continue;
        }
        let name = certification_name(c.agent, c.id);
        events::publish(&mut tx, &name, &events::certification_expired(&c)).await?;
        expired += 1;
    }
    tx.commit().await?;
    Ok(expired)
}

/// The active certifications of `agents` valid at `now` (an expired one counts for nothing
/// at once, before the sweep marks it).
pub async fn active_certifications(
    conn: &mut Conn,
    agents: &[Uuid],
    now: i64,
) -> Result<Vec<(Uuid, HeldCertification)>, sqlx::Error> {
    if agents.is_empty() {
        return Ok(Vec::new());
    }
    let mut w = Where::default();
    let list = w.ids_in("agent_id", agents);
    let now = w.int(now);
    let sql = format!(
        "SELECT agent_id, code, skills FROM certifications
         WHERE {list} AND state = 1 AND issue_time <= {now}
           AND (expire_time IS NULL OR expire_time > {now})"
    );
    let rows = w.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|row| {
            let agent = uuid(
                &row.try_get::<String, _>("agent_id")?,
                "certifications.agent_id",
            )?;
            let skills: String = row.try_get("skills")?;
            let skills = skills
                .split(',')
                .filter(|s| !s.is_empty())
                .filter_map(|s| Uuid::parse_str(s).ok())
                .collect();
            Ok((
                agent,
                HeldCertification {
                    code: row.try_get("code")?,
                    skills,
                },
            ))
        })
        .collect()
}

const COLUMNS: &str = "id, agent_id, code, display_name, course_id, enrolment_id, skills, \
    issue_time, expire_time, state, issuer, revoke_time, revoke_reason, version, create_time, \
    update_time";

/// The sort key of certifications: expiry, never-expiring last.
pub const NEVER: i64 = i64::MAX;

fn decode(row: &AnyRow) -> Result<Certification, sqlx::Error> {
    let skills: String = row.try_get("skills")?;
    let issuer: String = row.try_get("issuer")?;
    let issuer: Actor = serde_json::from_str(&issuer).unwrap_or(Actor {
        kind: 1,
        id: issuer,
        name: String::new(),
    });
    Ok(Certification {
        id: uuid(&row.try_get::<String, _>("id")?, "certifications.id")?,
        agent: uuid(
            &row.try_get::<String, _>("agent_id")?,
            "certifications.agent_id",
        )?,
        code: row.try_get("code")?,
        display_name: row.try_get("display_name")?,
        course: optional_uuid(row.try_get("course_id")?, "certifications.course_id")?,
        enrolment: optional_uuid(row.try_get("enrolment_id")?, "certifications.enrolment_id")?,
        skills: skills
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| uuid(s, "certifications.skills"))
            .collect::<Result<_, _>>()?,
        issue_time: row.try_get("issue_time")?,
        expire_time: row.try_get("expire_time")?,
        state: enum_value(
            row.try_get("state")?,
            "certifications.state",
            CertificationState::from_number,
        )
        .map_err(|_| corrupt("certifications.state", "unknown"))?,
        issuer,
        revoke_time: row.try_get("revoke_time")?,
        revoke_reason: row.try_get("revoke_reason")?,
        version: row.try_get("version")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
    })
}

/// Inserts a certification.
pub(super) async fn insert_certification(
    conn: &mut Conn,
    c: &Certification,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO certifications (id, agent_id, code, display_name, course_id, enrolment_id,
            skills, issue_time, expire_time, state, issuer, revoke_time, revoke_reason, version,
            create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(c.id.to_string())
    .bind(c.agent.to_string())
    .bind(c.code.clone())
    .bind(c.display_name.clone())
    .bind(c.course.map(|id| id.to_string()))
    .bind(c.enrolment.map(|id| id.to_string()))
    .bind(super::comma_list(c.skills.iter().map(Uuid::to_string)))
    .bind(c.issue_time)
    .bind(c.expire_time)
    .bind(c.state.number())
    .bind(serde_json::to_string(&c.issuer).unwrap_or_default())
    .bind(c.revoke_time)
    .bind(c.revoke_reason.clone())
    .bind(c.version)
    .bind(c.create_time)
    .bind(c.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes state, revocation and version over the row at `expected_version`.
pub(super) async fn update_certification(
    conn: &mut Conn,
    c: &Certification,
    expected_version: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE certifications SET state = $3, revoke_time = $4, revoke_reason = $5,
            version = $6, update_time = $7
         WHERE id = $1 AND version = $2",
    )
    .bind(c.id.to_string())
    .bind(expected_version)
    .bind(c.state.number())
    .bind(c.revoke_time)
    .bind(c.revoke_reason.clone())
    .bind(c.version)
    .bind(c.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// The certification with `id`.
pub async fn find_certification(
    conn: &mut Conn,
    id: Uuid,
) -> Result<Option<Certification>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM certifications WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(decode)
    .transpose()
}

/// One condition of `ListCertifications`.
#[derive(Debug, Clone)]
pub enum CertificationFilter {
    /// Code.
    Code(String),
    /// State as shown now (expired includes active ones past expiry).
    State(CertificationState),
    /// Granting course.
    Course(Uuid),
    /// A time column compared.
    Time(&'static str, aftercare_platform::query::Comparison, i64),
}

/// A page of certifications by expiry.
#[derive(Debug, Clone)]
pub struct CertificationQuery {
    /// One agent, or all.
    pub agent: Option<Uuid>,
    /// Conditions.
    pub filters: Vec<CertificationFilter>,
    /// Only active ones expiring before this.
    pub expiring_before: Option<i64>,
    /// After (expiry key, id).
    pub after: Option<(i64, String)>,
    /// Now.
    pub now: i64,
    /// Rows.
    pub limit: i64,
}

/// A page of certifications.
pub async fn list_certifications(
    conn: &mut Conn,
    q: &CertificationQuery,
) -> Result<Vec<Certification>, sqlx::Error> {
    let mut w = Where::default();
    let key = format!("COALESCE(expire_time, {NEVER})");
    if let Some(agent) = q.agent {
        let a = w.text(agent.to_string());
        w.push(format!("agent_id = {a}"));
    }
    for f in &q.filters {
        let clause = match f {
            CertificationFilter::Code(c) => format!("code = {}", w.text(c.clone())),
            CertificationFilter::Course(c) => format!("course_id = {}", w.text(c.to_string())),
            CertificationFilter::State(CertificationState::Active) => {
                format!("(state = 1 AND {key} > {})", w.int(q.now))
            }
            CertificationFilter::State(CertificationState::Expired) => {
                format!("(state = 2 OR (state = 1 AND {key} <= {}))", w.int(q.now))
            }
            CertificationFilter::State(CertificationState::Revoked) => "state = 3".into(),
            CertificationFilter::Time(column, op, t) => {
                format!("{column} {} {}", op.sql(), w.int(*t))
            }
        };
        w.push(clause);
    }
    if let Some(before) = q.expiring_before {
        let now = w.int(q.now);
        let b = w.int(before);
        w.push(format!(
            "(state = 1 AND expire_time > {now} AND expire_time <= {b})"
        ));
    }
    if let Some((k, id)) = &q.after {
        let k = w.int(*k);
        let i = w.text(id.clone());
        w.push(format!("({key} > {k} OR ({key} = {k} AND id > {i}))"));
    }
    let limit = w.int(q.limit);
    let sql = format!(
        "SELECT {COLUMNS} FROM certifications WHERE {} ORDER BY {key}, id LIMIT {limit}",
        w.sql()
    );
    w.bind(sqlx::query(&sql))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(decode)
        .collect()
}

/// Active certifications whose expiry has passed (for the sweep), at most 500.
pub(super) async fn lapsed_certifications(
    conn: &mut Conn,
    now: i64,
) -> Result<Vec<Certification>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM certifications WHERE state = 1 AND expire_time <= $1
         ORDER BY expire_time LIMIT 500"
    ))
    .bind(now)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(decode)
    .collect()
}

//! The `certifications` table, as routing reads it.

use sqlx::Row as _;
use uuid::Uuid;

use super::{Conn, Where, uuid};
use crate::domain::routing::HeldCertification;

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

//! The rows GetTicketStats aggregates.

use aftercare_platform::db::Database;
use sqlx::Row;

use crate::domain::TicketCriterion;
use crate::domain::{Channel, Kind, Priority, Status};
use crate::error::Result;

use super::{Arg, Sql, push_criterion, ranked, wire};

/// What statistics need of the tickets created in `[start, end)` matching `criteria`.
pub async fn stat_rows(
    db: &Database,
    criteria: &[TicketCriterion],
    start: i64,
    end: i64,
) -> Result<Vec<crate::domain::StatRow>> {
    let mut sql = Sql::new(
        "SELECT create_time, region, channel, kind, priority, team, status, first_response_time, \
         resolve_time, close_time, reopen_count, sla_policy, first_response_breached, \
         resolution_breached, sla_first_response_business, sla_resolution_business \
         FROM tickets WHERE create_time >= ",
    );
    sql.arg(Arg::Int(start));
    sql.push(" AND create_time < ");
    sql.arg(Arg::Int(end));
    for criterion in criteria {
        push_criterion(&mut sql, criterion);
    }
    let rows = sql.query().fetch_all(db.reader()).await?;
    rows.iter()
        .map(|row| {
            Ok(crate::domain::StatRow {
                create_time: row.try_get("create_time")?,
                region: row.try_get("region")?,
                channel: wire::<Channel>(&row.try_get::<String, _>("channel")?)?,
                kind: wire::<Kind>(&row.try_get::<String, _>("kind")?)?,
                priority: ranked::<Priority>(row.try_get("priority")?)?,
                team: row
                    .try_get::<Option<String>, _>("team")?
                    .unwrap_or_default(),
                status: wire::<Status>(&row.try_get::<String, _>("status")?)?,
                first_response_time: row.try_get("first_response_time")?,
                resolve_time: row.try_get("resolve_time")?,
                close_time: row.try_get("close_time")?,
                reopened: row.try_get::<i64, _>("reopen_count")? > 0,
                has_sla: row.try_get::<Option<String>, _>("sla_policy")?.is_some(),
                first_response_breached: row.try_get::<i64, _>("first_response_breached")? != 0,
                resolution_breached: row.try_get::<i64, _>("resolution_breached")? != 0,
                first_response_business: row.try_get("sla_first_response_business")?,
                resolution_business: row.try_get("sla_resolution_business")?,
            })
        })
        .collect()
}

//! GetTicketStats, aggregated in SQL: one `GROUP BY` query for the counts and sums, and one
//! window query per duration that returns only the median and 90th-percentile rows of each
//! group. What is read grows with the number of groups (at most 1,000 buckets times the
//! other dimensions' values), never with the number of tickets.

use std::collections::BTreeMap;

use aftercare_platform::db::{Backend, Database};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::domain::{
    Channel, Dimension, Figures, GroupKey, Interval, Kind, Tally, TicketCriterion, WireEnum,
    percentile_positions,
};
use crate::error::Result;

use super::{Arg, Sql, push_criterion, wire};

/// What is counted: tickets created in `[start, end)` matching `criteria`, grouped by
/// `dimensions` (periods of `interval`), durations in wall-clock (`calendar_time`) or
/// business time.
#[derive(Debug, Clone)]
pub struct StatsQuery<'a> {
    /// Filter criteria (ticket columns).
    pub criteria: &'a [TicketCriterion],
    /// Range start, inclusive.
    pub start: i64,
    /// Range end, exclusive.
    pub end: i64,
    /// Bucket size for `Dimension::Period`.
    pub interval: Interval,
    /// Wall-clock durations rather than the recorded business ones.
    pub calendar_time: bool,
}

/// The SQL expression of a group key column.
fn key_expr(dimension: Dimension) -> &'static str {
    match dimension {
        Dimension::Region => "r.region",
        Dimension::Channel => "r.channel",
        Dimension::Kind => "r.kind",
        Dimension::Priority => "r.priority",
        Dimension::Team => "COALESCE(r.team, '')",
        Dimension::Period => "b.bucket_start",
    }
}

/// The duration expression of the first response or the resolution.
fn duration_expr(first_response: bool, calendar_time: bool) -> &'static str {
    match (first_response, calendar_time) {
        (true, true) => "(x.first_response_time - x.create_time)",
        (true, false) => {
            "COALESCE(x.sla_first_response_business, x.first_response_time - x.create_time)"
        }
        (false, true) => "(x.resolve_time - x.create_time)",
        (false, false) => "COALESCE(x.sla_resolution_business, x.resolve_time - x.create_time)",
    }
}

/// The statement's lead (`WITH buckets … `, empty without periods) and the rows counted,
/// each with its keys `k0…` and the `as_of` its backlog is counted at.
fn rows(q: &StatsQuery<'_>, dimensions: &[Dimension]) -> (String, Sql) {
    let period = dimensions.contains(&Dimension::Period);
    let mut cte = String::new();
    if period {
        // Bucket bounds are computed here (calendar months have no portable SQL), written
        // as integer literals: at most 1,000 pairs, no bound parameters.
        let values: Vec<String> = q
            .interval
            .bucket_list(q.start, q.end)
            .iter()
            .map(|(from, to)| format!("({from}, {to})"))
            .collect();
        cte = format!(
            "WITH buckets (bucket_start, bucket_stop) AS (VALUES {}) ",
            values.join(", ")
        );
    }
    let keys: String = dimensions
        .iter()
        .enumerate()
        .map(|(i, d)| format!("{} AS k{i}, ", key_expr(*d)))
        .collect();
    let as_of = if period {
        "b.bucket_stop".to_owned()
    } else {
        q.end.to_string()
    };
    let mut sql = Sql::new(&format!(
        "SELECT {keys}{as_of} AS as_of, r.* FROM (SELECT create_time, region, channel, kind, \
         priority, team, status, first_response_time, resolve_time, close_time, reopen_count, \
         sla_policy, first_response_breached, resolution_breached, \
         sla_first_response_business, sla_resolution_business FROM tickets \
         WHERE create_time >= "
    ));
    sql.arg(Arg::Int(q.start));
    sql.push(" AND create_time < ");
    sql.arg(Arg::Int(q.end));
    for criterion in q.criteria {
        push_criterion(&mut sql, criterion);
    }
    sql.push(") r");
    if period {
        sql.push(
            " JOIN buckets b ON r.create_time >= b.bucket_start AND r.create_time < b.bucket_stop",
        );
    }
    (cte, sql)
}

/// `lead`, then `head`, the rows' query (whose arguments come first, so their placeholders
/// keep their numbers) and `tail`.
fn around(lead: &str, head: &str, rows: Sql, tail: &str) -> Sql {
    Sql {
        text: format!("{lead}{head}{}{tail}", rows.text),
        args: rows.args,
    }
}

fn key_list(dimensions: &[Dimension]) -> String {
    (0..dimensions.len())
        .map(|i| format!("k{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The group key of `row`'s `k0…` columns.
fn key_of(row: &AnyRow, dimensions: &[Dimension]) -> Result<GroupKey> {
    dimensions
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let column = format!("k{i}");
            let column = column.as_str();
            Ok(match d {
                Dimension::Region | Dimension::Team => (*d, row.try_get(column)?, 0),
                Dimension::Channel => (
                    *d,
                    String::new(),
                    i64::from(wire::<Channel>(&row.try_get::<String, _>(column)?)?.rank()),
                ),
                Dimension::Kind => (
                    *d,
                    String::new(),
                    i64::from(wire::<Kind>(&row.try_get::<String, _>(column)?)?.rank()),
                ),
                Dimension::Priority | Dimension::Period => {
                    (*d, String::new(), row.try_get(column)?)
                }
            })
        })
        .collect()
}

const OPEN: &str = "x.status IN ('NEW', 'OPEN', 'PENDING', 'ON_HOLD')";
const HAS_SLA: &str = "x.sla_policy IS NOT NULL";
const BREACHED: &str = "(x.first_response_breached <> 0 OR x.resolution_breached <> 0)";

fn count(condition: &str) -> String {
    format!("COALESCE(SUM(CASE WHEN {condition} THEN 1 ELSE 0 END), 0)")
}

/// The counts and sums per group.
async fn tallies(
    tx: &mut Transaction<'_, Any>,
    q: &StatsQuery<'_>,
    dimensions: &[Dimension],
) -> Result<BTreeMap<GroupKey, Tally>> {
    let fr = duration_expr(true, q.calendar_time);
    let res = duration_expr(false, q.calendar_time);
    // Neither resolved nor closed at `as_of`: still open, or ended only after it.
    let backlog = format!(
        "x.create_time < x.as_of AND ({OPEN} \
         OR ((x.resolve_time IS NOT NULL OR x.close_time IS NOT NULL) \
         AND (x.resolve_time IS NULL OR x.resolve_time > x.as_of) \
         AND (x.close_time IS NULL OR x.close_time > x.as_of)))"
    );
    let fr_decided = format!(
        "{HAS_SLA} AND (x.first_response_breached <> 0 OR x.first_response_time IS NOT NULL)"
    );
    let res_decided =
        format!("{HAS_SLA} AND (x.resolution_breached <> 0 OR x.resolve_time IS NOT NULL)");
    let all_decided = format!("{HAS_SLA} AND ({BREACHED} OR x.resolve_time IS NOT NULL)");
    let columns = [
        ("created", "COUNT(*)".to_owned()),
        ("resolved", count("x.resolve_time IS NOT NULL")),
        (
            "closed_unresolved",
            count("x.status = 'CLOSED' AND x.resolve_time IS NULL"),
        ),
        ("reopened", count("x.reopen_count > 0")),
        ("backlog", count(&backlog)),
        ("breached", count(&format!("{HAS_SLA} AND {BREACHED}"))),
        (
            "fr_met",
            count(&format!("{fr_decided} AND x.first_response_breached = 0")),
        ),
        ("fr_decided", count(&fr_decided)),
        (
            "res_met",
            count(&format!("{res_decided} AND x.resolution_breached = 0")),
        ),
        ("res_decided", count(&res_decided)),
        (
            "all_met",
            count(&format!("{all_decided} AND NOT {BREACHED}")),
        ),
        ("all_decided", count(&all_decided)),
        ("fr_count", format!("COUNT({fr})")),
        ("fr_sum", format!("COALESCE(CAST(SUM({fr}) AS BIGINT), 0)")),
        ("res_count", format!("COUNT({res})")),
        (
            "res_sum",
            format!("COALESCE(CAST(SUM({res}) AS BIGINT), 0)"),
        ),
    ];
    let keys = key_list(dimensions);
    let select: Vec<String> = columns
        .iter()
        .map(|(name, expr)| format!("{expr} AS {name}"))
        .collect();
    let (lead, rows) = rows(q, dimensions);
    let head = if keys.is_empty() {
        format!("SELECT {} FROM (", select.join(", "))
    } else {
        format!("SELECT {keys}, {} FROM (", select.join(", "))
    };
    let tail = if keys.is_empty() {
        ") x".to_owned()
    } else {
        format!(") x GROUP BY {keys}")
    };
    let sql = around(&lead, &head, rows, &tail);
    let mut out = BTreeMap::new();
    for row in sql.query().fetch_all(&mut **tx).await? {
        let get = |name: &str| -> Result<i64> { Ok(row.try_get::<i64, _>(name)?) };
        let tally = Tally {
            created: get("created")?,
            resolved: get("resolved")?,
            closed_unresolved: get("closed_unresolved")?,
            reopened: get("reopened")?,
            backlog: get("backlog")?,
            breached: get("breached")?,
            first_response_met: get("fr_met")?,
            first_response_decided: get("fr_decided")?,
            resolution_met: get("res_met")?,
            resolution_decided: get("res_decided")?,
            all_met: get("all_met")?,
            all_decided: get("all_decided")?,
            first_response: (get("fr_count")?, get("fr_sum")?),
            resolution: (get("res_count")?, get("res_sum")?),
        };
        out.insert(key_of(&row, dimensions)?, tally);
    }
    Ok(out)
}

/// The median and 90th percentile of a duration per group.
async fn percentiles(
    tx: &mut Transaction<'_, Any>,
    q: &StatsQuery<'_>,
    dimensions: &[Dimension],
    first_response: bool,
) -> Result<BTreeMap<GroupKey, (i64, i64)>> {
    let value = duration_expr(first_response, q.calendar_time);
    let keys = key_list(dimensions);
    let partition = if keys.is_empty() {
        String::new()
    } else {
        format!("PARTITION BY {keys} ")
    };
    let leading = if keys.is_empty() {
        String::new()
    } else {
        format!("{keys}, ")
    };
    let (lead, rows) = rows(q, dimensions);
    let head = format!(
        "SELECT {leading}v, rn, n FROM (SELECT {leading}v, \
         ROW_NUMBER() OVER ({partition}ORDER BY v) AS rn, COUNT(*) OVER ({partition}) AS n \
         FROM (SELECT {leading}{value} AS v FROM ("
    );
    // Only the rows at the median's and the 90th percentile's positions come back
    // (`percentile_positions`, in SQL).
    let tail = ") x) y WHERE v IS NOT NULL) w \
         WHERE rn - 1 = n / 2 OR rn - 1 = (9 * (n - 1) + 5) / 10";
    let sql = around(&lead, &head, rows, tail);
    let mut out: BTreeMap<GroupKey, (i64, i64)> = BTreeMap::new();
    for row in sql.query().fetch_all(&mut **tx).await? {
        let (v, rn, n): (i64, i64, i64) =
            (row.try_get("v")?, row.try_get("rn")?, row.try_get("n")?);
        let (p50, p90) = percentile_positions(n);
        let entry = out.entry(key_of(&row, dimensions)?).or_default();
        if rn - 1 == p50 {
            entry.0 = v;
        }
        if rn - 1 == p90 {
            entry.1 = v;
        }
    }
    Ok(out)
}

/// The figures of the tickets `q` counts, per group of `dimensions` (one group with an
/// empty key when there are none), in key order.
async fn figures(
    tx: &mut Transaction<'_, Any>,
    q: &StatsQuery<'_>,
    dimensions: &[Dimension],
) -> Result<BTreeMap<GroupKey, Figures>> {
    let tallies = tallies(tx, q, dimensions).await?;
    let fr = percentiles(tx, q, dimensions, true).await?;
    let res = percentiles(tx, q, dimensions, false).await?;
    Ok(tallies
        .into_iter()
        .map(|(key, tally)| {
            let figures = tally.figures(
                fr.get(&key).copied().unwrap_or_default(),
                res.get(&key).copied().unwrap_or_default(),
            );
            (key, figures)
        })
        .collect())
}

/// The figures of every ticket `q` counts, and per group of `dimensions` (none when there
/// are no dimensions), in key order. Every query reads one snapshot (a read-only
/// repeatable-read transaction on PostgreSQL; one read transaction on SQLite), so the
/// total, the groups and their percentiles agree while tickets keep changing.
pub async fn ticket_stats(
    db: &Database,
    q: &StatsQuery<'_>,
    dimensions: &[Dimension],
) -> Result<(Figures, BTreeMap<GroupKey, Figures>)> {
    let mut tx = db.reader().begin().await?;
    if db.backend() == Backend::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
    }
    let total = figures(&mut tx, q, &[])
        .await?
        .into_values()
        .next()
        .unwrap_or_default();
    let groups = if dimensions.is_empty() {
        BTreeMap::new()
    } else {
        figures(&mut tx, q, dimensions).await?
    };
    tx.rollback().await?;
    Ok((total, groups))
}

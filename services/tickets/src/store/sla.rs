//! SLA policies and business calendars, and the sweep's query.

use aftercare_platform::db::Database;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::{Arg, Sql, TICKET_COLUMNS, corrupt, flag, ticket_from_row, wire};
use crate::domain::{
    CalendarResource, Channel, Conditions, EscalationLevel, EscalationRule, Holiday, Kind,
    OpenInterval, PageToken, Priority, Region, RuleAction, ServiceCentre, SlaPolicy, SlaTrigger,
    TeamName, Ticket, Weekday, WireEnum,
};
use crate::error::{Error, Result};

#[derive(Serialize, Deserialize)]
struct StoredConditions {
    kinds: Vec<String>,
    priorities: Vec<String>,
    customer_tiers: Vec<String>,
    regions: Vec<String>,
    channels: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct StoredRule {
    trigger: String,
    action: String,
    priority: Option<String>,
    level: Option<String>,
    team: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct StoredDay {
    weekday: String,
    intervals: Vec<OpenInterval>,
}

#[derive(Serialize, Deserialize)]
struct StoredHoliday {
    date: String,
    display_name: String,
}

fn names<E: WireEnum>(values: &[E]) -> Vec<String> {
    values.iter().map(|v| v.as_str().to_owned()).collect()
}

fn parse_all<E: WireEnum>(values: &[String]) -> Result<Vec<E>> {
    values.iter().map(|v| wire::<E>(v)).collect()
}

fn json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Corrupt(format!("json: {e}")))
}

fn unjson<T: for<'a> Deserialize<'a>>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt(format!("json: {e}")))
}

fn team(text: Option<String>) -> Result<Option<TeamName>> {
    text.map(|t| TeamName::parse(&t))
        .transpose()
        .map_err(Error::Corrupt)
}

fn policy_args(policy: &SlaPolicy) -> Result<Vec<Arg>> {
    let c = &policy.conditions;
    let conditions = json(&StoredConditions {
        kinds: names(&c.kinds),
        priorities: names(&c.priorities),
        customer_tiers: c.customer_tiers.clone(),
        regions: c.regions.clone(),
        channels: names(&c.channels),
    })?;
    let rules: Vec<StoredRule> = policy
        .escalation_rules
        .iter()
        .map(|r| {
            let (action, priority, level, team) = match &r.action {
                RuleAction::RaisePriority(p) => (
                    "RAISE_PRIORITY",
                    p.map(|p| p.as_str().to_owned()),
                    None,
                    None,
                ),
                RuleAction::EscalateLevel(l, t) => (
                    "ESCALATE_LEVEL",
                    None,
                    l.map(|l| l.as_str().to_owned()),
                    t.clone().map(String::from),
                ),
                RuleAction::NotifyTeam(t) => {
                    ("NOTIFY_TEAM", None, None, t.clone().map(String::from))
                }
            };
            StoredRule {
                trigger: r.trigger.as_str().to_owned(),
                action: action.to_owned(),
                priority,
                level,
                team,
            }
        })
        .collect();
    Ok(vec![
        Arg::Text(policy.display_name.clone()),
        Arg::Text(policy.description.clone()),
        Arg::Int(i64::from(policy.rank)),
        Arg::Int(flag(policy.disabled)),
        Arg::Text(conditions),
        Arg::Int(policy.first_response_target),
        Arg::Int(policy.resolution_target),
        Arg::Int(i64::from(policy.at_risk_percent)),
        Arg::OptText(policy.business_calendar.clone()),
        Arg::Text(json(&rules)?),
        Arg::Int(policy.update_time),
    ])
}

const POLICY_MUTABLE: &[&str] = &[
    "display_name",
    "description",
    "policy_rank",
    "disabled",
    "conditions",
    "first_response_target",
    "resolution_target",
    "at_risk_percent",
    "business_calendar",
    "escalation_rules",
    "update_time",
];

const POLICY_COLUMNS: &str = "id, display_name, description, policy_rank, disabled, conditions, \
    first_response_target, resolution_target, at_risk_percent, business_calendar, \
    escalation_rules, version, create_time, update_time";

fn policy_from_row(row: &AnyRow) -> Result<SlaPolicy> {
    let id: String = row.try_get("id")?;
    let conditions: StoredConditions = unjson(&row.try_get::<String, _>("conditions")?)?;
    let rules: Vec<StoredRule> = unjson(&row.try_get::<String, _>("escalation_rules")?)?;
    let escalation_rules = rules
        .into_iter()
        .map(|r| {
            let action = match r.action.as_str() {
                "RAISE_PRIORITY" => {
                    RuleAction::RaisePriority(r.priority.map(|p| wire::<Priority>(&p)).transpose()?)
                }
                "ESCALATE_LEVEL" => RuleAction::EscalateLevel(
                    r.level.map(|l| wire::<EscalationLevel>(&l)).transpose()?,
                    team(r.team)?,
                ),
                "NOTIFY_TEAM" => RuleAction::NotifyTeam(team(r.team)?),
                other => return Err(corrupt("rule action", other)),
            };
            Ok(EscalationRule {
                trigger: wire::<SlaTrigger>(&r.trigger)?,
                action,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(SlaPolicy {
        id: Uuid::parse_str(&id).map_err(|_| corrupt("policy id", &id))?,
        display_name: row.try_get("display_name")?,
        description: row.try_get("description")?,
        rank: row.try_get::<i64, _>("policy_rank")? as i32,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        conditions: Conditions {
            kinds: parse_all::<Kind>(&conditions.kinds)?,
            priorities: parse_all::<Priority>(&conditions.priorities)?,
            customer_tiers: conditions.customer_tiers,
            regions: conditions.regions,
            channels: parse_all::<Channel>(&conditions.channels)?,
        },
        first_response_target: row.try_get("first_response_target")?,
        resolution_target: row.try_get("resolution_target")?,
        at_risk_percent: row.try_get::<i64, _>("at_risk_percent")? as u32,
        business_calendar: row.try_get("business_calendar")?,
        escalation_rules,
        version: row.try_get("version")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
    })
}

/// The INSERT of `policy`, without a conflict clause.
fn policy_insert(policy: &SlaPolicy, request_id: Option<&str>) -> Result<Sql> {
    let mut sql = Sql::new("INSERT INTO sla_policies (id, request_id, version, create_time, ");
    sql.push(&POLICY_MUTABLE.join(", ")).push(") VALUES (");
    let fixed = [
        Arg::Text(policy.id.to_string()),
        Arg::OptText(request_id.map(ToOwned::to_owned)),
        Arg::Int(policy.version),
        Arg::Int(policy.create_time),
    ];
    for (i, arg) in fixed.into_iter().chain(policy_args(policy)?).enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.arg(arg);
    }
    sql.push(")");
    Ok(sql)
}

/// Inserts a policy; with a `request_id` already used, returns the policy made then.
pub async fn create_policy(
    db: &Database,
    policy: &SlaPolicy,
    request_id: Option<&str>,
) -> Result<SlaPolicy> {
    let mut sql = policy_insert(policy, request_id)?;
    sql.push(" ON CONFLICT (request_id) DO NOTHING");
    sql.query().execute(db.writer()).await?;
    let row = match request_id {
        Some(request_id) => {
            sqlx::query(&format!(
                "SELECT {POLICY_COLUMNS} FROM sla_policies WHERE request_id = $1"
            ))
            .bind(request_id)
            .fetch_one(db.reader())
            .await?
        }
        None => {
            sqlx::query(&format!(
                "SELECT {POLICY_COLUMNS} FROM sla_policies WHERE id = $1"
            ))
            .bind(policy.id.to_string())
            .fetch_one(db.reader())
            .await?
        }
    };
    policy_from_row(&row)
}

/// One policy.
pub async fn get_policy(db: &Database, id: Uuid) -> Result<Option<SlaPolicy>> {
    let row = sqlx::query(&format!(
        "SELECT {POLICY_COLUMNS} FROM sla_policies WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(policy_from_row).transpose()
}

/// Every policy in evaluation order (rank, then creation).
pub async fn all_policies(db: &Database) -> Result<Vec<SlaPolicy>> {
    let rows = sqlx::query(&format!(
        "SELECT {POLICY_COLUMNS} FROM sla_policies ORDER BY policy_rank, create_time, id"
    ))
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(policy_from_row).collect()
}

/// Writes a changed policy read at `policy.version`; `StaleEtag` when it moved on.
pub async fn update_policy(db: &Database, mut policy: SlaPolicy) -> Result<SlaPolicy> {
    let mut sql = Sql::new("UPDATE sla_policies SET version = version + 1");
    for (column, arg) in POLICY_MUTABLE.iter().zip(policy_args(&policy)?) {
        sql.push(&format!(", {column} = "));
        sql.arg(arg);
    }
    sql.push(" WHERE id = ");
    sql.arg(Arg::Text(policy.id.to_string()));
    sql.push(" AND version = ");
    sql.arg(Arg::Int(policy.version));
    if sql.query().execute(db.writer()).await?.rows_affected() == 0 {
        return Err(Error::StaleEtag(policy.name()));
    }
    policy.version += 1;
    Ok(policy)
}

/// Deletes a policy at `version`; `false` when it moved on or is gone.
pub async fn delete_policy(db: &Database, id: Uuid, version: i64) -> Result<bool> {
    let done = sqlx::query("DELETE FROM sla_policies WHERE id = $1 AND version = $2")
        .bind(id.to_string())
        .bind(version)
        .execute(db.writer())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether any policy names `calendar`.
pub async fn calendar_in_use(db: &Database, calendar: &str) -> Result<bool> {
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sla_policies WHERE business_calendar = $1")
            .bind(calendar)
            .fetch_one(db.reader())
            .await?;
    Ok(count > 0)
}

const CALENDAR_COLUMNS: &str = "id, display_name, region, service_centre, time_zone, \
    weekly_hours, holidays, version, create_time, update_time";

fn calendar_from_row(row: &AnyRow) -> Result<CalendarResource> {
    let id: String = row.try_get("id")?;
    let zone: String = row.try_get("time_zone")?;
    let centre: String = row.try_get("service_centre")?;
    let days: Vec<StoredDay> = unjson(&row.try_get::<String, _>("weekly_hours")?)?;
    let holidays: Vec<StoredHoliday> = unjson(&row.try_get::<String, _>("holidays")?)?;
    Ok(CalendarResource {
        id: Uuid::parse_str(&id).map_err(|_| corrupt("calendar id", &id))?,
        display_name: row.try_get("display_name")?,
        region: Region::parse(&row.try_get::<String, _>("region")?).map_err(Error::Corrupt)?,
        service_centre: (!centre.is_empty())
            .then(|| ServiceCentre::parse(&centre))
            .transpose()
            .map_err(Error::Corrupt)?,
        time_zone: zone.parse().map_err(|_| corrupt("time zone", &zone))?,
        weekly: days
            .into_iter()
            .map(|d| Ok((wire::<Weekday>(&d.weekday)?, d.intervals)))
            .collect::<Result<_>>()?,
        holidays: holidays
            .into_iter()
            .map(|h| {
                Ok(Holiday {
                    date: NaiveDate::parse_from_str(&h.date, "%Y-%m-%d")
                        .map_err(|_| corrupt("holiday", &h.date))?,
                    display_name: h.display_name,
                })
            })
            .collect::<Result<_>>()?,
        version: row.try_get("version")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
    })
}

fn calendar_args(c: &CalendarResource) -> Result<Vec<Arg>> {
    let days: Vec<StoredDay> = c
        .weekly
        .iter()
        .map(|(day, intervals)| StoredDay {
            weekday: day.as_str().to_owned(),
            intervals: intervals.clone(),
        })
        .collect();
    let holidays: Vec<StoredHoliday> = c
        .holidays
        .iter()
        .map(|h| StoredHoliday {
            date: h.date.format("%Y-%m-%d").to_string(),
            display_name: h.display_name.clone(),
        })
        .collect();
    Ok(vec![
        Arg::Text(c.display_name.clone()),
        Arg::Text(c.region.to_string()),
        Arg::Text(
            c.service_centre
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        ),
        Arg::Text(c.time_zone.name().to_owned()),
        Arg::Text(json(&days)?),
        Arg::Text(json(&holidays)?),
        Arg::Int(c.update_time),
    ])
}

const CALENDAR_MUTABLE: &[&str] = &[
    "display_name",
    "region",
    "service_centre",
    "time_zone",
    "weekly_hours",
    "holidays",
    "update_time",
];

/// What creating a calendar did.
#[derive(Debug)]
pub enum CalendarCreated {
    /// Made (or made earlier with the same request id).
    Made(CalendarResource),
    /// Another calendar serves the same region and centre.
    Taken,
}

/// The INSERT of `calendar`, without a conflict clause.
fn calendar_insert(calendar: &CalendarResource, request_id: Option<&str>) -> Result<Sql> {
    let mut sql =
        Sql::new("INSERT INTO business_calendars (id, request_id, version, create_time, ");
    sql.push(&CALENDAR_MUTABLE.join(", ")).push(") VALUES (");
    let fixed = [
        Arg::Text(calendar.id.to_string()),
        Arg::OptText(request_id.map(ToOwned::to_owned)),
        Arg::Int(calendar.version),
        Arg::Int(calendar.create_time),
    ];
    for (i, arg) in fixed
        .into_iter()
        .chain(calendar_args(calendar)?)
        .enumerate()
    {
        if i > 0 {
            sql.push(", ");
        }
        sql.arg(arg);
    }
    sql.push(")");
    Ok(sql)
}

/// Inserts a calendar; a `request_id` already used returns the calendar made then.
pub async fn create_calendar(
    db: &Database,
    calendar: &CalendarResource,
    request_id: Option<&str>,
) -> Result<CalendarCreated> {
    if let Some(request_id) = request_id {
        let row = sqlx::query(&format!(
            "SELECT {CALENDAR_COLUMNS} FROM business_calendars WHERE request_id = $1"
        ))
        .bind(request_id)
        .fetch_optional(db.reader())
        .await?;
        if let Some(row) = row {
            return calendar_from_row(&row).map(CalendarCreated::Made);
        }
    }
    let mut sql = calendar_insert(calendar, request_id)?;
    sql.push(" ON CONFLICT DO NOTHING");
    if sql.query().execute(db.writer()).await?.rows_affected() == 1 {
        return Ok(CalendarCreated::Made(calendar.clone()));
    }
    // Lost to a concurrent retry with the same request id, or the centre has a calendar.
    if let Some(request_id) = request_id {
        let row = sqlx::query(&format!(
            "SELECT {CALENDAR_COLUMNS} FROM business_calendars WHERE request_id = $1"
        ))
        .bind(request_id)
        .fetch_optional(db.reader())
        .await?;
        if let Some(row) = row {
            return calendar_from_row(&row).map(CalendarCreated::Made);
        }
    }
    Ok(CalendarCreated::Taken)
}

/// One calendar.
pub async fn get_calendar(db: &Database, id: Uuid) -> Result<Option<CalendarResource>> {
    let row = sqlx::query(&format!(
        "SELECT {CALENDAR_COLUMNS} FROM business_calendars WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(calendar_from_row).transpose()
}

/// Every calendar.
pub async fn all_calendars(db: &Database) -> Result<Vec<CalendarResource>> {
    let rows = sqlx::query(&format!(
        "SELECT {CALENDAR_COLUMNS} FROM business_calendars"
    ))
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(calendar_from_row).collect()
}

/// A page of calendars by region and centre, filtered by exact values.
pub async fn list_calendars(
    db: &Database,
    equals: &[(&'static str, bool, String)],
    after: Option<&PageToken>,
    limit: u32,
) -> Result<Vec<CalendarResource>> {
    let mut sql = Sql::new(&format!(
        "SELECT {CALENDAR_COLUMNS} FROM business_calendars WHERE 1 = 1"
    ));
    for (column, equal, value) in equals {
        let op = if *equal { "=" } else { "<>" };
        sql.push(&format!(" AND {column} {op} "));
        sql.arg(Arg::Text(value.clone()));
    }
    if let Some(token) = after {
        // The token names the last calendar of the previous page; continue after its
        // (region, service_centre, id) position.
        sql.push(
            " AND (region, service_centre, id) > (SELECT region, service_centre, id \
             FROM business_calendars WHERE id = ",
        );
        sql.arg(Arg::Text(token.id.clone()));
        sql.push(")");
    }
    sql.push(" ORDER BY region, service_centre, id LIMIT ");
    sql.arg(Arg::Int(i64::from(limit) + 1));
    let rows = sql.query().fetch_all(db.reader()).await?;
    rows.iter().map(calendar_from_row).collect()
}

/// `sla_next_check` of a running ticket whose due times must be recomputed (its calendar
/// changed or was deleted): below any real time, so the next sweep round picks it up first.
pub const SLA_RECOMPUTE_MARK: i64 = -1;

/// Marks the running tickets counted in calendar `name` for recomputation by the sweep.
async fn mark_tickets_of_calendar(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    name: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE tickets SET sla_next_check = $1 WHERE sla_calendar = $2 \
         AND sla_next_check IS NOT NULL",
    )
    .bind(SLA_RECOMPUTE_MARK)
    .bind(name)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes a changed calendar read at `calendar.version` and, in the same transaction,
/// marks the running tickets counted in it for the sweep to recompute their due times.
pub async fn update_calendar(
    db: &Database,
    mut calendar: CalendarResource,
) -> Result<Option<CalendarResource>> {
    let mut sql = Sql::new("UPDATE business_calendars SET version = version + 1");
    for (column, arg) in CALENDAR_MUTABLE.iter().zip(calendar_args(&calendar)?) {
        sql.push(&format!(", {column} = "));
        sql.arg(arg);
    }
    sql.push(" WHERE id = ");
    sql.arg(Arg::Text(calendar.id.to_string()));
    sql.push(" AND version = ");
    sql.arg(Arg::Int(calendar.version));
    let mut tx = db.begin().await?;
    match sql.query().execute(&mut *tx).await {
        Ok(done) if done.rows_affected() == 0 => {
            tx.rollback().await?;
            Err(Error::StaleEtag(calendar.name()))
        }
        Ok(_) => {
            mark_tickets_of_calendar(&mut tx, &calendar.name()).await?;
            tx.commit().await?;
            calendar.version += 1;
            Ok(Some(calendar))
        }
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            tx.rollback().await?;
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Deletes a calendar at `version`; `false` when it moved on or is gone. The running
/// tickets counted in it are marked for the sweep to move them to their fallback calendar.
pub async fn delete_calendar(db: &Database, id: Uuid, version: i64) -> Result<bool> {
    let mut tx = db.begin().await?;
    let done = sqlx::query("DELETE FROM business_calendars WHERE id = $1 AND version = $2")
        .bind(id.to_string())
        .bind(version)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    mark_tickets_of_calendar(&mut tx, &format!("businessCalendars/{id}")).await?;
    tx.commit().await?;
    Ok(true)
}

/// Up to `limit` tickets marked for recomputation ([`SLA_RECOMPUTE_MARK`]).
pub async fn tickets_marked_for_recompute(db: &Database, limit: u32) -> Result<Vec<Ticket>> {
    let rows = sqlx::query(&format!(
        "SELECT {TICKET_COLUMNS} FROM tickets WHERE sla_next_check = $1 LIMIT $2"
    ))
    .bind(SLA_RECOMPUTE_MARK)
    .bind(i64::from(limit))
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(ticket_from_row).collect()
}

/// Clears the recomputation mark of `ticket` (still at `ticket.version`) when nothing else
/// changed, writing its real next check.
pub async fn clear_recompute_mark(db: &Database, ticket: &Ticket) -> Result<()> {
    sqlx::query(
        "UPDATE tickets SET sla_next_check = $1 WHERE id = $2 AND version = $3 \
         AND sla_next_check = $4",
    )
    .bind(ticket.sla.next_check(ticket.status))
    .bind(ticket.id.to_string())
    .bind(ticket.version)
    .bind(SLA_RECOMPUTE_MARK)
    .execute(db.writer())
    .await?;
    Ok(())
}

/// Up to `limit` tickets whose next SLA check is due at `now`, earliest first (an index
/// range scan on `sla_next_check`, however many tickets are open).
pub async fn tickets_due_for_sweep(db: &Database, now: i64, limit: u32) -> Result<Vec<Ticket>> {
    let rows = sqlx::query(&format!(
        "SELECT {TICKET_COLUMNS} FROM tickets WHERE sla_next_check IS NOT NULL \
         AND sla_next_check <= $1 ORDER BY sla_next_check LIMIT $2"
    ))
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(ticket_from_row).collect()
}

/// Open tickets by SLA standing, per region: how many are inside a target's at-risk window
/// (not yet breached; for the first response, not yet answered) and how many are past it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlaStanding {
    /// The region.
    pub region: String,
    /// At risk of missing the first response.
    pub first_response_at_risk: i64,
    /// At risk of missing resolution.
    pub resolution_at_risk: i64,
    /// Past the first-response target, unanswered.
    pub first_response_breached: i64,
    /// Past the resolution target.
    pub resolution_breached: i64,
}

/// The [`SlaStanding`] of every region with open tickets.
pub async fn sla_standing(db: &Database) -> Result<Vec<SlaStanding>> {
    let rows = sqlx::query(
        "SELECT region,
            SUM(CASE WHEN sla_first_response_at_risk <> 0 AND first_response_breached = 0
                AND first_response_time IS NULL THEN 1 ELSE 0 END) AS fr_risk,
            SUM(CASE WHEN sla_resolution_at_risk <> 0 AND resolution_breached = 0
                THEN 1 ELSE 0 END) AS res_risk,
            SUM(CASE WHEN first_response_breached <> 0 AND first_response_time IS NULL
                THEN 1 ELSE 0 END) AS fr_breached,
            SUM(CASE WHEN resolution_breached <> 0 THEN 1 ELSE 0 END) AS res_breached
         FROM tickets WHERE status IN ('NEW', 'OPEN', 'PENDING', 'ON_HOLD') AND sla_policy IS NOT NULL
         GROUP BY region ORDER BY region",
    )
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(SlaStanding {
                region: row.try_get("region")?,
                first_response_at_risk: row.try_get("fr_risk")?,
                resolution_at_risk: row.try_get("res_risk")?,
                first_response_breached: row.try_get("fr_breached")?,
                resolution_breached: row.try_get("res_breached")?,
            })
        })
        .collect()
}

/// Up to `limit` tickets resolved at or before `cutoff` and still `RESOLVED`.
pub async fn tickets_resolved_before(
    db: &Database,
    cutoff: i64,
    limit: u32,
) -> Result<Vec<Ticket>> {
    let rows = sqlx::query(&format!(
        "SELECT {TICKET_COLUMNS} FROM tickets WHERE status = 'RESOLVED' AND resolve_time <= $1 \
         ORDER BY resolve_time LIMIT $2"
    ))
    .bind(cutoff)
    .bind(i64::from(limit))
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(ticket_from_row).collect()
}

/// Every policy and calendar, to apply SLAs.
pub async fn sla_setup(db: &Database) -> Result<crate::domain::SlaSetup> {
    Ok(crate::domain::SlaSetup {
        policies: all_policies(db).await?,
        calendars: all_calendars(db).await?,
    })
}

/// What creating the default service standards did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultsSetUp {
    /// Created now.
    Created,
    /// Done before (on this database, by this or another replica): nothing written.
    AlreadyDone,
    /// The database already had policies or calendars of its own: only the marker written.
    NotNeeded,
}

/// Creates `defaults` once per database, in one transaction with the `service_setup`
/// marker named `setup`: a database that has the marker gets nothing (so an admin's edits
/// and deletions of the defaults stay), and neither does one that already holds a policy or
/// a calendar. Concurrent replicas starting at once: the marker's primary key lets one win.
pub async fn set_up_defaults(
    db: &Database,
    setup: &str,
    defaults: &crate::domain::DefaultStandards,
    now: i64,
) -> Result<DefaultsSetUp> {
    let mut tx = db.begin().await?;
    let marked = sqlx::query(
        "INSERT INTO service_setup (name, create_time) VALUES ($1, $2) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(setup)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if marked.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(DefaultsSetUp::AlreadyDone);
    }
    let existing: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM sla_policies) + (SELECT COUNT(*) FROM business_calendars)",
    )
    .fetch_one(&mut *tx)
    .await?;
    if existing > 0 {
        tx.commit().await?;
        return Ok(DefaultsSetUp::NotNeeded);
    }
    for calendar in &defaults.calendars {
        calendar_insert(calendar, None)?
            .query()
            .execute(&mut *tx)
            .await?;
    }
    for policy in &defaults.policies {
        policy_insert(policy, None)?
            .query()
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(DefaultsSetUp::Created)
}

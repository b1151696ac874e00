//! After-sales cases.

use aftercare_platform::db::Database;
use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::idempotency::claim;
use super::{Arg, Sql, record};
use crate::domain::IdempotencyKey;
use crate::domain::{
    Access, Actor, AfterSalesCase, CaseState, Change, Comparison, PageToken, StepKind, Ticket,
    TicketId, WireEnum,
};
use crate::error::{Error, Result};
use crate::events::Committed;

/// The most cases a ticket may have.
pub const MAX_CASES_PER_TICKET: i64 = 20;

fn case_from_row(row: &AnyRow) -> Result<AfterSalesCase> {
    let document: String = row.try_get("document")?;
    let mut case: AfterSalesCase = serde_json::from_str(&document)
        .map_err(|e| Error::Corrupt(format!("after-sales case: {e}")))?;
    case.version = row.try_get("version")?;
    Ok(case)
}

fn document(case: &AfterSalesCase) -> Result<String> {
    serde_json::to_string(case).map_err(|e| Error::Corrupt(format!("after-sales case: {e}")))
}

fn technician(case: &AfterSalesCase) -> String {
    case.arrangement
        .as_ref()
        .map(|a| a.technician.clone())
        .unwrap_or_default()
}

fn service_centre(case: &AfterSalesCase) -> String {
    case.arrangement
        .as_ref()
        .map(|a| a.service_centre.clone())
        .unwrap_or_default()
}

fn appointment_start(case: &AfterSalesCase) -> Option<i64> {
    case.arrangement
        .as_ref()
        .and_then(|a| a.appointment)
        .map(|a| a.0)
}

/// A condition on cases (`ListAfterSalesCasesRequest.filter`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseCondition {
    /// A text column (`state`, `service_type`, `customer`, `region`, `technician`,
    /// `service_centre`) equal (`true`) or not to a value.
    Text(&'static str, bool, String),
    /// A time column (`create_time`, `update_time`, `appointment_start_time`) compared.
    Time(&'static str, Comparison, i64),
}

/// What creating a case did.
#[derive(Debug)]
pub enum CaseCreated {
    /// Made now.
    New(Box<AfterSalesCase>),
    /// The caller's key was taken meanwhile (by a concurrent call): nothing was written.
    KeyTaken,
    /// The ticket has the most cases allowed.
    Full,
}

/// Inserts a case with the ticket's history entry and event.
pub async fn create_case(
    db: &Database,
    case: &AfterSalesCase,
    ticket: &Ticket,
    key: Option<&IdempotencyKey>,
    actor: &Actor,
) -> Result<CaseCreated> {
    let mut tx = db.begin().await?;
    if let Some(key) = key
        && !claim(&mut tx, key, &case.id.to_string(), case.create_time).await?
    {
        tx.rollback().await?;
        return Ok(CaseCreated::KeyTaken);
    }
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM after_sales_cases WHERE ticket_id = $1")
            .bind(ticket.id.to_string())
            .fetch_one(&mut *tx)
            .await?;
    if count >= MAX_CASES_PER_TICKET {
        tx.rollback().await?;
        return Ok(CaseCreated::Full);
    }
    sqlx::query(
        "INSERT INTO after_sales_cases (id, ticket_id, request_id, customer, region, state, \
         document, version, create_time, update_time, service_type, technician, service_centre, \
         appointment_start_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(case.id.to_string())
    .bind(ticket.id.to_string())
    .bind(None::<String>)
    .bind(&case.customer)
    .bind(&case.region)
    .bind(case.state.as_str())
    .bind(document(case)?)
    .bind(case.version)
    .bind(case.create_time)
    .bind(case.update_time)
    .bind(case.service_type().as_str())
    .bind(technician(case))
    .bind(service_centre(case))
    .bind(appointment_start(case))
    .execute(&mut *tx)
    .await?;
    note(&mut tx, ticket, case, None, StepKind::Application, actor).await?;
    tx.commit().await?;
    Ok(CaseCreated::New(Box::new(case.clone())))
}

async fn note(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ticket: &Ticket,
    case: &AfterSalesCase,
    previous: Option<CaseState>,
    step: StepKind,
    actor: &Actor,
) -> Result<Committed> {
    let mut at = ticket.clone();
    at.update_time = case.update_time;
    let change = Change::AfterSalesCaseChanged {
        case: Box::new(case.clone()),
        previous,
        step,
    };
    record(tx, &at, vec![change], actor, None).await
}

/// One case of `ticket`.
pub async fn get_case(db: &Database, ticket: TicketId, id: Uuid) -> Result<Option<AfterSalesCase>> {
    let row = sqlx::query(
        "SELECT document, version FROM after_sales_cases WHERE id = $1 AND ticket_id = $2",
    )
    .bind(id.to_string())
    .bind(ticket.to_string())
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(case_from_row).transpose()
}

/// Writes a case changed from the version it was read at, with the ticket's history entry
/// and event; `StaleEtag` when it moved on.
pub async fn save_case(
    db: &Database,
    mut case: AfterSalesCase,
    ticket: &Ticket,
    previous: CaseState,
    step: StepKind,
    actor: &Actor,
) -> Result<AfterSalesCase> {
    let mut tx = db.begin().await?;
    let updated = sqlx::query(
        "UPDATE after_sales_cases SET state = $1, document = $2, update_time = $3, \
         service_type = $6, technician = $7, service_centre = $8, appointment_start_time = $9, \
         version = version + 1 WHERE id = $4 AND version = $5",
    )
    .bind(case.state.as_str())
    .bind(document(&case)?)
    .bind(case.update_time)
    .bind(case.id.to_string())
    .bind(case.version)
    .bind(case.service_type().as_str())
    .bind(technician(&case))
    .bind(service_centre(&case))
    .bind(appointment_start(&case))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        tx.rollback().await?;
        return Err(Error::StaleEtag(case.name()));
    }
    case.version += 1;
    note(&mut tx, ticket, &case, Some(previous), step, actor).await?;
    tx.commit().await?;
    Ok(case)
}

/// A page of cases: of `ticket`, or of every ticket within `access`; optionally in `state`.
pub async fn list_cases(
    db: &Database,
    access: &Access,
    ticket: Option<TicketId>,
    conditions: &[CaseCondition],
    after: Option<&PageToken>,
    limit: u32,
) -> Result<Vec<AfterSalesCase>> {
    let mut sql = Sql::new("SELECT document, version FROM after_sales_cases WHERE 1 = 1");
    if let Some(ticket) = ticket {
        sql.push(" AND ticket_id = ");
        sql.arg(Arg::Text(ticket.to_string()));
    }
    match access {
        Access::Customer(customer) => {
            sql.push(" AND customer = ");
            sql.arg(Arg::Text(customer.to_string()));
        }
        Access::Region(region) => {
            sql.push(" AND region = ");
            sql.arg(Arg::Text(region.to_string()));
        }
        Access::All => {}
    }
    for condition in conditions {
        match condition {
            CaseCondition::Text(column, equal, value) => {
                let op = if *equal { "=" } else { "<>" };
                sql.push(&format!(" AND {column} {op} "));
                sql.arg(Arg::Text(value.clone()));
            }
            CaseCondition::Time(column, op, value) => {
                sql.push(&format!(" AND {column} {} ", op.sql()));
                sql.arg(Arg::Int(*value));
            }
        }
    }
    if let Some(token) = after {
        sql.push(" AND (create_time, id) > (");
        sql.arg(Arg::Int(token.int_key().unwrap_or_default()));
        sql.push(", ");
        sql.arg(Arg::Text(token.id.clone()));
        sql.push(")");
    }
    sql.push(" ORDER BY create_time, id LIMIT ");
    sql.arg(Arg::Int(i64::from(limit) + 1));
    let rows = sql.query().fetch_all(db.reader()).await?;
    rows.iter().map(case_from_row).collect()
}

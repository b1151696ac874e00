//! Every SQL statement of the customers service, one query set for SQLite and PostgreSQL
//! through `sqlx::Any`: `$n` placeholders, times as microseconds, ids, enums and JSON as
//! text, flags as 0/1.

mod consents;
mod customers;
mod idempotency;
mod identities;
mod loyalty;
mod merges;
mod organisations;
mod privacy;
mod segments;
mod tiers;
mod timeline;

use sqlx::Row as _;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection};
use uuid::Uuid;

use crate::domain::filter::{Op, Scalar};

pub use consents::{
    ConsentQuery, consent_rank, delete_consents, list_consents, set_consent, upsert_consent,
};
pub use customers::{
    CustomerQuery, check_organisation, count_customers, create_customer, customers_for_tier_review,
    delete_customer_at, find_customer, insert_customer, list_customers, load_customer, save_update,
    update_customer,
};
pub use idempotency::{check_request, remember};
pub use identities::{
    IdentityQuery, add_identity, create_from_identity, identity_owner, list_identities,
    remove_identity, verify_identity,
};
pub use loyalty::{
    LoyaltyQuery, Recorded, anonymise_loyalty, append_entry, current_balance, list_loyalty,
    loyalty_balance, record_loyalty_entry,
};
pub use merges::merge_customers;
pub use organisations::{
    OrganisationQuery, create_organisation, delete_organisation_at, find_organisation,
    list_organisations, load_organisation, update_organisation_at,
};
pub use privacy::{erase_customer, merged_customers};
pub use segments::{
    SegmentQuery, create_segment, delete_segment_at, list_segments, load_segment, recount_segment,
    refresh_segment_count, segment_ids, update_segment_at,
};
pub use tiers::{
    TierRuleQuery, create_tier_rule, delete_tier_rule_at, evaluate_tier, list_tier_rules,
    load_rule, reevaluate, review_tier, update_tier_rule_at,
};
pub use timeline::{
    TimelineQuery, anonymise_timeline, count_foreign_timeline, insert_timeline_entry,
    list_timeline, move_timeline,
};

/// A connection: from the reader pool, or a write transaction's.
pub type Conn = AnyConnection;

/// A `WHERE` clause being built, with its arguments in placeholder order.
#[derive(Debug, Default)]
struct Where {
    clauses: Vec<String>,
    args: Vec<Scalar>,
}

impl Where {
    /// The next placeholder (`$3`) for `value`.
    fn arg(&mut self, value: Scalar) -> String {
        self.args.push(value);
        format!("${}", self.args.len())
    }

    fn push(&mut self, clause: impl Into<String>) {
        self.clauses.push(clause.into());
    }

    /// `column op value`, with `!=` keeping rows where the column is NULL and a NULL value
    /// meaning IS NULL / IS NOT NULL.
    fn compare(&mut self, column: &str, op: Op, value: &Scalar) {
        let clause = match (op, value) {
            (Op::Eq, Scalar::Null) => format!("{column} IS NULL"),
            (_, Scalar::Null) => format!("{column} IS NOT NULL"),
            (Op::Ne, value) => {
                let arg = self.arg(value.clone());
                format!("({column} IS NULL OR {column} <> {arg})")
            }
            (op, value) => {
                let arg = self.arg(value.clone());
                format!("{column} {} {arg}", op.sql())
            }
        };
        self.push(clause);
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
        mut query: Query<'q, Any, AnyArguments<'q>>,
    ) -> Query<'q, Any, AnyArguments<'q>> {
        for arg in &self.args {
            query = match arg {
                Scalar::Int(value) => query.bind(*value),
                Scalar::Text(value) => query.bind(value.clone()),
                Scalar::Null => query.bind(None::<String>),
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

/// A stored value that does not decode (bad JSON, unknown enum number).
fn corrupt(what: &str, detail: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Decode(format!("stored {what} is not valid: {detail}").into())
}

fn flag(value: bool) -> i64 {
    i64::from(value)
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

fn from_json<T: serde::de::DeserializeOwned>(row: &AnyRow, column: &str) -> Result<T, sqlx::Error> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|err| corrupt(column, err))
}

fn uuid(text: &str, column: &str) -> Result<Uuid, sqlx::Error> {
    Uuid::parse_str(text).map_err(|err| corrupt(column, err))
}

fn optional_uuid(row: &AnyRow, column: &str) -> Result<Option<Uuid>, sqlx::Error> {
    row.try_get::<Option<String>, _>(column)?
        .map(|text| uuid(&text, column))
        .transpose()
}

fn enum_column<E: TryFrom<i32>>(row: &AnyRow, column: &str) -> Result<E, sqlx::Error> {
    let number: i64 = row.try_get(column)?;
    i32::try_from(number)
        .ok()
        .and_then(|n| E::try_from(n).ok())
        .ok_or_else(|| corrupt(column, number))
}

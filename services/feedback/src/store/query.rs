//! Filters and reach as SQL: the AIP-160 conditions a list accepts, compiled to `WHERE`
//! clauses with bound values.

use aftercare_platform::query::{Comparison, Condition, Filter};
use sqlx::Any;
use sqlx::any::AnyArguments;
use sqlx::query::Query;

use crate::domain::access::Reach;

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    /// Text.
    Text(String),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
}

/// How a filter field is compared.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A quoted string.
    Text,
    /// An enum by name (`OPEN`) → its number.
    Enum(fn(&str) -> Option<i32>),
    /// `true` / `false` → 1 / 0.
    Bool,
    /// An integer.
    Int,
    /// A number.
    Float,
    /// An RFC 3339 time → microseconds.
    Time,
}

/// One accepted field: its filter name, its SQL expression and its kind.
pub type Field = (&'static str, &'static str, Kind);

/// `WHERE` conditions and their values, numbered from `$1`.
#[derive(Debug, Clone, Default)]
pub struct Where {
    clauses: Vec<String>,
    binds: Vec<Bind>,
}

impl Where {
    /// No conditions.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next placeholder for `value`.
    pub fn bind(&mut self, value: Bind) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }

    /// Adds `clause` (using placeholders from [`Where::bind`]).
    pub fn push(&mut self, clause: impl Into<String>) {
        self.clauses.push(clause.into());
    }

    /// ` WHERE a AND b`, or nothing.
    pub fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// Binds every value to `query`.
    pub fn apply<'q>(
        &'q self,
        mut query: Query<'q, Any, AnyArguments<'q>>,
    ) -> Query<'q, Any, AnyArguments<'q>> {
        for bind in &self.binds {
            query = match bind {
                Bind::Text(v) => query.bind(v.as_str()),
                Bind::Int(v) => query.bind(*v),
                Bind::Float(v) => query.bind(*v),
            };
        }
        query
    }

    /// Restricts to what `reach` covers, with the region and customer in `region_col` and
    /// `customer_col`.
    pub fn reach(&mut self, reach: &Reach, region_col: &str, customer_col: &str) {
        match reach {
            Reach::All => {}
            Reach::Region(region) => {
                let p = self.bind(Bind::Text(region.clone()));
                self.push(format!("({region_col} = '' OR {region_col} = {p})"));
            }
            Reach::Unassigned => self.push(format!("{region_col} = ''")),
            Reach::Customer(customer) => {
                let p = self.bind(Bind::Text(customer.clone()));
                self.push(format!("{customer_col} = {p}"));
            }
        }
    }

    /// Keyset: rows after `(key, id)` in `key DESC, id DESC` order.
    pub fn after(&mut self, key_col: &str, id_col: &str, key: i64, id: &str) {
        let k = self.bind(Bind::Int(key));
        let k2 = self.bind(Bind::Int(key));
        let i = self.bind(Bind::Text(id.to_owned()));
        self.push(format!(
            "({key_col} < {k} OR ({key_col} = {k2} AND {id_col} < {i}))"
        ));
    }

    /// Adds the conditions of `filter`, each of `fields`; an unknown field or a bad value is
    /// described in the error.
    pub fn filter(&mut self, filter: &str, fields: &[Field]) -> Result<(), String> {
        let parsed = Filter::parse(filter).map_err(|e| e.to_string())?;
        for condition in &parsed.conditions {
            self.condition(condition, fields)?;
        }
        Ok(())
    }

    fn condition(&mut self, condition: &Condition, fields: &[Field]) -> Result<(), String> {
        let Some((_, column, kind)) = fields.iter().find(|(name, _, _)| *name == condition.field)
        else {
            let names: Vec<&str> = fields.iter().map(|(n, _, _)| *n).collect();
            return Err(format!(
                "unknown field `{}`; accepted: {}",
                condition.field,
                names.join(", ")
            ));
        };
        let op = condition.op;
        let value = match kind {
            Kind::Text => Bind::Text(condition.value.quoted()?.to_owned()),
            Kind::Enum(lookup) => {
                let name = condition.value.text();
                Bind::Int(
                    lookup(name)
                        .ok_or_else(|| format!("`{name}` is not a value of `{}`", condition.field))?
                        .into(),
                )
            }
            Kind::Bool => Bind::Int(i64::from(condition.value.boolean()?)),
            Kind::Int => Bind::Int(condition.value.integer()?),
            Kind::Float => Bind::Float(
                condition
                    .value
                    .text()
                    .parse()
                    .map_err(|_| format!("`{}` is not a number", condition.value.text()))?,
            ),
            Kind::Time => Bind::Int(condition.value.time()?),
        };
        if matches!(kind, Kind::Text | Kind::Bool) && !op.is_equality() {
            return Err(format!("`{}` accepts only = and !=", condition.field));
        }
        let p = self.bind(value);
        if column.contains("{}") {
            self.push(column.replace("{}", &p).replace("{op}", op.sql()));
        } else {
            self.push(format!("{column} {} {p}", op.sql()));
        }
        let _ = Comparison::Eq;
        Ok(())
    }
}

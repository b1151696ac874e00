//! Filters of List methods: the platform parses the AIP-160 subset (`field op value` joined
//! with `AND`); here the terms get typed for the fields each List accepts (enum names
//! without their prefix, flags, quoted texts, RFC 3339 times).

use aftercare_platform::query::{Filter, Value};
use chrono::DateTime;

/// A comparison (the platform's).
pub(crate) use aftercare_platform::query::Comparison as Op;

/// One `field op value` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Term {
    /// The field path as written.
    pub(crate) field: String,
    /// The comparison.
    pub(crate) op: Op,
    /// The value, unquoted.
    pub(crate) value: String,
    /// Whether the value was quoted.
    pub(crate) quoted: bool,
}

/// A typed condition on a field `F`, ready for the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Condition<F> {
    /// The field.
    pub(crate) field: F,
    /// The comparison.
    pub(crate) op: Op,
    /// The value.
    pub(crate) value: Scalar,
}

/// A filter value as the store binds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scalar {
    /// An integer (enum numbers, flags as 0/1, times in microseconds).
    Int(i64),
    /// A text.
    Text(String),
    /// No value (an unset reference): `=` means IS NULL, `!=` IS NOT NULL.
    Null,
}

/// The terms of `filter` (empty for an empty filter), parsed by the platform's AIP-160
/// parser, or why it does not parse.
pub(crate) fn parse(filter: &str) -> Result<Vec<Term>, String> {
    let filter = Filter::parse(filter).map_err(|err| err.to_string())?;
    Ok(filter
        .conditions
        .into_iter()
        .map(|condition| {
            let quoted = matches!(condition.value, Value::Quoted(_));
            Term {
                field: condition.field,
                op: condition.op,
                value: condition.value.text().to_owned(),
                quoted,
            }
        })
        .collect())
}

impl Term {
    /// Refuses `<`, `>`... on a field compared only for equality.
    pub(crate) fn equality_only(&self) -> Result<(), String> {
        if self.op.is_equality() {
            Ok(())
        } else {
            Err(format!("`{}` accepts only `=` and `!=`", self.field))
        }
    }

    /// The value as an enum number, given the enum's prefix (`CUSTOMER_TIER_`) and its
    /// lookup; `UNSPECIFIED` is refused.
    pub(crate) fn enum_value(
        &self,
        prefix: &str,
        lookup: impl Fn(&str) -> Option<i32>,
    ) -> Result<Scalar, String> {
        self.equality_only()?;
        let name = self.value.to_ascii_uppercase();
        let name = name.strip_prefix(prefix).unwrap_or(&name);
        match lookup(&format!("{prefix}{name}")) {
            Some(number) if number != 0 => Ok(Scalar::Int(i64::from(number))),
            _ => Err(format!(
                "`{}` is not a value of `{}`",
                self.value, self.field
            )),
        }
    }

    /// The value as a flag (`true` / `false`), stored as 1 / 0.
    pub(crate) fn bool_value(&self) -> Result<Scalar, String> {
        self.equality_only()?;
        match self.value.as_str() {
            "true" => Ok(Scalar::Int(1)),
            "false" => Ok(Scalar::Int(0)),
            other => Err(format!(
                "`{}` must be true or false, not `{other}`",
                self.field
            )),
        }
    }

    /// The value as a text compared for equality.
    pub(crate) fn text_value(&self) -> Result<Scalar, String> {
        self.equality_only()?;
        Ok(Scalar::Text(self.value.clone()))
    }

    /// The value as an RFC 3339 time, in UTC microseconds.
    pub(crate) fn time_value(&self) -> Result<Scalar, String> {
        let time = DateTime::parse_from_rfc3339(&self.value).map_err(|_| {
            format!(
                "`{}` must be compared with an RFC 3339 time (\"2025-01-31T00:00:00Z\")",
                self.field
            )
        })?;
        Ok(Scalar::Int(time.timestamp_micros()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_joined_with_and_parse() {
        let terms =
            parse(r#"tier = VIP AND region = "eu-west" AND create_time >= "2025-01-01T00:00:00Z""#)
                .unwrap();
        assert_eq!(terms.len(), 3);
        assert_eq!(terms[0].field, "tier");
        assert_eq!(terms[0].value, "VIP");
        assert!(!terms[0].quoted);
        assert_eq!(terms[1].value, "eu-west");
        assert_eq!(terms[2].op, Op::Ge);
        assert_eq!(
            terms[2].time_value(),
            Ok(Scalar::Int(1_735_689_600_000_000))
        );
        assert_eq!(parse("  ").unwrap(), vec![]);
        assert_eq!(parse("erased!=true").unwrap()[0].op, Op::Ne);
    }

    #[test]
    fn malformed_filters_are_refused() {
        for bad in [
            "tier",
            "tier =",
            "tier = VIP OR tier = PREMIUM",
            "= VIP",
            r#"region = "eu-west"#,
            "tier == VIP",
        ] {
            assert!(parse(bad).is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn typed_values_are_checked() {
        let term = &parse("tier < VIP").unwrap()[0];
        assert!(term.enum_value("CUSTOMER_TIER_", |_| Some(4)).is_err());
        let term = &parse("erased = maybe").unwrap()[0];
        assert!(term.bool_value().is_err());
        let term = &parse("create_time > yesterday").unwrap()[0];
        assert!(term.time_value().is_err());
    }
}

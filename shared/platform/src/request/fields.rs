//! Single fields: request ids, etags, enums, resource names and texts.

use std::fmt;

use uuid::Uuid;

use crate::error::FieldViolations;

/// A caller's idempotency key from `request_id` (field `field`): `None` when empty, else a
/// UUID in its canonical hyphenated form. Services scope it to the caller, the method and the
/// parent resource before they look it up.
pub fn request_id(violations: &mut FieldViolations, field: &str, value: &str) -> Option<String> {
    if value.is_empty() {
        return None;
    }
    violations.check(
        field,
        Uuid::parse_str(value)
            .map(|id| id.hyphenated().to_string())
            .map_err(|_| "must be a UUID (for example from uuidgen)"),
    )
}

/// The one etag format of every service (AIP-154): a resource's version in double quotes,
/// `"7"`. Weak etags (`W/"7"`) and bare versions (`7`) are accepted on input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Etag(pub i64);

impl Etag {
    /// The etag of `version`.
    pub fn of(version: i64) -> String {
        Self(version).to_string()
    }

    /// The version a required etag (field `field`) stands for. An etag this platform never
    /// issued stands for no version (`-1`), so it is refused as stale by the caller, never as
    /// malformed: a client that holds an old etag and one that holds garbage both re-read.
    pub fn parse(violations: &mut FieldViolations, field: &str, value: &str) -> Option<i64> {
        if value.is_empty() {
            violations.add(field, "is required: send the etag of the version you read");
            return None;
        }
        Some(Self::version(value).unwrap_or(-1))
    }

    /// The version an optional etag stands for: `None` when empty.
    pub fn parse_optional(value: &str) -> Option<i64> {
        (!value.is_empty()).then(|| Self::version(value).unwrap_or(-1))
    }

    fn version(value: &str) -> Option<i64> {
        let value = value.strip_prefix("W/").unwrap_or(value);
        let inner = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        inner.parse().ok().filter(|version: &i64| *version >= 0)
    }
}

impl fmt::Display for Etag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0)
    }
}

/// A wire enum by its proto number: `None` for 0 (unspecified), a violation for a number the
/// contract does not define.
pub fn enum_value<E: TryFrom<i32>>(
    violations: &mut FieldViolations,
    field: &str,
    number: i32,
) -> Option<E> {
    if number == 0 {
        return None;
    }
    match E::try_from(number) {
        Ok(value) => Some(value),
        Err(_) => {
            violations.add(field, format!("unknown value {number}"));
            None
        }
    }
}

/// A wire enum that must be given.
pub fn required_enum<E: TryFrom<i32>>(
    violations: &mut FieldViolations,
    field: &str,
    number: i32,
) -> Option<E> {
    if number == 0 {
        violations.add(field, "is required");
        return None;
    }
    enum_value(violations, field, number)
}

/// The id in a resource name `{collection}/{uuid}` (field `field`, required).
pub fn resource_id(
    violations: &mut FieldViolations,
    field: &str,
    name: &str,
    collection: &str,
) -> Option<Uuid> {
    if name.is_empty() {
        violations.add(field, "is required");
        return None;
    }
    let id = name
        .strip_prefix(collection)
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|id| Uuid::parse_str(id).ok())
        .filter(|id| name == format!("{collection}/{id}"));
    if id.is_none() {
        violations.add(
            field,
            format!("must be a resource name `{collection}/{{id}}`"),
        );
    }
    id
}

/// The ids in a child resource name `{parent}/{pid}/{collection}/{cid}` (required).
pub fn child_id(
    violations: &mut FieldViolations,
    field: &str,
    name: &str,
    parent: &str,
    collection: &str,
) -> Option<(Uuid, Uuid)> {
    if name.is_empty() {
        violations.add(field, "is required");
        return None;
    }
    let parsed = (|| {
        let mut parts = name.split('/');
        let (p, pid, c, cid) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || p != parent || c != collection {
            return None;
        }
        let (pid, cid) = (Uuid::parse_str(pid).ok()?, Uuid::parse_str(cid).ok()?);
        (name == format!("{parent}/{pid}/{collection}/{cid}")).then_some((pid, cid))
    })();
    if parsed.is_none() {
        violations.add(
            field,
            format!("must be a resource name `{parent}/{{id}}/{collection}/{{id}}`"),
        );
    }
    parsed
}

/// A required text, trimmed, of `1..=max` characters; control characters other than line
/// breaks and tabs are refused.
pub fn required_text(
    violations: &mut FieldViolations,
    field: &str,
    value: &str,
    max: usize,
) -> Option<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        violations.add(field, "is required");
        return None;
    }
    checked_text(violations, field, trimmed, max)
}

/// An optional text, trimmed, of at most `max` characters: `None` when empty or blank.
pub fn optional_text(
    violations: &mut FieldViolations,
    field: &str,
    value: &str,
    max: usize,
) -> Option<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return None;
    }
    checked_text(violations, field, trimmed, max)
}

fn checked_text(
    violations: &mut FieldViolations,
    field: &str,
    trimmed: &str,
    max: usize,
) -> Option<String> {
    let count = trimmed.chars().count();
    if count > max {
        violations.add(
            field,
            format!("must be at most {max} characters (got {count})"),
        );
        return None;
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        violations.add(field, "must not contain control characters");
        return None;
    }
    Some(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(v: &FieldViolations) -> Vec<String> {
        v.violations().iter().map(|v| v.field.clone()).collect()
    }

    #[test]
    fn request_ids_are_uuids_in_canonical_form() {
        let mut v = FieldViolations::new();
        assert_eq!(request_id(&mut v, "request_id", ""), None);
        let upper = "0190A3C4-5B6D-7E8F-9A0B-1C2D3E4F5A6B";
        assert_eq!(
            request_id(&mut v, "request_id", upper).as_deref(),
            Some("0190a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b")
        );
        assert!(v.is_empty());
        assert_eq!(request_id(&mut v, "request_id", "retry-1"), None);
        assert_eq!(fields(&v), ["request_id"]);
    }

    #[test]
    fn etags_are_quoted_versions_and_unknown_ones_are_stale() {
        assert_eq!(Etag::of(7), "\"7\"");
        let mut v = FieldViolations::new();
        assert_eq!(Etag::parse(&mut v, "etag", "\"7\""), Some(7));
        assert_eq!(Etag::parse(&mut v, "etag", "W/\"7\""), Some(7));
        assert_eq!(Etag::parse(&mut v, "etag", "7"), Some(7));
        assert_eq!(Etag::parse(&mut v, "etag", "\"seven\""), Some(-1));
        assert_eq!(Etag::parse(&mut v, "etag", "\"-3\""), Some(-1));
        assert!(v.is_empty());
        assert_eq!(Etag::parse(&mut v, "ticket.etag", ""), None);
        assert_eq!(fields(&v), ["ticket.etag"]);
        assert_eq!(Etag::parse_optional(""), None);
    }

    #[derive(Debug, PartialEq)]
    struct Colour(i32);
    impl TryFrom<i32> for Colour {
        type Error = ();
        fn try_from(n: i32) -> Result<Self, ()> {
            (1..=3).contains(&n).then_some(Colour(n)).ok_or(())
        }
    }

    #[test]
    fn enums_by_number() {
        let mut v = FieldViolations::new();
        assert_eq!(enum_value::<Colour>(&mut v, "colour", 0), None);
        assert_eq!(enum_value::<Colour>(&mut v, "colour", 2), Some(Colour(2)));
        assert!(v.is_empty());
        assert_eq!(enum_value::<Colour>(&mut v, "colour", 9), None);
        assert_eq!(required_enum::<Colour>(&mut v, "shade", 0), None);
        assert_eq!(fields(&v), ["colour", "shade"]);
    }

    #[test]
    fn resource_names_must_be_exact() {
        let id = Uuid::now_v7();
        let mut v = FieldViolations::new();
        assert_eq!(
            resource_id(&mut v, "name", &format!("agents/{id}"), "agents"),
            Some(id)
        );
        assert!(v.is_empty());
        for bad in [
            String::new(),
            format!("teams/{id}"),
            format!("agents/{id}/x"),
            format!("agents/{}", id.simple()),
            "agents/../../etc".to_owned(),
        ] {
            let mut v = FieldViolations::new();
            assert_eq!(resource_id(&mut v, "name", &bad, "agents"), None, "{bad}");
            assert_eq!(fields(&v), ["name"]);
        }
        let child = Uuid::now_v7();
        let name = format!("courses/{id}/enrolments/{child}");
        assert_eq!(
            child_id(&mut v, "name", &name, "courses", "enrolments"),
            Some((id, child))
        );
        assert_eq!(
            child_id(
                &mut v,
                "name",
                &format!("courses/{id}"),
                "courses",
                "enrolments"
            ),
            None
        );
    }

    #[test]
    fn texts_are_trimmed_and_bounded_in_characters() {
        let mut v = FieldViolations::new();
        assert_eq!(
            required_text(&mut v, "title", "  洗衣机漏水 ", 5).as_deref(),
            Some("洗衣机漏水")
        );
        assert_eq!(optional_text(&mut v, "note", "   ", 5), None);
        assert!(v.is_empty());
        assert_eq!(required_text(&mut v, "title", " ", 5), None);
        assert_eq!(required_text(&mut v, "body", "toolong", 5), None);
        assert_eq!(optional_text(&mut v, "note", "a\u{0}b", 5), None);
        assert_eq!(fields(&v), ["title", "body", "note"]);
    }
}

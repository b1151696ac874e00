//! Requests → validated commands, on the platform's request toolkit; every bad field is
//! named at once.

use std::collections::BTreeMap;

use aftercare_platform::query::{Comparison, Filter};
use aftercare_platform::request::{
    Etag, FieldViolations, enum_value, optional_text, required_enum, required_text, resource_id,
};
use aftercare_proto::aftercare::knowledge::v1 as pb;
use uuid::Uuid;

use crate::domain::article::{MAX_PRODUCT_LINES, MAX_REVIEWERS, MAX_TAGS};
use crate::domain::text::{label, language_tag};
use crate::domain::{Kind, NewVersion, Visibility};

/// A name `collection/{uuid}` in `field`, optional.
pub fn optional_id(
    v: &mut FieldViolations,
    field: &str,
    name: &str,
    collection: &str,
) -> Option<Uuid> {
    if name.is_empty() {
        None
    } else {
        resource_id(v, field, name, collection)
    }
}

/// A language tag in `field`, optional.
pub fn optional_language(v: &mut FieldViolations, field: &str, value: &str) -> Option<String> {
    if value.trim().is_empty() {
        return None;
    }
    v.check(field, language_tag(value))
}

fn labels(v: &mut FieldViolations, field: &str, values: &[String], max: usize) -> Vec<String> {
    if values.len() > max {
        v.add(field, format!("at most {max} entries"));
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::new();
    for value in values {
        if let Some(value) = v.check(field, label(value))
            && !out.contains(&value)
        {
            out.push(value);
        }
    }
    out
}

/// Reviewers: `agents/{id}` names, at most 10.
pub fn reviewers(v: &mut FieldViolations, field: &str, values: &[String]) -> Vec<String> {
    if values.len() > MAX_REVIEWERS {
        v.add(field, format!("at most {MAX_REVIEWERS} reviewers"));
        return Vec::new();
    }
    let mut out = Vec::new();
    for value in values {
        let ok = value
            .strip_prefix("agents/")
            .is_some_and(|id| !id.is_empty() && id.len() <= 128 && !id.contains('/'));
        if !ok {
            v.add(
                field,
                format!("`{value}` is not an agent name `agents/{{id}}`"),
            );
        } else if !out.contains(value) {
            out.push(value.clone());
        }
    }
    out
}

/// The metadata an article may be given on create or update.
#[derive(Debug, Clone)]
pub struct ArticleFields {
    /// Kind.
    pub kind: Option<Kind>,
    /// Visibility.
    pub visibility: Visibility,
    /// Category.
    pub category: Option<Uuid>,
    /// Product lines.
    pub product_lines: Vec<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Reviewers.
    pub reviewers: Vec<String>,
}

/// The article's metadata fields, each checked (`kind` required when `kind_required`).
pub fn article_fields(
    v: &mut FieldViolations,
    a: &pb::Article,
    kind_required: bool,
) -> ArticleFields {
    let kind = if kind_required {
        required_enum::<pb::ArticleKind>(v, "article.kind", a.kind)
    } else {
        enum_value::<pb::ArticleKind>(v, "article.kind", a.kind)
    }
    .and_then(|k| Kind::from_number(k as i32));
    let visibility = enum_value::<pb::ArticleVisibility>(v, "article.visibility", a.visibility)
        .and_then(|k| Visibility::from_number(k as i32))
        .unwrap_or(Visibility::Public);
    ArticleFields {
        kind,
        visibility,
        category: optional_id(v, "article.category", &a.category, "categories"),
        product_lines: labels(
            v,
            "article.product_lines",
            &a.product_lines,
            MAX_PRODUCT_LINES,
        ),
        tags: labels(v, "article.tags", &a.tags, MAX_TAGS),
        reviewers: reviewers(v, "article.reviewers", &a.reviewers),
    }
}

/// New content from `version` (fields under `prefix`).
pub fn new_version(
    v: &mut FieldViolations,
    prefix: &str,
    version: Option<&pb::ArticleVersion>,
    article: Option<Uuid>,
) -> Option<NewVersion> {
    let Some(version) = version else {
        v.add(prefix, "is required");
        return None;
    };
    let field = |name: &str| format!("{prefix}.{name}");
    let language = if version.language.trim().is_empty() {
        v.add(field("language"), "is required");
        None
    } else {
        v.check(&field("language"), language_tag(&version.language))
    };
    let title = required_text(v, &field("title"), &version.title, 200);
    let body = required_text(v, &field("body"), &version.body, 200_000);
    let change_note = optional_text(v, &field("change_note"), &version.change_note, 500);
    let source_version = if version.source_version.is_empty() {
        None
    } else {
        match article {
            Some(article) => aftercare_platform::request::child_id(
                v,
                &field("source_version"),
                &version.source_version,
                "articles",
                "versions",
            )
            .and_then(|(parent, id)| {
                if parent == article {
                    Some(id)
                } else {
                    v.add(field("source_version"), "must be a version of this article");
                    None
                }
            }),
            None => {
                v.add(
                    field("source_version"),
                    "must be empty for the first version",
                );
                None
            }
        }
    };
    Some(NewVersion {
        language: language?,
        title: title?,
        body: body?,
        change_note: change_note.unwrap_or_default(),
        source_version,
    })
}

/// An etag in `field`.
pub fn etag(v: &mut FieldViolations, field: &str, value: &str) -> i64 {
    Etag::parse(v, field, value).unwrap_or(-1)
}

/// A category's names or descriptions map.
pub fn language_map(
    v: &mut FieldViolations,
    field: &str,
    map: &std::collections::HashMap<String, String>,
    min: usize,
    max_len: usize,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if map.len() < min || map.len() > 20 {
        v.add(field, format!("must have {min} to 20 entries"));
    }
    for (language, text) in map {
        let Some(language) = v.check(field, language_tag(language)) else {
            continue;
        };
        let key = format!("{field}[{language}]");
        let text = if min > 0 {
            required_text(v, &key, text, max_len)
        } else {
            optional_text(v, &key, text, max_len)
        };
        if let Some(text) = text {
            out.insert(language, text);
        }
    }
    out
}

/// A filter's conditions, each checked by `accept`: `Err(message)` names the field.
pub fn filter<T>(
    v: &mut FieldViolations,
    text: &str,
    mut accept: impl FnMut(&str, Comparison, &aftercare_platform::query::Value) -> Result<T, String>,
) -> Vec<T> {
    let parsed = match Filter::parse(text) {
        Ok(parsed) => parsed,
        Err(error) => {
            v.add("filter", error.0);
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for condition in &parsed.conditions {
        match accept(&condition.field, condition.op, &condition.value) {
            Ok(value) => out.push(value),
            Err(message) => v.add("filter", format!("`{}`: {message}", condition.field)),
        }
    }
    out
}

/// Only `=` for this field.
pub fn equality(op: Comparison) -> Result<(), String> {
    if op == Comparison::Eq {
        Ok(())
    } else {
        Err("only `=` is accepted".into())
    }
}

/// A time comparison value.
pub fn time_condition(
    op: Comparison,
    value: &aftercare_platform::query::Value,
) -> Result<i64, String> {
    if op == Comparison::Ne {
        return Err("use <, <=, >, >= or = with times".into());
    }
    value.time()
}

//! Requests → domain values, on the platform's request toolkit; every bad field at once.

use std::collections::BTreeMap;

use aftercare_platform::request::{
    FieldViolations, Page, enum_value, optional_text, required_enum, resource_id,
};
use aftercare_platform::time::from_timestamp;
use aftercare_proto::aftercare::feedback::v1 as pb;
use uuid::Uuid;

use crate::domain::survey::{DAY, DEFAULT_TTL, HOUR, Question, SurveyContent, SurveyFields};
use crate::domain::values::{
    Channel, QuestionType, TicketKind, Trigger, is_language_tag, is_region,
};

/// Microseconds in a protobuf duration, if it is valid.
pub fn micros_of(duration: &prost_types::Duration) -> Option<i64> {
    if duration.seconds < 0 || duration.nanos < 0 {
        return None;
    }
    duration
        .seconds
        .checked_mul(1_000_000)
        .map(|s| s + i64::from(duration.nanos) / 1_000)
}

fn bounded_duration(
    v: &mut FieldViolations,
    field: &str,
    value: Option<&prost_types::Duration>,
    default: i64,
    (min, max): (i64, i64),
    limits: &str,
) -> i64 {
    let Some(value) = value else { return default };
    match micros_of(value) {
        Some(micros) if (min..=max).contains(&micros) => micros,
        _ => {
            v.add(field, format!("must be {limits}"));
            default
        }
    }
}

/// A time field: absent is `None`, out of range is a violation.
pub fn time(
    v: &mut FieldViolations,
    field: &str,
    value: Option<&prost_types::Timestamp>,
) -> Option<i64> {
    let value = value?;
    let micros = from_timestamp(value);
    if micros.is_none() {
        v.add(field, "is not a valid time");
    }
    micros
}

/// A channel (0 is none).
pub fn channel(v: &mut FieldViolations, field: &str, number: i32) -> Option<Channel> {
    if number == 0 {
        return None;
    }
    let channel = Channel::from_number(number.into());
    if channel.is_none() {
        v.add(field, format!("unknown value {number}"));
    }
    channel
}

/// An optional resource name `collection/{uuid}` (empty is none), canonical.
pub fn optional_name(
    v: &mut FieldViolations,
    field: &str,
    name: &str,
    collection: &str,
) -> Option<String> {
    if name.is_empty() {
        return None;
    }
    resource_id(v, field, name, collection).map(|id| format!("{collection}/{id}"))
}

/// An optional language tag.
pub fn language(v: &mut FieldViolations, field: &str, value: &str) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if !is_language_tag(value) {
        v.add(
            field,
            "must be a BCP 47 language tag such as `en` or `zh-CN`",
        );
        return None;
    }
    Some(value.to_owned())
}

/// An optional region code.
pub fn region(v: &mut FieldViolations, field: &str, value: &str) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if !is_region(value) {
        v.add(
            field,
            "must be a region code: lowercase letters, digits, `-` or `_`, at most 64 characters",
        );
        return None;
    }
    Some(value.to_owned())
}

/// An invitation name, `surveys/{survey}/invitations/{id}` (`surveys/-/…` accepted):
/// the invitation id and the survey id if given.
pub fn invitation_name(
    v: &mut FieldViolations,
    field: &str,
    name: &str,
) -> Option<(Option<Uuid>, Uuid)> {
    if name.is_empty() {
        v.add(field, "is required");
        return None;
    }
    let parts: Vec<&str> = name.split('/').collect();
    let parsed = match parts.as_slice() {
        ["surveys", survey, "invitations", id] => {
            let id = Uuid::parse_str(id).ok().filter(|u| u.to_string() == *id);
            let survey = if *survey == "-" {
                Some(None)
            } else {
                Uuid::parse_str(survey)
                    .ok()
                    .filter(|u| u.to_string() == *survey)
                    .map(Some)
            };
            survey.zip(id)
        }
        _ => None,
    };
    if parsed.is_none() {
        v.add(
            field,
            "must be a resource name `surveys/{id}/invitations/{id}`",
        );
    }
    parsed
}

/// A page of a list.
pub fn page(v: &mut FieldViolations, size: i32, token: &str, bound: &[&str]) -> Page {
    Page::parse(v, size, token, bound)
}

fn texts(
    v: &mut FieldViolations,
    field: &str,
    map: &std::collections::HashMap<String, String>,
    max: usize,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if map.is_empty() {
        v.add(field, "is required: at least one language");
    }
    if map.len() > 20 {
        v.add(field, "must have at most 20 languages");
    }
    for (language, text) in map {
        if !is_language_tag(language) {
            v.add(
                format!("{field}[{language}]"),
                "the key must be a BCP 47 language tag",
            );
            continue;
        }
        let trimmed = text.trim();
        if trimmed.is_empty() {
            v.add(format!("{field}[{language}]"), "must not be empty");
            continue;
        }
        if let Some(text) = optional_text(v, &format!("{field}[{language}]"), trimmed, max) {
            out.insert(language.clone(), text);
        }
    }
    out
}

/// The settable fields of a survey message (fields named `{prefix}.x`).
pub fn survey_fields(
    v: &mut FieldViolations,
    prefix: &str,
    s: &pb::Survey,
) -> Option<SurveyFields> {
    let before = v.violations().len();
    let titles = texts(v, &format!("{prefix}.titles"), &s.titles, 200);
    let default_language = s.default_language.trim().to_owned();
    if default_language.is_empty() {
        v.add(format!("{prefix}.default_language"), "is required");
    } else if !titles.contains_key(&default_language) && !s.titles.is_empty() {
        v.add(
            format!("{prefix}.default_language"),
            "must be a language of `titles`",
        );
    }
    if s.questions.is_empty() || s.questions.len() > 4 {
        v.add(format!("{prefix}.questions"), "must have 1 to 4 questions");
    }
    let mut questions = Vec::new();
    let mut seen = Vec::new();
    for (index, q) in s.questions.iter().enumerate() {
        let field = format!("{prefix}.questions[{index}]");
        let kind = required_enum::<pb::QuestionType>(v, &format!("{field}.type"), q.r#type)
            .and_then(|t| QuestionType::from_number(i64::from(t as i32)));
        if let Some(kind) = kind {
            if seen.contains(&kind) {
                v.add(
                    format!("{field}.type"),
                    "a survey has at most one question of each type",
                );
            }
            seen.push(kind);
        }
        let question_texts = texts(v, &format!("{field}.texts"), &q.texts, 500);
        if !default_language.is_empty()
            && !q.texts.is_empty()
            && !question_texts.contains_key(&default_language)
        {
            v.add(
                format!("{field}.texts"),
                "must contain the survey's default_language",
            );
        }
        if let Some(kind) = kind {
            questions.push(Question {
                kind: kind.number(),
                texts: question_texts,
                required: q.required,
            });
        }
    }
    let trigger = required_enum::<pb::SurveyTrigger>(v, &format!("{prefix}.trigger"), s.trigger)
        .and_then(|t| Trigger::from_number(i64::from(t as i32)));
    let channel = channel(v, &format!("{prefix}.channel"), s.channel);
    let invitation_ttl = bounded_duration(
        v,
        &format!("{prefix}.invitation_ttl"),
        s.invitation_ttl
            .as_ref()
            .filter(|d| d.seconds != 0 || d.nanos != 0),
        DEFAULT_TTL,
        (HOUR, 90 * DAY),
        "from 1 hour to 90 days",
    );
    let send_delay = bounded_duration(
        v,
        &format!("{prefix}.send_delay"),
        s.send_delay.as_ref(),
        0,
        (0, 7 * DAY),
        "from 0 to 7 days",
    );
    let customer_cooldown = bounded_duration(
        v,
        &format!("{prefix}.customer_cooldown"),
        s.customer_cooldown.as_ref(),
        0,
        (0, 365 * DAY),
        "from 0 to 365 days",
    );
    if s.regions.len() > 50 {
        v.add(format!("{prefix}.regions"), "must have at most 50 regions");
    }
    let mut regions = Vec::new();
    for (index, r) in s.regions.iter().enumerate() {
        match region(v, &format!("{prefix}.regions[{index}]"), r) {
            Some(r) if !regions.contains(&r) => regions.push(r),
            Some(_) => {}
            None if r.trim().is_empty() => {
                v.add(format!("{prefix}.regions[{index}]"), "must not be empty")
            }
            None => {}
        }
    }
    let ticket_kinds = targets(
        v,
        &format!("{prefix}.ticket_kinds"),
        &s.ticket_kinds,
        TicketKind::from_number,
        "a ticket kind",
    );
    let ticket_channels = targets(
        v,
        &format!("{prefix}.ticket_channels"),
        &s.ticket_channels,
        Channel::from_number,
        "a channel",
    );
    if v.violations().len() > before {
        return None;
    }
    Some(SurveyFields {
        content: SurveyContent {
            titles,
            default_language,
            questions,
            invitation_ttl,
        },
        trigger: trigger?,
        channel,
        send_delay,
        customer_cooldown,
        regions,
        ticket_kinds,
        ticket_channels,
        enabled: s.enabled,
    })
}

/// A survey's targeting list of enum numbers: each known, none unspecified, none repeated.
fn targets<T: PartialEq>(
    v: &mut FieldViolations,
    field: &str,
    numbers: &[i32],
    from: fn(i64) -> Option<T>,
    what: &str,
) -> Vec<T> {
    let mut out = Vec::new();
    for (index, number) in numbers.iter().enumerate() {
        match from(i64::from(*number)) {
            Some(value) if out.contains(&value) => {
                v.add(format!("{field}[{index}]"), "is repeated")
            }
            Some(value) => out.push(value),
            None => v.add(
                format!("{field}[{index}]"),
                format!("must be {what}, not {number}"),
            ),
        }
    }
    out
}

/// An enum of the feedback API by number (0 is none).
pub fn feedback_enum<E: TryFrom<i32>>(
    v: &mut FieldViolations,
    field: &str,
    number: i32,
) -> Option<E> {
    enum_value(v, field, number)
}

/// The idempotency key of a create: the caller, the method, the parent and the request id,
/// with a fingerprint of the whole request message.
pub fn request_key<M: prost::Message>(
    v: &mut FieldViolations,
    subject: &str,
    method: &'static str,
    parent: &str,
    request_id: &str,
    message: &M,
) -> Option<crate::store::RequestKey> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.encode(message.encode_to_vec());
    request_key_of(v, subject, method, parent, request_id, &bytes)
}

/// The idempotency key of a create whose request is described by `canonical` (for messages
/// with maps, whose encoding is not stable).
pub fn request_key_of(
    v: &mut FieldViolations,
    subject: &str,
    method: &'static str,
    parent: &str,
    request_id: &str,
    canonical: &str,
) -> Option<crate::store::RequestKey> {
    let request_id = aftercare_platform::request::request_id(v, "request_id", request_id)?;
    let bytes = canonical;
    Some(crate::store::RequestKey {
        subject: subject.to_owned(),
        method,
        parent: parent.to_owned(),
        request_id,
        fingerprint: format!(
            "{:016x}",
            aftercare_platform::request::fingerprint(&[bytes])
        ),
    })
}

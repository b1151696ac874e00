//! The contracts' `aftercare.api.v1.field_rules` (what a field's value must keep beyond its
//! type, `proto/aftercare/api/v1/field_rules.proto`) as JSON schema keywords of the OpenAPI
//! document's request schemas.
//!
//! A rule is written so that a value matches the schema exactly when the service accepts it:
//! schemathesis sends values that match (and expects them to get past validation) and values
//! that do not (and expects them refused). Plain text is trimmed by the services before it is
//! counted, which `maxLength` cannot say, so its length is carried by the pattern instead
//! (leading and trailing white space, then at most `max` characters that start with one that
//! is neither white space nor a control character).

use prost_reflect::{DescriptorPool, DynamicMessage, ExtensionDescriptor, FieldDescriptor};
use serde_json::{Value, json};

/// The `aftercare.api.v1.field_rules` extension of `google.protobuf.FieldOptions`.
const FIELD_RULES: &str = "aftercare.api.v1.field_rules";

/// `aftercare.api.v1.Format` values.
const PLAIN_TEXT: i32 = 1;
const REGION_CODE: i32 = 2;
const LANGUAGE_TAG: i32 = 3;
const TIME_ZONE: i32 = 4;
const UUID: i32 = 5;
const SINGLE_LINE_TEXT: i32 = 6;

/// What Rust's `str::trim` removes (`char::is_whitespace`), as a regex class body.
const WHITE_SPACE: &str = r"\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// Control characters (`char::is_control`) but line breaks and tabs, as a regex class body:
/// what plain text refuses.
const CONTROL: &str = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f";

/// Every control character, as a regex class body: what one line of text refuses.
const ANY_CONTROL: &str = r"\u0000-\u001f\u007f-\u009f";

/// A UUID in any form `uuid::Uuid::parse_str` reads: hyphenated, 32 hex digits, braced, or
/// a URN.
pub const UUID_PATTERN: &str = concat!(
    "^(?:[0-9a-fA-F]{32}",
    "|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    "|\\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\\}",
    "|urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
);

/// The name of the component that lists the IANA time zones.
pub const TIME_ZONE_COMPONENT: &str = "TimeZone";

/// The same, and the empty string (an optional time zone not given).
pub const OPTIONAL_TIME_ZONE_COMPONENT: &str = "TimeZone-Optional";

/// A field's rules, as declared.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rules {
    pub min_length: u32,
    pub max_length: u32,
    pub pattern: String,
    pub format: i32,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub min_items: u32,
    pub max_items: u32,
    pub items: Option<Box<Rules>>,
    pub trimmed: bool,
}

/// Reads the rules of fields.
#[derive(Debug, Clone)]
pub struct RuleReader {
    extension: Option<ExtensionDescriptor>,
}

impl RuleReader {
    /// A reader for the contracts in `pool` (no rules when they do not import them).
    pub fn new(pool: &DescriptorPool) -> Self {
        Self {
            extension: pool.get_extension_by_name(FIELD_RULES),
        }
    }

    /// The rules declared on `field`, if any.
    pub fn of(&self, field: &FieldDescriptor) -> Option<Rules> {
        let extension = self.extension.as_ref()?;
        let options = field.options();
        if !options.has_extension(extension) {
            return None;
        }
        options
            .get_extension(extension)
            .as_message()
            .map(Rules::from_message)
    }
}

impl Rules {
    /// A UUID in its canonical form.
    pub fn uuid() -> Self {
        Self {
            format: UUID,
            ..Self::default()
        }
    }

    fn from_message(message: &DynamicMessage) -> Self {
        let u32_of = |name: &str| {
            message
                .get_field_by_name(name)
                .and_then(|v| v.as_u32())
                .unwrap_or_default()
        };
        let f64_of = |name: &str| {
            message
                .has_field_by_name(name)
                .then(|| message.get_field_by_name(name).and_then(|v| v.as_f64()))
                .flatten()
        };
        Self {
            min_length: u32_of("min_length"),
            max_length: u32_of("max_length"),
            pattern: message
                .get_field_by_name("pattern")
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            format: message
                .get_field_by_name("format")
                .and_then(|v| v.as_enum_number())
                .unwrap_or_default(),
            minimum: f64_of("minimum"),
            maximum: f64_of("maximum"),
            min_items: u32_of("min_items"),
            max_items: u32_of("max_items"),
            items: message
                .has_field_by_name("items")
                .then(|| {
                    message
                        .get_field_by_name("items")
                        .and_then(|v| v.as_message().map(Self::from_message))
                })
                .flatten()
                .map(Box::new),
            trimmed: message
                .get_field_by_name("trimmed")
                .and_then(|v| v.as_bool())
                .unwrap_or_default(),
        }
    }

    /// Adds the list rules to the array `schema`.
    pub fn apply_to_list(&self, schema: &mut Value) {
        if self.min_items > 0 {
            schema["minItems"] = json!(self.min_items);
        }
        if self.max_items > 0 {
            schema["maxItems"] = json!(self.max_items);
        }
        if let Some(items) = &self.items {
            items.apply(&mut schema["items"], true);
        }
    }

    /// Adds the value rules to `schema` (a string, a number, or a `oneOf` of a string and an
    /// integer for an int64). `required`: an empty value is refused.
    pub fn apply(&self, schema: &mut Value, required: bool) {
        if let Some(one_of) = schema.get_mut("oneOf").and_then(Value::as_array_mut) {
            for member in one_of {
                if member["type"] == "integer" {
                    self.apply(member, required);
                }
            }
            return;
        }
        match schema["type"].as_str() {
            Some("string") => self.apply_to_text(schema, required),
            Some("integer" | "number") => {
                if let Some(minimum) = self.minimum {
                    schema["minimum"] = number(minimum);
                }
                if let Some(maximum) = self.maximum {
                    schema["maximum"] = number(maximum);
                }
            }
            _ => {}
        }
    }

    fn apply_to_text(&self, schema: &mut Value, required: bool) {
        let object = schema
            .as_object_mut()
            .expect("a string schema is an object");
        match self.format {
            PLAIN_TEXT | SINGLE_LINE_TEXT => {
                object.remove("minLength");
                let control = if self.format == PLAIN_TEXT {
                    CONTROL
                } else {
                    ANY_CONTROL
                };
                object.insert(
                    "pattern".into(),
                    json!(text_pattern(
                        control,
                        required,
                        self.min_length.max(1),
                        self.max_length
                    )),
                );
                return;
            }
            TIME_ZONE => {
                let component = if required {
                    TIME_ZONE_COMPONENT
                } else {
                    OPTIONAL_TIME_ZONE_COMPONENT
                };
                object.clear();
                object.insert(
                    "$ref".into(),
                    json!(format!("#/components/schemas/{component}")),
                );
                return;
            }
            UUID => {
                // `format: uuid` refuses the empty string, which an optional field (a
                // `request_id` left out) accepts: the pattern alone says so then.
                let pattern = if required {
                    object.insert("format".into(), json!("uuid"));
                    UUID_PATTERN.to_owned()
                } else {
                    optional(UUID_PATTERN)
                };
                object.insert("pattern".into(), json!(pattern));
                return;
            }
            _ => {}
        }
        let class = match self.format {
            REGION_CODE => Some("[a-z0-9-]"),
            LANGUAGE_TAG => None,
            _ => None,
        };
        let pattern = if !self.pattern.is_empty() {
            Some(self.pattern.clone())
        } else if let Some(class) = class {
            let min = self.min_length.max(u32::from(required));
            Some(match self.max_length {
                0 => format!("^{class}{{{min},}}$"),
                max => format!("^{class}{{{min},{max}}}$"),
            })
        } else if self.format == LANGUAGE_TAG {
            Some("^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$".to_owned())
        } else {
            None
        };
        if let Some(pattern) = pattern {
            let pattern = if required {
                pattern
            } else {
                optional(&pattern)
            };
            let pattern = if self.trimmed {
                trimmed(&pattern)
            } else {
                pattern
            };
            object.insert("pattern".into(), json!(pattern));
        }
        if self.max_length > 0 && class.is_none() && !self.trimmed {
            object.insert("maxLength".into(), json!(self.max_length));
        }
        if self.min_length > 0 && class.is_none() && !self.trimmed {
            object.insert("minLength".into(), json!(self.min_length));
        }
    }
}

/// `pattern` (anchored) or the empty string.
fn optional(pattern: &str) -> String {
    let inner = pattern
        .strip_prefix('^')
        .and_then(|p| p.strip_suffix('$'))
        .unwrap_or(pattern);
    format!("^(?:{inner})?$")
}

/// `pattern` (anchored) with white space before and after it.
fn trimmed(pattern: &str) -> String {
    let inner = pattern
        .strip_prefix('^')
        .and_then(|p| p.strip_suffix('$'))
        .unwrap_or(pattern);
    format!("^[{WHITE_SPACE}]*(?:{inner})[{WHITE_SPACE}]*$")
}

/// Text of `min..=max` characters once trimmed (`max` 0: no bound), without the characters
/// of the class body `control`; blank when not `required`.
pub fn text_pattern(control: &str, required: bool, min: u32, max: u32) -> String {
    let first = format!("[^{WHITE_SPACE}{control}]");
    let rest = match max {
        0 => format!("[^{control}]{{{},}}", min.saturating_sub(1)),
        max => format!(
            "[^{control}]{{{},{}}}",
            min.saturating_sub(1),
            max.saturating_sub(1)
        ),
    };
    let text = format!("{first}{rest}");
    let text = if required {
        text
    } else {
        format!("(?:{text})?")
    };
    format!("^[{WHITE_SPACE}]*{text}[{WHITE_SPACE}]*$")
}

/// The IANA time zones the services accept (`chrono_tz`), and the empty string when
/// `optional`, as a schema.
pub fn time_zone_schema(optional: bool) -> Value {
    let mut names: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
    if optional {
        names.insert(0, "");
    }
    json!({
        "type": "string",
        "description": "An IANA time zone name (`Asia/Shanghai`), as the tz database spells it",
        "enum": names,
    })
}

/// A bound as JSON: an integer when it is one.
fn number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        json!(value as i64)
    } else {
        json!(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, value: &str) -> bool {
        regex::Regex::new(pattern).unwrap().is_match(value)
    }

    #[test]
    fn plain_text_is_counted_once_trimmed_and_refuses_control_characters() {
        let required = text_pattern(CONTROL, true, 1, 5);
        for (value, expected) in [
            ("abcde", true),
            ("  abcde \n", true),
            ("\u{3000}五个汉字啊\u{85}", true),
            ("a\nb\tc", true),
            ("abcdef", false),
            (" abcdef ", false),
            ("", false),
            (" \t ", false),
            ("a\u{7}b", false),
            ("a\u{9b}b", false),
        ] {
            assert_eq!(matches(&required, value), expected, "{value:?}");
            // What the services' `required_text` does.
            let trimmed = value.trim();
            let accepted = !trimmed.is_empty()
                && trimmed.chars().count() <= 5
                && !trimmed
                    .chars()
                    .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
            assert_eq!(accepted, expected, "{value:?}");
        }
        let optional = text_pattern(CONTROL, false, 1, 5);
        assert!(matches(&optional, ""));
        assert!(matches(&optional, "  "));
        assert!(!matches(&optional, "abcdef"));
        let line = text_pattern(ANY_CONTROL, true, 1, 5);
        assert!(matches(&line, " abc\t"));
        assert!(!matches(&line, "a\nb"));
    }

    #[test]
    fn a_uuid_is_what_the_uuid_crate_reads() {
        let id = uuid::Uuid::now_v7();
        for value in [
            id.hyphenated().to_string(),
            id.simple().to_string(),
            id.braced().to_string(),
            id.urn().to_string(),
            id.hyphenated().to_string().to_uppercase(),
            "not-a-uuid".to_owned(),
            format!("{}0", id.simple()),
            format!("{{{}", id.hyphenated()),
        ] {
            assert_eq!(
                matches(UUID_PATTERN, &value),
                uuid::Uuid::parse_str(&value).is_ok(),
                "{value}"
            );
        }
    }

    #[test]
    fn time_zones_are_the_ones_chrono_tz_reads() {
        let schema = time_zone_schema(false);
        let names = schema["enum"].as_array().unwrap();
        assert!(names.contains(&json!("Asia/Shanghai")));
        for name in names {
            let name = name.as_str().unwrap();
            assert!(name.parse::<chrono_tz::Tz>().is_ok(), "{name}");
        }
        assert_eq!(time_zone_schema(true)["enum"][0], "");
    }

    #[test]
    fn optional_and_trimmed_patterns_keep_their_anchors() {
        let rules = Rules {
            pattern: "^[a-z]{1,3}$".into(),
            trimmed: true,
            ..Rules::default()
        };
        let mut schema = json!({"type": "string"});
        rules.apply(&mut schema, false);
        let pattern = schema["pattern"].as_str().unwrap();
        for (value, expected) in [("", true), (" abc ", true), ("abcd", false), ("ab1", false)] {
            assert_eq!(matches(pattern, value), expected, "{value:?} {pattern}");
        }
        let region = Rules {
            min_length: 2,
            max_length: 4,
            format: REGION_CODE,
            ..Rules::default()
        };
        let mut schema = json!({"type": "string"});
        region.apply(&mut schema, false);
        let pattern = schema["pattern"].as_str().unwrap();
        for (value, expected) in [
            ("", true),
            ("a", false),
            ("ab", true),
            ("ab-1", true),
            ("abcde", false),
        ] {
            assert_eq!(matches(pattern, value), expected, "{value:?} {pattern}");
        }
        assert!(schema.get("maxLength").is_none());
    }

    #[test]
    fn numbers_and_lists_take_their_bounds() {
        let rules = Rules {
            minimum: Some(0.0),
            maximum: Some(10.0),
            ..Rules::default()
        };
        let mut schema = json!({"type": "integer", "format": "int32"});
        rules.apply(&mut schema, false);
        assert_eq!(schema["minimum"], 0);
        assert_eq!(schema["maximum"], 10);
        let list = Rules {
            max_items: 50,
            items: Some(Box::new(Rules {
                max_length: 3,
                ..Rules::default()
            })),
            ..Rules::default()
        };
        let mut schema = json!({"type": "array", "items": {"type": "string"}});
        list.apply_to_list(&mut schema);
        assert_eq!(schema["maxItems"], 50);
        assert_eq!(schema["items"]["maxLength"], 3);
    }
}

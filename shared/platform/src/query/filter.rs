//! The AIP-160 subset every List method accepts: comparisons `field op value` joined with
//! `AND`; values are bare words (enum names, numbers, `true`/`false`, RFC 3339 times) or
//! double-quoted strings (`\"` and `\\` escaped). Each service checks the parsed conditions
//! against the fields its List accepts and types their values.

use chrono::DateTime;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Comparison {
    /// The SQL operator.
    pub fn sql(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "<>",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }

    /// True for `=` and `!=`.
    pub fn is_equality(self) -> bool {
        matches!(self, Self::Eq | Self::Ne)
    }
}

/// A value as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A bare word.
    Bare(String),
    /// A quoted string (unescaped).
    Quoted(String),
}

impl Value {
    /// The text, quoted or not.
    pub fn text(&self) -> &str {
        match self {
            Self::Bare(text) | Self::Quoted(text) => text,
        }
    }

    /// The value as an RFC 3339 time in UTC microseconds.
    pub fn time(&self) -> Result<i64, String> {
        DateTime::parse_from_rfc3339(self.text())
            .map(|t| t.timestamp_micros())
            .map_err(|_| format!("`{}` is not an RFC 3339 time", self.text()))
    }

    /// The value as a bare boolean.
    pub fn boolean(&self) -> Result<bool, String> {
        match self {
            Self::Bare(word) if word == "true" => Ok(true),
            Self::Bare(word) if word == "false" => Ok(false),
            _ => Err(format!("`{}` is not true or false", self.text())),
        }
    }

    /// The value as a bare integer.
    pub fn integer(&self) -> Result<i64, String> {
        match self {
            Self::Bare(word) => word
                .parse()
                .map_err(|_| format!("`{word}` is not an integer")),
            Self::Quoted(text) => Err(format!("`{text}` is not an integer")),
        }
    }

    /// The value as a quoted string.
    pub fn quoted(&self) -> Result<&str, String> {
        match self {
            Self::Quoted(text) => Ok(text),
            Self::Bare(word) => Err(format!("`{word}` must be a quoted string")),
        }
    }
}

/// One comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The field path.
    pub field: String,
    /// The operator.
    pub op: Comparison,
    /// The value.
    pub value: Value,
}

/// A parsed filter: every condition must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// The conditions.
    pub conditions: Vec<Condition>,
}

/// Why a filter could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Op(Comparison),
}

fn tokenize(text: &str) -> Result<Vec<Token>, FilterError> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '"' => {
                chars.next();
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(escaped) => value.push(escaped),
                            None => return Err(FilterError("unterminated string".into())),
                        },
                        Some(other) => value.push(other),
                        None => return Err(FilterError("unterminated string".into())),
                    }
                }
                tokens.push(Token::Quoted(value));
            }
            '=' => {
                chars.next();
                tokens.push(Token::Op(Comparison::Eq));
            }
            '!' | '<' | '>' => {
                chars.next();
                let eq = chars.peek() == Some(&'=');
                if eq {
                    chars.next();
                }
                let op = match (c, eq) {
                    ('!', true) => Comparison::Ne,
                    ('<', false) => Comparison::Lt,
                    ('<', true) => Comparison::Le,
                    ('>', false) => Comparison::Gt,
                    ('>', true) => Comparison::Ge,
                    _ => return Err(FilterError("`!` must be followed by `=`".into())),
                };
                tokens.push(Token::Op(op));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '=' | '!' | '<' | '>' | '"') {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    Ok(tokens)
}

impl Filter {
    /// Parses `text`; empty means no condition.
    pub fn parse(text: &str) -> Result<Self, FilterError> {
        let mut tokens = tokenize(text)?.into_iter();
        let mut conditions = Vec::new();
        loop {
            let Some(token) = tokens.next() else {
                if conditions.is_empty() {
                    return Ok(Self::default());
                }
                return Err(FilterError("the filter ends with AND".into()));
            };
            let Token::Word(field) = token else {
                return Err(FilterError("expected a field name".into()));
            };
            let Some(Token::Op(op)) = tokens.next() else {
                return Err(FilterError(format!("expected an operator after `{field}`")));
            };
            let value = match tokens.next() {
                Some(Token::Word(word)) => Value::Bare(word),
                Some(Token::Quoted(text)) => Value::Quoted(text),
                _ => return Err(FilterError(format!("expected a value for `{field}`"))),
            };
            conditions.push(Condition { field, op, value });
            match tokens.next() {
                None => return Ok(Self { conditions }),
                Some(Token::Word(and)) if and == "AND" => {}
                Some(_) => return Err(FilterError("conditions must be joined with AND".into())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_comparisons_joined_with_and() {
        let filter =
            Filter::parse(r#"status != CLOSED AND priority >= HIGH AND tag = "vip \"gold\"""#)
                .unwrap();
        assert_eq!(filter.conditions.len(), 3);
        assert_eq!(filter.conditions[0].op, Comparison::Ne);
        assert_eq!(filter.conditions[1].value, Value::Bare("HIGH".into()));
        assert_eq!(
            filter.conditions[2].value,
            Value::Quoted("vip \"gold\"".into())
        );
        assert_eq!(Filter::parse("  ").unwrap(), Filter::default());
    }

    #[test]
    fn refuses_malformed_filters() {
        for bad in [
            "status",
            "status =",
            "= OPEN",
            "status = OPEN AND",
            "status = OPEN OR kind = INQUIRY",
            "tag = \"unterminated",
            "status ! OPEN",
        ] {
            assert!(Filter::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_convert_to_times_numbers_and_booleans() {
        assert_eq!(
            Value::Bare("2026-01-01T00:00:00Z".into()).time(),
            Ok(1_767_225_600_000_000)
        );
        assert!(Value::Bare("yesterday".into()).time().is_err());
        assert_eq!(Value::Bare("12".into()).integer(), Ok(12));
        assert!(Value::Quoted("12".into()).integer().is_err());
        assert_eq!(Value::Bare("true".into()).boolean(), Ok(true));
        assert!(Value::Bare("agents/1".into()).quoted().is_err());
        assert_eq!(Comparison::Ne.sql(), "<>");
    }
}

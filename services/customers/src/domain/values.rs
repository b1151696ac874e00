//! Value types: every text field that comes from outside is parsed once, at the edge
//! (`api/parse.rs`), into one of these, so past that point nothing is an unchecked string.
//!
//! `parse` returns the value or the violation's description (the parse layer names the
//! field). The store reads values back with `trusted`: it only holds values that were parsed
//! before they were written.

use std::fmt;
use std::str::FromStr as _;

use serde::{Deserialize, Serialize};

/// The text newtype `$name`: a `String` that was checked by `$name::parse`.
macro_rules! text_value {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub(crate) struct $name(String);

        impl $name {
            /// A value that was checked before: read back from the store, or carried by a
            /// verified principal.
            pub(crate) fn trusted(value: String) -> Self {
                Self(value)
            }

            /// The text.
            pub(crate) fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        /// Test fixtures write values as literals.
        #[cfg(test)]
        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }
    };
}

/// Trimmed `value` when it has at most `max` characters and no control characters.
fn bounded(value: &str, max: usize) -> Result<&str, String> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(value)
}

text_value!(
    /// A name to show (of a customer, an organisation, a segment, a tier rule): trimmed,
    /// 1 to 200 characters, no control characters.
    DisplayName
);

impl DisplayName {
    /// The longest name, in characters.
    pub(crate) const MAX: usize = 200;

    /// `value` trimmed, or why it is not a display name.
    pub(crate) fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if value.is_empty() {
            return Err("is required".into());
        }
        bounded(value, Self::MAX).map(|value| Self(value.to_owned()))
    }

    /// A customer named after a channel handle (already checked: not empty, no control
    /// characters), cut to the longest name.
    pub(crate) fn from_handle(handle: &str) -> Self {
        Self(handle.chars().take(Self::MAX).collect())
    }
}

/// An optional text of at most `MAX` characters: trimmed, no control characters; may be
/// empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Text<const MAX: usize>(String);

impl<const MAX: usize> Text<MAX> {
    /// `value` trimmed, or why it is not such a text.
    pub(crate) fn parse(value: &str) -> Result<Self, String> {
        bounded(value, MAX).map(|value| Self(value.to_owned()))
    }

    /// A value that was checked before: read back from the store.
    pub(crate) fn trusted(value: String) -> Self {
        Self(value)
    }

    /// The text.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> std::ops::Deref for Text<MAX> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> fmt::Display for Text<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<const MAX: usize> PartialEq<&str> for Text<MAX> {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl<const MAX: usize> From<Text<MAX>> for String {
    fn from(value: Text<MAX>) -> String {
        value.0
    }
}

/// Test fixtures write values as literals.
#[cfg(test)]
impl<const MAX: usize> From<&str> for Text<MAX> {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// A given or family name: at most 100 characters, may be empty.
pub(crate) type PersonName = Text<100>;

/// A contact detail's free label (`work`, `home`): at most 32 characters, may be empty.
pub(crate) type Label = Text<32>;

text_value!(
    /// A BCP 47 language tag (`zh-CN`, `en-GB`, `de`, `zh-Hans-CN`), or empty.
    #[derive(Default)]
    Locale
);

impl Locale {
    /// `value` trimmed, or why it is not a language tag.
    pub(crate) fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(Self::default());
        }
        let mut subtags = value.split('-');
        let language = subtags.next().unwrap_or_default();
        let valid = value.len() <= 35
            && (2..=8).contains(&language.len())
            && language.chars().all(|c| c.is_ascii_alphabetic())
            && subtags.all(|s| {
                (1..=8).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric())
            });
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err("must be a BCP 47 language tag such as `zh-CN` or `de`".into())
        }
    }
}

text_value!(
    /// An IANA time zone name (`Asia/Shanghai`), or empty.
    #[derive(Default)]
    TimeZone
);

impl TimeZone {
    /// `value` trimmed, or why it is not a time zone.
    pub(crate) fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if value.is_empty() || chrono_tz::Tz::from_str(value).is_ok() {
            Ok(Self(value.to_owned()))
        } else {
            Err("must be an IANA time zone such as `Europe/Berlin`".into())
        }
    }
}

text_value!(
    /// A region code (`cn-east`): lower-case letters, digits and hyphens, at most 32; or
    /// empty.
    #[derive(Default)]
    Region
);

impl Region {
    /// `value`, or why it is not a region code.
    pub(crate) fn parse(value: &str) -> Result<Self, String> {
        let valid = value.len() <= 32
            && value
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err("must be lower-case letters, digits and hyphens, at most 32 characters".into())
        }
    }
}

text_value!(
    /// An email address: trimmed, lower-cased, of a plausible shape (`domain/email.rs`).
    EmailAddress
);

text_value!(
    /// A phone number in E.164 (`+8613800138000`; `domain/phone.rs`).
    PhoneNumber
);

text_value!(
    /// A segment's `ListCustomers` filter: at most 2000 characters, valid filter grammar
    /// (`domain/segment.rs`). Empty matches every customer.
    #[derive(Default)]
    SegmentFilter
);

text_value!(
    /// A segment's `ListCustomers` free-text query: empty, or 2 to 200 characters
    /// (`domain/segment.rs`).
    #[derive(Default)]
    TextQuery
);

text_value!(
    /// An organisation's internet domain (`contoso.de`): bare, lower-cased
    /// (`domain/organisation.rs`).
    OrganisationDomain
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_trimmed_required_bounded_and_printable() {
        assert_eq!(
            DisplayName::parse("  Anna Schmidt ").unwrap(),
            "Anna Schmidt"
        );
        assert_eq!(DisplayName::parse("李伟").unwrap(), "李伟");
        assert_eq!(DisplayName::parse("   ").unwrap_err(), "is required");
        assert_eq!(DisplayName::parse("").unwrap_err(), "is required");
        assert!(DisplayName::parse(&"x".repeat(200)).is_ok());
        assert_eq!(
            DisplayName::parse(&"x".repeat(201)).unwrap_err(),
            "must be at most 200 characters"
        );
        assert_eq!(
            DisplayName::parse("Li\u{7}Wei").unwrap_err(),
            "must not contain control characters"
        );
    }

    #[test]
    fn display_names_from_handles_are_cut_to_the_limit() {
        assert_eq!(DisplayName::from_handle("li@example.com"), "li@example.com");
        assert_eq!(
            DisplayName::from_handle(&"王".repeat(250)).chars().count(),
            200
        );
    }

    #[test]
    fn texts_may_be_empty_but_are_bounded_and_printable() {
        assert_eq!(PersonName::parse("  Wei ").unwrap(), "Wei");
        assert_eq!(PersonName::parse("  ").unwrap(), "");
        assert!(PersonName::parse(&"x".repeat(100)).is_ok());
        assert_eq!(
            PersonName::parse(&"x".repeat(101)).unwrap_err(),
            "must be at most 100 characters"
        );
        assert_eq!(
            Text::<32>::parse("home\nwork").unwrap_err(),
            "must not contain control characters"
        );
    }

    #[test]
    fn locales_are_language_tags_or_empty() {
        assert_eq!(Locale::parse(" zh-CN ").unwrap(), "zh-CN");
        assert!(Locale::parse("zh-Hans-CN").is_ok());
        assert!(Locale::parse("de").is_ok());
        assert_eq!(Locale::parse("").unwrap(), Locale::default());
        for bad in ["english please", "e", "zh-", "12-CN", "zh-toolongsubtag"] {
            assert!(Locale::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn time_zones_are_iana_names_or_empty() {
        assert_eq!(TimeZone::parse(" Asia/Shanghai").unwrap(), "Asia/Shanghai");
        assert_eq!(TimeZone::parse("").unwrap(), TimeZone::default());
        assert_eq!(
            TimeZone::parse("Mars/Olympus").unwrap_err(),
            "must be an IANA time zone such as `Europe/Berlin`"
        );
    }

    #[test]
    fn regions_are_lower_case_codes_or_empty() {
        assert_eq!(Region::parse("cn-east").unwrap(), "cn-east");
        assert_eq!(Region::parse("").unwrap(), Region::default());
        assert!(Region::parse(&"a".repeat(32)).is_ok());
        let long = "a".repeat(33);
        for bad in ["CN East", "cn_east", "Cn-east", long.as_str()] {
            assert!(Region::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}

//! Small value types parsed at the edge: regions, codes, language tags, emails.

/// A region or service-centre code: lower-case letters, digits and hyphens.
pub fn code(value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("is required".into());
    }
    if value.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || value.starts_with('-')
        || value.ends_with('-')
    {
        return Err("must be lower-case letters, digits and hyphens (e.g. `eu-west`)".into());
    }
    Ok(value.to_owned())
}

/// A BCP 47 language tag in its usual case (`zh-CN`, `en`, `sr-Latn-RS`): a 2–3 letter
/// primary subtag and up to three subtags of 2–8 letters or digits.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct LanguageTag(String);

impl LanguageTag {
    /// Parses and normalises a tag.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        let mut parts = value.split(['-', '_']);
        let primary = parts.next().unwrap_or_default();
        if !(2..=3).contains(&primary.len()) || !primary.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(format!(
                "`{value}` is not a BCP 47 language tag (e.g. `zh-CN`)"
            ));
        }
        let mut tag = primary.to_ascii_lowercase();
        for (index, part) in parts.enumerate() {
            if index >= 3
                || !(2..=8).contains(&part.len())
                || !part.chars().all(|c| c.is_ascii_alphanumeric())
            {
                return Err(format!(
                    "`{value}` is not a BCP 47 language tag (e.g. `zh-CN`)"
                ));
            }
            tag.push('-');
            match part.len() {
                2 => tag.push_str(&part.to_ascii_uppercase()),
                4 => {
                    let mut chars = part.chars();
                    tag.extend(chars.next().map(|c| c.to_ascii_uppercase()));
                    tag.push_str(&chars.as_str().to_ascii_lowercase());
                }
                _ => tag.push_str(&part.to_ascii_lowercase()),
            }
        }
        Ok(Self(tag))
    }

    /// The tag as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The primary subtag (`zh` of `zh-CN`).
    pub fn primary(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }

    /// Whether the tag has only a primary subtag.
    pub fn is_bare(&self) -> bool {
        !self.0.contains('-')
    }

    /// Whether `self` (what an agent speaks) serves `wanted`: same primary subtag.
    pub fn serves(&self, wanted: &LanguageTag) -> bool {
        self.primary() == wanted.primary()
    }
}

/// A work email, lower-cased: one `@` with text on both sides and a dot in the domain.
pub fn email(value: &str) -> Result<String, String> {
    let value = value.trim().to_lowercase();
    let count = value.chars().count();
    if !(3..=320).contains(&count) {
        return Err("must be 3 to 320 characters".into());
    }
    let valid = match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if valid {
        Ok(value)
    } else {
        Err("is not an email address".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags_are_normalised_and_compared_by_primary_subtag() {
        assert_eq!(LanguageTag::parse("zh_cn").unwrap().as_str(), "zh-CN");
        assert_eq!(
            LanguageTag::parse("sr-latn-rs").unwrap().as_str(),
            "sr-Latn-RS"
        );
        let zh = LanguageTag::parse("zh").unwrap();
        assert!(zh.is_bare());
        assert!(LanguageTag::parse("zh-TW").unwrap().serves(&zh));
        assert!(!LanguageTag::parse("en").unwrap().serves(&zh));
        for bad in ["", "c", "chinese", "zh-", "zh-toolongsubtag", "1a"] {
            assert!(LanguageTag::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn codes_are_lower_case_words_with_hyphens() {
        assert_eq!(code(" eu-west ", 32).unwrap(), "eu-west");
        for bad in ["", "EU", "eu west", "-eu", "eu_west"] {
            assert!(code(bad, 32).is_err(), "{bad}");
        }
        assert!(code(&"a".repeat(33), 32).is_err());
    }

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(email(" Ada@Example.COM ").unwrap(), "ada@example.com");
        for bad in [
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }
}

//! The skill catalogue.

use uuid::Uuid;

use super::agent::numbered;
use super::{Refused, check_version};

numbered!(
    /// What kind of skill.
    Category {
        /// A product line.
        ProductLine = 1,
        /// A language.
        Language = 2,
        /// A ticket kind.
        TicketKind = 3,
        /// Anything else.
        Other = 4,
    }
);

/// A skill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skill {
    /// Id.
    pub id: Uuid,
    /// 1 to 200 characters.
    pub display_name: String,
    /// Category (immutable).
    pub category: Category,
    /// Code, normalised per category (immutable).
    pub code: String,
    /// At most 2000 characters.
    pub description: Option<String>,
    /// Non-deleted agents holding it (output only).
    pub agent_count: i64,
    /// Version.
    pub version: i64,
    /// Created.
    pub create_time: i64,
    /// Changed.
    pub update_time: i64,
}

impl Skill {
    /// A new skill at version 1, held by nobody.
    pub fn new(
        display_name: String,
        category: Category,
        code: String,
        description: Option<String>,
        now: i64,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            display_name,
            category,
            code,
            description,
            agent_count: 0,
            version: 1,
            create_time: now,
            update_time: now,
        }
    }

    /// Renames and re-describes the skill (`None`: unchanged) against `version` (the etag
    /// sent), raising the version when anything changed; returns whether it did.
    pub fn update(
        &mut self,
        version: i64,
        display_name: Option<String>,
        description: Option<Option<String>>,
        now: i64,
    ) -> Result<bool, Refused> {
        check_version(self.version, version)?;
        let before = self.clone();
        if let Some(display_name) = display_name {
            self.display_name = display_name;
        }
        if let Some(description) = description {
            self.description = description;
        }
        if *self == before {
            return Ok(false);
        }
        self.version += 1;
        self.update_time = now;
        Ok(true)
    }
}

/// A skill code in its stored form: language tags lower-cased, ticket kinds upper-cased,
/// the rest lower-cased; at most 64 characters of letters, digits, `-` and `_`.
pub fn normalise_code(category: Category, code: &str) -> Result<String, String> {
    let code = code.trim();
    if code.is_empty() {
        return Err("is required".into());
    }
    if code.chars().count() > 64 {
        return Err("must be at most 64 characters".into());
    }
    if !code
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err("must be letters, digits, `-` and `_`".into());
    }
    Ok(match category {
        Category::TicketKind => code.to_ascii_uppercase(),
        _ => code.to_ascii_lowercase(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_case_insensitively_by_normalising() {
        assert_eq!(
            normalise_code(Category::TicketKind, "after_sales").unwrap(),
            "AFTER_SALES"
        );
        assert_eq!(
            normalise_code(Category::ProductLine, "Washing-Machines").unwrap(),
            "washing-machines"
        );
        assert_eq!(
            normalise_code(Category::Language, "zh-CN").unwrap(),
            "zh-cn"
        );
        assert!(normalise_code(Category::Other, "two words").is_err());
        assert!(normalise_code(Category::Other, "").is_err());
    }

    #[test]
    fn an_update_raises_the_version_only_when_something_changed() {
        let mut skill = Skill::new("Washers".into(), Category::ProductLine, "w".into(), None, 1);
        assert_eq!(skill.update(1, Some("Washers".into()), None, 2), Ok(false));
        assert_eq!(skill.version, 1);
        assert_eq!(skill.update(1, None, Some(Some("x".into())), 3), Ok(true));
        assert_eq!((skill.version, skill.update_time), (2, 3));
        assert_eq!(skill.update(1, None, None, 4), Err(Refused::Stale));
    }
}

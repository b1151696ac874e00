//! Organisations: companies whose people are customers (B2B accounts).

use aftercare_platform::time::Micros;
use uuid::Uuid;

use super::customer::{Attributes, Tier};
use super::email::check_domain;
use super::values::{DisplayName, OrganisationDomain, Region};

/// The fields of an organisation people set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OrganisationSpec {
    /// Name to show; 1 to 200 characters.
    pub(crate) display_name: DisplayName,
    /// Primary internet domain, lower-cased; unique when set.
    pub(crate) domain: Option<OrganisationDomain>,
    /// Region code or empty.
    pub(crate) region: Region,
    /// Service tier.
    pub(crate) tier: Tier,
    /// Custom attributes.
    pub(crate) attributes: Attributes,
}

/// A stored organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Organisation {
    /// Its id.
    pub(crate) id: Uuid,
    /// Its fields.
    pub(crate) spec: OrganisationSpec,
    /// Version counter.
    pub(crate) version: i64,
    /// Created.
    pub(crate) create_time: Micros,
    /// Last changed.
    pub(crate) update_time: Micros,
}

impl OrganisationDomain {
    /// `value` lower-cased when it is a bare domain (`contoso.de`, no scheme); `None` when
    /// empty; or why it is not one.
    pub(crate) fn parse(value: &str) -> Result<Option<Self>, String> {
        let value = value.trim().to_lowercase();
        if value.is_empty() {
            return Ok(None);
        }
        if value.contains("://") || value.contains('/') {
            return Err(
                "must be a bare domain such as `contoso.de`, without scheme or path".into(),
            );
        }
        check_domain(&value)?;
        Ok(Some(Self::trusted(value)))
    }
}

/// One change an update makes to an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OrganisationChange {
    /// `display_name`
    DisplayName(DisplayName),
    /// `domain`
    Domain(Option<OrganisationDomain>),
    /// `region`
    Region(Region),
    /// `tier`
    Tier(Tier),
    /// `attributes`
    Attributes(Attributes),
    /// `attributes.<key>`: set, or remove when `None`
    Attribute(String, Option<String>),
}

impl OrganisationSpec {
    /// Applies `changes`; returns whether anything changed.
    pub(crate) fn apply(&mut self, changes: Vec<OrganisationChange>) -> bool {
        let before = self.clone();
        for change in changes {
            match change {
                OrganisationChange::DisplayName(v) => self.display_name = v,
                OrganisationChange::Domain(v) => self.domain = v,
                OrganisationChange::Region(v) => self.region = v,
                OrganisationChange::Tier(v) => self.tier = v,
                OrganisationChange::Attributes(v) => self.attributes = v,
                OrganisationChange::Attribute(key, Some(value)) => {
                    self.attributes.insert(key, value);
                }
                OrganisationChange::Attribute(key, None) => {
                    self.attributes.remove(&key);
                }
            }
        }
        *self != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_bare_and_lower_cased() {
        assert_eq!(
            OrganisationDomain::parse(" Contoso.DE "),
            Ok(Some("contoso.de".into()))
        );
        assert_eq!(OrganisationDomain::parse(""), Ok(None));
        assert!(OrganisationDomain::parse("https://contoso.de").is_err());
        assert!(OrganisationDomain::parse("contoso").is_err());
    }

    #[test]
    fn changes_apply_and_report_whether_anything_changed() {
        let mut spec = OrganisationSpec {
            display_name: "Contoso".into(),
            domain: None,
            region: Region::default(),
            tier: Tier::Standard,
            attributes: Attributes::new(),
        };
        assert!(!spec.apply(vec![OrganisationChange::DisplayName("Contoso".into())]));
        assert!(spec.apply(vec![OrganisationChange::Attribute(
            "contract".into(),
            Some("C-1".into())
        )]));
        assert_eq!(spec.attributes["contract"], "C-1");
    }
}

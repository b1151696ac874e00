//! Customers: their profile fields, the rules each field follows, and how an update changes
//! a profile.

use std::collections::BTreeMap;

use aftercare_platform::error::FieldViolations;
use aftercare_platform::time::Micros;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::DomainError;
use super::values::{
    DisplayName, EmailAddress, Label, Locale, PersonName, PhoneNumber, Region, TimeZone,
};

pub(crate) use super::wire::{Channel, LifecycleStage, Tier};

/// The display name of an erased customer.
pub(crate) const ERASED_NAME: &str = "Erased customer";

/// Free-form custom attributes, ordered by key.
pub(crate) type Attributes = BTreeMap<String, String>;

/// Most emails, phones and addresses a customer has.
const MAX_EMAILS: usize = 10;
const MAX_PHONES: usize = 10;
const MAX_ADDRESSES: usize = 5;
const MAX_ATTRIBUTES: usize = 100;

/// An email address of a customer (a contact detail, not an identity).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Email {
    /// Lower-cased address.
    pub(crate) address: EmailAddress,
    /// Free label.
    pub(crate) label: Label,
    /// The address to contact first.
    pub(crate) primary: bool,
}

/// A phone number of a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Phone {
    /// E.164 number.
    pub(crate) number: PhoneNumber,
    /// Free label.
    pub(crate) label: Label,
    /// The number to call first.
    pub(crate) primary: bool,
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Address {
    /// Free label.
    pub(crate) label: String,
    /// Addressee when not the customer.
    pub(crate) recipient: String,
    /// Street lines, 1 to 5.
    pub(crate) address_lines: Vec<String>,
    /// City.
    pub(crate) locality: String,
    /// State or province.
    pub(crate) administrative_area: String,
    /// Postal code.
    pub(crate) postal_code: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub(crate) country_code: String,
    /// The default address.
    pub(crate) primary: bool,
}

/// The fields of a customer that people set (on create, on update, from resolve hints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Profile {
    /// Name to show; 1 to 200 characters.
    pub(crate) display_name: DisplayName,
    /// Given name.
    pub(crate) given_name: PersonName,
    /// Family name.
    pub(crate) family_name: PersonName,
    /// BCP 47 tag or empty.
    pub(crate) locale: Locale,
    /// IANA time zone or empty.
    pub(crate) time_zone: TimeZone,
    /// Region code or empty.
    pub(crate) region: Region,
    /// Emails.
    pub(crate) emails: Vec<Email>,
    /// Phones.
    pub(crate) phones: Vec<Phone>,
    /// Addresses.
    pub(crate) addresses: Vec<Address>,
    /// Organisation id.
    pub(crate) organisation: Option<Uuid>,
    /// Service tier.
    pub(crate) tier: Tier,
    /// Whether tier rules leave the tier alone.
    pub(crate) tier_locked: bool,
    /// Lifecycle stage.
    pub(crate) lifecycle_stage: LifecycleStage,
    /// Attributes the customer sees.
    pub(crate) attributes: Attributes,
    /// Attributes only staff see.
    pub(crate) internal_attributes: Attributes,
}

impl Profile {
    /// A profile with only a display name, and the defaults for everything else.
    pub(crate) fn named(display_name: DisplayName) -> Self {
        Self {
            display_name,
            given_name: PersonName::default(),
            family_name: PersonName::default(),
            locale: Locale::default(),
            time_zone: TimeZone::default(),
            region: Region::default(),
            emails: Vec::new(),
            phones: Vec::new(),
            addresses: Vec::new(),
            organisation: None,
            tier: Tier::Standard,
            tier_locked: false,
            lifecycle_stage: LifecycleStage::New,
            attributes: Attributes::new(),
            internal_attributes: Attributes::new(),
        }
    }
}

/// A stored customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Customer {
    /// Its id.
    pub(crate) id: Uuid,
    /// The fields people set.
    pub(crate) profile: Profile,
    /// The channel it first came through.
    pub(crate) origin_channel: Channel,
    /// The survivor it was merged into.
    pub(crate) merged_into: Option<Uuid>,
    /// When it was merged.
    pub(crate) merge_time: Option<Micros>,
    /// Whether its personal data was erased.
    pub(crate) erased: bool,
    /// When it was erased.
    pub(crate) erase_time: Option<Micros>,
    /// Version counter, the etag.
    pub(crate) version: i64,
    /// Creation time.
    pub(crate) create_time: Micros,
    /// Last change.
    pub(crate) update_time: Micros,
}

impl Customer {
    /// A new customer with `profile`, created now.
    pub(crate) fn new(profile: Profile, origin_channel: Channel, now: Micros) -> Self {
        Self {
            id: Uuid::now_v7(),
            profile,
            origin_channel,
            merged_into: None,
            merge_time: None,
            erased: false,
            erase_time: None,
            version: 1,
            create_time: now,
            update_time: now,
        }
    }

    /// Why the customer cannot change any more, if it cannot.
    pub(crate) fn frozen_reason(&self) -> Option<&'static str> {
        if self.merged_into.is_some() {
            Some("the customer was merged into another and can no longer change")
        } else if self.erased {
            Some("the customer was erased and can no longer change")
        } else {
            None
        }
    }

    /// Refuses any change to a customer that was merged or erased.
    pub(crate) fn check_writable(&self) -> Result<(), DomainError> {
        match self.frozen_reason() {
            Some(reason) => Err(DomainError::Refused {
                violation: "STATE",
                description: reason.into(),
            }),
            None => Ok(()),
        }
    }

    /// Refuses a change made against `version` when it is not the current one, or when the
    /// customer can no longer change (merged or erased).
    pub(crate) fn check_current(&self, version: i64) -> Result<(), DomainError> {
        if self.version != version {
            return Err(DomainError::StaleEtag);
        }
        self.check_writable()
    }

    /// The customer after `changes` made against `version` at `now`: `None` when nothing
    /// would change. Refused when `version` is not the current one, when the customer can no
    /// longer change (merged or erased), or when a change breaks a rule.
    pub(crate) fn update(
        &self,
        version: i64,
        changes: Vec<Change>,
        now: Micros,
    ) -> Result<Option<Updated>, DomainError> {
        self.check_current(version)?;
        let mut after = self.clone();
        let changed =
            after
                .apply(changes)
                .map_err(|(field, description)| DomainError::Invalid {
                    field: format!("customer.{field}"),
                    description,
                })?;
        if changed.is_empty() {
            return Ok(None);
        }
        after.version += 1;
        after.update_time = now;
        Ok(Some(Updated {
            before: self.clone(),
            after,
            changed,
        }))
    }

    /// Whether tier rules may change its tier: live (not merged or erased) and not locked.
    pub(crate) fn tier_reviewable(&self) -> bool {
        self.frozen_reason().is_none() && !self.profile.tier_locked
    }

    /// Removes every personal field (erasure), keeping the name, region, tier, lifecycle
    /// stage and times for anonymised statistics; returns the paths of the fields that held
    /// something. The caller bumps the version.
    pub(crate) fn erase(&mut self, now: Micros) -> Vec<String> {
        let p = &mut self.profile;
        let mut cleared = Vec::new();
        let mut blank = |field: &str, had: bool| {
            if had {
                cleared.push(field.to_owned());
            }
        };
        blank("display_name", true);
        blank("given_name", !p.given_name.is_empty());
        blank("family_name", !p.family_name.is_empty());
        blank("locale", !p.locale.is_empty());
        blank("time_zone", !p.time_zone.is_empty());
        blank("emails", !p.emails.is_empty());
        blank("phones", !p.phones.is_empty());
        blank("addresses", !p.addresses.is_empty());
        blank("organisation", p.organisation.is_some());
        blank("attributes", !p.attributes.is_empty());
        blank("internal_attributes", !p.internal_attributes.is_empty());
        *p = Profile {
            region: std::mem::take(&mut p.region),
            tier: p.tier,
            tier_locked: p.tier_locked,
            lifecycle_stage: p.lifecycle_stage,
            ..Profile::named(DisplayName::trusted(ERASED_NAME.to_owned()))
        };
        self.erased = true;
        self.erase_time = Some(now);
        self.update_time = now;
        cleared
    }

    /// The lower-cased text the free-text query matches: names, emails and phones.
    pub(crate) fn search_text(&self) -> String {
        let profile = &self.profile;
        let mut parts = vec![
            profile.display_name.to_lowercase(),
            profile.given_name.to_lowercase(),
            profile.family_name.to_lowercase(),
        ];
        parts.extend(profile.emails.iter().map(|email| email.address.to_string()));
        parts.extend(profile.phones.iter().map(|phone| phone.number.to_string()));
        parts.retain(|part| !part.is_empty());
        parts.join("\n")
    }

    /// Applies `changes` (from an update) and returns the paths of the fields that changed.
    /// The caller bumps the version and the update time when any did.
    pub(crate) fn apply(&mut self, changes: Vec<Change>) -> Result<Vec<String>, (String, String)> {
        let mut changed = Vec::new();
        let profile = &mut self.profile;
        for change in changes {
            let path = change.path();
            let differs = match change {
                Change::DisplayName(v) => replace(&mut profile.display_name, v),
                Change::GivenName(v) => replace(&mut profile.given_name, v),
                Change::FamilyName(v) => replace(&mut profile.family_name, v),
                Change::Locale(v) => replace(&mut profile.locale, v),
                Change::TimeZone(v) => replace(&mut profile.time_zone, v),
                Change::Region(v) => replace(&mut profile.region, v),
                Change::Emails(v) => replace(&mut profile.emails, v),
                Change::Phones(v) => replace(&mut profile.phones, v),
                Change::Addresses(v) => replace(&mut profile.addresses, v),
                Change::Organisation(v) => replace(&mut profile.organisation, v),
                Change::Tier(v) => replace(&mut profile.tier, v),
                Change::TierLocked(v) => replace(&mut profile.tier_locked, v),
                Change::LifecycleStage(v) => replace(&mut profile.lifecycle_stage, v),
                Change::Attributes(v) => replace(&mut profile.attributes, v),
                Change::InternalAttributes(v) => replace(&mut profile.internal_attributes, v),
                Change::Attribute(key, v) => set_key(&mut profile.attributes, key, v),
                Change::InternalAttribute(key, v) => {
                    set_key(&mut profile.internal_attributes, key, v)
                }
            };
            if differs {
                changed.push(path);
            }
        }
        for (field, map) in [
            ("attributes", &profile.attributes),
            ("internal_attributes", &profile.internal_attributes),
        ] {
            if map.len() > MAX_ATTRIBUTES {
                return Err((
                    field.to_owned(),
                    format!("would have more than {MAX_ATTRIBUTES} entries"),
                ));
            }
        }
        Ok(changed)
    }
}

fn replace<T: PartialEq>(slot: &mut T, value: T) -> bool {
    if *slot == value {
        false
    } else {
        *slot = value;
        true
    }
}

fn set_key(map: &mut Attributes, key: String, value: Option<String>) -> bool {
    match value {
        Some(value) => map.insert(key, value.clone()).as_ref() != Some(&value),
        None => map.remove(&key).is_some(),
    }
}

/// What an update did: the customer before and after, and the fields that changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Updated {
    /// As it was read.
    pub(crate) before: Customer,
    /// As it is to be stored (version bumped).
    pub(crate) after: Customer,
    /// The update-mask paths that changed.
    pub(crate) changed: Vec<String>,
}

/// One change an update makes, named by its update-mask path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// `display_name`
    DisplayName(DisplayName),
    /// `given_name`
    GivenName(PersonName),
    /// `family_name`
    FamilyName(PersonName),
    /// `locale`
    Locale(Locale),
    /// `time_zone`
    TimeZone(TimeZone),
    /// `region`
    Region(Region),
    /// `emails`
    Emails(Vec<Email>),
    /// `phones`
    Phones(Vec<Phone>),
    /// `addresses`
    Addresses(Vec<Address>),
    /// `organisation`
    Organisation(Option<Uuid>),
    /// `tier`
    Tier(Tier),
    /// `tier_locked`
    TierLocked(bool),
    /// `lifecycle_stage`
    LifecycleStage(LifecycleStage),
    /// `attributes` (the whole map)
    Attributes(Attributes),
    /// `internal_attributes` (the whole map)
    InternalAttributes(Attributes),
    /// `attributes.<key>`: set, or remove when `None`
    Attribute(String, Option<String>),
    /// `internal_attributes.<key>`
    InternalAttribute(String, Option<String>),
}

impl Change {
    /// The update-mask path.
    pub(crate) fn path(&self) -> String {
        match self {
            Self::DisplayName(_) => "display_name".into(),
            Self::GivenName(_) => "given_name".into(),
            Self::FamilyName(_) => "family_name".into(),
            Self::Locale(_) => "locale".into(),
            Self::TimeZone(_) => "time_zone".into(),
            Self::Region(_) => "region".into(),
            Self::Emails(_) => "emails".into(),
            Self::Phones(_) => "phones".into(),
            Self::Addresses(_) => "addresses".into(),
            Self::Organisation(_) => "organisation".into(),
            Self::Tier(_) => "tier".into(),
            Self::TierLocked(_) => "tier_locked".into(),
            Self::LifecycleStage(_) => "lifecycle_stage".into(),
            Self::Attributes(_) => "attributes".into(),
            Self::InternalAttributes(_) => "internal_attributes".into(),
            Self::Attribute(key, _) => format!("attributes.{key}"),
            Self::InternalAttribute(key, _) => format!("internal_attributes.{key}"),
        }
    }

    /// True for the fields only staff may change: tier, internal attributes and the
    /// business fields (stage, region, organisation).
    pub(crate) fn staff_only(&self) -> bool {
        matches!(
            self,
            Self::Tier(_)
                | Self::TierLocked(_)
                | Self::LifecycleStage(_)
                | Self::Region(_)
                | Self::Organisation(_)
                | Self::InternalAttributes(_)
                | Self::InternalAttribute(..)
        )
    }
}

/// Checks an optional text of at most `max` characters without control characters; trimmed.
pub(crate) fn bounded_text(value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(value.to_owned())
}

/// Checks an attribute map; violations are reported under `path`.
pub(crate) fn attributes(
    map: &std::collections::HashMap<String, String>,
    path: &str,
    violations: &mut FieldViolations,
) -> Attributes {
    if map.len() > MAX_ATTRIBUTES {
        violations.add(path, format!("must have at most {MAX_ATTRIBUTES} entries"));
    }
    let mut checked = Attributes::new();
    for (key, value) in map {
        if let Err(err) = attribute_key(key) {
            violations.add(format!("{path}.{key}"), err);
        } else if let Err(err) = attribute_value(value) {
            violations.add(format!("{path}.{key}"), err);
        } else {
            checked.insert(key.clone(), value.clone());
        }
    }
    checked
}

/// Checks an attribute key: `[a-z][a-z0-9_]{0,63}`.
pub(crate) fn attribute_key(key: &str) -> Result<(), String> {
    let mut chars = key.chars();
    let valid = key.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err("keys must match [a-z][a-z0-9_]{0,63}".into())
    }
}

/// Checks an attribute value: at most 1024 characters.
pub(crate) fn attribute_value(value: &str) -> Result<(), String> {
    if value.chars().count() > 1024 {
        Err("values must be at most 1024 characters".into())
    } else {
        Ok(())
    }
}

/// Checks and normalises emails: addresses lower-cased, unique, at most one primary.
pub(crate) fn emails(
    raw: impl IntoIterator<Item = (String, String, bool)>,
    path: &str,
    violations: &mut FieldViolations,
) -> Vec<Email> {
    let mut checked: Vec<Email> = Vec::new();
    for (index, (address, label, primary)) in raw.into_iter().enumerate() {
        if index == MAX_EMAILS {
            violations.add(path, format!("at most {MAX_EMAILS} are allowed"));
        }
        let at = format!("{path}[{index}]");
        let address = violations.check(&format!("{at}.address"), EmailAddress::parse(&address));
        let label = violations.check(&format!("{at}.label"), Label::parse(&label));
        if let (Some(address), Some(label)) = (address, label) {
            if checked.iter().any(|e| e.address == address) {
                violations.add(format!("{at}.address"), "appears twice");
            }
            checked.push(Email {
                address,
                label,
                primary,
            });
        }
    }
    if checked.iter().filter(|e| e.primary).count() > 1 {
        violations.add(path, "at most one may be primary");
    }
    checked
}

/// Checks and normalises phones to E.164: unique, at most one primary.
pub(crate) fn phones(
    raw: impl IntoIterator<Item = (String, String, bool)>,
    path: &str,
    violations: &mut FieldViolations,
) -> Vec<Phone> {
    let mut checked: Vec<Phone> = Vec::new();
    for (index, (number, label, primary)) in raw.into_iter().enumerate() {
        if index == MAX_PHONES {
            violations.add(path, format!("at most {MAX_PHONES} are allowed"));
        }
        let at = format!("{path}[{index}]");
        let number = violations.check(&format!("{at}.number"), PhoneNumber::parse(&number));
        let label = violations.check(&format!("{at}.label"), Label::parse(&label));
        if let (Some(number), Some(label)) = (number, label) {
            if checked.iter().any(|p| p.number == number) {
                violations.add(format!("{at}.number"), "appears twice");
            }
            checked.push(Phone {
                number,
                label,
                primary,
            });
        }
    }
    if checked.iter().filter(|p| p.primary).count() > 1 {
        violations.add(path, "at most one may be primary");
    }
    checked
}

/// Checks addresses: 1 to 5 lines, a country code, the length limits, at most one primary.
pub(crate) fn addresses(
    raw: Vec<Address>,
    path: &str,
    violations: &mut FieldViolations,
) -> Vec<Address> {
    if raw.len() > MAX_ADDRESSES {
        violations.add(path, format!("at most {MAX_ADDRESSES} are allowed"));
    }
    let mut checked = Vec::new();
    for (index, address) in raw.into_iter().enumerate() {
        let at = format!("{path}[{index}]");
        let before = violations.violations().len();
        let mut text = |field: &str, value: &str, max: usize| {
            violations
                .check(&format!("{at}.{field}"), bounded_text(value, max))
                .unwrap_or_default()
        };
        let label = text("label", &address.label, 32);
        let recipient = text("recipient", &address.recipient, 200);
        let locality = text("locality", &address.locality, 100);
        let administrative_area = text("administrative_area", &address.administrative_area, 100);
        let postal_code = text("postal_code", &address.postal_code, 20);
        let mut lines = Vec::new();
        if !(1..=5).contains(&address.address_lines.len()) {
            violations.add(format!("{at}.address_lines"), "must have 1 to 5 lines");
        }
        for (line_index, line) in address.address_lines.iter().enumerate() {
            let field = format!("{at}.address_lines[{line_index}]");
            match bounded_text(line, 200) {
                Ok(line) if line.is_empty() => violations.add(field, "must not be empty"),
                Ok(line) => lines.push(line),
                Err(err) => violations.add(field, err),
            }
        }
        let country_code = address.country_code.trim().to_ascii_uppercase();
        if country_code.len() != 2 || !country_code.chars().all(|c| c.is_ascii_uppercase()) {
            violations.add(
                format!("{at}.country_code"),
                "must be an ISO 3166-1 alpha-2 code such as `CN` or `DE`",
            );
        }
        if violations.violations().len() == before {
            checked.push(Address {
                label,
                recipient,
                address_lines: lines,
                locality,
                administrative_area,
                postal_code,
                country_code,
                primary: address.primary,
            });
        }
    }
    if checked.iter().filter(|a| a.primary).count() > 1 {
        violations.add(path, "at most one may be primary");
    }
    checked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer() -> Customer {
        Customer::new(Profile::named("Li Wei".into()), Channel::Email, 1)
    }

    #[test]
    fn applying_changes_reports_only_what_changed() {
        let mut customer = customer();
        let changed = customer
            .apply(vec![
                Change::DisplayName("Li Wei".into()),
                Change::Locale("zh-CN".into()),
                Change::Attribute("loyalty_card".into(), Some("A-1".into())),
            ])
            .unwrap();
        assert_eq!(changed, ["locale", "attributes.loyalty_card"]);
        assert_eq!(customer.profile.attributes["loyalty_card"], "A-1");
        let changed = customer
            .apply(vec![Change::Attribute("loyalty_card".into(), None)])
            .unwrap();
        assert_eq!(changed, ["attributes.loyalty_card"]);
        assert!(customer.profile.attributes.is_empty());
    }

    #[test]
    fn an_update_is_refused_when_stale_or_frozen_and_empty_when_nothing_changes() {
        let customer = customer();
        let rename = || vec![Change::DisplayName("Wei Li".into())];
        assert_eq!(
            customer.update(7, rename(), 5).unwrap_err(),
            DomainError::StaleEtag
        );
        let same = vec![Change::DisplayName("Li Wei".into())];
        assert_eq!(customer.update(1, same, 5), Ok(None));
        let update = customer.update(1, rename(), 5).unwrap().unwrap();
        assert_eq!(update.changed, ["display_name"]);
        assert_eq!((update.after.version, update.after.update_time), (2, 5));
        assert_eq!(update.before, customer);
        let mut merged = customer.clone();
        merged.merged_into = Some(Uuid::now_v7());
        assert!(matches!(
            merged.update(1, rename(), 5),
            Err(DomainError::Refused {
                violation: "STATE",
                ..
            })
        ));
    }

    #[test]
    fn erasure_keeps_only_what_statistics_need() {
        let mut customer = customer();
        customer.profile.region = "cn-east".into();
        customer.profile.tier = Tier::Vip;
        customer.profile.locale = "zh-CN".into();
        customer.profile.emails.push(Email {
            address: "li@example.com".into(),
            label: Label::default(),
            primary: true,
        });
        customer
            .profile
            .internal_attributes
            .insert("credit_hold".into(), "no".into());
        let cleared = customer.erase(9);
        assert_eq!(
            cleared,
            ["display_name", "locale", "emails", "internal_attributes"]
        );
        let mut expected = Profile::named(ERASED_NAME.into());
        expected.region = "cn-east".into();
        expected.tier = Tier::Vip;
        assert_eq!(customer.profile, expected);
        assert!(customer.erased);
        assert_eq!(customer.erase_time, Some(9));
        assert!(!customer.search_text().contains("li@example.com"));
    }

    #[test]
    fn attribute_maps_cannot_grow_past_the_limit() {
        let mut customer = customer();
        let full: Attributes = (0..100).map(|i| (format!("k{i}"), "v".into())).collect();
        customer.apply(vec![Change::Attributes(full)]).unwrap();
        let err = customer
            .apply(vec![Change::Attribute("one_more".into(), Some("v".into()))])
            .unwrap_err();
        assert_eq!(err.0, "attributes");
    }

    #[test]
    fn tier_and_internal_fields_are_staff_only() {
        assert!(Change::Tier(Tier::Vip).staff_only());
        assert!(Change::InternalAttribute("x".into(), None).staff_only());
        assert!(!Change::DisplayName("x".into()).staff_only());
        assert!(!Change::Attribute("x".into(), None).staff_only());
    }

    #[test]
    fn field_rules_accept_good_values_and_refuse_bad_ones() {
        assert_eq!(
            DisplayName::parse("  Anna Schmidt ").unwrap(),
            "Anna Schmidt"
        );
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"x".repeat(201)).is_err());
        assert!(Locale::parse("zh-Hans-CN").is_ok());
        assert!(Locale::parse("english please").is_err());
        assert!(TimeZone::parse("Asia/Shanghai").is_ok());
        assert!(TimeZone::parse("Mars/Olympus").is_err());
        assert!(Region::parse("cn-east").is_ok());
        assert!(Region::parse("CN East").is_err());
        assert!(attribute_key("vip_note").is_ok());
        assert!(attribute_key("VipNote").is_err());
        assert!(attribute_key("1st").is_err());
    }

    #[test]
    fn contact_lists_are_normalised_and_checked() {
        let mut violations = FieldViolations::new();
        let list = emails(
            [
                ("Li@Example.com".to_owned(), "work".to_owned(), true),
                ("li@example.com ".to_owned(), String::new(), false),
                ("nope".to_owned(), String::new(), false),
            ],
            "customer.emails",
            &mut violations,
        );
        assert_eq!(list[0].address, "li@example.com");
        let fields: Vec<_> = violations
            .violations()
            .iter()
            .map(|v| v.field.clone())
            .collect();
        assert_eq!(
            fields,
            ["customer.emails[1].address", "customer.emails[2].address"]
        );
        let mut violations = FieldViolations::new();
        let list = phones(
            [
                ("138 0013 8000".to_owned(), String::new(), true),
                ("+49 151 1234 5678".to_owned(), String::new(), true),
            ],
            "customer.phones",
            &mut violations,
        );
        assert_eq!(list[0].number, "+8613800138000");
        assert_eq!(violations.violations()[0].field, "customer.phones");
    }
}

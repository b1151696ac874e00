//! Requests as domain values: each request is checked once, here, and every bad field is
//! reported at once. Past this point nothing is re-validated.

use aftercare_platform::error::FieldViolations;
use aftercare_platform::request::{self as toolkit, Etag, Page, SortKey};
use aftercare_proto::aftercare::customers::v1 as pb;
use uuid::Uuid;

use crate::domain::consent::{Decision, Purpose, State};
use crate::domain::customer::{
    self, Address, Change, Channel, LifecycleStage, Profile, Tier, bounded_text,
};
use crate::domain::filter::Condition;
use crate::domain::identity::{IdentityKey, VerificationMethod};
use crate::domain::loyalty::NewEntry;
use crate::domain::merge::Policy as MergePolicy;
use crate::domain::names::{parse_child_name, parse_name};
use crate::domain::organisation::{OrganisationChange, OrganisationSpec};
use crate::domain::query::{
    ConsentField, CustomerField, IdentityField, LoyaltyField, OrganisationField, SegmentField,
    TierRuleField, TimelineField, consent_filter, customer_filter, identity_filter, loyalty_filter,
    organisation_filter, segment_filter, tier_rule_filter, timeline_filter,
};
use crate::domain::segment::{self, SegmentChange, SegmentSpec};
use crate::domain::tier::{self, RuleChange, RuleSpec};
use crate::domain::values::{
    DisplayName, Locale, OrganisationDomain, PersonName, Region, SegmentFilter, TextQuery, TimeZone,
};
use crate::error::{Error, finish};

/// The updatable fields of a customer (`*` stands for all of them).
const CUSTOMER_UPDATABLE: &[&str] = &[
    "display_name",
    "given_name",
    "family_name",
    "locale",
    "time_zone",
    "region",
    "organisation",
    "emails",
    "phones",
    "addresses",
    "tier",
    "tier_locked",
    "lifecycle_stage",
    "attributes",
    "internal_attributes",
];
/// The updatable fields of a tier rule.
const TIER_RULE_UPDATABLE: &[&str] = &[
    "display_name",
    "tier",
    "metric",
    "threshold",
    "window",
    "demote",
    "enabled",
];
/// The updatable fields of an organisation.
const ORGANISATION_UPDATABLE: &[&str] = &["display_name", "domain", "region", "tier", "attributes"];
/// The updatable fields of a segment.
const SEGMENT_UPDATABLE: &[&str] = &["display_name", "description", "filter", "query"];

/// The paths of an update mask, on the platform's rules (`*` for every updatable field,
/// every unknown path named), where single keys of the map fields `maps` may be named too
/// (`attributes.vip_note`). Each path comes back once.
fn mask_paths(
    violations: &mut FieldViolations,
    mask: Option<&prost_types::FieldMask>,
    updatable: &[&str],
    maps: &[&str],
) -> Vec<String> {
    let given = mask.map(|mask| mask.paths.as_slice()).unwrap_or_default();
    let is_key = |path: &str| {
        maps.iter().any(|map| {
            path.strip_prefix(map)
                .is_some_and(|rest| rest.starts_with('.'))
        })
    };
    let (keys, fields): (Vec<String>, Vec<String>) =
        given.iter().cloned().partition(|path| is_key(path));
    let mut paths: Vec<String> = if fields.is_empty() && !keys.is_empty() {
        Vec::new()
    } else {
        let fields = prost_types::FieldMask { paths: fields };
        toolkit::update_paths(violations, Some(&fields), updatable)
            .into_iter()
            .map(str::to_owned)
            .collect()
    };
    for key in keys {
        if !paths.contains(&key) {
            paths.push(key);
        }
    }
    // In the order the client named them (`*` keeps the updatable order).
    paths.sort_by_key(|path| given.iter().position(|p| p == path));
    paths
}

/// The id and integer sort key (a time, a rank) of the previous page's last row, for lists
/// ordered by a number and id.
fn after_int(page: &Page, violations: &mut FieldViolations) -> Option<(i64, String)> {
    let token = page.after.as_ref()?;
    match token.int_key() {
        Some(key) => Some((key, token.id.clone())),
        None => {
            violations.add("page_token", "is not a page token of this method");
            None
        }
    }
}

/// The id and text sort key (a name) of the previous page's last row, for lists ordered by a
/// name and id.
fn after_text(page: &Page, violations: &mut FieldViolations) -> Option<(String, String)> {
    let token = page.after.as_ref()?;
    match token.text_key() {
        Some(key) => Some((key.to_owned(), token.id.clone())),
        None => {
            violations.add("page_token", "is not a page token of this method");
            None
        }
    }
}

/// The id of the previous page's last row, for lists ordered by id alone.
fn after_id(page: &Page, violations: &mut FieldViolations) -> Option<Uuid> {
    let token = page.after.as_ref()?;
    if token.key != SortKey::None {
        violations.add("page_token", "is not a page token of this method");
        return None;
    }
    violations.check(
        "page_token",
        Uuid::parse_str(&token.id).map_err(|_| "is not a page token of this method"),
    )
}

/// `CreateCustomer`.
#[derive(Debug)]
pub struct CreateCustomer {
    pub profile: Profile,
    pub origin_channel: Channel,
    pub request_id: Option<String>,
}

impl TryFrom<pb::CreateCustomerRequest> for CreateCustomer {
    type Error = Error;

    fn try_from(request: pb::CreateCustomerRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let request_id = toolkit::request_id(&mut violations, "request_id", &request.request_id);
        let Some(customer) = request.customer else {
            violations.add("customer", "is required");
            return Err(Error::Invalid(violations));
        };
        let profile = profile(&customer, "customer", &mut violations);
        let origin_channel = match Channel::try_from(customer.origin_channel) {
            Ok(channel) => channel,
            Err(_) => {
                violations.add("customer.origin_channel", "unknown channel");
                Channel::Unspecified
            }
        };
        finish(violations)?;
        let Some(profile) = profile else {
            return Err(Error::invalid("customer.display_name", "is required"));
        };
        Ok(Self {
            profile,
            origin_channel,
            request_id,
        })
    }
}

/// `GetCustomer`.
#[derive(Debug)]
pub struct GetCustomer {
    pub id: Uuid,
    pub resolve_merged: bool,
}

impl TryFrom<pb::GetCustomerRequest> for GetCustomer {
    type Error = Error;

    fn try_from(request: pb::GetCustomerRequest) -> Result<Self, Error> {
        let id =
            parse_name(&request.name, "customers").map_err(|err| Error::invalid("name", err))?;
        Ok(Self {
            id,
            resolve_merged: request.resolve_merged,
        })
    }
}

/// `ListCustomers`.
#[derive(Debug)]
pub struct ListCustomers {
    pub conditions: Vec<Condition<CustomerField>>,
    pub text: Option<(String, Option<String>)>,
    pub show_merged: bool,
    pub page: Page,
    pub before: Option<Uuid>,
}

impl TryFrom<pb::ListCustomersRequest> for ListCustomers {
    type Error = Error;

    fn try_from(request: pb::ListCustomersRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let conditions = violations
            .check("filter", customer_filter(&request.filter))
            .unwrap_or_default();
        let query = request.query.trim();
        let text = violations
            .check("query", segment::text_query(query))
            .flatten();
        let show_merged = if request.show_merged { "1" } else { "0" };
        let page = Page::parse(
            &mut violations,
            request.page_size,
            &request.page_token,
            &[&request.filter, query, show_merged],
        );
        let before = after_id(&page, &mut violations);
        finish(violations)?;
        Ok(Self {
            conditions,
            text,
            show_merged: request.show_merged,
            page,
            before,
        })
    }
}

/// `UpdateCustomer`.
#[derive(Debug)]
pub struct UpdateCustomer {
    pub id: Uuid,
    pub version: i64,
    pub changes: Vec<Change>,
}

impl TryFrom<pb::UpdateCustomerRequest> for UpdateCustomer {
    type Error = Error;

    fn try_from(request: pb::UpdateCustomerRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let Some(customer) = request.customer else {
            violations.add("customer", "is required");
            return Err(Error::Invalid(violations));
        };
        let id = violations.check("customer.name", parse_name(&customer.name, "customers"));
        let version = Etag::parse(&mut violations, "customer.etag", &customer.etag);
        let paths = mask_paths(
            &mut violations,
            request.update_mask.as_ref(),
            CUSTOMER_UPDATABLE,
            &["attributes", "internal_attributes"],
        );
        let changes: Vec<Change> = paths
            .iter()
            .filter_map(|path| change(&customer, path, &mut violations))
            .collect();
        finish(violations)?;
        Ok(Self {
            id: id.unwrap_or_default(),
            version: version.unwrap_or_default(),
            changes,
        })
    }
}

/// The change `path` of an update mask makes, taking its value from `customer`.
fn change(customer: &pb::Customer, path: &str, violations: &mut FieldViolations) -> Option<Change> {
    let field = format!("customer.{path}");
    let change = match path {
        "display_name" => Change::DisplayName(
            violations.check(&field, DisplayName::parse(&customer.display_name))?,
        ),
        "given_name" => {
            Change::GivenName(violations.check(&field, PersonName::parse(&customer.given_name))?)
        }
        "family_name" => {
            Change::FamilyName(violations.check(&field, PersonName::parse(&customer.family_name))?)
        }
        "locale" => Change::Locale(violations.check(&field, Locale::parse(&customer.locale))?),
        "time_zone" => {
            Change::TimeZone(violations.check(&field, TimeZone::parse(&customer.time_zone))?)
        }
        "region" => Change::Region(violations.check(&field, Region::parse(&customer.region))?),
        "organisation" => {
            Change::Organisation(organisation(&customer.organisation, &field, violations)?)
        }
        "emails" => Change::Emails(emails(customer, &field, violations)),
        "phones" => Change::Phones(phones(customer, &field, violations)),
        "addresses" => Change::Addresses(addresses(customer, &field, violations)),
        "tier" => Change::Tier(toolkit::required_enum::<Tier>(
            violations,
            &field,
            customer.tier,
        )?),
        "tier_locked" => Change::TierLocked(customer.tier_locked),
        "lifecycle_stage" => Change::LifecycleStage(toolkit::required_enum::<LifecycleStage>(
            violations,
            &field,
            customer.lifecycle_stage,
        )?),
        "attributes" => Change::Attributes(customer::attributes(
            &customer.attributes,
            &field,
            violations,
        )),
        "internal_attributes" => Change::InternalAttributes(customer::attributes(
            &customer.internal_attributes,
            &field,
            violations,
        )),
        _ => {
            if let Some(key) = path.strip_prefix("attributes.") {
                let (key, value) = map_key(&customer.attributes, key, &field, violations)?;
                Change::Attribute(key, value)
            } else if let Some(key) = path.strip_prefix("internal_attributes.") {
                let (key, value) = map_key(&customer.internal_attributes, key, &field, violations)?;
                Change::InternalAttribute(key, value)
            } else {
                violations.add(
                    "update_mask",
                    format!("`{path}` cannot be updated (unknown, output-only or immutable)"),
                );
                return None;
            }
        }
    };
    Some(change)
}

fn map_key(
    map: &std::collections::HashMap<String, String>,
    key: &str,
    field: &str,
    violations: &mut FieldViolations,
) -> Option<(String, Option<String>)> {
    violations.check(field, customer::attribute_key(key))?;
    let value = map.get(key).cloned();
    if let Some(value) = &value {
        violations.check(field, customer::attribute_value(value))?;
    }
    Some((key.to_owned(), value))
}

/// `DeleteCustomer`.
#[derive(Debug)]
pub struct DeleteCustomer {
    pub id: Uuid,
    pub version: i64,
}

impl TryFrom<pb::DeleteCustomerRequest> for DeleteCustomer {
    type Error = Error;

    fn try_from(request: pb::DeleteCustomerRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let id = violations.check("name", parse_name(&request.name, "customers"));
        let version = Etag::parse(&mut violations, "etag", &request.etag);
        finish(violations)?;
        Ok(Self {
            id: id.unwrap_or_default(),
            version: version.unwrap_or_default(),
        })
    }
}

/// `ResolveIdentity`.
#[derive(Debug)]
pub struct ResolveIdentity {
    pub key: IdentityKey,
    /// The profile of the customer to create: the hints, with the handle as display name
    /// when none is hinted.
    pub profile: Profile,
    pub lookup_only: bool,
}

impl TryFrom<pb::ResolveIdentityRequest> for ResolveIdentity {
    type Error = Error;

    fn try_from(request: pb::ResolveIdentityRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let identity = request.identity.unwrap_or_default();
        let key = IdentityKey::parse(
            identity.channel,
            &identity.handle,
            &identity.provider,
            "identity",
            &mut violations,
        );
        let hints = request.hints.unwrap_or_default();
        // A hinted name may be empty: the handle names the customer then.
        let hinted_name = if hints.display_name.trim().is_empty() {
            None
        } else {
            violations.check(
                "hints.display_name",
                DisplayName::parse(&hints.display_name),
            )
        };
        let given_name = violations.check("hints.given_name", PersonName::parse(&hints.given_name));
        let family_name =
            violations.check("hints.family_name", PersonName::parse(&hints.family_name));
        let locale = violations.check("hints.locale", Locale::parse(&hints.locale));
        let time_zone = violations.check("hints.time_zone", TimeZone::parse(&hints.time_zone));
        let region = violations.check("hints.region", Region::parse(&hints.region));
        let organisation =
            organisation(&hints.organisation, "hints.organisation", &mut violations).flatten();
        let lifecycle_stage = toolkit::enum_value(
            &mut violations,
            "hints.lifecycle_stage",
            hints.lifecycle_stage,
        )
        .unwrap_or(LifecycleStage::New);
        finish(violations)?;
        let Some(key) = key else {
            return Err(Error::invalid("identity", "is required"));
        };
        let mut profile =
            Profile::named(hinted_name.unwrap_or_else(|| DisplayName::from_handle(&key.handle)));
        profile.given_name = given_name.unwrap_or_default();
        profile.family_name = family_name.unwrap_or_default();
        profile.locale = locale.unwrap_or_default();
        profile.time_zone = time_zone.unwrap_or_default();
        profile.region = region.unwrap_or_default();
        profile.organisation = organisation;
        profile.lifecycle_stage = lifecycle_stage;
        Ok(Self {
            key,
            profile,
            lookup_only: request.lookup_only,
        })
    }
}

/// `AddIdentity`.
#[derive(Debug)]
pub struct AddIdentity {
    pub customer: Uuid,
    pub key: IdentityKey,
    pub request_id: Option<String>,
}

impl TryFrom<pb::AddIdentityRequest> for AddIdentity {
    type Error = Error;

    fn try_from(request: pb::AddIdentityRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let customer = violations.check("parent", parse_name(&request.parent, "customers"));
        let request_id = toolkit::request_id(&mut violations, "request_id", &request.request_id);
        let key = match request.identity {
            Some(identity) => IdentityKey::parse(
                identity.channel,
                &identity.handle,
                &identity.provider,
                "identity",
                &mut violations,
            ),
            None => {
                violations.add("identity", "is required");
                None
            }
        };
        finish(violations)?;
        match (customer, key) {
            (Some(customer), Some(key)) => Ok(Self {
                customer,
                key,
                request_id,
            }),
            _ => Err(Error::invalid("identity", "is required")),
        }
    }
}

/// An identity named by `customers/{customer}/identities/{identity}`.
#[derive(Debug, Clone, Copy)]
pub struct IdentityRef {
    pub customer: Uuid,
    pub id: Uuid,
}

impl IdentityRef {
    fn parse(name: &str, violations: &mut FieldViolations) -> Option<Self> {
        violations
            .check("name", parse_child_name(name, "customers", "identities"))
            .map(|(customer, id)| Self { customer, id })
    }
}

/// `VerifyIdentity`.
#[derive(Debug)]
pub struct VerifyIdentity {
    pub identity: IdentityRef,
    pub method: VerificationMethod,
}

impl TryFrom<pb::VerifyIdentityRequest> for VerifyIdentity {
    type Error = Error;

    fn try_from(request: pb::VerifyIdentityRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let identity = IdentityRef::parse(&request.name, &mut violations);
        let method =
            toolkit::required_enum::<VerificationMethod>(&mut violations, "method", request.method);
        finish(violations)?;
        match (identity, method) {
            (Some(identity), Some(method)) => Ok(Self { identity, method }),
            _ => Err(Error::invalid("name", "is required")),
        }
    }
}

/// `RemoveIdentity`.
impl TryFrom<pb::RemoveIdentityRequest> for IdentityRef {
    type Error = Error;

    fn try_from(request: pb::RemoveIdentityRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let identity = IdentityRef::parse(&request.name, &mut violations);
        finish(violations)?;
        identity.ok_or_else(|| Error::invalid("name", "is required"))
    }
}

/// `ListIdentities`.
#[derive(Debug)]
pub struct ListIdentities {
    pub customer: Uuid,
    pub conditions: Vec<Condition<IdentityField>>,
    pub page: Page,
    pub after: Option<Uuid>,
}

impl TryFrom<pb::ListIdentitiesRequest> for ListIdentities {
    type Error = Error;

    fn try_from(request: pb::ListIdentitiesRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let customer = violations.check("parent", parse_name(&request.parent, "customers"));
        let conditions = violations
            .check("filter", identity_filter(&request.filter))
            .unwrap_or_default();
        let page = Page::parse(
            &mut violations,
            request.page_size,
            &request.page_token,
            &[&request.parent, &request.filter],
        );
        let after = after_id(&page, &mut violations);
        finish(violations)?;
        Ok(Self {
            customer: customer.unwrap_or_default(),
            conditions,
            page,
            after,
        })
    }
}

/// The profile fields of `customer`, reported under `path`: `None` when the display name is
/// bad (every bad field is in `violations`).
fn profile(
    customer: &pb::Customer,
    path: &str,
    violations: &mut FieldViolations,
) -> Option<Profile> {
    let at = |field: &str| format!("{path}.{field}");
    let display_name = violations.check(
        &at("display_name"),
        DisplayName::parse(&customer.display_name),
    );
    let given_name = violations.check(&at("given_name"), PersonName::parse(&customer.given_name));
    let family_name =
        violations.check(&at("family_name"), PersonName::parse(&customer.family_name));
    let locale = violations.check(&at("locale"), Locale::parse(&customer.locale));
    let time_zone = violations.check(&at("time_zone"), TimeZone::parse(&customer.time_zone));
    let region = violations.check(&at("region"), Region::parse(&customer.region));
    let emails = emails(customer, &at("emails"), violations);
    let phones = phones(customer, &at("phones"), violations);
    let addresses = addresses(customer, &at("addresses"), violations);
    let organisation =
        organisation(&customer.organisation, &at("organisation"), violations).flatten();
    let tier =
        toolkit::enum_value(violations, &at("tier"), customer.tier).unwrap_or(Tier::Standard);
    let lifecycle_stage =
        toolkit::enum_value(violations, &at("lifecycle_stage"), customer.lifecycle_stage)
            .unwrap_or(LifecycleStage::New);
    let attributes = customer::attributes(&customer.attributes, &at("attributes"), violations);
    let internal_attributes = customer::attributes(
        &customer.internal_attributes,
        &at("internal_attributes"),
        violations,
    );
    Some(Profile {
        display_name: display_name?,
        given_name: given_name.unwrap_or_default(),
        family_name: family_name.unwrap_or_default(),
        locale: locale.unwrap_or_default(),
        time_zone: time_zone.unwrap_or_default(),
        region: region.unwrap_or_default(),
        emails,
        phones,
        addresses,
        organisation,
        tier,
        tier_locked: customer.tier_locked,
        lifecycle_stage,
        attributes,
        internal_attributes,
    })
}

fn emails(
    customer: &pb::Customer,
    path: &str,
    violations: &mut FieldViolations,
) -> Vec<customer::Email> {
    customer::emails(
        customer
            .emails
            .iter()
            .map(|e| (e.address.clone(), e.label.clone(), e.primary)),
        path,
        violations,
    )
}

fn phones(
    customer: &pb::Customer,
    path: &str,
    violations: &mut FieldViolations,
) -> Vec<customer::Phone> {
    customer::phones(
        customer
            .phones
            .iter()
            .map(|p| (p.number.clone(), p.label.clone(), p.primary)),
        path,
        violations,
    )
}

fn addresses(
    customer: &pb::Customer,
    path: &str,
    violations: &mut FieldViolations,
) -> Vec<Address> {
    let raw = customer
        .addresses
        .iter()
        .map(|a| Address {
            label: a.label.clone(),
            recipient: a.recipient.clone(),
            address_lines: a.address_lines.clone(),
            locality: a.locality.clone(),
            administrative_area: a.administrative_area.clone(),
            postal_code: a.postal_code.clone(),
            country_code: a.country_code.clone(),
            primary: a.primary,
        })
        .collect();
    customer::addresses(raw, path, violations)
}

/// `Some(None)` for empty, `Some(Some(id))` for a valid organisation name, `None` (with a
/// violation) otherwise.
fn organisation(name: &str, field: &str, violations: &mut FieldViolations) -> Option<Option<Uuid>> {
    if name.is_empty() {
        return Some(None);
    }
    violations
        .check(field, parse_name(name, "organisations"))
        .map(Some)
}

/// `MergeCustomers`.
#[derive(Debug)]
pub struct MergeCustomers {
    pub survivor: Uuid,
    pub merged: Uuid,
    pub survivor_version: i64,
    pub merged_version: i64,
    pub policy: MergePolicy,
    pub request_id: Option<String>,
}

impl TryFrom<pb::MergeCustomersRequest> for MergeCustomers {
    type Error = Error;

    fn try_from(request: pb::MergeCustomersRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let survivor = violations.check("survivor", parse_name(&request.survivor, "customers"));
        let merged = violations.check("merged", parse_name(&request.merged, "customers"));
        if survivor.is_some() && survivor == merged {
            violations.add("merged", "must differ from `survivor`");
        }
        let survivor_version =
            Etag::parse(&mut violations, "survivor_etag", &request.survivor_etag);
        let merged_version = Etag::parse(&mut violations, "merged_etag", &request.merged_etag);
        let policy = toolkit::enum_value(
            &mut violations,
            "attribute_policy",
            request.attribute_policy,
        )
        .unwrap_or(MergePolicy::PreferSurvivor);
        let request_id = toolkit::request_id(&mut violations, "request_id", &request.request_id);
        finish(violations)?;
        Ok(Self {
            survivor: survivor.unwrap_or_default(),
            merged: merged.unwrap_or_default(),
            survivor_version: survivor_version.unwrap_or_default(),
            merged_version: merged_version.unwrap_or_default(),
            policy,
            request_id,
        })
    }
}

/// `ListTimelineEntries`.
#[derive(Debug)]
pub struct ListTimeline {
    pub customer: Uuid,
    pub conditions: Vec<Condition<TimelineField>>,
    pub page: Page,
    pub before: Option<(i64, String)>,
}

impl TryFrom<pb::ListTimelineEntriesRequest> for ListTimeline {
    type Error = Error;

    fn try_from(request: pb::ListTimelineEntriesRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let customer = violations.check("parent", parse_name(&request.parent, "customers"));
        let conditions = violations
            .check("filter", timeline_filter(&request.filter))
            .unwrap_or_default();
        let page = Page::parse(
            &mut violations,
            request.page_size,
            &request.page_token,
            &[&request.parent, &request.filter],
        );
        let before = after_int(&page, &mut violations);
        finish(violations)?;
        Ok(Self {
            customer: customer.unwrap_or_default(),
            conditions,
            page,
            before,
        })
    }
}

/// `RecordLoyaltyEntry`.
#[derive(Debug)]
pub struct RecordLoyalty {
    pub customer: Uuid,
    pub entry: NewEntry,
    pub request_id: Option<String>,
}

impl TryFrom<pb::RecordLoyaltyEntryRequest> for RecordLoyalty {
    type Error = Error;

    fn try_from(request: pb::RecordLoyaltyEntryRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let customer = violations.check("parent", parse_name(&request.parent, "customers"));
        let request_id = toolkit::request_id(&mut violations, "request_id", &request.request_id);
        let entry = match request.entry {
            Some(e) => NewEntry::parse(
                e.kind,
                e.points,
                &e.reason,
                &e.reference,
                e.spend_minor,
                "entry",
                &mut violations,
            ),
            None => {
                violations.add("entry", "is required");
                None
            }
        };
        finish(violations)?;
        match (customer, entry) {
            (Some(customer), Some(entry)) => Ok(Self {
                customer,
                entry,
                request_id,
            }),
            _ => Err(Error::invalid("entry", "is required")),
        }
    }
}

/// `ListLoyaltyEntries`.
#[derive(Debug)]
pub struct ListLoyalty {
    pub customer: Uuid,
    pub conditions: Vec<Condition<LoyaltyField>>,
    pub page: Page,
    pub before: Option<(i64, String)>,
}

impl TryFrom<pb::ListLoyaltyEntriesRequest> for ListLoyalty {
    type Error = Error;

    fn try_from(request: pb::ListLoyaltyEntriesRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let customer = violations.check("parent", parse_name(&request.parent, "customers"));
        let conditions = violations
            .check("filter", loyalty_filter(&request.filter))
            .unwrap_or_default();
        let page = Page::parse(
            &mut violations,
            request.page_size,
            &request.page_token,
            &[&request.parent, &request.filter],
        );
        let before = after_int(&page, &mut violations);
        finish(violations)?;
        Ok(Self {
            customer: customer.unwrap_or_default(),
            conditions,
            page,
            before,
        })
    }
}

/// `GetLoyaltyBalance`: the customer of `customers/{customer}/loyaltyBalance`.
#[derive(Debug)]
pub struct GetBalance {
    pub customer: Uuid,
}

impl TryFrom<pb::GetLoyaltyBalanceRequest> for GetBalance {
    type Error = Error;

    fn try_from(request: pb::GetLoyaltyBalanceRequest) -> Result<Self, Error> {
        let customer = request
            .name
            .strip_suffix("/loyaltyBalance")
            .ok_or_else(|| "must be `customers/{id}/loyaltyBalance`".to_owned())
            .and_then(|parent| parse_name(parent, "customers"))
            .map_err(|err| Error::invalid("name", err))?;
        Ok(Self { customer })
    }
}

/// `SetConsent`.
#[derive(Debug)]
pub struct SetConsent {
    pub customer: Uuid,
    pub decision: Decision,
}

impl TryFrom<pb::SetConsentRequest> for SetConsent {
    type Error = Error;

    fn try_from(request: pb::SetConsentRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let customer = violations.check("parent", parse_name(&request.parent, "customers"));
        let channel =
            toolkit::required_enum::<Channel>(&mut violations, "channel", request.channel);
        let purpose =
            toolkit::required_enum::<Purpose>(&mut violations, "purpose", request.purpose);
        let state = toolkit::required_enum::<State>(&mut violations, "state", request.state);
        let source = match bounded_text(&request.source, 200) {
            Ok(source) if source.is_empty() => {
                violations.add("source", "is required");
                None
            }
            Ok(source) => Some(source),
            Err(err) => {
                violations.add("source", err);
                None
            }
        };
        let decide_time = match &request.decide_time {
            None => Some(None),
            Some(time) => violations
                .check(
                    "decide_time",
                    aftercare_platform::time::from_timestamp(time).ok_or("is not a valid time"),
                )
                .map(Some),
        };
        finish(violations)?;
        match (customer, channel, purpose, state, source, decide_time) {
            (
                Some(customer),
                Some(channel),
                Some(purpose),
                Some(state),
                Some(source),
                Some(decide_time),
            ) => Ok(Self {
                customer,
                decision: Decision {
                    channel,
                    purpose,
                    state,
                    source,
                    decide_time,
                },
            }),
            _ => Err(Error::invalid("parent", "is required")),
        }
    }
}

/// `ListConsents`.
#[derive(Debug)]
pub struct ListConsents {
    pub customer: Uuid,
    pub conditions: Vec<Condition<ConsentField>>,
    pub page: Page,
    pub after: Option<i64>,
}

impl TryFrom<pb::ListConsentsRequest> for ListConsents {
    type Error = Error;

    fn try_from(request: pb::ListConsentsRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let customer = violations.check("parent", parse_name(&request.parent, "customers"));
        let conditions = violations
            .check("filter", consent_filter(&request.filter))
            .unwrap_or_default();
        let page = Page::parse(
            &mut violations,
            request.page_size,
            &request.page_token,
            &[&request.parent, &request.filter],
        );
        let after = after_int(&page, &mut violations).map(|(rank, _)| rank);
        finish(violations)?;
        Ok(Self {
            customer: customer.unwrap_or_default(),
            conditions,
            page,
            after,
        })
    }
}

/// `ExportCustomerData`.
#[derive(Debug)]
pub struct ExportData {
    pub customer: Uuid,
}

impl TryFrom<pb::ExportCustomerDataRequest> for ExportData {
    type Error = Error;

    fn try_from(request: pb::ExportCustomerDataRequest) -> Result<Self, Error> {
        let customer =
            parse_name(&request.name, "customers").map_err(|err| Error::invalid("name", err))?;
        Ok(Self { customer })
    }
}

/// `EraseCustomer`.
#[derive(Debug)]
pub struct EraseCustomer {
    pub customer: Uuid,
    pub version: i64,
    pub reason: String,
    pub request_id: Option<String>,
}

impl TryFrom<pb::EraseCustomerRequest> for EraseCustomer {
    type Error = Error;

    fn try_from(request: pb::EraseCustomerRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let customer = violations.check("name", parse_name(&request.name, "customers"));
        let version = Etag::parse(&mut violations, "etag", &request.etag);
        let reason = match bounded_text(&request.reason, 500) {
            Ok(reason) if reason.is_empty() => {
                violations.add("reason", "is required");
                None
            }
            Ok(reason) => Some(reason),
            Err(err) => {
                violations.add("reason", err);
                None
            }
        };
        let request_id = toolkit::request_id(&mut violations, "request_id", &request.request_id);
        finish(violations)?;
        Ok(Self {
            customer: customer.unwrap_or_default(),
            version: version.unwrap_or_default(),
            reason: reason.unwrap_or_default(),
            request_id,
        })
    }
}

/// A protobuf duration in microseconds, or why it is not one.
fn duration_micros(duration: &prost_types::Duration) -> Result<i64, &'static str> {
    duration
        .seconds
        .checked_mul(1_000_000)
        .and_then(|micros| micros.checked_add(i64::from(duration.nanos) / 1_000))
        .ok_or("is out of range")
}

/// The rule's window, checked.
fn rule_window(
    rule: &pb::TierRule,
    field: &str,
    violations: &mut FieldViolations,
) -> Option<Option<i64>> {
    let micros = match &rule.window {
        None => None,
        Some(duration) => Some(violations.check(field, duration_micros(duration))?),
    };
    tier::window(micros, field, violations)
}

/// `CreateTierRule`.
#[derive(Debug)]
pub struct CreateTierRule {
    pub spec: RuleSpec,
    pub request_id: Option<String>,
}

impl TryFrom<pb::CreateTierRuleRequest> for CreateTierRule {
    type Error = Error;

    fn try_from(request: pb::CreateTierRuleRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let request_id = toolkit::request_id(&mut violations, "request_id", &request.request_id);
        let Some(rule) = request.tier_rule else {
            violations.add("tier_rule", "is required");
            return Err(Error::Invalid(violations));
        };
        let display_name = tier::rule_name(
            &rule.display_name,
            "tier_rule.display_name",
            &mut violations,
        );
        let granted = tier::granted_tier(rule.tier, "tier_rule.tier", &mut violations);
        let metric = tier::metric(rule.metric, "tier_rule.metric", &mut violations);
        let threshold = tier::threshold(rule.threshold, "tier_rule.threshold", &mut violations);
        let window = rule_window(&rule, "tier_rule.window", &mut violations);
        finish(violations)?;
        match (display_name, granted, metric, threshold, window) {
            (Some(display_name), Some(tier), Some(metric), Some(threshold), Some(window)) => {
                Ok(Self {
                    spec: RuleSpec {
                        display_name,
                        tier,
                        metric,
                        threshold,
                        window,
                        demote: rule.demote,
                        enabled: rule.enabled,
                    },
                    request_id,
                })
            }
            _ => Err(Error::invalid("tier_rule", "is required")),
        }
    }
}

/// `GetTierRule`.
#[derive(Debug)]
pub struct GetTierRule {
    pub id: Uuid,
}

impl TryFrom<pb::GetTierRuleRequest> for GetTierRule {
    type Error = Error;

    fn try_from(request: pb::GetTierRuleRequest) -> Result<Self, Error> {
        let id =
            parse_name(&request.name, "tierRules").map_err(|err| Error::invalid("name", err))?;
        Ok(Self { id })
    }
}

/// `ListTierRules`.
#[derive(Debug)]
pub struct ListTierRules {
    pub conditions: Vec<Condition<TierRuleField>>,
    pub page: Page,
    pub after: Option<(i64, String)>,
}

impl TryFrom<pb::ListTierRulesRequest> for ListTierRules {
    type Error = Error;

    fn try_from(request: pb::ListTierRulesRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let conditions = violations
            .check("filter", tier_rule_filter(&request.filter))
            .unwrap_or_default();
        let page = Page::parse(
            &mut violations,
            request.page_size,
            &request.page_token,
            &[&request.filter],
        );
        let after = after_int(&page, &mut violations);
        finish(violations)?;
        Ok(Self {
            conditions,
            page,
            after,
        })
    }
}

/// `UpdateTierRule`.
#[derive(Debug)]
pub struct UpdateTierRule {
    pub id: Uuid,
    pub version: i64,
    pub changes: Vec<RuleChange>,
}

impl TryFrom<pb::UpdateTierRuleRequest> for UpdateTierRule {
    type Error = Error;

    fn try_from(request: pb::UpdateTierRuleRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let Some(rule) = request.tier_rule else {
            violations.add("tier_rule", "is required");
            return Err(Error::Invalid(violations));
        };
        let id = violations.check("tier_rule.name", parse_name(&rule.name, "tierRules"));
        let version = Etag::parse(&mut violations, "tier_rule.etag", &rule.etag);
        let paths = mask_paths(
            &mut violations,
            request.update_mask.as_ref(),
            TIER_RULE_UPDATABLE,
            &[],
        );
        let mut changes = Vec::new();
        for path in &paths {
            let field = format!("tier_rule.{path}");
            let change = match path.as_str() {
                "display_name" => tier::rule_name(&rule.display_name, &field, &mut violations)
                    .map(RuleChange::DisplayName),
                "tier" => {
                    tier::granted_tier(rule.tier, &field, &mut violations).map(RuleChange::Tier)
                }
                "metric" => {
                    tier::metric(rule.metric, &field, &mut violations).map(RuleChange::Metric)
                }
                "threshold" => tier::threshold(rule.threshold, &field, &mut violations)
                    .map(RuleChange::Threshold),
                "window" => rule_window(&rule, &field, &mut violations).map(RuleChange::Window),
                "demote" => Some(RuleChange::Demote(rule.demote)),
                "enabled" => Some(RuleChange::Enabled(rule.enabled)),
                // Unknown paths were named by `mask_paths`.
                _ => None,
            };
            changes.extend(change);
        }
        finish(violations)?;
        Ok(Self {
            id: id.unwrap_or_default(),
            version: version.unwrap_or_default(),
            changes,
        })
    }
}

/// `DeleteTierRule`.
#[derive(Debug)]
pub struct DeleteTierRule {
    pub id: Uuid,
    pub version: i64,
}

impl TryFrom<pb::DeleteTierRuleRequest> for DeleteTierRule {
    type Error = Error;

    fn try_from(request: pb::DeleteTierRuleRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let id = violations.check("name", parse_name(&request.name, "tierRules"));
        let version = Etag::parse(&mut violations, "etag", &request.etag);
        finish(violations)?;
        Ok(Self {
            id: id.unwrap_or_default(),
            version: version.unwrap_or_default(),
        })
    }
}

/// `EvaluateTier`.
#[derive(Debug)]
pub struct EvaluateTier {
    pub customer: Uuid,
    pub validate_only: bool,
}

impl TryFrom<pb::EvaluateTierRequest> for EvaluateTier {
    type Error = Error;

    fn try_from(request: pb::EvaluateTierRequest) -> Result<Self, Error> {
        let customer =
            parse_name(&request.name, "customers").map_err(|err| Error::invalid("name", err))?;
        Ok(Self {
            customer,
            validate_only: request.validate_only,
        })
    }
}

/// `CreateOrganisation`.
#[derive(Debug)]
pub struct CreateOrganisation {
    pub spec: OrganisationSpec,
    pub request_id: Option<String>,
}

impl TryFrom<pb::CreateOrganisationRequest> for CreateOrganisation {
    type Error = Error;

    fn try_from(request: pb::CreateOrganisationRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let request_id = toolkit::request_id(&mut violations, "request_id", &request.request_id);
        let Some(org) = request.organisation else {
            violations.add("organisation", "is required");
            return Err(Error::Invalid(violations));
        };
        let display_name = violations.check(
            "organisation.display_name",
            DisplayName::parse(&org.display_name),
        );
        let domain = violations.check(
            "organisation.domain",
            OrganisationDomain::parse(&org.domain),
        );
        let region = violations.check("organisation.region", Region::parse(&org.region));
        let tier = toolkit::enum_value(&mut violations, "organisation.tier", org.tier)
            .unwrap_or(Tier::Standard);
        let attributes =
            customer::attributes(&org.attributes, "organisation.attributes", &mut violations);
        finish(violations)?;
        let Some(display_name) = display_name else {
            return Err(Error::invalid("organisation.display_name", "is required"));
        };
        Ok(Self {
            spec: OrganisationSpec {
                display_name,
                domain: domain.flatten(),
                region: region.unwrap_or_default(),
                tier,
                attributes,
            },
            request_id,
        })
    }
}

/// `GetOrganisation`.
#[derive(Debug)]
pub struct GetOrganisation {
    pub id: Uuid,
}

impl TryFrom<pb::GetOrganisationRequest> for GetOrganisation {
    type Error = Error;

    fn try_from(request: pb::GetOrganisationRequest) -> Result<Self, Error> {
        let id = parse_name(&request.name, "organisations")
            .map_err(|err| Error::invalid("name", err))?;
        Ok(Self { id })
    }
}

/// `ListOrganisations`.
#[derive(Debug)]
pub struct ListOrganisations {
    pub conditions: Vec<Condition<OrganisationField>>,
    pub text: Option<String>,
    pub page: Page,
    pub after: Option<(String, String)>,
}

impl TryFrom<pb::ListOrganisationsRequest> for ListOrganisations {
    type Error = Error;

    fn try_from(request: pb::ListOrganisationsRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let conditions = violations
            .check("filter", organisation_filter(&request.filter))
            .unwrap_or_default();
        let query = request.query.trim();
        let text = if query.is_empty() {
            None
        } else if !(2..=200).contains(&query.chars().count()) {
            violations.add("query", "must be 2 to 200 characters");
            None
        } else {
            Some(query.to_lowercase())
        };
        let page = Page::parse(
            &mut violations,
            request.page_size,
            &request.page_token,
            &[&request.filter, query],
        );
        let after = after_text(&page, &mut violations);
        finish(violations)?;
        Ok(Self {
            conditions,
            text,
            page,
            after,
        })
    }
}

/// `UpdateOrganisation`.
#[derive(Debug)]
pub struct UpdateOrganisation {
    pub id: Uuid,
    pub version: i64,
    pub changes: Vec<OrganisationChange>,
}

impl TryFrom<pb::UpdateOrganisationRequest> for UpdateOrganisation {
    type Error = Error;

    fn try_from(request: pb::UpdateOrganisationRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let Some(org) = request.organisation else {
            violations.add("organisation", "is required");
            return Err(Error::Invalid(violations));
        };
        let id = violations.check("organisation.name", parse_name(&org.name, "organisations"));
        let version = Etag::parse(&mut violations, "organisation.etag", &org.etag);
        let paths = mask_paths(
            &mut violations,
            request.update_mask.as_ref(),
            ORGANISATION_UPDATABLE,
            &["attributes"],
        );
        let mut changes = Vec::new();
        for path in &paths {
            let field = format!("organisation.{path}");
            let change = match path.as_str() {
                "display_name" => violations
                    .check(&field, DisplayName::parse(&org.display_name))
                    .map(OrganisationChange::DisplayName),
                "domain" => violations
                    .check(&field, OrganisationDomain::parse(&org.domain))
                    .map(OrganisationChange::Domain),
                "region" => violations
                    .check(&field, Region::parse(&org.region))
                    .map(OrganisationChange::Region),
                "tier" => toolkit::required_enum::<Tier>(&mut violations, &field, org.tier)
                    .map(OrganisationChange::Tier),
                "attributes" => Some(OrganisationChange::Attributes(customer::attributes(
                    &org.attributes,
                    &field,
                    &mut violations,
                ))),
                other => match other.strip_prefix("attributes.") {
                    Some(key) => map_key(&org.attributes, key, &field, &mut violations)
                        .map(|(key, value)| OrganisationChange::Attribute(key, value)),
                    // Unknown paths were named by `mask_paths`.
                    None => None,
                },
            };
            changes.extend(change);
        }
        finish(violations)?;
        Ok(Self {
            id: id.unwrap_or_default(),
            version: version.unwrap_or_default(),
            changes,
        })
    }
}

/// `DeleteOrganisation`.
#[derive(Debug)]
pub struct DeleteOrganisation {
    pub id: Uuid,
    pub version: i64,
}

impl TryFrom<pb::DeleteOrganisationRequest> for DeleteOrganisation {
    type Error = Error;

    fn try_from(request: pb::DeleteOrganisationRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let id = violations.check("name", parse_name(&request.name, "organisations"));
        let version = Etag::parse(&mut violations, "etag", &request.etag);
        finish(violations)?;
        Ok(Self {
            id: id.unwrap_or_default(),
            version: version.unwrap_or_default(),
        })
    }
}

/// `CreateSegment`.
#[derive(Debug)]
pub struct CreateSegment {
    pub spec: SegmentSpec,
    pub request_id: Option<String>,
}

impl TryFrom<pb::CreateSegmentRequest> for CreateSegment {
    type Error = Error;

    fn try_from(request: pb::CreateSegmentRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let request_id = toolkit::request_id(&mut violations, "request_id", &request.request_id);
        let Some(seg) = request.segment else {
            violations.add("segment", "is required");
            return Err(Error::Invalid(violations));
        };
        let display_name = violations.check(
            "segment.display_name",
            DisplayName::parse(&seg.display_name),
        );
        let description = violations.check(
            "segment.description",
            segment::Description::parse(&seg.description),
        );
        let filter = violations.check("segment.filter", SegmentFilter::parse(&seg.filter));
        let query = violations.check("segment.query", TextQuery::parse(&seg.query));
        finish(violations)?;
        let Some(display_name) = display_name else {
            return Err(Error::invalid("segment.display_name", "is required"));
        };
        Ok(Self {
            spec: SegmentSpec {
                display_name,
                description: description.unwrap_or_default(),
                filter: filter.unwrap_or_default(),
                query: query.unwrap_or_default(),
            },
            request_id,
        })
    }
}

/// A segment named by `segments/{segment}` (`GetSegment`, `GetSegmentCount`).
#[derive(Debug)]
pub struct SegmentRef {
    pub id: Uuid,
}

impl TryFrom<pb::GetSegmentRequest> for SegmentRef {
    type Error = Error;

    fn try_from(request: pb::GetSegmentRequest) -> Result<Self, Error> {
        let id =
            parse_name(&request.name, "segments").map_err(|err| Error::invalid("name", err))?;
        Ok(Self { id })
    }
}

/// `GetSegmentCount`.
#[derive(Debug)]
pub struct CountSegment {
    pub id: Uuid,
}

impl TryFrom<pb::GetSegmentCountRequest> for CountSegment {
    type Error = Error;

    fn try_from(request: pb::GetSegmentCountRequest) -> Result<Self, Error> {
        let id =
            parse_name(&request.name, "segments").map_err(|err| Error::invalid("name", err))?;
        Ok(Self { id })
    }
}

/// `ListSegments`.
#[derive(Debug)]
pub struct ListSegments {
    pub conditions: Vec<Condition<SegmentField>>,
    pub page: Page,
    pub after: Option<(String, String)>,
}

impl TryFrom<pb::ListSegmentsRequest> for ListSegments {
    type Error = Error;

    fn try_from(request: pb::ListSegmentsRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let conditions = violations
            .check("filter", segment_filter(&request.filter))
            .unwrap_or_default();
        let page = Page::parse(
            &mut violations,
            request.page_size,
            &request.page_token,
            &[&request.filter],
        );
        let after = after_text(&page, &mut violations);
        finish(violations)?;
        Ok(Self {
            conditions,
            page,
            after,
        })
    }
}

/// `UpdateSegment`.
#[derive(Debug)]
pub struct UpdateSegment {
    pub id: Uuid,
    pub version: i64,
    pub changes: Vec<SegmentChange>,
}

impl TryFrom<pb::UpdateSegmentRequest> for UpdateSegment {
    type Error = Error;

    fn try_from(request: pb::UpdateSegmentRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let Some(seg) = request.segment else {
            violations.add("segment", "is required");
            return Err(Error::Invalid(violations));
        };
        let id = violations.check("segment.name", parse_name(&seg.name, "segments"));
        let version = Etag::parse(&mut violations, "segment.etag", &seg.etag);
        let paths = mask_paths(
            &mut violations,
            request.update_mask.as_ref(),
            SEGMENT_UPDATABLE,
            &[],
        );
        let mut changes = Vec::new();
        for path in &paths {
            let field = format!("segment.{path}");
            let change = match path.as_str() {
                "display_name" => violations
                    .check(&field, DisplayName::parse(&seg.display_name))
                    .map(SegmentChange::DisplayName),
                "description" => violations
                    .check(&field, segment::Description::parse(&seg.description))
                    .map(SegmentChange::Description),
                "filter" => violations
                    .check(&field, SegmentFilter::parse(&seg.filter))
                    .map(SegmentChange::Filter),
                "query" => violations
                    .check(&field, TextQuery::parse(&seg.query))
                    .map(SegmentChange::Query),
                // Unknown paths were named by `mask_paths`.
                _ => None,
            };
            changes.extend(change);
        }
        finish(violations)?;
        Ok(Self {
            id: id.unwrap_or_default(),
            version: version.unwrap_or_default(),
            changes,
        })
    }
}

/// `DeleteSegment`.
#[derive(Debug)]
pub struct DeleteSegment {
    pub id: Uuid,
    pub version: i64,
}

impl TryFrom<pb::DeleteSegmentRequest> for DeleteSegment {
    type Error = Error;

    fn try_from(request: pb::DeleteSegmentRequest) -> Result<Self, Error> {
        let mut violations = FieldViolations::new();
        let id = violations.check("name", parse_name(&request.name, "segments"));
        let version = Etag::parse(&mut violations, "etag", &request.etag);
        finish(violations)?;
        Ok(Self {
            id: id.unwrap_or_default(),
            version: version.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use aftercare_platform::request::PageToken;
    use prost_types::FieldMask;

    use super::*;

    fn fields(error: Error) -> Vec<String> {
        match error {
            Error::Invalid(violations) => violations
                .violations()
                .iter()
                .map(|v| v.field.clone())
                .collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    fn mask(paths: &[&str]) -> Option<FieldMask> {
        Some(FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        })
    }

    fn customer_name() -> String {
        format!("customers/{}", Uuid::now_v7())
    }

    fn update(customer: pb::Customer, paths: &[&str]) -> Result<UpdateCustomer, Error> {
        UpdateCustomer::try_from(pb::UpdateCustomerRequest {
            customer: Some(customer),
            update_mask: mask(paths),
        })
    }

    #[test]
    fn a_create_names_every_bad_field_at_once() {
        let err = CreateCustomer::try_from(pb::CreateCustomerRequest {
            customer: Some(pb::Customer {
                display_name: " ".into(),
                locale: "english please".into(),
                time_zone: "Mars/Olympus".into(),
                ..Default::default()
            }),
            request_id: "not-a-uuid".into(),
        })
        .unwrap_err();
        assert_eq!(
            fields(err),
            [
                "request_id",
                "customer.display_name",
                "customer.locale",
                "customer.time_zone"
            ]
        );
    }

    #[test]
    fn request_ids_are_stored_in_their_canonical_form() {
        let id = Uuid::now_v7();
        let create = CreateCustomer::try_from(pb::CreateCustomerRequest {
            customer: Some(pb::Customer {
                display_name: "Li Wei".into(),
                ..Default::default()
            }),
            request_id: id.simple().to_string().to_uppercase(),
        })
        .unwrap();
        assert_eq!(create.request_id, Some(id.to_string()));
    }

    #[test]
    fn etags_are_read_quoted_weak_or_bare_and_garbage_is_stale() {
        let name = customer_name();
        for (etag, version) in [("\"7\"", 7), ("W/\"7\"", 7), ("7", 7), ("seven", -1)] {
            let customer = pb::Customer {
                name: name.clone(),
                etag: etag.into(),
                display_name: "Li".into(),
                ..Default::default()
            };
            let parsed = update(customer, &["display_name"]).unwrap();
            assert_eq!(parsed.version, version, "{etag}");
        }
        let missing = pb::Customer {
            name,
            ..Default::default()
        };
        assert_eq!(
            fields(update(missing, &["locale"]).unwrap_err()),
            ["customer.etag"]
        );
    }

    #[test]
    fn a_star_mask_changes_every_updatable_field() {
        let customer = pb::Customer {
            name: customer_name(),
            etag: "\"1\"".into(),
            display_name: "Li Wei".into(),
            tier: 1,
            lifecycle_stage: 1,
            ..Default::default()
        };
        let parsed = update(customer, &["*"]).unwrap();
        let paths: Vec<String> = parsed.changes.iter().map(Change::path).collect();
        assert_eq!(paths, CUSTOMER_UPDATABLE);
    }

    #[test]
    fn unknown_and_output_only_paths_are_named_and_map_keys_are_allowed() {
        let customer = pb::Customer {
            name: customer_name(),
            etag: "\"1\"".into(),
            ..Default::default()
        };
        let err = update(customer.clone(), &["etag", "attributes.vip_note", "nope"]).unwrap_err();
        assert_eq!(fields(err), ["update_mask"]);
        let parsed = update(customer.clone(), &["attributes.vip_note"]).unwrap();
        assert_eq!(parsed.changes, [Change::Attribute("vip_note".into(), None)]);
        assert_eq!(fields(update(customer, &[]).unwrap_err()), ["update_mask"]);
    }

    #[test]
    fn page_tokens_are_bound_to_their_query_and_their_kind_of_key() {
        let parent = customer_name();
        let request = |filter: &str, token: String| pb::ListConsentsRequest {
            parent: parent.clone(),
            filter: filter.into(),
            page_token: token,
            ..Default::default()
        };
        let first = ListConsents::try_from(request("", String::new())).unwrap();
        let token = first.page.token_after(&PageToken::int(5, Uuid::now_v7()));
        assert!(ListConsents::try_from(request("", token.clone())).is_ok());
        let other_query = ListConsents::try_from(request("state = GRANTED", token)).unwrap_err();
        assert_eq!(fields(other_query), ["page_token"]);
        let text_token = first
            .page
            .token_after(&PageToken::text("a", Uuid::now_v7()));
        let wrong_kind = ListConsents::try_from(request("", text_token)).unwrap_err();
        assert_eq!(fields(wrong_kind), ["page_token"]);
        let garbage = ListConsents::try_from(request("", "garbage".into())).unwrap_err();
        assert_eq!(fields(garbage), ["page_token"]);
    }

    #[test]
    fn names_must_be_resource_names_of_the_right_collection() {
        for bad in [
            "",
            "customers/42",
            "organisations/0190a000-0000-7000-8000-000000000000",
        ] {
            let err = GetCustomer::try_from(pb::GetCustomerRequest {
                name: bad.into(),
                resolve_merged: false,
            })
            .unwrap_err();
            assert_eq!(fields(err), ["name"], "{bad}");
        }
    }
}

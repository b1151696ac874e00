//! Requests as domain values: each request is checked once, here, and every bad field is
//! reported at once. Past this point nothing is re-validated.

use aftercare_platform::error::FieldViolations;
use aftercare_proto::aftercare::customers::v1 as pb;
use uuid::Uuid;

use crate::domain::consent::{Decision, Purpose, State};
use crate::domain::customer::{
    self, Address, Change, Channel, LifecycleStage, Profile, Tier, bounded_text, display_name,
};
use crate::domain::filter::Condition;
use crate::domain::identity::{IdentityKey, VerificationMethod};
use crate::domain::loyalty::NewEntry;
use crate::domain::merge::Policy as MergePolicy;
use crate::domain::names::{parse_child_name, parse_name};
use crate::domain::organisation::{self, OrganisationChange, OrganisationSpec};
use crate::domain::page::{Cursor, SortKey, decode_token, fingerprint, page_size};
use crate::domain::query::{
    ConsentField, CustomerField, IdentityField, LoyaltyField, OrganisationField, SegmentField,
    TierRuleField, TimelineField, consent_filter, customer_filter, identity_filter, loyalty_filter,
    organisation_filter, segment_filter, tier_rule_filter, timeline_filter,
};
use crate::domain::segment::{self, SegmentChange, SegmentSpec};
use crate::domain::tier::{self, RuleChange, RuleSpec};
use crate::error::{Error, finish};

/// A page of a list: size, where it starts, and the fingerprint its tokens carry.
#[derive(Debug, Clone)]
pub struct Page {
    /// Rows per page.
    pub size: u32,
    /// The previous page's last row.
    pub after: Option<Cursor>,
    /// The fingerprint of the request's other parameters.
    pub fingerprint: String,
}

impl Page {
    fn parse(size: i32, token: &str, parts: &[&str], violations: &mut FieldViolations) -> Self {
        let fingerprint = fingerprint(parts);
        Self {
            size: violations.check("page_size", page_size(size)).unwrap_or(1),
            after: violations
                .check("page_token", decode_token(token, &fingerprint))
                .flatten(),
            fingerprint,
        }
    }

    /// The time and id of the last row of the previous page (lists ordered by a time).
    pub fn after_time_and_id(&self, violations: &mut FieldViolations) -> Option<(i64, String)> {
        match &self.after {
            Some(Cursor {
                key: Some(SortKey::Int(time)),
                id,
            }) => Some((*time, id.clone())),
            Some(_) => {
                violations.add("page_token", "is not a page token of this method");
                None
            }
            None => None,
        }
    }

    /// The text key and id of the last row of the previous page (lists ordered by a name).
    pub fn after_text_and_id(&self, violations: &mut FieldViolations) -> Option<(String, String)> {
        match &self.after {
            Some(Cursor {
                key: Some(SortKey::Text(key)),
                id,
            }) => Some((key.clone(), id.clone())),
            Some(_) => {
                violations.add("page_token", "is not a page token of this method");
                None
            }
            None => None,
        }
    }

    /// The id of the last row of the previous page.
    pub fn after_id(&self, violations: &mut FieldViolations) -> Option<Uuid> {
        let cursor = self.after.as_ref()?;
        violations.check(
            "page_token",
            Uuid::parse_str(&cursor.id).map_err(|_| "is not a page token of this method"),
        )
    }
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
        let request_id = request_id(&request.request_id, &mut violations);
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
            request.page_size,
            &request.page_token,
            &[&request.filter, query, show_merged],
            &mut violations,
        );
        let before = page.after_id(&mut violations);
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
        let version = etag(&customer.etag, "customer.etag", &mut violations);
        let paths = request
            .update_mask
            .map(|mask| mask.paths)
            .unwrap_or_default();
        if paths.is_empty() {
            violations.add("update_mask", "is required: name the fields to change");
        }
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
    let mut check = |result: Result<String, String>| violations.check(&field, result);
    let change = match path {
        "display_name" => Change::DisplayName(check(display_name(&customer.display_name))?),
        "given_name" => Change::GivenName(check(bounded_text(&customer.given_name, 100))?),
        "family_name" => Change::FamilyName(check(bounded_text(&customer.family_name, 100))?),
        "locale" => Change::Locale(check(customer::locale(&customer.locale))?),
        "time_zone" => Change::TimeZone(check(customer::time_zone(&customer.time_zone))?),
        "region" => Change::Region(check(customer::region(&customer.region))?),
        "organisation" => {
            Change::Organisation(organisation(&customer.organisation, &field, violations)?)
        }
        "emails" => Change::Emails(emails(customer, &field, violations)),
        "phones" => Change::Phones(phones(customer, &field, violations)),
        "addresses" => Change::Addresses(addresses(customer, &field, violations)),
        "tier" => Change::Tier(required_enum::<Tier>(customer.tier, &field, violations)?),
        "tier_locked" => Change::TierLocked(customer.tier_locked),
        "lifecycle_stage" => Change::LifecycleStage(required_enum::<LifecycleStage>(
            customer.lifecycle_stage,
            &field,
            violations,
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
        let version = etag(&request.etag, "etag", &mut violations);
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
        let hinted_name = violations
            .check("hints.display_name", bounded_text(&hints.display_name, 200))
            .unwrap_or_default();
        let mut profile = Profile::named(hinted_name);
        profile.given_name = violations
            .check("hints.given_name", bounded_text(&hints.given_name, 100))
            .unwrap_or_default();
        profile.family_name = violations
            .check("hints.family_name", bounded_text(&hints.family_name, 100))
            .unwrap_or_default();
        profile.locale = violations
            .check("hints.locale", customer::locale(&hints.locale))
            .unwrap_or_default();
        profile.time_zone = violations
            .check("hints.time_zone", customer::time_zone(&hints.time_zone))
            .unwrap_or_default();
        profile.region = violations
            .check("hints.region", customer::region(&hints.region))
            .unwrap_or_default();
        profile.organisation =
            organisation(&hints.organisation, "hints.organisation", &mut violations).flatten();
        profile.lifecycle_stage = optional_enum(
            hints.lifecycle_stage,
            "hints.lifecycle_stage",
            &mut violations,
        )
        .unwrap_or(LifecycleStage::New);
        finish(violations)?;
        let Some(key) = key else {
            return Err(Error::invalid("identity", "is required"));
        };
        if profile.display_name.is_empty() {
            profile.display_name = key.handle.chars().take(200).collect();
        }
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
        let request_id = request_id(&request.request_id, &mut violations);
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
        let method = required_enum::<VerificationMethod>(request.method, "method", &mut violations);
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
            request.page_size,
            &request.page_token,
            &[&request.parent, &request.filter],
            &mut violations,
        );
        let after = page.after_id(&mut violations);
        finish(violations)?;
        Ok(Self {
            customer: customer.unwrap_or_default(),
            conditions,
            page,
            after,
        })
    }
}

/// The profile fields of `customer`, reported under `path`.
fn profile(customer: &pb::Customer, path: &str, violations: &mut FieldViolations) -> Profile {
    let at = |field: &str| format!("{path}.{field}");
    let mut profile = Profile::named(
        violations
            .check(&at("display_name"), display_name(&customer.display_name))
            .unwrap_or_default(),
    );
    profile.given_name = violations
        .check(&at("given_name"), bounded_text(&customer.given_name, 100))
        .unwrap_or_default();
    profile.family_name = violations
        .check(&at("family_name"), bounded_text(&customer.family_name, 100))
        .unwrap_or_default();
    profile.locale = violations
        .check(&at("locale"), customer::locale(&customer.locale))
        .unwrap_or_default();
    profile.time_zone = violations
        .check(&at("time_zone"), customer::time_zone(&customer.time_zone))
        .unwrap_or_default();
    profile.region = violations
        .check(&at("region"), customer::region(&customer.region))
        .unwrap_or_default();
    profile.emails = emails(customer, &at("emails"), violations);
    profile.phones = phones(customer, &at("phones"), violations);
    profile.addresses = addresses(customer, &at("addresses"), violations);
    profile.organisation =
        organisation(&customer.organisation, &at("organisation"), violations).flatten();
    profile.tier = optional_enum(customer.tier, &at("tier"), violations).unwrap_or(Tier::Standard);
    profile.tier_locked = customer.tier_locked;
    profile.lifecycle_stage =
        optional_enum(customer.lifecycle_stage, &at("lifecycle_stage"), violations)
            .unwrap_or(LifecycleStage::New);
    profile.attributes = customer::attributes(&customer.attributes, &at("attributes"), violations);
    profile.internal_attributes = customer::attributes(
        &customer.internal_attributes,
        &at("internal_attributes"),
        violations,
    );
    profile
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

/// An enum that must be given (not `UNSPECIFIED`).
fn required_enum<E: TryFrom<i32>>(
    value: i32,
    field: &str,
    violations: &mut FieldViolations,
) -> Option<E> {
    match E::try_from(value) {
        Ok(_) if value == 0 => {
            violations.add(field, "is required (UNSPECIFIED is refused)");
            None
        }
        Ok(value) => Some(value),
        Err(_) => {
            violations.add(field, format!("unknown value {value}"));
            None
        }
    }
}

/// An enum where `UNSPECIFIED` means the default (`None`).
fn optional_enum<E: TryFrom<i32>>(
    value: i32,
    field: &str,
    violations: &mut FieldViolations,
) -> Option<E> {
    if value == 0 {
        return None;
    }
    match E::try_from(value) {
        Ok(value) => Some(value),
        Err(_) => {
            violations.add(field, format!("unknown value {value}"));
            None
        }
    }
}

/// A client-chosen request id: empty, or a UUID (stored in its canonical form).
fn request_id(value: &str, violations: &mut FieldViolations) -> Option<String> {
    if value.is_empty() {
        return None;
    }
    violations.check(
        "request_id",
        Uuid::parse_str(value)
            .map(|id| id.hyphenated().to_string())
            .map_err(|_| "must be a UUID"),
    )
}

/// The version an etag stands for. Required; an etag this service never issued stands for
/// no version (so it is stale).
fn etag(value: &str, field: &str, violations: &mut FieldViolations) -> Option<i64> {
    if value.is_empty() {
        violations.add(field, "is required");
        return None;
    }
    Some(value.parse().unwrap_or(-1))
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
        let survivor_version = etag(&request.survivor_etag, "survivor_etag", &mut violations);
        let merged_version = etag(&request.merged_etag, "merged_etag", &mut violations);
        let policy = optional_enum(
            request.attribute_policy,
            "attribute_policy",
            &mut violations,
        )
        .unwrap_or(MergePolicy::PreferSurvivor);
        let request_id = request_id(&request.request_id, &mut violations);
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
            request.page_size,
            &request.page_token,
            &[&request.parent, &request.filter],
            &mut violations,
        );
        let before = page.after_time_and_id(&mut violations);
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
        let request_id = request_id(&request.request_id, &mut violations);
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
            request.page_size,
            &request.page_token,
            &[&request.parent, &request.filter],
            &mut violations,
        );
        let before = page.after_time_and_id(&mut violations);
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
        let channel = required_enum::<Channel>(request.channel, "channel", &mut violations);
        let purpose = required_enum::<Purpose>(request.purpose, "purpose", &mut violations);
        let state = required_enum::<State>(request.state, "state", &mut violations);
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
            request.page_size,
            &request.page_token,
            &[&request.parent, &request.filter],
            &mut violations,
        );
        let after = page
            .after_time_and_id(&mut violations)
            .map(|(rank, _)| rank);
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
        let version = etag(&request.etag, "etag", &mut violations);
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
        let request_id = request_id(&request.request_id, &mut violations);
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
        let request_id = request_id(&request.request_id, &mut violations);
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
            request.page_size,
            &request.page_token,
            &[&request.filter],
            &mut violations,
        );
        let after = page.after_time_and_id(&mut violations);
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
        let version = etag(&rule.etag, "tier_rule.etag", &mut violations);
        let paths = request
            .update_mask
            .map(|mask| mask.paths)
            .unwrap_or_default();
        if paths.is_empty() {
            violations.add("update_mask", "is required: name the fields to change");
        }
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
                other => {
                    violations.add(
                        "update_mask",
                        format!("`{other}` cannot be updated (unknown or output-only)"),
                    );
                    None
                }
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
        let version = etag(&request.etag, "etag", &mut violations);
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
        let request_id = request_id(&request.request_id, &mut violations);
        let Some(org) = request.organisation else {
            violations.add("organisation", "is required");
            return Err(Error::Invalid(violations));
        };
        let display_name =
            violations.check("organisation.display_name", display_name(&org.display_name));
        let domain = violations.check("organisation.domain", organisation::domain(&org.domain));
        let region = violations.check("organisation.region", customer::region(&org.region));
        let tier =
            optional_enum(org.tier, "organisation.tier", &mut violations).unwrap_or(Tier::Standard);
        let attributes =
            customer::attributes(&org.attributes, "organisation.attributes", &mut violations);
        finish(violations)?;
        Ok(Self {
            spec: OrganisationSpec {
                display_name: display_name.unwrap_or_default(),
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
            request.page_size,
            &request.page_token,
            &[&request.filter, query],
            &mut violations,
        );
        let after = page.after_text_and_id(&mut violations);
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
        let version = etag(&org.etag, "organisation.etag", &mut violations);
        let paths = request
            .update_mask
            .map(|mask| mask.paths)
            .unwrap_or_default();
        if paths.is_empty() {
            violations.add("update_mask", "is required: name the fields to change");
        }
        let mut changes = Vec::new();
        for path in &paths {
            let field = format!("organisation.{path}");
            let change = match path.as_str() {
                "display_name" => violations
                    .check(&field, display_name(&org.display_name))
                    .map(OrganisationChange::DisplayName),
                "domain" => violations
                    .check(&field, organisation::domain(&org.domain))
                    .map(OrganisationChange::Domain),
                "region" => violations
                    .check(&field, customer::region(&org.region))
                    .map(OrganisationChange::Region),
                "tier" => required_enum::<Tier>(org.tier, &field, &mut violations)
                    .map(OrganisationChange::Tier),
                "attributes" => Some(OrganisationChange::Attributes(customer::attributes(
                    &org.attributes,
                    &field,
                    &mut violations,
                ))),
                other => match other.strip_prefix("attributes.") {
                    Some(key) => map_key(&org.attributes, key, &field, &mut violations)
                        .map(|(key, value)| OrganisationChange::Attribute(key, value)),
                    None => {
                        violations.add(
                            "update_mask",
                            format!("`{other}` cannot be updated (unknown or output-only)"),
                        );
                        None
                    }
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
        let version = etag(&request.etag, "etag", &mut violations);
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
        let request_id = request_id(&request.request_id, &mut violations);
        let Some(seg) = request.segment else {
            violations.add("segment", "is required");
            return Err(Error::Invalid(violations));
        };
        let display_name =
            violations.check("segment.display_name", display_name(&seg.display_name));
        let description = violations.check(
            "segment.description",
            segment::description(&seg.description),
        );
        let filter = violations.check("segment.filter", segment::filter(&seg.filter));
        let query = violations.check("segment.query", segment::query(&seg.query));
        finish(violations)?;
        Ok(Self {
            spec: SegmentSpec {
                display_name: display_name.unwrap_or_default(),
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
            request.page_size,
            &request.page_token,
            &[&request.filter],
            &mut violations,
        );
        let after = page.after_text_and_id(&mut violations);
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
        let version = etag(&seg.etag, "segment.etag", &mut violations);
        let paths = request
            .update_mask
            .map(|mask| mask.paths)
            .unwrap_or_default();
        if paths.is_empty() {
            violations.add("update_mask", "is required: name the fields to change");
        }
        let mut changes = Vec::new();
        for path in &paths {
            let field = format!("segment.{path}");
            let change = match path.as_str() {
                "display_name" => violations
                    .check(&field, display_name(&seg.display_name))
                    .map(SegmentChange::DisplayName),
                "description" => violations
                    .check(&field, segment::description(&seg.description))
                    .map(SegmentChange::Description),
                "filter" => violations
                    .check(&field, segment::filter(&seg.filter))
                    .map(SegmentChange::Filter),
                "query" => violations
                    .check(&field, segment::query(&seg.query))
                    .map(SegmentChange::Query),
                other => {
                    violations.add(
                        "update_mask",
                        format!("`{other}` cannot be updated (unknown or output-only)"),
                    );
                    None
                }
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
        let version = etag(&request.etag, "etag", &mut violations);
        finish(violations)?;
        Ok(Self {
            id: id.unwrap_or_default(),
            version: version.unwrap_or_default(),
        })
    }
}

//! Who may do what to customers.
//!
//! - A customer reads and edits only their own profile, never its tier, business fields or
//!   internal attributes (which they do not see).
//! - Staff read customers: leads, admins and analysts in every region, others in their own
//!   region and unassigned customers. Leads and admins change, merge and erase them.
//! - Other Aftercare services (`Service`) may do everything; integrations per scope
//!   (`customers.read`, `customers.write`).

use aftercare_platform::auth::{Principal, Role};
use uuid::Uuid;

use super::customer::Customer;
use super::names::parse_name;

/// Scope an integration needs to read customers.
pub const READ_SCOPE: &str = "customers.read";
/// Scope an integration needs to change customers.
pub const WRITE_SCOPE: &str = "customers.write";

/// Which customers a caller may list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Every customer.
    All,
    /// Customers of this region and unassigned ones.
    Region(String),
    /// Unassigned customers only (staff with no region).
    Unassigned,
}

/// The customer a customer principal is, if the caller is one (and only one).
pub fn own_customer(principal: &Principal) -> Option<Uuid> {
    if !principal.is_customer_only() {
        return None;
    }
    principal
        .customer
        .as_deref()
        .and_then(|name| parse_name(name, "customers").ok())
}

fn is_manager(principal: &Principal) -> bool {
    principal.has_any_role(&[Role::Lead, Role::Admin, Role::Service])
}

fn integration_may(principal: &Principal, scope: &str) -> bool {
    principal.has_role(Role::Integration) && principal.scopes.iter().any(|s| s == scope)
}

/// The customers the caller may list, or `None` when they may list none.
pub fn reach(principal: &Principal) -> Option<Reach> {
    if principal.sees_all_regions()
        || integration_may(principal, READ_SCOPE)
        || integration_may(principal, WRITE_SCOPE)
    {
        Some(Reach::All)
    } else if principal.is_staff() {
        Some(match &principal.region {
            Some(region) => Reach::Region(region.clone()),
            None => Reach::Unassigned,
        })
    } else {
        None
    }
}

/// Whether the caller may read `customer`.
pub fn may_read(principal: &Principal, customer: &Customer) -> bool {
    if let Some(own) = own_customer(principal) {
        return own == customer.id;
    }
    match reach(principal) {
        Some(Reach::All) => true,
        Some(Reach::Region(region)) => {
            customer.profile.region.is_empty() || customer.profile.region == region
        }
        Some(Reach::Unassigned) => customer.profile.region.is_empty(),
        None => false,
    }
}

/// Whether the caller may change `customer` (its own profile, for a customer).
pub fn may_write(principal: &Principal, customer: &Customer) -> bool {
    match own_customer(principal) {
        Some(own) => own == customer.id,
        None => may_create(principal),
    }
}

/// Whether the caller may create customers and identities (and resolve identities).
pub fn may_create(principal: &Principal) -> bool {
    is_manager(principal) || integration_may(principal, WRITE_SCOPE)
}

/// Whether the caller may delete, merge or erase customers.
pub fn may_manage(principal: &Principal) -> bool {
    is_manager(principal)
}

/// Whether the caller sees internal attributes.
pub fn sees_internal(principal: &Principal) -> bool {
    !principal.is_customer_only()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::customer::{Channel, Profile};
    use crate::domain::names::customer_name;

    fn principal(role: Role, region: Option<&str>) -> Principal {
        Principal {
            subject: "someone".into(),
            roles: vec![role],
            region: region.map(str::to_owned),
            customer: None,
            scopes: Vec::new(),
            display_name: None,
            via: None,
        }
    }

    fn customer_in(region: &str) -> Customer {
        let mut profile = Profile::named("Li Wei".into());
        profile.region = region.into();
        Customer::new(profile, Channel::Phone, 1)
    }

    #[test]
    fn a_customer_reaches_only_their_own_profile() {
        let me = customer_in("cn-east");
        let other = customer_in("cn-east");
        let mut caller = principal(Role::Customer, None);
        caller.customer = Some(customer_name(me.id));
        assert!(may_read(&caller, &me) && may_write(&caller, &me));
        assert!(!may_read(&caller, &other) && !may_write(&caller, &other));
        assert_eq!(reach(&caller), None);
        assert!(!may_create(&caller) && !may_manage(&caller) && !sees_internal(&caller));
    }

    #[test]
    fn agents_read_their_region_and_change_nothing() {
        let agent = principal(Role::Agent, Some("eu-west"));
        assert!(may_read(&agent, &customer_in("eu-west")));
        assert!(may_read(&agent, &customer_in("")));
        assert!(!may_read(&agent, &customer_in("cn-east")));
        assert!(!may_write(&agent, &customer_in("eu-west")));
        assert!(!may_create(&agent) && !may_manage(&agent));
    }

    #[test]
    fn leads_admins_and_services_do_everything() {
        for caller in [
            principal(Role::Lead, Some("eu-west")),
            principal(Role::Admin, None),
            Principal::service("tickets"),
        ] {
            let customer = customer_in("cn-east");
            assert!(may_read(&caller, &customer) && may_write(&caller, &customer));
            assert!(may_create(&caller) && may_manage(&caller));
        }
    }

    #[test]
    fn integrations_act_by_scope() {
        let mut integration = principal(Role::Integration, None);
        assert!(!may_read(&integration, &customer_in("")));
        integration.scopes = vec![READ_SCOPE.into()];
        assert!(may_read(&integration, &customer_in("cn-east")));
        assert!(!may_create(&integration));
        integration.scopes.push(WRITE_SCOPE.into());
        assert!(may_create(&integration) && !may_manage(&integration));
    }
}

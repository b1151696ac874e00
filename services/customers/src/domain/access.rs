//! Who may do what to customers, decided in one place: [`Access::of`] gives the customers a
//! caller reaches for an [`Action`], or `None` when it may not do it at all.
//!
//! - A customer reads and edits only their own profile (never its tier, business fields or
//!   internal attributes, which they do not see), records their own consents, adds channel
//!   identities to it (unverified, see `domain::identity`) and exports their own data.
//! - Staff read customers: leads, admins and analysts in every region, the others in their own
//!   region and unassigned customers. Leads and admins create, change, merge, delete and
//!   erase them and manage tier rules.
//! - Intake: agents and specialists may resolve-or-create a customer from a channel identity
//!   in their own region (opening a ticket from a channel, as the README's quick start does);
//!   they cannot create customers otherwise nor touch other regions'.
//! - Integrations act by scope: `customers.read` reads everything, `customers.write` also
//!   creates, changes and resolves.
//! - Other Aftercare services (`Service`) may do everything, for the platform's background
//!   work only. A service that calls for a user relays that user's principal
//!   (`Principal::on_behalf_of`), which carries the user's roles and nothing more, so a
//!   relayed request is authorised exactly as if the user had called.

use aftercare_platform::auth::{Principal, Role};
use uuid::Uuid;

use super::customer::{Customer, Profile};
use super::names::parse_name;
use super::values::Region;

/// Scope an integration needs to read customers.
pub(crate) const READ_SCOPE: &str = "customers.read";
/// Scope an integration needs to change customers.
pub(crate) const WRITE_SCOPE: &str = "customers.write";

/// What the caller wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Read a customer and what hangs off it (identities, consents, ledger, timeline).
    Read,
    /// List customers.
    List,
    /// Change a customer's profile, add or remove its identities, record its consents.
    Edit,
    /// Create customers, verify identities, record loyalty entries, evaluate tiers.
    Create,
    /// Find the customer of a channel identity, creating it when unknown (intake).
    Resolve,
    /// Find the customer of a channel identity, never creating one.
    LookUp,
    /// Delete, merge and erase customers; manage tier rules.
    Manage,
    /// Export everything held about a customer.
    Export,
    /// Read organisations, segments and tier rules.
    ReadCatalogue,
    /// Create and change organisations and segments.
    WriteCatalogue,
}

impl Action {
    /// Why a caller without access is refused.
    pub(crate) fn refusal(self) -> &'static str {
        match self {
            Self::Read => "this customer is outside your reach",
            Self::List => "customers cannot list customers",
            Self::Edit => "you may not change this customer",
            Self::Create => {
                "only leads, admins, services and integrations with customers.write do this"
            }
            Self::Resolve | Self::LookUp => {
                "only agents of the region, leads, admins, services and integrations with customers.write resolve identities"
            }
            Self::Manage => "only leads, admins and services do this",
            Self::Export => "only the customer, leads, admins and services export customer data",
            Self::ReadCatalogue => "customers cannot read organisations, segments or tier rules",
            Self::WriteCatalogue => {
                "only leads, admins, services and integrations with customers.write change organisations and segments"
            }
        }
    }
}

/// The customers a caller reaches for an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Access {
    /// Only this customer (a customer acting for themselves), and nothing internal.
    Own(Uuid),
    /// Customers of this region and unassigned ones.
    Region(String),
    /// Unassigned customers only (staff with no region).
    Unassigned,
    /// Every customer.
    All,
}

impl Access {
    /// The caller's reach for `action`, or `None` when it may not do it at all.
    pub(crate) fn of(principal: &Principal, action: Action) -> Option<Self> {
        if principal.is_customer_only() {
            let own = own_customer(principal)?;
            return matches!(action, Action::Read | Action::Edit | Action::Export)
                .then_some(Self::Own(own));
        }
        let manager = principal.has_any_role(&[Role::Lead, Role::Admin, Role::Service]);
        let writer = manager || integration_has(principal, WRITE_SCOPE);
        let reader = principal.sees_all_regions()
            || integration_has(principal, READ_SCOPE)
            || integration_has(principal, WRITE_SCOPE);
        let staff_region = || match &principal.region {
            Some(region) => Self::Region(region.clone()),
            None => Self::Unassigned,
        };
        match action {
            Action::Read | Action::List | Action::ReadCatalogue | Action::LookUp if reader => {
                Some(Self::All)
            }
            Action::Read | Action::List | Action::ReadCatalogue if principal.is_staff() => {
                Some(staff_region())
            }
            Action::Edit | Action::Create | Action::WriteCatalogue | Action::Resolve if writer => {
                Some(Self::All)
            }
            Action::Resolve | Action::LookUp
                if principal.has_any_role(&[Role::Agent, Role::Specialist]) =>
            {
                principal.region.clone().map(Self::Region)
            }
            Action::Manage | Action::Export if manager => Some(Self::All),
            _ => None,
        }
    }

    /// Whether `customer` is within reach.
    pub(crate) fn reaches(&self, customer: &Customer) -> bool {
        match self {
            Self::Own(own) => *own == customer.id,
            Self::Region(region) => {
                customer.profile.region.is_empty() || customer.profile.region == region.as_str()
            }
            Self::Unassigned => customer.profile.region.is_empty(),
            Self::All => true,
        }
    }

    /// Whether the customer with `id` may be within reach, before anything is read: a
    /// customer asking about another is refused without learning whether it exists.
    pub(crate) fn may_reach_id(&self, id: Uuid) -> bool {
        match self {
            Self::Own(own) => *own == id,
            _ => true,
        }
    }

    /// True for a customer acting for themselves.
    pub(crate) fn is_customer(&self) -> bool {
        matches!(self, Self::Own(_))
    }

    /// Whether internal attributes are shown (never to a customer).
    pub(crate) fn sees_internal(&self) -> bool {
        !self.is_customer()
    }

    /// The region a new customer created by this caller must be in, when it is limited to
    /// one (an agent's intake).
    pub(crate) fn region(&self) -> Option<&str> {
        match self {
            Self::Region(region) => Some(region),
            _ => None,
        }
    }

    /// Places a customer this caller creates from a channel identity: an agent's intake
    /// creates customers in the agent's own region only (an empty region becomes it).
    /// `Err` holds the refusal.
    pub(crate) fn place(&self, profile: &mut Profile) -> Result<(), String> {
        let Some(region) = self.region() else {
            return Ok(());
        };
        if profile.region.is_empty() {
            profile.region = Region::trusted(region.to_owned());
            Ok(())
        } else if profile.region == region {
            Ok(())
        } else {
            Err(format!(
                "an agent of {region} creates customers only in {region}"
            ))
        }
    }
}

/// The customer a customer principal is, if the caller is one (and only one).
fn own_customer(principal: &Principal) -> Option<Uuid> {
    principal
        .customer
        .as_deref()
        .and_then(|name| parse_name(name, "customers").ok())
}

fn integration_has(principal: &Principal, scope: &str) -> bool {
    principal.has_role(Role::Integration) && principal.scopes.iter().any(|s| s == scope)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::customer::Channel;
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

    fn may(principal: &Principal, action: Action, customer: &Customer) -> bool {
        Access::of(principal, action).is_some_and(|access| access.reaches(customer))
    }

    #[test]
    fn a_customer_reaches_only_their_own_profile() {
        let me = customer_in("cn-east");
        let other = customer_in("cn-east");
        let mut caller = principal(Role::Customer, None);
        caller.customer = Some(customer_name(me.id));
        for action in [Action::Read, Action::Edit, Action::Export] {
            assert!(may(&caller, action, &me));
            assert!(!may(&caller, action, &other));
        }
        let access = Access::of(&caller, Action::Read).unwrap();
        assert!(access.may_reach_id(me.id) && !access.may_reach_id(other.id));
        assert!(!access.sees_internal());
        for action in [
            Action::List,
            Action::Create,
            Action::Resolve,
            Action::LookUp,
            Action::Manage,
            Action::ReadCatalogue,
            Action::WriteCatalogue,
        ] {
            assert_eq!(Access::of(&caller, action), None, "{action:?}");
        }
    }

    #[test]
    fn a_customer_relayed_by_a_service_has_only_the_customers_rights() {
        let me = customer_in("");
        let mut caller = principal(Role::Customer, None);
        caller.customer = Some(customer_name(me.id));
        let relayed = Principal::on_behalf_of(&caller, "tickets");
        assert_eq!(Access::of(&relayed, Action::Edit), Some(Access::Own(me.id)));
        assert_eq!(Access::of(&relayed, Action::Resolve), None);
        assert_eq!(Access::of(&relayed, Action::Create), None);
    }

    #[test]
    fn agents_read_their_region_and_resolve_only_there() {
        let agent = principal(Role::Agent, Some("eu-west"));
        assert!(may(&agent, Action::Read, &customer_in("eu-west")));
        assert!(may(&agent, Action::Read, &customer_in("")));
        assert!(!may(&agent, Action::Read, &customer_in("cn-east")));
        assert!(may(&agent, Action::Resolve, &customer_in("eu-west")));
        assert!(!may(&agent, Action::Resolve, &customer_in("cn-east")));
        assert_eq!(
            Access::of(&agent, Action::Resolve).unwrap().region(),
            Some("eu-west")
        );
        for action in [Action::Edit, Action::Create, Action::Manage, Action::Export] {
            assert_eq!(Access::of(&agent, action), None, "{action:?}");
        }
        let no_region = principal(Role::Agent, None);
        assert_eq!(Access::of(&no_region, Action::Resolve), None);
    }

    #[test]
    fn an_agents_intake_places_customers_in_the_agents_region_only() {
        let agent = Access::of(&principal(Role::Agent, Some("eu-west")), Action::Resolve).unwrap();
        let mut profile = Profile::named("Li Wei".into());
        assert_eq!(agent.place(&mut profile), Ok(()));
        assert_eq!(profile.region, "eu-west");
        assert_eq!(agent.place(&mut profile), Ok(()));
        profile.region = "cn-east".into();
        assert_eq!(
            agent.place(&mut profile),
            Err("an agent of eu-west creates customers only in eu-west".into())
        );
        let lead = Access::of(&principal(Role::Lead, None), Action::Resolve).unwrap();
        assert_eq!(lead.place(&mut profile), Ok(()));
        assert_eq!(profile.region, "cn-east");
    }

    #[test]
    fn leads_admins_and_services_do_everything() {
        for caller in [
            principal(Role::Lead, Some("eu-west")),
            principal(Role::Admin, None),
            Principal::service("tickets"),
        ] {
            let customer = customer_in("cn-east");
            for action in [
                Action::Read,
                Action::Edit,
                Action::Create,
                Action::Resolve,
                Action::Manage,
                Action::Export,
            ] {
                assert!(may(&caller, action, &customer), "{action:?}");
            }
        }
    }

    #[test]
    fn integrations_act_by_scope() {
        let mut integration = principal(Role::Integration, None);
        assert!(!may(&integration, Action::Read, &customer_in("")));
        assert_eq!(Access::of(&integration, Action::Resolve), None);
        integration.scopes = vec![READ_SCOPE.into()];
        assert!(may(&integration, Action::Read, &customer_in("cn-east")));
        assert!(may(&integration, Action::LookUp, &customer_in("cn-east")));
        assert_eq!(Access::of(&integration, Action::Create), None);
        assert_eq!(Access::of(&integration, Action::Resolve), None);
        integration.scopes.push(WRITE_SCOPE.into());
        assert!(may(&integration, Action::Create, &customer_in("")));
        assert!(may(&integration, Action::Resolve, &customer_in("")));
        assert_eq!(Access::of(&integration, Action::Manage), None);
    }
}

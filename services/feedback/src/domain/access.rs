//! Who may do what with feedback.
//!
//! - Surveys are managed (created, changed, deleted) by leads, admins, other services and
//!   integrations with `feedback.write`; every staff role and `feedback.read` reads them.
//! - A customer reads only their own invitations, responses and feedback items, answers only
//!   their own invitations and records feedback only as themselves.
//! - Staff see the feedback of their region (and feedback with no region) unless they see
//!   every region (leads, admins, analysts); services see everything.
//! - Staff other than analysts record responses and feedback, reclassify and work follow-ups
//!   within their reach; integrations per scope.

use aftercare_platform::auth::{Principal, Role};

/// Scope an integration needs to read feedback.
pub const READ_SCOPE: &str = "feedback.read";
/// Scope an integration needs to write feedback.
pub const WRITE_SCOPE: &str = "feedback.write";

/// Which regions' feedback a caller reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Everything.
    All,
    /// One region and feedback without a region.
    Region(String),
    /// Only feedback without a region (staff with no region).
    Unassigned,
    /// Only the customer's own.
    Customer(String),
}

impl Reach {
    /// Whether a resource of `region` belonging to `customer` is within reach.
    pub fn covers(&self, region: &str, customer: &str) -> bool {
        match self {
            Self::All => true,
            Self::Region(own) => region.is_empty() || region == own,
            Self::Unassigned => region.is_empty(),
            Self::Customer(own) => !customer.is_empty() && customer == own,
        }
    }
}

fn integration_may(principal: &Principal, scope: &str) -> bool {
    principal.has_role(Role::Integration) && principal.scopes.iter().any(|s| s == scope)
}

/// What the caller may read, or `None` when nothing.
pub fn read_reach(principal: &Principal) -> Option<Reach> {
    if principal.is_customer_only() {
        return principal.customer.clone().map(Reach::Customer);
    }
    if principal.sees_all_regions()
        || integration_may(principal, READ_SCOPE)
        || integration_may(principal, WRITE_SCOPE)
    {
        return Some(Reach::All);
    }
    if principal.is_staff() {
        return Some(match &principal.region {
            Some(region) => Reach::Region(region.clone()),
            None => Reach::Unassigned,
        });
    }
    None
}

/// What the caller may change (record responses and items, reclassify, work follow-ups):
/// like reading, but analysts and read-only integrations may not.
pub fn write_reach(principal: &Principal) -> Option<Reach> {
    if principal.is_customer_only() {
        return principal.customer.clone().map(Reach::Customer);
    }
    if principal.has_any_role(&[Role::Lead, Role::Admin, Role::Service])
        || integration_may(principal, WRITE_SCOPE)
    {
        return Some(Reach::All);
    }
    if principal.has_any_role(&[Role::Agent, Role::Specialist, Role::Trainer]) {
        return Some(match &principal.region {
            Some(region) => Reach::Region(region.clone()),
            None => Reach::Unassigned,
        });
    }
    None
}

/// Whether the caller may manage surveys.
pub fn may_manage_surveys(principal: &Principal) -> bool {
    principal.has_any_role(&[Role::Lead, Role::Admin, Role::Service])
        || integration_may(principal, WRITE_SCOPE)
}

/// Whether the caller may read survey definitions.
pub fn may_read_surveys(principal: &Principal) -> bool {
    principal.is_staff() || may_manage_surveys(principal) || integration_may(principal, READ_SCOPE)
}

/// Whether the caller may invite customers (manual invitations): staff who write, services,
/// integrations with `feedback.write`.
pub fn may_invite(principal: &Principal) -> bool {
    !principal.is_customer_only() && write_reach(principal).is_some()
}

/// Whether the caller may see invitation tokens (to deliver them): those who may invite.
pub fn may_see_tokens(principal: &Principal) -> bool {
    may_invite(principal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(roles: &[Role], region: Option<&str>, customer: Option<&str>) -> Principal {
        Principal {
            subject: "x".into(),
            roles: roles.to_vec(),
            region: region.map(str::to_owned),
            customer: customer.map(str::to_owned),
            scopes: Vec::new(),
            display_name: None,
            via: None,
        }
    }

    #[test]
    fn customers_reach_only_their_own() {
        let me = principal(&[Role::Customer], None, Some("customers/1"));
        let reach = read_reach(&me).unwrap();
        assert!(reach.covers("cn-east", "customers/1"));
        assert!(!reach.covers("cn-east", "customers/2"));
        assert!(!reach.covers("", ""));
        assert!(!may_read_surveys(&me));
        assert!(!may_invite(&me));
    }

    #[test]
    fn staff_reach_their_region_and_leads_everything() {
        let agent = principal(&[Role::Agent], Some("eu-west"), None);
        let reach = read_reach(&agent).unwrap();
        assert!(reach.covers("eu-west", "customers/1"));
        assert!(reach.covers("", "customers/1"));
        assert!(!reach.covers("cn-east", "customers/1"));
        assert!(!may_manage_surveys(&agent));
        assert!(may_read_surveys(&agent));
        let lead = principal(&[Role::Lead], Some("eu-west"), None);
        assert_eq!(read_reach(&lead), Some(Reach::All));
        assert!(may_manage_surveys(&lead));
        let analyst = principal(&[Role::Analyst], None, None);
        assert_eq!(read_reach(&analyst), Some(Reach::All));
        assert_eq!(write_reach(&analyst), None);
    }

    #[test]
    fn integrations_need_scopes() {
        let mut key = principal(&[Role::Integration], None, None);
        assert_eq!(read_reach(&key), None);
        key.scopes = vec![READ_SCOPE.into()];
        assert_eq!(read_reach(&key), Some(Reach::All));
        assert_eq!(write_reach(&key), None);
        key.scopes = vec![WRITE_SCOPE.into()];
        assert!(may_manage_surveys(&key));
    }
}

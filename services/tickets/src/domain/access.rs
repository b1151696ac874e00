//! Who may see and do what with tickets:
//!
//! - a customer creates tickets for themselves, replies publicly, and reads their own
//!   tickets and public replies only (never internal notes, history or internal fields);
//! - agents, specialists and trainers work the tickets of their own region (trainers and
//!   analysts only read);
//! - leads and admins, and other Aftercare services, reach every ticket;
//! - an integration reads with the `tickets.read` scope and writes with `tickets.write`, in
//!   its key's region when the key names one (as an agent), else everywhere;
//! - an integration may post a message as the ticket's own customer it relays for (an email
//!   gateway), and as an agent only with the `tickets.relay_agents` scope: a delegation
//!   the key's owner grants explicitly. Anyone else's message is authored by the caller.
//! - SLA policies and business calendars are read by every staff member and by other
//!   Aftercare services, and changed only by admins and services (never by integrations or
//!   customers).

use aftercare_platform::auth::{Principal, Role};

use super::filter::TicketCriterion;
use super::ticket::{Actor, ActorKind, DomainError};
use super::values::{AgentName, CustomerName, Region};

/// The scope an integration needs to read tickets.
pub const READ_SCOPE: &str = "tickets.read";
/// The scope an integration needs to create and change tickets.
pub const WRITE_SCOPE: &str = "tickets.write";
/// The scope an integration needs to post messages as an agent it relays for.
pub const RELAY_AGENTS_SCOPE: &str = "tickets.relay_agents";

/// What the caller wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read tickets and public replies.
    Read,
    /// Read internal notes and history.
    ReadInternal,
    /// Create a ticket.
    Create,
    /// Write a message.
    Reply,
    /// Change a ticket (status, assignment, tags, …).
    Manage,
    /// Read SLA policies and business calendars.
    ReadSla,
    /// Create, change or delete SLA policies and business calendars.
    ChangeSla,
}

/// The tickets a caller reaches for an action (for the SLA actions, which concern no
/// ticket, [`Access::All`] when allowed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Only this customer's tickets, and nothing internal.
    Customer(CustomerName),
    /// Only tickets of this region.
    Region(Region),
    /// Every ticket.
    All,
}

impl Access {
    /// The caller's reach for `action`, or `None` when it may not do it at all.
    pub fn of(principal: &Principal, action: Action) -> Option<Self> {
        match action {
            Action::ReadSla => {
                (principal.is_staff() || principal.has_role(Role::Service)).then_some(Self::All)
            }
            Action::ChangeSla => principal
                .has_any_role(&[Role::Admin, Role::Service])
                .then_some(Self::All),
            Action::Read
            | Action::ReadInternal
            | Action::Create
            | Action::Reply
            | Action::Manage => Self::tickets(principal, action),
        }
    }

    /// The tickets `principal` reaches for a ticket action.
    fn tickets(principal: &Principal, action: Action) -> Option<Self> {
        let writes = matches!(action, Action::Create | Action::Reply | Action::Manage);
        if principal.has_any_role(&[Role::Service, Role::Admin, Role::Lead]) {
            return Some(Self::All);
        }
        if principal.has_any_role(&[Role::Agent, Role::Specialist]) {
            return Self::region_of(principal);
        }
        if principal.has_any_role(&[Role::Trainer]) && !writes {
            return Self::region_of(principal);
        }
        if principal.has_role(Role::Analyst) && !writes {
            return Some(Self::All);
        }
        if principal.has_role(Role::Integration) {
            let scope = if writes { WRITE_SCOPE } else { READ_SCOPE };
            // The gateway reads scopes as rules: `tickets.*` and `*` grant both.
            let granted = [scope, WRITE_SCOPE, "tickets.*", "*"]
                .iter()
                .any(|s| principal.has_scope(s));
            if !granted {
                return None;
            }
            // A key bound to a region reaches that region's tickets only, as its agents do.
            return match principal.region {
                Some(_) => Self::region_of(principal),
                None => Some(Self::All),
            };
        }
        if principal.has_role(Role::Customer)
            && matches!(action, Action::Read | Action::Create | Action::Reply)
        {
            let customer = principal.customer.as_deref()?;
            return CustomerName::parse(customer).ok().map(Self::Customer);
        }
        None
    }

    fn region_of(principal: &Principal) -> Option<Self> {
        let region = principal.region.as_deref()?;
        Region::parse(region).ok().map(Self::Region)
    }

    /// Whether a ticket of `customer` in `region` is within reach.
    pub fn reaches(&self, customer: &CustomerName, region: &Region) -> bool {
        match self {
            Self::Customer(own) => own == customer,
            Self::Region(own) => own == region,
            Self::All => true,
        }
    }

    /// True for a customer, who never sees internal notes or fields.
    pub fn is_customer(&self) -> bool {
        matches!(self, Self::Customer(_))
    }

    /// The filter fields among `criteria` this caller may not use: for a customer, the
    /// fields blanked in their view (assignee, team, tags, escalation level), which a filter
    /// would otherwise let them probe one guess at a time. Each named once, in order.
    pub fn hidden_filters(&self, criteria: &[TicketCriterion]) -> Vec<&'static str> {
        if !self.is_customer() {
            return Vec::new();
        }
        let mut hidden = Vec::new();
        for name in criteria.iter().filter_map(|c| c.field.internal_name()) {
            if !hidden.contains(&name) {
                hidden.push(name);
            }
        }
        hidden
    }
}

/// Whom an integration's message is written for (`TicketMessage.author`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relay {
    /// A customer: must be the ticket's own.
    Customer(CustomerName),
    /// An agent: needs [`RELAY_AGENTS_SCOPE`].
    Agent(AgentName),
}

/// Why a relayed author is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayRefused {
    /// The caller lacks the delegation (`PERMISSION_DENIED`).
    NotDelegated(String),
    /// The author named is not a valid name (`INVALID_ARGUMENT` on `message.author.id`).
    Invalid(String),
}

impl Relay {
    /// The relay `principal` asks for with `requested` (the author's kind and id), if any:
    /// only integrations relay (anyone else writes as themselves, the author ignored), and
    /// relaying for an agent needs [`RELAY_AGENTS_SCOPE`].
    pub fn of(
        principal: &Principal,
        requested: Option<&(ActorKind, String)>,
    ) -> Result<Option<Self>, RelayRefused> {
        let Some((kind, id)) = requested else {
            return Ok(None);
        };
        if !principal.has_role(Role::Integration) {
            return Ok(None);
        }
        match kind {
            ActorKind::Customer => CustomerName::parse(id)
                .map(|c| Some(Self::Customer(c)))
                .map_err(RelayRefused::Invalid),
            ActorKind::Agent => {
                if !principal.has_scope(RELAY_AGENTS_SCOPE) {
                    return Err(RelayRefused::NotDelegated(format!(
                        "posting as an agent needs the {RELAY_AGENTS_SCOPE} scope"
                    )));
                }
                AgentName::parse(id)
                    .map(|a| Some(Self::Agent(a)))
                    .map_err(RelayRefused::Invalid)
            }
            ActorKind::Integration | ActorKind::System => Ok(None),
        }
    }

    /// The author of a message relayed on a ticket of `customer`: a customer relay must name
    /// that customer.
    pub fn author(&self, customer: &CustomerName) -> Result<Actor, DomainError> {
        match self {
            Self::Customer(name) if name != customer => Err(DomainError::Invalid {
                field: "message.author.id".into(),
                description: "an integration relays only for the ticket's own customer".into(),
            }),
            Self::Customer(name) => Ok(Actor {
                kind: ActorKind::Customer,
                id: name.to_string(),
                display_name: String::new(),
            }),
            Self::Agent(name) => Ok(Actor {
                kind: ActorKind::Agent,
                id: name.to_string(),
                display_name: String::new(),
            }),
        }
    }
}

/// The actor a principal acts as, for history, messages and events.
pub fn actor_of(principal: &Principal) -> Actor {
    let kind = if principal.has_role(Role::Service) {
        ActorKind::System
    } else if principal.is_staff() {
        ActorKind::Agent
    } else if principal.has_role(Role::Integration) {
        ActorKind::Integration
    } else {
        ActorKind::Customer
    };
    let id = match kind {
        ActorKind::Customer => principal
            .customer
            .clone()
            .unwrap_or_else(|| principal.subject.clone()),
        _ => principal.subject.clone(),
    };
    Actor {
        kind,
        id,
        display_name: principal.display_name.clone().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(roles: &[Role], region: Option<&str>, customer: Option<&str>) -> Principal {
        Principal {
            subject: "subject".into(),
            roles: roles.to_vec(),
            region: region.map(Into::into),
            customer: customer.map(Into::into),
            scopes: vec![],
            display_name: None,
            via: None,
        }
    }

    #[test]
    fn customers_reach_their_own_tickets_and_cannot_manage() {
        let customer = principal(&[Role::Customer], None, Some("customers/c1"));
        let access = Access::of(&customer, Action::Read).unwrap();
        let own = CustomerName::parse("customers/c1").unwrap();
        let other = CustomerName::parse("customers/c2").unwrap();
        let region = Region::parse("eu-west").unwrap();
        assert!(access.reaches(&own, &region));
        assert!(!access.reaches(&other, &region));
        assert!(access.is_customer());
        assert!(Access::of(&customer, Action::Create).is_some());
        assert!(Access::of(&customer, Action::Reply).is_some());
        assert_eq!(Access::of(&customer, Action::Manage), None);
        assert_eq!(Access::of(&customer, Action::ReadInternal), None);
    }

    #[test]
    fn agents_reach_their_region_and_leads_everything() {
        let agent = principal(&[Role::Agent], Some("eu-west"), None);
        let access = Access::of(&agent, Action::Manage).unwrap();
        let customer = CustomerName::parse("customers/c1").unwrap();
        assert!(access.reaches(&customer, &Region::parse("eu-west").unwrap()));
        assert!(!access.reaches(&customer, &Region::parse("cn-east").unwrap()));
        let lead = principal(&[Role::Lead], None, None);
        assert_eq!(Access::of(&lead, Action::Manage), Some(Access::All));
        let agent_without_region = principal(&[Role::Agent], None, None);
        assert_eq!(Access::of(&agent_without_region, Action::Read), None);
    }

    #[test]
    fn analysts_and_trainers_only_read() {
        let analyst = principal(&[Role::Analyst], None, None);
        assert_eq!(Access::of(&analyst, Action::Read), Some(Access::All));
        assert_eq!(Access::of(&analyst, Action::Manage), None);
        let trainer = principal(&[Role::Trainer], Some("eu-west"), None);
        assert!(Access::of(&trainer, Action::ReadInternal).is_some());
        assert_eq!(Access::of(&trainer, Action::Reply), None);
    }

    #[test]
    fn integrations_need_scopes() {
        let mut integration = principal(&[Role::Integration], None, None);
        assert_eq!(Access::of(&integration, Action::Read), None);
        integration.scopes = vec![READ_SCOPE.into()];
        assert_eq!(Access::of(&integration, Action::Read), Some(Access::All));
        assert_eq!(Access::of(&integration, Action::Create), None);
        integration.scopes = vec![WRITE_SCOPE.into()];
        assert_eq!(Access::of(&integration, Action::Create), Some(Access::All));
        assert_eq!(Access::of(&integration, Action::Read), Some(Access::All));
        // As the gateway reads them: a group or everything.
        for rule in ["tickets.*", "*"] {
            integration.scopes = vec![rule.into()];
            assert_eq!(Access::of(&integration, Action::Manage), Some(Access::All));
        }
        integration.scopes = vec!["customers.*".into()];
        assert_eq!(Access::of(&integration, Action::Read), None);
    }

    #[test]
    fn an_integration_key_with_a_region_reaches_that_region_only() {
        let mut integration = principal(&[Role::Integration], Some("eu-west"), None);
        integration.scopes = vec![WRITE_SCOPE.into()];
        let west = Region::parse("eu-west").unwrap();
        for action in [Action::Read, Action::Create, Action::Reply, Action::Manage] {
            assert_eq!(
                Access::of(&integration, action),
                Some(Access::Region(west.clone()))
            );
        }
        integration.region = Some("Not A Region".into());
        assert_eq!(Access::of(&integration, Action::Read), None);
    }

    #[test]
    fn an_integration_relays_for_the_tickets_customer_and_for_agents_only_when_delegated() {
        let c1 = CustomerName::parse("customers/c1").unwrap();
        let c2 = CustomerName::parse("customers/c2").unwrap();
        let mut integration = principal(&[Role::Integration], None, None);
        integration.scopes = vec![WRITE_SCOPE.into()];
        let customer = (ActorKind::Customer, "customers/c1".to_owned());
        let agent = (ActorKind::Agent, "agents/a1".to_owned());
        let relay = Relay::of(&integration, Some(&customer)).unwrap().unwrap();
        assert_eq!(relay.author(&c1).unwrap().id, "customers/c1");
        assert!(matches!(
            relay.author(&c2),
            Err(DomainError::Invalid { field, .. }) if field == "message.author.id"
        ));
        assert!(matches!(
            Relay::of(&integration, Some(&agent)),
            Err(RelayRefused::NotDelegated(_))
        ));
        integration.scopes.push(RELAY_AGENTS_SCOPE.into());
        let relay = Relay::of(&integration, Some(&agent)).unwrap().unwrap();
        let author = relay.author(&c2).unwrap();
        assert_eq!(
            (author.kind, author.id.as_str()),
            (ActorKind::Agent, "agents/a1")
        );
        assert!(matches!(
            Relay::of(&integration, Some(&(ActorKind::Agent, "a1".to_owned()))),
            Err(RelayRefused::Invalid(_))
        ));
        // Only integrations relay; the others write as themselves.
        let agent_principal = principal(&[Role::Agent], Some("eu-west"), None);
        assert_eq!(Relay::of(&agent_principal, Some(&customer)), Ok(None));
        assert_eq!(Relay::of(&integration, None), Ok(None));
    }

    #[test]
    fn staff_and_services_read_sla_setup_and_only_admins_and_services_change_it() {
        let readers = [
            principal(&[Role::Agent], None, None),
            principal(&[Role::Specialist], Some("eu-west"), None),
            principal(&[Role::Lead], None, None),
            principal(&[Role::Trainer], None, None),
            principal(&[Role::Analyst], None, None),
            principal(&[Role::Admin], None, None),
            Principal::service("feedback"),
        ];
        for reader in &readers {
            assert_eq!(
                Access::of(reader, Action::ReadSla),
                Some(Access::All),
                "{:?}",
                reader.roles
            );
        }
        for writer in [
            principal(&[Role::Admin], None, None),
            Principal::service("feedback"),
        ] {
            assert_eq!(Access::of(&writer, Action::ChangeSla), Some(Access::All));
        }
        for reader in &readers[..5] {
            assert_eq!(
                Access::of(reader, Action::ChangeSla),
                None,
                "{:?}",
                reader.roles
            );
        }
        let mut integration = principal(&[Role::Integration], None, None);
        integration.scopes = vec![READ_SCOPE.into(), WRITE_SCOPE.into()];
        let customer = principal(&[Role::Customer], None, Some("customers/c1"));
        for outsider in [integration, customer] {
            assert_eq!(Access::of(&outsider, Action::ReadSla), None);
            assert_eq!(Access::of(&outsider, Action::ChangeSla), None);
        }
    }

    #[test]
    fn customers_may_not_filter_by_internal_fields() {
        let filter = crate::domain::Filter::parse(
            r#"status = OPEN AND tag = "vip" AND assignee = "agents/a1" AND tag = "x" AND team = "teams/t" AND escalation_level = SPECIALIST"#,
        )
        .unwrap();
        let criteria = crate::domain::ticket_criteria(&filter).unwrap();
        let customer = principal(&[Role::Customer], None, Some("customers/c1"));
        let access = Access::of(&customer, Action::Read).unwrap();
        assert_eq!(
            access.hidden_filters(&criteria),
            ["tag", "assignee", "team", "escalation_level"]
        );
        let agent = principal(&[Role::Agent], Some("eu-west"), None);
        let access = Access::of(&agent, Action::Read).unwrap();
        assert!(access.hidden_filters(&criteria).is_empty());
    }

    #[test]
    fn actors_follow_roles() {
        let service = Principal::service("feedback");
        assert_eq!(actor_of(&service).kind, ActorKind::System);
        let customer = principal(&[Role::Customer], None, Some("customers/c1"));
        let actor = actor_of(&customer);
        assert_eq!(
            (actor.kind, actor.id.as_str()),
            (ActorKind::Customer, "customers/c1")
        );
        let agent = principal(&[Role::Agent], Some("eu-west"), None);
        assert_eq!(actor_of(&agent).kind, ActorKind::Agent);
    }
}

//! The role → method policy: which roles may call which methods. Services still authorise
//! per resource (a customer sees only their own tickets); the policy decides who may call a
//! method at all.
//!
//! A rule is `*` (everything), a method group (`tickets.read`, `tickets.*`, `*.read`), a
//! service (`aftercare.tickets.v1.TicketService/*`) or a method
//! (`aftercare.tickets.v1.TicketService/GetTicket`). An integration (API key) may call what its
//! scopes, read as rules, allow.

use std::collections::{BTreeMap, HashMap};

use aftercare_platform::auth::{Principal, Role};

use crate::routes::RpcPath;

const TICKETS: &str = "aftercare.tickets.v1.TicketService";
const AFTER_SALES: &str = "aftercare.tickets.v1.AfterSalesService";
const CUSTOMERS: &str = "aftercare.customers.v1.CustomerService";
const FEEDBACK: &str = "aftercare.feedback.v1.FeedbackService";
const KNOWLEDGE: &str = "aftercare.knowledge.v1.KnowledgeService";
const WORKFORCE: &str = "aftercare.workforce.v1.WorkforceService";
const TRAINING: &str = "aftercare.workforce.v1.TrainingService";

/// One thing a role may call.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rule {
    /// Every method.
    All,
    /// A method group: an area (`tickets`, or `*`) and a kind (`read`, `write`, or `*`).
    Group { area: String, kind: String },
    /// Every method of a service.
    Service(String),
    /// One method (`service/method`).
    Method(String),
}

impl Rule {
    fn parse(rule: &str) -> Result<Self, String> {
        let rule = rule.trim();
        if rule == "*" {
            return Ok(Self::All);
        }
        if let Some((service, method)) = rule.split_once('/') {
            if service.is_empty() || method.is_empty() {
                return Err(format!(
                    "`{rule}` is not `<service>/<method>` or `<service>/*`"
                ));
            }
            return Ok(if method == "*" {
                Self::Service(service.to_owned())
            } else {
                Self::Method(rule.to_owned())
            });
        }
        match rule.split_once('.') {
            Some((area, kind)) if !area.is_empty() && matches!(kind, "read" | "write" | "*") => {
                Ok(Self::Group {
                    area: area.to_owned(),
                    kind: kind.to_owned(),
                })
            }
            _ => Err(format!(
                "`{rule}` is not `*`, `<area>.read`, `<area>.write`, `<area>.*` or `<service>/<method>`"
            )),
        }
    }

    fn allows(&self, rpc: &RpcPath) -> bool {
        match self {
            Self::All => true,
            Self::Service(service) => *service == rpc.service,
            Self::Method(method) => *method == rpc.full(),
            Self::Group { area, kind } => {
                let group = rpc.group();
                let (rpc_area, rpc_kind) = group.split_once('.').unwrap_or((&group, ""));
                (area == "*" || area == rpc_area) && (kind == "*" || kind == rpc_kind)
            }
        }
    }
}

/// The policy: rules per role.
#[derive(Debug, Clone)]
pub struct Policy {
    roles: HashMap<Role, Vec<Rule>>,
}

impl Policy {
    /// The default policy with `overrides` (role name → rules) replacing the defaults of the
    /// roles they name. Errors name the offending key (`gateway.policy.agent`).
    pub fn new(overrides: &BTreeMap<String, Vec<String>>) -> Result<Self, String> {
        let mut roles = HashMap::new();
        for (role, rules) in defaults() {
            let rules = rules
                .iter()
                .map(|rule| Rule::parse(rule))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|err| format!("default policy of {}: {err}", role.as_str()))?;
            roles.insert(role, rules);
        }
        let mut problems = Vec::new();
        for (name, rules) in overrides {
            let role = match serde_json::from_value::<Role>(serde_json::Value::String(name.clone()))
            {
                Ok(Role::Service) | Err(_) => {
                    problems.push(format!(
                        "gateway.policy.{name}: unknown role (customer, agent, specialist, lead, trainer, analyst, admin, integration)"
                    ));
                    continue;
                }
                Ok(role) => role,
            };
            match rules.iter().map(|rule| Rule::parse(rule)).collect() {
                Ok(rules) => {
                    roles.insert(role, rules);
                }
                Err(err) => problems.push(format!("gateway.policy.{name}: {err}")),
            }
        }
        if problems.is_empty() {
            Ok(Self { roles })
        } else {
            Err(problems.join("\n"))
        }
    }

    /// True when `principal` may call `rpc`: one of its roles allows it, or, for an
    /// integration, one of its scopes does.
    pub fn allows(&self, principal: &Principal, rpc: &RpcPath) -> bool {
        let by_role = principal.roles.iter().any(|role| {
            self.roles
                .get(role)
                .is_some_and(|rules| rules.iter().any(|rule| rule.allows(rpc)))
        });
        let by_scope = principal.has_role(Role::Integration)
            && principal
                .scopes
                .iter()
                .filter_map(|scope| Rule::parse(scope).ok())
                .any(|rule| rule.allows(rpc));
        by_role || by_scope
    }
}

/// The methods anyone may call without credentials: the survey page a customer opens from an
/// invitation link reads the survey (`LookupInvitation`) and answers it (`SubmitResponse`)
/// with the invitation's token as the only credential (the feedback service refuses an
/// unknown or expired token with `NOT_FOUND` or `INVALID_ARGUMENT`). Exactly these two: every
/// other method, and these two when credentials are sent, go through authentication and
/// the role policy.
const ANONYMOUS: [&str; 2] = [
    "aftercare.feedback.v1.FeedbackService/LookupInvitation",
    "aftercare.feedback.v1.FeedbackService/SubmitResponse",
];

/// Whether `rpc` may be called without credentials (see [`ANONYMOUS`]).
pub fn allows_anonymous(rpc: &RpcPath) -> bool {
    ANONYMOUS.contains(&rpc.full().as_str())
}

fn method(service: &str, method: &str) -> String {
    format!("{service}/{method}")
}

/// Knowledge methods by the knowledge service's actions (domain/access.rs there): authors
/// write drafts and handle gaps, reviewers approve, category managers keep the tree; only
/// admins publish and archive.
const KNOWLEDGE_AUTHOR: [&str; 9] = [
    "CreateArticle",
    "CreateArticleVersion",
    "UpdateArticle",
    "DeleteArticle",
    "SubmitArticleForReview",
    "ResolveContentGap",
    "DismissContentGap",
    "RateArticle",
    "RecordSuggestionOutcome",
];
const KNOWLEDGE_REVIEWER: [&str; 5] = [
    "ApproveArticle",
    "RejectArticle",
    "CreateCategory",
    "UpdateCategory",
    "DeleteCategory",
];

fn knowledge(methods: &[&str]) -> Vec<String> {
    methods.iter().map(|name| method(KNOWLEDGE, name)).collect()
}

/// The default rules of every role.
fn defaults() -> Vec<(Role, Vec<String>)> {
    let customer = [
        "tickets.read".to_owned(),
        method(TICKETS, "CreateTicket"),
        method(TICKETS, "CreateMessage"),
        "after_sales.read".to_owned(),
        method(AFTER_SALES, "CreateAfterSalesCase"),
        method(AFTER_SALES, "ConfirmAfterSalesCase"),
        method(CUSTOMERS, "GetCustomer"),
        method(CUSTOMERS, "ListIdentities"),
        method(CUSTOMERS, "ListConsents"),
        method(CUSTOMERS, "SetConsent"),
        method(CUSTOMERS, "ExportCustomerData"),
        method(CUSTOMERS, "GetLoyaltyBalance"),
        method(CUSTOMERS, "ListLoyaltyEntries"),
        method(FEEDBACK, "LookupInvitation"),
        method(FEEDBACK, "GetInvitation"),
        method(FEEDBACK, "ListInvitations"),
        method(FEEDBACK, "SubmitResponse"),
        // A customer answers an invitation sent after a resolution as themselves (only the
        // token's hash is stored), and reads their own responses.
        method(FEEDBACK, "CreateResponse"),
        method(FEEDBACK, "GetResponse"),
        method(FEEDBACK, "ListResponses"),
        method(FEEDBACK, "CreateFeedbackItem"),
        method(FEEDBACK, "GetFeedbackItem"),
        method(FEEDBACK, "ListFeedbackItems"),
        "knowledge.read".to_owned(),
        method(KNOWLEDGE, "ViewArticle"),
        method(KNOWLEDGE, "RateArticle"),
        method(KNOWLEDGE, "RecordSuggestionOutcome"),
    ];
    let agent: Vec<String> = [
        "tickets.*",
        "after_sales.*",
        "sla.read",
        "customers.*",
        "feedback.*",
        "knowledge.read",
        "workforce.read",
        "training.read",
        "performance.read",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain([
        method(KNOWLEDGE, "ViewArticle"),
        method(WORKFORCE, "SetPresence"),
        method(TRAINING, "SubmitAssessment"),
    ])
    .chain(knowledge(&KNOWLEDGE_AUTHOR))
    .collect();
    let specialist = agent.clone();
    let reviewer = |rules: &[&str]| -> Vec<String> {
        rules
            .iter()
            .map(|r| (*r).to_owned())
            .chain([
                "knowledge.read".to_owned(),
                method(KNOWLEDGE, "ViewArticle"),
            ])
            .chain(knowledge(&KNOWLEDGE_AUTHOR))
            .chain(knowledge(&KNOWLEDGE_REVIEWER))
            .collect()
    };
    // SLA policies and calendars are changed by admins only (the tickets service's rule);
    // leads read them.
    let lead = reviewer(&[
        "tickets.*",
        "after_sales.*",
        "sla.read",
        "customers.*",
        "feedback.*",
        "workforce.*",
        "training.read",
        "performance.*",
    ]);
    let trainer = reviewer(&[
        "training.*",
        "performance.*",
        "workforce.read",
        "tickets.read",
        "feedback.read",
    ]);
    let owned = |rules: &[&str]| rules.iter().map(|r| (*r).to_owned()).collect::<Vec<_>>();
    vec![
        (Role::Customer, customer.to_vec()),
        (Role::Agent, agent),
        (Role::Specialist, specialist),
        (Role::Lead, lead),
        (Role::Trainer, trainer),
        (Role::Analyst, owned(&["*.read"])),
        (Role::Admin, owned(&["*"])),
        (Role::Integration, Vec::new()),
        (Role::Service, owned(&["*"])),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(roles: &[Role], scopes: &[&str]) -> Principal {
        Principal {
            subject: "x".into(),
            roles: roles.to_vec(),
            region: None,
            customer: None,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            display_name: None,
            via: None,
        }
    }

    fn rpc(full: &str) -> RpcPath {
        RpcPath::parse(&format!("/{full}")).unwrap()
    }

    #[test]
    fn only_the_two_invitation_token_methods_are_anonymous() {
        assert!(allows_anonymous(&rpc(&method(
            FEEDBACK,
            "LookupInvitation"
        ))));
        assert!(allows_anonymous(&rpc(&method(FEEDBACK, "SubmitResponse"))));
        for other in [
            method(FEEDBACK, "CreateResponse"),
            method(FEEDBACK, "GetInvitation"),
            method(FEEDBACK, "ListResponses"),
            method(FEEDBACK, "CreateInvitation"),
            method(TICKETS, "GetTicket"),
            method(CUSTOMERS, "GetCustomer"),
            // Same method name on another service, or another package version.
            "aftercare.feedback.v2.FeedbackService/SubmitResponse".to_owned(),
            "aftercare.tickets.v1.TicketService/SubmitResponse".to_owned(),
        ] {
            assert!(!allows_anonymous(&rpc(&other)), "{other}");
        }
    }

    #[test]
    fn defaults_let_customers_open_tickets_but_not_assign_them() {
        let policy = Policy::new(&BTreeMap::new()).unwrap();
        let customer = principal(&[Role::Customer], &[]);
        assert!(policy.allows(&customer, &rpc(&method(TICKETS, "CreateTicket"))));
        assert!(policy.allows(&customer, &rpc(&method(TICKETS, "GetTicket"))));
        assert!(!policy.allows(&customer, &rpc(&method(TICKETS, "AssignTicket"))));
        assert!(!policy.allows(&customer, &rpc(&method(WORKFORCE, "ListAgents"))));
    }

    /// The gateway's side of the rules the services enforce per resource: where a service
    /// refuses a role outright, the gateway refuses it too (and says so before any work), and
    /// where the gateway lets a role through, the service has a rule for it.
    const AGREED: &[(Role, &str, &str, bool)] = &[
        // A customer reopens a ticket by replying to it; ReopenTicket is staff-only.
        (Role::Customer, TICKETS, "ReopenTicket", false),
        (Role::Customer, TICKETS, "CreateMessage", true),
        (Role::Customer, TICKETS, "AssignTicket", false),
        (Role::Customer, TICKETS, "ListTickets", true),
        // After-sales: a customer applies and confirms; cancelling is staff-only.
        (Role::Customer, AFTER_SALES, "CreateAfterSalesCase", true),
        (Role::Customer, AFTER_SALES, "ConfirmAfterSalesCase", true),
        (Role::Customer, AFTER_SALES, "CancelAfterSalesCase", false),
        // SLA policies and calendars: admins write, staff read.
        (
            Role::Lead,
            "aftercare.tickets.v1.SlaService",
            "CreateSlaPolicy",
            false,
        ),
        (
            Role::Lead,
            "aftercare.tickets.v1.SlaService",
            "ListSlaPolicies",
            true,
        ),
        (
            Role::Agent,
            "aftercare.tickets.v1.SlaService",
            "UpdateSlaPolicy",
            false,
        ),
        (
            Role::Admin,
            "aftercare.tickets.v1.SlaService",
            "CreateSlaPolicy",
            true,
        ),
        (
            Role::Customer,
            "aftercare.tickets.v1.SlaService",
            "ListSlaPolicies",
            false,
        ),
        // Customers: a customer reads and exports their own record, never another's list.
        (Role::Customer, CUSTOMERS, "GetCustomer", true),
        (Role::Customer, CUSTOMERS, "ListCustomers", false),
        (Role::Customer, CUSTOMERS, "MergeCustomers", false),
        (Role::Agent, CUSTOMERS, "ResolveIdentity", true),
        // Workforce: customers nothing; analysts read performance.
        (Role::Customer, WORKFORCE, "GetAgent", false),
        (
            Role::Analyst,
            "aftercare.workforce.v1.PerformanceService",
            "GetAgentPerformance",
            true,
        ),
        (Role::Analyst, WORKFORCE, "UpdateAgent", false),
        // Knowledge: agents write drafts, only admins (and leads, trainers) go further.
        (Role::Agent, KNOWLEDGE, "CreateArticle", true),
        (Role::Agent, KNOWLEDGE, "SubmitArticleForReview", true),
        (Role::Agent, KNOWLEDGE, "PublishArticle", false),
        (Role::Lead, KNOWLEDGE, "PublishArticle", false),
        (Role::Lead, KNOWLEDGE, "ApproveArticle", true),
        (Role::Specialist, KNOWLEDGE, "ApproveArticle", false),
        (Role::Admin, KNOWLEDGE, "ArchiveArticle", true),
        (Role::Customer, KNOWLEDGE, "CreateArticle", false),
        // Feedback: customers answer and read their own; the service filters by owner.
        (Role::Customer, FEEDBACK, "CreateResponse", true),
        (Role::Customer, FEEDBACK, "ListResponses", true),
        (Role::Customer, FEEDBACK, "CreateSurvey", false),
    ];

    #[test]
    fn the_gateway_agrees_with_the_services_on_every_listed_rule() {
        let policy = Policy::new(&BTreeMap::new()).unwrap();
        for (role, service, name, allowed) in AGREED {
            let caller = principal(&[*role], &[]);
            assert_eq!(
                policy.allows(&caller, &rpc(&method(service, name))),
                *allowed,
                "{} calling {service}/{name}",
                role.as_str()
            );
        }
    }

    #[test]
    fn analysts_read_everything_and_write_nothing() {
        let policy = Policy::new(&BTreeMap::new()).unwrap();
        let analyst = principal(&[Role::Analyst], &[]);
        assert!(policy.allows(&analyst, &rpc(&method(WORKFORCE, "ListAgents"))));
        assert!(!policy.allows(&analyst, &rpc(&method(WORKFORCE, "CreateAgent"))));
    }

    #[test]
    fn integrations_may_call_what_their_scopes_allow() {
        let policy = Policy::new(&BTreeMap::new()).unwrap();
        let erp = principal(&[Role::Integration], &["tickets.write", "tickets.read"]);
        assert!(policy.allows(&erp, &rpc(&method(TICKETS, "CreateTicket"))));
        assert!(!policy.allows(&erp, &rpc(&method(CUSTOMERS, "GetCustomer"))));
        let scopes_only_count_for_integrations = principal(&[Role::Customer], &["*"]);
        assert!(!policy.allows(
            &scopes_only_count_for_integrations,
            &rpc(&method(WORKFORCE, "CreateAgent"))
        ));
    }

    #[test]
    fn configuration_replaces_a_roles_defaults() {
        let overrides = BTreeMap::from([(
            "analyst".to_owned(),
            vec![format!("{TICKETS}/*"), "sla.read".to_owned()],
        )]);
        let policy = Policy::new(&overrides).unwrap();
        let analyst = principal(&[Role::Analyst], &[]);
        assert!(policy.allows(&analyst, &rpc(&method(TICKETS, "AssignTicket"))));
        assert!(!policy.allows(&analyst, &rpc(&method(CUSTOMERS, "GetCustomer"))));
    }

    #[test]
    fn bad_overrides_are_refused_by_key() {
        let overrides = BTreeMap::from([
            ("wizard".to_owned(), vec!["*".to_owned()]),
            ("service".to_owned(), vec!["*".to_owned()]),
            ("agent".to_owned(), vec!["tickets.delete".to_owned()]),
        ]);
        let err = Policy::new(&overrides).unwrap_err();
        assert!(err.contains("gateway.policy.wizard"), "{err}");
        assert!(err.contains("gateway.policy.service"), "{err}");
        assert!(err.contains("gateway.policy.agent"), "{err}");
    }
}

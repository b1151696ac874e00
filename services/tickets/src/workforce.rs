//! The workforce service, as the tickets service uses it: the best available agent for a
//! ticket (`RouteTicket`).
//!
//! Routing never holds up or fails a create: the call has a short deadline, and any failure
//! (the service slow, down or refusing) is logged and answered with no agent, so the ticket
//! stays unassigned in its queue.
//!
//! What a ticket needs beyond its kind, product line and language (certifications, further
//! skills) comes from the configuration's `routing.requirements`: every rule the ticket
//! matches (kind, sub-kind, product line) adds its certifications and skills.

use std::time::Duration;

use aftercare_platform::auth::{Principal, PrincipalVerifier};
use aftercare_platform::config::RoutingRequirement;
use aftercare_platform::telemetry::TracedChannel;
use aftercare_proto::aftercare::workforce::v1 as pb;
use aftercare_proto::aftercare::workforce::v1::workforce_service_client::WorkforceServiceClient;

use crate::domain::{AgentName, Kind, SubKind, TeamName, Ticket, WireEnum};

/// How long a create or an `auto_route` waits for routing.
pub const ROUTING_DEADLINE: Duration = Duration::from_millis(300);

/// One rule of what tickets need, parsed from `routing.requirements`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    kind: Option<Kind>,
    sub_kind: Option<SubKind>,
    product_line: Option<String>,
    certifications: Vec<String>,
    skills: Vec<(String, u8)>,
}

/// What tickets need from the agent they are routed to, by kind, sub-kind and product line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirements {
    rules: Vec<Rule>,
}

impl Requirements {
    /// The rules of `routing.requirements`; a kind or sub-kind the contract does not name is
    /// refused, naming the rule (the platform has checked the codes and skill names).
    pub fn parse(rules: &[RoutingRequirement]) -> Result<Self, String> {
        let mut parsed = Vec::with_capacity(rules.len());
        for (i, rule) in rules.iter().enumerate() {
            let kind = match rule.kind.as_deref() {
                Some(text) => Some(Kind::parse(text).ok_or_else(|| {
                    format!("routing.requirements[{i}].kind: `{text}` is not a ticket kind")
                })?),
                None => None,
            };
            let sub_kind = match rule.sub_kind.as_deref() {
                Some(text) => Some(SubKind::parse(text).ok_or_else(|| {
                    format!("routing.requirements[{i}].sub_kind: `{text}` is not a sub-kind")
                })?),
                None => None,
            };
            parsed.push(Rule {
                kind,
                sub_kind,
                product_line: rule
                    .product_line
                    .as_deref()
                    .map(|l| l.trim().to_lowercase()),
                certifications: rule.certifications.clone(),
                skills: rule
                    .skills
                    .iter()
                    .map(|s| (s.skill.clone(), s.min_level))
                    .collect(),
            });
        }
        Ok(Self { rules: parsed })
    }

    /// The certifications and skills `ticket` needs: those of every rule it matches, each
    /// once (a skill at the highest level asked).
    fn of(&self, ticket: &Ticket) -> (Vec<String>, Vec<pb::RequiredSkill>) {
        let line = ticket.product.product_line.trim().to_lowercase();
        let mut certifications: Vec<String> = Vec::new();
        let mut skills: Vec<pb::RequiredSkill> = Vec::new();
        for rule in self.rules.iter().filter(|r| {
            r.kind.is_none_or(|k| k == ticket.kind)
                && r.sub_kind.is_none_or(|s| Some(s) == ticket.sub_kind)
                && r.product_line.as_ref().is_none_or(|l| *l == line)
        }) {
            for code in &rule.certifications {
                if !certifications.contains(code) {
                    certifications.push(code.clone());
                }
            }
            for (skill, level) in &rule.skills {
                let level = i32::from(*level);
                match skills.iter_mut().find(|s| s.skill == *skill) {
                    Some(held) => held.min_level = held.min_level.max(level),
                    None => skills.push(pb::RequiredSkill {
                        skill: skill.clone(),
                        min_level: level,
                    }),
                }
            }
        }
        (certifications, skills)
    }
}

/// A client of the workforce service.
#[derive(Debug, Clone)]
pub struct Workforce {
    client: WorkforceServiceClient<TracedChannel>,
    principals: PrincipalVerifier,
    requirements: Requirements,
}

impl Workforce {
    /// A workforce service reached through `channel`, signing principals with `principals`,
    /// asked for agents meeting `requirements`.
    pub fn new(
        channel: TracedChannel,
        principals: PrincipalVerifier,
        requirements: Requirements,
    ) -> Self {
        Self {
            client: WorkforceServiceClient::new(channel),
            principals,
            requirements,
        }
    }

    /// The agent the workforce service chooses (and holds) for `ticket`, asked as
    /// `principal`, within `team` (else the ticket's team) when given; `None` when nobody is
    /// available or the service does not answer in time.
    pub async fn route(
        &self,
        principal: &Principal,
        ticket: &Ticket,
        team: Option<&TeamName>,
    ) -> Option<AgentName> {
        let (required_certifications, required_skills) = self.requirements.of(ticket);
        let mut request = tonic::Request::new(pb::RouteTicketRequest {
            ticket: ticket.name(),
            kind: ticket.kind.as_str().to_owned(),
            product_line: ticket.product.product_line.clone(),
            language: ticket
                .language_code
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            region: ticket.region.to_string(),
            priority: ticket.priority.rank(),
            teams: team
                .or(ticket.team.as_ref())
                .iter()
                .map(ToString::to_string)
                .collect(),
            required_certifications,
            required_skills,
            ..Default::default()
        });
        request.set_timeout(ROUTING_DEADLINE);
        self.principals
            .attach(principal, "workforce", request.metadata_mut());
        let answer =
            tokio::time::timeout(ROUTING_DEADLINE, self.client.clone().route_ticket(request)).await;
        let response = match answer {
            Ok(Ok(response)) => response.into_inner(),
            Ok(Err(status)) => {
                tracing::warn!(ticket = %ticket.id, code = ?status.code(), message = status.message(), "not routed: the workforce service refused");
                return None;
            }
            Err(_) => {
                tracing::warn!(ticket = %ticket.id, deadline = ?ROUTING_DEADLINE, "not routed: the workforce service did not answer in time");
                return None;
            }
        };
        let best = response.candidates.into_iter().next()?;
        match AgentName::parse(&best.agent) {
            Ok(agent) => Some(agent),
            Err(why) => {
                tracing::warn!(ticket = %ticket.id, agent = %best.agent, why, "not routed: the workforce service named no agent");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use aftercare_platform::config::RequiredSkillConfig;

    use super::*;
    use crate::domain::{
        Actor, ActorKind, Channel, CustomerName, NewTicket, Product, TicketCustomer,
    };

    fn ticket(kind: Kind, sub_kind: Option<SubKind>, product_line: &str) -> Ticket {
        let new = NewTicket {
            channel: Channel::Web,
            identity: None,
            external_id: None,
            subject: "The dryer stopped".into(),
            description: "It stops after five minutes".into(),
            kind: Some(kind),
            sub_kind,
            priority: None,
            product: Product {
                product_line: product_line.into(),
                ..Product::default()
            },
            region: None,
            service_centre: None,
            language_code: None,
            assignee: None,
            team: None,
            tags: Default::default(),
        };
        let customer = TicketCustomer {
            name: CustomerName::parse("customers/c1").unwrap(),
            display_name: String::new(),
            tier: String::new(),
            region: None,
            created: false,
        };
        let actor = Actor {
            kind: ActorKind::Agent,
            id: "agents/a".into(),
            display_name: String::new(),
        };
        new.into_ticket(customer, actor, None, 1_764_000_000_000_000)
            .0
    }

    const SKILL: &str = "skills/0192f0c4-0000-7000-8000-000000000001";

    fn rules() -> Requirements {
        Requirements::parse(&[
            RoutingRequirement {
                kind: Some("AFTER_SALES".into()),
                product_line: Some("Dryers".into()),
                certifications: vec!["dryer-repair".into()],
                skills: vec![RequiredSkillConfig {
                    skill: SKILL.into(),
                    min_level: 2,
                }],
                ..Default::default()
            },
            RoutingRequirement {
                sub_kind: Some("ON_SITE_VISIT".into()),
                certifications: vec!["field-safety".into(), "dryer-repair".into()],
                skills: vec![RequiredSkillConfig {
                    skill: SKILL.into(),
                    min_level: 4,
                }],
                ..Default::default()
            },
        ])
        .expect("valid rules")
    }

    #[test]
    fn a_ticket_needs_what_every_rule_it_matches_asks_once_at_the_highest_level() {
        let rules = rules();
        let (certs, skills) = rules.of(&ticket(Kind::AfterSales, None, "dryers"));
        assert_eq!(certs, ["dryer-repair"]);
        assert_eq!((skills[0].skill.as_str(), skills[0].min_level), (SKILL, 2));
        let visit = ticket(Kind::AfterSales, Some(SubKind::OnSiteVisit), " DRYERS ");
        let (certs, skills) = rules.of(&visit);
        assert_eq!(certs, ["dryer-repair", "field-safety"]);
        assert_eq!(skills.len(), 1);
        assert_eq!(skills[0].min_level, 4);
        // Another kind or product line matches no rule.
        assert_eq!(
            rules.of(&ticket(Kind::Inquiry, None, "dryers")),
            (vec![], vec![])
        );
        assert_eq!(
            rules.of(&ticket(Kind::AfterSales, None, "ovens")),
            (vec![], vec![])
        );
    }

    #[test]
    fn an_unknown_kind_or_sub_kind_names_its_rule() {
        let bad = |kind: Option<&str>, sub_kind: Option<&str>| {
            Requirements::parse(&[
                RoutingRequirement::default(),
                RoutingRequirement {
                    kind: kind.map(Into::into),
                    sub_kind: sub_kind.map(Into::into),
                    certifications: vec!["x".into()],
                    ..Default::default()
                },
            ])
            .unwrap_err()
        };
        assert_eq!(
            bad(Some("after_sales"), None),
            "routing.requirements[1].kind: `after_sales` is not a ticket kind"
        );
        assert_eq!(
            bad(None, Some("FIX")),
            "routing.requirements[1].sub_kind: `FIX` is not a sub-kind"
        );
    }
}

//! WatchTickets requests: the watched queue.

use aftercare_platform::error::FieldViolations;
use aftercare_proto::aftercare::tickets::v1 as pb;

use crate::domain::{
    AgentName, Comparison, FieldValue, Region, TeamName, Ticket, TicketCriterion, TicketField,
};
use crate::error::Error;
use crate::events::ResumeToken;

/// Whose tickets `assignee` selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssigneeFilter {
    /// Any.
    Any,
    /// Unassigned only (`-`).
    Unassigned,
    /// This agent's.
    Agent(AgentName),
}

/// A parsed WatchTickets: the queue.
#[derive(Debug, Clone)]
pub struct Queue {
    /// Only this team.
    pub team: Option<TeamName>,
    /// Only this region.
    pub region: Option<Region>,
    /// Only these assignees.
    pub assignee: AssigneeFilter,
    /// Whether to start with the queue's current tickets.
    pub send_initial: bool,
    /// Where a watch that ended resumes.
    pub resume: Option<ResumeToken>,
}

impl TryFrom<pb::WatchTicketsRequest> for Queue {
    type Error = Error;

    fn try_from(r: pb::WatchTicketsRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let team = (!r.team.is_empty())
            .then(|| v.check("team", TeamName::parse(&r.team)))
            .flatten();
        let region = (!r.region.is_empty())
            .then(|| v.check("region", Region::parse(&r.region)))
            .flatten();
        let assignee = match r.assignee.as_str() {
            "" => AssigneeFilter::Any,
            "-" => AssigneeFilter::Unassigned,
            name => v
                .check("assignee", AgentName::parse(name))
                .map_or(AssigneeFilter::Any, AssigneeFilter::Agent),
        };
        let resume = match r.resume_token.as_str() {
            "" => None,
            _ if r.send_initial => {
                v.add("resume_token", "cannot be combined with send_initial");
                None
            }
            token => v.check("resume_token", ResumeToken::parse(token)),
        };
        if !v.is_empty() {
            return Err(Error::Invalid(v));
        }
        Ok(Self {
            team,
            region,
            assignee,
            send_initial: r.send_initial,
            resume,
        })
    }
}

impl Queue {
    /// Whether a ticket with this team, region and assignee is in the queue.
    pub fn holds(&self, team: Option<&str>, region: &str, assignee: Option<&str>) -> bool {
        self.team.as_ref().is_none_or(|t| Some(t.as_ref()) == team)
            && self.region.as_ref().is_none_or(|r| r.as_ref() == region)
            && match &self.assignee {
                AssigneeFilter::Any => true,
                AssigneeFilter::Unassigned => assignee.is_none(),
                AssigneeFilter::Agent(a) => Some(a.as_ref()) == assignee,
            }
    }

    /// Whether `ticket` is in the queue.
    pub fn holds_ticket(&self, ticket: &Ticket) -> bool {
        self.holds(
            ticket.team.as_ref().map(AsRef::as_ref),
            ticket.region.as_ref(),
            ticket.assignee.as_ref().map(AsRef::as_ref),
        )
    }

    /// The filter listing the queue's open tickets.
    pub fn criteria(&self) -> Vec<TicketCriterion> {
        let eq = |field, value| TicketCriterion {
            field,
            op: Comparison::Eq,
            value,
        };
        let mut criteria = vec![TicketCriterion {
            field: TicketField::Status,
            op: Comparison::Ne,
            value: FieldValue::Text("CLOSED".into()),
        }];
        if let Some(team) = &self.team {
            criteria.push(eq(TicketField::Team, FieldValue::Text(team.to_string())));
        }
        if let Some(region) = &self.region {
            criteria.push(eq(
                TicketField::Region,
                FieldValue::Text(region.to_string()),
            ));
        }
        match &self.assignee {
            AssigneeFilter::Any => {}
            AssigneeFilter::Unassigned => {
                criteria.push(eq(TicketField::Assignee, FieldValue::Unset))
            }
            AssigneeFilter::Agent(a) => {
                criteria.push(eq(TicketField::Assignee, FieldValue::Text(a.to_string())));
            }
        }
        criteria
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::parse::tests::bad_fields;

    fn queue(team: &str, region: &str, assignee: &str) -> Result<Queue, Error> {
        Queue::try_from(pb::WatchTicketsRequest {
            team: team.into(),
            region: region.into(),
            assignee: assignee.into(),
            send_initial: true,
            resume_token: String::new(),
        })
    }

    #[test]
    fn watch_tickets_names_every_bad_field_at_once() {
        let fields = bad_fields(queue("team one", "Not A Region", "agents/").unwrap_err());
        assert_eq!(fields, ["team", "region", "assignee"]);
        assert_eq!(bad_fields(queue("", "", "bob").unwrap_err()), ["assignee"]);
        assert_eq!(
            bad_fields(queue("teams/", "eu-west", "-").unwrap_err()),
            ["team"]
        );
    }

    #[test]
    fn a_resume_token_must_be_one_a_response_carried_and_not_with_send_initial() {
        let watch = |resume_token: &str, send_initial| {
            Queue::try_from(pb::WatchTicketsRequest {
                resume_token: resume_token.into(),
                send_initial,
                ..Default::default()
            })
        };
        let resumed = watch("sAFTERCARE.7", false).unwrap();
        assert_eq!(resumed.resume.map(|t| t.position), Some(7));
        assert_eq!(
            bad_fields(watch("sAFTERCARE.7", true).unwrap_err()),
            ["resume_token"]
        );
        assert_eq!(
            bad_fields(watch("<script>", false).unwrap_err()),
            ["resume_token"]
        );
    }

    #[test]
    fn an_empty_queue_holds_every_open_ticket_and_a_dash_means_unassigned() {
        let all = queue("", "", "").unwrap();
        assert!(all.team.is_none() && all.region.is_none());
        assert_eq!(all.assignee, AssigneeFilter::Any);
        assert!(all.send_initial);
        assert!(all.holds(Some("teams/t1"), "eu-west", Some("agents/a1")));
        assert_eq!(all.criteria().len(), 1, "only tickets not closed");
        let unassigned = queue("", "", "-").unwrap();
        assert_eq!(unassigned.assignee, AssigneeFilter::Unassigned);
        assert!(unassigned.holds(None, "eu-west", None));
        assert!(!unassigned.holds(None, "eu-west", Some("agents/a1")));
        assert_eq!(
            unassigned.criteria().last().map(|c| &c.value),
            Some(&FieldValue::Unset)
        );
    }

    #[test]
    fn a_named_queue_holds_only_its_team_region_and_assignee() {
        let q = queue("teams/washers", "eu-west", "agents/a1").unwrap();
        assert_eq!(
            q.assignee,
            AssigneeFilter::Agent(AgentName::parse("agents/a1").unwrap())
        );
        assert!(q.holds(Some("teams/washers"), "eu-west", Some("agents/a1")));
        assert!(!q.holds(Some("teams/dryers"), "eu-west", Some("agents/a1")));
        assert!(!q.holds(Some("teams/washers"), "cn-east", Some("agents/a1")));
        assert!(!q.holds(Some("teams/washers"), "eu-west", Some("agents/a2")));
        assert!(!q.holds(None, "eu-west", Some("agents/a1")));
        let fields: Vec<TicketField> = q.criteria().iter().map(|c| c.field).collect();
        assert_eq!(
            fields,
            [
                TicketField::Status,
                TicketField::Team,
                TicketField::Region,
                TicketField::Assignee
            ]
        );
    }
}

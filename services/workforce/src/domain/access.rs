//! Who may do what. Admins and services everything; team leads manage the teams they lead
//! and those teams' members; trainers manage training; analysts read performance; agents
//! read themselves and their teams; customers and integrations nothing.

use aftercare_platform::auth::{Principal, Role};
use uuid::Uuid;

use super::agent::Agent;
use super::team::Team;

/// The caller: the verified principal and, when the principal is an agent of this
/// service, that agent's id and teams.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The principal.
    pub principal: Principal,
    /// The caller's agent record.
    pub agent: Option<Uuid>,
    /// Teams the caller belongs to.
    pub teams: Vec<Uuid>,
    /// Teams the caller leads (and holds the lead role for).
    pub led_teams: Vec<Uuid>,
}

/// How much of the staff directory a caller reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Every agent and team.
    All,
    /// Only the caller and the members of the caller's teams.
    Own {
        /// The caller's agent, if any.
        agent: Option<Uuid>,
        /// The caller's teams.
        teams: Vec<Uuid>,
    },
}

impl Caller {
    /// A caller with no agent record.
    pub fn anonymous(principal: Principal) -> Self {
        Self {
            principal,
            agent: None,
            teams: Vec::new(),
            led_teams: Vec::new(),
        }
    }

    /// A caller judged on the principal's roles alone, for actions no agent record
    /// changes (routing), so the record is not read.
    pub fn by_roles(principal: Principal) -> Self {
        Self::anonymous(principal)
    }

    /// Admins and services.
    pub fn is_admin(&self) -> bool {
        self.principal.has_any_role(&[Role::Admin, Role::Service])
    }

    fn is_lead(&self) -> bool {
        self.principal.has_role(Role::Lead)
    }

    /// Customers and integrations reach nothing here.
    pub fn is_outsider(&self) -> bool {
        !self.principal.is_staff() && !self.principal.has_role(Role::Service)
    }

    /// What the caller reads of agents and teams, or `None` for nothing.
    pub fn reach(&self) -> Option<Reach> {
        if self.is_outsider() {
            return None;
        }
        if self.is_admin()
            || self
                .principal
                .has_any_role(&[Role::Lead, Role::Trainer, Role::Analyst])
        {
            return Some(Reach::All);
        }
        Some(Reach::Own {
            agent: self.agent,
            teams: self.teams.clone(),
        })
    }

    /// Whether the caller may read `agent`.
    pub fn may_read_agent(&self, agent: &Agent) -> bool {
        match self.reach() {
            None => false,
            Some(Reach::All) => true,
            Some(Reach::Own { agent: me, teams }) => {
                me == Some(agent.id) || agent.teams.iter().any(|t| teams.contains(t))
            }
        }
    }

    /// Whether the caller may read `team`.
    pub fn may_read_team(&self, team: Uuid) -> bool {
        match self.reach() {
            None => false,
            Some(Reach::All) => true,
            Some(Reach::Own { teams, .. }) => teams.contains(&team),
        }
    }

    /// Whether the caller leads a team `agent` belongs to.
    pub fn leads_member(&self, agent: &Agent) -> bool {
        self.is_lead() && agent.teams.iter().any(|t| self.led_teams.contains(t))
    }

    /// Whether the caller leads `team`.
    pub fn leads(&self, team: Uuid) -> bool {
        self.is_lead() && self.led_teams.contains(&team)
    }

    /// Whether the caller may make `changes` to `agent`: admins any; a lead the working
    /// set-up of their members.
    pub fn may_update_agent(
        &self,
        agent: &Agent,
        changes: &[crate::domain::agent::Change],
    ) -> bool {
        self.is_admin()
            || (self.leads_member(agent)
                && changes
                    .iter()
                    .all(crate::domain::agent::Change::lead_may_make))
    }

    /// Whether the caller may change an enrolment of `agent`: trainers and admins any; an
    /// agent reports their own progress (but does not move the due time).
    pub fn may_update_enrolment(&self, agent: Uuid, changes_due_time: bool) -> bool {
        self.may_manage_training() || (self.agent == Some(agent) && !changes_due_time)
    }

    /// Whether the caller manages `team` (update, membership).
    pub fn may_manage_team(&self, team: &Team) -> bool {
        self.is_admin() || self.leads(team.id)
    }

    /// Whether the caller may set `agent`'s presence: themselves, their lead, admins.
    pub fn may_set_presence(&self, agent: &Agent) -> bool {
        self.is_admin() || self.agent == Some(agent.id) || self.leads_member(agent)
    }

    /// Whether the caller may ask routing for candidates.
    pub fn may_route(&self) -> bool {
        !self.is_outsider()
    }

    /// Whether the caller may read the catalogue (skills, shifts, courses).
    pub fn may_read_catalogue(&self) -> bool {
        !self.is_outsider()
    }

    /// Whether the caller manages training: courses, enrolments, grading, certifications.
    pub fn may_manage_training(&self) -> bool {
        self.is_admin() || self.principal.has_role(Role::Trainer)
    }

    /// Whether the caller reads `agent`'s training record (enrolments, assessments,
    /// certifications): themselves, or leads, trainers, analysts, admins and services.
    pub fn may_read_training_of(&self, agent: Uuid) -> bool {
        match self.reach() {
            None => false,
            Some(Reach::All) => true,
            Some(Reach::Own { agent: me, .. }) => me == Some(agent),
        }
    }

    /// Whether the caller reads all performance figures (analysts, trainers, admins,
    /// services).
    pub fn reads_all_performance(&self) -> bool {
        self.is_admin() || self.principal.has_any_role(&[Role::Analyst, Role::Trainer])
    }

    /// Whether the caller reads `agent`'s performance: themselves, their lead, or a
    /// reader of all performance.
    pub fn may_read_performance_of(&self, agent: &Agent) -> bool {
        !self.is_outsider()
            && (self.reads_all_performance()
                || self.agent == Some(agent.id)
                || self.leads_member(agent))
    }

    /// Whether the caller reads `team`'s performance: its lead, its members, or a reader
    /// of all performance.
    pub fn may_read_team_performance(&self, team: Uuid) -> bool {
        !self.is_outsider()
            && (self.reads_all_performance() || self.leads(team) || self.teams.contains(&team))
    }

    /// The one agent whose training record the caller is limited to, if limited.
    pub fn training_limited_to(&self) -> Option<Option<Uuid>> {
        match self.reach() {
            Some(Reach::Own { agent, .. }) => Some(agent),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::agent::tests_support::agent_in;

    fn principal(roles: Vec<Role>) -> Principal {
        Principal {
            subject: "x".into(),
            roles,
            region: None,
            customer: None,
            scopes: vec![],
            display_name: None,
            via: None,
        }
    }

    #[test]
    fn customers_and_integrations_reach_nothing() {
        for role in [Role::Customer, Role::Integration] {
            let caller = Caller::anonymous(principal(vec![role]));
            assert_eq!(caller.reach(), None);
            assert!(!caller.may_route());
        }
    }

    #[test]
    fn agents_read_themselves_and_their_teammates_only() {
        let team = Uuid::now_v7();
        let me = agent_in(vec![team]);
        let mate = agent_in(vec![team]);
        let stranger = agent_in(vec![Uuid::now_v7()]);
        let caller = Caller {
            principal: principal(vec![Role::Agent]),
            agent: Some(me.id),
            teams: vec![team],
            led_teams: vec![],
        };
        assert!(caller.may_read_agent(&me));
        assert!(caller.may_read_agent(&mate));
        assert!(!caller.may_read_agent(&stranger));
        assert!(caller.may_read_team(team));
        assert!(caller.may_set_presence(&me));
        assert!(!caller.may_set_presence(&mate));
    }

    #[test]
    fn leads_change_their_members_working_set_up_and_agents_report_their_own_progress() {
        use crate::domain::agent::Change;
        let led = Uuid::now_v7();
        let me = Uuid::now_v7();
        let lead = Caller {
            principal: principal(vec![Role::Lead]),
            agent: Some(me),
            teams: vec![led],
            led_teams: vec![led],
        };
        let member = agent_in(vec![led]);
        assert!(lead.may_update_agent(&member, &[Change::Capacity(3)]));
        assert!(!lead.may_update_agent(&member, &[Change::Email("x@example.com".into())]));
        assert!(!lead.may_update_agent(&agent_in(vec![]), &[Change::Capacity(3)]));
        assert!(lead.may_update_enrolment(me, false));
        assert!(
            !lead.may_update_enrolment(me, true),
            "due times are the trainers'"
        );
        assert!(!lead.may_update_enrolment(Uuid::now_v7(), false));
    }

    #[test]
    fn leads_manage_only_the_teams_they_lead() {
        let led = Uuid::now_v7();
        let other = Uuid::now_v7();
        let caller = Caller {
            principal: principal(vec![Role::Lead]),
            agent: Some(Uuid::now_v7()),
            teams: vec![led, other],
            led_teams: vec![led],
        };
        assert!(caller.leads_member(&agent_in(vec![led])));
        assert!(!caller.leads_member(&agent_in(vec![other])));
        assert!(caller.may_read_agent(&agent_in(vec![])));
        let mut no_role = caller.clone();
        no_role.principal = principal(vec![Role::Agent]);
        assert!(!no_role.leads(led));
    }
}

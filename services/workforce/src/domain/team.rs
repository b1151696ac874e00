//! Teams and their escalation tier.

use uuid::Uuid;

use super::agent::{Agent, AgentState, StaffRole, numbered};
use super::{Refused, check_version};

numbered!(
    /// The escalation ladder.
    Tier {
        /// Tier 1.
        FirstLine = 1,
        /// Tier 2.
        TechnicalSpecialist = 2,
        /// Tier 3.
        TeamLead = 3,
    }
);

/// A team as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    /// Id.
    pub id: Uuid,
    /// 1 to 200 characters, unique (case-insensitively).
    pub display_name: String,
    /// At most 2000 characters.
    pub description: Option<String>,
    /// Region code.
    pub region: String,
    /// Service centre code.
    pub service_centre: Option<String>,
    /// The lead, a member holding the team-lead role.
    pub lead: Option<Uuid>,
    /// The tier the team takes.
    pub tier: Tier,
    /// Non-deleted members (output only).
    pub member_count: i64,
    /// Version for the etag.
    pub version: i64,
    /// Created.
    pub create_time: i64,
    /// Last changed.
    pub update_time: i64,
}

/// One field of a team update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeamChange {
    /// `display_name`.
    DisplayName(String),
    /// `description`.
    Description(Option<String>),
    /// `region`.
    Region(String),
    /// `service_centre`.
    ServiceCentre(Option<String>),
    /// `lead`.
    Lead(Option<Uuid>),
    /// `escalation_tier`.
    Tier(Tier),
}

impl Team {
    /// A new team, without a lead or members, at version 1.
    pub fn new(
        display_name: String,
        description: Option<String>,
        region: String,
        service_centre: Option<String>,
        tier: Tier,
        now: i64,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            display_name,
            description,
            region,
            service_centre,
            lead: None,
            tier,
            member_count: 0,
            version: 1,
            create_time: now,
            update_time: now,
        }
    }

    /// Whether `agent` may lead the team: an active member holding the team-lead role.
    pub fn fits_lead(&self, agent: &Agent) -> bool {
        !agent.is_deleted()
            && agent.profile.state == AgentState::Active
            && agent.profile.roles.contains(&StaffRole::TeamLead)
            && agent.teams.contains(&self.id)
    }

    /// Applies an update made against `version` (the etag sent), raising the version when
    /// anything changed; returns whether it did.
    pub fn update(
        &mut self,
        version: i64,
        changes: Vec<TeamChange>,
        now: i64,
    ) -> Result<bool, Refused> {
        check_version(self.version, version)?;
        if !self.apply(changes) {
            return Ok(false);
        }
        self.version += 1;
        self.update_time = now;
        Ok(true)
    }

    /// Applies changes, returning whether anything changed.
    pub fn apply(&mut self, changes: Vec<TeamChange>) -> bool {
        let before = self.clone();
        for change in changes {
            match change {
                TeamChange::DisplayName(v) => self.display_name = v,
                TeamChange::Description(v) => self.description = v,
                TeamChange::Region(v) => self.region = v,
                TeamChange::ServiceCentre(v) => self.service_centre = v,
                TeamChange::Lead(v) => self.lead = v,
                TeamChange::Tier(v) => self.tier = v,
            }
        }
        *self != before
    }
}

impl TeamChange {
    /// Whether only an admin may make the change (the lead and the region), not the
    /// team's lead.
    pub fn admin_only(&self) -> bool {
        matches!(self, Self::Lead(_) | Self::Region(_))
    }
}

/// The display key teams are unique and ordered by.
pub fn display_key(name: &str) -> String {
    name.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::agent::tests_support::agent_in;

    #[test]
    fn a_lead_is_an_active_member_holding_the_lead_role() {
        let team = Team::new(
            "Washers".into(),
            None,
            "eu-west".into(),
            None,
            Tier::FirstLine,
            1,
        );
        let mut lead = agent_in(vec![team.id]);
        assert!(!team.fits_lead(&lead), "no lead role");
        lead.profile.roles.push(StaffRole::TeamLead);
        assert!(team.fits_lead(&lead));
        let mut outsider = lead.clone();
        outsider.teams.clear();
        assert!(!team.fits_lead(&outsider), "not a member");
        lead.profile.state = AgentState::Inactive;
        assert!(!team.fits_lead(&lead), "inactive");
    }

    #[test]
    fn only_admins_move_the_lead_or_region_and_updates_check_the_etag() {
        assert!(TeamChange::Lead(None).admin_only());
        assert!(TeamChange::Region("x".into()).admin_only());
        assert!(!TeamChange::DisplayName("x".into()).admin_only());
        let mut team = Team::new(
            "Washers".into(),
            None,
            "eu-west".into(),
            None,
            Tier::FirstLine,
            1,
        );
        assert_eq!(team.update(2, vec![], 3), Err(Refused::Stale));
        assert_eq!(
            team.update(1, vec![TeamChange::Tier(Tier::FirstLine)], 3),
            Ok(false)
        );
        assert_eq!(
            team.update(1, vec![TeamChange::Tier(Tier::TeamLead)], 3),
            Ok(true)
        );
        assert_eq!((team.version, team.update_time), (2, 3));
    }
}

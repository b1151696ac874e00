//! Agents: their profile, the rules of an update, presence and load.

use uuid::Uuid;

use super::values::LanguageTag;
use super::{Refused, check_version};

/// Declares a domain enum whose discriminants are the contract's numbers.
macro_rules! numbered {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $n:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize,
            serde::Deserialize,
        )]
        pub enum $name { $($(#[$vmeta])* $variant = $n),+ }

        impl $name {
            /// The value for a contract number.
            pub fn from_number(number: i64) -> Option<Self> {
                match number { $($n => Some(Self::$variant),)+ _ => None }
            }

            /// The contract number.
            pub fn number(self) -> i64 {
                self as i64
            }
        }
    };
}
pub(crate) use numbered;

numbered!(
    /// A staff role.
    StaffRole {
        /// First-line agent (tier 1).
        Agent = 1,
        /// Technical specialist (tier 2).
        Specialist = 2,
        /// Team lead (tier 3).
        TeamLead = 3,
        /// Trainer and quality reviewer.
        Trainer = 4,
        /// Analyst.
        Analyst = 5,
        /// Administrator.
        Admin = 6,
    }
);

numbered!(
    /// Whether an agent works.
    AgentState {
        /// Works.
        Active = 1,
        /// Does not.
        Inactive = 2,
    }
);

numbered!(
    /// Availability.
    PresenceState {
        /// Accepting tickets.
        Available = 1,
        /// Working, not accepting.
        Busy = 2,
        /// Away.
        Away = 3,
        /// Signed out.
        Offline = 4,
    }
);

/// After this long without a heartbeat an agent counts as offline (15 minutes).
pub const HEARTBEAT_TIMEOUT_MICROS: i64 = 15 * 60 * 1_000_000;

/// Default capacity when none is given.
pub const DEFAULT_CAPACITY: i64 = 5;

/// A skill held at a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldSkill {
    /// The skill.
    pub skill: Uuid,
    /// 1 to 5.
    pub level: u8,
}

/// What an agent is, as managed by admins and leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// 1 to 200 characters.
    pub display_name: String,
    /// Lower-cased.
    pub email: String,
    /// The JWT `sub` the gateway maps to this agent.
    pub identity_subject: Option<String>,
    /// At least one, no duplicates.
    pub roles: Vec<StaffRole>,
    /// Region code.
    pub region: String,
    /// Service centre code.
    pub service_centre: Option<String>,
    /// Languages, most fluent first.
    pub languages: Vec<LanguageTag>,
    /// Skills, each once.
    pub skills: Vec<HeldSkill>,
    /// 1 to 100.
    pub max_concurrent_tickets: i64,
    /// The shift.
    pub shift: Option<Uuid>,
    /// Active or not.
    pub state: AgentState,
}

/// An agent's live availability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    /// The state.
    pub state: PresenceState,
    /// Status text.
    pub status_message: String,
    /// When `state` last changed.
    pub state_change_time: i64,
    /// The last heartbeat.
    pub heartbeat_time: i64,
    /// When anything here changed.
    pub update_time: i64,
    /// When a ticket was last assigned.
    pub last_assign_time: Option<i64>,
}

/// An agent as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// Id.
    pub id: Uuid,
    /// The profile.
    pub profile: Profile,
    /// Teams, in the order joined.
    pub teams: Vec<Uuid>,
    /// Presence.
    pub presence: Presence,
    /// Tickets assigned (or held by routing) and not resolved.
    pub active_tickets: i64,
    /// Version for the etag.
    pub version: i64,
    /// Created.
    pub create_time: i64,
    /// Last changed.
    pub update_time: i64,
    /// Soft-deleted.
    pub delete_time: Option<i64>,
}

/// One field of an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `display_name`.
    DisplayName(String),
    /// `email`.
    Email(String),
    /// `identity_subject`.
    IdentitySubject(Option<String>),
    /// `roles`.
    Roles(Vec<StaffRole>),
    /// `region`.
    Region(String),
    /// `service_centre`.
    ServiceCentre(Option<String>),
    /// `languages`.
    Languages(Vec<LanguageTag>),
    /// `skills`.
    Skills(Vec<HeldSkill>),
    /// `max_concurrent_tickets`.
    Capacity(i64),
    /// `shift`.
    Shift(Option<Uuid>),
    /// `state`.
    State(AgentState),
}

impl Change {
    /// The field path.
    pub fn field(&self) -> &'static str {
        match self {
            Self::DisplayName(_) => "display_name",
            Self::Email(_) => "email",
            Self::IdentitySubject(_) => "identity_subject",
            Self::Roles(_) => "roles",
            Self::Region(_) => "region",
            Self::ServiceCentre(_) => "service_centre",
            Self::Languages(_) => "languages",
            Self::Skills(_) => "skills",
            Self::Capacity(_) => "max_concurrent_tickets",
            Self::Shift(_) => "shift",
            Self::State(_) => "state",
        }
    }

    /// Whether a team lead may make this change to a member of their team: the working
    /// set-up (skills, languages, capacity, shift, centre, state), not identity or roles.
    pub fn lead_may_make(&self) -> bool {
        matches!(
            self,
            Self::Languages(_)
                | Self::Skills(_)
                | Self::Capacity(_)
                | Self::Shift(_)
                | Self::ServiceCentre(_)
                | Self::State(_)
        )
    }
}

impl Agent {
    /// A new active agent, offline, with no load.
    pub fn new(profile: Profile, now: i64) -> Self {
        Self {
            id: Uuid::now_v7(),
            profile,
            teams: Vec::new(),
            presence: Presence {
                state: PresenceState::Offline,
                status_message: String::new(),
                state_change_time: now,
                heartbeat_time: now,
                update_time: now,
                last_assign_time: None,
            },
            active_tickets: 0,
            version: 1,
            create_time: now,
            update_time: now,
            delete_time: None,
        }
    }

    /// Whether the agent is deleted.
    pub fn is_deleted(&self) -> bool {
        self.delete_time.is_some()
    }

    /// Applies `changes`, returning the fields that really changed.
    pub fn apply(&mut self, changes: Vec<Change>) -> Vec<String> {
        let mut changed = Vec::new();
        for change in changes {
            let field = change.field();
            let p = &mut self.profile;
            let differs = match change {
                Change::DisplayName(v) => replace(&mut p.display_name, v),
                Change::Email(v) => replace(&mut p.email, v),
                Change::IdentitySubject(v) => replace(&mut p.identity_subject, v),
                Change::Roles(v) => replace(&mut p.roles, v),
                Change::Region(v) => replace(&mut p.region, v),
                Change::ServiceCentre(v) => replace(&mut p.service_centre, v),
                Change::Languages(v) => replace(&mut p.languages, v),
                Change::Skills(v) => replace(&mut p.skills, v),
                Change::Capacity(v) => replace(&mut p.max_concurrent_tickets, v),
                Change::Shift(v) => replace(&mut p.shift, v),
                Change::State(v) => replace(&mut p.state, v),
            };
            if differs {
                changed.push(field.to_owned());
            }
        }
        if self.profile.state == AgentState::Inactive {
            self.presence.state = PresenceState::Offline;
        }
        changed
    }

    /// Applies an update made against `version` (the etag sent), raising the version when
    /// anything changed; returns the fields that changed. Deleted agents are not changed.
    pub fn update(
        &mut self,
        version: i64,
        changes: Vec<Change>,
        now: i64,
    ) -> Result<Vec<String>, Refused> {
        check_version(self.version, version)?;
        if self.is_deleted() {
            return Err(Refused::State("the agent is deleted"));
        }
        let changed = self.apply(changes);
        if !changed.is_empty() {
            self.version += 1;
            self.update_time = now;
        }
        Ok(changed)
    }

    /// Deletes the agent at `version` (the etag sent); returns the fields that changed.
    pub fn remove(&mut self, version: i64, now: i64) -> Result<Vec<String>, Refused> {
        check_version(self.version, version)?;
        if self.is_deleted() {
            return Err(Refused::State("the agent is already deleted"));
        }
        self.delete(now);
        Ok(["delete_time", "state", "teams", "shift"]
            .map(str::to_owned)
            .to_vec())
    }

    /// Soft-deletes: inactive, offline, no teams, no shift.
    pub fn delete(&mut self, now: i64) {
        self.delete_time = Some(now);
        self.profile.state = AgentState::Inactive;
        self.profile.shift = None;
        self.teams.clear();
        if self.presence.state != PresenceState::Offline {
            self.presence.state = PresenceState::Offline;
            self.presence.state_change_time = now;
        }
        self.presence.update_time = now;
        self.version += 1;
        self.update_time = now;
    }

    /// The presence an agent shows now: a stale heartbeat reads as offline.
    pub fn effective_presence(&self, now: i64) -> PresenceState {
        if self.presence.state != PresenceState::Offline
            && now - self.presence.heartbeat_time > HEARTBEAT_TIMEOUT_MICROS
        {
            PresenceState::Offline
        } else {
            self.presence.state
        }
    }

    /// The heartbeat stopped: the agent goes offline; returns the state before, unless the
    /// agent was offline already.
    pub fn time_out(&mut self, now: i64) -> Option<PresenceState> {
        let previous = self.presence.state;
        if previous == PresenceState::Offline {
            return None;
        }
        self.presence.state = PresenceState::Offline;
        self.presence.state_change_time = now;
        self.presence.update_time = now;
        Some(previous)
    }

    /// Sets presence (also a heartbeat); returns the previous state when the state changed.
    /// Inactive or deleted agents can only be offline.
    pub fn set_presence(
        &mut self,
        state: PresenceState,
        status_message: String,
        active_tickets: Option<i64>,
        now: i64,
    ) -> Result<Option<PresenceState>, &'static str> {
        if (self.is_deleted() || self.profile.state == AgentState::Inactive)
            && state != PresenceState::Offline
        {
            return Err("inactive or deleted agents can only be offline");
        }
        let previous = self.effective_presence(now);
        self.presence.status_message = status_message;
        self.presence.heartbeat_time = now;
        self.presence.update_time = now;
        if let Some(load) = active_tickets {
            self.active_tickets = load;
        }
        if previous != state || self.presence.state != state {
            self.presence.state = state;
            self.presence.state_change_time = now;
            return Ok(Some(previous).filter(|previous| *previous != state));
        }
        Ok(None)
    }
}

fn replace<T: PartialEq>(slot: &mut T, value: T) -> bool {
    if *slot == value {
        false
    } else {
        *slot = value;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_is_refused_on_a_stale_etag_or_a_deleted_agent_and_raises_the_version_once() {
        let mut agent = Agent::new(profile(), 1);
        assert_eq!(agent.update(2, vec![], 5), Err(Refused::Stale));
        assert_eq!(
            agent.update(1, vec![Change::Capacity(DEFAULT_CAPACITY)], 5),
            Ok(vec![])
        );
        assert_eq!(agent.version, 1, "nothing changed, no new version");
        assert_eq!(
            agent.update(1, vec![Change::Capacity(9)], 5),
            Ok(vec!["max_concurrent_tickets".to_owned()])
        );
        assert_eq!((agent.version, agent.update_time), (2, 5));
        agent.remove(2, 6).unwrap();
        assert!(matches!(
            agent.update(3, vec![Change::Capacity(3)], 7),
            Err(Refused::State(_))
        ));
        assert!(matches!(agent.remove(3, 7), Err(Refused::State(_))));
    }

    #[test]
    fn a_stopped_heartbeat_takes_an_online_agent_offline_once() {
        let mut agent = Agent::new(profile(), 1);
        assert_eq!(agent.time_out(2), None, "offline already");
        agent
            .set_presence(PresenceState::Available, String::new(), None, 3)
            .unwrap();
        assert_eq!(agent.time_out(4), Some(PresenceState::Available));
        assert_eq!(agent.presence.state, PresenceState::Offline);
        assert_eq!(agent.presence.state_change_time, 4);
    }

    fn profile() -> Profile {
        Profile {
            display_name: "Ada".into(),
            email: "ada@example.com".into(),
            identity_subject: None,
            roles: vec![StaffRole::Agent],
            region: "eu-west".into(),
            service_centre: None,
            languages: vec![LanguageTag::parse("en").unwrap()],
            skills: vec![],
            max_concurrent_tickets: DEFAULT_CAPACITY,
            shift: None,
            state: AgentState::Active,
        }
    }

    #[test]
    fn an_update_reports_only_fields_that_changed() {
        let mut agent = Agent::new(profile(), 1);
        let changed = agent.apply(vec![Change::DisplayName("Ada".into()), Change::Capacity(7)]);
        assert_eq!(changed, ["max_concurrent_tickets"]);
        assert_eq!(agent.profile.max_concurrent_tickets, 7);
    }

    #[test]
    fn deactivating_an_agent_takes_them_offline() {
        let mut agent = Agent::new(profile(), 1);
        agent
            .set_presence(PresenceState::Available, String::new(), None, 2)
            .unwrap();
        agent.apply(vec![Change::State(AgentState::Inactive)]);
        assert_eq!(agent.presence.state, PresenceState::Offline);
        assert!(
            agent
                .set_presence(PresenceState::Available, String::new(), None, 3)
                .is_err()
        );
    }

    #[test]
    fn presence_reports_a_state_change_once_and_heartbeats_quietly() {
        let mut agent = Agent::new(profile(), 0);
        let first = agent.set_presence(PresenceState::Available, String::new(), None, 10);
        assert_eq!(first, Ok(Some(PresenceState::Offline)));
        let again = agent.set_presence(PresenceState::Available, "hi".into(), None, 20);
        assert_eq!(again, Ok(None));
        assert_eq!(agent.presence.heartbeat_time, 20);
    }

    #[test]
    fn a_stale_heartbeat_reads_as_offline() {
        let mut agent = Agent::new(profile(), 0);
        agent
            .set_presence(PresenceState::Available, String::new(), None, 0)
            .unwrap();
        assert_eq!(
            agent.effective_presence(60_000_000),
            PresenceState::Available
        );
        assert_eq!(
            agent.effective_presence(HEARTBEAT_TIMEOUT_MICROS + 1),
            PresenceState::Offline
        );
    }

    #[test]
    fn deleting_clears_teams_and_shift() {
        let mut agent = Agent::new(profile(), 0);
        agent.teams.push(Uuid::now_v7());
        agent.profile.shift = Some(Uuid::now_v7());
        agent.delete(5);
        assert!(agent.is_deleted());
        assert!(agent.teams.is_empty());
        assert_eq!(agent.profile.shift, None);
        assert_eq!(agent.profile.state, AgentState::Inactive);
        assert_eq!(agent.version, 2);
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    /// An agent in `teams`.
    pub fn agent_in(teams: Vec<Uuid>) -> Agent {
        let mut agent = Agent::new(
            Profile {
                display_name: "Ada".into(),
                email: "ada@example.com".into(),
                identity_subject: None,
                roles: vec![StaffRole::Agent],
                region: "eu-west".into(),
                service_centre: None,
                languages: vec![],
                skills: vec![],
                max_concurrent_tickets: DEFAULT_CAPACITY,
                shift: None,
                state: AgentState::Active,
            },
            0,
        );
        agent.teams = teams;
        agent
    }
}

/// One condition of `ListAgents`' filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentFilter {
    /// Member of the team.
    Team(Uuid),
    /// Holds the role.
    Role(StaffRole),
    /// In the region.
    Region(String),
    /// At the centre.
    ServiceCentre(String),
    /// Has the skill.
    Skill(Uuid),
    /// Speaks the language (a bare tag matches any region).
    Language(LanguageTag),
    /// Shows this presence now.
    Presence(PresenceState),
    /// In this state.
    State(AgentState),
    /// On the shift.
    Shift(Uuid),
    /// Created compared with a time.
    CreateTime(aftercare_platform::query::Comparison, i64),
}

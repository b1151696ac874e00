//! Starting the service and talking to it.

use aftercare_platform::auth::{Principal, Role};
use aftercare_platform::events::{Event, EventBus as _};
use aftercare_platform::testing::{TestDatabase, TestService};
use aftercare_platform::time::to_timestamp;
use aftercare_proto::aftercare::workforce::v1 as pb;
use aftercare_proto::aftercare::workforce::v1::workforce_service_client::WorkforceServiceClient;
use aftercare_workforce::{Settings, WorkforceService};
use prost::Name;
use tonic::transport::Channel;
use tonic_types::StatusExt;

/// The service under test.
pub struct App {
    pub service: TestService,
    pub client: WorkforceServiceClient<Channel>,
    _db: TestDatabase,
}

/// Starts the workforce service on `db` with default settings.
pub async fn spawn_app(db: TestDatabase) -> App {
    spawn_app_with(db, Settings::default()).await
}

/// Starts the workforce service on `db` as `aftercare` does (its settings from the
/// configuration), with the test configuration changed by `configure`.
pub async fn spawn_app_configured(
    db: TestDatabase,
    configure: impl FnOnce(&mut aftercare_platform::config::Config),
) -> App {
    let service = TestService::start_configured(&WorkforceService::new(), &db, configure).await;
    let client = WorkforceServiceClient::new(service.channel());
    App {
        service,
        client,
        _db: db,
    }
}

/// Starts the workforce service on `db` with `settings`.
pub async fn spawn_app_with(db: TestDatabase, settings: Settings) -> App {
    let service = TestService::start(&WorkforceService::with_settings(settings), &db).await;
    let client = WorkforceServiceClient::new(service.channel());
    App {
        service,
        client,
        _db: db,
    }
}

fn principal(subject: &str, roles: Vec<Role>) -> Principal {
    Principal {
        subject: subject.into(),
        roles,
        region: None,
        customer: None,
        scopes: vec![],
        display_name: Some(subject.into()),
        via: None,
    }
}

/// An administrator.
pub fn admin() -> Principal {
    principal("admins/root", vec![Role::Admin])
}

/// The tickets service.
pub fn tickets_service() -> Principal {
    Principal::service("tickets")
}

/// A customer.
pub fn customer() -> Principal {
    let mut p = principal(
        "customers/0192f0c4-0000-7000-8000-000000000001",
        vec![Role::Customer],
    );
    p.customer = Some(p.subject.clone());
    p
}

/// An analyst without an agent record.
pub fn analyst() -> Principal {
    principal("analysts/1", vec![Role::Analyst])
}

/// The principal of the agent named `name` with `role`.
pub fn as_agent(name: &str, role: Role) -> Principal {
    principal(name, vec![role])
}

/// The fields named in an `INVALID_ARGUMENT`'s field violations.
pub fn bad_fields(status: &tonic::Status) -> Vec<String> {
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

/// The precondition type of a `FAILED_PRECONDITION`.
pub fn precondition(status: &tonic::Status) -> String {
    assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
    status
        .get_error_details()
        .precondition_failure()
        .map(|p| p.violations[0].r#type.clone())
        .unwrap_or_default()
}

/// A shift working every minute of every day.
pub fn always() -> Vec<pb::ShiftInterval> {
    (1..=7)
        .map(|weekday| pb::ShiftInterval {
            weekday,
            start_minute: 0,
            duration: Some(prost_types::Duration {
                seconds: 86_400,
                nanos: 0,
            }),
        })
        .collect()
}

/// An agent to create.
pub fn agent(display_name: &str, email: &str, region: &str) -> pb::Agent {
    pb::Agent {
        display_name: display_name.into(),
        email: email.into(),
        roles: vec![pb::AgentRole::Agent as i32],
        region: region.into(),
        languages: vec!["en".into()],
        ..Default::default()
    }
}

/// A ticket-service event as the bus carries it.
pub fn event<M: Name>(subject: &str, micros: i64, payload: &M) -> Event {
    Event {
        id: uuid::Uuid::now_v7().to_string(),
        r#type: M::full_name(),
        source: "tickets".into(),
        subject: subject.into(),
        time: Some(to_timestamp(micros)),
        trace_context: Default::default(),
        payload: Some(prost_types::Any::from_msg(payload).unwrap()),
    }
}

impl App {
    /// `message` sent as `principal`.
    pub fn req<T>(&self, principal: &Principal, message: T) -> tonic::Request<T> {
        self.service.request(principal, message)
    }

    /// A client.
    pub fn client(&self) -> WorkforceServiceClient<Channel> {
        self.client.clone()
    }

    /// Creates an agent as an admin.
    pub async fn create_agent(&self, agent: pb::Agent) -> pb::Agent {
        self.client()
            .create_agent(self.req(
                &admin(),
                pb::CreateAgentRequest {
                    agent: Some(agent),
                    request_id: String::new(),
                },
            ))
            .await
            .expect("an admin creates an agent")
            .into_inner()
            .agent
            .unwrap()
    }

    /// Creates a team as an admin.
    pub async fn create_team(
        &self,
        display_name: &str,
        region: &str,
        tier: pb::EscalationTier,
    ) -> pb::Team {
        self.client()
            .create_team(self.req(
                &admin(),
                pb::CreateTeamRequest {
                    team: Some(pb::Team {
                        display_name: display_name.into(),
                        region: region.into(),
                        escalation_tier: tier as i32,
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
            ))
            .await
            .expect("an admin creates a team")
            .into_inner()
            .team
            .unwrap()
    }

    /// Adds `agent` to `team` as an admin; returns the agent after.
    pub async fn add_member(&self, team: &str, agent: &str) -> pb::Agent {
        self.client()
            .add_team_member(self.req(
                &admin(),
                pb::AddTeamMemberRequest {
                    team: team.into(),
                    agent: agent.into(),
                },
            ))
            .await
            .expect("an admin adds a member")
            .into_inner()
            .agent
            .unwrap()
    }

    /// Creates a skill as an admin.
    pub async fn create_skill(
        &self,
        category: pb::SkillCategory,
        code: &str,
        display_name: &str,
    ) -> pb::Skill {
        self.client()
            .create_skill(self.req(
                &admin(),
                pb::CreateSkillRequest {
                    skill: Some(pb::Skill {
                        display_name: display_name.into(),
                        category: category as i32,
                        code: code.into(),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
            ))
            .await
            .expect("an admin creates a skill")
            .into_inner()
            .skill
            .unwrap()
    }

    /// Creates a shift as an admin.
    pub async fn create_shift(
        &self,
        display_name: &str,
        zone: &str,
        intervals: Vec<pb::ShiftInterval>,
    ) -> pb::Shift {
        self.client()
            .create_shift(self.req(
                &admin(),
                pb::CreateShiftRequest {
                    shift: Some(pb::Shift {
                        display_name: display_name.into(),
                        time_zone: zone.into(),
                        intervals,
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
            ))
            .await
            .expect("an admin creates a shift")
            .into_inner()
            .shift
            .unwrap()
    }

    /// Sets presence as an admin.
    pub async fn set_presence(&self, agent: &str, state: pb::PresenceState) -> pb::Presence {
        self.client()
            .set_presence(self.req(
                &admin(),
                pb::SetPresenceRequest {
                    name: format!("{agent}/presence"),
                    state: state as i32,
                    ..Default::default()
                },
            ))
            .await
            .expect("an admin sets presence")
            .into_inner()
            .presence
            .unwrap()
    }

    /// Reads an agent as an admin.
    pub async fn get_agent(&self, name: &str) -> pb::Agent {
        self.client()
            .get_agent(self.req(&admin(), pb::GetAgentRequest { name: name.into() }))
            .await
            .expect("an admin reads an agent")
            .into_inner()
            .agent
            .unwrap()
    }

    /// Publishes a tickets event on the service's bus.
    pub async fn publish(&self, event: &Event) {
        self.service.bus().publish(event).await.expect("publish");
    }
}

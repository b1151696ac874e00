//! The gRPC handlers: the tonic trait impls only, one line per RPC into `api/<resource>.rs`.

mod agents;
mod certifications;
mod courses;
mod enrolments;
mod parse;
mod performance;
mod presence;
mod recognitions;
mod routing;
mod shifts;
mod skills;
mod teams;

use std::pin::Pin;
use std::sync::Arc;

use aftercare_platform::auth::{Principal, PrincipalVerifier};
use aftercare_platform::db::Database;
use aftercare_platform::events::RelayWaker;
use aftercare_platform::service::ServiceContext;
use aftercare_proto::aftercare::workforce::v1 as pb;
use aftercare_proto::aftercare::workforce::v1::performance_service_server::PerformanceService;
use aftercare_proto::aftercare::workforce::v1::training_service_server::TrainingService;
use aftercare_proto::aftercare::workforce::v1::workforce_service_server::WorkforceService;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::Settings;
use crate::domain::access::Caller;
use crate::error::Error;
use crate::events::PresenceFeed;
use crate::store;

/// The workforce service's gRPC handlers and what they share.
#[derive(Debug, Clone)]
pub struct Api {
    db: Database,
    relay: RelayWaker,
    principals: PrincipalVerifier,
    feed: PresenceFeed,
    settings: Arc<Settings>,
    index: Arc<store::RoutingIndex>,
}

impl Api {
    /// Handlers over the service's database, relay, verifier and presence feed.
    pub fn new(ctx: &ServiceContext, feed: PresenceFeed, settings: Arc<Settings>) -> Self {
        Self {
            db: ctx.db.clone(),
            relay: ctx.relay.clone(),
            principals: ctx.principals.clone(),
            feed,
            settings,
            index: Arc::default(),
        }
    }

    /// The verified caller of `request`, with their agent record and teams.
    async fn caller<T>(&self, request: &Request<T>) -> Result<Caller, Status> {
        let principal = self.principals.verify(request.metadata(), crate::NAME)?;
        Ok(self.caller_of(principal).await?)
    }

    async fn caller_of(&self, principal: Principal) -> Result<Caller, Error> {
        let mut conn = self.db.reader().acquire().await?;
        let Some(agent) = store::find_agent_by_subject(&mut conn, &principal.subject).await? else {
            return Ok(Caller::anonymous(principal));
        };
        let teams = store::find_agent(&mut conn, agent)
            .await?
            .map(|a| a.teams)
            .unwrap_or_default();
        let led_teams = store::led_teams(&mut conn, agent).await?;
        Ok(Caller {
            principal,
            agent: Some(agent),
            teams,
            led_teams,
        })
    }
}

/// The key of a create's request id, scoped to the caller, the method and the parent.
fn request_key(
    caller: &Caller,
    method: &'static str,
    parent: &str,
    idempotency: &parse::Idempotency,
) -> Option<store::RequestKey> {
    idempotency.request_id.as_ref().map(|id| store::RequestKey {
        subject: caller.principal.subject.clone(),
        method,
        parent: parent.to_owned(),
        request_id: id.clone(),
        fingerprint: idempotency.fingerprint.clone(),
    })
}

impl Api {
    /// The id of what an earlier call with `key` made (read before deciding, so a replay is
    /// answered even when the request would now be refused).
    async fn replayed(
        &self,
        key: Option<&store::RequestKey>,
        kind: &'static str,
    ) -> Result<Option<uuid::Uuid>, Error> {
        if key.is_none() {
            return Ok(None);
        }
        let mut conn = self.db.reader().acquire().await?;
        store::replayed(&mut conn, key, kind).await
    }
}

/// The stream of `WatchPresence`.
pub type PresenceStream =
    Pin<Box<dyn Stream<Item = Result<pb::WatchPresenceResponse, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl WorkforceService for Api {
    type WatchPresenceStream = PresenceStream;

    async fn create_agent(
        &self,
        request: Request<pb::CreateAgentRequest>,
    ) -> Result<Response<pb::CreateAgentResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            agents::create(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn get_agent(
        &self,
        request: Request<pb::GetAgentRequest>,
    ) -> Result<Response<pb::GetAgentResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            agents::get(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn list_agents(
        &self,
        request: Request<pb::ListAgentsRequest>,
    ) -> Result<Response<pb::ListAgentsResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            agents::list(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn update_agent(
        &self,
        request: Request<pb::UpdateAgentRequest>,
    ) -> Result<Response<pb::UpdateAgentResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            agents::update(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn delete_agent(
        &self,
        request: Request<pb::DeleteAgentRequest>,
    ) -> Result<Response<pb::DeleteAgentResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            agents::delete(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn create_team(
        &self,
        request: Request<pb::CreateTeamRequest>,
    ) -> Result<Response<pb::CreateTeamResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            teams::create(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn get_team(
        &self,
        request: Request<pb::GetTeamRequest>,
    ) -> Result<Response<pb::GetTeamResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            teams::get(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn list_teams(
        &self,
        request: Request<pb::ListTeamsRequest>,
    ) -> Result<Response<pb::ListTeamsResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            teams::list(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn update_team(
        &self,
        request: Request<pb::UpdateTeamRequest>,
    ) -> Result<Response<pb::UpdateTeamResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            teams::update(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn delete_team(
        &self,
        request: Request<pb::DeleteTeamRequest>,
    ) -> Result<Response<pb::DeleteTeamResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            teams::delete(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn add_team_member(
        &self,
        request: Request<pb::AddTeamMemberRequest>,
    ) -> Result<Response<pb::AddTeamMemberResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            teams::add_member(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn remove_team_member(
        &self,
        request: Request<pb::RemoveTeamMemberRequest>,
    ) -> Result<Response<pb::RemoveTeamMemberResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            teams::remove_member(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn create_skill(
        &self,
        request: Request<pb::CreateSkillRequest>,
    ) -> Result<Response<pb::CreateSkillResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            skills::create(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn get_skill(
        &self,
        request: Request<pb::GetSkillRequest>,
    ) -> Result<Response<pb::GetSkillResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            skills::get(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn list_skills(
        &self,
        request: Request<pb::ListSkillsRequest>,
    ) -> Result<Response<pb::ListSkillsResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            skills::list(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn update_skill(
        &self,
        request: Request<pb::UpdateSkillRequest>,
    ) -> Result<Response<pb::UpdateSkillResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            skills::update(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn delete_skill(
        &self,
        request: Request<pb::DeleteSkillRequest>,
    ) -> Result<Response<pb::DeleteSkillResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            skills::delete(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn create_shift(
        &self,
        request: Request<pb::CreateShiftRequest>,
    ) -> Result<Response<pb::CreateShiftResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            shifts::create(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn get_shift(
        &self,
        request: Request<pb::GetShiftRequest>,
    ) -> Result<Response<pb::GetShiftResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            shifts::get(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn list_shifts(
        &self,
        request: Request<pb::ListShiftsRequest>,
    ) -> Result<Response<pb::ListShiftsResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            shifts::list(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn update_shift(
        &self,
        request: Request<pb::UpdateShiftRequest>,
    ) -> Result<Response<pb::UpdateShiftResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            shifts::update(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn delete_shift(
        &self,
        request: Request<pb::DeleteShiftRequest>,
    ) -> Result<Response<pb::DeleteShiftResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            shifts::delete(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn set_presence(
        &self,
        request: Request<pb::SetPresenceRequest>,
    ) -> Result<Response<pb::SetPresenceResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            presence::set(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn get_presence(
        &self,
        request: Request<pb::GetPresenceRequest>,
    ) -> Result<Response<pb::GetPresenceResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            presence::get(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn route_ticket(
        &self,
        request: Request<pb::RouteTicketRequest>,
    ) -> Result<Response<pb::RouteTicketResponse>, Status> {
        let caller = Caller::by_roles(self.principals.verify(request.metadata(), crate::NAME)?);
        Ok(Response::new(
            routing::route(self, &caller, request.into_inner()).await?,
        ))
    }

    async fn watch_presence(
        &self,
        request: Request<pb::WatchPresenceRequest>,
    ) -> Result<Response<Self::WatchPresenceStream>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            presence::watch(self, caller, request.into_inner().try_into()?).await?,
        ))
    }
}

#[tonic::async_trait]
impl TrainingService for Api {
    async fn create_course(
        &self,
        request: Request<pb::CreateCourseRequest>,
    ) -> Result<Response<pb::CreateCourseResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            courses::create(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn get_course(
        &self,
        request: Request<pb::GetCourseRequest>,
    ) -> Result<Response<pb::GetCourseResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            courses::get(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn list_courses(
        &self,
        request: Request<pb::ListCoursesRequest>,
    ) -> Result<Response<pb::ListCoursesResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            courses::list(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn update_course(
        &self,
        request: Request<pb::UpdateCourseRequest>,
    ) -> Result<Response<pb::UpdateCourseResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            courses::update(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn delete_course(
        &self,
        request: Request<pb::DeleteCourseRequest>,
    ) -> Result<Response<pb::DeleteCourseResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            courses::delete(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn create_enrolment(
        &self,
        request: Request<pb::CreateEnrolmentRequest>,
    ) -> Result<Response<pb::CreateEnrolmentResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            enrolments::create(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn get_enrolment(
        &self,
        request: Request<pb::GetEnrolmentRequest>,
    ) -> Result<Response<pb::GetEnrolmentResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            enrolments::get(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn list_enrolments(
        &self,
        request: Request<pb::ListEnrolmentsRequest>,
    ) -> Result<Response<pb::ListEnrolmentsResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            enrolments::list(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn update_enrolment(
        &self,
        request: Request<pb::UpdateEnrolmentRequest>,
    ) -> Result<Response<pb::UpdateEnrolmentResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            enrolments::update(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn delete_enrolment(
        &self,
        request: Request<pb::DeleteEnrolmentRequest>,
    ) -> Result<Response<pb::DeleteEnrolmentResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            enrolments::delete(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn submit_assessment(
        &self,
        request: Request<pb::SubmitAssessmentRequest>,
    ) -> Result<Response<pb::SubmitAssessmentResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            enrolments::submit_assessment(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn list_assessments(
        &self,
        request: Request<pb::ListAssessmentsRequest>,
    ) -> Result<Response<pb::ListAssessmentsResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            enrolments::list_assessments(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn create_certification(
        &self,
        request: Request<pb::CreateCertificationRequest>,
    ) -> Result<Response<pb::CreateCertificationResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            certifications::create(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn get_certification(
        &self,
        request: Request<pb::GetCertificationRequest>,
    ) -> Result<Response<pb::GetCertificationResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            certifications::get(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn list_certifications(
        &self,
        request: Request<pb::ListCertificationsRequest>,
    ) -> Result<Response<pb::ListCertificationsResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            certifications::list(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn revoke_certification(
        &self,
        request: Request<pb::RevokeCertificationRequest>,
    ) -> Result<Response<pb::RevokeCertificationResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            certifications::revoke(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }
}

#[tonic::async_trait]
impl PerformanceService for Api {
    async fn get_agent_performance(
        &self,
        request: Request<pb::GetAgentPerformanceRequest>,
    ) -> Result<Response<pb::GetAgentPerformanceResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            performance::agent(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn get_team_performance(
        &self,
        request: Request<pb::GetTeamPerformanceRequest>,
    ) -> Result<Response<pb::GetTeamPerformanceResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            performance::team(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn list_scorecards(
        &self,
        request: Request<pb::ListScorecardsRequest>,
    ) -> Result<Response<pb::ListScorecardsResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            performance::scorecards(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn create_recognition(
        &self,
        request: Request<pb::CreateRecognitionRequest>,
    ) -> Result<Response<pb::CreateRecognitionResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            recognitions::create(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn get_recognition(
        &self,
        request: Request<pb::GetRecognitionRequest>,
    ) -> Result<Response<pb::GetRecognitionResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            recognitions::get(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }

    async fn list_recognitions(
        &self,
        request: Request<pb::ListRecognitionsRequest>,
    ) -> Result<Response<pb::ListRecognitionsResponse>, Status> {
        let caller = self.caller(&request).await?;
        Ok(Response::new(
            recognitions::list(self, &caller, request.into_inner().try_into()?).await?,
        ))
    }
}

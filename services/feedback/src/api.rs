//! The gRPC handlers: the tonic trait, one line per RPC into `api/<resource>.rs`.

mod follow_ups;
mod invitations;
mod items;
mod parse;
mod responses;
mod stats;
mod surveys;

use aftercare_platform::auth::{PRINCIPAL_HEADER, Principal, PrincipalVerifier};
use aftercare_proto::aftercare::feedback::v1 as pb;
use aftercare_proto::aftercare::feedback::v1::feedback_service_server::FeedbackService;
use tonic::{Request, Response, Status};

use crate::customers::CustomerDirectory;
use crate::domain::follow_up::LoopRules;
use crate::domain::values::{Actor, ActorKind};
use crate::store::Store;
use crate::tickets::FollowUpTickets;

/// The other services the handlers call.
#[derive(Debug, Clone)]
pub struct Clients {
    /// Tickets, for follow-up tickets.
    pub tickets: FollowUpTickets,
    /// Customers, for channel identities.
    pub customers: CustomerDirectory,
}

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct Api {
    store: Store,
    principals: PrincipalVerifier,
    tickets: FollowUpTickets,
    customers: CustomerDirectory,
    rules: LoopRules,
    portal: String,
}

impl Api {
    /// Handlers over `store`, verifying principals with `principals`, opening follow-up
    /// tickets through `tickets`, with the closed-loop `rules` and the survey `portal` URL
    /// prefix (the token is appended).
    pub fn new(
        store: Store,
        principals: PrincipalVerifier,
        clients: Clients,
        rules: LoopRules,
        portal: String,
    ) -> Self {
        Self {
            store,
            principals,
            tickets: clients.tickets,
            customers: clients.customers,
            rules,
            portal,
        }
    }

    fn principal<T>(&self, request: &Request<T>) -> Result<Principal, Status> {
        self.principals.verify(request.metadata(), "feedback")
    }

    /// The caller of a token method: none is needed (the token is the credential), but one
    /// that is sent must be valid.
    fn optional_principal<T>(&self, request: &Request<T>) -> Result<Option<Principal>, Status> {
        if request.metadata().get(PRINCIPAL_HEADER).is_none() {
            return Ok(None);
        }
        self.principal(request).map(Some)
    }
}

/// The actor a principal acts as.
pub fn actor_of(principal: &Principal) -> Actor {
    use aftercare_platform::auth::Role;
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
        kind: kind.number(),
        id,
        name: principal.display_name.clone().unwrap_or_default(),
    }
}

#[tonic::async_trait]
impl FeedbackService for Api {
    async fn create_survey(
        &self,
        request: Request<pb::CreateSurveyRequest>,
    ) -> Result<Response<pb::CreateSurveyResponse>, Status> {
        let principal = self.principal(&request)?;
        Ok(Response::new(
            surveys::create(self, &principal, request.into_inner()).await?,
        ))
    }
    async fn get_survey(
        &self,
        request: Request<pb::GetSurveyRequest>,
    ) -> Result<Response<pb::GetSurveyResponse>, Status> {
        let principal = self.principal(&request)?;
        Ok(Response::new(
            surveys::get(self, &principal, request.into_inner()).await?,
        ))
    }
    async fn list_surveys(
        &self,
        request: Request<pb::ListSurveysRequest>,
    ) -> Result<Response<pb::ListSurveysResponse>, Status> {
        let principal = self.principal(&request)?;
        Ok(Response::new(
            surveys::list(self, &principal, request.into_inner()).await?,
        ))
    }
    async fn update_survey(
        &self,
        request: Request<pb::UpdateSurveyRequest>,
    ) -> Result<Response<pb::UpdateSurveyResponse>, Status> {
        let principal = self.principal(&request)?;
        Ok(Response::new(
            surveys::update(self, &principal, request.into_inner()).await?,
        ))
    }
    async fn delete_survey(
        &self,
        request: Request<pb::DeleteSurveyRequest>,
    ) -> Result<Response<pb::DeleteSurveyResponse>, Status> {
        let principal = self.principal(&request)?;
        Ok(Response::new(
            surveys::delete(self, &principal, request.into_inner()).await?,
        ))
    }
    async fn create_invitation(
        &self,
        request: Request<pb::CreateInvitationRequest>,
    ) -> Result<Response<pb::CreateInvitationResponse>, Status> {
        let principal = self.principal(&request)?;
        Ok(Response::new(
            invitations::create(self, &principal, request.into_inner()).await?,
        ))
    }
    async fn get_invitation(
        &self,
        request: Request<pb::GetInvitationRequest>,
    ) -> Result<Response<pb::GetInvitationResponse>, Status> {
        let principal = self.principal(&request)?;
        Ok(Response::new(
            invitations::get(self, &principal, request.into_inner()).await?,
        ))
    }
    async fn list_invitations(
        &self,
        request: Request<pb::ListInvitationsRequest>,
    ) -> Result<Response<pb::ListInvitationsResponse>, Status> {
        let principal = self.principal(&request)?;
        Ok(Response::new(
            invitations::list(self, &principal, request.into_inner()).await?,
        ))
    }
    async fn create_response(
        &self,
        request: Request<pb::CreateResponseRequest>,
    ) -> Result<Response<pb::CreateResponseResponse>, Status> {
        let principal = self.principal(&request)?;
        Ok(Response::new(
            responses::create(self, &principal, request.into_inner()).await?,
        ))
    }
    async fn get_response(
        &self,
        request: Request<pb::GetResponseRequest>,
    ) -> Result<Response<pb::GetResponseResponse>, Status> {
        let principal = self.principal(&request)?;
        Ok(Response::new(
            responses::get(self, &principal, request.into_inner()).await?,
        ))
    }
    async fn list_responses(
        &self,
        request: Request<pb::ListResponsesRequest>,
    ) -> Result<Response<pb::ListResponsesResponse>, Status> {
        let principal = self.principal(&request)?;
        Ok(Response::new(
            responses::list(self, &principal, request.into_inner()).await?,
        ))
    }
    async fn create_feedback_item(
        &self,
        request: Request<pb::CreateFeedbackItemRequest>,
    ) -> Result<Response<pb::CreateFeedbackItemResponse>, Status> {
        let principal = self.principal(&request)?;
        Ok(Response::new(
            items::create(self, &principal, request.into_inner()).await?,
        ))
    }
    async fn get_feedback_item(
        &self,
        request: Request<pb::GetFeedbackItemRequest>,
    ) -> Result<Response<pb::GetFeedbackItemResponse>, Status> {
        let principal = self.principal(&request)?;
        Ok(Response::new(
            items::get(self, &principal, request.into_inner()).await?,
        ))
    }
    async fn list_feedback_items(
        &self,
        request: Request<pb::ListFeedbackItemsRequest>,
    ) -> Result<Response<pb::ListFeedbackItemsResponse>, Status> {
        let principal = self.principal(&request)?;
        Ok(Response::new(
            items::list(self, &principal, request.into_inner()).await?,
        ))
    }
    async fn reclassify_feedback(
        &self,
        request: Request<pb::ReclassifyFeedbackRequest>,
    ) -> Result<Response<pb::ReclassifyFeedbackResponse>, Status> {
        let principal = self.principal(&request)?;
        Ok(Response::new(
            items::reclassify(self, &principal, request.into_inner()).await?,
        ))
    }
    async fn get_follow_up(
        &self,
        request: Request<pb::GetFollowUpRequest>,
    ) -> Result<Response<pb::GetFollowUpResponse>, Status> {
        let principal = self.principal(&request)?;
        Ok(Response::new(
            follow_ups::get(self, &principal, request.into_inner()).await?,
        ))
    }
    async fn list_follow_ups(
        &self,
        request: Request<pb::ListFollowUpsRequest>,
    ) -> Result<Response<pb::ListFollowUpsResponse>, Status> {
        let principal = self.principal(&request)?;
        Ok(Response::new(
            follow_ups::list(self, &principal, request.into_inner()).await?,
        ))
    }
    async fn update_follow_up(
        &self,
        request: Request<pb::UpdateFollowUpRequest>,
    ) -> Result<Response<pb::UpdateFollowUpResponse>, Status> {
        let principal = self.principal(&request)?;
        Ok(Response::new(
            follow_ups::update(self, &principal, request.into_inner()).await?,
        ))
    }
    async fn record_follow_up_contact(
        &self,
        request: Request<pb::RecordFollowUpContactRequest>,
    ) -> Result<Response<pb::RecordFollowUpContactResponse>, Status> {
        let principal = self.principal(&request)?;
        Ok(Response::new(
            follow_ups::contact(self, &principal, request.into_inner()).await?,
        ))
    }
    async fn close_follow_up(
        &self,
        request: Request<pb::CloseFollowUpRequest>,
    ) -> Result<Response<pb::CloseFollowUpResponse>, Status> {
        let principal = self.principal(&request)?;
        Ok(Response::new(
            follow_ups::close(self, &principal, request.into_inner()).await?,
        ))
    }
    async fn get_feedback_stats(
        &self,
        request: Request<pb::GetFeedbackStatsRequest>,
    ) -> Result<Response<pb::GetFeedbackStatsResponse>, Status> {
        let principal = self.principal(&request)?;
        Ok(Response::new(
            stats::get(self, &principal, request.into_inner()).await?,
        ))
    }

    async fn lookup_invitation(
        &self,
        request: Request<pb::LookupInvitationRequest>,
    ) -> Result<Response<pb::LookupInvitationResponse>, Status> {
        let principal = self.optional_principal(&request)?;
        Ok(Response::new(
            invitations::lookup(self, principal.as_ref(), request.into_inner()).await?,
        ))
    }

    async fn submit_response(
        &self,
        request: Request<pb::SubmitResponseRequest>,
    ) -> Result<Response<pb::SubmitResponseResponse>, Status> {
        let principal = self.optional_principal(&request)?;
        Ok(Response::new(
            responses::submit(self, principal.as_ref(), request.into_inner()).await?,
        ))
    }
}

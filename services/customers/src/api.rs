//! The gRPC handlers: each verifies the caller, turns the request into domain values (see
//! [`parse`]), authorises, calls the domain and the store, and converts the result back.

mod consents;
mod customers;
mod identities;
mod loyalty;
mod merge;
mod organisations;
mod parse;
mod privacy;
mod segments;
mod tiers;
mod timeline;

use aftercare_platform::auth::{Principal, PrincipalVerifier};
use uuid::Uuid;

use crate::domain::access::{Access, Action};
use crate::domain::customer::Customer;
use crate::domain::idempotency::RequestKey;
use crate::error::Error;
use aftercare_platform::db::Database;
use aftercare_platform::events::RelayWaker;
use aftercare_platform::service::ServiceContext;
use aftercare_proto::aftercare::customers::v1 as pb;
use aftercare_proto::aftercare::customers::v1::customer_service_server::CustomerService;
use tonic::{Request, Response, Status};

/// The customers service's gRPC handlers and what they share.
#[derive(Debug, Clone)]
pub struct Api {
    db: Database,
    relay: RelayWaker,
    principals: PrincipalVerifier,
}

impl Api {
    /// Handlers over the service's database, relay and principal verifier.
    pub fn new(ctx: &ServiceContext) -> Self {
        Self {
            db: ctx.db.clone(),
            relay: ctx.relay.clone(),
            principals: ctx.principals.clone(),
        }
    }

    /// The verified caller of `request`.
    fn principal<T>(&self, request: &Request<T>) -> Result<Principal, Status> {
        self.principals.verify(request.metadata(), "customers")
    }
}

/// The caller's reach for `action`; `PERMISSION_DENIED`, with nothing read, when it has none.
pub(crate) fn access(principal: &Principal, action: Action) -> Result<Access, Error> {
    Access::of(principal, action).ok_or_else(|| Error::denied(action.refusal()))
}

/// The caller's reach for `action` on the customer `id`: a customer asking about another is
/// refused before anything is read, so the answer does not tell whether it exists.
pub(crate) fn access_to(principal: &Principal, action: Action, id: Uuid) -> Result<Access, Error> {
    let access = access(principal, action)?;
    if access.may_reach_id(id) {
        Ok(access)
    } else {
        Err(Error::denied("customers reach only their own profile"))
    }
}

/// The idempotency key of a request to `method` under `parent` that carries `request_id`,
/// scoped to the caller and bound to the parsed `request`.
pub(crate) fn request_key(
    principal: &Principal,
    method: &'static str,
    parent: &str,
    request_id: Option<&str>,
    request: &impl std::fmt::Debug,
) -> Option<RequestKey> {
    request_id.map(|id| RequestKey::new(&principal.subject, method, parent, id, request))
}

/// Whether the caller sees internal attributes (staff, integrations and services; never a
/// customer).
pub(crate) fn sees_internal(principal: &Principal) -> bool {
    Access::of(principal, Action::Read).is_some_and(|access| access.sees_internal())
}

/// `PERMISSION_DENIED` unless `customer` is within `access`.
pub(crate) fn check(access: &Access, action: Action, customer: &Customer) -> Result<(), Error> {
    if access.reaches(customer) {
        Ok(())
    } else {
        Err(Error::denied(action.refusal()))
    }
}

/// The customer `id` as it is now, when `access` reaches it for `action`: `NOT_FOUND` or
/// `PERMISSION_DENIED` otherwise. A write checks it before its transaction, which reads the
/// customer again.
pub(crate) async fn reachable(
    api: &Api,
    access: &Access,
    action: Action,
    id: Uuid,
) -> Result<Customer, Error> {
    let mut conn = api.db.reader().acquire().await?;
    let customer = crate::store::load_customer(&mut conn, id).await?;
    check(access, action, &customer)?;
    Ok(customer)
}

#[tonic::async_trait]
impl CustomerService for Api {
    #[tracing::instrument(skip_all, fields(request_id = %request.get_ref().request_id))]
    async fn create_customer(
        &self,
        request: Request<pb::CreateCustomerRequest>,
    ) -> Result<Response<pb::CreateCustomerResponse>, Status> {
        let principal = self.principal(&request)?;
        let response =
            customers::create(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(customer = %request.get_ref().name))]
    async fn get_customer(
        &self,
        request: Request<pb::GetCustomerRequest>,
    ) -> Result<Response<pb::GetCustomerResponse>, Status> {
        let principal = self.principal(&request)?;
        let response = customers::get(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(filter = %request.get_ref().filter))]
    async fn list_customers(
        &self,
        request: Request<pb::ListCustomersRequest>,
    ) -> Result<Response<pb::ListCustomersResponse>, Status> {
        let principal = self.principal(&request)?;
        let response = customers::list(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(customer = %request.get_ref().customer.as_ref().map(|c| c.name.as_str()).unwrap_or_default()))]
    async fn update_customer(
        &self,
        request: Request<pb::UpdateCustomerRequest>,
    ) -> Result<Response<pb::UpdateCustomerResponse>, Status> {
        let principal = self.principal(&request)?;
        let response =
            customers::update(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(customer = %request.get_ref().name))]
    async fn delete_customer(
        &self,
        request: Request<pb::DeleteCustomerRequest>,
    ) -> Result<Response<pb::DeleteCustomerResponse>, Status> {
        let principal = self.principal(&request)?;
        let response =
            customers::delete(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(survivor = %request.get_ref().survivor, merged = %request.get_ref().merged))]
    async fn merge_customers(
        &self,
        request: Request<pb::MergeCustomersRequest>,
    ) -> Result<Response<pb::MergeCustomersResponse>, Status> {
        let principal = self.principal(&request)?;
        let response =
            merge::merge_customers(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(channel = request.get_ref().identity.as_ref().map(|i| i.channel).unwrap_or_default()))]
    async fn resolve_identity(
        &self,
        request: Request<pb::ResolveIdentityRequest>,
    ) -> Result<Response<pb::ResolveIdentityResponse>, Status> {
        let principal = self.principal(&request)?;
        let response =
            identities::resolve(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(customer = %request.get_ref().parent))]
    async fn add_identity(
        &self,
        request: Request<pb::AddIdentityRequest>,
    ) -> Result<Response<pb::AddIdentityResponse>, Status> {
        let principal = self.principal(&request)?;
        let response = identities::add(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(identity = %request.get_ref().name))]
    async fn verify_identity(
        &self,
        request: Request<pb::VerifyIdentityRequest>,
    ) -> Result<Response<pb::VerifyIdentityResponse>, Status> {
        let principal = self.principal(&request)?;
        let response =
            identities::verify(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(identity = %request.get_ref().name))]
    async fn remove_identity(
        &self,
        request: Request<pb::RemoveIdentityRequest>,
    ) -> Result<Response<pb::RemoveIdentityResponse>, Status> {
        let principal = self.principal(&request)?;
        let response =
            identities::remove(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(customer = %request.get_ref().parent))]
    async fn list_identities(
        &self,
        request: Request<pb::ListIdentitiesRequest>,
    ) -> Result<Response<pb::ListIdentitiesResponse>, Status> {
        let principal = self.principal(&request)?;
        let response = identities::list(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(request_id = %request.get_ref().request_id))]
    async fn create_organisation(
        &self,
        request: Request<pb::CreateOrganisationRequest>,
    ) -> Result<Response<pb::CreateOrganisationResponse>, Status> {
        let principal = self.principal(&request)?;
        let response =
            organisations::create(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(organisation = %request.get_ref().name))]
    async fn get_organisation(
        &self,
        request: Request<pb::GetOrganisationRequest>,
    ) -> Result<Response<pb::GetOrganisationResponse>, Status> {
        let principal = self.principal(&request)?;
        let response =
            organisations::get(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(filter = %request.get_ref().filter))]
    async fn list_organisations(
        &self,
        request: Request<pb::ListOrganisationsRequest>,
    ) -> Result<Response<pb::ListOrganisationsResponse>, Status> {
        let principal = self.principal(&request)?;
        let response =
            organisations::list(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(organisation = %request.get_ref().organisation.as_ref().map(|o| o.name.as_str()).unwrap_or_default()))]
    async fn update_organisation(
        &self,
        request: Request<pb::UpdateOrganisationRequest>,
    ) -> Result<Response<pb::UpdateOrganisationResponse>, Status> {
        let principal = self.principal(&request)?;
        let response =
            organisations::update(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(organisation = %request.get_ref().name))]
    async fn delete_organisation(
        &self,
        request: Request<pb::DeleteOrganisationRequest>,
    ) -> Result<Response<pb::DeleteOrganisationResponse>, Status> {
        let principal = self.principal(&request)?;
        let response =
            organisations::delete(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(request_id = %request.get_ref().request_id))]
    async fn create_segment(
        &self,
        request: Request<pb::CreateSegmentRequest>,
    ) -> Result<Response<pb::CreateSegmentResponse>, Status> {
        let principal = self.principal(&request)?;
        let response = segments::create(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(segment = %request.get_ref().name))]
    async fn get_segment(
        &self,
        request: Request<pb::GetSegmentRequest>,
    ) -> Result<Response<pb::GetSegmentResponse>, Status> {
        let principal = self.principal(&request)?;
        let response = segments::get(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(filter = %request.get_ref().filter))]
    async fn list_segments(
        &self,
        request: Request<pb::ListSegmentsRequest>,
    ) -> Result<Response<pb::ListSegmentsResponse>, Status> {
        let principal = self.principal(&request)?;
        let response = segments::list(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(segment = %request.get_ref().segment.as_ref().map(|s| s.name.as_str()).unwrap_or_default()))]
    async fn update_segment(
        &self,
        request: Request<pb::UpdateSegmentRequest>,
    ) -> Result<Response<pb::UpdateSegmentResponse>, Status> {
        let principal = self.principal(&request)?;
        let response = segments::update(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(segment = %request.get_ref().name))]
    async fn delete_segment(
        &self,
        request: Request<pb::DeleteSegmentRequest>,
    ) -> Result<Response<pb::DeleteSegmentResponse>, Status> {
        let principal = self.principal(&request)?;
        let response = segments::delete(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(segment = %request.get_ref().name))]
    async fn get_segment_count(
        &self,
        request: Request<pb::GetSegmentCountRequest>,
    ) -> Result<Response<pb::GetSegmentCountResponse>, Status> {
        let principal = self.principal(&request)?;
        let response =
            segments::count_now(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(customer = %request.get_ref().parent))]
    async fn record_loyalty_entry(
        &self,
        request: Request<pb::RecordLoyaltyEntryRequest>,
    ) -> Result<Response<pb::RecordLoyaltyEntryResponse>, Status> {
        let principal = self.principal(&request)?;
        let response = loyalty::record(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(customer = %request.get_ref().parent))]
    async fn list_loyalty_entries(
        &self,
        request: Request<pb::ListLoyaltyEntriesRequest>,
    ) -> Result<Response<pb::ListLoyaltyEntriesResponse>, Status> {
        let principal = self.principal(&request)?;
        let response = loyalty::list(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(balance = %request.get_ref().name))]
    async fn get_loyalty_balance(
        &self,
        request: Request<pb::GetLoyaltyBalanceRequest>,
    ) -> Result<Response<pb::GetLoyaltyBalanceResponse>, Status> {
        let principal = self.principal(&request)?;
        let response = loyalty::balance(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(request_id = %request.get_ref().request_id))]
    async fn create_tier_rule(
        &self,
        request: Request<pb::CreateTierRuleRequest>,
    ) -> Result<Response<pb::CreateTierRuleResponse>, Status> {
        let principal = self.principal(&request)?;
        let response = tiers::create(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(tier_rule = %request.get_ref().name))]
    async fn get_tier_rule(
        &self,
        request: Request<pb::GetTierRuleRequest>,
    ) -> Result<Response<pb::GetTierRuleResponse>, Status> {
        let principal = self.principal(&request)?;
        let response = tiers::get(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(filter = %request.get_ref().filter))]
    async fn list_tier_rules(
        &self,
        request: Request<pb::ListTierRulesRequest>,
    ) -> Result<Response<pb::ListTierRulesResponse>, Status> {
        let principal = self.principal(&request)?;
        let response = tiers::list(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(tier_rule = %request.get_ref().tier_rule.as_ref().map(|r| r.name.as_str()).unwrap_or_default()))]
    async fn update_tier_rule(
        &self,
        request: Request<pb::UpdateTierRuleRequest>,
    ) -> Result<Response<pb::UpdateTierRuleResponse>, Status> {
        let principal = self.principal(&request)?;
        let response = tiers::update(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(tier_rule = %request.get_ref().name))]
    async fn delete_tier_rule(
        &self,
        request: Request<pb::DeleteTierRuleRequest>,
    ) -> Result<Response<pb::DeleteTierRuleResponse>, Status> {
        let principal = self.principal(&request)?;
        let response = tiers::delete(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(customer = %request.get_ref().name, validate_only = request.get_ref().validate_only))]
    async fn evaluate_tier(
        &self,
        request: Request<pb::EvaluateTierRequest>,
    ) -> Result<Response<pb::EvaluateTierResponse>, Status> {
        let principal = self.principal(&request)?;
        let response =
            tiers::evaluate_tier(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(customer = %request.get_ref().parent, channel = request.get_ref().channel, purpose = request.get_ref().purpose))]
    async fn set_consent(
        &self,
        request: Request<pb::SetConsentRequest>,
    ) -> Result<Response<pb::SetConsentResponse>, Status> {
        let principal = self.principal(&request)?;
        let response = consents::set(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(customer = %request.get_ref().parent))]
    async fn list_consents(
        &self,
        request: Request<pb::ListConsentsRequest>,
    ) -> Result<Response<pb::ListConsentsResponse>, Status> {
        let principal = self.principal(&request)?;
        let response = consents::list(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(customer = %request.get_ref().name))]
    async fn export_customer_data(
        &self,
        request: Request<pb::ExportCustomerDataRequest>,
    ) -> Result<Response<pb::ExportCustomerDataResponse>, Status> {
        let principal = self.principal(&request)?;
        let response = privacy::export(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(customer = %request.get_ref().name))]
    async fn erase_customer(
        &self,
        request: Request<pb::EraseCustomerRequest>,
    ) -> Result<Response<pb::EraseCustomerResponse>, Status> {
        let principal = self.principal(&request)?;
        let response = privacy::erase(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(customer = %request.get_ref().parent))]
    async fn list_timeline_entries(
        &self,
        request: Request<pb::ListTimelineEntriesRequest>,
    ) -> Result<Response<pb::ListTimelineEntriesResponse>, Status> {
        let principal = self.principal(&request)?;
        let response = timeline::list(self, &principal, request.into_inner().try_into()?).await?;
        Ok(Response::new(response))
    }
}

//! The tonic trait impls of `TicketService`, `SlaService` and `AfterSalesService`: one line
//! per RPC, delegating to the handlers of its resource in `api/<resource>.rs`.

mod after_sales;
mod history;
mod links;
mod messages;
mod parse;
mod sla;
mod stats;
mod tickets;
mod watch;

use aftercare_platform::auth::{Principal, PrincipalVerifier};
use aftercare_platform::db::Database;
use aftercare_platform::events::RelayWaker;
use aftercare_platform::service::ServiceContext;
use aftercare_proto::aftercare::tickets::v1 as pb;
use aftercare_proto::aftercare::tickets::v1::after_sales_service_server::AfterSalesService;
use aftercare_proto::aftercare::tickets::v1::sla_service_server::SlaService;
use aftercare_proto::aftercare::tickets::v1::ticket_service_server::TicketService;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

pub use watch::WatchLimits;

use crate::customers::CustomerDirectory;
use crate::domain::{Access, Action, AfterSalesPolicy};
use crate::error::{Error, Result};
use crate::events::ChangeFeed;
use crate::knowledge::KnowledgeBase;
use crate::workforce::Workforce;

/// The other services the handlers call.
#[derive(Debug, Clone)]
pub struct Peers {
    /// Customers: identity, tier.
    pub customers: CustomerDirectory,
    /// Knowledge: suggestions on create, when configured.
    pub knowledge: Option<KnowledgeBase>,
    /// Workforce: routing on create and `auto_route`, when configured.
    pub workforce: Option<Workforce>,
}

/// The handlers of the three services and what they share.
#[derive(Debug, Clone)]
pub struct Api {
    db: Database,
    relay: RelayWaker,
    principals: PrincipalVerifier,
    customers: CustomerDirectory,
    knowledge: Option<KnowledgeBase>,
    workforce: Option<Workforce>,
    feed: ChangeFeed,
    shutdown: CancellationToken,
    policy: AfterSalesPolicy,
    watchers: watch::Watchers,
}

impl Api {
    /// The handlers over the service's database, relay, principals and shutdown signal.
    pub fn new(
        ctx: &ServiceContext,
        peers: Peers,
        feed: ChangeFeed,
        policy: AfterSalesPolicy,
        watch_limits: WatchLimits,
    ) -> Self {
        Self {
            db: ctx.db.clone(),
            relay: ctx.relay.clone(),
            principals: ctx.principals.clone(),
            customers: peers.customers,
            knowledge: peers.knowledge,
            workforce: peers.workforce,
            feed,
            shutdown: ctx.shutdown.clone(),
            policy,
            watchers: watch::Watchers::new(watch_limits),
        }
    }

    /// The verified caller of `request` (a principal signed for this service).
    fn principal<T>(&self, request: &Request<T>) -> Result<Principal> {
        self.principals
            .verify(request.metadata(), "tickets")
            .map_err(Error::Unauthenticated)
    }

    /// What `principal` may reach for `action` (`PERMISSION_DENIED` when nothing).
    fn access(principal: &Principal, action: Action) -> Result<Access> {
        Access::of(principal, action).ok_or_else(|| {
            Error::PermissionDenied(format!("the caller may not {action:?} tickets").to_lowercase())
        })
    }
}

type Reply<T> = std::result::Result<Response<T>, Status>;

#[tonic::async_trait]
impl TicketService for Api {
    type WatchTicketsStream = watch::WatchStream;

    async fn create_ticket(
        &self,
        request: Request<pb::CreateTicketRequest>,
    ) -> Reply<pb::CreateTicketResponse> {
        tickets::create_ticket(self, request).await
    }

    async fn get_ticket(
        &self,
        request: Request<pb::GetTicketRequest>,
    ) -> Reply<pb::GetTicketResponse> {
        tickets::get_ticket(self, request).await
    }

    async fn list_tickets(
        &self,
        request: Request<pb::ListTicketsRequest>,
    ) -> Reply<pb::ListTicketsResponse> {
        tickets::list_tickets(self, request).await
    }

    async fn update_ticket(
        &self,
        request: Request<pb::UpdateTicketRequest>,
    ) -> Reply<pb::UpdateTicketResponse> {
        tickets::update_ticket(self, request).await
    }

    async fn change_ticket_status(
        &self,
        request: Request<pb::ChangeTicketStatusRequest>,
    ) -> Reply<pb::ChangeTicketStatusResponse> {
        tickets::change_ticket_status(self, request).await
    }

    async fn resolve_ticket(
        &self,
        request: Request<pb::ResolveTicketRequest>,
    ) -> Reply<pb::ResolveTicketResponse> {
        tickets::resolve_ticket(self, request).await
    }

    async fn close_ticket(
        &self,
        request: Request<pb::CloseTicketRequest>,
    ) -> Reply<pb::CloseTicketResponse> {
        tickets::close_ticket(self, request).await
    }

    async fn reopen_ticket(
        &self,
        request: Request<pb::ReopenTicketRequest>,
    ) -> Reply<pb::ReopenTicketResponse> {
        tickets::reopen_ticket(self, request).await
    }

    async fn assign_ticket(
        &self,
        request: Request<pb::AssignTicketRequest>,
    ) -> Reply<pb::AssignTicketResponse> {
        tickets::assign_ticket(self, request).await
    }

    async fn escalate_ticket(
        &self,
        request: Request<pb::EscalateTicketRequest>,
    ) -> Reply<pb::EscalateTicketResponse> {
        tickets::escalate_ticket(self, request).await
    }

    async fn add_ticket_tags(
        &self,
        request: Request<pb::AddTicketTagsRequest>,
    ) -> Reply<pb::AddTicketTagsResponse> {
        tickets::add_ticket_tags(self, request).await
    }

    async fn remove_ticket_tags(
        &self,
        request: Request<pb::RemoveTicketTagsRequest>,
    ) -> Reply<pb::RemoveTicketTagsResponse> {
        tickets::remove_ticket_tags(self, request).await
    }

    async fn link_tickets(
        &self,
        request: Request<pb::LinkTicketsRequest>,
    ) -> Reply<pb::LinkTicketsResponse> {
        links::link_tickets(self, request).await
    }

    async fn list_ticket_links(
        &self,
        request: Request<pb::ListTicketLinksRequest>,
    ) -> Reply<pb::ListTicketLinksResponse> {
        links::list_ticket_links(self, request).await
    }

    async fn delete_ticket_link(
        &self,
        request: Request<pb::DeleteTicketLinkRequest>,
    ) -> Reply<pb::DeleteTicketLinkResponse> {
        links::delete_ticket_link(self, request).await
    }

    async fn merge_tickets(
        &self,
        request: Request<pb::MergeTicketsRequest>,
    ) -> Reply<pb::MergeTicketsResponse> {
        links::merge_tickets(self, request).await
    }

    async fn create_message(
        &self,
        request: Request<pb::CreateMessageRequest>,
    ) -> Reply<pb::CreateMessageResponse> {
        messages::create_message(self, request).await
    }

    async fn get_message(
        &self,
        request: Request<pb::GetMessageRequest>,
    ) -> Reply<pb::GetMessageResponse> {
        messages::get_message(self, request).await
    }

    async fn list_messages(
        &self,
        request: Request<pb::ListMessagesRequest>,
    ) -> Reply<pb::ListMessagesResponse> {
        messages::list_messages(self, request).await
    }

    async fn list_ticket_history(
        &self,
        request: Request<pb::ListTicketHistoryRequest>,
    ) -> Reply<pb::ListTicketHistoryResponse> {
        history::list_ticket_history(self, request).await
    }

    async fn watch_tickets(
        &self,
        request: Request<pb::WatchTicketsRequest>,
    ) -> Reply<Self::WatchTicketsStream> {
        watch::watch_tickets(self, request).await
    }

    async fn get_ticket_stats(
        &self,
        request: Request<pb::GetTicketStatsRequest>,
    ) -> Reply<pb::GetTicketStatsResponse> {
        stats::get_ticket_stats(self, request).await
    }
}

#[tonic::async_trait]
impl SlaService for Api {
    async fn create_sla_policy(
        &self,
        request: Request<pb::CreateSlaPolicyRequest>,
    ) -> Reply<pb::CreateSlaPolicyResponse> {
        sla::create_sla_policy(self, request).await
    }

    async fn get_sla_policy(
        &self,
        request: Request<pb::GetSlaPolicyRequest>,
    ) -> Reply<pb::GetSlaPolicyResponse> {
        sla::get_sla_policy(self, request).await
    }

    async fn list_sla_policies(
        &self,
        request: Request<pb::ListSlaPoliciesRequest>,
    ) -> Reply<pb::ListSlaPoliciesResponse> {
        sla::list_sla_policies(self, request).await
    }

    async fn update_sla_policy(
        &self,
        request: Request<pb::UpdateSlaPolicyRequest>,
    ) -> Reply<pb::UpdateSlaPolicyResponse> {
        sla::update_sla_policy(self, request).await
    }

    async fn delete_sla_policy(
        &self,
        request: Request<pb::DeleteSlaPolicyRequest>,
    ) -> Reply<pb::DeleteSlaPolicyResponse> {
        sla::delete_sla_policy(self, request).await
    }

    async fn create_business_calendar(
        &self,
        request: Request<pb::CreateBusinessCalendarRequest>,
    ) -> Reply<pb::CreateBusinessCalendarResponse> {
        sla::create_business_calendar(self, request).await
    }

    async fn get_business_calendar(
        &self,
        request: Request<pb::GetBusinessCalendarRequest>,
    ) -> Reply<pb::GetBusinessCalendarResponse> {
        sla::get_business_calendar(self, request).await
    }

    async fn list_business_calendars(
        &self,
        request: Request<pb::ListBusinessCalendarsRequest>,
    ) -> Reply<pb::ListBusinessCalendarsResponse> {
        sla::list_business_calendars(self, request).await
    }

    async fn update_business_calendar(
        &self,
        request: Request<pb::UpdateBusinessCalendarRequest>,
    ) -> Reply<pb::UpdateBusinessCalendarResponse> {
        sla::update_business_calendar(self, request).await
    }

    async fn delete_business_calendar(
        &self,
        request: Request<pb::DeleteBusinessCalendarRequest>,
    ) -> Reply<pb::DeleteBusinessCalendarResponse> {
        sla::delete_business_calendar(self, request).await
    }
}

#[tonic::async_trait]
impl AfterSalesService for Api {
    async fn create_after_sales_case(
        &self,
        request: Request<pb::CreateAfterSalesCaseRequest>,
    ) -> Reply<pb::CreateAfterSalesCaseResponse> {
        after_sales::create_after_sales_case(self, request).await
    }

    async fn get_after_sales_case(
        &self,
        request: Request<pb::GetAfterSalesCaseRequest>,
    ) -> Reply<pb::GetAfterSalesCaseResponse> {
        after_sales::get_after_sales_case(self, request).await
    }

    async fn list_after_sales_cases(
        &self,
        request: Request<pb::ListAfterSalesCasesRequest>,
    ) -> Reply<pb::ListAfterSalesCasesResponse> {
        after_sales::list_after_sales_cases(self, request).await
    }

    async fn review_after_sales_case(
        &self,
        request: Request<pb::ReviewAfterSalesCaseRequest>,
    ) -> Reply<pb::ReviewAfterSalesCaseResponse> {
        after_sales::review_after_sales_case(self, request).await
    }

    async fn arrange_after_sales_case(
        &self,
        request: Request<pb::ArrangeAfterSalesCaseRequest>,
    ) -> Reply<pb::ArrangeAfterSalesCaseResponse> {
        after_sales::arrange_after_sales_case(self, request).await
    }

    async fn complete_after_sales_case(
        &self,
        request: Request<pb::CompleteAfterSalesCaseRequest>,
    ) -> Reply<pb::CompleteAfterSalesCaseResponse> {
        after_sales::complete_after_sales_case(self, request).await
    }

    async fn confirm_after_sales_case(
        &self,
        request: Request<pb::ConfirmAfterSalesCaseRequest>,
    ) -> Reply<pb::ConfirmAfterSalesCaseResponse> {
        after_sales::confirm_after_sales_case(self, request).await
    }

    async fn cancel_after_sales_case(
        &self,
        request: Request<pb::CancelAfterSalesCaseRequest>,
    ) -> Reply<pb::CancelAfterSalesCaseResponse> {
        after_sales::cancel_after_sales_case(self, request).await
    }
}

//! The workforce service, as the tickets service uses it: the best available agent for a
//! ticket (`RouteTicket`).
//!
//! Routing never holds up or fails a create: the call has a short deadline, and any failure
//! (the service slow, down or refusing) is logged and answered with no agent, so the ticket
//! stays unassigned in its queue.

use std::time::Duration;

use aftercare_platform::auth::{Principal, PrincipalVerifier};
use aftercare_platform::telemetry::TracedChannel;
use aftercare_proto::aftercare::workforce::v1 as pb;
use aftercare_proto::aftercare::workforce::v1::workforce_service_client::WorkforceServiceClient;

use crate::domain::{AgentName, TeamName, Ticket, WireEnum};

/// How long a create or an `auto_route` waits for routing.
pub const ROUTING_DEADLINE: Duration = Duration::from_millis(300);

/// A client of the workforce service.
#[derive(Debug, Clone)]
pub struct Workforce {
    client: WorkforceServiceClient<TracedChannel>,
    principals: PrincipalVerifier,
}

impl Workforce {
    /// A workforce service reached through `channel`, signing principals with `principals`.
    pub fn new(channel: TracedChannel, principals: PrincipalVerifier) -> Self {
        Self {
            client: WorkforceServiceClient::new(channel),
            principals,
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

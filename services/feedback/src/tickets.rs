//! The tickets service, as the closed loop uses it: a follow-up ticket for each pending
//! follow-up, created through `CreateTicket` with the follow-up's id as the request id (so
//! however often it is retried, one ticket exists), `follow_up_of` the original ticket.

use std::time::Duration;

use aftercare_platform::auth::{Principal, PrincipalVerifier};
use aftercare_platform::telemetry::TracedChannel;
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::tickets::v1 as tickets_pb;
use aftercare_proto::aftercare::tickets::v1::ticket_service_client::TicketServiceClient;

use crate::domain::records::{FollowUp, PendingFollowUp};
use crate::domain::values::Reason;
use crate::error::Result;
use crate::store::Store;

/// How long one attempt to create a follow-up ticket may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);

/// A client of the tickets service.
#[derive(Debug, Clone)]
pub struct FollowUpTickets {
    client: TicketServiceClient<TracedChannel>,
    principals: PrincipalVerifier,
}

impl FollowUpTickets {
    /// Calls through `channel`, signing the feedback service's principal with `principals`.
    pub fn new(channel: TracedChannel, principals: PrincipalVerifier) -> Self {
        Self {
            client: TicketServiceClient::new(channel),
            principals,
        }
    }

    /// Creates (or finds again) the follow-up ticket of `pending`, and records the follow-up.
    /// On failure the pending row stays and is retried later (with a growing pause).
    pub async fn open(&self, store: &Store, pending: &PendingFollowUp) -> Result<Option<FollowUp>> {
        match self.create_ticket(pending).await {
            Ok(ticket) => Ok(Some(
                store.open_follow_up(pending, &ticket, now_micros()).await?,
            )),
            Err(status) => {
                let pause = retry_pause(pending.attempts);
                tracing::warn!(
                    follow_up = %pending.id,
                    attempts = pending.attempts + 1,
                    code = ?status.code(),
                    error = %status.message(),
                    "cannot create the follow-up ticket yet"
                );
                store
                    .pending_failed(pending.id, status.message(), now_micros() + pause)
                    .await?;
                Ok(None)
            }
        }
    }

    async fn create_ticket(&self, pending: &PendingFollowUp) -> Result<String, tonic::Status> {
        let reasons: Vec<&str> = pending.reasons.iter().map(|r| reason_text(*r)).collect();
        let description = if pending.summary.is_empty() {
            format!(
                "Follow-up of {}: {}.",
                pending.source_feedback,
                reasons.join(", ")
            )
        } else {
            format!(
                "Follow-up of {}: {}.\n\nThe customer said:\n{}",
                pending.source_feedback,
                reasons.join(", "),
                pending.summary
            )
        };
        let ticket = tickets_pb::Ticket {
            customer: pending.customer.clone(),
            channel: pending.channel.number(),
            subject: format!("Follow-up: {}", reasons.join(", ")),
            description,
            kind: tickets_pb::TicketKind::Complaint as i32,
            priority: tickets_pb::TicketPriority::High as i32,
            region: pending.region.clone(),
            team: pending.team.clone(),
            language_code: pending.language.clone(),
            tags: vec!["feedback-follow-up".to_owned()],
            ..Default::default()
        };
        let mut request = tonic::Request::new(tickets_pb::CreateTicketRequest {
            ticket: Some(ticket),
            request_id: pending.id.to_string(),
            customer_display_name: String::new(),
            follow_up_of: pending.original_ticket.clone(),
            skip_routing: false,
            max_suggestions: 0,
        });
        request.set_timeout(ATTEMPT_TIMEOUT);
        self.principals.attach(
            &Principal::service("feedback"),
            "tickets",
            request.metadata_mut(),
        );
        let response =
            tokio::time::timeout(ATTEMPT_TIMEOUT, self.client.clone().create_ticket(request))
                .await
                .map_err(|_| {
                    tonic::Status::deadline_exceeded("the tickets service did not answer in time")
                })??;
        response
            .into_inner()
            .ticket
            .map(|t| t.name)
            .ok_or_else(|| tonic::Status::internal("the tickets service returned no ticket"))
    }
}

/// The pause before attempt `attempts + 1`: 1 s doubling, at most 5 minutes.
pub fn retry_pause(attempts: i64) -> i64 {
    let seconds = 1_i64 << attempts.clamp(0, 8);
    seconds.min(300) * 1_000_000
}

fn reason_text(reason: Reason) -> &'static str {
    match reason {
        Reason::NpsDetractor => "NPS detractor",
        Reason::LowCsat => "low CSAT",
        Reason::HighEffort => "high effort (CES)",
        Reason::SevereComplaint => "severe complaint",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_five_minutes() {
        assert_eq!(retry_pause(0), 1_000_000);
        assert_eq!(retry_pause(3), 8_000_000);
        assert_eq!(retry_pause(50), 256_000_000);
    }
}

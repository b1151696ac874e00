//! The knowledge service, as the tickets service uses it: articles that may answer a ticket
//! being created (deflection).
//!
//! A suggestion never holds up a create: the call has a short deadline, and any failure (the
//! service slow, down or refusing) is logged and answered with no suggestions. The call is made
//! on the creating user's behalf, so the knowledge service shows them only what they may read
//! (a customer never sees an internal article).

use std::time::Duration;

use aftercare_platform::auth::{Principal, PrincipalVerifier};
use aftercare_platform::telemetry::TracedChannel;
use aftercare_proto::aftercare::knowledge::v1 as pb;
use aftercare_proto::aftercare::knowledge::v1::knowledge_service_client::KnowledgeServiceClient;
use aftercare_proto::aftercare::tickets::v1 as tickets_pb;

/// How long a create waits for suggestions.
pub const SUGGESTION_DEADLINE: Duration = Duration::from_millis(300);

/// What a suggestion is asked for.
#[derive(Debug, Clone, Default)]
pub struct SuggestionQuery {
    /// The ticket's subject.
    pub subject: String,
    /// Its description.
    pub description: String,
    /// Its language (BCP-47), if known.
    pub language: String,
    /// Its product line, if any.
    pub product_line: String,
    /// Its channel (the contract's number).
    pub channel: i32,
    /// Its customer, `customers/{id}`.
    pub customer: String,
    /// The ticket, `tickets/{id}`.
    pub ticket: String,
    /// At most this many articles (1 to 10).
    pub max_suggestions: i32,
}

/// A client of the knowledge service.
#[derive(Debug, Clone)]
pub struct KnowledgeBase {
    client: KnowledgeServiceClient<TracedChannel>,
    principals: PrincipalVerifier,
}

impl KnowledgeBase {
    /// A knowledge base reached through `channel`, signing relayed principals with
    /// `principals`.
    pub fn new(channel: TracedChannel, principals: PrincipalVerifier) -> Self {
        Self {
            client: KnowledgeServiceClient::new(channel),
            principals,
        }
    }

    /// Articles for `query`, for `user`; none when the knowledge service does not answer in
    /// time.
    pub async fn suggest(
        &self,
        user: &Principal,
        query: SuggestionQuery,
    ) -> Vec<tickets_pb::ArticleSuggestion> {
        let mut request = tonic::Request::new(pb::SuggestArticlesRequest {
            subject: query.subject,
            description: query.description,
            language: query.language,
            product_line: query.product_line,
            channel: query.channel,
            customer: query.customer,
            ticket: query.ticket,
            max_suggestions: query.max_suggestions,
            min_score: 0.0,
        });
        request.set_timeout(SUGGESTION_DEADLINE);
        self.principals.attach(
            &Principal::on_behalf_of(user, "tickets"),
            "knowledge",
            request.metadata_mut(),
        );
        let answer = tokio::time::timeout(
            SUGGESTION_DEADLINE,
            self.client.clone().suggest_articles(request),
        )
        .await;
        match answer {
            Ok(Ok(response)) => response
                .into_inner()
                .hits
                .into_iter()
                .map(|hit| tickets_pb::ArticleSuggestion {
                    article: hit.article,
                    title: hit.title,
                    score: hit.score as f32,
                })
                .collect(),
            Ok(Err(status)) => {
                tracing::warn!(code = ?status.code(), message = status.message(), "no suggestions: the knowledge service refused");
                Vec::new()
            }
            Err(_) => {
                tracing::warn!(deadline = ?SUGGESTION_DEADLINE, "no suggestions: the knowledge service did not answer in time");
                Vec::new()
            }
        }
    }
}

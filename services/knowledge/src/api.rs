//! The tonic trait impl: one line per RPC, delegating to `api/<resource>.rs`.

mod articles;
mod categories;
mod feedback;
mod parse;
mod search;
mod stats;

use std::sync::Arc;

use aftercare_platform::auth::{Principal, PrincipalVerifier, Role};
use aftercare_platform::events::RelayWaker;
use aftercare_proto::aftercare::knowledge::v1 as pb;
use aftercare_proto::aftercare::knowledge::v1::knowledge_service_server::KnowledgeService;
use tonic::{Request, Response, Status};

use crate::domain::{Action, Actor, ActorKind};
use crate::error::{Error, Result};
use crate::index::SearchIndex;
use crate::store::Store;

/// What every handler needs.
#[derive(Clone)]
pub struct Api {
    store: Store,
    index: Arc<SearchIndex>,
    principals: PrincipalVerifier,
    relay: RelayWaker,
}

impl Api {
    /// The API over `store` and `index`.
    pub fn new(
        store: Store,
        index: Arc<SearchIndex>,
        principals: PrincipalVerifier,
        relay: RelayWaker,
    ) -> Self {
        Self {
            store,
            index,
            principals,
            relay,
        }
    }

    fn principal<T>(&self, request: &Request<T>) -> Result<Principal> {
        self.principals
            .verify(request.metadata(), crate::SERVICE)
            .map_err(Error::Unauthenticated)
    }

    fn allow(principal: &Principal, action: Action) -> Result<()> {
        action.allowed(principal).map_err(Error::PermissionDenied)
    }

    /// After a committed change: wake the relay and bring the index up to date (a failure
    /// here loses nothing: the sweep catches up from the database).
    async fn committed(&self) {
        self.relay.wake();
        if let Err(error) = crate::sweep::catch_up(&self.store, &self.index).await {
            tracing::warn!(error = %error, "search index update failed; the sweep will retry");
        }
    }
}

/// The actor a principal is recorded as.
pub fn actor_of(principal: &Principal) -> Actor {
    let kind = if principal.is_customer_only() {
        ActorKind::Customer
    } else if principal.has_role(Role::Integration) {
        ActorKind::Integration
    } else if principal.has_role(Role::Service) {
        ActorKind::System
    } else {
        ActorKind::Agent
    };
    let id = match kind {
        ActorKind::Customer => principal.customer.clone().unwrap_or_default(),
        _ => principal.subject.clone(),
    };
    Actor {
        kind,
        name: principal.display_name.clone().unwrap_or_else(|| id.clone()),
        id,
    }
}

type Reply<T> = std::result::Result<Response<T>, Status>;

fn reply<T>(result: Result<T>) -> Reply<T> {
    result.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl KnowledgeService for Api {
    async fn create_article(
        &self,
        r: Request<pb::CreateArticleRequest>,
    ) -> Reply<pb::CreateArticleResponse> {
        reply(articles::create(self, r).await)
    }
    async fn get_article(
        &self,
        r: Request<pb::GetArticleRequest>,
    ) -> Reply<pb::GetArticleResponse> {
        reply(articles::get(self, r).await)
    }
    async fn list_articles(
        &self,
        r: Request<pb::ListArticlesRequest>,
    ) -> Reply<pb::ListArticlesResponse> {
        reply(articles::list(self, r).await)
    }
    async fn update_article(
        &self,
        r: Request<pb::UpdateArticleRequest>,
    ) -> Reply<pb::UpdateArticleResponse> {
        reply(articles::update(self, r).await)
    }
    async fn delete_article(
        &self,
        r: Request<pb::DeleteArticleRequest>,
    ) -> Reply<pb::DeleteArticleResponse> {
        reply(articles::delete(self, r).await)
    }
    async fn view_article(
        &self,
        r: Request<pb::ViewArticleRequest>,
    ) -> Reply<pb::ViewArticleResponse> {
        reply(articles::view(self, r).await)
    }
    async fn create_article_version(
        &self,
        r: Request<pb::CreateArticleVersionRequest>,
    ) -> Reply<pb::CreateArticleVersionResponse> {
        reply(articles::create_version(self, r).await)
    }
    async fn get_article_version(
        &self,
        r: Request<pb::GetArticleVersionRequest>,
    ) -> Reply<pb::GetArticleVersionResponse> {
        reply(articles::get_version(self, r).await)
    }
    async fn list_article_versions(
        &self,
        r: Request<pb::ListArticleVersionsRequest>,
    ) -> Reply<pb::ListArticleVersionsResponse> {
        reply(articles::list_versions(self, r).await)
    }
    async fn submit_article_for_review(
        &self,
        r: Request<pb::SubmitArticleForReviewRequest>,
    ) -> Reply<pb::SubmitArticleForReviewResponse> {
        reply(articles::submit(self, r).await)
    }
    async fn approve_article(
        &self,
        r: Request<pb::ApproveArticleRequest>,
    ) -> Reply<pb::ApproveArticleResponse> {
        reply(articles::approve(self, r).await)
    }
    async fn reject_article(
        &self,
        r: Request<pb::RejectArticleRequest>,
    ) -> Reply<pb::RejectArticleResponse> {
        reply(articles::reject(self, r).await)
    }
    async fn publish_article(
        &self,
        r: Request<pb::PublishArticleRequest>,
    ) -> Reply<pb::PublishArticleResponse> {
        reply(articles::publish(self, r).await)
    }
    async fn archive_article(
        &self,
        r: Request<pb::ArchiveArticleRequest>,
    ) -> Reply<pb::ArchiveArticleResponse> {
        reply(articles::archive(self, r).await)
    }
    async fn create_category(
        &self,
        r: Request<pb::CreateCategoryRequest>,
    ) -> Reply<pb::CreateCategoryResponse> {
        reply(categories::create(self, r).await)
    }
    async fn get_category(
        &self,
        r: Request<pb::GetCategoryRequest>,
    ) -> Reply<pb::GetCategoryResponse> {
        reply(categories::get(self, r).await)
    }
    async fn list_categories(
        &self,
        r: Request<pb::ListCategoriesRequest>,
    ) -> Reply<pb::ListCategoriesResponse> {
        reply(categories::list(self, r).await)
    }
    async fn update_category(
        &self,
        r: Request<pb::UpdateCategoryRequest>,
    ) -> Reply<pb::UpdateCategoryResponse> {
        reply(categories::update(self, r).await)
    }
    async fn delete_category(
        &self,
        r: Request<pb::DeleteCategoryRequest>,
    ) -> Reply<pb::DeleteCategoryResponse> {
        reply(categories::delete(self, r).await)
    }
    async fn search_articles(
        &self,
        r: Request<pb::SearchArticlesRequest>,
    ) -> Reply<pb::SearchArticlesResponse> {
        reply(search::search(self, r).await)
    }
    async fn suggest_articles(
        &self,
        r: Request<pb::SuggestArticlesRequest>,
    ) -> Reply<pb::SuggestArticlesResponse> {
        reply(search::suggest(self, r).await)
    }
    async fn record_suggestion_outcome(
        &self,
        r: Request<pb::RecordSuggestionOutcomeRequest>,
    ) -> Reply<pb::RecordSuggestionOutcomeResponse> {
        reply(search::record_outcome(self, r).await)
    }
    async fn rate_article(
        &self,
        r: Request<pb::RateArticleRequest>,
    ) -> Reply<pb::RateArticleResponse> {
        reply(feedback::rate(self, r).await)
    }
    async fn list_article_ratings(
        &self,
        r: Request<pb::ListArticleRatingsRequest>,
    ) -> Reply<pb::ListArticleRatingsResponse> {
        reply(feedback::list_ratings(self, r).await)
    }
    async fn get_content_gap(
        &self,
        r: Request<pb::GetContentGapRequest>,
    ) -> Reply<pb::GetContentGapResponse> {
        reply(feedback::get_gap(self, r).await)
    }
    async fn list_content_gaps(
        &self,
        r: Request<pb::ListContentGapsRequest>,
    ) -> Reply<pb::ListContentGapsResponse> {
        reply(feedback::list_gaps(self, r).await)
    }
    async fn resolve_content_gap(
        &self,
        r: Request<pb::ResolveContentGapRequest>,
    ) -> Reply<pb::ResolveContentGapResponse> {
        reply(feedback::resolve_gap(self, r).await)
    }
    async fn dismiss_content_gap(
        &self,
        r: Request<pb::DismissContentGapRequest>,
    ) -> Reply<pb::DismissContentGapResponse> {
        reply(feedback::dismiss_gap(self, r).await)
    }
    async fn get_knowledge_stats(
        &self,
        r: Request<pb::GetKnowledgeStatsRequest>,
    ) -> Reply<pb::GetKnowledgeStatsResponse> {
        reply(stats::stats(self, r).await)
    }
}

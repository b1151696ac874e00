//! Starting the service and talking to it.

use std::path::{Path, PathBuf};

use aftercare_knowledge::KnowledgeService;
use aftercare_platform::auth::{Principal, Role};
use aftercare_platform::testing::{TestDatabase, TestService};
use aftercare_proto::aftercare::knowledge::v1 as pb;
use aftercare_proto::aftercare::knowledge::v1::knowledge_service_client::KnowledgeServiceClient;
use tempfile::TempDir;
use tonic::transport::Channel;
use tonic_types::StatusExt;

/// The service with its database and index folder.
pub struct App {
    pub svc: TestService,
    pub client: KnowledgeServiceClient<Channel>,
    pub db: TestDatabase,
    pub index: TempDir,
}

/// Starts the service on `db` with an index in a fresh folder.
pub async fn spawn_app(db: TestDatabase) -> App {
    let index = tempfile::tempdir().expect("a temporary folder");
    let svc = start(&db, index.path()).await;
    let client = KnowledgeServiceClient::new(svc.channel());
    App {
        svc,
        client,
        db,
        index,
    }
}

/// Starts (another instance of) the service on `db` with its index in `dir`.
pub async fn start(db: &TestDatabase, dir: &Path) -> TestService {
    let definition = KnowledgeService::new()
        .with_index_dir(dir)
        .with_sync_interval(std::time::Duration::from_millis(100));
    TestService::start(&definition, db).await
}

impl App {
    /// Stops the service and starts it again on the same database, with its index in `dir`.
    pub async fn restart(self, dir: Option<PathBuf>) -> App {
        let App { svc, db, index, .. } = self;
        svc.stop().await;
        let dir = dir.unwrap_or_else(|| index.path().to_owned());
        let svc = start(&db, &dir).await;
        let client = KnowledgeServiceClient::new(svc.channel());
        App {
            svc,
            client,
            db,
            index,
        }
    }

    /// `message` sent as `principal`.
    pub fn req<T>(&self, principal: &Principal, message: T) -> tonic::Request<T> {
        self.svc.request(principal, message)
    }

    /// A client.
    pub fn c(&self) -> KnowledgeServiceClient<Channel> {
        self.client.clone()
    }

    /// How many rows `table` holds.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(self.svc.db().reader())
            .await
            .expect("count rows")
    }

    /// The outbox's event types, in order.
    pub async fn events(&self) -> Vec<String> {
        sqlx::query_scalar("SELECT event_type FROM aftercare_outbox ORDER BY seq")
            .fetch_all(self.svc.db().reader())
            .await
            .expect("read the outbox")
    }

    /// Creates a draft as `principal`.
    pub async fn draft(
        &self,
        principal: &Principal,
        visibility: pb::ArticleVisibility,
        language: &str,
        title: &str,
        body: &str,
    ) -> pb::Article {
        self.c()
            .create_article(self.req(
                principal,
                pb::CreateArticleRequest {
                    article: Some(pb::Article {
                        kind: pb::ArticleKind::TroubleshootingGuide as i32,
                        visibility: visibility as i32,
                        ..Default::default()
                    }),
                    initial_version: Some(version(language, title, body)),
                    request_id: String::new(),
                },
            ))
            .await
            .expect("create a draft")
            .into_inner()
            .article
            .expect("an article")
    }

    /// Submits (as its author), approves (as a lead) and publishes (as an admin) `article`.
    pub async fn publish(&self, article: &pb::Article) -> pb::Article {
        let a = self
            .c()
            .submit_article_for_review(self.req(
                &author(),
                pb::SubmitArticleForReviewRequest {
                    name: article.name.clone(),
                    etag: article.etag.clone(),
                    ..Default::default()
                },
            ))
            .await
            .expect("submit")
            .into_inner()
            .article
            .expect("an article");
        let a = self
            .c()
            .approve_article(self.req(
                &reviewer(),
                pb::ApproveArticleRequest {
                    name: a.name.clone(),
                    etag: a.etag.clone(),
                    comment: String::new(),
                },
            ))
            .await
            .expect("approve")
            .into_inner()
            .article
            .expect("an article");
        self.c()
            .publish_article(self.req(
                &admin(),
                pb::PublishArticleRequest {
                    name: a.name.clone(),
                    etag: a.etag.clone(),
                },
            ))
            .await
            .expect("publish")
            .into_inner()
            .article
            .expect("an article")
    }

    /// A published public article.
    pub async fn live(&self, language: &str, title: &str, body: &str) -> pb::Article {
        let draft = self
            .draft(
                &author(),
                pb::ArticleVisibility::Public,
                language,
                title,
                body,
            )
            .await;
        self.publish(&draft).await
    }

    /// Searches as `principal`.
    pub async fn search(&self, principal: &Principal, query: &str) -> pb::SearchArticlesResponse {
        self.search_with(
            principal,
            pb::SearchArticlesRequest {
                query: query.into(),
                ..Default::default()
            },
        )
        .await
        .expect("search")
    }

    /// Searches with a full request.
    pub async fn search_with(
        &self,
        principal: &Principal,
        request: pb::SearchArticlesRequest,
    ) -> Result<pb::SearchArticlesResponse, tonic::Status> {
        self.c()
            .search_articles(self.req(principal, request))
            .await
            .map(tonic::Response::into_inner)
    }
}

/// A version's content.
pub fn version(language: &str, title: &str, body: &str) -> pb::ArticleVersion {
    pb::ArticleVersion {
        language: language.into(),
        title: title.into(),
        body: body.into(),
        ..Default::default()
    }
}

fn principal(subject: &str, roles: &[Role], customer: Option<&str>) -> Principal {
    Principal {
        subject: subject.into(),
        roles: roles.to_vec(),
        region: None,
        customer: customer.map(Into::into),
        scopes: Vec::new(),
        display_name: Some(subject.into()),
        via: None,
    }
}

/// An agent who writes articles.
pub fn author() -> Principal {
    principal("agents/author", &[Role::Agent], None)
}

/// Another agent.
pub fn agent(id: &str) -> Principal {
    principal(&format!("agents/{id}"), &[Role::Agent], None)
}

/// A team lead (a reviewer).
pub fn reviewer() -> Principal {
    principal("agents/lead", &[Role::Lead], None)
}

/// An administrator.
pub fn admin() -> Principal {
    principal("agents/admin", &[Role::Admin], None)
}

/// An analyst.
pub fn analyst() -> Principal {
    principal("agents/analyst", &[Role::Analyst], None)
}

/// A signed-in customer.
pub fn customer(id: &str) -> Principal {
    let name = format!("customers/{id}");
    principal(&name, &[Role::Customer], Some(&name))
}

/// An anonymous portal reader.
pub fn anonymous() -> Principal {
    principal("portal", &[Role::Customer], None)
}

/// The tickets service calling on nobody's behalf.
pub fn service() -> Principal {
    Principal::service("tickets")
}

/// The field paths of an `INVALID_ARGUMENT` status.
pub fn bad_fields(status: &tonic::Status) -> Vec<String> {
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    status
        .get_error_details()
        .bad_request()
        .expect("a BadRequest detail")
        .field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect()
}

/// The titles of `response`'s hits.
pub fn titles(response: &pb::SearchArticlesResponse) -> Vec<String> {
    response.hits.iter().map(|h| h.title.clone()).collect()
}

//! Starting the feedback service (with the real tickets and customers services when the
//! closed loop is under test) and calling it as different principals.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aftercare_customers::CustomersService;
use aftercare_feedback::{CustomersEndpoint, FeedbackService, LoopRules, TicketsEndpoint};
use aftercare_platform::auth::{Principal, PrincipalVerifier, Role};
use aftercare_platform::config::FeedbackConfig;
use aftercare_platform::config::{Config, Secret, ServiceConfig};
use aftercare_platform::events::{Event, EventBus};
use aftercare_platform::service::{RunningService, start};
use aftercare_platform::testing::{TestDatabase, TestService, poll_until};
use aftercare_platform::time::{now_micros, to_timestamp};
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::customers::v1 as customers_pb;
use aftercare_proto::aftercare::customers::v1::customer_service_client::CustomerServiceClient;
use aftercare_proto::aftercare::events::v1 as ev;
use aftercare_proto::aftercare::feedback::v1 as pb;
use aftercare_proto::aftercare::feedback::v1::feedback_service_client::FeedbackServiceClient;
use aftercare_proto::aftercare::tickets::v1 as tickets_pb;
use aftercare_proto::aftercare::tickets::v1::ticket_service_client::TicketServiceClient;
use aftercare_tickets::TicketsService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};
use tonic_types::StatusExt as _;

/// The feedback service, a client, the customers service, and (for the closed loop) tickets.
pub struct App {
    pub feedback: TestService,
    pub client: FeedbackServiceClient<Channel>,
    pub tickets: Option<Tickets>,
    /// Where the tickets service is (to be) reached and the secret it trusts.
    pub tickets_addr: std::net::SocketAddr,
    pub tickets_principals: PrincipalVerifier,
    /// The customers service (always running) and the customers made in it.
    pub customers: TestService,
    pub names: HashMap<&'static str, String>,
    _dbs: (TestDatabase, TestDatabase),
}

/// A running tickets service.
pub struct Tickets {
    pub running: Option<RunningService>,
    pub shutdown: CancellationToken,
    pub client: TicketServiceClient<Channel>,
    pub principals: PrincipalVerifier,
    db: TestDatabase,
}

impl Drop for Tickets {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn reserve_port() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("an address")
}

/// The feedback service on `db` with the customers service; tickets not running
/// (follow-ups wait for it).
pub async fn spawn_app(db: TestDatabase) -> App {
    spawn_app_with(db, LoopRules::default()).await
}

/// [`spawn_app`] with other closed-loop rules.
pub async fn spawn_app_with(db: TestDatabase, rules: LoopRules) -> App {
    spawn(db, Some(rules), FeedbackConfig::default()).await
}

/// [`spawn_app`] with the configuration's `feedback` section set to `feedback` (the rules
/// come from it, as in a deployment).
pub async fn spawn_app_configured(db: TestDatabase, feedback: FeedbackConfig) -> App {
    spawn(db, None, feedback).await
}

async fn spawn(db: TestDatabase, rules: Option<LoopRules>, feedback: FeedbackConfig) -> App {
    let tickets_addr = reserve_port().await;
    let tickets_principals = PrincipalVerifier::random();
    let channel = Endpoint::from_shared(format!("http://{tickets_addr}"))
        .expect("an endpoint")
        .connect_timeout(Duration::from_millis(300))
        .connect_lazy();
    let customers_db = TestDatabase::sqlite();
    let customers = TestService::start(&CustomersService, &customers_db).await;
    let mut names = HashMap::new();
    for label in ["c1", "c2"] {
        let mut request = tonic::Request::new(customers_pb::CreateCustomerRequest {
            customer: Some(customers_pb::Customer {
                display_name: label.into(),
                ..Default::default()
            }),
            request_id: String::new(),
        });
        customers
            .principals()
            .attach(&lead(), "customers", request.metadata_mut());
        let name = CustomerServiceClient::new(customers.channel())
            .create_customer(request)
            .await
            .expect("create a customer")
            .into_inner()
            .customer
            .expect("a customer")
            .name;
        names.insert(label, name);
    }
    let mut definition = FeedbackService::new();
    if let Some(rules) = rules {
        definition = definition.with_rules(rules);
    }
    let definition = definition
        .with_sweep_interval(Duration::from_millis(100))
        .with_tickets(TicketsEndpoint {
            channel,
            principals: tickets_principals.clone(),
        })
        .with_customers(CustomersEndpoint {
            channel: customers.channel(),
            principals: customers.principals().clone(),
        });
    let feedback =
        TestService::start_configured(&definition, &db, |config| config.feedback = feedback).await;
    let client = FeedbackServiceClient::new(feedback.channel());
    App {
        feedback,
        client,
        tickets: None,
        tickets_addr,
        tickets_principals,
        customers,
        names,
        _dbs: (db, customers_db),
    }
}

/// The feedback service on `db` with the tickets and customers services running.
pub async fn spawn_loop(db: TestDatabase) -> App {
    let mut app = spawn_app(db).await;
    app.start_tickets().await;
    app
}

impl App {
    /// Starts the tickets service where the feedback service expects it.
    pub async fn start_tickets(&mut self) {
        let db = TestDatabase::sqlite();
        let (running, shutdown, client) = self.serve_tickets(&db).await;
        self.tickets = Some(Tickets {
            running: Some(running),
            shutdown,
            client,
            principals: self.tickets_principals.clone(),
            db,
        });
    }

    async fn serve_tickets(
        &self,
        tickets_db: &TestDatabase,
    ) -> (
        RunningService,
        CancellationToken,
        TicketServiceClient<Channel>,
    ) {
        let mut config = Config::default();
        config.telemetry.metrics_listen = None;
        config.events.relay_interval = Duration::from_millis(20);
        config.services.tickets = ServiceConfig {
            listen: self.tickets_addr,
            database_url: Some(Secret::new(tickets_db.url())),
            ..config.services.tickets.clone()
        };
        let definition =
            TicketsService::new().with_customers(aftercare_tickets::CustomersEndpoint {
                channel: self.customers.channel(),
                principals: self.customers.principals().clone(),
            });
        let listener = TcpListener::bind(self.tickets_addr)
            .await
            .expect("bind the tickets port");
        let shutdown = CancellationToken::new();
        let bus: Arc<dyn EventBus> = Arc::new(aftercare_platform::events::InProcessBus::new());
        let running = start(
            &definition,
            Arc::new(config),
            bus,
            self.tickets_principals.clone(),
            Some(listener),
            shutdown.clone(),
        )
        .await
        .expect("start tickets");
        let channel = Endpoint::from_shared(format!("http://{}", self.tickets_addr))
            .expect("endpoint")
            .connect_lazy();
        (running, shutdown, TicketServiceClient::new(channel))
    }

    /// Stops the tickets service (the customers service and the databases stay).
    pub async fn stop_tickets(&mut self) {
        let tickets = self.tickets.as_mut().expect("tickets running");
        tickets.shutdown.cancel();
        if let Some(running) = tickets.running.take() {
            running.stopped().await;
        }
    }

    /// Starts the tickets service again on its address and database.
    pub async fn restart_tickets(&mut self) {
        let mut tickets = self.tickets.take().expect("tickets started once");
        let (running, shutdown, client) = self.serve_tickets(&tickets.db).await;
        tickets.running = Some(running);
        tickets.shutdown = shutdown;
        tickets.client = client;
        self.tickets = Some(tickets);
    }

    /// `message` as a request from `principal`.
    pub fn req<T>(&self, principal: &Principal, message: T) -> tonic::Request<T> {
        self.feedback.request(principal, message)
    }

    /// The customers service's name of the customer labelled `label` (loop apps), or a fresh
    /// customer name.
    pub fn customer_name(&self, label: &str) -> String {
        self.names
            .get(label)
            .cloned()
            .unwrap_or_else(|| format!("customers/{}", uuid_for(label)))
    }

    /// Opens a ticket for the customer labelled `label` in the tickets service.
    pub async fn open_ticket(&self, label: &str, region: &str) -> tickets_pb::Ticket {
        let tickets = self.tickets.as_ref().expect("tickets running");
        let mut request = tonic::Request::new(tickets_pb::CreateTicketRequest {
            ticket: Some(tickets_pb::Ticket {
                customer: self.customer_name(label),
                channel: common::Channel::Chat as i32,
                subject: "洗衣机维修".into(),
                description: "师傅上门修洗衣机".into(),
                region: region.into(),
                language_code: "zh-CN".into(),
                ..Default::default()
            }),
            request_id: String::new(),
            customer_display_name: String::new(),
            follow_up_of: String::new(),
            skip_routing: true,
            max_suggestions: 0,
        });
        tickets
            .principals
            .attach(&lead(), "tickets", request.metadata_mut());
        tickets
            .client
            .clone()
            .create_ticket(request)
            .await
            .expect("open a ticket")
            .into_inner()
            .ticket
            .expect("a ticket")
    }

    /// Gets a ticket from the tickets service.
    pub async fn ticket(&self, name: &str) -> tickets_pb::Ticket {
        let tickets = self.tickets.as_ref().expect("tickets running");
        let mut request = tonic::Request::new(tickets_pb::GetTicketRequest { name: name.into() });
        tickets
            .principals
            .attach(&lead(), "tickets", request.metadata_mut());
        tickets
            .client
            .clone()
            .get_ticket(request)
            .await
            .expect("get a ticket")
            .into_inner()
            .ticket
            .expect("a ticket")
    }

    /// Publishes `payload` (from `source`) to the feedback service's bus, as another
    /// service's relay would.
    pub async fn deliver<M: prost::Name>(&self, source: &str, subject: &str, payload: &M) -> Event {
        let event = Event {
            id: uuid::Uuid::now_v7().to_string(),
            r#type: M::full_name(),
            source: source.into(),
            subject: subject.into(),
            time: Some(to_timestamp(now_micros())),
            trace_context: HashMap::new(),
            payload: Some(prost_types::Any::from_msg(payload).expect("encode")),
        };
        self.redeliver(&event).await;
        event
    }

    /// Publishes `event` again.
    pub async fn redeliver(&self, event: &Event) {
        self.feedback.bus().publish(event).await.expect("publish");
    }

    /// Counts rows of a table.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(self.feedback.db().reader())
            .await
            .expect("count rows")
    }

    /// The payloads of the outbox events of type `M`, oldest first.
    pub async fn outbox<M: prost::Name + Default>(&self) -> Vec<M> {
        let envelopes: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT envelope FROM aftercare_outbox WHERE event_type = $1 ORDER BY seq",
        )
        .bind(M::full_name())
        .fetch_all(self.feedback.db().reader())
        .await
        .expect("read the outbox");
        envelopes
            .iter()
            .map(|bytes| {
                let event = <Event as prost::Message>::decode(bytes.as_slice()).expect("an event");
                aftercare_platform::events::decode_payload::<M>(&event).expect("its payload")
            })
            .collect()
    }

    /// Waits until the consumer has handled `n` events.
    pub async fn wait_handled(&self, n: i64) {
        poll_until(
            &format!("{n} handled events"),
            Duration::from_secs(8),
            || async { (self.count("aftercare_inbox").await >= n).then_some(()) },
        )
        .await;
    }

    /// Counts outbox events of a type (`FollowUpOpened`).
    pub async fn events(&self, kind: &str) -> i64 {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM aftercare_outbox WHERE event_type = $1")
            .bind(format!("aftercare.events.v1.{kind}"))
            .fetch_one(self.feedback.db().reader())
            .await
            .expect("count events")
    }

    /// Waits until `kind` events number `n`.
    pub async fn wait_events(&self, kind: &str, n: i64) {
        poll_until(
            &format!("{n} {kind} events"),
            Duration::from_secs(8),
            || async { (self.events(kind).await >= n).then_some(()) },
        )
        .await;
    }

    /// Creates `survey` as a lead.
    pub async fn create_survey(&self, survey: pb::Survey) -> pb::Survey {
        self.client
            .clone()
            .create_survey(self.req(
                &lead(),
                pb::CreateSurveyRequest {
                    survey: Some(survey),
                    request_id: String::new(),
                },
            ))
            .await
            .expect("create a survey")
            .into_inner()
            .survey
            .expect("a survey")
    }

    /// Invites `customer` to `survey` over the API channel as a lead; returns the invitation
    /// (with its token).
    pub async fn invite(&self, survey: &str, customer: &str, ticket: &str) -> pb::Invitation {
        self.client
            .clone()
            .create_invitation(self.req(
                &lead(),
                pb::CreateInvitationRequest {
                    parent: survey.into(),
                    invitation: Some(pb::Invitation {
                        customer: customer.into(),
                        ticket: ticket.into(),
                        channel: common::Channel::Api as i32,
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
            ))
            .await
            .expect("invite")
            .into_inner()
            .invitation
            .expect("an invitation")
    }

    /// Submits answers with `token`.
    pub async fn submit(
        &self,
        token: &str,
        csat: Option<i32>,
        comment: &str,
    ) -> Result<pb::SubmitResponseResponse, Status> {
        Ok(self
            .client
            .clone()
            .submit_response(tonic::Request::new(pb::SubmitResponseRequest {
                token: token.into(),
                csat_score: csat,
                comment: comment.into(),
                ..Default::default()
            }))
            .await?
            .into_inner())
    }

    /// Gets a response as a lead.
    pub async fn response(&self, name: &str) -> pb::Response {
        self.client
            .clone()
            .get_response(self.req(&lead(), pb::GetResponseRequest { name: name.into() }))
            .await
            .expect("get a response")
            .into_inner()
            .response
            .expect("a response")
    }

    /// Lists follow-ups as a lead.
    pub async fn follow_ups(&self, filter: &str) -> Vec<pb::FollowUp> {
        self.client
            .clone()
            .list_follow_ups(self.req(
                &lead(),
                pb::ListFollowUpsRequest {
                    filter: filter.into(),
                    ..Default::default()
                },
            ))
            .await
            .expect("list follow-ups")
            .into_inner()
            .follow_ups
    }
}

/// A stable fake UUID for a label (for apps without the customers service).
pub fn uuid_for(label: &str) -> uuid::Uuid {
    let mut bytes = [0u8; 16];
    for (i, b) in label.bytes().enumerate() {
        bytes[i % 16] ^= b;
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(bytes)
}

/// A CSAT + free-text survey in English and Chinese, sent on ticket resolution.
pub fn csat_survey() -> pb::Survey {
    pb::Survey {
        titles: HashMap::from([
            ("en".into(), "How did we do?".into()),
            ("zh-CN".into(), "服务评价".into()),
        ]),
        default_language: "en".into(),
        questions: vec![
            pb::SurveyQuestion {
                r#type: pb::QuestionType::Csat as i32,
                texts: HashMap::from([
                    ("en".into(), "How satisfied are you?".into()),
                    ("zh-CN".into(), "您对本次服务满意吗？".into()),
                ]),
                required: true,
            },
            pb::SurveyQuestion {
                r#type: pb::QuestionType::FreeText as i32,
                texts: HashMap::from([
                    ("en".into(), "Tell us more".into()),
                    ("zh-CN".into(), "请告诉我们更多".into()),
                ]),
                required: false,
            },
        ],
        trigger: pb::SurveyTrigger::TicketResolved as i32,
        enabled: true,
        ..Default::default()
    }
}

/// A lead (every region).
pub fn lead() -> Principal {
    staff(Role::Lead, "eu-west")
}

/// Staff with `role` in `region`.
pub fn staff(role: Role, region: &str) -> Principal {
    Principal {
        subject: format!("agents/{}", uuid_for(region)),
        roles: vec![role],
        region: Some(region.into()),
        customer: None,
        scopes: Vec::new(),
        display_name: Some("Staff".into()),
        via: None,
    }
}

/// The customer `name`.
pub fn customer(name: &str) -> Principal {
    Principal {
        subject: name.into(),
        roles: vec![Role::Customer],
        region: None,
        customer: Some(name.into()),
        scopes: Vec::new(),
        display_name: None,
        via: None,
    }
}

/// The fields named by a status's bad-request details.
pub fn bad_fields(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

/// A `TicketResolved` event for `ticket`.
pub fn resolved(ticket: &str, customer: &str, region: &str) -> ev::TicketResolved {
    ev::TicketResolved {
        ticket: Some(ev::TicketSnapshot {
            name: ticket.into(),
            customer: customer.into(),
            channel: common::Channel::Chat as i32,
            region: region.into(),
            language_code: "zh-CN".into(),
            team: "teams/0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b".into(),
            assignee: "agents/0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6c".into(),
            ..Default::default()
        }),
        resolve_time: Some(to_timestamp(now_micros())),
        ..Default::default()
    }
}

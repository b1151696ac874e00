//! End to end: the customers and tickets services behind the gateway, in one process with
//! one signing secret, as `aftercare up` runs them. A customer opens a ticket, an agent
//! replies, the customer reads it back — over native gRPC, gRPC-Web and REST/JSON — and
//! another customer cannot see it.

use std::sync::Arc;
use std::time::Duration;

use aftercare_customers::CustomersService;
use aftercare_platform::auth::{PrincipalVerifier, Role};
use aftercare_platform::config::{Config, Secret, ServiceConfig};
use aftercare_platform::events::{EventBus, InProcessBus};
use aftercare_platform::service::{RunningService, start};
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::common::v1::Channel as ContactChannel;
use aftercare_proto::aftercare::customers::v1::customer_service_client::CustomerServiceClient;
use aftercare_proto::aftercare::customers::v1::{CreateCustomerRequest, Customer};
use aftercare_proto::aftercare::tickets::v1 as pb;
use aftercare_proto::aftercare::tickets::v1::ticket_service_client::TicketServiceClient;
use aftercare_tickets::TicketsService;
use prost::Message as _;
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::Code;

use crate::rest::rest;
use crate::support::{Harness, bearer};
use crate::web::call as grpc_web;

/// The customers and tickets services, started the way `aftercare up` starts them.
pub(crate) struct Services {
    running: Vec<RunningService>,
    shutdown: CancellationToken,
    _databases: (TestDatabase, TestDatabase),
}

pub(crate) async fn start_services(
    tickets_db: TestDatabase,
    principals: &PrincipalVerifier,
) -> (Services, Config) {
    let customers_db = TestDatabase::sqlite();
    let customers_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tickets_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = Config::default();
    config.telemetry.metrics_listen = None;
    config.events.relay_interval = Duration::from_millis(20);
    config.services.customers = ServiceConfig {
        listen: customers_listener.local_addr().unwrap(),
        endpoint: None,
        database_url: Some(Secret::new(customers_db.url())),
    };
    config.services.tickets = ServiceConfig {
        listen: tickets_listener.local_addr().unwrap(),
        endpoint: None,
        database_url: Some(Secret::new(tickets_db.url())),
    };
    let shared = Arc::new(config.clone());
    let bus: Arc<dyn EventBus> = Arc::new(InProcessBus::new());
    let shutdown = CancellationToken::new();
    let customers = start(
        &CustomersService,
        shared.clone(),
        bus.clone(),
        principals.clone(),
        Some(customers_listener),
        shutdown.clone(),
    )
    .await
    .expect("the customers service starts");
    let tickets = start(
        &TicketsService::new(),
        shared,
        bus,
        principals.clone(),
        Some(tickets_listener),
        shutdown.clone(),
    )
    .await
    .expect("the tickets service starts");
    let services = Services {
        running: vec![customers, tickets],
        shutdown,
        _databases: (tickets_db, customers_db),
    };
    (services, config)
}

impl Services {
    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        for service in self.running {
            service.stopped().await;
        }
    }
}

fn new_ticket(customer: &str, subject: &str) -> pb::Ticket {
    pb::Ticket {
        customer: customer.into(),
        channel: ContactChannel::Web as i32,
        subject: subject.into(),
        description: format!("{subject}: it stopped working yesterday"),
        region: "eu-west".into(),
        ..Default::default()
    }
}

fn public_reply(parent: &str, body: &str) -> pb::CreateMessageRequest {
    pb::CreateMessageRequest {
        parent: parent.into(),
        message: Some(pb::TicketMessage {
            visibility: pb::MessageVisibility::Public as i32,
            body: body.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

async fn a_customer_opens_a_ticket_gets_a_reply_and_reads_it_back_over_every_protocol(
    db: TestDatabase,
) {
    let principals = PrincipalVerifier::random();
    let (services, platform) = start_services(db, &principals).await;
    let harness = Harness::with_verifier(principals, |config| {
        config.services.customers.endpoint = Some(platform.services.customers.endpoint());
        config.services.tickets.endpoint = Some(platform.services.tickets.endpoint());
    })
    .await;
    let lead = harness.token("agents/lead", &[Role::Lead]);
    let agent = harness.token("agents/ana", &[Role::Agent]);
    let customers = CustomerServiceClient::new(harness.channel().await);
    let mut tickets = TicketServiceClient::new(harness.channel().await);
    let customer = |name: &'static str| {
        let request = bearer(
            CreateCustomerRequest {
                customer: Some(Customer {
                    display_name: name.into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            &lead,
        );
        let mut customers = customers.clone();
        async move {
            customers
                .create_customer(request)
                .await
                .expect("a lead creates a customer")
                .into_inner()
                .customer
                .unwrap()
                .name
        }
    };
    let (ada, grace, lin) = (
        customer("Ada").await,
        customer("Grace").await,
        customer("Lin").await,
    );
    let token_of = |name: &str| harness.token(name, &[Role::Customer]);

    // Native gRPC.
    let as_ada = token_of(&ada);
    let opened = tickets
        .create_ticket(bearer(
            pb::CreateTicketRequest {
                ticket: Some(new_ticket(&ada, "Washer leaks")),
                ..Default::default()
            },
            &as_ada,
        ))
        .await
        .expect("Ada opens a ticket over gRPC")
        .into_inner()
        .ticket
        .unwrap();
    tickets
        .create_message(bearer(
            public_reply(&opened.name, "A technician is on the way"),
            &agent,
        ))
        .await
        .expect("the agent replies over gRPC");
    let read = tickets
        .list_messages(bearer(
            pb::ListMessagesRequest {
                parent: opened.name.clone(),
                ..Default::default()
            },
            &as_ada,
        ))
        .await
        .unwrap()
        .into_inner()
        .messages;
    assert!(
        read.iter().any(|m| m.body == "A technician is on the way"),
        "{read:?}"
    );
    let status = tickets
        .get_ticket(bearer(
            pb::GetTicketRequest {
                name: opened.name.clone(),
            },
            &token_of(&grace),
        ))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::NotFound,
        "Grace cannot see Ada's ticket: {status:?}"
    );

    // REST/JSON.
    let as_grace = token_of(&grace);
    let body = json!({
        "customer": grace, "channel": "CHANNEL_WEB", "subject": "Oven is cold",
        "description": "It does not heat up at all", "region": "eu-west",
    })
    .to_string();
    let (status, opened) = rest(
        &harness,
        "POST",
        "/v1/tickets",
        Some(&as_grace),
        Some(&body),
    )
    .await;
    assert_eq!(status, 200, "Grace opens a ticket over REST: {opened}");
    let ticket = opened["ticket"]["name"].as_str().unwrap().to_owned();
    let reply = json!({"visibility": "MESSAGE_VISIBILITY_PUBLIC", "body": "Try the reset button"});
    let (status, replied) = rest(
        &harness,
        "POST",
        &format!("/v1/{ticket}/messages"),
        Some(&agent),
        Some(&reply.to_string()),
    )
    .await;
    assert_eq!(status, 200, "the agent replies over REST: {replied}");
    let (status, read) = rest(
        &harness,
        "GET",
        &format!("/v1/{ticket}/messages"),
        Some(&as_grace),
        None,
    )
    .await;
    assert_eq!(status, 200, "{read}");
    assert!(read.to_string().contains("Try the reset button"), "{read}");
    let (status, read) = rest(
        &harness,
        "GET",
        &format!("/v1/{ticket}"),
        Some(&as_grace),
        None,
    )
    .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["ticket"]["subject"], "Oven is cold");
    let (status, refused) = rest(
        &harness,
        "GET",
        &format!("/v1/{ticket}"),
        Some(&as_ada),
        None,
    )
    .await;
    assert_eq!(status, 404, "Ada cannot see Grace's ticket: {refused}");

    // gRPC-Web.
    let as_lin = token_of(&lin);
    let opened = grpc_web(
        &harness,
        "aftercare.tickets.v1.TicketService/CreateTicket",
        &pb::CreateTicketRequest {
            ticket: Some(new_ticket(&lin, "Fridge hums")),
            ..Default::default()
        },
        Some(&as_lin),
        false,
    )
    .await;
    assert!(
        opened.trailers.contains("grpc-status:0"),
        "Lin opens a ticket: {}",
        opened.trailers
    );
    let ticket = pb::CreateTicketResponse::decode(opened.messages[0].clone())
        .unwrap()
        .ticket
        .unwrap()
        .name;
    let replied = grpc_web(
        &harness,
        "aftercare.tickets.v1.TicketService/CreateMessage",
        &public_reply(&ticket, "That hum is normal"),
        Some(&agent),
        true,
    )
    .await;
    assert!(
        replied.trailers.contains("grpc-status:0"),
        "{}",
        replied.trailers
    );
    let read = grpc_web(
        &harness,
        "aftercare.tickets.v1.TicketService/ListMessages",
        &pb::ListMessagesRequest {
            parent: ticket.clone(),
            ..Default::default()
        },
        Some(&as_lin),
        true,
    )
    .await;
    let messages = pb::ListMessagesResponse::decode(read.messages[0].clone())
        .unwrap()
        .messages;
    assert!(
        messages.iter().any(|m| m.body == "That hum is normal"),
        "{messages:?}"
    );

    harness.stop().await;
    services.stop().await;
}

async fn a_lead_watching_the_queue_through_the_gateway_sees_new_tickets_as_they_come(
    db: TestDatabase,
) {
    let principals = PrincipalVerifier::random();
    let (services, platform) = start_services(db, &principals).await;
    let harness = Harness::with_verifier(principals, |config| {
        config.services.customers.endpoint = Some(platform.services.customers.endpoint());
        config.services.tickets.endpoint = Some(platform.services.tickets.endpoint());
        // The stream outlives the default timeout, which bounds only the wait for an answer.
        config.gateway.request_timeout = Duration::from_millis(1_000);
    })
    .await;
    let lead = harness.token("agents/lead", &[Role::Lead]);
    let mut tickets = TicketServiceClient::new(harness.channel().await);
    let mut watch = tickets
        .watch_tickets(bearer(
            pb::WatchTicketsRequest {
                region: "eu-west".into(),
                ..Default::default()
            },
            &lead,
        ))
        .await
        .expect("a lead may watch the queue")
        .into_inner();
    let customer = CustomerServiceClient::new(harness.channel().await)
        .create_customer(bearer(
            CreateCustomerRequest {
                customer: Some(Customer {
                    display_name: "Ada".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            &lead,
        ))
        .await
        .unwrap()
        .into_inner()
        .customer
        .unwrap()
        .name;
    // Longer than the gateway's request timeout: the stream stays open all the same.
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let opened = tickets
        .create_ticket(bearer(
            pb::CreateTicketRequest {
                ticket: Some(new_ticket(&customer, "Dryer is loud")),
                ..Default::default()
            },
            &harness.token(&customer, &[Role::Customer]),
        ))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let change = watch
                .message()
                .await
                .expect("the stream stays open")
                .expect("a change");
            if change
                .ticket
                .as_ref()
                .is_some_and(|t| t.name == opened.name)
            {
                return change;
            }
        }
    })
    .await
    .expect("the new ticket is streamed through the gateway");
    assert_eq!(seen.ticket.unwrap().subject, "Dryer is loud");

    drop(watch);
    harness.stop().await;
    services.stop().await;
}

/// An API key bound to `eu-west`, as the keys file grants it.
const MAILBOX_KEY: &str = "mailbox-key-00112233445566778899aabbccddeeff";

async fn an_api_key_bound_to_a_region_reaches_only_that_regions_tickets_and_writes_only_as_itself(
    db: TestDatabase,
) {
    let principals = PrincipalVerifier::random();
    let (services, platform) = start_services(db, &principals).await;
    let harness = Harness::with_verifier(principals, |config| {
        config.services.customers.endpoint = Some(platform.services.customers.endpoint());
        config.services.tickets.endpoint = Some(platform.services.tickets.endpoint());
    })
    .await;
    let keys = json!({"keys": [{
        "id": "mailbox",
        "sha256": aftercare_gateway::hash_api_key(MAILBOX_KEY),
        "scopes": ["tickets.*"],
        "region": "eu-west",
    }]});
    let previous = std::fs::metadata(harness.keys_path())
        .and_then(|m| m.modified())
        .expect("the keys file");
    std::fs::write(harness.keys_path(), keys.to_string()).expect("write the keys file");
    // A rewrite within one clock tick of the first write is noticed by its new time.
    std::fs::File::options()
        .write(true)
        .open(harness.keys_path())
        .and_then(|f| f.set_modified(previous + Duration::from_secs(1)))
        .expect("move the keys file's time on");
    let lead = harness.token("agents/lead", &[Role::Lead]);
    let mut tickets = TicketServiceClient::new(harness.channel().await);
    let customer = CustomerServiceClient::new(harness.channel().await)
        .create_customer(bearer(
            CreateCustomerRequest {
                customer: Some(Customer {
                    display_name: "Ada".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            &lead,
        ))
        .await
        .unwrap()
        .into_inner()
        .customer
        .unwrap()
        .name;
    let open = |region: &'static str| {
        let request = bearer(
            pb::CreateTicketRequest {
                ticket: Some(pb::Ticket {
                    region: region.into(),
                    ..new_ticket(&customer, "Washer leaks")
                }),
                ..Default::default()
            },
            &lead,
        );
        let mut tickets = tickets.clone();
        async move {
            tickets
                .create_ticket(request)
                .await
                .expect("a lead opens a ticket")
                .into_inner()
                .ticket
                .unwrap()
        }
    };
    let (west, east) = (open("eu-west").await, open("cn-east").await);
    let get = |name: &str| {
        crate::support::api_key(
            pb::GetTicketRequest {
                name: name.to_owned(),
            },
            MAILBOX_KEY,
        )
    };
    // The keys file is re-read within the reload interval.
    aftercare_platform::testing::poll_until(
        "the new key is accepted",
        Duration::from_secs(5),
        || {
            let mut tickets = tickets.clone();
            let request = get(&west.name);
            async move {
                match tickets.get_ticket(request).await {
                    Ok(found) => Some(found),
                    Err(status) => {
                        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
                        None
                    }
                }
            }
        },
    )
    .await;
    let status = tickets.get_ticket(get(&east.name)).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let listed = tickets
        .list_tickets(crate::support::api_key(
            pb::ListTicketsRequest::default(),
            MAILBOX_KEY,
        ))
        .await
        .unwrap()
        .into_inner()
        .tickets;
    let names: Vec<&str> = listed.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, [west.name.as_str()]);

    // Writing as an agent needs the delegation scope; as itself it may.
    let mut as_agent = public_reply(&west.name, "Relayed");
    as_agent.message.as_mut().unwrap().author =
        Some(aftercare_proto::aftercare::common::v1::Actor {
            r#type: aftercare_proto::aftercare::common::v1::ActorType::Agent as i32,
            id: "agents/somebody".into(),
            display_name: String::new(),
        });
    let status = tickets
        .create_message(crate::support::api_key(as_agent, MAILBOX_KEY))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let own = tickets
        .create_message(crate::support::api_key(
            public_reply(&west.name, "Received by the mailbox"),
            MAILBOX_KEY,
        ))
        .await
        .expect("the key writes as itself")
        .into_inner()
        .message
        .unwrap();
    assert_eq!(own.author.unwrap().id, "apikeys/mailbox");
    let status = tickets
        .create_message(crate::support::api_key(
            public_reply(&east.name, "Outside its region"),
            MAILBOX_KEY,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");

    harness.stop().await;
    services.stop().await;
}

/// Custom verbs after a resource id (`…/identities/{id}:verify`, `…/consents:set`,
/// `…/afterSalesCases/{id}:review`) reach the service with a bearer token: an unknown resource
/// is NOT_FOUND, never UNAUTHENTICATED. A junk `x-api-key` beside a valid token is refused:
/// the key is checked first, and this deployment takes no keys (schemathesis's negative cases
/// send one, which is why some operations answered it only 401).
async fn custom_verbs_reach_the_service_with_a_bearer_token(db: TestDatabase) {
    let principals = PrincipalVerifier::random();
    let (services, platform) = start_services(db, &principals).await;
    let harness = Harness::with_verifier(principals, |config| {
        config.services.customers.endpoint = Some(platform.services.customers.endpoint());
        config.services.tickets.endpoint = Some(platform.services.tickets.endpoint());
    })
    .await;
    let admin = harness.token("agents/api-fuzz", &[Role::Admin]);
    let id = "0190a5b4-0000-7000-8000-000000000001";
    for (path, body) in [
        (
            format!("/v1/customers/{id}/identities/{id}:verify"),
            json!({"method": "IDENTITY_VERIFICATION_METHOD_AGENT_CONFIRMED"}),
        ),
        (
            format!("/v1/customers/{id}/consents:set"),
            json!({"channel": "CHANNEL_EMAIL", "purpose": "CONSENT_PURPOSE_MARKETING", "state": "CONSENT_STATE_GRANTED", "source": "web form"}),
        ),
        (
            format!("/v1/tickets/{id}/afterSalesCases/{id}:review"),
            json!({"etag": "\"1\"", "review": {"decision": "ELIGIBILITY_DECISION_ELIGIBLE"}}),
        ),
    ] {
        let (status, answer) = rest(
            &harness,
            "POST",
            &path,
            Some(&admin),
            Some(&body.to_string()),
        )
        .await;
        assert_eq!(status, 404, "{path}: {answer}");
        assert_eq!(answer["error"]["status"], "NOT_FOUND", "{path}: {answer}");
    }
    let request = http::Request::builder()
        .method("POST")
        .uri(harness.url(&format!("/v1/customers/{id}/identities/{id}:verify")))
        .header("authorization", format!("Bearer {admin}"))
        .header("x-api-key", "junk")
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from_static(
            br#"{"method": "IDENTITY_VERIFICATION_METHOD_AGENT_CONFIRMED"}"#,
        )))
        .unwrap();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let response = client.request(request).await.unwrap();
    assert_eq!(response.status(), 401, "the key is checked first");

    harness.stop().await;
    services.stop().await;
}

aftercare_platform::on_both_databases!(
    custom_verbs_reach_the_service_with_a_bearer_token,
    a_customer_opens_a_ticket_gets_a_reply_and_reads_it_back_over_every_protocol,
    a_lead_watching_the_queue_through_the_gateway_sees_new_tickets_as_they_come,
    an_api_key_bound_to_a_region_reaches_only_that_regions_tickets_and_writes_only_as_itself
);

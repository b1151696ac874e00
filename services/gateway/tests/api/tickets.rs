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
struct Services {
    running: Vec<RunningService>,
    shutdown: CancellationToken,
    _databases: (TestDatabase, TestDatabase),
}

async fn start_services(
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
    async fn stop(self) {
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

aftercare_platform::on_both_databases!(
    a_customer_opens_a_ticket_gets_a_reply_and_reads_it_back_over_every_protocol,
    a_lead_watching_the_queue_through_the_gateway_sees_new_tickets_as_they_come
);

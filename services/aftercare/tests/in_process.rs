//! Inside `aftercare up` the gateway and the services call each other in memory: a whole
//! create (gateway → tickets → customers, workforce, knowledge) opens no TCP connection to
//! any service's port, while the ports still serve real gRPC to clients outside.

use std::time::Duration;

use aftercare::Platform;
use aftercare_platform::auth::Role;
use aftercare_platform::config::Config;
use aftercare_platform::testing::poll_until;
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::customers::v1 as customers_pb;
use aftercare_proto::aftercare::customers::v1::customer_service_client::CustomerServiceClient;
use aftercare_proto::aftercare::tickets::v1 as tickets_pb;
use aftercare_proto::aftercare::tickets::v1::ticket_service_client::TicketServiceClient;
use tonic::transport::Endpoint;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

fn test_config(data_dir: &std::path::Path) -> Config {
    let mut config = Config {
        data_dir: data_dir.to_owned(),
        ..Config::default()
    };
    config.telemetry.metrics_listen = None;
    let any_port = "127.0.0.1:0".parse().unwrap();
    config.gateway.listen = any_port;
    config.services.tickets.listen = any_port;
    config.services.customers.listen = any_port;
    config.services.workforce.listen = any_port;
    config.services.feedback.listen = any_port;
    config.services.knowledge.listen = any_port;
    config
}

fn with_token<T>(token: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_calls_between_its_services_in_memory_and_its_ports_still_serve_tcp() {
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(data.path());
    aftercare::use_dev_jwt_secret(&mut config).unwrap();
    let token = aftercare_gateway::mint_dev_token(
        &config.gateway,
        "agents/lead",
        &[Role::Lead],
        Some("eu-west"),
        None,
        Duration::from_secs(60),
    )
    .unwrap();
    let platform = Platform::start(config).await.unwrap();
    let gateway = platform.gateway_addr().expect("the gateway is up");
    let channel = Endpoint::from_shared(format!("http://{gateway}"))
        .unwrap()
        .connect()
        .await
        .unwrap();

    let customer = CustomerServiceClient::new(channel.clone())
        .create_customer(with_token(
            &token,
            customers_pb::CreateCustomerRequest {
                customer: Some(customers_pb::Customer {
                    display_name: "Li Wei".into(),
                    region: "eu-west".into(),
                    ..Default::default()
                }),
                request_id: uuid::Uuid::now_v7().to_string(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .customer
        .unwrap();
    // Tickets resolves the customer (customers), routes the ticket (workforce) and asks for
    // suggestions (knowledge), each with the lead's principal signed for that service.
    let ticket = TicketServiceClient::new(channel)
        .create_ticket(with_token(
            &token,
            tickets_pb::CreateTicketRequest {
                ticket: Some(tickets_pb::Ticket {
                    customer: customer.name.clone(),
                    channel: common::Channel::Web as i32,
                    subject: "The dryer stops after five minutes".into(),
                    description: "It beeps three times and stops.".into(),
                    ..Default::default()
                }),
                request_id: uuid::Uuid::now_v7().to_string(),
                max_suggestions: 3,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(ticket.customer, customer.name);
    assert_eq!(
        ticket.customer_display_name, "Li Wei",
        "tickets asked customers"
    );

    // The gateway's health checks reach every service too.
    let connections = poll_until(
        "every service reached in memory",
        Duration::from_secs(20),
        || {
            let connections = platform.connections();
            async move {
                connections
                    .iter()
                    .all(|(_, c)| c.local > 0)
                    .then_some(connections)
            }
        },
    )
    .await;
    for (name, counted) in &connections {
        assert_eq!(
            counted.tcp, 0,
            "{name} accepted a TCP connection from inside the process: {connections:?}"
        );
    }

    // A client outside the process still reaches a service's port over TCP, and is counted.
    let tickets_addr = platform
        .endpoints()
        .into_iter()
        .find(|(name, _)| *name == "tickets")
        .unwrap()
        .1;
    let outside = Endpoint::from_shared(format!("http://{tickets_addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    HealthClient::new(outside)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap();
    let tickets = platform
        .connections()
        .into_iter()
        .find(|(name, _)| *name == "tickets")
        .unwrap()
        .1;
    assert_eq!(tickets.tcp, 1, "the outside client's connection");

    tokio::time::timeout(Duration::from_secs(10), platform.stop())
        .await
        .expect("stops, in-memory connections included");
}

//! End to end: the customers service behind the gateway, one journey over native gRPC,
//! gRPC-Web and REST/JSON. Staff create customers; each customer reads their own profile, and
//! not another's (the service's per-resource rule, reached through the gateway).

use aftercare_customers::CustomersService;
use aftercare_platform::auth::Role;
use aftercare_platform::testing::{TestDatabase, TestService};
use aftercare_proto::aftercare::customers::v1::customer_service_client::CustomerServiceClient;
use aftercare_proto::aftercare::customers::v1::{
    CreateCustomerRequest, CreateCustomerResponse, Customer, GetCustomerRequest,
    GetCustomerResponse,
};
use prost::Message as _;
use tonic::Code;

use crate::rest::rest;
use crate::support::{Harness, bearer};
use crate::web::call as grpc_web;

const CREATE: &str = "aftercare.customers.v1.CustomerService/CreateCustomer";
const GET: &str = "aftercare.customers.v1.CustomerService/GetCustomer";

async fn the_same_journey_works_over_grpc_grpc_web_and_rest(db: TestDatabase) {
    let customers = TestService::start(&CustomersService, &db).await;
    let endpoint = customers.config().services.customers.endpoint();
    let harness = Harness::with_verifier(customers.principals().clone(), |config| {
        config.services.customers.endpoint = Some(endpoint);
    })
    .await;
    let lead = harness.token("agents/l1", &[Role::Lead]);
    let mut client = CustomerServiceClient::new(harness.channel().await);

    // Staff create three customers, one per protocol.
    let ada = client
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
        .expect("created over gRPC")
        .into_inner()
        .customer
        .unwrap()
        .name;
    let (status, grace) = rest(
        &harness,
        "POST",
        "/v1/customers",
        Some(&lead),
        Some(r#"{"displayName": "Grace", "locale": "en-GB"}"#),
    )
    .await;
    assert_eq!(status, 200, "created over REST: {grace}");
    assert_eq!(grace["customer"]["displayName"], "Grace");
    let grace = grace["customer"]["name"].as_str().unwrap().to_owned();
    let lin = grpc_web(
        &harness,
        CREATE,
        &CreateCustomerRequest {
            customer: Some(Customer {
                display_name: "林".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        },
        Some(&lead),
        false,
    )
    .await;
    assert!(
        lin.trailers.contains("grpc-status:0"),
        "created over gRPC-Web: {}",
        lin.trailers
    );
    let lin = CreateCustomerResponse::decode(lin.messages[0].clone())
        .unwrap()
        .customer
        .unwrap()
        .name;

    // Each reads their own profile back, over each protocol, and not another's.
    let as_ada = harness.token(&ada, &[Role::Customer]);
    let read = client
        .get_customer(bearer(
            GetCustomerRequest {
                name: ada.clone(),
                ..Default::default()
            },
            &as_ada,
        ))
        .await
        .expect("Ada reads her profile over gRPC")
        .into_inner();
    assert_eq!(read.customer.unwrap().display_name, "Ada");
    let status = client
        .get_customer(bearer(
            GetCustomerRequest {
                name: grace.clone(),
                ..Default::default()
            },
            &as_ada,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");

    let as_grace = harness.token(&grace, &[Role::Customer]);
    let (status, read) = rest(
        &harness,
        "GET",
        &format!("/v1/{grace}"),
        Some(&as_grace),
        None,
    )
    .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["customer"]["locale"], "en-GB");
    let (status, refused) = rest(
        &harness,
        "GET",
        &format!("/v1/{ada}"),
        Some(&as_grace),
        None,
    )
    .await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["error"]["status"], "PERMISSION_DENIED");

    let as_lin = harness.token(&lin, &[Role::Customer]);
    let read = grpc_web(
        &harness,
        GET,
        &GetCustomerRequest {
            name: lin.clone(),
            ..Default::default()
        },
        Some(&as_lin),
        true,
    )
    .await;
    assert!(read.trailers.contains("grpc-status:0"), "{}", read.trailers);
    let read = GetCustomerResponse::decode(read.messages[0].clone()).unwrap();
    assert_eq!(read.customer.unwrap().display_name, "林");
    let refused = grpc_web(
        &harness,
        GET,
        &GetCustomerRequest {
            name: ada.clone(),
            ..Default::default()
        },
        Some(&as_lin),
        true,
    )
    .await;
    assert!(
        refused.trailers.contains("grpc-status:7"),
        "{}",
        refused.trailers
    );

    harness.stop().await;
    customers.stop().await;
}

aftercare_platform::on_both_databases!(the_same_journey_works_over_grpc_grpc_web_and_rest);

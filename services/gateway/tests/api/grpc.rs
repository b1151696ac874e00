//! Native gRPC: routing, the principal, deadlines, retries, a backend that is down, health
//! and reflection.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use aftercare_platform::auth::Role;
use aftercare_proto::aftercare::workforce::v1::{
    GetAgentPerformanceRequest, GetRecognitionRequest, ListRecognitionsRequest,
};
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

use crate::support::{Harness, bearer, recognition};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_reaches_its_backend_with_the_verified_principal() {
    let harness = Harness::start().await;
    let mut client = harness.client().await;
    let lead = harness.token("agents/lead-1", &[Role::Lead]);

    let created = client
        .create_recognition(bearer(recognition("agents/a1"), &lead))
        .await
        .expect("a lead may recognise an agent")
        .into_inner()
        .recognition
        .unwrap();
    let awarded_by = created.awarded_by.unwrap();
    assert_eq!(awarded_by.id, "agents/lead-1");
    assert_eq!(awarded_by.display_name, "lead");

    let read = client
        .get_recognition(bearer(
            GetRecognitionRequest {
                name: created.name.clone(),
            },
            &lead,
        ))
        .await
        .unwrap()
        .into_inner()
        .recognition
        .unwrap();
    assert_eq!(read.name, created.name);
    assert_eq!(read.reason, "stayed late to help a customer");
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_named_by_host_name_is_resolved_and_reached() {
    let harness = Harness::with(|config| {
        let endpoint = config.services.workforce.endpoint.take().unwrap();
        config.services.workforce.endpoint = Some(endpoint.replace("127.0.0.1", "localhost"));
    })
    .await;
    let mut client = harness.client().await;
    let lead = harness.token("agents/lead-1", &[Role::Lead]);
    for _ in 0..3 {
        client
            .create_recognition(bearer(recognition("agents/a1"), &lead))
            .await
            .expect("the backend is reached through its name");
    }
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_that_is_down_fails_fast_with_unavailable() {
    let harness = Harness::start().await;
    let admin = harness.token("agents/root", &[Role::Admin]);
    let mut grpc = tonic::client::Grpc::new(harness.channel().await);
    grpc.ready().await.unwrap();
    let started = Instant::now();
    let status = grpc
        .unary::<(), (), _>(
            bearer((), &admin),
            "/aftercare.tickets.v1.TicketService/GetTicket"
                .parse()
                .unwrap(),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(status.message().contains("tickets"), "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_are_retried_on_unavailable_but_writes_are_not() {
    let harness = Harness::start().await;
    let mut client = harness.client().await;
    let lead = harness.token("agents/lead-1", &[Role::Lead]);

    let read = client
        .get_recognition(bearer(
            GetRecognitionRequest {
                name: "recognitions/flaky".into(),
            },
            &lead,
        ))
        .await
        .expect("the third attempt succeeds");
    assert_eq!(
        read.into_inner().recognition.unwrap().name,
        "recognitions/flaky"
    );
    assert_eq!(harness.seen.flaky_reads.load(Ordering::SeqCst), 3);

    let status = client
        .create_recognition(bearer(recognition("agents/flaky"), &lead))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(
        harness.seen.flaky_writes.load(Ordering::SeqCst),
        1,
        "a write is sent once"
    );
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_callers_deadline_reaches_the_backend() {
    let harness = Harness::start().await;
    let mut client = harness.client().await;
    let lead = harness.token("agents/lead-1", &[Role::Lead]);
    let deadline_seen = |timeout: Option<Duration>| {
        let mut request = bearer(
            GetAgentPerformanceRequest {
                agent: "agents/deadline".into(),
                ..Default::default()
            },
            &lead,
        );
        if let Some(timeout) = timeout {
            request.set_timeout(timeout);
        }
        request
    };
    let seen = client
        .get_agent_performance(deadline_seen(Some(Duration::from_secs(5))))
        .await
        .unwrap()
        .into_inner()
        .agent;
    let millis: u64 = seen
        .strip_suffix('m')
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("a grpc-timeout in milliseconds, got {seen}"));
    assert!((3000..=5000).contains(&millis), "{seen}");

    let seen = client
        .get_agent_performance(deadline_seen(None))
        .await
        .unwrap()
        .into_inner()
        .agent;
    assert_eq!(
        seen, "none",
        "no deadline is invented for a call without one"
    );
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_timeout_bounds_calls_without_a_deadline() {
    let harness = Harness::with(|config| {
        config.gateway.route_timeouts.insert(
            "aftercare.workforce.v1.PerformanceService/GetAgentPerformance".into(),
            Duration::from_millis(200).into(),
        );
    })
    .await;
    let mut client = harness.client().await;
    let lead = harness.token("agents/lead-1", &[Role::Lead]);
    let slow = |agent: &str| {
        bearer(
            GetAgentPerformanceRequest {
                agent: agent.into(),
                ..Default::default()
            },
            &lead,
        )
    };
    let started = Instant::now();
    let status = client
        .get_agent_performance(slow("agents/slow-3000"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    client
        .get_agent_performance(slow("agents/slow-10"))
        .await
        .expect("a fast call is within the route's timeout");
    let seen = client
        .get_agent_performance(slow("agents/deadline"))
        .await
        .unwrap()
        .into_inner()
        .agent;
    let millis = seen.strip_suffix('m').and_then(|ms| ms.parse::<u64>().ok());
    assert!(
        millis.is_some_and(|ms| ms <= 200),
        "the service is told the route's timeout: {seen}"
    );
    let other_route = client
        .list_recognitions(bearer(ListRecognitionsRequest::default(), &lead))
        .await;
    assert!(other_route.is_ok());
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_services_spans_join_the_callers_trace_under_the_gateways_span() {
    aftercare_platform::telemetry::init_for_tests();
    let harness = Harness::start().await;
    let mut client = harness.client().await;
    let lead = harness.token("agents/lead-1", &[Role::Lead]);
    let mut request = bearer(
        GetAgentPerformanceRequest {
            agent: "agents/traceparent".into(),
            ..Default::default()
        },
        &lead,
    );
    let caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    request
        .metadata_mut()
        .insert("traceparent", caller.parse().unwrap());
    let seen = client
        .get_agent_performance(request)
        .await
        .unwrap()
        .into_inner()
        .agent;
    let parts: Vec<&str> = seen.split('-').collect();
    assert_eq!(parts.len(), 4, "a traceparent reached the service: {seen}");
    assert_eq!(
        parts[1], "4bf92f3577b34da6a3ce929d0e0e4736",
        "the caller's trace"
    );
    assert_ne!(
        parts[2], "00f067aa0ba902b7",
        "under the gateway's spans, not the caller's"
    );
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_for_the_services_behind_the_gateway() {
    let harness = Harness::start().await;
    let mut health = HealthClient::new(harness.channel().await);
    let status_of = |service: &str| HealthCheckRequest {
        service: service.into(),
    };
    let overall = health.check(status_of("")).await.unwrap().into_inner();
    assert_eq!(overall.status, ServingStatus::Serving as i32);

    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let performance = health
            .check(status_of("aftercare.workforce.v1.PerformanceService"))
            .await
            .map(|r| r.into_inner().status)
            .ok();
        if performance == Some(ServingStatus::Serving as i32) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the backend never reported serving"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let tickets = health
        .check(status_of("aftercare.tickets.v1.TicketService"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        tickets.status,
        ServingStatus::NotServing as i32,
        "tickets is down"
    );
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_lists_every_service_behind_the_gateway() {
    let harness = Harness::start().await;
    let mut reflection = ServerReflectionClient::new(harness.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .expect("reflection needs no credentials")
        .into_inner();
    let answer = answers.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("a list of services");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in [
        "aftercare.tickets.v1.TicketService",
        "aftercare.customers.v1.CustomerService",
        "aftercare.workforce.v1.PerformanceService",
        "aftercare.feedback.v1.FeedbackService",
        "aftercare.knowledge.v1.KnowledgeService",
        "grpc.health.v1.Health",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_the_gateway_does_not_know_is_unimplemented() {
    let harness = Harness::start().await;
    let admin = harness.token("agents/root", &[Role::Admin]);
    let mut grpc = tonic::client::Grpc::new(harness.channel().await);
    grpc.ready().await.unwrap();
    let status = grpc
        .unary::<(), (), _>(
            bearer((), &admin),
            "/aftercare.billing.v1.BillService/GetBill".parse().unwrap(),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
    assert_eq!(harness.seen.calls.load(Ordering::SeqCst), 0);
    harness.stop().await;
}

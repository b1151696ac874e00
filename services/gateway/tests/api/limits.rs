//! Protection: rate limits with retry information, load shedding at the concurrency limit,
//! oversized requests, and the audit log of mutating calls.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aftercare_platform::auth::Role;
use aftercare_proto::aftercare::workforce::v1::{
    GetAgentPerformanceRequest, GetRecognitionRequest,
};
use tonic::Code;
use tonic_types::StatusExt as _;

use crate::support::{Harness, bearer, recognition};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_principal_over_its_rate_limit_is_told_when_to_retry() {
    let harness = Harness::with(|config| {
        config.gateway.rate_limit_per_second = 1;
        config.gateway.rate_limit_burst = 3;
    })
    .await;
    let mut client = harness.client().await;
    let busy = harness.token("agents/busy", &[Role::Lead]);
    let read = || GetRecognitionRequest {
        name: "recognitions/none".into(),
    };
    for _ in 0..3 {
        let status = client
            .get_recognition(bearer(read(), &busy))
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            Code::NotFound,
            "within the burst: {status:?}"
        );
    }
    let status = client
        .get_recognition(bearer(read(), &busy))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let retry = status.get_details_retry_info().expect("retry information");
    let delay = retry.retry_delay.expect("a retry delay");
    assert!(
        delay > Duration::ZERO && delay <= Duration::from_secs(1),
        "{delay:?}"
    );

    let other = harness.token("agents/calm", &[Role::Lead]);
    let status = client
        .get_recognition(bearer(read(), &other))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::NotFound,
        "another principal has its own limit"
    );

    tokio::time::sleep(delay).await;
    let status = client
        .get_recognition(bearer(read(), &busy))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::NotFound,
        "after the delay the call is accepted"
    );
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_is_shed_at_the_concurrency_limit_instead_of_queued() {
    let harness = Harness::with(|config| config.gateway.concurrency_limit = 2).await;
    let lead = harness.token("agents/l1", &[Role::Lead]);
    let slow = |client: &mut aftercare_proto::aftercare::workforce::v1::performance_service_client::PerformanceServiceClient<_>| {
        let mut client = client.clone();
        let request = bearer(
            GetAgentPerformanceRequest {
                agent: "agents/slow-1500".into(),
                ..Default::default()
            },
            &lead,
        );
        tokio::spawn(async move { client.get_agent_performance(request).await })
    };
    let mut client = harness.client().await;
    let first = slow(&mut client);
    let second = slow(&mut client);
    let deadline = Instant::now() + Duration::from_secs(5);
    while harness.seen.in_flight.load(Ordering::SeqCst) < 2 {
        assert!(Instant::now() < deadline, "the slow calls never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    let status = client
        .get_recognition(bearer(
            GetRecognitionRequest {
                name: "recognitions/none".into(),
            },
            &lead,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(status.message().contains("overloaded"), "{status:?}");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "shed at once, not queued"
    );

    assert!(first.await.unwrap().is_ok());
    assert!(second.await.unwrap().is_ok());
    let status = client
        .get_recognition(bearer(
            GetRecognitionRequest {
                name: "recognitions/none".into(),
            },
            &lead,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::NotFound,
        "served again once the load is gone"
    );
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_request_is_refused_cleanly() {
    let harness = Harness::with(|config| config.gateway.max_request_bytes = 4096).await;
    let mut client = harness.client().await;
    let lead = harness.token("agents/l1", &[Role::Lead]);
    let mut huge = recognition("agents/a1");
    huge.recognition.as_mut().unwrap().reason = "x".repeat(64 * 1024);
    let status = client
        .create_recognition(bearer(huge, &lead))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("4096"), "{status:?}");
    assert_eq!(harness.seen.calls.load(Ordering::SeqCst), 0);

    let created = client
        .create_recognition(bearer(recognition("agents/a1"), &lead))
        .await;
    assert!(created.is_ok(), "the connection still serves: {created:?}");
    harness.stop().await;
}

/// A log writer that keeps what is written.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn every_mutating_call_is_audited_with_who_what_when_and_outcome() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_env_filter("audit=info")
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let harness = Harness::start().await;
    let mut client = harness.client().await;
    let lead = harness.token("agents/l1", &[Role::Lead]);
    let agent = harness.token("agents/a1", &[Role::Agent]);
    client
        .create_recognition(bearer(recognition("agents/a1"), &lead))
        .await
        .unwrap();
    let _ = client
        .create_recognition(bearer(recognition("agents/a1"), &agent))
        .await;
    let _ = client
        .get_recognition(bearer(
            GetRecognitionRequest {
                name: "recognitions/1".into(),
            },
            &lead,
        ))
        .await
        .unwrap();
    harness.stop().await;

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let events: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .filter(|event: &serde_json::Value| event["target"] == "audit")
        .collect();
    assert_eq!(events.len(), 2, "two mutations, no reads: {log}");
    let fields = |i: usize| &events[i]["fields"];
    assert_eq!(fields(0)["subject"], "agents/l1");
    assert_eq!(
        fields(0)["method"],
        "aftercare.workforce.v1.PerformanceService/CreateRecognition"
    );
    assert_eq!(fields(0)["outcome"], "Ok");
    assert!(fields(0)["at"].as_str().is_some_and(|at| at.ends_with('Z')));
    assert_eq!(fields(1)["subject"], "agents/a1");
    assert_eq!(fields(1)["outcome"], "PermissionDenied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_counted_per_route_protocol_and_outcome() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let metrics = recorder.handle();
    metrics::set_global_recorder(recorder).expect("the only recorder of this test process");

    let harness = Harness::start().await;
    let mut client = harness.client().await;
    let lead = harness.token("agents/l1", &[Role::Lead]);
    client
        .create_recognition(bearer(recognition("agents/a1"), &lead))
        .await
        .unwrap();
    let _ = client
        .create_recognition(bearer(recognition("agents/a1"), "bad"))
        .await;
    harness.stop().await;

    let rendered = metrics.render();
    let route = r#"protocol="grpc",service="aftercare.workforce.v1.PerformanceService",method="CreateRecognition""#;
    // Other tests of the same process may count too (under `cargo test`): at least ours.
    let count = |code: &str| -> f64 {
        let series = format!("gateway_requests_total{{{route},code=\"{code}\"}} ");
        rendered
            .lines()
            .find_map(|line| line.strip_prefix(series.as_str()))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0.0)
    };
    assert!(count("0") >= 1.0, "{rendered}");
    assert!(count("16") >= 1.0, "{rendered}");
    assert!(
        rendered.contains("gateway_request_duration_seconds"),
        "{rendered}"
    );
}

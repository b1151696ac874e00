//! `telemetry::init` as a binary calls it: once per process, with Prometheus serving
//! `/metrics`. A test binary of its own, because `init` installs process-wide state.

use std::net::SocketAddr;

use aftercare_platform::config::{LogFormat, TelemetryConfig};
use aftercare_platform::telemetry::{self, GrpcServerLayer, traced};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Channel, Server};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// A port nobody listens on right now.
fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("local address")
}

async fn scrape(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr)
        .await
        .expect("metrics endpoint listens");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("request sent");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("response read");
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_serves_prometheus_metrics_and_refuses_a_second_call() {
    let metrics_listen = free_port();
    let config = TelemetryConfig {
        log_format: LogFormat::Json,
        log_filter: "info".to_owned(),
        otlp_endpoint: None,
        metrics_listen: Some(metrics_listen),
    };
    let guard = telemetry::init(&config, "aftercare-test").expect("first init succeeds");

    let err = telemetry::init(&config, "aftercare-test").expect_err("second init is refused");
    assert!(err.to_string().contains("already initialised"), "{err}");
    telemetry::init_for_tests(); // does nothing once a subscriber is installed

    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    let (_reporter, health) = tonic_health::server::health_reporter();
    tokio::spawn(
        Server::builder()
            .layer(GrpcServerLayer::new())
            .add_service(health)
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    let channel = Channel::from_shared(format!("http://{addr}"))
        .expect("valid uri")
        .connect()
        .await
        .expect("connects");
    HealthClient::new(traced(channel))
        .check(HealthCheckRequest::default())
        .await
        .expect("health check answers");

    let mut last = String::new();
    for _ in 0..100 {
        last = scrape(metrics_listen).await;
        if last.contains(
            r#"grpc_server_requests_total{service="grpc.health.v1.Health",method="Check",code="0"} 1"#,
        ) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(last.starts_with("HTTP/1.1 200"), "{last}");
    assert!(
        last.contains(
            r#"grpc_server_requests_total{service="grpc.health.v1.Health",method="Check",code="0"} 1"#
        ),
        "{last}"
    );
    guard.shutdown();
}

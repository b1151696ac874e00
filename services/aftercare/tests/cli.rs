//! The `aftercare` process as a user meets it: every service up in one process, healthy and
//! reflecting its contracts, stopped cleanly; configuration mistakes refused by name.

use std::process::Command;
use std::time::Duration;

use aftercare::Platform;
use aftercare_platform::config::Config;
use tonic::transport::Endpoint;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

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

async fn listed_services(addr: std::net::SocketAddr) -> Vec<String> {
    let channel = Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.message().await.unwrap().unwrap();
    match response.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            list.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("unexpected reflection response {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_serves_every_service_healthy_with_reflection_and_stops_cleanly() {
    let data = tempfile::tempdir().unwrap();
    let platform = Platform::start(test_config(data.path())).await.unwrap();
    let endpoints = platform.endpoints();
    assert_eq!(
        endpoints.len(),
        aftercare::services().len(),
        "every built-in service is up"
    );
    for (name, addr) in &endpoints {
        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let status = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .status();
        assert_eq!(status, ServingStatus::Serving, "{name} is serving");
        let listed = listed_services(*addr).await;
        assert!(
            listed
                .iter()
                .any(|s| s.starts_with(&format!("aftercare.{name}."))),
            "{name} lists its own contract in reflection: {listed:?}"
        );
        assert!(listed.iter().any(|s| s == "grpc.health.v1.Health"));
        assert!(
            data.path().join(format!("{name}.db")).is_file(),
            "{name} keeps its own SQLite database"
        );
    }
    tokio::time::timeout(Duration::from_secs(5), platform.stop())
        .await
        .expect("stops within a few seconds");
    for (name, addr) in endpoints {
        let refused = Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await;
        assert!(refused.is_err(), "{name} no longer accepts connections");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_development_token_reaches_a_service_through_the_gateway() {
    use aftercare_proto::aftercare::customers::v1::ListCustomersRequest;
    use aftercare_proto::aftercare::customers::v1::customer_service_client::CustomerServiceClient;

    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(data.path());
    let secret_file = aftercare::use_dev_jwt_secret(&mut config)
        .unwrap()
        .expect("no credentials configured: the development secret is used");
    assert!(secret_file.is_file());
    let token = aftercare_gateway::mint_dev_token(
        &config.gateway,
        "agents/demo",
        &[aftercare_platform::auth::Role::Lead],
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
    let mut client = CustomerServiceClient::new(channel.clone());

    let anonymous = client
        .list_customers(ListCustomersRequest::default())
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), tonic::Code::Unauthenticated);

    let mut request = tonic::Request::new(ListCustomersRequest::default());
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    client
        .list_customers(request)
        .await
        .expect("a lead's development token is accepted and the call reaches customers");

    let listed = listed_services(gateway).await;
    assert!(
        listed
            .iter()
            .any(|s| s == "aftercare.tickets.v1.TicketService"),
        "the gateway reflects every contract: {listed:?}"
    );
    platform.stop().await;
}

#[test]
fn token_mints_a_development_jwt_and_refuses_unknown_roles() {
    let data = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_aftercare"))
        .args([
            "token",
            "--role",
            "agent",
            "--subject",
            "agents/1",
            "--region",
            "eu-west",
        ])
        .env("AFTERCARE_DATA_DIR", data.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let token = String::from_utf8_lossy(&output.stdout);
    assert_eq!(token.trim().split('.').count(), 3, "a JWT: {token}");
    assert!(data.path().join(aftercare::DEV_JWT_SECRET_FILE).is_file());

    let output = Command::new(env!("CARGO_BIN_EXE_aftercare"))
        .args(["token", "--role", "wizard", "--subject", "x"])
        .env("AFTERCARE_DATA_DIR", data.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("wizard"));
}

#[test]
fn a_bad_configuration_value_exits_non_zero_naming_the_key() {
    let output = Command::new(env!("CARGO_BIN_EXE_aftercare"))
        .arg("config")
        .env("AFTERCARE_SERVER__REQUEST_TIMEOUT", "soon")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("server.request_timeout"), "{stderr}");
}

#[test]
fn an_unknown_configuration_key_exits_non_zero_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("aftercare.toml");
    std::fs::write(&file, "[services.tickets]\nlisten_addr = \"0.0.0.0:1\"\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_aftercare"))
        .arg("--config")
        .arg(&file)
        .arg("config")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("listen_addr"), "{stderr}");
}

#[test]
fn config_prints_the_effective_configuration_without_secrets() {
    let output = Command::new(env!("CARGO_BIN_EXE_aftercare"))
        .arg("config")
        .env(
            "AFTERCARE_SERVICES__TICKETS__DATABASE_URL",
            "postgres://app:hunter2hunter2@db:5432/tickets",
        )
        .env(
            "AFTERCARE_AUTH__PRINCIPAL_SECRET",
            "a-shared-secret-of-at-least-32-characters",
        )
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("postgres://app:***@db:5432/tickets"),
        "{stdout}"
    );
    assert!(!stdout.contains("hunter2"), "{stdout}");
    assert!(!stdout.contains("a-shared-secret"), "{stdout}");
}

#[test]
fn serve_refuses_to_start_without_a_shared_principal_secret() {
    let name = aftercare::services()
        .first()
        .map(|s| s.name())
        .expect("the binary runs at least one service");
    let output = Command::new(env!("CARGO_BIN_EXE_aftercare"))
        .args(["serve", name])
        .env_remove("AFTERCARE_AUTH__PRINCIPAL_SECRET")
        // Any free port: the default one may be taken by a platform running on this machine.
        .env("AFTERCARE_TELEMETRY__METRICS_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("auth.principal_secret"), "{stderr}");
}

//! The gateway's settings as an operator writes them in the configuration file.

use std::time::Duration;

use aftercare_gateway::Gateway;
use aftercare_platform::auth::PrincipalVerifier;
use aftercare_platform::config::Config;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[test]
fn gateway_settings_load_from_the_configuration_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aftercare.toml");
    std::fs::write(
        &path,
        r#"
        [gateway]
        jwt_secret = "a-development-secret-0123456789abcdef"
        issuer = "https://id.example.com"
        audience = "aftercare-api"
        rate_limit_per_second = 50
        request_timeout = "10s"
        cors_allowed_origins = ["https://desk.example.com"]
        [gateway.route_timeouts]
        "aftercare.tickets.v1.TicketService/ListTickets" = "2s"
        "aftercare.knowledge.v1" = "500ms"
        [gateway.policy]
        analyst = ["*.read", "aftercare.tickets.v1.TicketService/GetTicketStats"]
        "#,
    )
    .unwrap();
    let config = Config::load(Some(&path)).expect("the file loads");
    let gateway = &config.gateway;
    assert_eq!(gateway.jwt_secret.as_ref().unwrap().expose().len(), 37);
    assert_eq!(gateway.issuer, "https://id.example.com");
    assert_eq!(gateway.request_timeout, Duration::from_secs(10));
    assert_eq!(
        *gateway.route_timeouts["aftercare.knowledge.v1"],
        Duration::from_millis(500)
    );
    assert_eq!(gateway.policy["analyst"].len(), 2);
    assert_eq!(gateway.cors_allowed_origins, ["https://desk.example.com"]);
}

#[tokio::test]
async fn a_bad_policy_or_short_secret_stops_the_gateway_from_starting() {
    let start = |config: Config| async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Gateway::start(
            config.into(),
            PrincipalVerifier::random(),
            listener,
            CancellationToken::new(),
        )
        .await
        .map(|_| ())
        .unwrap_err()
        .to_string()
    };
    let mut config = Config::default();
    config
        .gateway
        .policy
        .insert("agent".into(), vec!["tickets.destroy".into()]);
    let err = start(config).await;
    assert!(err.contains("gateway.policy.agent"), "{err}");

    let mut config = Config::default();
    config.gateway.jwt_secret = Some(aftercare_platform::config::Secret::new("short"));
    let err = start(config).await;
    assert!(err.contains("gateway.jwt_secret"), "{err}");

    let mut config = Config::default();
    config.gateway.api_keys_file = Some("/nonexistent/keys.json".into());
    let err = start(config).await;
    assert!(err.contains("gateway.api_keys_file"), "{err}");
}

//! Authentication and authorisation: the role × method group matrix, every way credentials
//! can be wrong, API key rotation, and principals that are forged.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aftercare_platform::auth::{Principal, PrincipalVerifier, Role};
use aftercare_proto::aftercare::workforce::v1::GetRecognitionRequest;
use aftercare_proto::aftercare::workforce::v1::performance_service_client::PerformanceServiceClient;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use tonic::{Code, Request};

use crate::support::{ERP_KEY, Harness, IDP_PRIVATE_KEY, SECRET, api_key, bearer, recognition};

/// Who calls in the matrix, in the column order of [`MATRIX`].
const ROLES: [&str; 8] = [
    "customer",
    "agent",
    "specialist",
    "lead",
    "trainer",
    "analyst",
    "admin",
    "integration",
];

/// Every method group (with two `tickets.write` methods: customers may open tickets but not
/// assign them), and whether each role of [`ROLES`] may call it (`Y`) or not (`-`). The
/// integration holds the scope `performance.*`.
const MATRIX: [(&str, &str); 21] = [
    ("aftercare.tickets.v1.TicketService/GetTicket", "YYYYYYY-"),
    (
        "aftercare.tickets.v1.TicketService/CreateTicket",
        "YYYY--Y-",
    ),
    (
        "aftercare.tickets.v1.TicketService/AssignTicket",
        "-YYY--Y-",
    ),
    ("aftercare.tickets.v1.SlaService/GetSlaPolicy", "-YYY-YY-"),
    (
        "aftercare.tickets.v1.SlaService/CreateSlaPolicy",
        "------Y-",
    ),
    (
        "aftercare.tickets.v1.AfterSalesService/GetAfterSalesCase",
        "YYYY-YY-",
    ),
    (
        "aftercare.tickets.v1.AfterSalesService/ReviewAfterSalesCase",
        "-YYY--Y-",
    ),
    (
        "aftercare.customers.v1.CustomerService/ListCustomers",
        "-YYY-YY-",
    ),
    (
        "aftercare.customers.v1.CustomerService/MergeCustomers",
        "-YYY--Y-",
    ),
    (
        "aftercare.feedback.v1.FeedbackService/ListResponses",
        "YYYYYYY-",
    ),
    (
        "aftercare.feedback.v1.FeedbackService/CreateSurvey",
        "-YYY--Y-",
    ),
    (
        "aftercare.tickets.v1.TicketService/ReopenTicket",
        "-YYY--Y-",
    ),
    (
        "aftercare.tickets.v1.AfterSalesService/CancelAfterSalesCase",
        "-YYY--Y-",
    ),
    (
        "aftercare.knowledge.v1.KnowledgeService/SearchArticles",
        "YYYYYYY-",
    ),
    (
        "aftercare.knowledge.v1.KnowledgeService/PublishArticle",
        "------Y-",
    ),
    (
        "aftercare.workforce.v1.WorkforceService/ListAgents",
        "-YYYYYY-",
    ),
    (
        "aftercare.workforce.v1.WorkforceService/CreateAgent",
        "---Y--Y-",
    ),
    (
        "aftercare.workforce.v1.TrainingService/ListCourses",
        "-YYYYYY-",
    ),
    (
        "aftercare.workforce.v1.TrainingService/CreateCourse",
        "----Y-Y-",
    ),
    (
        "aftercare.workforce.v1.PerformanceService/GetRecognition",
        "-YYYYYYY",
    ),
    (
        "aftercare.workforce.v1.PerformanceService/CreateRecognition",
        "---YY-YY",
    ),
];

/// Calls `method` with an empty message and returns the status code.
async fn call(harness: &Harness, method: &str, request: Request<()>) -> Code {
    let mut grpc = tonic::client::Grpc::new(harness.channel().await);
    grpc.ready().await.expect("the gateway is ready");
    match grpc
        .unary::<(), (), _>(
            request,
            format!("/{method}").parse().expect("a method path"),
            tonic_prost::ProstCodec::default(),
        )
        .await
    {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

fn credentials(harness: &Harness, role: &str) -> Request<()> {
    let token = |subject: &str, role: Role| harness.token(subject, &[role]);
    match role {
        "integration" => api_key((), ERP_KEY),
        "customer" => bearer((), &token("customers/c1", Role::Customer)),
        "agent" => bearer((), &token("agents/a1", Role::Agent)),
        "specialist" => bearer((), &token("agents/s1", Role::Specialist)),
        "lead" => bearer((), &token("agents/l1", Role::Lead)),
        "trainer" => bearer((), &token("agents/t1", Role::Trainer)),
        "analyst" => bearer((), &token("agents/an1", Role::Analyst)),
        "admin" => bearer((), &token("agents/ad1", Role::Admin)),
        other => panic!("no role {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_reaches_exactly_the_method_groups_its_policy_allows() {
    let harness = Harness::start().await;
    let mut wrong = Vec::new();
    for (method, allowed) in MATRIX {
        for (role, expected) in ROLES.iter().zip(allowed.chars()) {
            let code = call(&harness, method, credentials(&harness, role)).await;
            let passed_the_gateway =
                !matches!(code, Code::PermissionDenied | Code::Unauthenticated);
            if passed_the_gateway != (expected == 'Y') {
                wrong.push(format!("{role} → {method}: {code:?}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "unexpected decisions:\n{}",
        wrong.join("\n")
    );
    harness.stop().await;
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims(iss: &str, aud: &str, exp: u64) -> serde_json::Value {
    serde_json::json!({
        "sub": "agents/a1", "roles": ["admin"], "iss": iss, "aud": aud, "exp": exp,
    })
}

fn hs256(claims: &serde_json::Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn es256(claims: &serde_json::Value, kid: &str) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_ec_pem(IDP_PRIVATE_KEY.as_bytes()).unwrap(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_without_valid_credentials_are_unauthenticated_and_never_reach_a_service() {
    let harness = Harness::start().await;
    let method = "aftercare.workforce.v1.PerformanceService/GetRecognition";
    let valid = claims("aftercare", "aftercare", now() + 600);
    let authorization = |value: String| {
        let mut request = Request::new(());
        request
            .metadata_mut()
            .insert("authorization", value.parse().unwrap());
        request
    };
    let cases = [
        ("no credentials", Request::new(())),
        (
            "expired token",
            bearer(
                (),
                &hs256(&claims("aftercare", "aftercare", now() - 3600), SECRET),
            ),
        ),
        (
            "wrong audience",
            bearer(
                (),
                &hs256(&claims("aftercare", "another-api", now() + 600), SECRET),
            ),
        ),
        (
            "wrong issuer",
            bearer(
                (),
                &hs256(&claims("evil-idp", "aftercare", now() + 600), SECRET),
            ),
        ),
        (
            "bad signature",
            bearer((), &hs256(&valid, "a-guessed-secret-0123456789abcdef")),
        ),
        ("unknown signing key", bearer((), &es256(&valid, "idp-2"))),
        ("malformed token", bearer((), "not.a.token")),
        (
            "not a bearer",
            authorization("Basic YWRtaW46YWRtaW4=".into()),
        ),
        ("unknown API key", api_key((), "guessed-key")),
    ];
    for (case, request) in cases {
        assert_eq!(
            call(&harness, method, request).await,
            Code::Unauthenticated,
            "{case}"
        );
    }
    assert_eq!(
        harness.seen.calls.load(Ordering::SeqCst),
        0,
        "no refused call reached the service"
    );

    let accepted = call(&harness, method, bearer((), &hs256(&valid, SECRET))).await;
    assert_eq!(
        accepted,
        Code::NotFound,
        "a valid token reaches the service"
    );
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identity_providers_es256_token_verifies_against_the_jwks_file() {
    let harness = Harness::start().await;
    let mut client = harness.client().await;
    let token = es256(
        &serde_json::json!({
            "sub": "agents/idp-user", "roles": ["lead"], "iss": "aftercare",
            "aud": "aftercare", "exp": now() + 600,
        }),
        "idp-1",
    );
    let created = client
        .create_recognition(bearer(recognition("agents/a1"), &token))
        .await
        .expect("the identity provider's token is accepted")
        .into_inner();
    assert_eq!(
        created.recognition.unwrap().awarded_by.unwrap().id,
        "agents/idp-user"
    );
    harness.stop().await;
}

/// Waits until the ERP key is answered with `want`, and returns the last status.
async fn erp_key_answered(
    client: &PerformanceServiceClient<tonic::transport::Channel>,
    want: Code,
) -> tonic::Status {
    aftercare_platform::testing::poll_until(
        &format!("the ERP key to be answered with {want:?}"),
        Duration::from_secs(5),
        || {
            let mut client = client.clone();
            async move {
                let request = api_key(
                    GetRecognitionRequest {
                        name: "recognitions/none".into(),
                    },
                    ERP_KEY,
                );
                let status = client.get_recognition(request).await.err()?;
                (status.code() == want).then_some(status)
            }
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_or_deleted_keys_file_revokes_every_key_until_it_is_fixed() {
    let harness = Harness::start().await;
    let client = harness.client().await;
    erp_key_answered(&client, Code::NotFound).await;

    std::fs::write(harness.keys_path(), b"{\"keys\": [ not json").unwrap();
    erp_key_answered(&client, Code::Unauthenticated).await;
    harness.write_keys(&[("erp", ERP_KEY, &["performance.read"], None)]);
    erp_key_answered(&client, Code::NotFound).await;
    std::fs::remove_file(harness.keys_path()).unwrap();
    let status = erp_key_answered(&client, Code::Unauthenticated).await;
    assert!(status.message().contains("keys file"), "{status:?}");
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_rotate_without_a_restart() {
    let harness = Harness::start().await;
    let mut client = harness.client().await;
    let read = || GetRecognitionRequest {
        name: "recognitions/none".into(),
    };
    let status = client
        .get_recognition(api_key(read(), ERP_KEY))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::NotFound,
        "the key is accepted: {status:?}"
    );

    let new_key = "erp-rotated-00112233445566778899aabbccdd";
    harness.write_keys(&[
        ("erp-2", new_key, &["performance.read"], None),
        (
            "erp-old",
            "long-gone-key-0123456789",
            &["performance.*"],
            Some("2020-01-01T00:00:00Z"),
        ),
    ]);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let status = client
            .get_recognition(api_key(read(), ERP_KEY))
            .await
            .unwrap_err();
        if status.code() == Code::Unauthenticated {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the revoked key is still accepted"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let status = client
        .get_recognition(api_key(read(), new_key))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::NotFound,
        "the new key is accepted: {status:?}"
    );
    let status = client
        .create_recognition(api_key(recognition("agents/a1"), new_key))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::PermissionDenied,
        "its scopes allow reads only"
    );
    let status = client
        .get_recognition(api_key(read(), "long-gone-key-0123456789"))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::Unauthenticated,
        "an expired key is refused"
    );
    assert!(status.message().contains("expired"), "{status:?}");
    harness.stop().await;
}

fn admin() -> Principal {
    Principal {
        subject: "agents/mallory".into(),
        roles: vec![Role::Admin],
        region: None,
        customer: None,
        scopes: vec![],
        display_name: None,
        via: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_principal_sent_straight_to_a_service_is_refused() {
    let harness = Harness::start().await;
    let channel =
        tonic::transport::Endpoint::from_shared(format!("http://{}", harness.backend_addr))
            .unwrap()
            .connect()
            .await
            .unwrap();
    let mut direct = PerformanceServiceClient::new(channel);
    let mut request = Request::new(recognition("agents/a1"));
    PrincipalVerifier::new(b"a-guessed-secret-0123456789abcdef").attach(
        &admin(),
        "workforce",
        request.metadata_mut(),
    );
    let status = direct.create_recognition(request).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    // A correctly signed principal captured on its way to another service is refused here.
    let mut request = Request::new(recognition("agents/a1"));
    harness
        .principals
        .attach(&admin(), "tickets", request.metadata_mut());
    let status = direct.create_recognition(request).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(status.message().contains("another service"), "{status:?}");

    let status = direct
        .create_recognition(Request::new(recognition("agents/a1")))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "no principal at all");
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_principal_sent_to_the_gateway_is_replaced_by_the_verified_one() {
    let harness = Harness::start().await;
    let mut client = harness.client().await;
    let smuggle = |token: &str| {
        let mut request = bearer(recognition("agents/a1"), token);
        // Even a correctly signed principal (replayed from elsewhere) does not count.
        harness
            .principals
            .attach(&admin(), "workforce", request.metadata_mut());
        request
    };
    let agent = harness.token("agents/a1", &[Role::Agent]);
    let status = client
        .create_recognition(smuggle(&agent))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::PermissionDenied,
        "the agent stays an agent"
    );

    let lead = harness.token("agents/l1", &[Role::Lead]);
    let created = client
        .create_recognition(smuggle(&lead))
        .await
        .unwrap()
        .into_inner();
    let awarded_by = created.recognition.unwrap().awarded_by.unwrap();
    assert_eq!(awarded_by.id, "agents/l1");
    assert_eq!(awarded_by.display_name, "lead");
    harness.stop().await;
}

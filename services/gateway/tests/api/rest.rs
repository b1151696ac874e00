//! REST/JSON transcoded from the contracts' `google.api.http` annotations, JSON errors, and
//! the OpenAPI document.

use std::sync::atomic::Ordering;

use aftercare_platform::auth::Role;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::support::Harness;

/// Sends a REST request; returns the HTTP status and the JSON answer.
pub async fn rest(
    harness: &Harness,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, Value) {
    let mut request = http::Request::builder()
        .method(method)
        .uri(harness.url(path));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let body = Bytes::from(body.unwrap_or_default().to_owned());
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let response = client
        .request(request.body(Full::new(body)).unwrap())
        .await
        .expect("an answer");
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "every answer is JSON"
    );
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).expect("a JSON body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_creates_lists_and_reads_back_through_the_contracts_mapping() {
    let harness = Harness::start().await;
    let lead = harness.token("agents/l1", &[Role::Lead]);
    let (status, created) = rest(
        &harness,
        "POST",
        "/v1/recognitions",
        Some(&lead),
        Some(r#"{"agent": "agents/a1", "badge": "RECOGNITION_BADGE_MENTOR", "reason": "calm under fire"}"#),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["recognition"]["agent"], "agents/a1");
    assert_eq!(created["recognition"]["badge"], "RECOGNITION_BADGE_MENTOR");
    assert_eq!(
        created["recognition"]["awardedBy"]["id"], "agents/l1",
        "lowerCamelCase names"
    );
    assert_eq!(created["recognition"]["createTime"], "2025-10-09T08:53:20Z");
    let name = created["recognition"]["name"].as_str().unwrap().to_owned();

    let (status, read) = rest(&harness, "GET", &format!("/v1/{name}"), Some(&lead), None).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["recognition"], created["recognition"]);

    rest(
        &harness,
        "POST",
        "/v1/recognitions",
        Some(&lead),
        Some(r#"{"agent": "agents/a2", "badge": "RECOGNITION_BADGE_MENTOR", "reason": "again"}"#),
    )
    .await;
    let (status, listed) = rest(
        &harness,
        "GET",
        "/v1/recognitions?pageSize=5&filter=agent%20%3D%20%22agents%2Fa2%22",
        Some(&lead),
        None,
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    let agents: Vec<&str> = listed["recognitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["agent"].as_str().unwrap())
        .collect();
    assert_eq!(
        agents,
        ["agents/a2"],
        "query parameters fill the request: {listed}"
    );

    let (status, performance) = rest(
        &harness,
        "GET",
        "/v1/agents/a7/performance?interval=1",
        Some(&lead),
        None,
    )
    .await;
    assert_eq!(status, 200, "{performance}");
    assert_eq!(
        performance["agent"], "agents/a7",
        "path variables fill the request"
    );
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_errors_are_json_with_the_grpc_code_and_details() {
    let harness = Harness::start().await;
    let lead = harness.token("agents/l1", &[Role::Lead]);

    let (status, error) = rest(
        &harness,
        "POST",
        "/v1/recognitions",
        Some(&lead),
        Some(r#"{"agent": "agents/a1", "reason": " "}"#),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(error["error"]["grpcCode"], 3);
    let details = &error["error"]["details"][0];
    assert_eq!(
        details["@type"],
        "type.googleapis.com/google.rpc.BadRequest"
    );
    assert_eq!(details["fieldViolations"][0]["field"], "recognition.reason");

    let (status, error) = rest(&harness, "GET", "/v1/recognitions/404", Some(&lead), None).await;
    assert_eq!(status, 404, "{error}");
    assert_eq!(error["error"]["status"], "NOT_FOUND");
    assert_eq!(
        error["error"]["details"][0]["resourceName"],
        "recognitions/404"
    );

    let (status, error) = rest(&harness, "GET", "/v1/recognitions/1", None, None).await;
    assert_eq!(status, 401, "{error}");
    assert_eq!(error["error"]["status"], "UNAUTHENTICATED");

    let customer = harness.token("customers/c1", &[Role::Customer]);
    let (status, error) = rest(&harness, "GET", "/v1/recognitions/1", Some(&customer), None).await;
    assert_eq!(status, 403, "{error}");
    assert_eq!(error["error"]["status"], "PERMISSION_DENIED");

    let cases = [
        ("POST", "/v1/recognitions", Some(r#"{"agent": "#)),
        ("POST", "/v1/recognitions", Some(r#"{"colour": "blue"}"#)),
        ("GET", "/v1/recognitions?pageSize=many", None),
        ("GET", "/v1/recognitions?noSuchField=1", None),
    ];
    for (method, path, body) in cases {
        let (status, error) = rest(&harness, method, path, Some(&lead), body).await;
        assert_eq!(status, 400, "{method} {path} {body:?}: {error}");
        assert_eq!(error["error"]["status"], "INVALID_ARGUMENT");
    }
    let (status, error) = rest(&harness, "GET", "/v1/nowhere", Some(&lead), None).await;
    assert_eq!(status, 404, "{error}");
    let (status, error) = rest(&harness, "DELETE", "/v1/recognitions", Some(&lead), None).await;
    assert_eq!(status, 405, "a path bound to other methods: {error}");
    assert_eq!(error["error"]["status"], "UNIMPLEMENTED");
    assert_eq!(error["error"]["code"], 405);
    assert_eq!(
        harness.seen.calls.load(Ordering::SeqCst),
        2,
        "only the two well-formed, permitted calls reached the service"
    );
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_are_not_offered_over_rest() {
    let harness = Harness::start().await;
    let admin = harness.token("agents/root", &[Role::Admin]);
    let (status, error) = rest(&harness, "GET", "/v1/tickets:watch", Some(&admin), None).await;
    assert_eq!(status, 501, "{error}");
    assert_eq!(error["error"]["status"], "UNIMPLEMENTED");
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_the_rest_mapping() {
    let harness = Harness::start().await;
    let (status, document) = rest(&harness, "GET", "/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(document["openapi"], "3.0.3");
    let paths = &document["paths"];
    assert!(
        paths["/v1/recognitions"]["post"]["requestBody"].is_object(),
        "{}",
        paths["/v1/recognitions"]
    );
    assert_eq!(
        paths["/v1/recognitions"]["post"]["operationId"],
        "PerformanceService.CreateRecognition"
    );
    assert!(paths["/v1/tickets/{tickets_id}"]["get"].is_object());
    assert!(paths["/v1/customers:resolveIdentity"]["post"].is_object());
    let query: Vec<&str> = paths["/v1/recognitions"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        query.contains(&"pageSize") && query.contains(&"filter"),
        "{query:?}"
    );
    let recognition = &document["components"]["schemas"]["aftercare.workforce.v1.Recognition"];
    assert_eq!(
        recognition["properties"]["createTime"]["format"],
        "date-time"
    );
    assert_eq!(
        recognition["properties"]["awardedBy"]["allOf"][0]["$ref"],
        "#/components/schemas/aftercare.common.v1.Actor"
    );
    assert!(document["components"]["schemas"]["aftercare.common.v1.Actor"].is_object());
    harness.stop().await;
}

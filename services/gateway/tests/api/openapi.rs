//! The OpenAPI document the gateway serves: valid OpenAPI 3.0 (checked by
//! `openapi-spec-validator`, from PyPI), and saying what the contracts declare in a way the
//! REST mapping honours.

use aftercare_platform::auth::Role;
use aftercare_platform::testing::REQUIRE_SERVICES_ENV;
use serde_json::Value;

use crate::rest::rest;
use crate::support::Harness;

async fn served_document(harness: &Harness) -> Value {
    let (status, document) = rest(harness, "GET", "/openapi.json", None, None).await;
    assert_eq!(status, 200, "{document}");
    document
}

fn parameter<'a>(operation: &'a Value, name: &str) -> &'a Value {
    operation["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no parameter {name} in {operation}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_document_is_valid_openapi_3() {
    let harness = Harness::start().await;
    let document = served_document(&harness).await;
    harness.stop().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("openapi.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&document).unwrap()).unwrap();
    let output = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&path)
        .output();
    let required = std::env::var(REQUIRE_SERVICES_ENV).is_ok_and(|v| v == "1" || v == "true");
    let output = match output {
        Ok(output) if output.status.success() => output,
        Ok(output)
            if String::from_utf8_lossy(&output.stderr).contains("No module named") && !required =>
        {
            eprintln!(
                "skipping: openapi-spec-validator is not installed (pip install openapi-spec-validator)"
            );
            return;
        }
        Ok(output) => panic!(
            "the document is not valid OpenAPI 3.0:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(err) if !required => {
            eprintln!("skipping: python3 cannot run ({err})");
            return;
        }
        Err(err) => panic!("python3 cannot run: {err}"),
    };
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("OK"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_fields_documented_are_the_ones_the_service_asks_for() {
    let harness = Harness::start().await;
    let document = served_document(&harness).await;
    let schemas = &document["components"]["schemas"];
    let input = &schemas["aftercare.workforce.v1.Recognition-Input"];
    let required: Vec<&str> = input["required"]
        .as_array()
        .unwrap_or_else(|| panic!("{input}"))
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(required.contains(&"reason"), "{required:?}");
    let lead = harness.token("agents/l1", &[Role::Lead]);
    // Leaving out a field the document requires is refused, naming that field.
    let (status, error) = rest(
        &harness,
        "POST",
        "/v1/recognitions",
        Some(&lead),
        Some(r#"{"agent": "agents/a1", "badge": "RECOGNITION_BADGE_MENTOR"}"#),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(
        error["error"]["details"][0]["fieldViolations"][0]["field"],
        "recognition.reason"
    );
    // A request that gives the enum by number, as the document allows, is read as its name.
    let number = input["properties"]["badge"]["oneOf"][1]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n.as_i64() != Some(0))
        .cloned()
        .expect("a badge number");
    let (status, created) = rest(
        &harness,
        "POST",
        "/v1/recognitions",
        Some(&lead),
        Some(&format!(
            r#"{{"agent": "agents/a1", "badge": {number}, "reason": "steady"}}"#
        )),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let names = schemas["aftercare.workforce.v1.Recognition"]["properties"]["badge"]["enum"]
        .as_array()
        .unwrap();
    assert!(
        names.contains(&created["recognition"]["badge"]),
        "the answer's enum is one of the documented names: {created}"
    );
    // The answer conforms to the response schema: what it declares read-only came back.
    let output = &schemas["aftercare.workforce.v1.Recognition"];
    assert!(output.get("required").is_none(), "{output}");
    assert_eq!(output["properties"]["createTime"]["readOnly"], true);
    assert!(created["recognition"]["createTime"].is_string());
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_operations_document_the_501_rest_answers() {
    let harness = Harness::start().await;
    let document = served_document(&harness).await;
    let mut streaming = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (verb, operation) in item.as_object().unwrap() {
            if operation["x-aftercare-streaming"] != true {
                continue;
            }
            streaming += 1;
            assert!(
                operation["responses"]["501"].is_object(),
                "{verb} {path}: {operation}"
            );
            if path.contains('{') || verb != "get" {
                continue;
            }
            let (status, error) = rest(&harness, "GET", path, None, None).await;
            assert_eq!(status, 501, "{path}: {error}");
            assert_eq!(error["error"]["status"], "UNIMPLEMENTED");
        }
    }
    assert!(streaming >= 2, "WatchTickets and WatchPresence stream");
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_error_body_matches_its_schema() {
    let harness = Harness::start().await;
    let document = served_document(&harness).await;
    let schemas = &document["components"]["schemas"];
    let lead = harness.token("agents/l1", &[Role::Lead]);
    let (status, error) = rest(&harness, "GET", "/v1/recognitions/404", Some(&lead), None).await;
    assert_eq!(status, 404, "{error}");
    let required = schemas["google.rpc.Status"]["required"].as_array().unwrap();
    for key in required {
        assert!(
            error["error"].get(key.as_str().unwrap()).is_some(),
            "{key} missing from {error}"
        );
    }
    let detail = &error["error"]["details"][0];
    let url = detail["@type"].as_str().unwrap();
    let target = schemas["google.rpc.Detail"]["discriminator"]["mapping"][url]
        .as_str()
        .unwrap_or_else(|| panic!("{url} is not a documented detail"));
    let name = target.strip_prefix("#/components/schemas/").unwrap();
    for key in schemas[name]["required"].as_array().unwrap() {
        assert!(
            detail.get(key.as_str().unwrap()).is_some(),
            "{key} missing from {detail}"
        );
    }
    let page_size = parameter(&document["paths"]["/v1/recognitions"]["get"], "pageSize");
    assert_eq!(page_size["schema"]["minimum"], 0);
    let (status, error) = rest(
        &harness,
        "GET",
        "/v1/recognitions?pageSize=2147483648",
        Some(&lead),
        None,
    )
    .await;
    assert_eq!(
        status, 400,
        "beyond the documented int32 maximum is refused: {error}"
    );
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_method_the_document_does_not_declare_for_a_path_is_405_with_allow() {
    use bytes::Bytes;
    use http_body_util::Full;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let harness = Harness::start().await;
    let document = served_document(&harness).await;
    let declared: Vec<String> = document["paths"]["/v1/recognitions"]
        .as_object()
        .unwrap()
        .keys()
        .map(|verb| verb.to_ascii_uppercase())
        .collect();
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = http::Request::builder()
        .method("PUT")
        .uri(harness.url("/v1/recognitions"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = client.request(request).await.expect("an answer");
    assert_eq!(response.status(), 405);
    let allow = response.headers()["allow"].to_str().unwrap().to_owned();
    let mut allowed: Vec<&str> = allow.split(", ").collect();
    allowed.sort_unstable();
    let mut expected: Vec<&str> = declared.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(allowed, expected, "Allow lists what the document declares");
    harness.stop().await;
}

//! gRPC-Web over HTTP/1.1, as a browser sends it: binary and base64 text.

use aftercare_platform::auth::Role;
use aftercare_proto::aftercare::workforce::v1::{
    CreateRecognitionResponse, GetRecognitionResponse,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::{BufMut as _, Bytes, BytesMut};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use prost::Message;

use crate::support::{Harness, recognition};

/// A gRPC-Web answer: its messages and its trailers.
pub struct WebAnswer {
    pub http_status: u16,
    pub content_type: String,
    pub messages: Vec<Bytes>,
    pub trailers: String,
}

fn frame(message: &impl Message) -> Bytes {
    let encoded = message.encode_to_vec();
    let mut out = BytesMut::new();
    out.put_u8(0);
    out.put_u32(encoded.len() as u32);
    out.put_slice(&encoded);
    out.freeze()
}

pub async fn call(
    harness: &Harness,
    method: &str,
    message: &impl Message,
    token: Option<&str>,
    text: bool,
) -> WebAnswer {
    let content_type = if text {
        "application/grpc-web-text"
    } else {
        "application/grpc-web+proto"
    };
    let body = if text {
        Bytes::from(STANDARD.encode(frame(message)))
    } else {
        frame(message)
    };
    let mut request = http::Request::post(harness.url(&format!("/{method}")))
        .header("content-type", content_type)
        .header("accept", content_type)
        .header("x-grpc-web", "1");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let response = client
        .request(request.body(Full::new(body)).unwrap())
        .await
        .expect("an HTTP/1.1 answer");
    let http_status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body = response.into_body().collect().await.unwrap().to_bytes();
    if text {
        // Each frame is encoded on its own: decode the concatenation block by block.
        let decoded: Vec<u8> = body
            .chunks(4)
            .flat_map(|block| STANDARD.decode(block).expect("base64 text"))
            .collect();
        body = Bytes::from(decoded);
    }
    let mut messages = Vec::new();
    let mut trailers = headers
        .get("grpc-status")
        .map(|code| format!("grpc-status:{}\r\n", code.to_str().unwrap()))
        .unwrap_or_default();
    let mut at = 0;
    while at + 5 <= body.len() {
        let flag = body[at];
        let length = u32::from_be_bytes(body[at + 1..at + 5].try_into().unwrap()) as usize;
        let payload = body.slice(at + 5..at + 5 + length);
        if flag & 0x80 != 0 {
            trailers.push_str(&String::from_utf8_lossy(&payload));
        } else {
            messages.push(payload);
        }
        at += 5 + length;
    }
    WebAnswer {
        http_status,
        content_type: headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default(),
        messages,
        trailers,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_creates_and_reads_back_over_grpc_web() {
    let harness = Harness::start().await;
    let lead = harness.token("agents/l1", &[Role::Lead]);
    let created = call(
        &harness,
        "aftercare.workforce.v1.PerformanceService/CreateRecognition",
        &recognition("agents/a1"),
        Some(&lead),
        false,
    )
    .await;
    assert_eq!(created.http_status, 200);
    assert!(
        created.content_type.starts_with("application/grpc-web"),
        "{}",
        created.content_type
    );
    assert!(
        created.trailers.contains("grpc-status:0"),
        "{}",
        created.trailers
    );
    let created = CreateRecognitionResponse::decode(created.messages[0].clone())
        .unwrap()
        .recognition
        .unwrap();
    assert_eq!(created.awarded_by.unwrap().id, "agents/l1");

    let read = call(
        &harness,
        "aftercare.workforce.v1.PerformanceService/GetRecognition",
        &aftercare_proto::aftercare::workforce::v1::GetRecognitionRequest {
            name: created.name.clone(),
        },
        Some(&lead),
        true,
    )
    .await;
    assert!(
        read.content_type.starts_with("application/grpc-web-text"),
        "{}",
        read.content_type
    );
    assert!(read.trailers.contains("grpc-status:0"), "{}", read.trailers);
    let read = GetRecognitionResponse::decode(read.messages[0].clone()).unwrap();
    assert_eq!(read.recognition.unwrap().name, created.name);
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_web_calls_are_authenticated_like_any_other() {
    let harness = Harness::start().await;
    let answer = call(
        &harness,
        "aftercare.workforce.v1.PerformanceService/CreateRecognition",
        &recognition("agents/a1"),
        None,
        false,
    )
    .await;
    assert!(
        answer.trailers.contains("grpc-status:16"),
        "{}",
        answer.trailers
    );
    assert!(answer.messages.is_empty());
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_on_an_allowed_origin_passes_the_cors_preflight() {
    let harness = Harness::with(|config| {
        config.gateway.cors_allowed_origins = vec!["https://desk.example.com".into()];
    })
    .await;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let preflight = http::Request::builder()
        .method("OPTIONS")
        .uri(harness.url("/aftercare.workforce.v1.PerformanceService/GetRecognition"))
        .header("origin", "https://desk.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, x-grpc-web",
        )
        .body(Full::new(Bytes::new()))
        .unwrap();
    let answer = client.request(preflight).await.unwrap();
    assert_eq!(answer.status(), 204);
    assert_eq!(
        answer.headers()["access-control-allow-origin"],
        "https://desk.example.com"
    );

    let call = http::Request::post(
        harness.url("/aftercare.workforce.v1.PerformanceService/GetRecognition"),
    )
    .header("origin", "https://desk.example.com")
    .header("content-type", "application/grpc-web+proto")
    .body(Full::new(frame(
        &aftercare_proto::aftercare::workforce::v1::GetRecognitionRequest::default(),
    )))
    .unwrap();
    let answer = client.request(call).await.unwrap();
    assert_eq!(
        answer.headers()["access-control-allow-origin"],
        "https://desk.example.com"
    );
    let exposed = answer.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap();
    assert!(exposed.contains("grpc-status"), "{exposed}");
    harness.stop().await;
}

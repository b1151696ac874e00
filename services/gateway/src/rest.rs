//! REST/JSON, transcoded from the contracts' `google.api.http` annotations through the
//! descriptor set, and the OpenAPI document of that mapping at `/openapi.json`. A REST call
//! goes through the same gRPC pipeline as a native call (authentication, policy, limits,
//! audit), so it is refused and answered the same way.

mod openapi;
mod rules;
mod template;
mod transcode;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Method};
use prost_reflect::{DescriptorPool, DynamicMessage, MethodDescriptor, Value};
use tonic::Status;
use tonic::body::Body;
use tower::{Service, ServiceExt as _};

use crate::error::GatewayError;
use crate::grpc::Peer;
use crate::observe::Protocol;
use crate::server::GrpcService;
use template::PathTemplate;

/// The path the OpenAPI document is served at.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// Request headers not passed on to the gRPC call.
const DROPPED_HEADERS: [&str; 7] = [
    "content-type",
    "content-length",
    "accept",
    "accept-encoding",
    "host",
    "connection",
    "transfer-encoding",
];

/// One REST binding of a gRPC method.
#[derive(Debug, Clone)]
pub struct RestRoute {
    verb: Method,
    template: PathTemplate,
    source: String,
    body: Option<String>,
    response_body: Option<String>,
    method: MethodDescriptor,
}

/// The REST handler.
#[derive(Clone)]
pub struct Rest {
    routes: Arc<Vec<RestRoute>>,
    openapi: Bytes,
    grpc: GrpcService,
    max_request_bytes: usize,
}

/// The OpenAPI document of every REST binding in the contracts: what `/openapi.json` serves
/// when every service runs (`aftercare openapi` prints it for `make lint`).
pub fn openapi_document() -> anyhow::Result<serde_json::Value> {
    let pool = DescriptorPool::decode(crate::DESCRIPTOR_SET)?;
    Ok(openapi::document(&sorted_routes(&pool)?))
}

fn sorted_routes(pool: &DescriptorPool) -> anyhow::Result<Vec<RestRoute>> {
    let mut routes = routes(pool)?;
    routes.sort_by_key(|route| std::cmp::Reverse(route.template.specificity()));
    Ok(routes)
}

impl Rest {
    /// The REST bindings of every method in `pool`, calling `grpc`.
    pub fn new(
        pool: &DescriptorPool,
        grpc: GrpcService,
        max_request_bytes: usize,
    ) -> anyhow::Result<Self> {
        let routes = sorted_routes(pool)?;
        let openapi = Bytes::from(serde_json::to_vec(&openapi::document(&routes))?);
        Ok(Self {
            routes: Arc::new(routes),
            openapi,
            grpc,
            max_request_bytes,
        })
    }

    async fn handle(self, request: http::Request<Body>) -> http::Response<Body> {
        if request.method() == Method::GET && request.uri().path() == OPENAPI_PATH {
            return json_response(http::StatusCode::OK, self.openapi.clone());
        }
        let found = self
            .routes
            .iter()
            .filter(|route| route.verb == request.method())
            .find_map(|route| {
                route
                    .template
                    .matches(request.uri().path())
                    .map(|vars| (route, vars))
            });
        let Some((route, variables)) = found else {
            return self.no_route(request.method(), request.uri().path());
        };
        match self.transcode(route, variables, request).await {
            Ok(body) => json_response(http::StatusCode::OK, Bytes::from(body)),
            Err(status) => json_error(&status),
        }
    }

    /// No binding has this method and path: 405 with `Allow` when the path has bindings for
    /// other methods, else 404.
    fn no_route(&self, method: &Method, path: &str) -> http::Response<Body> {
        let mut allowed: Vec<&str> = self
            .routes
            .iter()
            .filter(|route| route.template.matches(path).is_some())
            .map(|route| route.verb.as_str())
            .collect();
        allowed.sort_unstable();
        allowed.dedup();
        let status = Status::from(GatewayError::NoRoute {
            method: method.to_string(),
            path: path.to_owned(),
        });
        if allowed.is_empty() {
            return json_error(&status);
        }
        let status = Status::unimplemented(format!(
            "{path} does not take {method}; it takes {}",
            allowed.join(", ")
        ));
        // The error body of UNIMPLEMENTED, with the HTTP status it is answered with.
        let (_, body) = transcode::error_body(&status);
        let mut body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        body["error"]["code"] = serde_json::json!(405);
        let mut response = json_response(
            http::StatusCode::METHOD_NOT_ALLOWED,
            Bytes::from(serde_json::to_vec(&body).unwrap_or_default()),
        );
        if let Ok(value) = HeaderValue::from_str(&allowed.join(", ")) {
            response.headers_mut().insert(http::header::ALLOW, value);
        }
        response
    }

    async fn transcode(
        &self,
        route: &RestRoute,
        variables: Vec<(String, String)>,
        request: http::Request<Body>,
    ) -> Result<Vec<u8>, Status> {
        let (parts, body) = request.into_parts();
        if route.method.is_server_streaming() || route.method.is_client_streaming() {
            return Err(GatewayError::Streaming(route.method.full_name().to_owned()).into());
        }
        let body = crate::grpc::read_body(body, &parts.headers, self.max_request_bytes).await?;
        let message = transcode::request(route, variables, parts.uri.query(), &body)?;
        let mut call = http::Request::new(Body::new(http_body_util::Full::new(transcode::frame(
            &message,
        ))));
        *call.method_mut() = Method::POST;
        *call.uri_mut() = format!(
            "/{}/{}",
            route.method.parent_service().full_name(),
            route.method.name()
        )
        .parse()
        .map_err(|_| Status::internal("a method path is not a valid URI"))?;
        *call.version_mut() = http::Version::HTTP_2;
        let headers = call.headers_mut();
        for (name, value) in &parts.headers {
            if !DROPPED_HEADERS.contains(&name.as_str()) {
                headers.append(name.clone(), value.clone());
            }
        }
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        headers.insert("te", HeaderValue::from_static("trailers"));
        call.extensions_mut().insert(Protocol::Rest);
        if let Some(peer) = parts.extensions.get::<Peer>() {
            call.extensions_mut().insert(*peer);
        }
        let response = match self.grpc.clone().oneshot(call).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        transcode::response(route, response).await
    }
}

impl Service<http::Request<Body>> for Rest {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.handle(request).await) })
    }
}

/// A JSON error answer for `status`.
pub fn json_error(status: &Status) -> http::Response<Body> {
    let (code, body) = transcode::error_body(status);
    json_response(code, Bytes::from(body))
}

fn json_response(code: http::StatusCode, body: Bytes) -> http::Response<Body> {
    let mut response = http::Response::new(Body::new(http_body_util::Full::new(body)));
    *response.status_mut() = code;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Every REST binding in `pool`: each method's `google.api.http` rule and its additional
/// bindings.
fn routes(pool: &DescriptorPool) -> anyhow::Result<Vec<RestRoute>> {
    let Some(extension) = pool.get_extension_by_name("google.api.http") else {
        anyhow::bail!("the descriptor set has no google.api.http extension");
    };
    let mut routes = Vec::new();
    for service in pool.services() {
        for method in service.methods() {
            let options = method.options();
            if !options.has_extension(&extension) {
                continue;
            }
            if let Value::Message(rule) = options.get_extension(&extension).as_ref() {
                add_rule(&method, rule, &mut routes)?;
            }
        }
    }
    Ok(routes)
}

fn add_rule(
    method: &MethodDescriptor,
    rule: &DynamicMessage,
    routes: &mut Vec<RestRoute>,
) -> anyhow::Result<()> {
    let text = |name: &str| {
        rule.get_field_by_name(name)
            .and_then(|v| v.as_str().map(str::to_owned))
            .filter(|s| !s.is_empty())
    };
    let pattern = [
        ("get", Method::GET),
        ("put", Method::PUT),
        ("post", Method::POST),
        ("delete", Method::DELETE),
        ("patch", Method::PATCH),
    ]
    .into_iter()
    .find_map(|(field, verb)| text(field).map(|path| (verb, path)));
    if let Some((verb, source)) = pattern {
        let template = PathTemplate::parse(&source)
            .map_err(|err| anyhow::anyhow!("{}: {err}", method.full_name()))?;
        routes.push(RestRoute {
            verb,
            template,
            source,
            body: text("body"),
            response_body: text("response_body"),
            method: method.clone(),
        });
    }
    if let Some(Value::List(more)) = rule
        .get_field_by_name("additional_bindings")
        .map(|v| v.into_owned())
    {
        for binding in more {
            if let Value::Message(binding) = binding {
                add_rule(method, &binding, routes)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_of_every_contract_has_a_rest_route() {
        let pool = DescriptorPool::decode(crate::DESCRIPTOR_SET).unwrap();
        let routes = routes(&pool).unwrap();
        let methods: usize = pool
            .services()
            .filter(|s| s.package_name().starts_with("aftercare."))
            .map(|s| s.methods().len())
            .sum();
        assert!(methods > 100, "{methods}");
        assert!(
            routes.len() >= methods,
            "{} routes for {methods} methods",
            routes.len()
        );
        let resolve = routes
            .iter()
            .find(|r| r.method.name() == "ResolveTicket")
            .expect("ResolveTicket has a route");
        assert_eq!(resolve.verb, Method::POST);
        assert_eq!(resolve.body.as_deref(), Some("*"));
        assert_eq!(
            resolve.template.matches("/v1/tickets/42:resolve"),
            Some(vec![("name".to_owned(), "tickets/42".to_owned())])
        );
    }
}

//! CORS for browsers (gRPC-Web and REST from another origin): preflight requests are
//! answered at once; answers to allowed origins carry the headers a browser needs to read
//! the gRPC status. Origins come from `gateway.cors_allowed_origins`.

use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS,
    ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use tonic::body::Body;

/// Headers a browser may read from an answer.
const EXPOSED: &str = "grpc-status, grpc-message, grpc-status-details-bin, x-request-id";
/// Methods a browser may use.
const METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
/// Headers a browser may send when the preflight does not list them.
const ALLOWED_HEADERS: &str =
    "authorization, content-type, x-api-key, x-grpc-web, x-user-agent, grpc-timeout, x-request-id";

/// The allowed origins.
#[derive(Debug, Clone)]
pub struct Cors {
    any: bool,
    origins: Vec<String>,
}

impl Cors {
    pub fn new(origins: &[String]) -> Self {
        Self {
            any: origins.iter().any(|o| o == "*"),
            origins: origins
                .iter()
                .map(|o| o.trim_end_matches('/').to_owned())
                .collect(),
        }
    }

    /// The request's origin, when it is allowed.
    pub fn allowed_origin(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        let origin = headers.get(ORIGIN)?;
        let text = origin.to_str().ok()?;
        (self.any || self.origins.iter().any(|o| o == text)).then(|| origin.clone())
    }

    /// The answer to a preflight request from an allowed origin, or `None` when the request
    /// is not one.
    pub fn preflight(&self, method: &Method, headers: &HeaderMap) -> Option<http::Response<Body>> {
        if method != Method::OPTIONS || !headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD) {
            return None;
        }
        let mut response = http::Response::new(Body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let Some(origin) = self.allowed_origin(headers) else {
            *response.status_mut() = StatusCode::FORBIDDEN;
            return Some(response);
        };
        let out = response.headers_mut();
        out.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        out.insert(VARY, HeaderValue::from_static("origin"));
        out.insert(
            ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(METHODS),
        );
        out.insert(
            ACCESS_CONTROL_ALLOW_HEADERS,
            headers
                .get(ACCESS_CONTROL_REQUEST_HEADERS)
                .cloned()
                .unwrap_or_else(|| HeaderValue::from_static(ALLOWED_HEADERS)),
        );
        out.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        Some(response)
    }

    /// Adds the CORS headers to an answer for an allowed origin.
    pub fn decorate(&self, origin: Option<HeaderValue>, response: &mut http::Response<Body>) {
        if let Some(origin) = origin {
            let out = response.headers_mut();
            out.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            out.append(VARY, HeaderValue::from_static("origin"));
            out.insert(
                ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSED),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn a_preflight_from_an_allowed_origin_is_answered() {
        let cors = Cors::new(&["https://desk.example.com".to_owned()]);
        let request = headers(&[
            ("origin", "https://desk.example.com"),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "x-grpc-web, authorization",
            ),
        ]);
        let response = cors.preflight(&Method::OPTIONS, &request).unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            response.headers()[ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://desk.example.com"
        );
        assert_eq!(
            response.headers()[ACCESS_CONTROL_ALLOW_HEADERS],
            "x-grpc-web, authorization"
        );
    }

    #[test]
    fn other_origins_get_no_cors_headers() {
        let cors = Cors::new(&["https://desk.example.com".to_owned()]);
        let request = headers(&[
            ("origin", "https://evil.example.com"),
            ("access-control-request-method", "POST"),
        ]);
        let response = cors.preflight(&Method::OPTIONS, &request).unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(cors.allowed_origin(&request).is_none());
        assert!(Cors::new(&[]).allowed_origin(&request).is_none());
        assert!(
            Cors::new(&["*".to_owned()])
                .allowed_origin(&request)
                .is_some()
        );
    }

    #[test]
    fn plain_requests_are_not_preflights() {
        let cors = Cors::new(&["*".to_owned()]);
        assert!(
            cors.preflight(&Method::POST, &headers(&[("origin", "https://a")]))
                .is_none()
        );
        assert!(
            cors.preflight(&Method::OPTIONS, &headers(&[("origin", "https://a")]))
                .is_none()
        );
    }
}

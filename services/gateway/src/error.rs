//! The gateway's one error enum and its conversion to a gRPC status.

use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt as _};

/// Why the gateway refused or could not complete a call.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// No credentials, or credentials that do not verify.
    #[error("{0}")]
    Unauthenticated(String),
    /// Valid credentials whose roles or scopes do not allow the method.
    #[error("{0}")]
    PermissionDenied(String),
    /// The principal called more often than its rate limit allows.
    #[error("rate limit exceeded; retry in {} ms", retry_after.as_millis())]
    RateLimited { retry_after: Duration },
    /// The request body is larger than `gateway.max_request_bytes`.
    #[error("the request is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    /// No backend serves the requested service.
    #[error("unknown service `{0}`")]
    UnknownService(String),
    /// The request is malformed (a REST path, query or body that does not fit the contract).
    #[error("{0}")]
    InvalidArgument(String),
    /// No REST route matches the path and method.
    #[error("no route for {method} {path}")]
    NoRoute { method: String, path: String },
    /// The method exists only as a stream, which REST does not carry.
    #[error("{0} streams; call it over gRPC or gRPC-Web")]
    Streaming(String),
    /// The backend cannot be reached.
    #[error("service `{backend}` is unavailable")]
    Unavailable { backend: String },
    /// The call did not complete within its deadline.
    #[error("the deadline expired before the service answered")]
    DeadlineExceeded,
    /// The backend's answer could not be read (REST transcoding).
    #[error("the service's answer cannot be read: {0}")]
    BadResponse(String),
}

impl From<GatewayError> for Status {
    fn from(error: GatewayError) -> Self {
        let message = error.to_string();
        match error {
            GatewayError::Unauthenticated(_) => Status::unauthenticated(message),
            GatewayError::PermissionDenied(_) => Status::permission_denied(message),
            GatewayError::RateLimited { retry_after } => Status::with_error_details(
                Code::ResourceExhausted,
                message,
                ErrorDetails::with_retry_info(Some(retry_after)),
            ),
            GatewayError::TooLarge { .. } => Status::resource_exhausted(message),
            GatewayError::UnknownService(_) => Status::unimplemented(message),
            GatewayError::InvalidArgument(_) => Status::invalid_argument(message),
            GatewayError::NoRoute { .. } => Status::not_found(message),
            GatewayError::Streaming(_) => Status::unimplemented(message),
            GatewayError::Unavailable { .. } => Status::unavailable(message),
            GatewayError::DeadlineExceeded => Status::deadline_exceeded(message),
            GatewayError::BadResponse(_) => {
                tracing::error!(error = %message, "cannot transcode a service's answer");
                Status::internal("the service's answer cannot be transcoded")
            }
        }
    }
}

/// The response a gRPC client gets for `status` (trailers-only).
pub fn status_response(status: Status) -> http::Response<tonic::body::Body> {
    status.into_http()
}

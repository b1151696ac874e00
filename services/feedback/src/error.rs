//! The one error type of the feedback service and its one conversion to a gRPC status.

use aftercare_platform::error::{self as status, FieldViolations};
use aftercare_platform::events::EventError;
use tonic::Status;

/// Everything a feedback handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The call carried no valid principal.
    #[error("unauthenticated")]
    Unauthenticated(Status),
    /// Bad input, every bad field named.
    #[error("invalid request")]
    Invalid(FieldViolations),
    /// The caller may not do this.
    #[error("permission denied: {0}")]
    PermissionDenied(&'static str),
    /// No such resource (or not visible to the caller).
    #[error("{kind} {name} not found")]
    NotFound {
        /// The resource type.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// A request id reused for another request, or a duplicate.
    #[error("{kind} {name} already exists")]
    AlreadyExists {
        /// The resource type.
        kind: &'static str,
        /// Its name.
        name: String,
        /// Why.
        description: String,
    },
    /// The etag does not match.
    #[error("stale etag for {0}")]
    StaleEtag(String),
    /// A rule refused the change.
    #[error("{subject}: {description}")]
    Precondition {
        /// The violation type (`STATE`, `EXPIRED`).
        kind: &'static str,
        /// What it is about.
        subject: String,
        /// Why.
        description: String,
    },
    /// A service the request needs is down.
    #[error("{what} is unavailable")]
    Unavailable {
        /// Which.
        what: &'static str,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The database failed.
    #[error("database operation failed")]
    Database(#[from] sqlx::Error),
    /// An event could not be written.
    #[error("cannot write event")]
    Event(#[from] EventError),
}

/// The service's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Resource types, as `ResourceInfo` names them.
pub const SURVEY: &str = "aftercare.feedback.v1.Survey";
/// Invitation resource type.
pub const INVITATION: &str = "aftercare.feedback.v1.Invitation";
/// Response resource type.
pub const RESPONSE: &str = "aftercare.feedback.v1.Response";
/// Feedback item resource type.
pub const FEEDBACK_ITEM: &str = "aftercare.feedback.v1.FeedbackItem";
/// Follow-up resource type.
pub const FOLLOW_UP: &str = "aftercare.feedback.v1.FollowUp";

impl Error {
    /// One bad field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        let mut violations = FieldViolations::new();
        violations.add(field, description);
        Self::Invalid(violations)
    }

    /// Not found.
    pub fn not_found(kind: &'static str, name: impl Into<String>) -> Self {
        Self::NotFound {
            kind,
            name: name.into(),
        }
    }

    /// A refused state change.
    pub fn state(subject: impl Into<String>, description: impl Into<String>) -> Self {
        Self::Precondition {
            kind: "STATE",
            subject: subject.into(),
            description: description.into(),
        }
    }

    /// A request id reused with another request.
    pub fn request_reused(kind: &'static str, request_id: &str) -> Self {
        Self::AlreadyExists {
            kind,
            name: request_id.to_owned(),
            description: "the request_id was used for another request".to_owned(),
        }
    }
}

/// `Ok` when nothing is wrong, else every violation.
pub fn finish(violations: FieldViolations) -> Result<()> {
    if violations.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(violations))
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::Unauthenticated(status) => status,
            Error::Invalid(violations) => violations.into_status(),
            Error::PermissionDenied(message) => status::permission_denied(message),
            Error::NotFound { kind, name } => status::not_found(kind, &name),
            Error::AlreadyExists {
                kind,
                name,
                description,
            } => status::already_exists(kind, &name, &description),
            Error::StaleEtag(name) => status::stale_etag(&name),
            Error::Precondition {
                kind,
                subject,
                description,
            } => status::failed_precondition(kind, &subject, &description),
            Error::Unavailable { what, source } => status::unavailable(what, source.as_ref()),
            Error::Database(err) => match err {
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                    status::unavailable("the feedback database", &err)
                }
                other => status::internal(&other),
            },
            Error::Event(err) => status::internal(&err),
        }
    }
}

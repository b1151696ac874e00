//! The service's one error type and its one conversion to `tonic::Status`.

use aftercare_platform::error::{
    FieldViolations, already_exists, failed_precondition, internal, not_found, permission_denied,
    stale_etag,
};
use aftercare_platform::events::EventError;
use tonic::Status;

use crate::domain::DomainError;
use crate::index::IndexError;

/// The resource type reported for a missing article.
pub const ARTICLE: &str = "aftercare.knowledge.v1.Article";
/// The resource type reported for a missing version.
pub const VERSION: &str = "aftercare.knowledge.v1.ArticleVersion";
/// The resource type reported for a missing category.
pub const CATEGORY: &str = "aftercare.knowledge.v1.Category";
/// The resource type reported for a missing content gap.
pub const GAP: &str = "aftercare.knowledge.v1.ContentGap";
/// The resource type reported for a missing suggestion set.
pub const SUGGESTION: &str = "aftercare.knowledge.v1.SuggestionSet";

/// Everything that can go wrong in a call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller presented no valid principal.
    #[error("unauthenticated")]
    Unauthenticated(Status),
    /// Bad input: every bad field, named.
    #[error("invalid request")]
    Invalid(FieldViolations),
    /// The caller may not do this.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The resource does not exist (or the caller may not see it).
    #[error("{resource_type} {name} not found")]
    NotFound {
        /// Its type.
        resource_type: &'static str,
        /// Its name.
        name: String,
    },
    /// A request id was used for another request.
    #[error("{name} already exists")]
    AlreadyExists {
        /// The resource made with the key.
        name: String,
        /// Why it is in the way.
        description: String,
    },
    /// The etag sent is not the current one.
    #[error("stale etag for {0}")]
    StaleEtag(String),
    /// The resource's state does not allow the call.
    #[error("{subject}: {description}")]
    FailedPrecondition {
        /// The violation type.
        violation: &'static str,
        /// The resource.
        subject: String,
        /// What is wrong.
        description: String,
    },
    /// The database failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// The outbox refused an event.
    #[error("event error")]
    Event(#[from] EventError),
    /// The search index failed.
    #[error("search index error")]
    Index(#[from] IndexError),
    /// Stored data could not be read back.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

impl Error {
    /// `INVALID_ARGUMENT` for one field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        let mut violations = FieldViolations::new();
        violations.add(field, description);
        Self::Invalid(violations)
    }

    /// `NOT_FOUND` for a resource of `resource_type`.
    pub fn not_found(resource_type: &'static str, name: impl Into<String>) -> Self {
        Self::NotFound {
            resource_type,
            name: name.into(),
        }
    }

    /// A domain refusal about `subject` (a resource name).
    pub fn from_domain(error: DomainError, subject: &str) -> Self {
        match error {
            DomainError::Invalid { field, description } => Self::invalid(field, description),
            DomainError::StaleEtag => Self::StaleEtag(subject.to_owned()),
            DomainError::Refused {
                violation,
                description,
            } => Self::FailedPrecondition {
                violation,
                subject: subject.to_owned(),
                description,
            },
            DomainError::Denied(message) => Self::PermissionDenied(message),
        }
    }
}

impl From<FieldViolations> for Error {
    fn from(violations: FieldViolations) -> Self {
        Self::Invalid(violations)
    }
}

impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Self {
        Self::Corrupt(error.to_string())
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::Unauthenticated(status) => status,
            Error::Invalid(violations) => violations.into_status(),
            Error::PermissionDenied(message) => permission_denied(message),
            Error::NotFound {
                resource_type,
                name,
            } => not_found(resource_type, &name),
            Error::AlreadyExists { name, description } => {
                already_exists("aftercare.knowledge.v1.RequestId", &name, &description)
            }
            Error::StaleEtag(name) => stale_etag(&name),
            Error::FailedPrecondition {
                violation,
                subject,
                description,
            } => failed_precondition(violation, &subject, &description),
            Error::Database(error) => aftercare_platform::error::database(&error),
            Error::Event(EventError::Database(error)) => {
                aftercare_platform::error::database(&error)
            }
            error @ (Error::Event(_) | Error::Index(_) | Error::Corrupt(_)) => internal(&error),
        }
    }
}

/// The result of a call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

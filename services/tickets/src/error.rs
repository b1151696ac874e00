//! The service's one error type and its one conversion to `tonic::Status`.

use aftercare_platform::error::{
    FieldViolations, already_exists, database, event, failed_precondition, internal, not_found,
    permission_denied, stale_etag, unavailable,
};
use aftercare_platform::events::EventError;
use tonic::Status;

use crate::domain::DomainError;

/// The resource type reported in `ResourceInfo` for a missing ticket.
pub const TICKET: &str = "aftercare.tickets.v1.Ticket";
/// The resource type reported for a missing message.
pub const MESSAGE: &str = "aftercare.tickets.v1.TicketMessage";

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
    /// The resource exists already.
    #[error("{resource_type} {name} already exists")]
    AlreadyExists {
        /// Its type.
        resource_type: &'static str,
        /// Its name.
        name: String,
        /// Why it is in the way.
        description: String,
    },
    /// A limit was reached (watch streams).
    #[error("resource exhausted: {0}")]
    ResourceExhausted(String),
    /// The call cannot go on from where the client asked (a watch's resume token that is
    /// too old, or from another feed): the client starts over.
    #[error("aborted: {0}")]
    Aborted(String),
    /// The etag sent is not the current one.
    #[error("stale etag for {0}")]
    StaleEtag(String),
    /// The resource's state does not allow the call.
    #[error("{subject}: {description}")]
    FailedPrecondition {
        /// The violation type (`STATUS_TRANSITION`, `STATE`, …).
        violation: &'static str,
        /// The resource.
        subject: String,
        /// What is wrong.
        description: String,
    },
    /// Another service could not be reached.
    #[error("{what} is unavailable")]
    Unavailable {
        /// Which.
        what: &'static str,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The database failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// The outbox refused an event.
    #[error("event error")]
    Event(#[from] EventError),
    /// A concurrent call with the same idempotency key got there first (answered as a
    /// replay by the handlers; seen by a client only if that also races).
    #[error("the request id was taken by a concurrent call")]
    KeyTaken,
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

    /// `NOT_FOUND` for a ticket.
    pub fn ticket_not_found(name: impl Into<String>) -> Self {
        Self::NotFound {
            resource_type: TICKET,
            name: name.into(),
        }
    }

    /// Turns a domain refusal about `subject` (a resource name) into the error it answers
    /// with.
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
        }
    }
}

impl From<FieldViolations> for Error {
    fn from(violations: FieldViolations) -> Self {
        Self::Invalid(violations)
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
            Error::AlreadyExists {
                resource_type,
                name,
                description,
            } => already_exists(resource_type, &name, &description),
            Error::ResourceExhausted(message) => Status::resource_exhausted(message),
            Error::Aborted(message) => Status::aborted(message),
            Error::StaleEtag(name) => stale_etag(&name),
            Error::FailedPrecondition {
                violation,
                subject,
                description,
            } => failed_precondition(violation, &subject, &description),
            Error::Unavailable { what, source } => unavailable(what, source.as_ref()),
            Error::Database(error) => database(&error),
            Error::Event(error) => event(&error),
            Error::KeyTaken => Status::aborted(
                "a concurrent call with the same request_id got there first: retry it",
            ),
            error @ Error::Corrupt(_) => internal(&error),
        }
    }
}

/// The result of a call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

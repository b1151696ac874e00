//! The one error type of the customers service and its one conversion to a gRPC status.
//! The variants are the tickets service's, so both services answer alike.

use aftercare_platform::error::{
    FieldViolations, already_exists, database, failed_precondition, internal, not_found,
    permission_denied, stale_etag, unavailable,
};
use aftercare_platform::events::EventError;
use tonic::Status;

use crate::domain::DomainError;

/// Resource type of a customer, for `ResourceInfo`.
pub const CUSTOMER: &str = "aftercare.customers.v1.Customer";
/// Resource type of an identity.
pub const IDENTITY: &str = "aftercare.customers.v1.CustomerIdentity";
/// Resource type of an organisation.
pub const ORGANISATION: &str = "aftercare.customers.v1.Organisation";

/// Everything a customers call can fail with.
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
    /// The resource does not exist (or the caller may not know it does).
    #[error("{resource_type} {name} not found")]
    NotFound {
        /// Its type, e.g. `aftercare.customers.v1.Customer`.
        resource_type: &'static str,
        /// Its resource name.
        name: String,
    },
    /// The resource exists already.
    #[error("{resource_type} {name} already exists")]
    AlreadyExists {
        /// Its type.
        resource_type: &'static str,
        /// The resource name of what is in the way.
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
        /// The violation type (`STATE`, `DEPENDENTS`, …).
        violation: &'static str,
        /// The resource.
        subject: String,
        /// What is wrong.
        description: String,
    },
    /// Something this service depends on could not be reached.
    #[error("{what} is unavailable")]
    Unavailable {
        /// Which.
        what: &'static str,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The database failed: `UNAVAILABLE` or `ABORTED` when retrying may help (the
    /// platform's one mapping), else `INTERNAL`.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// The outbox refused an event.
    #[error("event error")]
    Event(#[from] EventError),
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

    /// `NOT_FOUND` for a resource.
    pub fn not_found(resource_type: &'static str, name: impl Into<String>) -> Self {
        Self::NotFound {
            resource_type,
            name: name.into(),
        }
    }

    /// `FAILED_PRECONDITION` (`STATE`) about the state of `subject`.
    pub fn state(subject: impl Into<String>, description: impl Into<String>) -> Self {
        Self::FailedPrecondition {
            violation: "STATE",
            subject: subject.into(),
            description: description.into(),
        }
    }

    /// Turns a domain refusal about `subject` (a resource name) into the error it answers
    /// with.
    pub(crate) fn from_domain(error: DomainError, subject: &str) -> Self {
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

    /// `PERMISSION_DENIED` with `message`.
    pub fn denied(message: impl Into<String>) -> Self {
        Self::PermissionDenied(message.into())
    }
}

impl From<FieldViolations> for Error {
    fn from(violations: FieldViolations) -> Self {
        Self::Invalid(violations)
    }
}

/// `Ok(())` when nothing was recorded, else [`Error::Invalid`].
pub fn finish(violations: FieldViolations) -> Result<(), Error> {
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
            Error::StaleEtag(name) => stale_etag(&name),
            Error::FailedPrecondition {
                violation,
                subject,
                description,
            } => failed_precondition(violation, &subject, &description),
            Error::Unavailable { what, source } => unavailable(what, source.as_ref()),
            Error::Database(error) => database(&error),
            error @ (Error::Event(_) | Error::Corrupt(_)) => internal(&error),
        }
    }
}

/// The result of a call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

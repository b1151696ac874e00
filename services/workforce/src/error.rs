//! The one error type of the workforce service and its one conversion to a gRPC status.

use aftercare_platform::error::{self as status, FieldViolations};
use aftercare_platform::events::EventError;
use tonic::Status;

/// Everything a workforce call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: every bad field.
    #[error("invalid request")]
    Invalid(FieldViolations),
    /// The caller may not do this.
    #[error("permission denied: {0}")]
    PermissionDenied(&'static str),
    /// A resource does not exist.
    #[error("{kind} {name} not found")]
    NotFound {
        /// The resource type, e.g. `aftercare.workforce.v1.Agent`.
        kind: &'static str,
        /// Its resource name.
        name: String,
    },
    /// A resource is in the way.
    #[error("{kind} {name} already exists")]
    AlreadyExists {
        /// The resource type.
        kind: &'static str,
        /// The resource name of what is in the way.
        name: String,
        /// Why it is in the way.
        description: String,
    },
    /// The etag sent is not the current one.
    #[error("stale etag for {0}")]
    StaleEtag(String),
    /// The resource is not in a state that allows the call.
    #[error("{subject}: {description}")]
    Precondition {
        /// `STATE`, `DEPENDENTS`, ...
        kind: &'static str,
        /// The resource name.
        subject: String,
        /// What is wrong.
        description: String,
    },
    /// The database failed.
    #[error("database operation failed")]
    Database(#[from] sqlx::Error),
    /// Writing an event failed.
    #[error("cannot write event")]
    Event(#[from] EventError),
}

/// Resource type of an agent, for `ResourceInfo`.
pub const AGENT: &str = "aftercare.workforce.v1.Agent";
/// Resource type of a team.
pub const TEAM: &str = "aftercare.workforce.v1.Team";
/// Resource type of a skill.
pub const SKILL: &str = "aftercare.workforce.v1.Skill";
/// Resource type of a shift.
pub const SHIFT: &str = "aftercare.workforce.v1.Shift";
/// Resource type of a course.
pub const COURSE: &str = "aftercare.workforce.v1.Course";
/// Resource type of an enrolment.
pub const ENROLMENT: &str = "aftercare.workforce.v1.Enrolment";
/// Resource type of a recognition.
pub const RECOGNITION: &str = "aftercare.workforce.v1.Recognition";
/// Resource type of a certification.
pub const CERTIFICATION: &str = "aftercare.workforce.v1.Certification";

impl Error {
    /// Bad input for one field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        let mut violations = FieldViolations::new();
        violations.add(field, description);
        Self::Invalid(violations)
    }

    /// `NOT_FOUND` for a resource.
    pub fn not_found(kind: &'static str, name: impl Into<String>) -> Self {
        Self::NotFound {
            kind,
            name: name.into(),
        }
    }

    /// `FAILED_PRECONDITION` about the state of `subject`.
    pub fn state(subject: impl Into<String>, description: impl Into<String>) -> Self {
        Self::Precondition {
            kind: "STATE",
            subject: subject.into(),
            description: description.into(),
        }
    }

    /// `FAILED_PRECONDITION` because other resources depend on `subject`.
    pub fn dependents(subject: impl Into<String>, description: impl Into<String>) -> Self {
        Self::Precondition {
            kind: "DEPENDENTS",
            subject: subject.into(),
            description: description.into(),
        }
    }

    /// The error of a change the domain refused on `name`.
    pub fn refused(refused: crate::domain::Refused, name: impl Into<String>) -> Self {
        match refused {
            crate::domain::Refused::Stale => Self::StaleEtag(name.into()),
            crate::domain::Refused::State(why) => Self::state(name, why),
        }
    }

    /// `ALREADY_EXISTS`.
    pub fn exists(kind: &'static str, name: impl Into<String>, why: impl Into<String>) -> Self {
        Self::AlreadyExists {
            kind,
            name: name.into(),
            description: why.into(),
        }
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
            Error::Database(err) => status::database(&err),
            Error::Event(err) => status::event(&err),
        }
    }
}

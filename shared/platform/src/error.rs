//! Building `tonic::Status` values with rich error details, so every service reports bad
//! input, stale etags and missing resources the same way:
//!
//! - bad input: `INVALID_ARGUMENT` with `google.rpc.BadRequest` field violations
//!   ([`FieldViolations`]);
//! - a stale etag or a refused transition: `FAILED_PRECONDITION` with
//!   `google.rpc.PreconditionFailure` ([`stale_etag`], [`failed_precondition`]);
//! - a missing resource: `NOT_FOUND` with `google.rpc.ResourceInfo` ([`not_found`]);
//! - anything unexpected: `INTERNAL` with a plain message, the cause chain logged once
//!   ([`internal`]).
//!
//! Each service keeps one error enum and converts it to `Status` with these.

use std::error::Error as StdError;
use std::fmt::Write as _;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

/// Collects field violations while a request is parsed, so a client hears about every bad
/// field at once rather than one per round trip.
#[derive(Debug, Default, Clone)]
pub struct FieldViolations {
    violations: Vec<FieldViolation>,
}

impl FieldViolations {
    /// No violations yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `field` (a path such as `ticket.subject`) is bad, and why.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.violations
            .push(FieldViolation::new(field.into(), description.into()));
    }

    /// Runs `parse` and records its error against `field`, returning the value when it parsed.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        parse: Result<T, E>,
    ) -> Option<T> {
        match parse {
            Ok(value) => Some(value),
            Err(err) => {
                self.add(field, err.to_string());
                None
            }
        }
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.violations.is_empty()
    }

    /// The recorded violations.
    pub fn violations(&self) -> &[FieldViolation] {
        &self.violations
    }

    /// `Ok(())` when nothing was recorded, else the `INVALID_ARGUMENT` status.
    pub fn finish(self) -> Result<(), Status> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.into_status())
        }
    }

    /// The `INVALID_ARGUMENT` status with a `BadRequest` detail listing every violation.
    pub fn into_status(self) -> Status {
        let mut message = String::from("invalid request: ");
        for (index, violation) in self.violations.iter().enumerate() {
            if index > 0 {
                message.push_str("; ");
            }
            let _ = write!(message, "{}: {}", violation.field, violation.description);
        }
        Status::with_error_details(
            Code::InvalidArgument,
            message,
            ErrorDetails::with_bad_request(self.violations),
        )
    }
}

/// `INVALID_ARGUMENT` for a single bad field.
pub fn invalid_field(field: impl Into<String>, description: impl Into<String>) -> Status {
    let mut violations = FieldViolations::new();
    violations.add(field, description);
    violations.into_status()
}

/// `NOT_FOUND` with a `ResourceInfo` naming the resource.
pub fn not_found(resource_type: &str, resource_name: &str) -> Status {
    Status::with_error_details(
        Code::NotFound,
        format!("{resource_type} {resource_name} not found"),
        ErrorDetails::with_resource_info(resource_type, resource_name, "", "not found"),
    )
}

/// `ALREADY_EXISTS` with a `ResourceInfo` naming the resource that is in the way.
pub fn already_exists(resource_type: &str, resource_name: &str, description: &str) -> Status {
    Status::with_error_details(
        Code::AlreadyExists,
        format!("{resource_type} {resource_name} already exists: {description}"),
        ErrorDetails::with_resource_info(resource_type, resource_name, "", description),
    )
}

/// `FAILED_PRECONDITION` for an update sent with an etag that is no longer current.
pub fn stale_etag(resource_name: &str) -> Status {
    failed_precondition(
        "ETAG",
        resource_name,
        "the etag does not match the current version: read the resource again and retry",
    )
}

/// `FAILED_PRECONDITION` with a `PreconditionFailure` of the given type
/// (`ETAG`, `STATUS_TRANSITION`, `STATE`, …) about `subject`.
pub fn failed_precondition(violation_type: &str, subject: &str, description: &str) -> Status {
    Status::with_error_details(
        Code::FailedPrecondition,
        format!("{subject}: {description}"),
        ErrorDetails::with_precondition_failure(vec![tonic_types::PreconditionViolation::new(
            violation_type,
            subject,
            description,
        )]),
    )
}

/// `PERMISSION_DENIED` with a plain message (which never reveals whether the resource exists).
pub fn permission_denied(message: impl Into<String>) -> Status {
    Status::permission_denied(message)
}

/// `INTERNAL` with a plain message; the error and its cause chain are logged here, once.
pub fn internal(error: &(dyn StdError + 'static)) -> Status {
    tracing::error!(error = %cause_chain(error), "internal error");
    Status::internal("internal error")
}

/// `UNAVAILABLE` for a dependency that cannot be reached; the cause is logged.
pub fn unavailable(what: &str, error: &(dyn StdError + 'static)) -> Status {
    tracing::warn!(dependency = what, error = %cause_chain(error), "dependency unavailable");
    Status::unavailable(format!("{what} is unavailable, retry later"))
}

/// How a database error should reach a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseFault {
    /// The connection was lost or refused, the pool timed out, the server is shutting down or
    /// starting: nothing was committed by the failed statement, retry later (`UNAVAILABLE`).
    Unavailable,
    /// A serialization failure, a deadlock or a busy SQLite database: retry the request
    /// (`ABORTED`).
    Conflict,
    /// Anything else: a defect (`INTERNAL`).
    Defect,
}

impl DatabaseFault {
    /// Classifies `error`.
    pub fn of(error: &sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => Self::Unavailable,
            sqlx::Error::Protocol(message) if message.contains("connection") => Self::Unavailable,
            sqlx::Error::Database(db) => match db.code().as_deref() {
                // PostgreSQL: serialization failure, deadlock.
                Some("40001" | "40P01") => Self::Conflict,
                // PostgreSQL: connection exceptions, shutting down, starting up, too many
                // connections.
                Some(code)
                    if code.starts_with("08") || code.starts_with("57P") || code == "53300" =>
                {
                    Self::Unavailable
                }
                // SQLite: SQLITE_BUSY, SQLITE_LOCKED (and their extended codes).
                Some(code) if matches!(code.parse::<i32>().map(|c| c & 0xff), Ok(5 | 6)) => {
                    Self::Conflict
                }
                _ => Self::Defect,
            },
            _ => Self::Defect,
        }
    }

    /// True when retrying the same transaction may succeed.
    pub fn is_transient(self) -> bool {
        self != Self::Defect
    }
}

/// How long a client is told to wait before retrying a transient database failure.
pub const RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// The status for a database error: `UNAVAILABLE` or `ABORTED` with `RetryInfo` for a
/// transient fault (a lost connection, a restart, a conflict), `INTERNAL` for a defect. The
/// one mapping every service uses; the cause is logged here, once.
pub fn database(error: &sqlx::Error) -> Status {
    match DatabaseFault::of(error) {
        DatabaseFault::Unavailable => {
            tracing::warn!(error = %cause_chain(error), "database unavailable");
            Status::with_error_details(
                Code::Unavailable,
                "the database is unavailable, retry later",
                ErrorDetails::with_retry_info(Some(RETRY_AFTER)),
            )
        }
        DatabaseFault::Conflict => {
            tracing::info!(error = %cause_chain(error), "database conflict");
            Status::with_error_details(
                Code::Aborted,
                "the request conflicted with another one, retry it",
                ErrorDetails::with_retry_info(Some(RETRY_AFTER)),
            )
        }
        DatabaseFault::Defect => internal(error),
    }
}

/// The status for an event error met while serving a call (an outbox write): a database
/// fault maps as [`database`] does; anything else is a defect.
pub fn event(error: &crate::events::EventError) -> Status {
    match error {
        crate::events::EventError::Database(error) => database(error),
        other => internal(other),
    }
}

/// An error and its sources, joined with `: `.
pub fn cause_chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_violation_reaches_the_client() {
        let mut violations = FieldViolations::new();
        violations.add("ticket.subject", "must not be empty");
        violations.add("ticket.priority", "unknown value 9");
        let status = violations.finish().unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let bad_request = details.bad_request().expect("bad request detail");
        let fields: Vec<_> = bad_request
            .field_violations
            .iter()
            .map(|v| v.field.as_str())
            .collect();
        assert_eq!(fields, ["ticket.subject", "ticket.priority"]);
        assert!(
            status
                .message()
                .contains("ticket.subject: must not be empty")
        );
    }

    #[test]
    fn no_violations_is_ok() {
        assert!(FieldViolations::new().finish().is_ok());
    }

    #[test]
    fn stale_etag_carries_a_precondition_failure() {
        let status = stale_etag("tickets/1");
        assert_eq!(status.code(), Code::FailedPrecondition);
        let failure = status.get_error_details().precondition_failure().cloned();
        let violation = &failure.expect("precondition failure").violations[0];
        assert_eq!(violation.r#type, "ETAG");
        assert_eq!(violation.subject, "tickets/1");
    }

    #[test]
    fn not_found_names_the_resource() {
        let status = not_found("tickets.v1.Ticket", "tickets/42");
        assert_eq!(status.code(), Code::NotFound);
        let info = status.get_error_details().resource_info().cloned().unwrap();
        assert_eq!(info.resource_name, "tickets/42");
    }

    #[test]
    fn lost_connections_are_unavailable_with_retry_info_and_defects_internal() {
        let status = database(&sqlx::Error::PoolTimedOut);
        assert_eq!(status.code(), Code::Unavailable);
        assert!(status.get_error_details().retry_info().is_some());
        let io = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert_eq!(database(&io).code(), Code::Unavailable);
        assert_eq!(database(&sqlx::Error::RowNotFound).code(), Code::Internal);
        assert!(DatabaseFault::of(&sqlx::Error::PoolClosed).is_transient());
        assert!(!DatabaseFault::of(&sqlx::Error::RowNotFound).is_transient());
    }

    #[test]
    fn cause_chain_joins_sources() {
        let io = std::io::Error::other("disk full");
        let outer = crate::db::DbError::CreateDir {
            path: "/x".into(),
            source: io,
        };
        assert_eq!(
            cause_chain(&outer),
            "cannot create the folder for the sqlite database /x: disk full"
        );
    }
}

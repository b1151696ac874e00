//! The audit log: one `audit` event per mutating call — who (subject, roles), what (method),
//! when (`at`, RFC 3339, when the call arrived), and the outcome (the gRPC status), logged
//! when the call ends, whether the gateway refused it or the service answered.

use aftercare_platform::auth::Principal;
use tonic::Code;

use crate::routes::RpcPath;

/// The tracing target of audit events.
pub const TARGET: &str = "audit";

/// Who did what: written once the outcome is known.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    subject: String,
    roles: String,
    method: String,
    started: chrono::DateTime<chrono::Utc>,
}

impl AuditRecord {
    /// A record of `rpc` by `principal` (`None`: not authenticated), or `None` for a read.
    pub fn start(principal: Option<&Principal>, rpc: &RpcPath) -> Option<Self> {
        (!rpc.is_read()).then(|| Self {
            subject: principal.map_or_else(|| "anonymous".to_owned(), |p| p.subject.clone()),
            roles: principal
                .map(|p| {
                    p.roles
                        .iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default(),
            method: rpc.full(),
            started: chrono::Utc::now(),
        })
    }

    /// Writes the record with `code`.
    pub fn finish(self, code: Code) {
        tracing::info!(
            target: TARGET,
            subject = %self.subject,
            roles = %self.roles,
            method = %self.method,
            at = %self.started.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            outcome = ?code,
            code = code as i32,
            "mutating call"
        );
    }
}

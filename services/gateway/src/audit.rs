//! The audit log: one `audit` event per mutating call — who (subject, roles), what (method),
//! when (the event's time, and `at` in RFC 3339), and the outcome (the gRPC status code),
//! logged when the call ends, whether the gateway refused it or the service answered.

use std::pin::Pin;
use std::task::{Context, Poll};

use aftercare_platform::auth::Principal;
use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body as _, Frame, SizeHint};
use tonic::Code;
use tonic::body::Body;

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

    /// Wraps `response` so the record is written when its body ends (the status is in the
    /// trailers) or, for a trailers-only answer, now.
    pub fn attach(self, response: http::Response<Body>) -> http::Response<Body> {
        if let Some(code) = grpc_code(response.headers()) {
            self.finish(code);
            return response;
        }
        response.map(|body| {
            Body::new(AuditBody {
                inner: body,
                record: Some(self),
            })
        })
    }
}

fn grpc_code(headers: &HeaderMap) -> Option<Code> {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map(Code::from)
}

struct AuditBody {
    inner: Body,
    record: Option<AuditRecord>,
}

impl http_body::Body for AuditBody {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(code) = frame.trailers_ref().and_then(grpc_code)
                    && let Some(record) = self.record.take()
                {
                    record.finish(code);
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(record) = self.record.take() {
                    record.finish(Code::Unavailable);
                }
            }
            Poll::Ready(None) => {
                if let Some(record) = self.record.take() {
                    record.finish(Code::Unknown);
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for AuditBody {
    fn drop(&mut self) {
        if let Some(record) = self.record.take() {
            record.finish(Code::Cancelled);
        }
    }
}

//! The background jobs: retry pending follow-ups until their ticket exists, send delayed
//! invitations, expire unanswered ones, and escalate overdue follow-ups.

use std::time::Duration;

use aftercare_platform::time::now_micros;
use tokio_util::sync::CancellationToken;

use crate::error::Result;
use crate::store::Store;
use crate::tickets::FollowUpTickets;

/// How many rows one round handles per job.
const BATCH: i64 = 100;

/// The sweep.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// The store.
    pub store: Store,
    /// The tickets service.
    pub tickets: FollowUpTickets,
}

impl Sweep {
    /// Runs every `interval` until `cancel`.
    pub async fn run(self, interval: Duration, cancel: CancellationToken) {
        loop {
            if let Err(error) = self.once().await {
                tracing::warn!(error = %aftercare_platform::error::cause_chain(&error), "feedback sweep failed");
            }
            if cancel
                .run_until_cancelled(tokio::time::sleep(interval))
                .await
                .is_none()
            {
                break;
            }
        }
    }

    /// One round of every job.
    pub async fn once(&self) -> Result<()> {
        let now = now_micros();
        for pending in self.store.pending_due(now, BATCH).await? {
            self.tickets.open(&self.store, &pending).await?;
        }
        let sent = self.store.send_due_invitations(now, BATCH).await?;
        let expired = self.store.expire_invitations(now).await?;
        let overdue = self.store.mark_overdue(now, BATCH).await?;
        if sent + overdue > 0 || expired > 0 {
            tracing::info!(sent, expired, overdue, "feedback sweep");
        }
        Ok(())
    }
}

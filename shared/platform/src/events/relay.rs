//! The relay: publishes a service's committed outbox rows, in order, and marks them published.
//!
//! Nothing is held open while publishing (no transaction, no connection), so a handler on the
//! same database can commit while the relay waits for the bus. A row is marked published only
//! after the bus accepted it; a crash before that leaves it pending and the next relay
//! publishes it again (at least once). Two relays on one database (replicas of a service on
//! PostgreSQL) may both publish a row: JetStream drops the second copy within its duplicate
//! window and consumers de-duplicate through their inbox either way.

use std::sync::Arc;
use std::time::Duration;

use prost::Message as _;
use sqlx::Row as _;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Event, EventBus, EventError};
use crate::config::EventsConfig;
use crate::db::Database;
use crate::time::{Micros, now_micros};

/// How often the running relay deletes published rows and handled-event records older than
/// its retention (`events.retention`).
const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// How often the running relay measures its backlog.
const MEASURE_EVERY: Duration = Duration::from_secs(1);
/// Gauge: outbox rows not yet published, per service.
pub const OUTBOX_PENDING: &str = "aftercare_outbox_pending";
/// Gauge: the age of the oldest unpublished outbox row (0 when none), per service.
pub const OUTBOX_OLDEST_AGE: &str = "aftercare_outbox_oldest_pending_age_seconds";
/// The longest pause after failed rounds.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Publishes one database's outbox on a bus.
#[derive(Debug, Clone)]
pub struct Relay {
    db: Database,
    bus: Arc<dyn EventBus>,
    batch: u32,
    interval: Duration,
    retention: Duration,
    wake: Arc<Notify>,
    service: String,
}

/// Wakes a running [`Relay`] at once, e.g. right after a transaction with an outbox row
/// committed. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RelayWaker(Arc<Notify>);

impl RelayWaker {
    /// Asks the relay to look for pending rows now (remembered if it is busy).
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

impl Relay {
    /// A relay publishing `db`'s outbox on `bus`, up to `batch` rows per round, looking for
    /// rows every `interval` when nothing wakes it.
    pub fn new(db: Database, bus: Arc<dyn EventBus>, batch: u32, interval: Duration) -> Self {
        Self {
            db,
            bus,
            batch: batch.max(1),
            interval,
            retention: EventsConfig::default().retention,
            wake: Arc::new(Notify::new()),
            service: String::new(),
        }
    }

    /// The relay, recording its outbox's backlog (`aftercare_outbox_pending`,
    /// `aftercare_outbox_oldest_pending_age_seconds`) under the label `service`.
    pub fn for_service(mut self, service: &str) -> Self {
        self.service = service.to_owned();
        self
    }

    /// A relay with the batch and interval of `config`.
    pub fn from_config(db: Database, bus: Arc<dyn EventBus>, config: &EventsConfig) -> Self {
        let mut relay = Self::new(db, bus, config.relay_batch, config.relay_interval);
        relay.retention = config.retention;
        relay
    }

    /// A handle that wakes this relay.
    pub fn waker(&self) -> RelayWaker {
        RelayWaker(Arc::clone(&self.wake))
    }

    /// Wakes this relay (see [`RelayWaker::wake`]).
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    /// Publishes up to one batch of pending rows, oldest first, marking each published after
    /// the bus accepted it. Stops at the first failure, leaving that row and the ones after it
    /// pending. Returns how many rows were published.
    pub async fn relay_once(&self) -> Result<usize, EventError> {
        let rows = sqlx::query(
            "SELECT seq, envelope FROM aftercare_outbox
             WHERE published_at IS NULL ORDER BY seq LIMIT $1",
        )
        .bind(i64::from(self.batch))
        .fetch_all(self.db.reader())
        .await?;
        let mut published = 0;
        for row in rows {
            let seq: i64 = row.try_get("seq")?;
            let envelope: Vec<u8> = row.try_get("envelope")?;
            let event = Event::decode(envelope.as_slice())?;
            self.bus.publish(&event).await?;
            sqlx::query("UPDATE aftercare_outbox SET published_at = $1 WHERE seq = $2")
                .bind(now_micros())
                .bind(seq)
                .execute(self.db.writer())
                .await?;
            tracing::debug!(event_id = %event.id, event_type = %event.r#type, seq, "event relayed");
            published += 1;
        }
        Ok(published)
    }

    /// Publishes every pending row, batch after batch, until none is left. Returns how many.
    pub async fn drain(&self) -> Result<usize, EventError> {
        let mut total = 0;
        loop {
            let published = self.relay_once().await?;
            total += published;
            if published < self.batch as usize {
                return Ok(total);
            }
        }
    }

    /// How many outbox rows wait to be published, and when the oldest of them was written
    /// (`None` when none waits).
    pub async fn backlog(&self) -> Result<(i64, Option<Micros>), EventError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS pending, MIN(created_at) AS oldest FROM aftercare_outbox
             WHERE published_at IS NULL",
        )
        .fetch_one(self.db.reader())
        .await?;
        Ok((row.try_get("pending")?, row.try_get("oldest")?))
    }

    /// Records the outbox's backlog as gauges (see [`Relay::for_service`]).
    async fn record_backlog(&self) {
        match self.backlog().await {
            Ok((pending, oldest)) => {
                let age = oldest.map_or(0.0, |oldest| {
                    (now_micros() - oldest).max(0) as f64 / 1_000_000.0
                });
                metrics::gauge!(OUTBOX_PENDING, "service" => self.service.clone())
                    .set(pending as f64);
                metrics::gauge!(OUTBOX_OLDEST_AGE, "service" => self.service.clone()).set(age);
            }
            Err(err) => tracing::debug!(error = %err, "cannot measure the outbox backlog"),
        }
    }

    /// Deletes outbox rows published before `before`, and the records of events this
    /// database's consumers handled before it. Returns how many rows went.
    pub async fn purge_published(&self, before: Micros) -> Result<u64, EventError> {
        let outbox = sqlx::query(
            "DELETE FROM aftercare_outbox WHERE published_at IS NOT NULL AND published_at < $1",
        )
        .bind(before)
        .execute(self.db.writer())
        .await?;
        let inbox = sqlx::query("DELETE FROM aftercare_inbox WHERE handled_at < $1")
            .bind(before)
            .execute(self.db.writer())
            .await?;
        Ok(outbox.rows_affected() + inbox.rows_affected())
    }

    /// Runs the relay until `cancel`: at once (what a crash left pending), then whenever woken
    /// or every interval, straight on while full batches keep coming, backing off after
    /// failures. Published rows older than the retention are deleted every hour; the backlog
    /// is measured every second (gauges `aftercare_outbox_pending` and
    /// `aftercare_outbox_oldest_pending_age_seconds`, label `service`).
    pub fn spawn(self, cancel: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut failures = 0u32;
            let mut last_purge: Option<Instant> = None;
            let measuring = self.clone();
            let stop = cancel.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(MEASURE_EVERY);
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                while stop.run_until_cancelled(every.tick()).await.is_some() {
                    measuring.record_backlog().await;
                }
            });
            loop {
                let pause = match cancel.run_until_cancelled(self.relay_once()).await {
                    None => break,
                    Some(Ok(published)) => {
                        failures = 0;
                        if published == self.batch as usize {
                            continue;
                        }
                        self.interval
                    }
                    Some(Err(err)) => {
                        failures = failures.saturating_add(1);
                        let pause = backoff(self.interval, failures);
                        tracing::warn!(
                            error = %err,
                            source = ?std::error::Error::source(&err).map(ToString::to_string),
                            failures,
                            retry_in = ?pause,
                            "outbox relay round failed"
                        );
                        pause
                    }
                };
                if last_purge.is_none_or(|at| at.elapsed() >= PURGE_EVERY) {
                    last_purge = Some(Instant::now());
                    let before = now_micros()
                        - i64::try_from(self.retention.as_micros()).unwrap_or(i64::MAX);
                    match self.purge_published(before).await {
                        Ok(0) => {}
                        Ok(purged) => tracing::debug!(purged, "old outbox rows deleted"),
                        Err(err) => tracing::warn!(error = %err, "cannot delete old outbox rows"),
                    }
                }
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(pause) => {}
                }
            }
            tracing::debug!("outbox relay stopped");
        })
    }
}

/// The pause after `failures` failed rounds in a row: the interval, doubled per failure,
/// at most [`MAX_BACKOFF`] (or the interval, when that is longer).
fn backoff(interval: Duration, failures: u32) -> Duration {
    let doubled = interval.saturating_mul(1 << failures.min(16).saturating_sub(1));
    doubled.min(MAX_BACKOFF.max(interval))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_ceiling() {
        let interval = Duration::from_millis(500);
        assert_eq!(backoff(interval, 1), interval);
        assert_eq!(backoff(interval, 2), Duration::from_secs(1));
        assert_eq!(backoff(interval, 3), Duration::from_secs(2));
        assert_eq!(backoff(interval, 40), MAX_BACKOFF);
    }
}

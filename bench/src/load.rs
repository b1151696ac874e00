//! The load generator: one operation run for a fixed time, either closed loop (a fixed number
//! of clients, each sending its next call when the last one answered) or open loop (calls sent
//! at a fixed rate whatever the answers do).
//!
//! In the open loop a call's latency is counted from the time it was *meant* to be sent, not
//! from when it was sent: when the server falls behind, the queueing it causes shows in the
//! figures instead of being hidden by a generator that waits (coordinated omission).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use hdrhistogram::Histogram;
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;

/// One call of the operation under load; the argument is the call's sequence number.
pub type Call = Arc<dyn Fn(u64) -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync>;

/// How the load is offered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// `clients` callers, each waiting for its answer before the next call.
    Closed {
        /// Concurrent callers.
        clients: usize,
    },
    /// Calls started at `rate` per second, at most `max_in_flight` at once (a call that finds
    /// no free slot waits, and its wait counts in its latency).
    Open {
        /// Calls per second.
        rate: f64,
        /// The most calls outstanding at once.
        max_in_flight: usize,
    },
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Closed { clients } => write!(f, "closed loop, {clients} clients"),
            Self::Open { rate, .. } => write!(f, "open loop, {rate:.0}/s"),
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Calls that succeeded in the measured window.
    pub ok: u64,
    /// Calls that failed in the measured window.
    pub errors: u64,
    /// The first failure, for the report.
    pub first_error: Option<String>,
    /// Latency of the successful calls, microseconds.
    pub latency: Histogram<u64>,
    /// The measured window (from the end of the warm-up to the last answer).
    pub elapsed: Duration,
}

impl Outcome {
    fn empty() -> Self {
        Self {
            ok: 0,
            errors: 0,
            first_error: None,
            latency: new_histogram(),
            elapsed: Duration::ZERO,
        }
    }

    fn merge(&mut self, other: &Outcome) {
        self.ok += other.ok;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
        self.latency
            .add(&other.latency)
            .expect("histograms of the same bounds merge");
    }

    fn record(&mut self, result: anyhow::Result<()>, latency: Duration) {
        match result {
            Ok(()) => {
                self.ok += 1;
                self.latency.saturating_record(micros(latency));
            }
            Err(err) => {
                self.errors += 1;
                if self.first_error.is_none() {
                    self.first_error = Some(format!("{err:#}"));
                }
            }
        }
    }

    /// Successful calls per second.
    pub fn rate(&self) -> f64 {
        if self.elapsed.is_zero() {
            return 0.0;
        }
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    /// The latency at `quantile` (0.5, 0.99), milliseconds; `None` without a successful call.
    pub fn millis(&self, quantile: f64) -> Option<f64> {
        (self.ok > 0).then(|| self.latency.value_at_quantile(quantile) as f64 / 1_000.0)
    }
}

/// A histogram of microseconds from 1 µs to 10 minutes, three significant figures.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// Runs `call` in `mode`: `warmup` unmeasured, then `duration` measured. A call is measured
/// when it starts (closed loop) or is due (open loop) inside the measured window.
pub async fn run(mode: Mode, warmup: Duration, duration: Duration, call: Call) -> Outcome {
    let start = Instant::now();
    let measure_from = start + warmup;
    let stop_at = measure_from + duration;
    let sequence = Arc::new(AtomicU64::new(0));
    let mut outcome = match mode {
        Mode::Closed { clients } => {
            let mut workers = Vec::with_capacity(clients);
            for _ in 0..clients.max(1) {
                let call = call.clone();
                let sequence = sequence.clone();
                workers.push(tokio::spawn(async move {
                    let mut mine = Outcome::empty();
                    let mut last = measure_from;
                    loop {
                        let sent = Instant::now();
                        if sent >= stop_at {
                            break;
                        }
                        let seq = sequence.fetch_add(1, Ordering::Relaxed);
                        let result = call(seq).await;
                        let answered = Instant::now();
                        if sent >= measure_from {
                            mine.record(result, answered - sent);
                            last = answered;
                        }
                    }
                    (mine, last)
                }));
            }
            let mut total = Outcome::empty();
            let mut last = stop_at;
            for worker in workers {
                if let Ok((mine, their_last)) = worker.await {
                    total.merge(&mine);
                    last = last.max(their_last);
                }
            }
            total.elapsed = last - measure_from;
            total
        }
        Mode::Open {
            rate,
            max_in_flight,
        } => {
            let shared = Arc::new(Mutex::new((Outcome::empty(), measure_from)));
            let slots = Arc::new(Semaphore::new(max_in_flight.max(1)));
            let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
            let mut calls = Vec::new();
            for index in 0u32.. {
                let due = start + interval * index;
                if due >= stop_at {
                    break;
                }
                tokio::time::sleep_until(due).await;
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    break;
                };
                let call = call.clone();
                let shared = shared.clone();
                let seq = sequence.fetch_add(1, Ordering::Relaxed);
                calls.push(tokio::spawn(async move {
                    let result = call(seq).await;
                    drop(slot);
                    let answered = Instant::now();
                    if due >= measure_from {
                        let mut guard = shared.lock().await;
                        guard.0.record(result, answered - due);
                        guard.1 = guard.1.max(answered);
                    }
                }));
            }
            for call in calls {
                let _ = call.await;
            }
            let (mut total, last) = shared.lock().await.clone();
            total.elapsed = last.max(stop_at) - measure_from;
            total
        }
    };
    if outcome.elapsed.is_zero() {
        outcome.elapsed = duration;
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sleeper(millis: u64) -> Call {
        Arc::new(move |_| {
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(millis)).await;
                Ok(())
            })
        })
    }

    #[tokio::test]
    async fn closed_loop_rate_is_clients_over_latency() {
        let outcome = run(
            Mode::Closed { clients: 4 },
            Duration::from_millis(50),
            Duration::from_millis(500),
            sleeper(10),
        )
        .await;
        // 4 clients × 1 call / 10 ms = 400/s at most; a busy machine only makes calls longer.
        assert!(outcome.rate() <= 410.0, "{}", outcome.rate());
        assert!(outcome.millis(0.5).unwrap() >= 10.0);
        // Little's law: calls in flight = rate × mean latency = the 4 clients.
        let in_flight = outcome.rate() * outcome.latency.mean() / 1_000_000.0;
        assert!((3.0..=4.2).contains(&in_flight), "{in_flight}");
        assert_eq!(outcome.errors, 0);
    }

    /// A server that answers one call at a time in 20 ms, offered 100 calls/s: the queue
    /// grows by 50 calls a second, and the latency counted from each call's due time shows
    /// it (a generator that waited for answers would report 20 ms).
    #[tokio::test]
    async fn open_loop_counts_queueing_from_the_due_time() {
        let server = Arc::new(Mutex::new(()));
        let call: Call = Arc::new(move |_| {
            let server = server.clone();
            Box::pin(async move {
                let _one_at_a_time = server.lock().await;
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(())
            })
        });
        let outcome = run(
            Mode::Open {
                rate: 100.0,
                max_in_flight: 1_000,
            },
            Duration::ZERO,
            Duration::from_secs(1),
            call,
        )
        .await;
        assert!(outcome.rate() <= 55.0, "{}", outcome.rate());
        // The last calls of the second waited about half a second in the queue.
        assert!(
            outcome.millis(0.99).unwrap() >= 400.0,
            "{:?}",
            outcome.millis(0.99)
        );
    }

    #[tokio::test]
    async fn failures_are_counted_and_the_first_is_kept() {
        let call: Call = Arc::new(|seq| {
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(1)).await;
                if seq % 2 == 0 {
                    anyhow::bail!("even call {seq} refused")
                }
                Ok(())
            })
        });
        let outcome = run(
            Mode::Closed { clients: 1 },
            Duration::ZERO,
            Duration::from_millis(100),
            call,
        )
        .await;
        assert!(outcome.errors > 0 && outcome.ok > 0, "{outcome:?}");
        assert!(
            outcome
                .first_error
                .as_deref()
                .is_some_and(|e| e.contains("refused"))
        );
    }
}

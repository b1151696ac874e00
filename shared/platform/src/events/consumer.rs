//! Idempotent consumers: each event is applied once per consumer, in one transaction with the
//! inbox row that records it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::FutureExt as _;
use opentelemetry::trace::TraceContextExt as _;
use sqlx::{Any, Transaction};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::bus::{Delivery, EventBus, SubscriptionFilter};
use super::{Event, EventError, trace};
use crate::db::Database;
use crate::time::now_micros;

/// The first pause before an event whose handler failed is delivered again.
const RETRY_BASE: Duration = Duration::from_millis(100);
/// The longest pause before a redelivery or a new subscription.
const RETRY_MAX: Duration = Duration::from_secs(30);
/// Counter: deliveries handled, by `service`, `consumer` and `outcome` (`handled`,
/// `duplicate`, `failed`).
pub const EVENTS_HANDLED: &str = "aftercare_events_handled_total";
/// Gauge: events the durable consumer has not had acknowledged yet (JetStream), by `service`
/// and `consumer`.
pub const CONSUMER_PENDING: &str = "aftercare_events_consumer_pending";

/// The service a consumer belongs to, for metrics: its name up to the first `-`
/// (`customers-timeline` → `customers`).
pub(crate) fn service_of(consumer: &str) -> &str {
    consumer.split('-').next().unwrap_or(consumer)
}

/// What a consumer does with an event, inside the transaction that also records it in the
/// consumer's inbox. Return an error to roll both back and have the event delivered again.
#[async_trait]
pub trait EventHandler: Send + Sync {
    /// Applies `event` using `tx` (do not commit it: [`handle`] does).
    async fn handle(&self, tx: &mut Transaction<'_, Any>, event: &Event) -> anyhow::Result<()>;
}

/// What [`handle`] did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// The handler applied it and the transaction committed.
    Applied,
    /// The consumer had already handled it; nothing was done.
    Duplicate,
}

/// Handles `event` for `consumer` exactly once in `db`: in one transaction, records
/// `(consumer, event id)` in the inbox and, unless it was already there, runs `handler`, then
/// commits. A handler error rolls everything back and is returned as
/// [`EventError::Handler`]. The handler runs in a span whose parent is the event's trace
/// context.
pub async fn handle<H: EventHandler + ?Sized>(
    db: &Database,
    consumer: &str,
    event: &Event,
    handler: &H,
) -> Result<Handled, EventError> {
    let span = tracing::info_span!(
        "handle_event",
        otel.kind = "consumer",
        consumer = %consumer,
        event_id = %event.id,
        event_type = %event.r#type,
        event_source = %event.source,
        event_subject = %event.subject,
    );
    let parent = trace::extract_context(&event.trace_context);
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
    async {
        let mut tx = db.begin().await?;
        let recorded = sqlx::query(
            "INSERT INTO aftercare_inbox (consumer, event_id, handled_at) VALUES ($1, $2, $3)
             ON CONFLICT (consumer, event_id) DO NOTHING",
        )
        .bind(consumer)
        .bind(&event.id)
        .bind(now_micros())
        .execute(&mut *tx)
        .await?;
        if recorded.rows_affected() == 0 {
            tx.rollback().await?;
            tracing::debug!("event already handled");
            return Ok(Handled::Duplicate);
        }
        if let Err(err) = handler.handle(&mut tx, event).await {
            tx.rollback().await?;
            return Err(EventError::Handler(err.into()));
        }
        tx.commit().await?;
        tracing::debug!("event handled");
        Ok(Handled::Applied)
    }
    .instrument(span)
    .await
}

/// Subscribes `consumer` to the events `filter` selects on `bus`, then, in a task until
/// `cancel`, [`handle`]s each delivery in `db` and acknowledges it once its transaction
/// committed. A failed (or panicking) handler is logged and its event redelivered after a
/// growing delay (100 ms doubling, at most 30 s); a failed subscription is logged and renewed
/// with the same backoff. The event being handled when `cancel` fires is finished first.
///
/// Subscribing before the task starts means that when this returns, the consumer is
/// attached: on the in-process bus, start consumers before relays.
pub async fn spawn_consumer<H: EventHandler + 'static>(
    db: Database,
    bus: Arc<dyn EventBus>,
    consumer: &str,
    filter: SubscriptionFilter,
    handler: H,
    cancel: CancellationToken,
) -> Result<JoinHandle<()>, EventError> {
    let subscription = bus.subscribe(consumer, filter.clone()).await?;
    let consumer = consumer.to_owned();
    Ok(tokio::spawn(async move {
        let mut subscription = Some(subscription);
        let mut failures = 0u32;
        while !cancel.is_cancelled() {
            let mut current = match subscription.take() {
                Some(current) => current,
                None => match cancel
                    .run_until_cancelled(bus.subscribe(&consumer, filter.clone()))
                    .await
                {
                    None => break,
                    Some(Ok(current)) => current,
                    Some(Err(err)) => {
                        failures = failures.saturating_add(1);
                        let pause = retry_delay(failures);
                        tracing::warn!(
                            consumer = %consumer,
                            error = %error_chain(&err),
                            retry_in = ?pause,
                            "cannot subscribe consumer"
                        );
                        let _ = cancel.run_until_cancelled(tokio::time::sleep(pause)).await;
                        continue;
                    }
                },
            };
            loop {
                let Some(next) = cancel.run_until_cancelled(current.next()).await else {
                    break;
                };
                match next {
                    Some(Ok(delivery)) => {
                        failures = 0;
                        process(&db, &consumer, delivery, &handler).await;
                    }
                    Some(Err(err)) => {
                        failures = failures.saturating_add(1);
                        let pause = retry_delay(failures);
                        tracing::warn!(
                            consumer = %consumer,
                            error = %error_chain(&err),
                            retry_in = ?pause,
                            "consumer subscription failed; subscribing again"
                        );
                        let _ = cancel.run_until_cancelled(tokio::time::sleep(pause)).await;
                        break;
                    }
                    None => {
                        tracing::warn!(consumer = %consumer, "consumer subscription ended; subscribing again");
                        break;
                    }
                }
            }
        }
        tracing::debug!(consumer = %consumer, "consumer stopped");
    }))
}

/// Handles one delivery and acknowledges it, or asks for it again later.
async fn process<H: EventHandler + ?Sized>(
    db: &Database,
    consumer: &str,
    delivery: Delivery,
    handler: &H,
) {
    let attempt = delivery.attempt();
    // A panicking handler fails this delivery like an error would (its transaction is dropped,
    // so rolled back, and the event redelivered later) instead of ending the consumer's task,
    // which would leave the consumer detached until the process restarts.
    let outcome = std::panic::AssertUnwindSafe(handle(db, consumer, delivery.event(), handler))
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| Err(EventError::Handler(panic_message(&*panic).into())));
    let label = match &outcome {
        Ok(Handled::Applied) => "handled",
        Ok(Handled::Duplicate) => "duplicate",
        Err(_) => "failed",
    };
    metrics::counter!(
        EVENTS_HANDLED,
        "service" => service_of(consumer).to_owned(),
        "consumer" => consumer.to_owned(),
        "outcome" => label,
    )
    .increment(1);
    match outcome {
        Ok(_) => {
            let event_id = delivery.event().id.clone();
            if let Err(err) = delivery.ack().await {
                // The event is committed; its redelivery will find the inbox row.
                tracing::warn!(consumer, event_id, error = %error_chain(&err), "cannot ack event");
            }
        }
        Err(err) => {
            let pause = retry_delay(attempt);
            let event_id = delivery.event().id.clone();
            let event_type = delivery.event().r#type.clone();
            tracing::warn!(
                consumer,
                event_id,
                event_type,
                attempt,
                retry_in = ?pause,
                error = %error_chain(&err),
                "event handling failed"
            );
            if let Err(err) = delivery.nak(pause).await {
                tracing::warn!(consumer, event_id, error = %error_chain(&err), "cannot nak event");
            }
        }
    }
}

/// What a caught panic said, as an error message.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let said = panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text payload".to_owned());
    format!("handler panicked: {said}")
}

/// The pause before retry number `attempt` (from 1): 100 ms doubling, at most 30 s.
fn retry_delay(attempt: u32) -> Duration {
    let exponent = attempt.saturating_sub(1).min(16);
    RETRY_BASE.saturating_mul(1 << exponent).min(RETRY_MAX)
}

/// `err` and its causes, `: `-separated, for one log field.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consumer_belongs_to_the_service_its_name_starts_with() {
        assert_eq!(service_of("customers-timeline"), "customers");
        assert_eq!(service_of("tickets"), "tickets");
    }

    #[test]
    fn retries_back_off_from_100ms_to_30s() {
        assert_eq!(retry_delay(1), Duration::from_millis(100));
        assert_eq!(retry_delay(2), Duration::from_millis(200));
        assert_eq!(retry_delay(4), Duration::from_millis(800));
        assert_eq!(retry_delay(100), RETRY_MAX);
    }

    #[test]
    fn an_error_chain_names_every_cause() {
        let err = EventError::Handler(anyhow::anyhow!("row missing").into());
        assert_eq!(error_chain(&err), "event handler failed: row missing");
    }

    #[test]
    fn a_panic_reads_as_a_handler_error() {
        let literal: Box<dyn std::any::Any + Send> = Box::new("boom");
        let formatted: Box<dyn std::any::Any + Send> = Box::new(format!("row {}", 7));
        let other: Box<dyn std::any::Any + Send> = Box::new(7_u8);
        assert_eq!(panic_message(&*literal), "handler panicked: boom");
        assert_eq!(panic_message(&*formatted), "handler panicked: row 7");
        assert_eq!(
            panic_message(&*other),
            "handler panicked: a non-text payload"
        );
    }
}

//! The in-process bus, for every service in one process (`aftercare up`).
//!
//! Each consumer name is a queue. Publishing puts the event on the queue of every consumer
//! name subscribed at that moment whose filter matches, and then **waits until each of them
//! has acknowledged it** (handled it and committed), or given up on it after
//! [`InProcessBus::with_max_deliver`] failed deliveries. Only then does the relay mark the
//! outbox row published, so a crash of the process between publish and handling loses
//! nothing: the row is still pending and is published again after the restart (consumers
//! de-duplicate through their inbox).
//!
//! What this does not do, and the single-process start-up must respect:
//! - No replay: an event published while no subscription holds a consumer name is not kept for
//!   that name. Subscribe every consumer before starting any relay (a consumer that subscribes
//!   later receives the events still pending in outboxes, because the relays publish those
//!   after it subscribed).
//! - A consumer name lives while at least one [`super::Subscription`] for it lives. When the
//!   last one is dropped, events queued for it are dropped and their publishes fail, so the
//!   relay publishes them again later (to the consumers still subscribed).
//! - One slow or failing consumer slows the relays that publish to it (at most
//!   `max_deliver` attempts per event, with the consumer's backoff between them).
//!
//! Several subscriptions with the same consumer name share that name's queue: each event
//! goes to one of them. A later subscription's filter replaces the earlier one for the name.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt as _;
use tokio::sync::{mpsc, oneshot};

use super::bus::{self, Acknowledge, Delivery, EventBus, Subscription, SubscriptionFilter};
use super::{Event, EventError};

/// Deliveries of one event to one consumer before the bus gives up on it.
const DEFAULT_MAX_DELIVER: u32 = 10;

/// An event bus inside one process. Cheap to clone; clones share the bus.
#[derive(Debug, Clone)]
pub struct InProcessBus {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    groups: Mutex<HashMap<String, Arc<Group>>>,
    max_deliver: u32,
}

/// One consumer name: its filter, its queue and how many subscriptions hold it.
#[derive(Debug)]
struct Group {
    filter: Mutex<SubscriptionFilter>,
    sender: mpsc::UnboundedSender<Pending>,
    receiver: tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>,
    subscriptions: Mutex<usize>,
}

/// An event waiting for (or being handled by) one consumer.
#[derive(Debug)]
struct Pending {
    event: Arc<Event>,
    attempt: u32,
    done: oneshot::Sender<Outcome>,
}

#[derive(Debug, Clone, Copy)]
enum Outcome {
    Handled,
    GaveUp,
}

impl Default for InProcessBus {
    fn default() -> Self {
        Self::new()
    }
}

impl InProcessBus {
    /// A bus with no consumers.
    pub fn new() -> Self {
        Self::with_max_deliver(DEFAULT_MAX_DELIVER)
    }

    /// A bus that gives up on an event for a consumer after `max_deliver` failed deliveries
    /// (logged as an error), like JetStream's `max_deliver`.
    pub fn with_max_deliver(max_deliver: u32) -> Self {
        Self {
            inner: Arc::new(Inner {
                groups: Mutex::new(HashMap::new()),
                max_deliver: max_deliver.max(1),
            }),
        }
    }

    fn groups(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Group>>> {
        self.inner
            .groups
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl EventBus for InProcessBus {
    async fn publish(&self, event: &Event) -> Result<(), EventError> {
        let shared = Arc::new(event.clone());
        let waiting: Vec<(String, oneshot::Receiver<Outcome>)> = {
            let groups = self.groups();
            groups
                .iter()
                .filter(|(_, group)| {
                    group
                        .filter
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .matches(event)
                })
                .filter_map(|(name, group)| {
                    let (done, outcome) = oneshot::channel();
                    let pending = Pending {
                        event: Arc::clone(&shared),
                        attempt: 1,
                        done,
                    };
                    // The group owns its receiver, so the queue is open while it is listed.
                    group.sender.send(pending).ok()?;
                    Some((name.clone(), outcome))
                })
                .collect()
        };
        if waiting.is_empty() {
            tracing::debug!(event_id = %event.id, event_type = %event.r#type, "no consumer for event");
        }
        for (consumer, outcome) in waiting {
            match outcome.await {
                Ok(Outcome::Handled | Outcome::GaveUp) => {}
                Err(_) => {
                    return Err(EventError::bus_msg(format!(
                        "consumer {consumer} unsubscribed before handling event {}",
                        event.id
                    )));
                }
            }
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        consumer: &str,
        filter: SubscriptionFilter,
    ) -> Result<Subscription, EventError> {
        bus::check_consumer_name(consumer)?;
        let group = {
            let mut groups = self.groups();
            let group = groups
                .entry(consumer.to_owned())
                .or_insert_with(|| {
                    let (sender, receiver) = mpsc::unbounded_channel();
                    Arc::new(Group {
                        filter: Mutex::new(filter.clone()),
                        sender,
                        receiver: tokio::sync::Mutex::new(receiver),
                        subscriptions: Mutex::new(0),
                    })
                })
                .clone();
            *group.filter.lock().unwrap_or_else(PoisonError::into_inner) = filter;
            *group
                .subscriptions
                .lock()
                .unwrap_or_else(PoisonError::into_inner) += 1;
            group
        };
        let membership = Membership {
            bus: Arc::downgrade(&self.inner),
            consumer: consumer.to_owned(),
            group,
        };
        let max_deliver = self.inner.max_deliver;
        let deliveries = futures::stream::unfold(membership, move |membership| async move {
            let pending = membership.group.receiver.lock().await.recv().await?;
            let delivery = Delivery::new(
                (*pending.event).clone(),
                pending.attempt,
                Box::new(InProcessAck {
                    pending: Some(pending),
                    queue: membership.group.sender.downgrade(),
                    consumer: membership.consumer.clone(),
                    max_deliver,
                }),
            );
            Some((Ok(delivery), membership))
        });
        Ok(Subscription::new(consumer, deliveries.boxed()))
    }
}

/// A subscription's hold on its consumer name; the last one to go removes the name.
struct Membership {
    bus: Weak<Inner>,
    consumer: String,
    group: Arc<Group>,
}

impl Drop for Membership {
    fn drop(&mut self) {
        let Some(bus) = self.bus.upgrade() else {
            return;
        };
        let mut groups = bus.groups.lock().unwrap_or_else(PoisonError::into_inner);
        let mut count = self
            .group
            .subscriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *count = count.saturating_sub(1);
        if *count == 0
            && groups
                .get(&self.consumer)
                .is_some_and(|listed| Arc::ptr_eq(listed, &self.group))
        {
            groups.remove(&self.consumer);
            tracing::debug!(consumer = %self.consumer, "in-process consumer left");
        }
    }
}

/// Acknowledges an in-process delivery; dropped unacknowledged, it puts the event back.
struct InProcessAck {
    pending: Option<Pending>,
    queue: mpsc::WeakUnboundedSender<Pending>,
    consumer: String,
    max_deliver: u32,
}

#[async_trait]
impl Acknowledge for InProcessAck {
    async fn ack(mut self: Box<Self>) -> Result<(), EventError> {
        if let Some(pending) = self.pending.take() {
            let _ = pending.done.send(Outcome::Handled);
        }
        Ok(())
    }

    async fn nak(mut self: Box<Self>, delay: Duration) -> Result<(), EventError> {
        let Some(mut pending) = self.pending.take() else {
            return Ok(());
        };
        if pending.attempt >= self.max_deliver {
            tracing::error!(
                consumer = %self.consumer,
                event_id = %pending.event.id,
                event_type = %pending.event.r#type,
                attempts = pending.attempt,
                "giving up on event after too many failed deliveries"
            );
            let _ = pending.done.send(Outcome::GaveUp);
            return Ok(());
        }
        pending.attempt += 1;
        let queue = self.queue.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            requeue(&queue, pending);
        });
        Ok(())
    }
}

impl Drop for InProcessAck {
    fn drop(&mut self) {
        if let Some(pending) = self.pending.take() {
            requeue(&self.queue, pending);
        }
    }
}

/// Puts `pending` back on its queue; when the consumer has left, dropping it fails the
/// publish that waits for it.
fn requeue(queue: &mpsc::WeakUnboundedSender<Pending>, pending: Pending) {
    if let Some(queue) = queue.upgrade() {
        let _ = queue.send(pending);
    }
}

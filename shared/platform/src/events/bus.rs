//! The event bus abstraction: publish an envelope, subscribe a named consumer, acknowledge
//! deliveries.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use futures::Stream;
use futures::stream::BoxStream;
use prost::Name;

use super::{Event, EventError};

/// Carries events between services, at least once.
///
/// `publish` returns once the bus has taken responsibility for the event (JetStream: the
/// stream stored it; in-process: every consumer subscribed at that moment handled it), so the
/// relay may mark the outbox row published. `subscribe` attaches a named consumer: each event
/// matching its filter is delivered to that consumer name once (more than once after a
/// failure), however many subscriptions share the name (they share the work).
#[async_trait]
pub trait EventBus: Send + Sync + fmt::Debug {
    /// Publishes `event`.
    async fn publish(&self, event: &Event) -> Result<(), EventError>;

    /// Attaches the consumer called `consumer` (a durable name: letters, digits, `-`, `_`)
    /// to the events `filter` selects.
    async fn subscribe(
        &self,
        consumer: &str,
        filter: SubscriptionFilter,
    ) -> Result<Subscription, EventError>;

    /// Reads the events `filter` selects in the order the bus stored them, from `start`,
    /// without a durable consumer and without acknowledgements: every reader sees every
    /// event, each with its position (a number that grows with each stored event and names
    /// it to a later [`TailStart::After`]). `None` when the bus keeps no ordered log (the
    /// in-process bus): the caller feeds itself another way.
    async fn tail(
        &self,
        filter: &SubscriptionFilter,
        start: TailStart,
    ) -> Result<Option<Tail>, EventError> {
        let _ = (filter, start);
        Ok(None)
    }
}

/// Where a [`Tail`] starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TailStart {
    /// With the next event stored.
    New,
    /// With the first event stored after the one at this position.
    After(u64),
}

/// One event read by a [`Tail`].
#[derive(Debug, Clone)]
pub struct Tailed {
    /// Its position in the bus's log.
    pub position: u64,
    /// How many events the filter selects after it, as the bus knew when it sent it
    /// (0: the reader is caught up).
    pub pending: u64,
    /// The event.
    pub event: Event,
}

/// An ordered read of the bus's log (see [`EventBus::tail`]).
pub struct Tail {
    /// How many events the filter selected after the start when the tail opened (0: none
    /// yet, the next one is new).
    pub pending: u64,
    /// The events, in order; the stream ends when the bus closes it.
    pub events: BoxStream<'static, Result<Tailed, EventError>>,
}

impl fmt::Debug for Tail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tail")
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

/// Which events a consumer receives: those whose type is one of `types` (all types when
/// empty) and whose source is one of `sources` (all sources when empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionFilter {
    types: Vec<String>,
    sources: Vec<String>,
}

impl SubscriptionFilter {
    /// Every event.
    pub fn all() -> Self {
        Self::default()
    }

    /// Also accepts events whose payload is `M`.
    pub fn with_type<M: Name>(self) -> Self {
        self.with_type_name(M::full_name())
    }

    /// Also accepts events of the full protobuf type name `type_name`.
    pub fn with_type_name(mut self, type_name: impl Into<String>) -> Self {
        let type_name = type_name.into();
        if !self.types.contains(&type_name) {
            self.types.push(type_name);
        }
        self
    }

    /// Also accepts events published by `source`.
    pub fn from_source(mut self, source: impl Into<String>) -> Self {
        let source = source.into();
        if !self.sources.contains(&source) {
            self.sources.push(source);
        }
        self
    }

    /// The accepted type names (empty: all).
    pub fn types(&self) -> &[String] {
        &self.types
    }

    /// The accepted sources (empty: all).
    pub fn sources(&self) -> &[String] {
        &self.sources
    }

    /// Whether `event` passes the filter.
    pub fn matches(&self, event: &Event) -> bool {
        (self.types.is_empty() || self.types.contains(&event.r#type))
            && (self.sources.is_empty() || self.sources.contains(&event.source))
    }
}

/// How a bus learns the fate of one delivery.
#[async_trait]
pub trait Acknowledge: Send {
    /// The event was handled (and its transaction committed): do not deliver it again.
    async fn ack(self: Box<Self>) -> Result<(), EventError>;

    /// The event was not handled: deliver it again after `delay`.
    async fn nak(self: Box<Self>, delay: Duration) -> Result<(), EventError>;
}

/// One event delivered to a consumer. Acknowledge it with [`Delivery::ack`] after handling, or
/// [`Delivery::nak`] to have it redelivered; a delivery dropped without either is redelivered
/// too (in-process at once, on JetStream after the ack wait).
pub struct Delivery {
    event: Event,
    attempt: u32,
    acknowledge: Box<dyn Acknowledge>,
}

impl Delivery {
    /// A delivery of `event`, the `attempt`-th (from 1), acknowledged through `acknowledge`.
    pub fn new(event: Event, attempt: u32, acknowledge: Box<dyn Acknowledge>) -> Self {
        Self {
            event,
            attempt,
            acknowledge,
        }
    }

    /// The event.
    pub fn event(&self) -> &Event {
        &self.event
    }

    /// Which delivery of this event to this consumer this is, from 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Marks the event handled.
    pub async fn ack(self) -> Result<(), EventError> {
        self.acknowledge.ack().await
    }

    /// Asks for the event again after `delay`.
    pub async fn nak(self, delay: Duration) -> Result<(), EventError> {
        self.acknowledge.nak(delay).await
    }
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("event_id", &self.event.id)
            .field("event_type", &self.event.r#type)
            .field("attempt", &self.attempt)
            .finish()
    }
}

/// The deliveries of one subscription, a stream; it ends when the bus closes it.
pub struct Subscription {
    consumer: String,
    deliveries: BoxStream<'static, Result<Delivery, EventError>>,
}

impl Subscription {
    /// A subscription of `consumer` yielding `deliveries`.
    pub fn new(
        consumer: impl Into<String>,
        deliveries: BoxStream<'static, Result<Delivery, EventError>>,
    ) -> Self {
        Self {
            consumer: consumer.into(),
            deliveries,
        }
    }

    /// The consumer name.
    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    /// The next delivery, or `None` when the subscription ended.
    pub async fn next(&mut self) -> Option<Result<Delivery, EventError>> {
        futures::StreamExt::next(&mut self.deliveries).await
    }
}

impl Stream for Subscription {
    type Item = Result<Delivery, EventError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.deliveries.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("consumer", &self.consumer)
            .finish_non_exhaustive()
    }
}

/// Whether `name` can name a consumer on every bus: 1 to 128 of letters, digits, `-`, `_`.
pub(crate) fn valid_consumer_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub(crate) fn check_consumer_name(name: &str) -> Result<(), EventError> {
    if valid_consumer_name(name) {
        Ok(())
    } else {
        Err(EventError::bus_msg(format!(
            "invalid consumer name `{name}`: use 1 to 128 letters, digits, `-` or `_`"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(r#type: &str, source: &str) -> Event {
        Event {
            r#type: r#type.to_owned(),
            source: source.to_owned(),
            ..Event::default()
        }
    }

    #[test]
    fn an_empty_filter_accepts_everything() {
        assert!(SubscriptionFilter::all().matches(&event("a.B", "tickets")));
    }

    #[test]
    fn a_filter_needs_one_of_its_types_and_one_of_its_sources() {
        let filter = SubscriptionFilter::all()
            .with_type_name("a.B")
            .with_type_name("a.C")
            .from_source("tickets");
        assert!(filter.matches(&event("a.B", "tickets")));
        assert!(filter.matches(&event("a.C", "tickets")));
        assert!(!filter.matches(&event("a.D", "tickets")));
        assert!(!filter.matches(&event("a.B", "feedback")));
    }

    #[test]
    fn consumer_names_are_restricted_to_durable_safe_characters() {
        assert!(valid_consumer_name("customers-timeline_1"));
        assert!(!valid_consumer_name(""));
        assert!(!valid_consumer_name("a.b"));
        assert!(!valid_consumer_name("a b"));
        assert!(!valid_consumer_name("a*"));
    }
}

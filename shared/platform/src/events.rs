//! Events between services: the transactional outbox, the relay that publishes it, the event
//! buses (in-process and NATS JetStream) and idempotent consumers.
//!
//! The path of one event:
//!
//! 1. A service changes its data and, in the same transaction, [`append`]s the event to its
//!    outbox (`aftercare_outbox`). The change and its event commit together or not at all.
//! 2. The service's [`Relay`] reads committed, unpublished outbox rows in order, publishes
//!    each on the [`EventBus`] and marks it published. A crash between commit and publish
//!    loses nothing: the row stays pending and the next relay (after a restart) publishes it.
//!    Publishing is therefore at least once.
//! 3. A consumer ([`spawn_consumer`], or [`handle`] for one event) receives the event and, in
//!    one transaction of its own database, records `(consumer, event id)` in its inbox
//!    (`aftercare_inbox`) and applies the event with its [`EventHandler`]. A redelivered event
//!    finds its inbox row and is skipped, so each event is applied once per consumer. Only
//!    after that transaction commits is the delivery acknowledged; a failed handler leads to
//!    a redelivery after a delay.
//!
//! Trace context travels in the envelope: [`append`] stamps the current span's W3C context and
//! the consumer handles the event in a span whose parent is that context.

mod bus;
mod consumer;
mod in_process;
mod jetstream;
mod outbox;
mod relay;
mod trace;

pub use aftercare_proto::aftercare::events::v1::Event;

pub use bus::{
    Acknowledge, Delivery, EventBus, Subscription, SubscriptionFilter, Tail, TailStart, Tailed,
};
pub use consumer::{EventHandler, Handled, handle, spawn_consumer};
pub use in_process::InProcessBus;
pub use jetstream::{JetStreamBus, JetStreamSettings};
pub use outbox::{append, decode_payload};
pub use relay::{Relay, RelayWaker};
pub use trace::{extract_context, inject_context};

/// A boxed error from a bus client or an event handler.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why an event could not be written, published, received or handled.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The database refused a read or a write (outbox, inbox, or the handler's transaction).
    #[error("event database operation failed")]
    Database(#[from] sqlx::Error),
    /// The event bus failed: connecting, publishing, subscribing, acknowledging.
    #[error("event bus: {context}")]
    Bus {
        /// What was being done.
        context: String,
        /// The cause, when the bus client reported one.
        #[source]
        source: Option<BoxError>,
    },
    /// An envelope or a payload could not be decoded.
    #[error("cannot decode event")]
    Decode(#[from] prost::DecodeError),
    /// A payload could not be encoded.
    #[error("cannot encode event payload")]
    Encode(#[from] prost::EncodeError),
    /// The event carries no payload.
    #[error("event {event_id} has no payload")]
    NoPayload {
        /// The event.
        event_id: String,
    },
    /// The consumer's handler failed; its transaction was rolled back.
    #[error("event handler failed")]
    Handler(#[source] BoxError),
    /// A [`TailStart::After`] names a position the bus no longer keeps (older than its
    /// retention): events after it may be gone.
    #[error("the bus no longer keeps events after position {position} (it starts at {first})")]
    Expired {
        /// The position asked for.
        position: u64,
        /// The first position the bus still keeps.
        first: u64,
    },
}

impl EventError {
    pub(crate) fn bus(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Bus {
            context: context.into(),
            source: Some(source.into()),
        }
    }

    pub(crate) fn bus_msg(context: impl Into<String>) -> Self {
        Self::Bus {
            context: context.into(),
            source: None,
        }
    }
}

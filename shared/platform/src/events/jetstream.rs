//! The NATS JetStream bus, for services in separate processes.
//!
//! One stream (file storage, subjects `<prefix>.>`) holds every event, on the subject
//! `<prefix>.<source>.<short type name>` (`aftercare.tickets.TicketCreated`). Publishing sets
//! `Nats-Msg-Id` to the event id, so a relay publishing the same outbox row twice within the
//! stream's duplicate window stores it once, and waits for the stream's acknowledgement.
//!
//! Each consumer name is a durable pull consumer with explicit acks: it survives restarts of
//! its service, several replicas share its work, and a consumer created after events were
//! stored receives them (as long as the stream keeps them, `max_age`). A delivery not
//! acknowledged within `ack_wait`, or nak'ed, is delivered again, up to `max_deliver` times.

use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use async_nats::jetstream::message::{AckKind, Acker};
use async_nats::jetstream::{self, stream};
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt as _;
use prost::Message as _;

use super::bus::{
    self, Acknowledge, Delivery, EventBus, Subscription, SubscriptionFilter, Tail, TailStart,
    Tailed,
};
use super::consumer::{CONSUMER_PENDING, service_of};
use super::{Event, EventError};
use crate::config::EventsConfig;

/// The stream and consumer settings of a [`JetStreamBus`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JetStreamSettings {
    /// The stream's name (`AFTERCARE`).
    pub stream: String,
    /// The first subject token of every event (`aftercare`); the stream holds `<prefix>.>`.
    pub subject_prefix: String,
    /// How long the stream keeps an event.
    pub max_age: Duration,
    /// How long the stream remembers event ids to drop duplicate publishes.
    pub duplicate_window: Duration,
    /// How long a delivery may stay unacknowledged before it is delivered again.
    pub ack_wait: Duration,
    /// Deliveries of one event to one consumer before JetStream gives up on it.
    pub max_deliver: i64,
    /// How many NATS servers keep a copy of the stream (set when the stream is created).
    pub replicas: usize,
}

impl Default for JetStreamSettings {
    fn default() -> Self {
        Self {
            stream: "AFTERCARE".to_owned(),
            subject_prefix: "aftercare".to_owned(),
            max_age: Duration::from_secs(7 * 24 * 3600),
            duplicate_window: Duration::from_secs(120),
            ack_wait: Duration::from_secs(30),
            max_deliver: 10,
            replicas: 1,
        }
    }
}

impl JetStreamSettings {
    /// The defaults, with the stream, retention, replicas and ack wait of `config`.
    pub fn from_config(config: &EventsConfig) -> Self {
        Self {
            stream: config.stream.clone(),
            subject_prefix: config.subject_prefix.clone(),
            max_age: config.retention,
            ack_wait: config.ack_wait,
            replicas: config.stream_replicas,
            ..Self::default()
        }
    }
}

/// An event bus on NATS JetStream.
#[derive(Debug, Clone)]
pub struct JetStreamBus {
    context: jetstream::Context,
    settings: JetStreamSettings,
}

impl JetStreamBus {
    /// Connects to the NATS server of `config` and ensures the stream.
    pub async fn from_config(config: &EventsConfig) -> Result<Self, EventError> {
        Self::connect(
            config.nats_url.expose(),
            JetStreamSettings::from_config(config),
        )
        .await
    }

    /// Connects to the NATS server at `url` and ensures the stream `settings` describe
    /// (an existing stream is used as it is).
    pub async fn connect(url: &str, settings: JetStreamSettings) -> Result<Self, EventError> {
        let client = async_nats::connect(url)
            .await
            .map_err(|err| EventError::bus(format!("cannot connect to nats at {url}"), err))?;
        Self::with_client(client, settings).await
    }

    /// Uses an existing NATS connection and ensures the stream.
    pub async fn with_client(
        client: async_nats::Client,
        settings: JetStreamSettings,
    ) -> Result<Self, EventError> {
        let context = jetstream::new(client);
        context
            .get_or_create_stream(stream::Config {
                name: settings.stream.clone(),
                subjects: vec![format!("{}.>", settings.subject_prefix)],
                storage: stream::StorageType::File,
                max_age: settings.max_age,
                duplicate_window: settings.duplicate_window,
                num_replicas: settings.replicas.max(1),
                ..stream::Config::default()
            })
            .await
            .map_err(|err| {
                EventError::bus(format!("cannot ensure stream {}", settings.stream), err)
            })?;
        tracing::debug!(stream = %settings.stream, "jetstream stream ready");
        Ok(Self { context, settings })
    }

    /// The JetStream context, for administration (and tests).
    pub fn context(&self) -> &jetstream::Context {
        &self.context
    }

    /// The settings in use.
    pub fn settings(&self) -> &JetStreamSettings {
        &self.settings
    }

    /// The subject `event` is published on.
    pub fn subject_for(&self, event: &Event) -> String {
        format!(
            "{}.{}.{}",
            self.settings.subject_prefix,
            token(&event.source),
            token(short_type_name(&event.r#type))
        )
    }

    /// The subjects a consumer with `filter` listens to (empty: all of the stream).
    fn filter_subjects(&self, filter: &SubscriptionFilter) -> Vec<String> {
        if filter.types().is_empty() && filter.sources().is_empty() {
            return Vec::new();
        }
        let sources: Vec<String> = if filter.sources().is_empty() {
            vec!["*".to_owned()]
        } else {
            filter.sources().iter().map(|s| token(s)).collect()
        };
        let types: Vec<String> = if filter.types().is_empty() {
            vec!["*".to_owned()]
        } else {
            filter
                .types()
                .iter()
                .map(|t| token(short_type_name(t)))
                .collect()
        };
        let mut subjects = Vec::new();
        for source in &sources {
            for r#type in &types {
                let subject = format!("{}.{source}.{type}", self.settings.subject_prefix);
                if !subjects.contains(&subject) {
                    subjects.push(subject);
                }
            }
        }
        subjects
    }
}

#[async_trait]
impl EventBus for JetStreamBus {
    async fn publish(&self, event: &Event) -> Result<(), EventError> {
        let subject = self.subject_for(event);
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, event.id.as_str());
        let ack = self
            .context
            .publish_with_headers(subject.clone(), headers, Bytes::from(event.encode_to_vec()))
            .await
            .map_err(|err| EventError::bus(format!("cannot publish event {}", event.id), err))?
            .await
            .map_err(|err| EventError::bus(format!("event {} was not stored", event.id), err))?;
        tracing::debug!(
            event_id = %event.id,
            subject = %subject,
            sequence = ack.sequence,
            duplicate = ack.duplicate,
            "event published to jetstream"
        );
        Ok(())
    }

    async fn subscribe(
        &self,
        consumer: &str,
        filter: SubscriptionFilter,
    ) -> Result<Subscription, EventError> {
        bus::check_consumer_name(consumer)?;
        let mut subjects = self.filter_subjects(&filter);
        let mut config = pull::Config {
            durable_name: Some(consumer.to_owned()),
            ack_policy: AckPolicy::Explicit,
            deliver_policy: DeliverPolicy::All,
            ack_wait: self.settings.ack_wait,
            max_deliver: self.settings.max_deliver,
            ..pull::Config::default()
        };
        if subjects.len() == 1 {
            config.filter_subject = subjects.remove(0);
        } else {
            // Several subjects need NATS 2.10; an older server delivers every subject and the
            // filter below drops what the consumer did not ask for.
            config.filter_subjects = subjects;
        }
        let pull = self
            .context
            .create_consumer_on_stream(config, self.settings.stream.clone())
            .await
            .map_err(|err| {
                EventError::bus(format!("cannot create jetstream consumer {consumer}"), err)
            })?;
        let info = pull.cached_info();
        metrics::gauge!(
            CONSUMER_PENDING,
            "service" => service_of(consumer).to_owned(),
            "consumer" => consumer.to_owned(),
        )
        .set((info.num_pending + info.num_ack_pending as u64) as f64);
        let messages = pull.messages().await.map_err(|err| {
            EventError::bus(
                format!("cannot pull for jetstream consumer {consumer}"),
                err,
            )
        })?;
        let name = consumer.to_owned();
        let deliveries = messages.filter_map(move |message| {
            let filter = filter.clone();
            let consumer = name.clone();
            async move {
                let message = match message {
                    Ok(message) => message,
                    Err(err) => {
                        return Some(Err(EventError::bus(
                            format!("jetstream consumer {consumer} failed"),
                            err,
                        )));
                    }
                };
                let (attempt, pending) = message
                    .info()
                    .map(|info| {
                        (
                            u32::try_from(info.delivered).unwrap_or(u32::MAX),
                            info.pending,
                        )
                    })
                    .unwrap_or((1, 0));
                // The events still to deliver after this one.
                metrics::gauge!(
                    CONSUMER_PENDING,
                    "service" => service_of(&consumer).to_owned(),
                    "consumer" => consumer.clone(),
                )
                .set(pending as f64);
                let (message, acker) = message.split();
                let event = match Event::decode(message.payload) {
                    Ok(event) => event,
                    Err(err) => {
                        tracing::error!(
                            consumer = %consumer,
                            subject = %message.subject,
                            error = %err,
                            "dropping undecodable jetstream message"
                        );
                        let _ = acker.ack_with(AckKind::Term).await;
                        return None;
                    }
                };
                if !filter.matches(&event) {
                    let _ = acker.ack().await;
                    return None;
                }
                Some(Ok(Delivery::new(
                    event,
                    attempt,
                    Box::new(JetStreamAck { acker }),
                )))
            }
        });
        Ok(Subscription::new(consumer, deliveries.boxed()))
    }

    /// An ordered consumer (ephemeral, in memory, recreated by the client on a gap) from
    /// `start`; positions are stream sequences.
    async fn tail(
        &self,
        filter: &SubscriptionFilter,
        start: TailStart,
    ) -> Result<Option<Tail>, EventError> {
        let mut stream = self
            .context
            .get_stream(&self.settings.stream)
            .await
            .map_err(|err| {
                EventError::bus(format!("cannot find stream {}", self.settings.stream), err)
            })?;
        let deliver_policy = match start {
            TailStart::New => DeliverPolicy::New,
            TailStart::After(position) => {
                let first = stream
                    .info()
                    .await
                    .map_err(|err| {
                        EventError::bus(format!("cannot read stream {}", self.settings.stream), err)
                    })?
                    .state
                    .first_sequence;
                if position.saturating_add(1) < first {
                    return Err(EventError::Expired { position, first });
                }
                DeliverPolicy::ByStartSequence {
                    start_sequence: position.saturating_add(1),
                }
            }
        };
        let mut subjects = self.filter_subjects(filter);
        let mut config = pull::OrderedConfig {
            deliver_policy,
            ..pull::OrderedConfig::default()
        };
        if subjects.len() == 1 {
            config.filter_subject = subjects.remove(0);
        } else {
            config.filter_subjects = subjects;
        }
        let consumer: jetstream::consumer::Consumer<pull::OrderedConfig> = stream
            .create_consumer(config)
            .await
            .map_err(|err| EventError::bus("cannot create an ordered jetstream consumer", err))?;
        let pending = consumer.cached_info().num_pending;
        let messages = consumer
            .messages()
            .await
            .map_err(|err| EventError::bus("cannot read an ordered jetstream consumer", err))?;
        let filter = filter.clone();
        let events = messages.filter_map(move |message| {
            let filter = filter.clone();
            async move {
                let message = match message {
                    Ok(message) => message,
                    Err(err) => {
                        return Some(Err(EventError::bus("ordered jetstream consumer failed", err)));
                    }
                };
                let (position, pending) = match message.info() {
                    Ok(info) => (info.stream_sequence, info.pending),
                    Err(err) => {
                        return Some(Err(EventError::bus_msg(format!(
                            "jetstream message without its sequence: {err}"
                        ))));
                    }
                };
                match Event::decode(message.payload.clone()) {
                    Ok(event) if filter.matches(&event) => Some(Ok(Tailed {
                        position,
                        pending,
                        event,
                    })),
                    Ok(_) => None,
                    Err(err) => {
                        tracing::error!(position, error = %err, "skipping an undecodable jetstream message");
                        None
                    }
                }
            }
        });
        Ok(Some(Tail {
            pending,
            events: events.boxed(),
        }))
    }
}

struct JetStreamAck {
    acker: Acker,
}

#[async_trait]
impl Acknowledge for JetStreamAck {
    async fn ack(self: Box<Self>) -> Result<(), EventError> {
        self.acker
            .ack()
            .await
            .map_err(|err| EventError::bus("cannot ack jetstream message", err))
    }

    async fn nak(self: Box<Self>, delay: Duration) -> Result<(), EventError> {
        self.acker
            .ack_with(AckKind::Nak(Some(delay)))
            .await
            .map_err(|err| EventError::bus("cannot nak jetstream message", err))
    }
}

/// `TicketCreated` from `aftercare.events.v1.TicketCreated`.
fn short_type_name(type_name: &str) -> &str {
    type_name.rsplit('.').next().unwrap_or(type_name)
}

/// `value` as one subject token: characters NATS gives a meaning (`.`, `*`, `>`, spaces)
/// and anything else unusual become `_`.
fn token(value: &str) -> String {
    if value.is_empty() {
        return "_".to_owned();
    }
    value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_become_one_subject_token() {
        assert_eq!(
            short_type_name("aftercare.events.v1.TicketCreated"),
            "TicketCreated"
        );
        assert_eq!(short_type_name("Plain"), "Plain");
        assert_eq!(token("a.b *>"), "a_b___");
        assert_eq!(token(""), "_");
    }
}

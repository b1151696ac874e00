//! The interaction timeline: what an entry says. Which events of which services become
//! entries is the consumer's business (`events::timeline`).

use aftercare_platform::time::Micros;
use uuid::Uuid;

pub(crate) use super::wire::{Actor, Channel};

/// Longest summary kept.
pub(crate) const MAX_SUMMARY: usize = 500;

/// A stored timeline entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TimelineEntry {
    /// Its id.
    pub(crate) id: Uuid,
    /// The customer it belongs to.
    pub(crate) customer: Uuid,
    /// The event it came from.
    pub(crate) event_id: String,
    /// The publishing service.
    pub(crate) source_service: String,
    /// The event's full type name.
    pub(crate) event_type: String,
    /// The resource it concerns.
    pub(crate) subject: String,
    /// One line in English; empty once erased.
    pub(crate) summary: String,
    /// When it happened.
    pub(crate) occur_time: Micros,
    /// Region of the centre involved.
    pub(crate) region: String,
    /// The channel, when any.
    pub(crate) channel: Channel,
    /// Who acted; `None` once erased or when unknown.
    pub(crate) actor: Option<Actor>,
    /// When it was recorded.
    pub(crate) create_time: Micros,
}

/// What an event says about a customer's history, before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Interaction {
    /// The customer's resource name as the event gives it.
    pub(crate) customer: String,
    /// The resource it concerns.
    pub(crate) subject: String,
    /// The summary.
    pub(crate) summary: String,
    /// Region, channel and actor when the event says.
    pub(crate) region: String,
    /// The channel.
    pub(crate) channel: Channel,
    /// The actor.
    pub(crate) actor: Option<Actor>,
}

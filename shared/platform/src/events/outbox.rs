//! Writing an event into the outbox, in the caller's transaction.

use std::collections::HashMap;

use prost::{Message as _, Name};
use sqlx::{Any, Transaction};
use uuid::Uuid;

use super::{Event, EventError, trace};
use crate::time::{now_micros, to_timestamp};

/// Builds the envelope for `payload` and writes it to the outbox in `tx`, so the change the
/// transaction makes and its event commit together or not at all.
///
/// The envelope gets a fresh UUIDv7 id, `type` = the payload's full protobuf name, `time` =
/// now, and the current span's trace context. `source` is the publishing service (`tickets`)
/// and `subject` the resource the event is about (`tickets/0192…`). After the commit, wake the
/// service's [`super::Relay`] (or let its interval find the row).
pub async fn append<M: Name>(
    tx: &mut Transaction<'_, Any>,
    source: &str,
    subject: &str,
    payload: &M,
) -> Result<Event, EventError> {
    let created_at = now_micros();
    let mut trace_context = HashMap::new();
    trace::inject_context(&mut trace_context);
    let event = Event {
        id: Uuid::now_v7().to_string(),
        r#type: M::full_name(),
        source: source.to_owned(),
        subject: subject.to_owned(),
        time: Some(to_timestamp(created_at)),
        trace_context,
        payload: Some(prost_types::Any::from_msg(payload)?),
    };
    sqlx::query(
        "INSERT INTO aftercare_outbox (id, event_type, subject, created_at, envelope)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&event.id)
    .bind(&event.r#type)
    .bind(&event.subject)
    .bind(created_at)
    .bind(event.encode_to_vec())
    .execute(&mut **tx)
    .await?;
    tracing::debug!(
        event_id = %event.id,
        event_type = %event.r#type,
        subject = %event.subject,
        "event appended to outbox"
    );
    Ok(event)
}

/// The payload of `event` as `M`, or a decode error when it is missing or of another type.
pub fn decode_payload<M: Name + Default>(event: &Event) -> Result<M, EventError> {
    let payload = event
        .payload
        .as_ref()
        .ok_or_else(|| EventError::NoPayload {
            event_id: event.id.clone(),
        })?;
    Ok(payload.to_msg::<M>()?)
}

//! Recognitions: award, get, list.

use aftercare_platform::request::PageToken;
use aftercare_platform::time::{now_micros, to_timestamp};
use aftercare_proto::aftercare::events::v1::RecognitionAwarded;
use aftercare_proto::aftercare::workforce::v1 as pb;
use uuid::Uuid;

use super::Api;
use super::agents::{load as load_agent, remember, replayed, request_key};
use super::parse::{ByName, CreateRecognition, ListRecognitions};
use crate::convert;
use crate::domain::access::Caller;
use crate::domain::names::agent_name;
use crate::domain::training::Actor;
use crate::error::{Error, RECOGNITION};
use crate::events::{actor, publish};
use crate::store::{self, Conn, RecognitionRow};

async fn load(conn: &mut Conn, id: Uuid) -> Result<RecognitionRow, Error> {
    store::find_recognition(conn, id)
        .await?
        .ok_or_else(|| Error::not_found(RECOGNITION, format!("recognitions/{id}")))
}

#[tracing::instrument(skip_all, fields(agent = %request.agent))]
pub async fn create(
    api: &Api,
    caller: &Caller,
    request: CreateRecognition,
) -> Result<pb::CreateRecognitionResponse, Error> {
    if caller.is_outsider() {
        return Err(Error::PermissionDenied(
            "customers and integrations award no recognition",
        ));
    }
    if caller.agent == Some(request.agent) {
        return Err(Error::PermissionDenied(
            "agents do not recognise themselves",
        ));
    }
    let key = request_key(caller, "CreateRecognition", "", &request.idempotency);
    let fingerprint = &request.idempotency.fingerprint;
    let now = now_micros();
    let mut tx = api.db.begin().await?;
    if let Some(id) = replayed(&mut tx, key.as_ref(), fingerprint, RECOGNITION).await? {
        return Ok(pb::CreateRecognitionResponse {
            recognition: Some(convert::recognition(&load(&mut tx, id).await?)),
        });
    }
    let agent = load_agent(&mut tx, request.agent).await?;
    if agent.is_deleted() {
        return Err(Error::state(agent_name(agent.id), "the agent is deleted"));
    }
    let by = actor(&caller.principal);
    let recognition = RecognitionRow {
        id: Uuid::now_v7(),
        agent: agent.id,
        badge: request.badge,
        reason: request.reason,
        references: request.references,
        awarded_by: Actor {
            kind: by.r#type,
            id: by.id.clone(),
            name: by.display_name.clone(),
        },
        create_time: now,
    };
    if !remember(&mut tx, key.as_ref(), fingerprint, recognition.id, now).await? {
        return Err(Error::state(
            "recognitions",
            "a concurrent create with this request_id; retry",
        ));
    }
    store::insert_recognition(&mut tx, &recognition, &caller.principal.subject).await?;
    let name = format!("recognitions/{}", recognition.id);
    let event = RecognitionAwarded {
        recognition: name.clone(),
        agent: agent_name(agent.id),
        agent_display_name: agent.profile.display_name.clone(),
        badge: recognition.badge as i32,
        reason: recognition.reason.clone(),
        references: recognition.references.clone(),
        awarded_by: Some(by),
        create_time: Some(to_timestamp(now)),
    };
    publish(&mut tx, &name, &event).await?;
    tx.commit().await?;
    api.relay.wake();
    tracing::info!(recognition = %recognition.id, "recognition awarded");
    Ok(pb::CreateRecognitionResponse {
        recognition: Some(convert::recognition(&recognition)),
    })
}

#[tracing::instrument(skip_all, fields(recognition = %request.0))]
pub async fn get(
    api: &Api,
    caller: &Caller,
    request: ByName,
) -> Result<pb::GetRecognitionResponse, Error> {
    if caller.is_outsider() {
        return Err(Error::PermissionDenied(
            "customers and integrations cannot read recognitions",
        ));
    }
    let mut conn = api.db.reader().acquire().await?;
    Ok(pb::GetRecognitionResponse {
        recognition: Some(convert::recognition(&load(&mut conn, request.0).await?)),
    })
}

#[tracing::instrument(skip_all)]
pub async fn list(
    api: &Api,
    caller: &Caller,
    request: ListRecognitions,
) -> Result<pb::ListRecognitionsResponse, Error> {
    if caller.is_outsider() {
        return Err(Error::PermissionDenied(
            "customers and integrations cannot read recognitions",
        ));
    }
    let page = &request.page;
    let before = page
        .after
        .as_ref()
        .and_then(|t| t.int_key().map(|k| (k, t.id.clone())));
    let mut conn = api.db.reader().acquire().await?;
    let mut rows =
        store::list_recognitions(&mut conn, &request.filters, before, page.limit()).await?;
    let next_page_token = page.finish(&mut rows, |r| PageToken::int(r.create_time, r.id));
    Ok(pb::ListRecognitionsResponse {
        recognitions: rows.iter().map(convert::recognition).collect(),
        next_page_token,
    })
}

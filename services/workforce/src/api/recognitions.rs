//! Recognitions: award, get, list.

use aftercare_platform::request::PageToken;
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::workforce::v1 as pb;
use uuid::Uuid;

use super::parse::{ByName, CreateRecognition, ListRecognitions};
use super::{Api, request_key};
use crate::convert;
use crate::domain::access::Caller;
use crate::domain::names::agent_name;
use crate::error::{Error, RECOGNITION};
use crate::events::recorded;
use crate::store::{self, RecognitionRow};

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
    let mut conn = api.db.reader().acquire().await?;
    if let Some(first) = api.replayed(key.as_ref(), RECOGNITION).await? {
        return Ok(pb::CreateRecognitionResponse {
            recognition: Some(convert::recognition(
                &store::load_recognition(&mut conn, first).await?,
            )),
        });
    }
    let agent = store::load_agent(&mut conn, request.agent).await?;
    drop(conn);
    if agent.is_deleted() {
        return Err(Error::state(agent_name(agent.id), "the agent is deleted"));
    }
    let recognition = RecognitionRow {
        id: Uuid::now_v7(),
        agent: agent.id,
        badge: request.badge,
        reason: request.reason,
        references: request.references,
        awarded_by: recorded(&caller.principal),
        create_time: now_micros(),
    };
    let subject = &caller.principal.subject;
    let recognition =
        store::create_recognition(&api.db, &recognition, key.as_ref(), &agent, subject).await?;
    api.relay.wake();
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
        recognition: Some(convert::recognition(
            &store::load_recognition(&mut conn, request.0).await?,
        )),
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

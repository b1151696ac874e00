//! Certifications: record by hand, get, list (expiring soon), revoke.

use aftercare_platform::request::PageToken;
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::workforce::v1 as pb;

use super::parse::{
    CertificationName, CreateCertification, ListCertifications, RevokeCertification,
};
use super::{Api, request_key};
use crate::convert::{self, certification_name};
use crate::domain::access::Caller;
use crate::domain::names::agent_name;
use crate::domain::training::Certification;
use crate::error::{CERTIFICATION, Error};
use crate::events::recorded;
use crate::store::{self, CertificationQuery, NEVER};

#[tracing::instrument(skip_all, fields(agent = %request.agent))]
pub async fn create(
    api: &Api,
    caller: &Caller,
    request: CreateCertification,
) -> Result<pb::CreateCertificationResponse, Error> {
    if !caller.may_manage_training() {
        return Err(Error::PermissionDenied(
            "trainers and admins record certifications",
        ));
    }
    let now = now_micros();
    let certification = Certification::record(
        request.agent,
        request.code,
        request.display_name,
        request.issue_time,
        request.expire_time,
        recorded(&caller.principal),
        now,
    )
    .map_err(|(field, why)| Error::invalid(field, why))?;
    let parent = agent_name(request.agent);
    let key = request_key(caller, "CreateCertification", &parent, &request.idempotency);
    let mut conn = api.db.reader().acquire().await?;
    let c = match api.replayed(key.as_ref(), CERTIFICATION).await? {
        Some(first) => store::load_certification(&mut conn, request.agent, first).await?,
        None => {
            if store::load_agent(&mut conn, request.agent)
                .await?
                .is_deleted()
            {
                return Err(Error::state(parent, "the agent is deleted"));
            }
            drop(conn);
            let c = store::create_certification(&api.db, &certification, key.as_ref()).await?;
            api.relay.wake();
            c
        }
    };
    Ok(pb::CreateCertificationResponse {
        certification: Some(convert::certification(&c, now)),
    })
}

#[tracing::instrument(skip_all, fields(certification = %request.id))]
pub async fn get(
    api: &Api,
    caller: &Caller,
    request: CertificationName,
) -> Result<pb::GetCertificationResponse, Error> {
    if !caller.may_read_training_of(request.agent) {
        return Err(Error::PermissionDenied(
            "agents read only their own certifications",
        ));
    }
    let mut conn = api.db.reader().acquire().await?;
    let c = store::load_certification(&mut conn, request.agent, request.id).await?;
    Ok(pb::GetCertificationResponse {
        certification: Some(convert::certification(&c, now_micros())),
    })
}

#[tracing::instrument(skip_all)]
pub async fn list(
    api: &Api,
    caller: &Caller,
    request: ListCertifications,
) -> Result<pb::ListCertificationsResponse, Error> {
    let agent = match (caller.training_limited_to(), request.agent) {
        (None, agent) if caller.reach().is_some() => agent,
        (Some(Some(me)), Some(agent)) if me == agent => Some(me),
        (Some(Some(me)), None) => Some(me),
        _ => {
            return Err(Error::PermissionDenied(
                "agents read only their own certifications",
            ));
        }
    };
    let now = now_micros();
    let page = &request.page;
    let query = CertificationQuery {
        agent,
        filters: request.filters.clone(),
        expiring_before: request.expire_within.map(|w| now.saturating_add(w)),
        after: page
            .after
            .as_ref()
            .and_then(|t| t.int_key().map(|k| (k, t.id.clone()))),
        now,
        limit: page.limit(),
    };
    let mut conn = api.db.reader().acquire().await?;
    let mut certifications = store::list_certifications(&mut conn, &query).await?;
    let next_page_token = page.finish(&mut certifications, |c| {
        PageToken::int(c.expire_time.unwrap_or(NEVER), c.id)
    });
    Ok(pb::ListCertificationsResponse {
        certifications: certifications
            .iter()
            .map(|c| convert::certification(c, now))
            .collect(),
        next_page_token,
    })
}

#[tracing::instrument(skip_all, fields(certification = %request.name.id))]
pub async fn revoke(
    api: &Api,
    caller: &Caller,
    request: RevokeCertification,
) -> Result<pb::RevokeCertificationResponse, Error> {
    if !caller.may_manage_training() {
        return Err(Error::PermissionDenied(
            "trainers and admins revoke certifications",
        ));
    }
    let now = now_micros();
    let CertificationName { agent, id } = request.name;
    let mut conn = api.db.reader().acquire().await?;
    let mut c = store::load_certification(&mut conn, agent, id).await?;
    drop(conn);
    c.revoke(request.version, request.reason, now)
        .map_err(|refused| Error::refused(refused, certification_name(agent, id)))?;
    store::save_certification(&api.db, &c, request.version).await?;
    Ok(pb::RevokeCertificationResponse {
        certification: Some(convert::certification(&c, now)),
    })
}

//! Certifications: record by hand, get, list (expiring soon), revoke.

use aftercare_platform::request::PageToken;
use aftercare_platform::time::{now_micros, to_timestamp};
use aftercare_proto::aftercare::events::v1::CertificationIssued;
use aftercare_proto::aftercare::workforce::v1 as pb;
use uuid::Uuid;

use super::Api;
use super::agents::{load as load_agent, remember, replayed, request_key};
use super::parse::{
    CertificationName, CreateCertification, ListCertifications, RevokeCertification,
};
use crate::convert::{self, certification_name};
use crate::domain::access::Caller;
use crate::domain::names::agent_name;
use crate::domain::training::{Actor, Certification, CertificationState};
use crate::error::{CERTIFICATION, Error};
use crate::events::{actor, publish};
use crate::store::{self, CertificationQuery, Conn, NEVER};

async fn load(conn: &mut Conn, name: CertificationName) -> Result<Certification, Error> {
    store::find_certification(conn, name.id)
        .await?
        .filter(|c| c.agent == name.agent)
        .ok_or_else(|| Error::not_found(CERTIFICATION, certification_name(name.agent, name.id)))
}

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
    let issue_time = request.issue_time.unwrap_or(now);
    if issue_time > now {
        return Err(Error::invalid(
            "certification.issue_time",
            "must not be in the future",
        ));
    }
    if request.expire_time.is_some_and(|e| e <= issue_time) {
        return Err(Error::invalid(
            "certification.expire_time",
            "must be after issue_time",
        ));
    }
    let parent = agent_name(request.agent);
    let key = request_key(caller, "CreateCertification", &parent, &request.idempotency);
    let fingerprint = &request.idempotency.fingerprint;
    let mut tx = api.db.begin().await?;
    if let Some(id) = replayed(&mut tx, key.as_ref(), fingerprint, CERTIFICATION).await? {
        let c = load(
            &mut tx,
            CertificationName {
                agent: request.agent,
                id,
            },
        )
        .await?;
        return Ok(pb::CreateCertificationResponse {
            certification: Some(convert::certification(&c, now)),
        });
    }
    let agent = load_agent(&mut tx, request.agent).await?;
    if agent.is_deleted() {
        return Err(Error::state(parent, "the agent is deleted"));
    }
    let issuer = actor(&caller.principal);
    let certification = Certification {
        id: Uuid::now_v7(),
        agent: agent.id,
        code: request.code,
        display_name: request.display_name,
        course: None,
        enrolment: None,
        skills: Vec::new(),
        issue_time,
        expire_time: request.expire_time,
        state: CertificationState::Active,
        issuer: Actor {
            kind: issuer.r#type,
            id: issuer.id.clone(),
            name: issuer.display_name.clone(),
        },
        revoke_time: None,
        revoke_reason: None,
        version: 1,
        create_time: now,
        update_time: now,
    };
    if !remember(&mut tx, key.as_ref(), fingerprint, certification.id, now).await? {
        return Err(Error::state(
            parent,
            "a concurrent create with this request_id; retry",
        ));
    }
    store::insert_certification(&mut tx, &certification).await?;
    let name = certification_name(agent.id, certification.id);
    let event = CertificationIssued {
        certification: name.clone(),
        agent: parent,
        code: certification.code.clone(),
        display_name: certification.display_name.clone(),
        course: String::new(),
        issue_time: Some(to_timestamp(issue_time)),
        expire_time: certification.expire_time.map(to_timestamp),
        actor: Some(issuer),
    };
    publish(&mut tx, &name, &event).await?;
    tx.commit().await?;
    api.relay.wake();
    tracing::info!(certification = %certification.id, "certification recorded");
    Ok(pb::CreateCertificationResponse {
        certification: Some(convert::certification(&certification, now)),
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
    let c = load(&mut conn, request).await?;
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
    let mut tx = api.db.begin().await?;
    let mut c = load(&mut tx, request.name).await?;
    let name = certification_name(c.agent, c.id);
    if c.version != request.version {
        return Err(Error::StaleEtag(name));
    }
    if c.state == CertificationState::Revoked {
        return Err(Error::state(name, "the certification is already revoked"));
    }
    let expected = c.version;
    c.state = CertificationState::Revoked;
    c.revoke_time = Some(now);
    c.revoke_reason = Some(request.reason);
    c.version += 1;
    c.update_time = now;
    if !store::update_certification(&mut tx, &c, expected).await? {
        return Err(Error::StaleEtag(name));
    }
    tx.commit().await?;
    tracing::info!(certification = %c.id, "certification revoked");
    Ok(pb::RevokeCertificationResponse {
        certification: Some(convert::certification(&c, now)),
    })
}

//! Survey response handlers: recorded by staff or the customer (`CreateResponse`) or
//! submitted with the invitation token (`SubmitResponse`).

use aftercare_platform::auth::Principal;
use aftercare_platform::request::{FieldViolations, PageToken, optional_text, resource_id};
use aftercare_platform::time::{now_micros, to_timestamp};
use aftercare_proto::aftercare::feedback::v1 as pb;
use uuid::Uuid;

use super::invitations::{by_token, visible};
use super::parse::{channel, invitation_name, language, page, request_key};
use super::{Api, actor_of};
use crate::convert;
use crate::domain::access::{Reach, read_reach, write_reach};
use crate::domain::classify::{CLASSIFIER_VERSION, classify, detect_language};
use crate::domain::records::{Invitation, PendingFollowUp, Response, StoredClassification};
use crate::domain::survey::{Answers, check_answers};
use crate::domain::values::{Actor, Channel, InvitationStatus, Method};
use crate::error::{Error, INVITATION, RESPONSE, Result, finish};
use crate::store::query::Where;
use crate::store::{NewResponse, RESPONSE_FIELDS, RequestKey};

/// The answers of a request, checked against nothing yet: every score an integer, the
/// comment at most 5000 characters.
fn answers(
    v: &mut FieldViolations,
    prefix: &str,
    csat: Option<i32>,
    nps: Option<i32>,
    ces: Option<i32>,
    comment: &str,
) -> Answers {
    Answers {
        csat,
        nps,
        ces,
        comment: optional_text(v, &format!("{prefix}comment"), comment, 5000).unwrap_or_default(),
    }
}

/// A rules classification of `text` made now.
pub fn rules_classification(text: &str, now: i64) -> StoredClassification {
    StoredClassification {
        value: classify(text),
        method: Method::Rules,
        note: String::new(),
        classifier: Actor::system(),
        classifier_version: CLASSIFIER_VERSION.to_owned(),
        classify_time: now,
    }
}

struct Answer {
    invitation: Invitation,
    answers: Answers,
    language: Option<String>,
    channel: Option<Channel>,
    recorder: Actor,
    key: Option<RequestKey>,
    prefix: &'static str,
}

/// Records `answer` and tries to open the follow-up it needs at once (the sweep retries).
async fn record(api: &Api, answer: Answer) -> Result<Response> {
    let now = now_micros();
    let invitation = &answer.invitation;
    let content = api
        .store
        .survey_content(invitation.survey_id, invitation.survey_version)
        .await?;
    let bad = check_answers(&content, &answer.answers, answer.prefix);
    if !bad.is_empty() {
        let mut v = FieldViolations::new();
        for (field, description) in bad {
            v.add(field, description);
        }
        return Err(Error::Invalid(v));
    }
    let comment = answer.answers.comment.clone();
    let classification = (!comment.is_empty()).then(|| rules_classification(&comment, now));
    let language = answer.language.unwrap_or_else(|| {
        if comment.is_empty() {
            invitation.language.clone()
        } else {
            detect_language(&comment).to_owned()
        }
    });
    let (answered_follow_up, previous_response) = if invitation.follow_up.is_empty() {
        (String::new(), String::new())
    } else {
        let previous = match invitation
            .follow_up
            .rsplit('/')
            .next()
            .and_then(|id| Uuid::parse_str(id).ok())
        {
            Some(id) => api
                .store
                .follow_up(id)
                .await
                .map(|f| f.source_feedback)
                .unwrap_or_default(),
            None => String::new(),
        };
        let previous = if previous.starts_with("responses/") {
            previous
        } else {
            String::new()
        };
        (invitation.follow_up.clone(), previous)
    };
    let response = Response {
        id: Uuid::now_v7(),
        invitation_id: invitation.id,
        survey_id: invitation.survey_id,
        customer: invitation.customer.clone(),
        ticket: invitation.ticket.clone(),
        csat: answer.answers.csat,
        nps: answer.answers.nps,
        ces: answer.answers.ces,
        comment: comment.clone(),
        language: language.clone(),
        channel: answer.channel.unwrap_or(invitation.channel),
        detractor: api.rules.is_detractor(&answer.answers),
        triggered_follow_up: String::new(),
        answered_follow_up,
        previous_response,
        region: invitation.region.clone(),
        team: invitation.team.clone(),
        agent: invitation.agent.clone(),
        recorder: answer.recorder.clone(),
        version: 1,
        create_time: now,
        update_time: now,
        classification,
    };
    let reasons = api.rules.reasons(
        &answer.answers,
        response.classification.as_ref().map(|c| &c.value),
    );
    let follow_up = (!reasons.is_empty()).then(|| PendingFollowUp {
        id: Uuid::now_v7(),
        source_feedback: response.name(),
        reasons,
        customer: response.customer.clone(),
        original_ticket: response.ticket.clone(),
        survey_id: response.survey_id.to_string(),
        channel: response.channel,
        region: response.region.clone(),
        team: response.team.clone(),
        agent: response.agent.clone(),
        language,
        summary: comment,
        due_time: api.rules.due_time(now),
        actor: Actor::system(),
        attempts: 0,
        create_time: now,
    });
    api.store
        .create_response(
            &NewResponse {
                response: response.clone(),
                follow_up: follow_up.clone(),
                key: answer.key,
            },
            now,
        )
        .await?;
    if follow_up.is_some()
        && let Some(pending) = api.store.pending_for(&response.name()).await?
    {
        api.tickets.open(&api.store, &pending).await?;
    }
    api.store.response(response.id).await
}

/// `CreateResponse`: staff (within their reach) or the customer the invitation is for.
pub async fn create(
    api: &Api,
    principal: &Principal,
    request: pb::CreateResponseRequest,
) -> Result<pb::CreateResponseResponse> {
    let mut v = FieldViolations::new();
    let message = request.response.clone().unwrap_or_default();
    if request.response.is_none() {
        v.add("response", "is required");
    }
    let name = invitation_name(&mut v, "response.invitation", &message.invitation);
    let answers = answers(
        &mut v,
        "response.",
        message.csat_score,
        message.nps_score,
        message.ces_score,
        &message.comment,
    );
    let language = language(&mut v, "response.language", &message.language);
    let channel = channel(&mut v, "response.channel", message.channel);
    let parent = message.invitation.clone();
    let key = request_key(
        &mut v,
        &principal.subject,
        "CreateResponse",
        &parent,
        &request.request_id,
        &message,
    );
    finish(v)?;
    let reach = write_reach(principal).ok_or(Error::PermissionDenied(
        "the caller may not record responses",
    ))?;
    let (survey, id) = name.unwrap_or_default();
    let invitation = visible(api, &reach, survey, id).await?;
    if let Some(existing) = api.store.replay(key.as_ref(), RESPONSE).await? {
        return Ok(pb::CreateResponseResponse {
            response: Some(convert::response(&replayed(api, &reach, &existing).await?)),
        });
    }
    let response = record(
        api,
        Answer {
            invitation,
            answers,
            language,
            channel,
            recorder: actor_of(principal),
            key,
            prefix: "response.",
        },
    )
    .await?;
    Ok(pb::CreateResponseResponse {
        response: Some(convert::response(&response)),
    })
}

async fn replayed(api: &Api, reach: &Reach, name: &str) -> Result<Response> {
    let id = name
        .rsplit('/')
        .next()
        .and_then(|id| Uuid::parse_str(id).ok())
        .unwrap_or_default();
    let response = api.store.response(id).await?;
    if !reach.covers(&response.region, &response.customer) {
        return Err(Error::not_found(RESPONSE, name));
    }
    Ok(response)
}

fn submitted(api: &Api, response: &Response, due: Option<i64>) -> pb::SubmitResponseResponse {
    let _ = api;
    pb::SubmitResponseResponse {
        response: response.name(),
        follow_up_opened: !response.triggered_follow_up.is_empty(),
        follow_up_due_time: due.map(to_timestamp),
    }
}

/// `SubmitResponse`: the token is the credential.
pub async fn submit(
    api: &Api,
    principal: Option<&Principal>,
    request: pb::SubmitResponseRequest,
) -> Result<pb::SubmitResponseResponse> {
    let mut v = FieldViolations::new();
    let answers = answers(
        &mut v,
        "",
        request.csat_score,
        request.nps_score,
        request.ces_score,
        &request.comment,
    );
    let language = language(&mut v, "language", &request.language);
    if request.token.is_empty() {
        v.add("token", "is required");
    }
    let subject = principal.map_or("anonymous", |p| p.subject.as_str());
    let mut fingerprinted = request.clone();
    fingerprinted.request_id.clear();
    let mut key = request_key(
        &mut v,
        subject,
        "SubmitResponse",
        "",
        &request.request_id,
        &fingerprinted,
    );
    finish(v)?;
    let (_, invitation) = by_token(api, &request.token).await?;
    if let Some(key) = key.as_mut() {
        key.parent = invitation.name();
    }
    if let Some(existing) = api.store.replay(key.as_ref(), RESPONSE).await? {
        let response = replayed(api, &Reach::All, &existing).await?;
        let due = follow_up_due(api, &response).await?;
        return Ok(submitted(api, &response, due));
    }
    match invitation.status_at(now_micros()) {
        InvitationStatus::Sent => {}
        InvitationStatus::Expired => {
            return Err(Error::Precondition {
                kind: "EXPIRED",
                subject: "token".into(),
                description: format!("the invitation {} has expired", invitation.name()),
            });
        }
        InvitationStatus::Answered => {
            return Err(Error::Precondition {
                kind: "ANSWERED",
                subject: "token".into(),
                description: format!("the invitation {} was already answered", invitation.name()),
            });
        }
        InvitationStatus::Pending => {
            return Err(Error::not_found(INVITATION, "token"));
        }
    }
    let recorder = Actor {
        kind: crate::domain::values::ActorKind::Customer.number(),
        id: invitation.customer.clone(),
        name: String::new(),
    };
    let response = record(
        api,
        Answer {
            invitation,
            answers,
            language,
            channel: None,
            recorder,
            key,
            prefix: "",
        },
    )
    .await?;
    let due = follow_up_due(api, &response).await?;
    Ok(submitted(api, &response, due))
}

async fn follow_up_due(api: &Api, response: &Response) -> Result<Option<i64>> {
    let Some(id) = response
        .triggered_follow_up
        .rsplit('/')
        .next()
        .and_then(|id| Uuid::parse_str(id).ok())
    else {
        return Ok(None);
    };
    Ok(Some(api.store.follow_up(id).await?.due_time))
}

/// `GetResponse`.
pub async fn get(
    api: &Api,
    principal: &Principal,
    request: pb::GetResponseRequest,
) -> Result<pb::GetResponseResponse> {
    let mut v = FieldViolations::new();
    let id = resource_id(&mut v, "name", &request.name, "responses");
    finish(v)?;
    let reach =
        read_reach(principal).ok_or(Error::PermissionDenied("the caller may not read feedback"))?;
    let response = replayed(
        api,
        &reach,
        &format!("responses/{}", id.unwrap_or_default()),
    )
    .await?;
    Ok(pb::GetResponseResponse {
        response: Some(convert::response(&response)),
    })
}

/// `ListResponses`.
pub async fn list(
    api: &Api,
    principal: &Principal,
    request: pb::ListResponsesRequest,
) -> Result<pb::ListResponsesResponse> {
    let mut v = FieldViolations::new();
    let page = page(
        &mut v,
        request.page_size,
        &request.page_token,
        &[&request.filter],
    );
    let mut filter = Where::new();
    if let Err(message) = filter.filter(&request.filter, RESPONSE_FIELDS) {
        v.add("filter", message);
    }
    finish(v)?;
    let reach =
        read_reach(principal).ok_or(Error::PermissionDenied("the caller may not read feedback"))?;
    filter.reach(&reach, "r.region", "r.customer");
    let after = page
        .after
        .as_ref()
        .and_then(|t| t.int_key().map(|k| (k, t.id.clone())));
    let mut responses = api
        .store
        .list_responses(filter, after, page.limit())
        .await?;
    let next = page.finish(&mut responses, |r| PageToken::int(r.create_time, r.id));
    Ok(pb::ListResponsesResponse {
        responses: responses.iter().map(convert::response).collect(),
        next_page_token: next,
    })
}

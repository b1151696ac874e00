//! Survey handlers.

use aftercare_platform::auth::Principal;
use aftercare_platform::request::{Etag, FieldViolations, PageToken, resource_id, update_paths};
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::feedback::v1 as pb;
use uuid::Uuid;

use super::parse::{page, request_key_of, survey_fields};
use super::{Api, actor_of};
use crate::convert;
use crate::domain::access::{may_manage_surveys, may_read_surveys};
use crate::domain::survey::Survey;
use crate::error::{Error, Result, SURVEY, finish};
use crate::store::SURVEY_FIELDS;
use crate::store::query::Where;

const UPDATABLE: &[&str] = &[
    "titles",
    "default_language",
    "questions",
    "trigger",
    "channel",
    "invitation_ttl",
    "send_delay",
    "customer_cooldown",
    "regions",
    "enabled",
    "ticket_kinds",
    "ticket_channels",
];

fn manage(principal: &Principal) -> Result<()> {
    if may_manage_surveys(principal) {
        Ok(())
    } else {
        Err(Error::PermissionDenied(
            "only leads, admins and integrations with feedback.write manage surveys",
        ))
    }
}

fn read(principal: &Principal) -> Result<()> {
    if may_read_surveys(principal) {
        Ok(())
    } else {
        Err(Error::PermissionDenied(
            "surveys are read by staff and integrations with feedback.read",
        ))
    }
}

/// `CreateSurvey`.
pub async fn create(
    api: &Api,
    principal: &Principal,
    request: pb::CreateSurveyRequest,
) -> Result<pb::CreateSurveyResponse> {
    let mut v = FieldViolations::new();
    let message = request.survey.clone().unwrap_or_default();
    if request.survey.is_none() {
        v.add("survey", "is required");
    }
    let fields = survey_fields(&mut v, "survey", &message);
    let key = request_key_of(
        &mut v,
        &principal.subject,
        "CreateSurvey",
        "",
        &request.request_id,
        &format!("{fields:?}"),
    );
    finish(v)?;
    manage(principal)?;
    if let Some(existing) = api.store.replay(key.as_ref(), SURVEY).await? {
        let id = existing
            .rsplit('/')
            .next()
            .and_then(|id| Uuid::parse_str(id).ok())
            .unwrap_or_default();
        return Ok(pb::CreateSurveyResponse {
            survey: Some(convert::survey(&api.store.survey(id).await?)),
        });
    }
    let Some(fields) = fields else {
        return Err(Error::invalid("survey", "is invalid"));
    };
    let now = now_micros();
    let survey = Survey {
        id: Uuid::now_v7(),
        version: 1,
        content: fields.content,
        trigger: fields.trigger,
        channel: fields.channel,
        send_delay: fields.send_delay,
        customer_cooldown: fields.customer_cooldown,
        regions: fields.regions,
        ticket_kinds: fields.ticket_kinds,
        ticket_channels: fields.ticket_channels,
        enabled: fields.enabled,
        creator: actor_of(principal),
        create_time: now,
        update_time: now,
    };
    api.store.create_survey(&survey, key.as_ref()).await?;
    tracing::info!(survey = %survey.id, "survey created");
    Ok(pb::CreateSurveyResponse {
        survey: Some(convert::survey(&survey)),
    })
}

/// `GetSurvey`.
pub async fn get(
    api: &Api,
    principal: &Principal,
    request: pb::GetSurveyRequest,
) -> Result<pb::GetSurveyResponse> {
    let mut v = FieldViolations::new();
    let id = resource_id(&mut v, "name", &request.name, "surveys");
    finish(v)?;
    read(principal)?;
    let survey = api.store.survey(id.unwrap_or_default()).await?;
    Ok(pb::GetSurveyResponse {
        survey: Some(convert::survey(&survey)),
    })
}

/// `ListSurveys`.
pub async fn list(
    api: &Api,
    principal: &Principal,
    request: pb::ListSurveysRequest,
) -> Result<pb::ListSurveysResponse> {
    let mut v = FieldViolations::new();
    let page = page(
        &mut v,
        request.page_size,
        &request.page_token,
        &[&request.filter],
    );
    let mut filter = Where::new();
    if let Err(message) = filter.filter(&request.filter, SURVEY_FIELDS) {
        v.add("filter", message);
    }
    finish(v)?;
    read(principal)?;
    let after = page
        .after
        .as_ref()
        .and_then(|t| t.int_key().map(|k| (k, t.id.clone())));
    let mut surveys = api.store.list_surveys(filter, after, page.limit()).await?;
    let next = page.finish(&mut surveys, |s| PageToken::int(s.create_time, s.id));
    Ok(pb::ListSurveysResponse {
        surveys: surveys.iter().map(convert::survey).collect(),
        next_page_token: next,
    })
}

/// `UpdateSurvey`: the masked fields of the message over the current survey, validated whole.
pub async fn update(
    api: &Api,
    principal: &Principal,
    request: pb::UpdateSurveyRequest,
) -> Result<pb::UpdateSurveyResponse> {
    let mut v = FieldViolations::new();
    let message = request.survey.clone().unwrap_or_default();
    let id = resource_id(&mut v, "survey.name", &message.name, "surveys");
    let expected = Etag::parse(&mut v, "survey.etag", &message.etag);
    let paths = update_paths(&mut v, request.update_mask.as_ref(), UPDATABLE);
    finish(v)?;
    manage(principal)?;
    let (id, expected) = (id.unwrap_or_default(), expected.unwrap_or(-1));
    let current = api.store.survey(id).await?;
    if current.version != expected {
        return Err(Error::StaleEtag(format!("surveys/{id}")));
    }
    let mut merged = convert::survey(&current);
    for path in &paths {
        match *path {
            "titles" => merged.titles = message.titles.clone(),
            "default_language" => merged.default_language = message.default_language.clone(),
            "questions" => merged.questions = message.questions.clone(),
            "trigger" => merged.trigger = message.trigger,
            "channel" => merged.channel = message.channel,
            "invitation_ttl" => merged.invitation_ttl = message.invitation_ttl,
            "send_delay" => merged.send_delay = message.send_delay,
            "customer_cooldown" => merged.customer_cooldown = message.customer_cooldown,
            "regions" => merged.regions = message.regions.clone(),
            "enabled" => merged.enabled = message.enabled,
            "ticket_kinds" => merged.ticket_kinds = message.ticket_kinds.clone(),
            "ticket_channels" => merged.ticket_channels = message.ticket_channels.clone(),
            _ => {}
        }
    }
    let mut v = FieldViolations::new();
    let fields = survey_fields(&mut v, "survey", &merged);
    finish(v)?;
    let Some(fields) = fields else {
        return Err(Error::invalid("survey", "is invalid"));
    };
    let survey = Survey {
        version: current.version + 1,
        content: fields.content,
        trigger: fields.trigger,
        channel: fields.channel,
        send_delay: fields.send_delay,
        customer_cooldown: fields.customer_cooldown,
        regions: fields.regions,
        ticket_kinds: fields.ticket_kinds,
        ticket_channels: fields.ticket_channels,
        enabled: fields.enabled,
        update_time: now_micros(),
        ..current
    };
    api.store.update_survey(&survey, expected).await?;
    Ok(pb::UpdateSurveyResponse {
        survey: Some(convert::survey(&survey)),
    })
}

/// `DeleteSurvey`.
pub async fn delete(
    api: &Api,
    principal: &Principal,
    request: pb::DeleteSurveyRequest,
) -> Result<pb::DeleteSurveyResponse> {
    let mut v = FieldViolations::new();
    let id = resource_id(&mut v, "name", &request.name, "surveys");
    let expected = Etag::parse(&mut v, "etag", &request.etag);
    finish(v)?;
    manage(principal)?;
    let id = id.unwrap_or_default();
    let current = api.store.survey(id).await?;
    if Some(current.version) != expected {
        return Err(Error::StaleEtag(format!("surveys/{id}")));
    }
    api.store.delete_survey(id, current.version).await?;
    Ok(pb::DeleteSurveyResponse {})
}

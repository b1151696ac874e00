//! Invitation handlers.

use aftercare_platform::auth::Principal;
use aftercare_platform::request::{FieldViolations, PageToken, resource_id};
use aftercare_platform::time::{now_micros, to_timestamp};
use aftercare_proto::aftercare::feedback::v1 as pb;
use uuid::Uuid;

use super::parse::{channel, invitation_name, language, optional_name, page, request_key, time};
use super::{Api, actor_of};
use crate::convert;
use crate::domain::access::{Reach, may_invite, may_see_tokens, read_reach};
use crate::domain::invite::{NewInvitation, Token, invitation_language, new_invitation};
use crate::domain::records::Invitation;
use crate::domain::survey::DAY;
use crate::domain::values::Channel;
use crate::error::{Error, INVITATION, Result, finish};
use crate::store::INVITATION_FIELDS;
use crate::store::query::{Bind, Where};

fn reach(principal: &Principal) -> Result<Reach> {
    read_reach(principal).ok_or(Error::PermissionDenied("the caller may not read feedback"))
}

/// The invitation `id` if the caller may see it; `NOT_FOUND` otherwise.
pub async fn visible(
    api: &Api,
    reach: &Reach,
    survey: Option<Uuid>,
    id: Uuid,
) -> Result<Invitation> {
    let invitation = api.store.invitation(id).await?;
    let name = format!(
        "surveys/{}/invitations/{id}",
        survey.map_or("-".to_owned(), |s| s.to_string())
    );
    if survey.is_some_and(|s| s != invitation.survey_id)
        || !reach.covers(&invitation.region, &invitation.customer)
    {
        return Err(Error::not_found(INVITATION, name));
    }
    Ok(invitation)
}

/// `CreateInvitation`.
pub async fn create(
    api: &Api,
    principal: &Principal,
    request: pb::CreateInvitationRequest,
) -> Result<pb::CreateInvitationResponse> {
    let mut v = FieldViolations::new();
    let survey_id = resource_id(&mut v, "parent", &request.parent, "surveys");
    let message = request.invitation.clone().unwrap_or_default();
    if request.invitation.is_none() {
        v.add("invitation", "is required");
    }
    let customer = if message.customer.is_empty() {
        v.add("invitation.customer", "is required");
        None
    } else {
        optional_name(
            &mut v,
            "invitation.customer",
            &message.customer,
            "customers",
        )
    };
    let ticket = optional_name(&mut v, "invitation.ticket", &message.ticket, "tickets");
    let chosen_channel = channel(&mut v, "invitation.channel", message.channel);
    let wanted_language = language(&mut v, "invitation.language", &message.language);
    let now = now_micros();
    let schedule = time(
        &mut v,
        "invitation.schedule_time",
        message.schedule_time.as_ref(),
    );
    if schedule.is_some_and(|s| s > now + 30 * DAY) {
        v.add("invitation.schedule_time", "must be at most 30 days ahead");
    }
    let key = request_key(
        &mut v,
        &principal.subject,
        "CreateInvitation",
        &request.parent,
        &request.request_id,
        &message,
    );
    finish(v)?;
    if !may_invite(principal) {
        return Err(Error::PermissionDenied(
            "the caller may not invite customers",
        ));
    }
    let survey_id = survey_id.unwrap_or_default();
    if let Some(existing) = api.store.replay(key.as_ref(), INVITATION).await? {
        let id = existing
            .rsplit('/')
            .next()
            .and_then(|id| Uuid::parse_str(id).ok())
            .unwrap_or_default();
        let invitation = visible(api, &reach(principal)?, Some(survey_id), id).await?;
        return Ok(pb::CreateInvitationResponse {
            invitation: Some(convert::invitation(&invitation, now, None, &api.portal)),
        });
    }
    let survey = api.store.survey(survey_id).await?;
    if !survey.enabled {
        return Err(Error::state(
            format!("surveys/{survey_id}"),
            "the survey is disabled",
        ));
    }
    let channel = chosen_channel.or(survey.channel).unwrap_or(Channel::Email);
    let customer = customer.unwrap_or_default();
    let locale = api.store.customer_locale(&customer).await?;
    let language = invitation_language(
        &survey,
        wanted_language.as_deref().unwrap_or(&locale),
        &[&locale],
    );
    let region = match principal.region.as_deref() {
        Some(r) if !principal.sees_all_regions() => r.to_owned(),
        _ => String::new(),
    };
    let token = Token::generate();
    let invitation = new_invitation(
        &survey,
        NewInvitation {
            customer,
            ticket: ticket.unwrap_or_default(),
            channel,
            language,
            follow_up: String::new(),
            schedule_time: schedule.unwrap_or(now).max(now),
            region,
            team: String::new(),
            agent: String::new(),
            creator: actor_of(principal),
        },
        now,
    );
    api.store
        .create_invitation(&invitation, &token.hash(), key.as_ref())
        .await?;
    let token = may_see_tokens(principal).then_some(token.as_str());
    Ok(pb::CreateInvitationResponse {
        invitation: Some(convert::invitation(&invitation, now, token, &api.portal)),
    })
}

/// `GetInvitation`.
pub async fn get(
    api: &Api,
    principal: &Principal,
    request: pb::GetInvitationRequest,
) -> Result<pb::GetInvitationResponse> {
    let mut v = FieldViolations::new();
    let name = invitation_name(&mut v, "name", &request.name);
    finish(v)?;
    let reach = reach(principal)?;
    let (survey, id) = name.unwrap_or_default();
    let invitation = visible(api, &reach, survey, id).await?;
    Ok(pb::GetInvitationResponse {
        invitation: Some(convert::invitation(
            &invitation,
            now_micros(),
            None,
            &api.portal,
        )),
    })
}

/// `ListInvitations`.
pub async fn list(
    api: &Api,
    principal: &Principal,
    request: pb::ListInvitationsRequest,
) -> Result<pb::ListInvitationsResponse> {
    let mut v = FieldViolations::new();
    let survey = if request.parent == "surveys/-" {
        None
    } else {
        resource_id(&mut v, "parent", &request.parent, "surveys")
    };
    let page = page(
        &mut v,
        request.page_size,
        &request.page_token,
        &[&request.parent, &request.filter],
    );
    let mut filter = Where::new();
    if let Err(message) = filter.filter(&request.filter, INVITATION_FIELDS) {
        v.add("filter", message);
    }
    finish(v)?;
    let reach = reach(principal)?;
    if let Some(survey) = survey {
        let p = filter.bind(Bind::Text(survey.to_string()));
        filter.push(format!("survey_id = {p}"));
    }
    filter.reach(&reach, "region", "customer");
    let after = page
        .after
        .as_ref()
        .and_then(|t| t.int_key().map(|k| (k, t.id.clone())));
    let mut invitations = api
        .store
        .list_invitations(filter, after, page.limit())
        .await?;
    let next = page.finish(&mut invitations, |i| PageToken::int(i.create_time, i.id));
    let now = now_micros();
    Ok(pb::ListInvitationsResponse {
        invitations: invitations
            .iter()
            .map(|i| convert::invitation(i, now, None, &api.portal))
            .collect(),
        next_page_token: next,
    })
}

/// The invitation a token belongs to; `NOT_FOUND` (naming no invitation) for an unknown or
/// malformed token.
pub async fn by_token(api: &Api, token: &str) -> Result<(Token, Invitation)> {
    if token.is_empty() {
        return Err(Error::invalid("token", "is required"));
    }
    let unknown = || Error::not_found(INVITATION, "token");
    let token = Token::parse(token).ok_or_else(unknown)?;
    let invitation = api
        .store
        .invitation_by_token(&token.hash())
        .await?
        .ok_or_else(unknown)?;
    Ok((token, invitation))
}

/// `LookupInvitation`: no login needed.
pub async fn lookup(
    api: &Api,
    _principal: Option<&Principal>,
    request: pb::LookupInvitationRequest,
) -> Result<pb::LookupInvitationResponse> {
    let (_, invitation) = by_token(api, &request.token).await?;
    let content = api
        .store
        .survey_content(invitation.survey_id, invitation.survey_version)
        .await?;
    Ok(pb::LookupInvitationResponse {
        invitation: invitation.name(),
        status: invitation.status_at(now_micros()).number(),
        language: invitation.language.clone(),
        expire_time: invitation.expire_time.map(to_timestamp),
        survey: Some(convert::public_survey(invitation.survey_id, &content)),
    })
}

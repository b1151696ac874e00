//! Follow-up handlers.

use aftercare_platform::auth::Principal;
use aftercare_platform::request::{
    Etag, FieldViolations, PageToken, optional_text, resource_id, update_paths,
};
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::feedback::v1 as pb;
use uuid::Uuid;

use super::parse::{channel, feedback_enum, optional_name, page, time};
use super::{Api, actor_of};
use crate::convert;
use crate::domain::access::{Reach, read_reach, write_reach};
use crate::domain::follow_up::{
    FollowUpState, close as close_rule, outcome_allows_resurvey, record_contact,
};
use crate::domain::invite::{Delivery, NewInvitation, Token, invitation_language, new_invitation};
use crate::domain::records::FollowUp;
use crate::domain::values::{Channel, Outcome};
use crate::error::{Error, FOLLOW_UP, Result, finish};
use crate::store::query::Where;
use crate::store::{Closing, FOLLOW_UP_FIELDS};

fn staff(reach: Option<Reach>) -> Result<Reach> {
    reach
        .filter(|r| !matches!(r, Reach::Customer(_)))
        .ok_or(Error::PermissionDenied("follow-ups are handled by staff"))
}

async fn visible(api: &Api, reach: &Reach, id: Uuid) -> Result<FollowUp> {
    let f = api.store.follow_up(id).await?;
    if !reach.covers(&f.region, &f.customer) {
        return Err(Error::not_found(FOLLOW_UP, f.name()));
    }
    Ok(f)
}

fn state(f: &FollowUp) -> FollowUpState {
    FollowUpState {
        status: f.status,
        original_due_time: f.original_due_time,
        create_time: f.create_time,
        contact_time: f.contact_time,
        overdue: f.overdue,
    }
}

fn append_note(notes: &str, note: &str) -> Result<String> {
    let joined = match (notes.is_empty(), note.is_empty()) {
        (_, true) => notes.to_owned(),
        (true, false) => note.to_owned(),
        (false, false) => format!("{notes}\n{note}"),
    };
    if joined.chars().count() > 5000 {
        return Err(Error::invalid(
            "note",
            "the notes would be longer than 5000 characters",
        ));
    }
    Ok(joined)
}

/// `GetFollowUp`.
pub async fn get(
    api: &Api,
    principal: &Principal,
    request: pb::GetFollowUpRequest,
) -> Result<pb::GetFollowUpResponse> {
    let mut v = FieldViolations::new();
    let id = resource_id(&mut v, "name", &request.name, "followUps");
    finish(v)?;
    let reach = staff(read_reach(principal))?;
    let f = visible(api, &reach, id.unwrap_or_default()).await?;
    Ok(pb::GetFollowUpResponse {
        follow_up: Some(convert::follow_up(&f)),
    })
}

/// `ListFollowUps`.
pub async fn list(
    api: &Api,
    principal: &Principal,
    request: pb::ListFollowUpsRequest,
) -> Result<pb::ListFollowUpsResponse> {
    let mut v = FieldViolations::new();
    let page = page(
        &mut v,
        request.page_size,
        &request.page_token,
        &[&request.filter],
    );
    let mut filter = Where::new();
    if let Err(message) = filter.filter(&request.filter, FOLLOW_UP_FIELDS) {
        v.add("filter", message);
    }
    finish(v)?;
    let reach = staff(read_reach(principal))?;
    filter.reach(&reach, "region", "customer");
    let after = page
        .after
        .as_ref()
        .and_then(|t| t.int_key().map(|k| (k, t.id.clone())));
    let mut follow_ups = api
        .store
        .list_follow_ups(filter, after, page.limit())
        .await?;
    let next = page.finish(&mut follow_ups, |f| PageToken::int(f.create_time, f.id));
    Ok(pb::ListFollowUpsResponse {
        follow_ups: follow_ups.iter().map(convert::follow_up).collect(),
        next_page_token: next,
    })
}

/// `UpdateFollowUp`: assignee, due time, notes.
pub async fn update(
    api: &Api,
    principal: &Principal,
    request: pb::UpdateFollowUpRequest,
) -> Result<pb::UpdateFollowUpResponse> {
    let mut v = FieldViolations::new();
    let message = request.follow_up.clone().unwrap_or_default();
    let id = resource_id(&mut v, "follow_up.name", &message.name, "followUps");
    let expected = Etag::parse(&mut v, "follow_up.etag", &message.etag);
    let paths = update_paths(
        &mut v,
        request.update_mask.as_ref(),
        &["assignee", "due_time", "notes"],
    );
    let assignee = optional_name(&mut v, "follow_up.assignee", &message.assignee, "agents");
    let due = time(&mut v, "follow_up.due_time", message.due_time.as_ref());
    if paths.contains(&"due_time") && due.is_none() && message.due_time.is_none() {
        v.add(
            "follow_up.due_time",
            "is required when named in update_mask",
        );
    }
    let notes = optional_text(&mut v, "follow_up.notes", &message.notes, 5000).unwrap_or_default();
    finish(v)?;
    let reach = staff(write_reach(principal))?;
    let mut f = visible(api, &reach, id.unwrap_or_default()).await?;
    if Some(f.version) != expected {
        return Err(Error::StaleEtag(f.name()));
    }
    if paths.contains(&"due_time") && due.is_some_and(|d| d <= f.create_time) {
        return Err(Error::invalid(
            "follow_up.due_time",
            "must be after the follow-up was opened",
        ));
    }
    for path in &paths {
        match *path {
            "assignee" => f.assignee = assignee.clone().unwrap_or_default(),
            "due_time" => f.due_time = due.unwrap_or(f.due_time),
            "notes" => f.notes = notes.clone(),
            _ => {}
        }
    }
    let expected = f.version;
    f.version += 1;
    f.update_time = now_micros();
    api.store.save_follow_up(&f, expected).await?;
    Ok(pb::UpdateFollowUpResponse {
        follow_up: Some(convert::follow_up(&f)),
    })
}

/// `RecordFollowUpContact`.
pub async fn contact(
    api: &Api,
    principal: &Principal,
    request: pb::RecordFollowUpContactRequest,
) -> Result<pb::RecordFollowUpContactResponse> {
    let mut v = FieldViolations::new();
    let id = resource_id(&mut v, "name", &request.name, "followUps");
    let expected = Etag::parse(&mut v, "etag", &request.etag);
    let contact_channel = channel(&mut v, "channel", request.channel);
    if request.channel == 0 {
        v.add("channel", "is required");
    }
    let now = now_micros();
    let at = time(&mut v, "contact_time", request.contact_time.as_ref());
    if at.is_some_and(|t| t > now + 60_000_000) {
        v.add("contact_time", "must not be in the future");
    }
    let note = optional_text(&mut v, "note", &request.note, 5000).unwrap_or_default();
    finish(v)?;
    let reach = staff(write_reach(principal))?;
    let mut f = visible(api, &reach, id.unwrap_or_default()).await?;
    if Some(f.version) != expected {
        return Err(Error::StaleEtag(f.name()));
    }
    let at = at.unwrap_or(now);
    let (status, on_time, first) = record_contact(&state(&f), at).map_err(|refused| {
        if refused.0.starts_with("contact_time") {
            Error::invalid(
                "contact_time",
                "must not be before the follow-up was opened",
            )
        } else {
            Error::state(f.name(), refused.0)
        }
    })?;
    if f.contact_time.is_none() {
        f.contact_channel = contact_channel;
    }
    f.status = status;
    f.on_time = on_time;
    f.contact_time = Some(first);
    f.overdue = f.overdue || !on_time;
    f.notes = append_note(&f.notes, &note)?;
    let expected = f.version;
    f.version += 1;
    f.update_time = now;
    api.store.save_follow_up(&f, expected).await?;
    Ok(pb::RecordFollowUpContactResponse {
        follow_up: Some(convert::follow_up(&f)),
    })
}

/// `CloseFollowUp`: closes it and, when asked and allowed, invites the customer again.
pub async fn close(
    api: &Api,
    principal: &Principal,
    request: pb::CloseFollowUpRequest,
) -> Result<pb::CloseFollowUpResponse> {
    let mut v = FieldViolations::new();
    let id = resource_id(&mut v, "name", &request.name, "followUps");
    let expected = Etag::parse(&mut v, "etag", &request.etag);
    let outcome = aftercare_platform::request::required_enum::<pb::FollowUpOutcome>(
        &mut v,
        "outcome",
        request.outcome,
    )
    .and_then(|o| Outcome::from_number(i64::from(o as i32)));
    let note = optional_text(&mut v, "note", &request.note, 5000).unwrap_or_default();
    let resurvey_survey = if request.resurvey_survey.is_empty() {
        None
    } else {
        resource_id(
            &mut v,
            "resurvey_survey",
            &request.resurvey_survey,
            "surveys",
        )
    };
    let _ = feedback_enum::<pb::FollowUpOutcome>;
    finish(v)?;
    let reach = staff(write_reach(principal))?;
    let mut f = visible(api, &reach, id.unwrap_or_default()).await?;
    if Some(f.version) != expected {
        return Err(Error::StaleEtag(f.name()));
    }
    let status = close_rule(&state(&f)).map_err(|refused| Error::state(f.name(), refused.0))?;
    let outcome = outcome.unwrap_or(Outcome::Resolved);
    let now = now_micros();
    let mut resurvey = None;
    if request.resurvey && outcome_allows_resurvey(outcome) && !f.customer.is_empty() {
        let survey_id = match resurvey_survey {
            Some(id) => Some(id),
            None => Uuid::parse_str(&f.survey_id).ok(),
        };
        let Some(survey_id) = survey_id else {
            return Err(Error::invalid(
                "resurvey_survey",
                "is required for a follow-up of a feedback item",
            ));
        };
        let survey = api.store.survey(survey_id).await.map_err(|e| match e {
            Error::NotFound { .. } => Error::invalid("resurvey_survey", "names no survey"),
            other => other,
        })?;
        let invitation = new_invitation(
            &survey,
            NewInvitation {
                customer: f.customer.clone(),
                ticket: f.original_ticket.clone(),
                channel: survey.channel.unwrap_or(if f.channel == Channel::Api {
                    Channel::Email
                } else {
                    f.channel
                }),
                language: invitation_language(
                    &survey,
                    &api.store.customer_locale(&f.customer).await?,
                    &[],
                ),
                follow_up: f.name(),
                schedule_time: now,
                region: f.region.clone(),
                team: f.team.clone(),
                agent: f.agent.clone(),
                creator: actor_of(principal),
            },
            now,
        );
        f.resurvey_invitation = invitation.name();
        let token = Token::generate();
        let delivery = Delivery::of(&survey, &invitation, &token, &api.portal);
        resurvey = Some((invitation, token.hash(), delivery));
    }
    f.status = status;
    f.outcome = Some(outcome);
    f.notes = append_note(&f.notes, &note)?;
    f.closer = Some(actor_of(principal));
    f.close_time = Some(now);
    let expected = f.version;
    f.version += 1;
    f.update_time = now;
    match api
        .store
        .close_follow_up(
            &Closing {
                follow_up: f.clone(),
                resurvey,
                note,
            },
            expected,
        )
        .await
    {
        Ok(()) => {}
        Err(Error::Precondition {
            kind: "CONSENT", ..
        }) => {}
        Err(other) => return Err(other),
    }
    Ok(pb::CloseFollowUpResponse {
        follow_up: Some(convert::follow_up(&f)),
    })
}

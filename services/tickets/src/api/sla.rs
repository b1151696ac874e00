//! `SlaService`: SLA policies and business calendars. Reading is open to staff (and other
//! services); writing needs the admin role (`domain/access.rs` decides).

use aftercare_platform::auth::Principal;
use aftercare_platform::db::Database;
use aftercare_platform::error::FieldViolations;
use aftercare_platform::request::resource_id;
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::tickets::v1 as pb;
use tonic::{Request, Response};

use super::parse::{
    CalendarPatch, Create, Delete, ListBusinessCalendars, ListSlaPolicies, Named, PolicyPatch,
    Update,
};
use super::{Api, Reply};
use crate::convert;
use crate::domain::{Access, Action, CalendarResource, PageToken, SlaPolicy};
use crate::error::{Error, Result};
use crate::store::{self, CalendarCreated};

const POLICY: &str = "aftercare.tickets.v1.SlaPolicy";
const CALENDAR: &str = "aftercare.tickets.v1.BusinessCalendar";

/// `PERMISSION_DENIED` unless `principal` may do `action` ([`Action::ReadSla`] or
/// [`Action::ChangeSla`]) to SLA policies and calendars.
fn authorise(principal: &Principal, action: Action) -> Result<()> {
    if Access::of(principal, action).is_none() {
        return Err(Error::PermissionDenied(if action == Action::ChangeSla {
            "only admins change SLA policies and calendars".into()
        } else {
            "only staff read SLA policies and calendars".into()
        }));
    }
    Ok(())
}

/// The request's command, once its caller may do `action` to SLA policies and calendars.
fn parse<T, C>(api: &Api, request: Request<T>, action: Action) -> Result<C>
where
    C: TryFrom<T, Error = Error>,
{
    let principal = api.principal(&request)?;
    let command = C::try_from(request.into_inner())?;
    authorise(&principal, action)?;
    Ok(command)
}

/// The resource `target` names (`found`, of `resource_type`), at the version its etag
/// names (`version` gives the resource's).
fn at_version<T>(
    found: Option<T>,
    resource_type: &'static str,
    target: &Named,
    etag: i64,
    version: impl Fn(&T) -> i64,
) -> Result<T> {
    let found = found.ok_or_else(|| Error::NotFound {
        resource_type,
        name: target.name.clone(),
    })?;
    if version(&found) != etag {
        return Err(Error::StaleEtag(target.name.clone()));
    }
    Ok(found)
}

/// The policy `target` names at the version its etag names.
async fn policy(db: &Database, target: &Named, etag: i64) -> Result<SlaPolicy> {
    let found = store::get_policy(db, target.id).await?;
    at_version(found, POLICY, target, etag, |p| p.version)
}

/// The calendar `target` names at the version its etag names.
async fn calendar(db: &Database, target: &Named, etag: i64) -> Result<CalendarResource> {
    let found = store::get_calendar(db, target.id).await?;
    at_version(found, CALENDAR, target, etag, |c| c.version)
}

/// `INVALID_ARGUMENT` unless the calendar the policy names exists.
async fn check_calendar_exists(db: &Database, policy: &SlaPolicy) -> Result<()> {
    if let Some(name) = &policy.business_calendar {
        let id = resource_id(&mut FieldViolations::new(), "", name, "businessCalendars");
        let found = match id {
            Some(id) => store::get_calendar(db, id).await?.is_some(),
            None => false,
        };
        if !found {
            return Err(Error::invalid(
                "sla_policy.business_calendar",
                "names no calendar",
            ));
        }
    }
    Ok(())
}

/// The region and service centre already have a calendar (`name`).
fn calendar_taken(name: String) -> Error {
    Error::AlreadyExists {
        resource_type: CALENDAR,
        name,
        description: "the region and service centre already have a calendar".into(),
    }
}

#[tracing::instrument(skip_all)]
pub(super) async fn create_sla_policy(
    api: &Api,
    request: Request<pb::CreateSlaPolicyRequest>,
) -> Reply<pb::CreateSlaPolicyResponse> {
    let Create {
        resource: policy,
        request_id,
    } = parse(api, request, Action::ChangeSla)?;
    check_calendar_exists(&api.db, &policy).await?;
    let policy = store::create_policy(&api.db, &policy, request_id.as_deref()).await?;
    Ok(Response::new((&policy).into()))
}

#[tracing::instrument(skip_all, fields(policy = %request.get_ref().name))]
pub(super) async fn get_sla_policy(
    api: &Api,
    request: Request<pb::GetSlaPolicyRequest>,
) -> Reply<pb::GetSlaPolicyResponse> {
    let Named { id, name } = parse(api, request, Action::ReadSla)?;
    let policy = store::get_policy(&api.db, id)
        .await?
        .ok_or(Error::NotFound {
            resource_type: POLICY,
            name,
        })?;
    Ok(Response::new((&policy).into()))
}

#[tracing::instrument(skip_all, fields(filter = %request.get_ref().filter))]
pub(super) async fn list_sla_policies(
    api: &Api,
    request: Request<pb::ListSlaPoliciesRequest>,
) -> Reply<pb::ListSlaPoliciesResponse> {
    let list: ListSlaPolicies = parse(api, request, Action::ReadSla)?;
    let mut policies: Vec<SlaPolicy> = store::all_policies(&api.db)
        .await?
        .into_iter()
        .filter(|p| list.selects(p))
        .take(list.page.size as usize + 1)
        .collect();
    let next_page_token = list.page.finish(&mut policies, |p| {
        PageToken::int(i64::from(p.rank), p.id.to_string())
    });
    Ok(Response::new(convert::sla_policy_page(
        &policies,
        next_page_token,
    )))
}

#[tracing::instrument(skip_all)]
pub(super) async fn update_sla_policy(
    api: &Api,
    request: Request<pb::UpdateSlaPolicyRequest>,
) -> Reply<pb::UpdateSlaPolicyResponse> {
    let Update::<PolicyPatch> {
        target,
        etag,
        patch,
    } = parse(api, request, Action::ChangeSla)?;
    let mut policy = policy(&api.db, &target, etag).await?;
    patch.apply(&mut policy)?;
    check_calendar_exists(&api.db, &policy).await?;
    policy.update_time = now_micros();
    let policy = store::update_policy(&api.db, policy).await?;
    Ok(Response::new((&policy).into()))
}

#[tracing::instrument(skip_all, fields(policy = %request.get_ref().name))]
pub(super) async fn delete_sla_policy(
    api: &Api,
    request: Request<pb::DeleteSlaPolicyRequest>,
) -> Reply<pb::DeleteSlaPolicyResponse> {
    let Delete { target, etag } = parse(api, request, Action::ChangeSla)?;
    policy(&api.db, &target, etag).await?;
    if !store::delete_policy(&api.db, target.id, etag).await? {
        return Err(Error::StaleEtag(target.name).into());
    }
    Ok(Response::new(convert::sla_policy_deleted()))
}

#[tracing::instrument(skip_all)]
pub(super) async fn create_business_calendar(
    api: &Api,
    request: Request<pb::CreateBusinessCalendarRequest>,
) -> Reply<pb::CreateBusinessCalendarResponse> {
    let Create {
        resource: calendar,
        request_id,
    } = parse(api, request, Action::ChangeSla)?;
    match store::create_calendar(&api.db, &calendar, request_id.as_deref()).await? {
        CalendarCreated::Made(calendar) => Ok(Response::new((&calendar).into())),
        CalendarCreated::Taken => Err(calendar_taken(format!(
            "{}/{}",
            calendar.region,
            calendar
                .service_centre
                .map(String::from)
                .unwrap_or_default()
        ))
        .into()),
    }
}

#[tracing::instrument(skip_all, fields(calendar = %request.get_ref().name))]
pub(super) async fn get_business_calendar(
    api: &Api,
    request: Request<pb::GetBusinessCalendarRequest>,
) -> Reply<pb::GetBusinessCalendarResponse> {
    let Named { id, name } = parse(api, request, Action::ReadSla)?;
    let calendar = store::get_calendar(&api.db, id)
        .await?
        .ok_or(Error::NotFound {
            resource_type: CALENDAR,
            name,
        })?;
    Ok(Response::new((&calendar).into()))
}

#[tracing::instrument(skip_all, fields(filter = %request.get_ref().filter))]
pub(super) async fn list_business_calendars(
    api: &Api,
    request: Request<pb::ListBusinessCalendarsRequest>,
) -> Reply<pb::ListBusinessCalendarsResponse> {
    let ListBusinessCalendars { page, equals } = parse(api, request, Action::ReadSla)?;
    let mut calendars =
        store::list_calendars(&api.db, &equals, page.after.as_ref(), page.size).await?;
    let next_page_token = page.finish(&mut calendars, |c| PageToken::int(0, c.id.to_string()));
    Ok(Response::new(convert::business_calendar_page(
        &calendars,
        next_page_token,
    )))
}

#[tracing::instrument(skip_all)]
pub(super) async fn update_business_calendar(
    api: &Api,
    request: Request<pb::UpdateBusinessCalendarRequest>,
) -> Reply<pb::UpdateBusinessCalendarResponse> {
    let Update::<CalendarPatch> {
        target,
        etag,
        patch,
    } = parse(api, request, Action::ChangeSla)?;
    let mut calendar = calendar(&api.db, &target, etag).await?;
    patch.apply(&mut calendar);
    calendar.update_time = now_micros();
    let name = calendar.name();
    let calendar = store::update_calendar(&api.db, calendar)
        .await?
        .ok_or_else(|| calendar_taken(name))?;
    Ok(Response::new((&calendar).into()))
}

#[tracing::instrument(skip_all, fields(calendar = %request.get_ref().name))]
pub(super) async fn delete_business_calendar(
    api: &Api,
    request: Request<pb::DeleteBusinessCalendarRequest>,
) -> Reply<pb::DeleteBusinessCalendarResponse> {
    let Delete { target, etag } = parse(api, request, Action::ChangeSla)?;
    calendar(&api.db, &target, etag).await?;
    if store::calendar_in_use(&api.db, &target.name).await? {
        return Err(Error::FailedPrecondition {
            violation: "IN_USE",
            subject: target.name,
            description: "an SLA policy names this calendar".into(),
        }
        .into());
    }
    if !store::delete_calendar(&api.db, target.id, etag).await? {
        return Err(Error::StaleEtag(target.name).into());
    }
    Ok(Response::new(convert::business_calendar_deleted()))
}

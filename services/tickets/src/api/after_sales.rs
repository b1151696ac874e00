//! `AfterSalesService`: after-sales cases of tickets. Customers open, read and confirm the
//! cases of their own tickets; review, arrangement, completion and cancellation need staff.

use aftercare_platform::auth::Principal;
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::tickets::v1 as pb;
use tonic::{Request, Response};
use uuid::Uuid;

use super::parse::{CaseName, CaseStep, CreateAfterSalesCase, ListAfterSalesCases};
use super::{Api, Reply};
use crate::convert;
use crate::domain::{
    Access, Action, Actor, AfterSalesCase, Arrangement, Completion, Confirmation, DomainError,
    IdempotencyKey, PageToken, ReviewDraft, StepKind, Ticket, actor_of,
};
use crate::error::{Error, Result};
use crate::store::{self, CaseCreated};

const CASE: &str = "aftercare.tickets.v1.AfterSalesCase";

impl Api {
    /// The case, if its ticket is within what `principal` may reach for `action`.
    async fn case(
        &self,
        principal: &Principal,
        action: Action,
        name: &CaseName,
    ) -> Result<(Ticket, AfterSalesCase)> {
        let access = Api::access(principal, action)?;
        let ticket = self.visible(&access, name.ticket).await?;
        let case = store::get_case(&self.db, ticket.id, name.id)
            .await?
            .ok_or_else(|| Error::NotFound {
                resource_type: CASE,
                name: name.name.clone(),
            })?;
        Ok((ticket, case))
    }

    /// The case a replayed CreateAfterSalesCase made, on `ticket` (already checked to be
    /// visible to the caller).
    async fn replayed_case(&self, ticket: &Ticket, id: &str) -> Result<AfterSalesCase> {
        let id =
            Uuid::parse_str(id).map_err(|_| Error::Corrupt(format!("request id names {id}")))?;
        store::get_case(&self.db, ticket.id, id)
            .await?
            .ok_or_else(|| Error::NotFound {
                resource_type: CASE,
                name: format!("{}/afterSalesCases/{id}", ticket.name()),
            })
    }

    /// One step of a case's flow: parses the request, loads the case for `action`, applies
    /// `apply` (with the etag's version, the step's input, the actor and the time) and
    /// saves it.
    async fn step<R, T>(
        &self,
        request: Request<R>,
        action: Action,
        apply: impl FnOnce(&mut AfterSalesCase, i64, T, Actor, i64) -> Result<(), DomainError>,
    ) -> Result<AfterSalesCase>
    where
        CaseStep<T>: TryFrom<R, Error = Error>,
    {
        let principal = self.principal(&request)?;
        let step = CaseStep::<T>::try_from(request.into_inner())?;
        let (ticket, mut case) = self.case(&principal, action, &step.case).await?;
        let previous = case.state;
        let actor = actor_of(&principal);
        apply(
            &mut case,
            step.etag,
            step.input,
            actor.clone(),
            now_micros(),
        )
        .map_err(|e| Error::from_domain(e, &step.case.name))?;
        let kind = case.steps.last().map_or(StepKind::Application, |s| s.kind);
        let case = store::save_case(&self.db, case, &ticket, previous, kind, &actor).await?;
        self.relay.wake();
        Ok(case)
    }
}

#[tracing::instrument(skip_all, fields(ticket = %request.get_ref().parent))]
pub(super) async fn create_after_sales_case(
    api: &Api,
    request: Request<pb::CreateAfterSalesCaseRequest>,
) -> Reply<pb::CreateAfterSalesCaseResponse> {
    let principal = api.principal(&request)?;
    let command = CreateAfterSalesCase::try_from(request.into_inner())?;
    let access = Api::access(&principal, Action::Reply)?;
    let ticket = api.visible(&access, command.ticket).await?;
    let key = IdempotencyKey::of(
        command.request_id.as_ref(),
        &principal.subject,
        "CreateAfterSalesCase",
        &ticket.name(),
    );
    if let Some(earlier) = api.replayed(key.as_ref(), CASE).await? {
        let case = api.replayed_case(&ticket, &earlier).await?;
        return Ok(Response::new((&case).into()));
    }
    let actor = actor_of(&principal);
    let case = AfterSalesCase::apply(&ticket, command.application, actor.clone(), now_micros())
        .map_err(|e| Error::from_domain(e, &ticket.name()))?;
    let case = match store::create_case(&api.db, &case, &ticket, key.as_ref(), &actor).await? {
        CaseCreated::New(case) => {
            api.relay.wake();
            *case
        }
        CaseCreated::KeyTaken => {
            let earlier = api
                .replayed(key.as_ref(), CASE)
                .await?
                .ok_or(Error::KeyTaken)?;
            api.replayed_case(&ticket, &earlier).await?
        }
        CaseCreated::Full => {
            return Err(Error::FailedPrecondition {
                violation: "CASE_LIMIT",
                subject: ticket.name(),
                description: "a ticket has at most 20 after-sales cases".into(),
            }
            .into());
        }
    };
    Ok(Response::new((&case).into()))
}

#[tracing::instrument(skip_all, fields(case = %request.get_ref().name))]
pub(super) async fn get_after_sales_case(
    api: &Api,
    request: Request<pb::GetAfterSalesCaseRequest>,
) -> Reply<pb::GetAfterSalesCaseResponse> {
    let principal = api.principal(&request)?;
    let name = CaseName::try_from(request.into_inner())?;
    let (_, case) = api.case(&principal, Action::Read, &name).await?;
    Ok(Response::new((&case).into()))
}

#[tracing::instrument(skip_all, fields(ticket = %request.get_ref().parent))]
pub(super) async fn list_after_sales_cases(
    api: &Api,
    request: Request<pb::ListAfterSalesCasesRequest>,
) -> Reply<pb::ListAfterSalesCasesResponse> {
    let principal = api.principal(&request)?;
    let ListAfterSalesCases {
        ticket,
        page,
        conditions,
    } = ListAfterSalesCases::try_from(request.into_inner())?;
    let access = Api::access(&principal, Action::Read)?;
    // Within a visible ticket every case is listed; across tickets, those the caller reaches.
    let scope = match ticket {
        Some(ticket) => {
            api.visible(&access, ticket).await?;
            Access::All
        }
        None => access,
    };
    let mut cases = store::list_cases(
        &api.db,
        &scope,
        ticket,
        &conditions,
        page.after.as_ref(),
        page.size,
    )
    .await?;
    let next_page_token = page.finish(&mut cases, |c| {
        PageToken::int(c.create_time, c.id.to_string())
    });
    Ok(Response::new(convert::after_sales_case_page(
        &cases,
        next_page_token,
    )))
}

#[tracing::instrument(skip_all, fields(case = %request.get_ref().name))]
pub(super) async fn review_after_sales_case(
    api: &Api,
    request: Request<pb::ReviewAfterSalesCaseRequest>,
) -> Reply<pb::ReviewAfterSalesCaseResponse> {
    let policy = api.policy;
    let today = chrono::Utc::now().date_naive();
    let case = api
        .step(
            request,
            Action::Manage,
            |c, etag, draft: ReviewDraft, actor, now| {
                c.review(etag, draft, policy, today, actor, now)
            },
        )
        .await?;
    Ok(Response::new((&case).into()))
}

#[tracing::instrument(skip_all, fields(case = %request.get_ref().name))]
pub(super) async fn arrange_after_sales_case(
    api: &Api,
    request: Request<pb::ArrangeAfterSalesCaseRequest>,
) -> Reply<pb::ArrangeAfterSalesCaseResponse> {
    let case = api
        .step(
            request,
            Action::Manage,
            |c, etag, a: Arrangement, actor, now| c.arrange(etag, a, actor, now),
        )
        .await?;
    Ok(Response::new((&case).into()))
}

#[tracing::instrument(skip_all, fields(case = %request.get_ref().name))]
pub(super) async fn complete_after_sales_case(
    api: &Api,
    request: Request<pb::CompleteAfterSalesCaseRequest>,
) -> Reply<pb::CompleteAfterSalesCaseResponse> {
    let case = api
        .step(
            request,
            Action::Manage,
            |c, etag, done: Completion, actor, now| c.complete(etag, done, actor, now),
        )
        .await?;
    Ok(Response::new((&case).into()))
}

#[tracing::instrument(skip_all, fields(case = %request.get_ref().name))]
pub(super) async fn confirm_after_sales_case(
    api: &Api,
    request: Request<pb::ConfirmAfterSalesCaseRequest>,
) -> Reply<pb::ConfirmAfterSalesCaseResponse> {
    let case = api
        .step(
            request,
            Action::Reply,
            |c, etag, given: Confirmation, actor, now| c.confirm(etag, given, actor, now),
        )
        .await?;
    Ok(Response::new((&case).into()))
}

#[tracing::instrument(skip_all, fields(case = %request.get_ref().name))]
pub(super) async fn cancel_after_sales_case(
    api: &Api,
    request: Request<pb::CancelAfterSalesCaseRequest>,
) -> Reply<pb::CancelAfterSalesCaseResponse> {
    let case = api
        .step(
            request,
            Action::Manage,
            |c, etag, reason: String, actor, now| c.cancel(etag, reason, actor, now),
        )
        .await?;
    Ok(Response::new((&case).into()))
}

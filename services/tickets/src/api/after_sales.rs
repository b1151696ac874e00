//! `AfterSalesService`: after-sales cases of tickets. Customers open, read and confirm the
//! cases of their own tickets; review, arrangement, completion and cancellation need staff.

use aftercare_platform::auth::Principal;
use aftercare_platform::error::FieldViolations;
use aftercare_platform::request::{Etag, Page, child_id, optional_text, required_text};
use aftercare_platform::time::{from_timestamp, now_micros};
use aftercare_proto::aftercare::tickets::v1 as pb;
use chrono::NaiveDate;
use tonic::{Request, Response};
use uuid::Uuid;

use super::parse::attachments;
use super::parse::request_key;
use super::{Api, Reply};
use crate::convert;
use crate::domain::{
    Access, Action, Actor, Address, AfterSalesCase, AgentName, Application, Arrangement, CaseState,
    Comparison, Completion, Filter, IdempotencyKey, PageToken, PolicyCheck, Product, ReviewDraft,
    ServiceCentre, ServiceType, Ticket, TicketId, WireEnum, actor_of,
};
use crate::error::{Error, Result};
use crate::store::{self, CaseCondition, CaseCreated};

const CASE: &str = "aftercare.tickets.v1.AfterSalesCase";
const DAY: i64 = 86_400_000_000;

fn date(v: &mut FieldViolations, field: &str, value: &str) -> Option<NaiveDate> {
    let parsed = NaiveDate::parse_from_str(value, "%Y-%m-%d").ok();
    if parsed.is_none() {
        v.add(field, "must be a date, YYYY-MM-DD");
    }
    parsed
}

fn case_name(name: &str) -> Result<(TicketId, Uuid)> {
    let mut v = FieldViolations::new();
    child_id(&mut v, "name", name, "tickets", "afterSalesCases")
        .map(|(ticket, case)| (TicketId(ticket), case))
        .ok_or(Error::Invalid(v))
}

fn application(
    v: &mut FieldViolations,
    a: Option<&pb::AfterSalesApplication>,
    today: NaiveDate,
) -> Option<Application> {
    let Some(a) = a else {
        v.add("after_sales_case.application", "is required");
        return None;
    };
    let f = |name: &str| format!("after_sales_case.application.{name}");
    let requested = ServiceType::from_rank(a.requested_service_type);
    if requested.is_none() {
        v.add(f("requested_service_type"), "is required");
    }
    let product = a.product.clone().unwrap_or_default();
    let model = required_text(v, &f("product.model"), &product.model, 64).unwrap_or_default();
    let serial = required_text(v, &f("product.serial_number"), &product.serial_number, 64)
        .unwrap_or_default();
    let line =
        optional_text(v, &f("product.product_line"), &product.product_line, 64).unwrap_or_default();
    let purchase_date = date(v, &f("purchase_date"), &a.purchase_date);
    if purchase_date.is_some_and(|d| d > today) {
        v.add(f("purchase_date"), "must not be in the future");
    }
    let purchase_reference =
        optional_text(v, &f("purchase_reference"), &a.purchase_reference, 128).unwrap_or_default();
    let problem = required_text(v, &f("problem_description"), &a.problem_description, 5_000)
        .unwrap_or_default();
    let files = attachments(v, &f("attachments"), &a.attachments);
    Some(Application {
        requested: requested?,
        product: Product {
            product_line: line,
            model,
            serial_number: serial,
        },
        purchase_date: purchase_date?,
        purchase_reference,
        problem,
        attachments: files,
    })
}

fn check(v: &mut FieldViolations, field: &str, number: i32) -> Option<PolicyCheck> {
    let parsed = PolicyCheck::from_rank(number);
    if number != 0 && parsed.is_none() {
        v.add(field, "unknown value");
    }
    parsed
}

fn review(v: &mut FieldViolations, r: Option<&pb::AfterSalesReview>) -> Option<ReviewDraft> {
    let Some(r) = r else {
        v.add("review", "is required");
        return None;
    };
    let eligible = match pb::EligibilityDecision::try_from(r.decision) {
        Ok(pb::EligibilityDecision::Eligible) => Some(true),
        Ok(pb::EligibilityDecision::NotEligible) => Some(false),
        _ => {
            v.add("review.decision", "must be ELIGIBLE or NOT_ELIGIBLE");
            None
        }
    };
    let reason = optional_text(v, "review.reason", &r.reason, 2_000).unwrap_or_default();
    if eligible == Some(false) && reason.is_empty() {
        v.add("review.reason", "is required when not eligible");
    }
    let optional_date = |v: &mut FieldViolations, field: &str, text: &str| {
        (!text.is_empty()).then(|| date(v, field, text)).flatten()
    };
    let approved = ServiceType::from_rank(r.approved_service_type);
    if r.approved_service_type != 0 && approved.is_none() {
        v.add("review.approved_service_type", "unknown value");
    }
    Some(ReviewDraft {
        eligible: eligible?,
        warranty_check: check(v, "review.warranty_check", r.warranty_check),
        warranty_end: optional_date(v, "review.warranty_end_date", &r.warranty_end_date),
        return_check: check(v, "review.return_window_check", r.return_window_check),
        return_end: optional_date(
            v,
            "review.return_window_end_date",
            &r.return_window_end_date,
        ),
        approved,
        chargeable: r.chargeable,
        reason,
    })
}

fn address(v: &mut FieldViolations, a: &pb::PostalAddress) -> Address {
    let f = |name: &str| format!("arrangement.address.{name}");
    if a.region_code.len() != 2 || !a.region_code.chars().all(|c| c.is_ascii_uppercase()) {
        v.add(
            f("region_code"),
            "must be a CLDR region code such as CN or DE",
        );
    }
    if !(1..=5).contains(&a.address_lines.len()) {
        v.add(f("address_lines"), "give 1 to 5 lines");
    }
    for (i, line) in a.address_lines.iter().enumerate() {
        required_text(v, &f(&format!("address_lines[{i}]")), line, 200).unwrap_or_default();
    }
    Address {
        region_code: a.region_code.clone(),
        postal_code: optional_text(v, &f("postal_code"), &a.postal_code, 32).unwrap_or_default(),
        administrative_area: optional_text(
            v,
            &f("administrative_area"),
            &a.administrative_area,
            100,
        )
        .unwrap_or_default(),
        locality: optional_text(v, &f("locality"), &a.locality, 100).unwrap_or_default(),
        sublocality: optional_text(v, &f("sublocality"), &a.sublocality, 100).unwrap_or_default(),
        address_lines: a
            .address_lines
            .iter()
            .map(|l| l.trim().to_owned())
            .collect(),
        recipient: optional_text(v, &f("recipient"), &a.recipient, 200).unwrap_or_default(),
        phone_number: optional_text(v, &f("phone_number"), &a.phone_number, 32).unwrap_or_default(),
    }
}

fn arrangement(
    v: &mut FieldViolations,
    a: Option<&pb::AfterSalesArrangement>,
) -> Option<Arrangement> {
    let Some(a) = a else {
        v.add("arrangement", "is required");
        return None;
    };
    let service_type = ServiceType::from_rank(a.service_type);
    if service_type.is_none() {
        v.add("arrangement.service_type", "is required");
    }
    let start = a.appointment_start_time.as_ref().and_then(from_timestamp);
    let end = a.appointment_end_time.as_ref().and_then(from_timestamp);
    let appointment = match (start, end) {
        (Some(start), Some(end)) if end > start && end - start <= DAY => Some((start, end)),
        (None, None) => None,
        _ => {
            v.add(
                "arrangement.appointment_end_time",
                "must follow the start, at most 24 hours later",
            );
            None
        }
    };
    let on_site = service_type == Some(ServiceType::OnSiteVisit);
    if on_site && appointment.is_none() && start.is_none() {
        v.add(
            "arrangement.appointment_start_time",
            "is required for an on-site visit",
        );
    }
    if on_site && a.address.is_none() {
        v.add("arrangement.address", "is required for an on-site visit");
    }
    let address = a.address.as_ref().map(|x| address(v, x));
    if !a.service_centre.is_empty() {
        v.check(
            "arrangement.service_centre",
            ServiceCentre::parse(&a.service_centre),
        );
    }
    if !a.technician.is_empty() {
        v.check("arrangement.technician", AgentName::parse(&a.technician));
    }
    Some(Arrangement {
        service_type: service_type?,
        appointment,
        address,
        service_centre: a.service_centre.clone(),
        technician: a.technician.clone(),
        carrier: optional_text(v, "arrangement.carrier", &a.carrier, 64).unwrap_or_default(),
        tracking_number: optional_text(v, "arrangement.tracking_number", &a.tracking_number, 128)
            .unwrap_or_default(),
        instructions: optional_text(v, "arrangement.instructions", &a.instructions, 2_000)
            .unwrap_or_default(),
        arranged_by: None,
        time: 0,
    })
}

fn completion(v: &mut FieldViolations, c: Option<&pb::AfterSalesCompletion>) -> Option<Completion> {
    let Some(c) = c else {
        v.add("completion", "is required");
        return None;
    };
    Some(Completion {
        outcome: required_text(v, "completion.outcome", &c.outcome, 5_000).unwrap_or_default(),
        replacement_serial_number: optional_text(
            v,
            "completion.replacement_serial_number",
            &c.replacement_serial_number,
            64,
        )
        .unwrap_or_default(),
        refund_reference: optional_text(v, "completion.refund_reference", &c.refund_reference, 128)
            .unwrap_or_default(),
        attachments: attachments(v, "completion.attachments", &c.attachments),
        completed_by: None,
        time: 0,
    })
}

impl Api {
    async fn case(
        &self,
        principal: &Principal,
        action: Action,
        name: &str,
    ) -> Result<(Ticket, AfterSalesCase)> {
        let (ticket, id) = case_name(name)?;
        let access = Api::access(principal, action)?;
        let ticket = self.visible(&access, ticket).await?;
        let case = store::get_case(&self.db, ticket.id, id)
            .await?
            .ok_or_else(|| Error::NotFound {
                resource_type: CASE,
                name: name.to_owned(),
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

    /// Loads the case, applies `step` (already validated input) and saves it.
    async fn step(
        &self,
        principal: &Principal,
        action: Action,
        name: &str,
        step: impl FnOnce(
            &mut AfterSalesCase,
            Actor,
            i64,
        ) -> std::result::Result<(), crate::domain::DomainError>,
    ) -> Result<pb::AfterSalesCase> {
        let (ticket, mut case) = self.case(principal, action, name).await?;
        let previous = case.state;
        step(&mut case, actor_of(principal), now_micros())
            .map_err(|e| Error::from_domain(e, name))?;
        let kind = case
            .steps
            .last()
            .map_or(crate::domain::StepKind::Application, |s| s.kind);
        let case = store::save_case(
            &self.db,
            case,
            &ticket,
            previous,
            kind,
            &actor_of(principal),
        )
        .await?;
        self.relay.wake();
        Ok(convert::after_sales_case(&case))
    }
}

#[tracing::instrument(skip_all, fields(ticket = %request.get_ref().parent))]
pub(super) async fn create_after_sales_case(
    api: &Api,
    request: Request<pb::CreateAfterSalesCaseRequest>,
) -> Reply<pb::CreateAfterSalesCaseResponse> {
    let principal = api.principal(&request)?;
    let r = request.into_inner();
    let mut v = FieldViolations::new();
    let ticket = v.check("parent", TicketId::parse_name(&r.parent));
    let today = chrono::Utc::now().date_naive();
    let application = application(
        &mut v,
        r.after_sales_case
            .as_ref()
            .and_then(|c| c.application.as_ref()),
        today,
    );
    let request_id = request_key(&mut v, &r, &r.request_id, |r| r.request_id.clear());
    let (Some(ticket), Some(application)) = (ticket, application) else {
        return Err(Error::Invalid(v).into());
    };
    if !v.is_empty() {
        return Err(Error::Invalid(v).into());
    }
    let access = Api::access(&principal, Action::Reply)?;
    let ticket = api.visible(&access, ticket).await?;
    let key = IdempotencyKey::of(
        request_id.as_ref(),
        &principal.subject,
        "CreateAfterSalesCase",
        &ticket.name(),
    );
    if let Some(earlier) = api.replayed(key.as_ref(), CASE).await? {
        let case = api.replayed_case(&ticket, &earlier).await?;
        return Ok(Response::new(pb::CreateAfterSalesCaseResponse {
            after_sales_case: Some(convert::after_sales_case(&case)),
        }));
    }
    if ticket.status == crate::domain::Status::Closed {
        return Err(Error::FailedPrecondition {
            violation: "STATE",
            subject: ticket.name(),
            description: "a closed ticket takes no after-sales case".into(),
        }
        .into());
    }
    let actor = actor_of(&principal);
    let case = AfterSalesCase::apply(
        ticket.id,
        ticket.customer.to_string(),
        ticket.region.to_string(),
        application,
        actor.clone(),
        now_micros(),
    );
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
    Ok(Response::new(pb::CreateAfterSalesCaseResponse {
        after_sales_case: Some(convert::after_sales_case(&case)),
    }))
}

#[tracing::instrument(skip_all, fields(case = %request.get_ref().name))]
pub(super) async fn get_after_sales_case(
    api: &Api,
    request: Request<pb::GetAfterSalesCaseRequest>,
) -> Reply<pb::GetAfterSalesCaseResponse> {
    let principal = api.principal(&request)?;
    let (_, case) = api
        .case(&principal, Action::Read, &request.get_ref().name)
        .await?;
    Ok(Response::new(pb::GetAfterSalesCaseResponse {
        after_sales_case: Some(convert::after_sales_case(&case)),
    }))
}

#[tracing::instrument(skip_all, fields(ticket = %request.get_ref().parent))]
pub(super) async fn list_after_sales_cases(
    api: &Api,
    request: Request<pb::ListAfterSalesCasesRequest>,
) -> Reply<pb::ListAfterSalesCasesResponse> {
    let principal = api.principal(&request)?;
    let r = request.into_inner();
    let mut v = FieldViolations::new();
    let ticket = if r.parent == "tickets/-" {
        None
    } else {
        v.check("parent", TicketId::parse_name(&r.parent))
    };
    let page = Page::parse(&mut v, r.page_size, &r.page_token, &[&r.filter, &r.parent]);
    let filter = v
        .check("filter", Filter::parse(&r.filter))
        .unwrap_or_default();
    let mut conditions = Vec::new();
    for c in &filter.conditions {
        let text = c.value.text().to_owned();
        let equality = |v: &mut FieldViolations| {
            let ok = c.op.is_equality();
            if !ok {
                v.add("filter", format!("`{}` accepts = and != only", c.field));
            }
            ok
        };
        match c.field.as_str() {
            "state" | "service_type" => {
                let known = if c.field == "state" {
                    CaseState::parse(&text).is_some()
                } else {
                    ServiceType::parse(&text).is_some()
                };
                if !known {
                    v.add("filter", format!("`{text}` is not a {}", c.field));
                } else if equality(&mut v) {
                    let column = if c.field == "state" {
                        "state"
                    } else {
                        "service_type"
                    };
                    conditions.push(CaseCondition::Text(column, c.op == Comparison::Eq, text));
                }
            }
            "customer"
            | "region"
            | "technician"
            | "arrangement.technician"
            | "service_centre"
            | "arrangement.service_centre" => {
                let column = match c.field.as_str() {
                    "customer" => "customer",
                    "region" => "region",
                    "technician" | "arrangement.technician" => "technician",
                    _ => "service_centre",
                };
                match c.value.quoted() {
                    Ok(value) if equality(&mut v) => conditions.push(CaseCondition::Text(
                        column,
                        c.op == Comparison::Eq,
                        value.to_owned(),
                    )),
                    Ok(_) => {}
                    Err(e) => v.add("filter", e),
                }
            }
            "create_time" | "update_time" | "appointment_start_time" => {
                let column = match c.field.as_str() {
                    "create_time" => "create_time",
                    "update_time" => "update_time",
                    _ => "appointment_start_time",
                };
                match c.value.time() {
                    Ok(_) if c.op.is_equality() => {
                        v.add(
                            "filter",
                            format!("`{}` accepts <, <=, > and >= only", c.field),
                        );
                    }
                    Ok(time) => conditions.push(CaseCondition::Time(column, c.op, time)),
                    Err(e) => v.add("filter", e),
                }
            }
            other => v.add("filter", format!("unknown field `{other}`")),
        }
    }
    if !matches!(r.order_by.trim(), "" | "create_time") {
        v.add("order_by", "must be create_time");
    }
    if !v.is_empty() || (ticket.is_none() && r.parent != "tickets/-") {
        return Err(Error::Invalid(v).into());
    }
    let access = Api::access(&principal, Action::Read)?;
    if let Some(ticket) = ticket {
        api.visible(&access, ticket).await?;
    }
    let scope = if ticket.is_some() {
        Access::All
    } else {
        access
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
    Ok(Response::new(pb::ListAfterSalesCasesResponse {
        after_sales_cases: cases.iter().map(convert::after_sales_case).collect(),
        next_page_token,
    }))
}

#[tracing::instrument(skip_all, fields(case = %request.get_ref().name))]
pub(super) async fn review_after_sales_case(
    api: &Api,
    request: Request<pb::ReviewAfterSalesCaseRequest>,
) -> Reply<pb::ReviewAfterSalesCaseResponse> {
    let principal = api.principal(&request)?;
    let r = request.into_inner();
    let mut v = FieldViolations::new();
    let version = Etag::parse(&mut v, "etag", &r.etag);
    let draft = review(&mut v, r.review.as_ref());
    let (Some(draft), Some(version), true) = (draft, version, v.is_empty()) else {
        return Err(Error::Invalid(v).into());
    };
    let policy = api.policy;
    let today = chrono::Utc::now().date_naive();
    let case = api
        .step(&principal, Action::Manage, &r.name, |c, actor, now| {
            c.review(version, draft, policy, today, actor, now)
        })
        .await?;
    Ok(Response::new(pb::ReviewAfterSalesCaseResponse {
        after_sales_case: Some(case),
    }))
}

#[tracing::instrument(skip_all, fields(case = %request.get_ref().name))]
pub(super) async fn arrange_after_sales_case(
    api: &Api,
    request: Request<pb::ArrangeAfterSalesCaseRequest>,
) -> Reply<pb::ArrangeAfterSalesCaseResponse> {
    let principal = api.principal(&request)?;
    let r = request.into_inner();
    let mut v = FieldViolations::new();
    let version = Etag::parse(&mut v, "etag", &r.etag);
    let arrangement = arrangement(&mut v, r.arrangement.as_ref());
    let (Some(arrangement), Some(version), true) = (arrangement, version, v.is_empty()) else {
        return Err(Error::Invalid(v).into());
    };
    let case = api
        .step(&principal, Action::Manage, &r.name, |c, actor, now| {
            c.arrange(version, arrangement, actor, now)
        })
        .await?;
    Ok(Response::new(pb::ArrangeAfterSalesCaseResponse {
        after_sales_case: Some(case),
    }))
}

#[tracing::instrument(skip_all, fields(case = %request.get_ref().name))]
pub(super) async fn complete_after_sales_case(
    api: &Api,
    request: Request<pb::CompleteAfterSalesCaseRequest>,
) -> Reply<pb::CompleteAfterSalesCaseResponse> {
    let principal = api.principal(&request)?;
    let r = request.into_inner();
    let mut v = FieldViolations::new();
    let version = Etag::parse(&mut v, "etag", &r.etag);
    let completion = completion(&mut v, r.completion.as_ref());
    let (Some(completion), Some(version), true) = (completion, version, v.is_empty()) else {
        return Err(Error::Invalid(v).into());
    };
    let case = api
        .step(&principal, Action::Manage, &r.name, |c, actor, now| {
            c.complete(version, completion, actor, now)
        })
        .await?;
    Ok(Response::new(pb::CompleteAfterSalesCaseResponse {
        after_sales_case: Some(case),
    }))
}

#[tracing::instrument(skip_all, fields(case = %request.get_ref().name))]
pub(super) async fn confirm_after_sales_case(
    api: &Api,
    request: Request<pb::ConfirmAfterSalesCaseRequest>,
) -> Reply<pb::ConfirmAfterSalesCaseResponse> {
    let principal = api.principal(&request)?;
    let r = request.into_inner();
    let mut v = FieldViolations::new();
    let version = Etag::parse(&mut v, "etag", &r.etag);
    let Some(confirmation) = r.confirmation else {
        v.add("confirmation", "is required");
        return Err(Error::Invalid(v).into());
    };
    let comment = optional_text(&mut v, "confirmation.comment", &confirmation.comment, 2_000)
        .unwrap_or_default();
    let (Some(version), true) = (version, v.is_empty()) else {
        return Err(Error::Invalid(v).into());
    };
    let case = api
        .step(&principal, Action::Reply, &r.name, |c, actor, now| {
            c.confirm(version, confirmation.satisfied, comment, actor, now)
        })
        .await?;
    Ok(Response::new(pb::ConfirmAfterSalesCaseResponse {
        after_sales_case: Some(case),
    }))
}

#[tracing::instrument(skip_all, fields(case = %request.get_ref().name))]
pub(super) async fn cancel_after_sales_case(
    api: &Api,
    request: Request<pb::CancelAfterSalesCaseRequest>,
) -> Reply<pb::CancelAfterSalesCaseResponse> {
    let principal = api.principal(&request)?;
    let r = request.into_inner();
    let mut v = FieldViolations::new();
    let version = Etag::parse(&mut v, "etag", &r.etag);
    let reason = required_text(&mut v, "reason", &r.reason, 1_000).unwrap_or_default();
    let (Some(version), true) = (version, v.is_empty()) else {
        return Err(Error::Invalid(v).into());
    };
    let case = api
        .step(&principal, Action::Manage, &r.name, |c, actor, now| {
            c.cancel(version, reason, actor, now)
        })
        .await?;
    Ok(Response::new(pb::CancelAfterSalesCaseResponse {
        after_sales_case: Some(case),
    }))
}

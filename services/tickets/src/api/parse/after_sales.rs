//! AfterSalesService requests: after-sales cases of tickets.

use aftercare_platform::error::FieldViolations;
use aftercare_platform::request::{Etag, Page, child_id, enum_value, required_enum, required_text};
use aftercare_platform::time::from_timestamp;
use aftercare_proto::aftercare::tickets::v1 as pb;
use chrono::NaiveDate;
use uuid::Uuid;

use super::{
    attachments, comparison_time, date, equality, finish, page_and_filter, request_key, text,
    ticket_id,
};
use crate::domain::{
    Address, AgentName, Application, Arrangement, CaseState, Comparison, Completion, Confirmation,
    DAY, PolicyCheck, Product, RequestKey, ReviewDraft, ServiceCentre, ServiceType, TicketId,
    WireEnum,
};
use crate::error::Error;
use crate::store::CaseCondition;

/// A case named in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseName {
    /// Its ticket.
    pub ticket: TicketId,
    /// Its id.
    pub id: Uuid,
    /// Its name, as sent.
    pub name: String,
}

fn case_name(v: &mut FieldViolations, name: &str) -> Option<CaseName> {
    child_id(v, "name", name, "tickets", "afterSalesCases").map(|(ticket, id)| CaseName {
        ticket: TicketId(ticket),
        id,
        name: name.to_owned(),
    })
}

impl TryFrom<pb::GetAfterSalesCaseRequest> for CaseName {
    type Error = Error;

    fn try_from(r: pb::GetAfterSalesCaseRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let name = case_name(&mut v, &r.name);
        finish(v, name)
    }
}

/// A message field that must be given.
fn required<'a, T>(v: &mut FieldViolations, field: &str, value: Option<&'a T>) -> Option<&'a T> {
    if value.is_none() {
        v.add(field, "is required");
    }
    value
}

/// A parsed CreateAfterSalesCase.
#[derive(Debug, Clone)]
pub struct CreateAfterSalesCase {
    /// The ticket.
    pub ticket: TicketId,
    /// The customer's application.
    pub application: Application,
    /// The idempotency key, with the digest of the request.
    pub request_id: Option<RequestKey>,
}

impl CreateAfterSalesCase {
    /// Parses `r` on `today` (a purchase date may not be later).
    pub fn parse(r: pb::CreateAfterSalesCaseRequest, today: NaiveDate) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let ticket = ticket_id(&mut v, "parent", &r.parent);
        let given = r
            .after_sales_case
            .as_ref()
            .and_then(|c| c.application.as_ref());
        let application = required(&mut v, "after_sales_case.application", given)
            .and_then(|a| application(&mut v, a, today));
        let request_id = request_key(&mut v, &r, &r.request_id, |r| r.request_id.clear());
        finish(v, ticket.zip(application)).map(|(ticket, application)| Self {
            ticket,
            application,
            request_id,
        })
    }
}

impl TryFrom<pb::CreateAfterSalesCaseRequest> for CreateAfterSalesCase {
    type Error = Error;

    fn try_from(r: pb::CreateAfterSalesCaseRequest) -> Result<Self, Error> {
        Self::parse(r, chrono::Utc::now().date_naive())
    }
}

fn application(
    v: &mut FieldViolations,
    a: &pb::AfterSalesApplication,
    today: NaiveDate,
) -> Option<Application> {
    let f = |name: &str| format!("after_sales_case.application.{name}");
    let requested = required_enum(v, &f("requested_service_type"), a.requested_service_type);
    let product = a.product.clone().unwrap_or_default();
    let model = required_text(v, &f("product.model"), &product.model, 64).unwrap_or_default();
    let serial_number = required_text(v, &f("product.serial_number"), &product.serial_number, 64)
        .unwrap_or_default();
    let product_line = text(v, &f("product.product_line"), &product.product_line, 64);
    let purchase_date = date(v, &f("purchase_date"), &a.purchase_date);
    if purchase_date.is_some_and(|d| d > today) {
        v.add(f("purchase_date"), "must not be in the future");
    }
    let purchase_reference = text(v, &f("purchase_reference"), &a.purchase_reference, 128);
    let problem = required_text(v, &f("problem_description"), &a.problem_description, 5_000)
        .unwrap_or_default();
    let attachments = attachments(v, &f("attachments"), &a.attachments);
    Some(Application {
        requested: requested?,
        product: Product {
            product_line,
            model,
            serial_number,
        },
        purchase_date: purchase_date?,
        purchase_reference,
        problem,
        attachments,
    })
}

/// A parsed ListAfterSalesCases.
#[derive(Debug, Clone)]
pub struct ListAfterSalesCases {
    /// The ticket; `None` for every ticket the caller reaches (`tickets/-`).
    pub ticket: Option<TicketId>,
    /// The page.
    pub page: Page,
    /// The filter.
    pub conditions: Vec<CaseCondition>,
}

impl TryFrom<pb::ListAfterSalesCasesRequest> for ListAfterSalesCases {
    type Error = Error;

    fn try_from(r: pb::ListAfterSalesCasesRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let every = r.parent == "tickets/-";
        let ticket = (!every)
            .then(|| ticket_id(&mut v, "parent", &r.parent))
            .flatten();
        let (page, filter) = page_and_filter(
            &mut v,
            r.page_size,
            &r.page_token,
            &r.filter,
            &[&r.filter, &r.parent],
        );
        let conditions = filter
            .conditions
            .iter()
            .filter_map(|c| case_condition(&mut v, c))
            .collect();
        if !matches!(r.order_by.trim(), "" | "create_time") {
            v.add("order_by", "must be create_time");
        }
        finish(
            v,
            Some(Self {
                ticket,
                page,
                conditions,
            }),
        )
    }
}

fn case_condition(v: &mut FieldViolations, c: &crate::domain::Condition) -> Option<CaseCondition> {
    let text = c.value.text();
    match c.field.as_str() {
        "state" | "service_type" => {
            let (column, known) = if c.field == "state" {
                ("state", CaseState::parse(text).is_some())
            } else {
                ("service_type", ServiceType::parse(text).is_some())
            };
            if !known {
                v.add("filter", format!("`{text}` is not a {column}"));
                return None;
            }
            let op = equality(v, c)?;
            Some(CaseCondition::Text(
                column,
                op == Comparison::Eq,
                text.to_owned(),
            ))
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
            let value = v.check("filter", c.value.quoted())?;
            let op = equality(v, c)?;
            Some(CaseCondition::Text(
                column,
                op == Comparison::Eq,
                value.to_owned(),
            ))
        }
        "create_time" | "update_time" | "appointment_start_time" => {
            let column = match c.field.as_str() {
                "create_time" => "create_time",
                "update_time" => "update_time",
                _ => "appointment_start_time",
            };
            let (op, time) = comparison_time(v, c)?;
            Some(CaseCondition::Time(column, op, time))
        }
        other => {
            v.add("filter", format!("unknown field `{other}`"));
            None
        }
    }
}

/// A parsed step of a case's flow (review, arrange, complete, confirm, cancel): the case,
/// the version its etag names and the step's input.
#[derive(Debug, Clone)]
pub struct CaseStep<T> {
    /// The case.
    pub case: CaseName,
    /// The version its etag names.
    pub etag: i64,
    /// What the step records.
    pub input: T,
}

fn case_step<T>(
    name: &str,
    etag: &str,
    input: impl FnOnce(&mut FieldViolations) -> Option<T>,
) -> Result<CaseStep<T>, Error> {
    let mut v = FieldViolations::new();
    let case = case_name(&mut v, name);
    let etag = Etag::parse(&mut v, "etag", etag);
    let input = input(&mut v);
    finish(v, case.zip(etag).zip(input)).map(|((case, etag), input)| CaseStep { case, etag, input })
}

impl TryFrom<pb::ReviewAfterSalesCaseRequest> for CaseStep<ReviewDraft> {
    type Error = Error;

    fn try_from(r: pb::ReviewAfterSalesCaseRequest) -> Result<Self, Error> {
        case_step(&r.name, &r.etag, |v| {
            required(v, "review", r.review.as_ref()).and_then(|given| review(v, given))
        })
    }
}

fn review(v: &mut FieldViolations, r: &pb::AfterSalesReview) -> Option<ReviewDraft> {
    let eligible = match pb::EligibilityDecision::try_from(r.decision) {
        Ok(pb::EligibilityDecision::Eligible) => Some(true),
        Ok(pb::EligibilityDecision::NotEligible) => Some(false),
        _ => {
            v.add("review.decision", "must be ELIGIBLE or NOT_ELIGIBLE");
            None
        }
    };
    let reason = text(v, "review.reason", &r.reason, 2_000);
    if eligible == Some(false) && reason.is_empty() {
        v.add("review.reason", "is required when not eligible");
    }
    let optional_date = |v: &mut FieldViolations, field: &str, value: &str| {
        (!value.is_empty()).then(|| date(v, field, value)).flatten()
    };
    // The decision last, so every field is checked even without one.
    Some(ReviewDraft {
        warranty_check: enum_value::<PolicyCheck>(v, "review.warranty_check", r.warranty_check),
        warranty_end: optional_date(v, "review.warranty_end_date", &r.warranty_end_date),
        return_check: enum_value::<PolicyCheck>(
            v,
            "review.return_window_check",
            r.return_window_check,
        ),
        return_end: optional_date(
            v,
            "review.return_window_end_date",
            &r.return_window_end_date,
        ),
        approved: enum_value(v, "review.approved_service_type", r.approved_service_type),
        chargeable: r.chargeable,
        reason,
        eligible: eligible?,
    })
}

impl TryFrom<pb::ArrangeAfterSalesCaseRequest> for CaseStep<Arrangement> {
    type Error = Error;

    fn try_from(r: pb::ArrangeAfterSalesCaseRequest) -> Result<Self, Error> {
        case_step(&r.name, &r.etag, |v| {
            required(v, "arrangement", r.arrangement.as_ref()).and_then(|a| arrangement(v, a))
        })
    }
}

fn arrangement(v: &mut FieldViolations, a: &pb::AfterSalesArrangement) -> Option<Arrangement> {
    let service_type = required_enum(v, "arrangement.service_type", a.service_type);
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
    // The service type last, so every field is checked even without one.
    Some(Arrangement {
        appointment,
        address,
        service_centre: a.service_centre.clone(),
        technician: a.technician.clone(),
        carrier: text(v, "arrangement.carrier", &a.carrier, 64),
        tracking_number: text(v, "arrangement.tracking_number", &a.tracking_number, 128),
        instructions: text(v, "arrangement.instructions", &a.instructions, 2_000),
        arranged_by: None,
        time: 0,
        service_type: service_type?,
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
    let address_lines = a
        .address_lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            required_text(v, &f(&format!("address_lines[{i}]")), line, 200);
            line.trim().to_owned()
        })
        .collect();
    Address {
        region_code: a.region_code.clone(),
        postal_code: text(v, &f("postal_code"), &a.postal_code, 32),
        administrative_area: text(v, &f("administrative_area"), &a.administrative_area, 100),
        locality: text(v, &f("locality"), &a.locality, 100),
        sublocality: text(v, &f("sublocality"), &a.sublocality, 100),
        address_lines,
        recipient: text(v, &f("recipient"), &a.recipient, 200),
        phone_number: text(v, &f("phone_number"), &a.phone_number, 32),
    }
}

impl TryFrom<pb::CompleteAfterSalesCaseRequest> for CaseStep<Completion> {
    type Error = Error;

    fn try_from(r: pb::CompleteAfterSalesCaseRequest) -> Result<Self, Error> {
        case_step(&r.name, &r.etag, |v| {
            let c = required(v, "completion", r.completion.as_ref())?;
            Some(Completion {
                outcome: required_text(v, "completion.outcome", &c.outcome, 5_000)
                    .unwrap_or_default(),
                replacement_serial_number: text(
                    v,
                    "completion.replacement_serial_number",
                    &c.replacement_serial_number,
                    64,
                ),
                refund_reference: text(v, "completion.refund_reference", &c.refund_reference, 128),
                attachments: attachments(v, "completion.attachments", &c.attachments),
                completed_by: None,
                time: 0,
            })
        })
    }
}

/// A parsed ConfirmAfterSalesCase: the customer's confirmation of a completed case.
impl TryFrom<pb::ConfirmAfterSalesCaseRequest> for CaseStep<Confirmation> {
    type Error = Error;

    fn try_from(r: pb::ConfirmAfterSalesCaseRequest) -> Result<Self, Error> {
        case_step(&r.name, &r.etag, |v| {
            let c = required(v, "confirmation", r.confirmation.as_ref())?;
            Some(Confirmation {
                satisfied: c.satisfied,
                comment: text(v, "confirmation.comment", &c.comment, 2_000),
                confirmed_by: None,
                time: 0,
            })
        })
    }
}

/// A parsed CancelAfterSalesCase: the reason.
impl TryFrom<pb::CancelAfterSalesCaseRequest> for CaseStep<String> {
    type Error = Error;

    fn try_from(r: pb::CancelAfterSalesCaseRequest) -> Result<Self, Error> {
        case_step(&r.name, &r.etag, |v| {
            required_text(v, "reason", &r.reason, 1_000)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::parse::tests::bad_fields;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
    }

    fn case_text() -> String {
        format!(
            "{}/afterSalesCases/{}",
            TicketId::generate().name(),
            Uuid::now_v7()
        )
    }

    fn application_text() -> pb::AfterSalesApplication {
        pb::AfterSalesApplication {
            requested_service_type: ServiceType::Repair.rank(),
            product: Some(pb::Product {
                model: " WM-9 ".into(),
                serial_number: "SN123".into(),
                ..Default::default()
            }),
            purchase_date: "2026-01-15".into(),
            problem_description: "洗衣机不脱水".into(),
            ..Default::default()
        }
    }

    fn create(
        parent: String,
        application: Option<pb::AfterSalesApplication>,
        request_id: &str,
    ) -> Result<CreateAfterSalesCase, Error> {
        CreateAfterSalesCase::parse(
            pb::CreateAfterSalesCaseRequest {
                parent,
                after_sales_case: Some(pb::AfterSalesCase {
                    application,
                    ..Default::default()
                }),
                request_id: request_id.into(),
            },
            today(),
        )
    }

    #[test]
    fn case_names_are_exact() {
        let name = case_text();
        let parsed =
            CaseName::try_from(pb::GetAfterSalesCaseRequest { name: name.clone() }).unwrap();
        assert_eq!(parsed.name, name);
        assert!(name.starts_with(&parsed.ticket.name()));
        for bad in [
            String::new(),
            format!(
                "{}/messages/{}",
                TicketId::generate().name(),
                Uuid::now_v7()
            ),
            format!("{name}/x"),
        ] {
            let error = CaseName::try_from(pb::GetAfterSalesCaseRequest { name: bad }).unwrap_err();
            assert_eq!(bad_fields(error), ["name"]);
        }
    }

    #[test]
    fn an_application_is_parsed_with_its_request_key() {
        let ticket = TicketId::generate();
        let command = create(
            ticket.name(),
            Some(application_text()),
            "0190a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b",
        )
        .unwrap();
        assert_eq!(command.ticket, ticket);
        assert_eq!(command.application.requested, ServiceType::Repair);
        assert_eq!(command.application.product.model, "WM-9");
        assert_eq!(
            command.application.purchase_date,
            NaiveDate::from_ymd_opt(2026, 1, 15).unwrap()
        );
        assert_eq!(command.request_id.unwrap().fingerprint.len(), 64);
    }

    #[test]
    fn an_application_names_every_bad_field_at_once() {
        let error = create(
            "tickets/1".into(),
            Some(pb::AfterSalesApplication {
                requested_service_type: 99,
                product: Some(pb::Product {
                    model: String::new(),
                    serial_number: "S".repeat(65),
                    product_line: "l".repeat(65),
                }),
                purchase_date: "2026-12-08".into(),
                purchase_reference: "r".repeat(129),
                problem_description: " ".into(),
                attachments: vec![pb::Attachment {
                    uri: "file:///etc/passwd".into(),
                    file_name: "a/b".into(),
                    ..Default::default()
                }],
            }),
            "nope",
        )
        .unwrap_err();
        let f = |name: &str| format!("after_sales_case.application.{name}");
        assert_eq!(
            bad_fields(error),
            [
                "parent".to_owned(),
                f("requested_service_type"),
                f("product.model"),
                f("product.serial_number"),
                f("product.product_line"),
                f("purchase_date"),
                f("purchase_reference"),
                f("problem_description"),
                f("attachments[0].uri"),
                f("attachments[0].file_name"),
                "request_id".to_owned(),
            ]
        );
        let bad_date = create(
            TicketId::generate().name(),
            Some(pb::AfterSalesApplication {
                purchase_date: "15/01/2026".into(),
                ..application_text()
            }),
            "",
        );
        assert_eq!(bad_fields(bad_date.unwrap_err()), [f("purchase_date")]);
        let missing = create(String::new(), None, "");
        assert_eq!(
            bad_fields(missing.unwrap_err()),
            ["parent", "after_sales_case.application"]
        );
    }

    #[test]
    fn case_lists_take_every_ticket_known_fields_and_create_time_order() {
        let every = ListAfterSalesCases::try_from(pb::ListAfterSalesCasesRequest {
            parent: "tickets/-".into(),
            filter: "state = APPLIED AND technician != \"agents/t1\" AND create_time > \"2026-01-01T00:00:00Z\""
                .into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(every.ticket, None);
        assert_eq!(every.conditions.len(), 3);
        let fields = bad_fields(
            ListAfterSalesCases::try_from(pb::ListAfterSalesCasesRequest {
                parent: "tickets/x".into(),
                page_size: -1,
                filter: "colour = \"red\" AND state = LOST AND service_type > REPAIR AND region = eu AND update_time = \"2026-01-01T00:00:00Z\""
                    .into(),
                order_by: "update_time".into(),
                ..Default::default()
            })
            .unwrap_err(),
        );
        assert_eq!(
            fields,
            [
                "parent",
                "page_size",
                "filter",
                "filter",
                "filter",
                "filter",
                "filter",
                "order_by"
            ]
        );
    }

    #[test]
    fn a_review_needs_a_decision_a_reason_to_refuse_and_known_checks() {
        let fields = bad_fields(
            CaseStep::<ReviewDraft>::try_from(pb::ReviewAfterSalesCaseRequest {
                name: "tickets/1/afterSalesCases/2".into(),
                etag: String::new(),
                review: None,
            })
            .unwrap_err(),
        );
        assert_eq!(fields, ["name", "etag", "review"]);
        let review = |review: pb::AfterSalesReview| {
            CaseStep::<ReviewDraft>::try_from(pb::ReviewAfterSalesCaseRequest {
                name: case_text(),
                etag: "\"2\"".into(),
                review: Some(review),
            })
        };
        let fields = bad_fields(
            review(pb::AfterSalesReview {
                decision: 0,
                warranty_check: 9,
                warranty_end_date: "soon".into(),
                return_window_check: 8,
                approved_service_type: 77,
                reason: "r".repeat(2_001),
                ..Default::default()
            })
            .unwrap_err(),
        );
        assert_eq!(
            fields,
            [
                "review.decision",
                "review.reason",
                "review.warranty_check",
                "review.warranty_end_date",
                "review.return_window_check",
                "review.approved_service_type",
            ]
        );
        let refused = review(pb::AfterSalesReview {
            decision: pb::EligibilityDecision::NotEligible as i32,
            ..Default::default()
        });
        assert_eq!(bad_fields(refused.unwrap_err()), ["review.reason"]);
        let step = review(pb::AfterSalesReview {
            decision: pb::EligibilityDecision::Eligible as i32,
            warranty_check: PolicyCheck::Passed.rank(),
            return_window_end_date: "2027-01-31".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(step.etag, 2);
        assert!(step.input.eligible);
        assert_eq!(step.input.warranty_check, Some(PolicyCheck::Passed));
        assert_eq!(step.input.return_end, NaiveDate::from_ymd_opt(2027, 1, 31));
        assert_eq!(step.input.approved, None);
    }

    #[test]
    fn an_on_site_arrangement_needs_an_appointment_and_an_address() {
        let arrange = |arrangement: Option<pb::AfterSalesArrangement>| {
            CaseStep::<Arrangement>::try_from(pb::ArrangeAfterSalesCaseRequest {
                name: case_text(),
                etag: "\"3\"".into(),
                arrangement,
            })
        };
        assert_eq!(bad_fields(arrange(None).unwrap_err()), ["arrangement"]);
        let fields = bad_fields(
            arrange(Some(pb::AfterSalesArrangement {
                service_type: ServiceType::OnSiteVisit.rank(),
                technician: "bob".into(),
                service_centre: "Centre 1".into(),
                carrier: "c".repeat(65),
                ..Default::default()
            }))
            .unwrap_err(),
        );
        assert_eq!(
            fields,
            [
                "arrangement.appointment_start_time",
                "arrangement.address",
                "arrangement.service_centre",
                "arrangement.technician",
                "arrangement.carrier",
            ]
        );
        let at = |hours: i64| prost_types::Timestamp {
            seconds: 1_800_000_000 + hours * 3_600,
            nanos: 0,
        };
        let fields = bad_fields(
            arrange(Some(pb::AfterSalesArrangement {
                service_type: 0,
                appointment_start_time: Some(at(2)),
                appointment_end_time: Some(at(30)),
                address: Some(pb::PostalAddress {
                    region_code: "de".into(),
                    address_lines: vec![" ".into()],
                    phone_number: "1".repeat(33),
                    ..Default::default()
                }),
                instructions: "i".repeat(2_001),
                ..Default::default()
            }))
            .unwrap_err(),
        );
        assert_eq!(
            fields,
            [
                "arrangement.service_type",
                "arrangement.appointment_end_time",
                "arrangement.address.region_code",
                "arrangement.address.address_lines[0]",
                "arrangement.address.phone_number",
                "arrangement.instructions",
            ]
        );
        let step = arrange(Some(pb::AfterSalesArrangement {
            service_type: ServiceType::OnSiteVisit.rank(),
            appointment_start_time: Some(at(2)),
            appointment_end_time: Some(at(4)),
            address: Some(pb::PostalAddress {
                region_code: "DE".into(),
                address_lines: vec![" Hauptstr. 1 ".into()],
                ..Default::default()
            }),
            technician: "agents/tech1".into(),
            ..Default::default()
        }))
        .unwrap();
        assert_eq!(step.input.address.unwrap().address_lines, ["Hauptstr. 1"]);
        assert!(step.input.appointment.is_some());
    }

    #[test]
    fn completion_confirmation_and_cancellation_check_their_texts() {
        let fields = bad_fields(
            CaseStep::<Completion>::try_from(pb::CompleteAfterSalesCaseRequest {
                name: case_text(),
                etag: "\"4\"".into(),
                completion: Some(pb::AfterSalesCompletion {
                    outcome: String::new(),
                    refund_reference: "r".repeat(129),
                    attachments: vec![Default::default(); 21],
                    ..Default::default()
                }),
            })
            .unwrap_err(),
        );
        assert_eq!(
            fields[..3],
            [
                "completion.outcome",
                "completion.refund_reference",
                "completion.attachments"
            ]
        );
        let fields = bad_fields(
            CaseStep::<Confirmation>::try_from(pb::ConfirmAfterSalesCaseRequest {
                name: case_text(),
                etag: String::new(),
                confirmation: None,
            })
            .unwrap_err(),
        );
        assert_eq!(fields, ["etag", "confirmation"]);
        let fields = bad_fields(
            CaseStep::<Confirmation>::try_from(pb::ConfirmAfterSalesCaseRequest {
                name: case_text(),
                etag: "\"5\"".into(),
                confirmation: Some(pb::AfterSalesConfirmation {
                    comment: "c".repeat(2_001),
                    ..Default::default()
                }),
            })
            .unwrap_err(),
        );
        assert_eq!(fields, ["confirmation.comment"]);
        let step = CaseStep::<Confirmation>::try_from(pb::ConfirmAfterSalesCaseRequest {
            name: case_text(),
            etag: "\"5\"".into(),
            confirmation: Some(pb::AfterSalesConfirmation {
                satisfied: true,
                comment: "  works again ".into(),
                ..Default::default()
            }),
        })
        .unwrap();
        assert_eq!(
            (step.etag, step.input),
            (
                5,
                Confirmation {
                    satisfied: true,
                    comment: "works again".into(),
                    confirmed_by: None,
                    time: 0,
                }
            )
        );
        let cancel = |reason: &str, etag: &str| {
            CaseStep::<String>::try_from(pb::CancelAfterSalesCaseRequest {
                name: case_text(),
                etag: etag.into(),
                reason: reason.into(),
            })
        };
        assert_eq!(bad_fields(cancel(" ", "\"1\"").unwrap_err()), ["reason"]);
        assert_eq!(
            bad_fields(cancel(&"r".repeat(1_001), "").unwrap_err()),
            ["etag", "reason"]
        );
        let step = cancel(" changed my mind ", "W/\"6\"").unwrap();
        assert_eq!((step.etag, step.input.as_str()), (6, "changed my mind"));
    }
}

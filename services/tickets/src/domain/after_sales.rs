//! After-sales cases: application → policy review (warranty and return windows) →
//! arrangement → completion → customer confirmation, or cancellation:
//!
//! | call     | from                            | to                        |
//! |----------|---------------------------------|---------------------------|
//! | review   | APPLIED, REJECTED               | APPROVED or REJECTED      |
//! | arrange  | APPROVED, ARRANGED, DISSATISFIED| ARRANGED                  |
//! | complete | ARRANGED                        | COMPLETED                 |
//! | confirm  | COMPLETED                       | CONFIRMED or DISSATISFIED |
//! | cancel   | any but CONFIRMED, CANCELLED    | CANCELLED                 |

use chrono::{Months, NaiveDate};
use uuid::Uuid;

use super::message::Attachment;
use super::ticket::{Actor, DomainError, Product, Ticket};
use super::values::{CaseState, PolicyCheck, ServiceType, Status, StepKind, TicketId};

/// Warranty and return windows (from configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AfterSalesPolicy {
    /// Warranty length in months.
    pub warranty_months: u32,
    /// Return window in days.
    pub return_window_days: u32,
}

impl Default for AfterSalesPolicy {
    fn default() -> Self {
        Self {
            warranty_months: 12,
            return_window_days: 7,
        }
    }
}

/// What stands in for a text an erasure removed.
pub const ERASED: &str = "[erased]";

/// The customer's application.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Application {
    /// The service asked for.
    pub requested: ServiceType,
    /// The product (model and serial number given).
    pub product: Product,
    /// The purchase date.
    pub purchase_date: NaiveDate,
    /// Proof of purchase.
    pub purchase_reference: String,
    /// What is wrong.
    pub problem: String,
    /// Files by reference.
    pub attachments: Vec<Attachment>,
}

/// A review as asked for; checks and dates left `None` are computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewDraft {
    /// Eligible or not.
    pub eligible: bool,
    /// The warranty check, if given.
    pub warranty_check: Option<PolicyCheck>,
    /// The warranty's last day, if given.
    pub warranty_end: Option<NaiveDate>,
    /// The return-window check, if given.
    pub return_check: Option<PolicyCheck>,
    /// The return window's last day, if given.
    pub return_end: Option<NaiveDate>,
    /// The service approved, if other than requested.
    pub approved: Option<ServiceType>,
    /// Whether the customer pays.
    pub chargeable: bool,
    /// Why.
    pub reason: String,
}

/// A recorded review.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Review {
    /// Eligible or not.
    pub eligible: bool,
    /// Warranty check.
    pub warranty_check: PolicyCheck,
    /// Warranty's last day.
    pub warranty_end: NaiveDate,
    /// Return-window check.
    pub return_check: PolicyCheck,
    /// Return window's last day.
    pub return_end: NaiveDate,
    /// The service approved.
    pub approved: ServiceType,
    /// Whether the customer pays.
    pub chargeable: bool,
    /// Why.
    pub reason: String,
    /// Who.
    pub reviewer: Actor,
    /// When (UTC microseconds).
    pub time: i64,
}

/// A postal address.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Address {
    /// CLDR region code.
    pub region_code: String,
    /// Postal code.
    pub postal_code: String,
    /// Province or state.
    pub administrative_area: String,
    /// City.
    pub locality: String,
    /// District.
    pub sublocality: String,
    /// Street lines.
    pub address_lines: Vec<String>,
    /// Person to meet.
    pub recipient: String,
    /// Contact phone.
    pub phone_number: String,
}

/// How the service is carried out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Arrangement {
    /// The service arranged.
    pub service_type: ServiceType,
    /// Appointment window (UTC microseconds).
    pub appointment: Option<(i64, i64)>,
    /// Where.
    pub address: Option<Address>,
    /// The centre.
    pub service_centre: String,
    /// The technician, `agents/{agent}`.
    pub technician: String,
    /// Carrier.
    pub carrier: String,
    /// Tracking number.
    pub tracking_number: String,
    /// Instructions for the customer.
    pub instructions: String,
    /// Who.
    pub arranged_by: Option<Actor>,
    /// When.
    pub time: i64,
}

/// What was done.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Completion {
    /// Outcome.
    pub outcome: String,
    /// New serial number.
    pub replacement_serial_number: String,
    /// Refund reference.
    pub refund_reference: String,
    /// Files.
    pub attachments: Vec<Attachment>,
    /// Who.
    pub completed_by: Option<Actor>,
    /// When.
    pub time: i64,
}

/// The customer's confirmation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Confirmation {
    /// Satisfied or not.
    pub satisfied: bool,
    /// Comment.
    pub comment: String,
    /// Who.
    pub confirmed_by: Option<Actor>,
    /// When.
    pub time: i64,
}

/// One step of the flow.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Step {
    /// Which step.
    pub kind: StepKind,
    /// The state moved to.
    pub state: CaseState,
    /// Who.
    pub actor: Actor,
    /// One-line summary.
    pub summary: String,
    /// When.
    pub time: i64,
}

/// An after-sales case of a ticket.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AfterSalesCase {
    /// Its id.
    pub id: Uuid,
    /// The ticket.
    pub ticket: Uuid,
    /// The ticket's customer.
    pub customer: String,
    /// The ticket's region.
    pub region: String,
    /// The state.
    pub state: CaseState,
    /// The application.
    pub application: Application,
    /// The latest review.
    pub review: Option<Review>,
    /// The latest arrangement.
    pub arrangement: Option<Arrangement>,
    /// The completion.
    pub completion: Option<Completion>,
    /// The confirmation.
    pub confirmation: Option<Confirmation>,
    /// Why it was cancelled.
    pub cancel_reason: String,
    /// Every step.
    pub steps: Vec<Step>,
    /// Version behind the etag.
    pub version: i64,
    /// Created.
    pub create_time: i64,
    /// Last changed.
    pub update_time: i64,
}

fn summary(text: &str) -> String {
    text.chars().take(500).collect()
}

impl AfterSalesCase {
    /// Removes what the customer told about themselves (an erasure): the problem in their
    /// words, the proof of purchase, the visit address with its recipient and phone, their
    /// confirmation comment. The case's states, dates and decisions stay.
    pub fn erase_personal_data(&mut self) {
        self.application.problem = ERASED.to_owned();
        self.application.purchase_reference.clear();
        if let Some(arrangement) = self.arrangement.as_mut() {
            arrangement.address = None;
            arrangement.instructions.clear();
        }
        if let Some(confirmation) = self.confirmation.as_mut() {
            confirmation.comment.clear();
        }
    }

    /// A new case in `APPLIED` on `ticket` (of its customer and region); a closed ticket
    /// takes no after-sales case.
    pub fn apply(
        ticket: &Ticket,
        application: Application,
        actor: Actor,
        now: i64,
    ) -> Result<Self, DomainError> {
        if ticket.status == Status::Closed {
            return Err(DomainError::Refused {
                violation: "STATE",
                description: "a closed ticket takes no after-sales case".into(),
            });
        }
        let step = Step {
            kind: StepKind::Application,
            state: CaseState::Applied,
            actor,
            summary: summary(&application.problem),
            time: now,
        };
        Ok(Self {
            id: Uuid::now_v7(),
            ticket: ticket.id.0,
            customer: ticket.customer.to_string(),
            region: ticket.region.to_string(),
            state: CaseState::Applied,
            application,
            review: None,
            arrangement: None,
            completion: None,
            confirmation: None,
            cancel_reason: String::new(),
            steps: vec![step],
            version: 1,
            create_time: now,
            update_time: now,
        })
    }

    /// The resource name.
    pub fn name(&self) -> String {
        format!(
            "{}/afterSalesCases/{}",
            TicketId(self.ticket).name(),
            self.id
        )
    }

    /// The service in force: arranged, else approved, else requested.
    pub fn service_type(&self) -> ServiceType {
        self.arrangement
            .as_ref()
            .map(|a| a.service_type)
            .or_else(|| {
                self.review
                    .as_ref()
                    .filter(|r| r.eligible)
                    .map(|r| r.approved)
            })
            .unwrap_or(self.application.requested)
    }

    fn require(&self, version: i64, allowed: &[CaseState], what: &str) -> Result<(), DomainError> {
        if version != self.version {
            return Err(DomainError::StaleEtag);
        }
        if !allowed.contains(&self.state) {
            return Err(DomainError::Refused {
                violation: "CASE_STATE",
                description: format!("a {} case cannot be {what}", self.state),
            });
        }
        Ok(())
    }

    fn step(&mut self, kind: StepKind, state: CaseState, actor: Actor, text: &str, now: i64) {
        self.state = state;
        self.steps.push(Step {
            kind,
            state,
            actor,
            summary: summary(text),
            time: now,
        });
        self.update_time = now;
    }

    /// Records a review; checks and dates not given are computed from the purchase date
    /// and `policy` as of `today`.
    pub fn review(
        &mut self,
        version: i64,
        draft: ReviewDraft,
        policy: AfterSalesPolicy,
        today: NaiveDate,
        actor: Actor,
        now: i64,
    ) -> Result<(), DomainError> {
        self.require(
            version,
            &[CaseState::Applied, CaseState::Rejected],
            "reviewed",
        )?;
        let bought = self.application.purchase_date;
        let warranty_end = draft.warranty_end.unwrap_or_else(|| {
            bought
                .checked_add_months(Months::new(policy.warranty_months))
                .and_then(|d| d.pred_opt())
                .unwrap_or(bought)
        });
        let return_end = draft.return_end.unwrap_or_else(|| {
            bought + chrono::Duration::days(i64::from(policy.return_window_days))
        });
        let within = |end: NaiveDate| {
            if today <= end {
                PolicyCheck::Passed
            } else {
                PolicyCheck::Failed
            }
        };
        let returnable = matches!(
            self.application.requested,
            ServiceType::Return | ServiceType::Replacement
        );
        let review = Review {
            eligible: draft.eligible,
            warranty_check: draft.warranty_check.unwrap_or_else(|| within(warranty_end)),
            warranty_end,
            return_check: draft.return_check.unwrap_or(if returnable {
                within(return_end)
            } else {
                PolicyCheck::NotApplicable
            }),
            return_end,
            approved: draft.approved.unwrap_or(self.application.requested),
            chargeable: draft.chargeable,
            reason: draft.reason.clone(),
            reviewer: actor.clone(),
            time: now,
        };
        let state = if draft.eligible {
            CaseState::Approved
        } else {
            CaseState::Rejected
        };
        self.review = Some(review);
        self.step(StepKind::Review, state, actor, &draft.reason, now);
        Ok(())
    }

    /// Records an arrangement (or replaces it, or arranges rework).
    pub fn arrange(
        &mut self,
        version: i64,
        mut arrangement: Arrangement,
        actor: Actor,
        now: i64,
    ) -> Result<(), DomainError> {
        self.require(
            version,
            &[
                CaseState::Approved,
                CaseState::Arranged,
                CaseState::Dissatisfied,
            ],
            "arranged",
        )?;
        if let Some((start, _)) = arrangement.appointment
            && start <= now
        {
            return Err(DomainError::Invalid {
                field: "arrangement.appointment_start_time".into(),
                description: "must be in the future".into(),
            });
        }
        arrangement.arranged_by = Some(actor.clone());
        arrangement.time = now;
        let text = format!("{} arranged", arrangement.service_type);
        self.arrangement = Some(arrangement);
        self.step(
            StepKind::Arrangement,
            CaseState::Arranged,
            actor,
            &text,
            now,
        );
        Ok(())
    }

    /// Records the completion.
    pub fn complete(
        &mut self,
        version: i64,
        mut completion: Completion,
        actor: Actor,
        now: i64,
    ) -> Result<(), DomainError> {
        self.require(version, &[CaseState::Arranged], "completed")?;
        completion.completed_by = Some(actor.clone());
        completion.time = now;
        let text = completion.outcome.clone();
        self.completion = Some(completion);
        self.step(
            StepKind::Completion,
            CaseState::Completed,
            actor,
            &text,
            now,
        );
        Ok(())
    }

    /// Records the customer's confirmation (who and when are set here).
    pub fn confirm(
        &mut self,
        version: i64,
        mut confirmation: Confirmation,
        actor: Actor,
        now: i64,
    ) -> Result<(), DomainError> {
        self.require(version, &[CaseState::Completed], "confirmed")?;
        let state = if confirmation.satisfied {
            CaseState::Confirmed
        } else {
            CaseState::Dissatisfied
        };
        confirmation.confirmed_by = Some(actor.clone());
        confirmation.time = now;
        let text = confirmation.comment.clone();
        self.confirmation = Some(confirmation);
        self.step(StepKind::Confirmation, state, actor, &text, now);
        Ok(())
    }

    /// Cancels the case.
    pub fn cancel(
        &mut self,
        version: i64,
        reason: String,
        actor: Actor,
        now: i64,
    ) -> Result<(), DomainError> {
        let open: Vec<CaseState> = [
            CaseState::Applied,
            CaseState::Approved,
            CaseState::Rejected,
            CaseState::Arranged,
            CaseState::Completed,
            CaseState::Dissatisfied,
        ]
        .to_vec();
        self.require(version, &open, "cancelled")?;
        self.cancel_reason.clone_from(&reason);
        self.step(
            StepKind::Cancellation,
            CaseState::Cancelled,
            actor,
            &reason,
            now,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ticket::ActorKind;
    use crate::domain::{Channel, CustomerName, NewTicket, Region, TicketCustomer, WireEnum};

    const NOW: i64 = 1_764_000_000_000_000;

    fn actor() -> Actor {
        Actor {
            kind: ActorKind::Agent,
            id: "agents/a".into(),
            display_name: String::new(),
        }
    }

    fn ticket() -> Ticket {
        let new = NewTicket {
            channel: Channel::Web,
            identity: None,
            external_id: None,
            subject: "Washing machine".into(),
            description: "The drum does not spin".into(),
            kind: None,
            sub_kind: None,
            priority: None,
            product: Product::default(),
            region: Region::parse("eu-west").ok(),
            service_centre: None,
            language_code: None,
            assignee: None,
            team: None,
            tags: Default::default(),
        };
        let customer = TicketCustomer {
            name: CustomerName::parse("customers/c1").unwrap(),
            display_name: String::new(),
            tier: String::new(),
            region: None,
            created: false,
        };
        new.into_ticket(customer, actor(), None, NOW).0
    }

    fn application(requested: ServiceType, bought: NaiveDate) -> Application {
        Application {
            requested,
            product: Product {
                product_line: String::new(),
                model: "WM-9000".into(),
                serial_number: "SN1".into(),
            },
            purchase_date: bought,
            purchase_reference: String::new(),
            problem: "drum does not spin".into(),
            attachments: vec![],
        }
    }

    fn case(requested: ServiceType, bought: NaiveDate) -> AfterSalesCase {
        AfterSalesCase::apply(&ticket(), application(requested, bought), actor(), NOW).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn review(eligible: bool) -> ReviewDraft {
        ReviewDraft {
            eligible,
            warranty_check: None,
            warranty_end: None,
            return_check: None,
            return_end: None,
            approved: None,
            chargeable: false,
            reason: "checked".into(),
        }
    }

    fn arrangement() -> Arrangement {
        Arrangement {
            service_type: ServiceType::Repair,
            appointment: Some((NOW + 1_000_000, NOW + 2_000_000)),
            address: None,
            service_centre: String::new(),
            technician: String::new(),
            carrier: String::new(),
            tracking_number: String::new(),
            instructions: String::new(),
            arranged_by: None,
            time: 0,
        }
    }

    #[test]
    fn a_case_is_applied_for_on_any_ticket_but_a_closed_one() {
        let mut ticket = ticket();
        for status in Status::ALL.iter().copied() {
            ticket.status = status;
            let applied = AfterSalesCase::apply(
                &ticket,
                application(ServiceType::Repair, date(2026, 1, 10)),
                actor(),
                NOW,
            );
            if status == Status::Closed {
                assert_eq!(
                    applied,
                    Err(DomainError::Refused {
                        violation: "STATE",
                        description: "a closed ticket takes no after-sales case".into(),
                    })
                );
                continue;
            }
            let case = applied.unwrap();
            assert_eq!(
                (case.ticket, case.customer.as_str(), case.region.as_str()),
                (ticket.id.0, "customers/c1", "eu-west"),
                "{status}"
            );
            assert_eq!((case.state, case.version), (CaseState::Applied, 1));
            assert_eq!(case.steps.len(), 1);
        }
    }

    #[test]
    fn the_review_computes_warranty_and_return_windows() {
        let mut c = case(ServiceType::Return, date(2026, 1, 10));
        c.review(
            1,
            review(true),
            AfterSalesPolicy::default(),
            date(2026, 1, 15),
            actor(),
            NOW,
        )
        .unwrap();
        let r = c.review.clone().unwrap();
        assert_eq!(r.warranty_end, date(2027, 1, 9));
        assert_eq!(r.warranty_check, PolicyCheck::Passed);
        assert_eq!(r.return_end, date(2026, 1, 17));
        assert_eq!(r.return_check, PolicyCheck::Passed);
        assert_eq!(c.state, CaseState::Approved);
        let mut late = case(ServiceType::Repair, date(2024, 1, 10));
        late.review(
            1,
            review(false),
            AfterSalesPolicy::default(),
            date(2026, 1, 15),
            actor(),
            NOW,
        )
        .unwrap();
        let r = late.review.unwrap();
        assert_eq!(r.warranty_check, PolicyCheck::Failed);
        assert_eq!(r.return_check, PolicyCheck::NotApplicable);
        assert_eq!(late.state, CaseState::Rejected);
    }

    #[test]
    fn the_flow_runs_in_order_and_refuses_steps_out_of_order() {
        let mut c = case(ServiceType::Repair, date(2026, 1, 10));
        let etag = |c: &AfterSalesCase| c.version;
        assert!(matches!(
            c.complete(
                etag(&c),
                Completion {
                    outcome: "x".into(),
                    replacement_serial_number: String::new(),
                    refund_reference: String::new(),
                    attachments: vec![],
                    completed_by: None,
                    time: 0
                },
                actor(),
                NOW
            ),
            Err(DomainError::Refused {
                violation: "CASE_STATE",
                ..
            })
        ));
        assert_eq!(
            c.review(
                9,
                review(true),
                AfterSalesPolicy::default(),
                date(2026, 1, 15),
                actor(),
                NOW
            ),
            Err(DomainError::StaleEtag)
        );
        c.review(
            etag(&c),
            review(true),
            AfterSalesPolicy::default(),
            date(2026, 1, 15),
            actor(),
            NOW,
        )
        .unwrap();
        c.arrange(etag(&c), arrangement(), actor(), NOW).unwrap();
        assert_eq!(c.state, CaseState::Arranged);
        let past = Arrangement {
            appointment: Some((NOW - 1, NOW + 1)),
            ..arrangement()
        };
        assert!(matches!(
            c.arrange(etag(&c), past, actor(), NOW),
            Err(DomainError::Invalid { .. })
        ));
        let completion = Completion {
            outcome: "replaced the belt".into(),
            replacement_serial_number: String::new(),
            refund_reference: String::new(),
            attachments: vec![],
            completed_by: None,
            time: 0,
        };
        c.complete(etag(&c), completion, actor(), NOW).unwrap();
        let confirmation = Confirmation {
            satisfied: false,
            comment: "still noisy".into(),
            confirmed_by: None,
            time: 0,
        };
        c.confirm(etag(&c), confirmation, actor(), NOW).unwrap();
        assert_eq!(c.state, CaseState::Dissatisfied);
        assert_eq!(
            c.confirmation,
            Some(Confirmation {
                satisfied: false,
                comment: "still noisy".into(),
                confirmed_by: Some(actor()),
                time: NOW,
            })
        );
        c.arrange(etag(&c), arrangement(), actor(), NOW).unwrap();
        c.cancel(etag(&c), "customer withdrew".into(), actor(), NOW)
            .unwrap();
        assert_eq!(c.state, CaseState::Cancelled);
        assert!(c.cancel(etag(&c), "again".into(), actor(), NOW).is_err());
        let kinds: Vec<StepKind> = c.steps.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                StepKind::Application,
                StepKind::Review,
                StepKind::Arrangement,
                StepKind::Completion,
                StepKind::Confirmation,
                StepKind::Arrangement,
                StepKind::Cancellation
            ]
        );
    }
}

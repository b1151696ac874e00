//! What happened to a ticket: each [`Change`] becomes a history entry, an event and a change
//! on the watch stream.

use super::after_sales::AfterSalesCase;
use super::message::TicketMessage;
use super::sla::Target;
use super::ticket::{ChannelIdentity, Ticket};
use super::values::{
    CaseState, EscalationLevel, LinkType, SlaTrigger, Status, StepKind, TicketId, Visibility,
    WireEnum,
};

/// One field changed: old and new values rendered as text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldChange {
    /// The field path on `Ticket`.
    pub field: String,
    /// Before.
    pub old_value: String,
    /// After.
    pub new_value: String,
}

impl FieldChange {
    pub(crate) fn new(
        field: &str,
        old_value: impl Into<String>,
        new_value: impl Into<String>,
    ) -> Self {
        Self {
            field: field.to_owned(),
            old_value: old_value.into(),
            new_value: new_value.into(),
        }
    }
}

/// Something that happened to a ticket; each becomes a history entry, an event, and a
/// change on the watch stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The ticket was created.
    Created {
        /// The ticket it follows up, if any.
        follow_up_of: Option<TicketId>,
        /// Whether the customer was created for it.
        customer_created: bool,
        /// The identity the customer was resolved by.
        identity: Option<ChannelIdentity>,
    },
    /// The classifier set fields.
    Classified {
        /// What it set.
        fields: Vec<FieldChange>,
    },
    /// Descriptive fields changed.
    Updated {
        /// What changed.
        fields: Vec<FieldChange>,
    },
    /// The status changed.
    StatusChanged {
        /// Before.
        from: Status,
        /// After.
        to: Status,
        /// Why.
        reason: String,
    },
    /// The ticket was resolved.
    Resolved {
        /// Whether it had been reopened before.
        after_reopen: bool,
    },
    /// The ticket was reopened.
    Reopened {
        /// The status it was in.
        previous: Status,
        /// Why.
        reason: String,
        /// Whether a customer's reply reopened it.
        by_customer_reply: bool,
    },
    /// Assignee and/or team changed.
    Assigned {
        /// The previous assignee.
        previous_assignee: Option<String>,
        /// The previous team.
        previous_team: Option<String>,
        /// Why.
        reason: String,
        /// What changed.
        fields: Vec<FieldChange>,
        /// Whether the workforce service chose the agent (routing) rather than a person.
        auto_routed: bool,
    },
    /// The escalation level went up.
    Escalated {
        /// Before.
        previous: EscalationLevel,
        /// After.
        level: EscalationLevel,
        /// Why.
        reason: String,
        /// The SLA trigger that escalated it, if any.
        trigger: Option<SlaTrigger>,
    },
    /// Tags changed.
    TagsChanged {
        /// The `tags` change.
        fields: Vec<FieldChange>,
    },
    /// A message was added.
    MessageAdded {
        /// The message.
        message: Box<TicketMessage>,
        /// Whether it was the first public agent reply.
        first_response: bool,
    },
    /// The SLA clocks were paused or resumed.
    SlaPausedOrResumed {
        /// The `sla.paused` change.
        fields: Vec<FieldChange>,
    },
    /// An SLA policy was applied (or removed): targets and due times changed.
    SlaApplied {
        /// What changed.
        fields: Vec<FieldChange>,
    },
    /// A target passed its at-risk threshold.
    SlaAtRisk {
        /// Which target.
        target: Target,
        /// When it is due.
        due_time: i64,
        /// Wall-clock time left.
        remaining: i64,
        /// The threshold passed, percent.
        used_percent: u32,
    },
    /// A target was missed.
    SlaBreached {
        /// Which target.
        target: Target,
        /// When it was due.
        due_time: i64,
        /// When the breach was noticed.
        breach_time: i64,
    },
    /// A link to another ticket was added.
    Linked {
        /// The other ticket.
        other: TicketId,
        /// The link as seen from this ticket.
        link_type: LinkType,
    },
    /// A link to another ticket was removed.
    Unlinked {
        /// The other ticket.
        other: TicketId,
    },
    /// This ticket was merged into `target`.
    MergedInto {
        /// The surviving ticket.
        target: TicketId,
        /// Why.
        reason: String,
    },
    /// Other tickets were merged into this one.
    MergedFrom {
        /// The merged tickets, as they are after the merge.
        sources: Vec<Ticket>,
        /// Why.
        reason: String,
    },
    /// An after-sales case of the ticket was opened or moved on.
    AfterSalesCaseChanged {
        /// The case after the change.
        case: Box<AfterSalesCase>,
        /// Its state before (`None` when just opened).
        previous: Option<CaseState>,
        /// The step taken.
        step: StepKind,
    },
    /// An SLA rule notified a team queue.
    SlaTeamNotified {
        /// The team, `teams/{team}` (empty: the ticket has none).
        team: String,
        /// The trigger.
        trigger: SlaTrigger,
    },
}

/// What a change records in the ticket's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRecord {
    /// `HistoryEventKind` name without prefix.
    pub kind: &'static str,
    /// The fields changed.
    pub changes: Vec<FieldChange>,
    /// The reason given.
    pub reason: String,
    /// The message concerned, by name.
    pub message: String,
    /// The other ticket concerned, by name.
    pub related_ticket: String,
    /// The after-sales case concerned, by name.
    pub after_sales_case: String,
}

impl Change {
    /// The history entry this change records; `None` for the changes that only accompany
    /// another (resolving and reopening are recorded as their status change).
    pub fn history(&self) -> Option<HistoryRecord> {
        let record = |kind, changes: &[FieldChange], reason: &str| HistoryRecord {
            kind,
            changes: changes.to_vec(),
            reason: reason.to_owned(),
            message: String::new(),
            related_ticket: String::new(),
            after_sales_case: String::new(),
        };
        Some(match self {
            Self::Created { follow_up_of, .. } => HistoryRecord {
                related_ticket: follow_up_of.map(TicketId::name).unwrap_or_default(),
                ..record("CREATED", &[], "")
            },
            Self::Classified { fields } => record("CLASSIFIED", fields, ""),
            Self::Updated { fields } => record("UPDATED", fields, ""),
            Self::StatusChanged { from, to, reason } => record(
                "STATUS_CHANGED",
                &[FieldChange::new("status", from.as_str(), to.as_str())],
                reason,
            ),
            Self::Resolved { .. } | Self::Reopened { .. } => return None,
            Self::Assigned { fields, reason, .. } => record("ASSIGNED", fields, reason),
            Self::Escalated {
                previous,
                level,
                reason,
                ..
            } => record(
                "ESCALATED",
                &[FieldChange::new(
                    "escalation_level",
                    previous.as_str(),
                    level.as_str(),
                )],
                reason,
            ),
            Self::TagsChanged { fields } => record("TAGS_CHANGED", fields, ""),
            Self::MessageAdded { message, .. } => HistoryRecord {
                message: message.name(),
                ..record(
                    if message.visibility == Visibility::Public {
                        "REPLIED"
                    } else {
                        "NOTE_ADDED"
                    },
                    &[],
                    "",
                )
            },
            Self::SlaPausedOrResumed { fields } => record("SLA_PAUSED_OR_RESUMED", fields, ""),
            Self::SlaApplied { fields } => record("SLA_APPLIED", fields, ""),
            Self::AfterSalesCaseChanged {
                case,
                previous,
                step,
                ..
            } => HistoryRecord {
                after_sales_case: case.name(),
                ..record(
                    "AFTER_SALES_CASE_CHANGED",
                    &[FieldChange::new(
                        "after_sales_case.state",
                        previous.map(|p| p.as_str()).unwrap_or_default(),
                        case.state.as_str(),
                    )],
                    step.as_str(),
                )
            },
            Self::Linked { other, link_type } => HistoryRecord {
                related_ticket: other.name(),
                ..record("LINKED", &[], link_type.as_str())
            },
            Self::Unlinked { other } => HistoryRecord {
                related_ticket: other.name(),
                ..record("UNLINKED", &[], "")
            },
            Self::MergedInto { target, reason } => HistoryRecord {
                related_ticket: target.name(),
                ..record(
                    "MERGED_INTO",
                    &[FieldChange::new("merged_into", "", target.name())],
                    reason,
                )
            },
            Self::MergedFrom { sources, reason } => HistoryRecord {
                related_ticket: sources
                    .iter()
                    .map(Ticket::name)
                    .collect::<Vec<_>>()
                    .join(","),
                ..record("MERGED_FROM", &[], reason)
            },
            Self::SlaAtRisk { target, .. } => record(
                "SLA_AT_RISK",
                &[FieldChange::new(target.at_risk_field(), "false", "true")],
                "",
            ),
            Self::SlaBreached { target, .. } => record(
                "SLA_BREACHED",
                &[FieldChange::new(target.breached_field(), "false", "true")],
                "",
            ),
            Self::SlaTeamNotified { team, trigger } => record(
                if matches!(
                    trigger,
                    SlaTrigger::FirstResponseAtRisk | SlaTrigger::ResolutionAtRisk
                ) {
                    "SLA_AT_RISK"
                } else {
                    "SLA_BREACHED"
                },
                &[],
                &format!("notified {team}"),
            ),
        })
    }
}

//! The status machine (the table on `TicketStatus` in the contract):
//!
//! | from                          | to                     | by                                   |
//! |-------------------------------|------------------------|--------------------------------------|
//! | NEW                           | OPEN, PENDING, ON_HOLD | ChangeTicketStatus                   |
//! | OPEN, PENDING, ON_HOLD        | OPEN, PENDING, ON_HOLD | ChangeTicketStatus                   |
//! | NEW, OPEN, PENDING, ON_HOLD   | RESOLVED               | ResolveTicket                        |
//! | RESOLVED                      | CLOSED                 | CloseTicket                          |
//! | NEW, OPEN, PENDING, ON_HOLD   | CLOSED                 | CloseTicket with a reason; a merge   |
//! | RESOLVED, CLOSED (not merged) | OPEN                   | ReopenTicket                         |
//!
//! and the implicit moves: NEW → OPEN when an agent is assigned or first replies publicly;
//! PENDING → OPEN and RESOLVED → OPEN on a customer's public reply. Anything else is refused.

use super::values::Status;

/// A request to move a ticket's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// ChangeTicketStatus to a working status (`OPEN`, `PENDING`, `ON_HOLD`).
    Change(Status),
    /// ResolveTicket.
    Resolve,
    /// CloseTicket; `with_reason` when a reason was given.
    Close {
        /// Whether a reason was given.
        with_reason: bool,
    },
    /// ReopenTicket; `merged` when the ticket was merged into another.
    Reopen {
        /// Whether the ticket was merged into another.
        merged: bool,
    },
    /// Closing a source ticket of a merge.
    MergeAway,
    /// An agent was assigned.
    AgentAssigned,
    /// An agent replied publicly.
    AgentReplied,
    /// The customer replied publicly.
    CustomerReplied,
}

/// Why a transition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionRefused {
    /// The move is not in the table.
    #[error("a {from} ticket cannot move to {to}")]
    NotAllowed {
        /// The current status.
        from: Status,
        /// The status asked for.
        to: Status,
    },
    /// Closing an unresolved ticket needs a reason.
    #[error("closing a ticket that is not resolved needs a reason")]
    ReasonRequired,
    /// A merged ticket stays closed.
    #[error("a ticket merged into another cannot be reopened")]
    Merged,
    /// Only working statuses can be set with ChangeTicketStatus.
    #[error("{0} is not a working status: use ResolveTicket, CloseTicket or ReopenTicket")]
    NotAWorkingStatus(Status),
}

impl Transition {
    /// The status a ticket in `from` moves to, or why it may not. `Ok(from)` means the
    /// transition applies but changes nothing (setting the current status; implicit moves
    /// that do not apply).
    pub fn apply(self, from: Status) -> Result<Status, TransitionRefused> {
        use Status::*;
        let refuse = |to| Err(TransitionRefused::NotAllowed { from, to });
        match self {
            Self::Change(to) => {
                if !matches!(to, Open | Pending | OnHold) {
                    return Err(TransitionRefused::NotAWorkingStatus(to));
                }
                if from.is_open() { Ok(to) } else { refuse(to) }
            }
            Self::Resolve => {
                if from.is_open() {
                    Ok(Resolved)
                } else {
                    refuse(Resolved)
                }
            }
            Self::Close { with_reason } => match from {
                Resolved => Ok(Closed),
                _ if from.is_open() && with_reason => Ok(Closed),
                _ if from.is_open() => Err(TransitionRefused::ReasonRequired),
                _ => refuse(Closed),
            },
            Self::Reopen { merged } => match from {
                Resolved | Closed if merged => Err(TransitionRefused::Merged),
                Resolved | Closed => Ok(Open),
                _ => refuse(Open),
            },
            Self::MergeAway => {
                if from.is_open() {
                    Ok(Closed)
                } else {
                    refuse(Closed)
                }
            }
            Self::AgentAssigned | Self::AgentReplied => Ok(if from == New { Open } else { from }),
            Self::CustomerReplied => match from {
                Pending | Resolved => Ok(Open),
                Closed => refuse(Open),
                other => Ok(other),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::values::WireEnum;
    use Status::*;

    fn allowed(transition: Transition, from: Status) -> Option<Status> {
        transition.apply(from).ok()
    }

    #[test]
    fn change_moves_between_working_statuses_only() {
        for from in Status::ALL {
            for to in [Open, Pending, OnHold] {
                let expected = from.is_open().then_some(to);
                assert_eq!(
                    allowed(Transition::Change(to), *from),
                    expected,
                    "{from} -> {to}"
                );
            }
            for to in [New, Resolved, Closed] {
                assert_eq!(
                    Transition::Change(to).apply(*from),
                    Err(TransitionRefused::NotAWorkingStatus(to))
                );
            }
        }
    }

    #[test]
    fn resolve_is_allowed_from_every_open_status_and_nothing_else() {
        for from in [New, Open, Pending, OnHold] {
            assert_eq!(allowed(Transition::Resolve, from), Some(Resolved));
        }
        for from in [Resolved, Closed] {
            assert_eq!(
                Transition::Resolve.apply(from),
                Err(TransitionRefused::NotAllowed { from, to: Resolved })
            );
        }
    }

    #[test]
    fn close_needs_a_reason_unless_resolved() {
        assert_eq!(
            allowed(Transition::Close { with_reason: false }, Resolved),
            Some(Closed)
        );
        for from in [New, Open, Pending, OnHold] {
            assert_eq!(
                Transition::Close { with_reason: false }.apply(from),
                Err(TransitionRefused::ReasonRequired)
            );
            assert_eq!(
                allowed(Transition::Close { with_reason: true }, from),
                Some(Closed)
            );
        }
        assert!(
            Transition::Close { with_reason: true }
                .apply(Closed)
                .is_err()
        );
    }

    #[test]
    fn reopen_is_allowed_from_resolved_and_closed_unless_merged() {
        for from in [Resolved, Closed] {
            assert_eq!(
                allowed(Transition::Reopen { merged: false }, from),
                Some(Open)
            );
            assert_eq!(
                Transition::Reopen { merged: true }.apply(from),
                Err(TransitionRefused::Merged)
            );
        }
        for from in [New, Open, Pending, OnHold] {
            assert!(Transition::Reopen { merged: false }.apply(from).is_err());
        }
    }

    #[test]
    fn merging_closes_open_tickets_only() {
        for from in [New, Open, Pending, OnHold] {
            assert_eq!(allowed(Transition::MergeAway, from), Some(Closed));
        }
        for from in [Resolved, Closed] {
            assert!(Transition::MergeAway.apply(from).is_err());
        }
    }

    #[test]
    fn implicit_moves_follow_the_table() {
        assert_eq!(allowed(Transition::AgentAssigned, New), Some(Open));
        assert_eq!(allowed(Transition::AgentAssigned, Pending), Some(Pending));
        assert_eq!(allowed(Transition::AgentReplied, New), Some(Open));
        assert_eq!(allowed(Transition::AgentReplied, OnHold), Some(OnHold));
        assert_eq!(allowed(Transition::CustomerReplied, Pending), Some(Open));
        assert_eq!(allowed(Transition::CustomerReplied, Resolved), Some(Open));
        assert_eq!(allowed(Transition::CustomerReplied, OnHold), Some(OnHold));
        assert_eq!(allowed(Transition::CustomerReplied, New), Some(New));
        assert!(Transition::CustomerReplied.apply(Closed).is_err());
    }
}

//! The loyalty ledger: append-only entries, each with a reason, and a balance that never
//! goes below zero.

use aftercare_platform::error::FieldViolations;
use aftercare_platform::time::Micros;
use uuid::Uuid;

use super::DomainError;
use super::customer::bounded_text;

pub(crate) use super::wire::{Actor, LoyaltyKind as Kind};

/// ISO 4217 code of the loyalty currency, the unit of every `spend_minor`.
pub(crate) const CURRENCY_CODE: &str = "EUR";

/// What a caller asks to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewEntry {
    /// The kind.
    pub(crate) kind: Kind,
    /// Signed points.
    pub(crate) points: i64,
    /// Why; 1 to 500 characters.
    pub(crate) reason: String,
    /// What caused it; at most 200 characters.
    pub(crate) reference: String,
    /// Amount spent (EARN only), minor units.
    pub(crate) spend_minor: i64,
}

impl NewEntry {
    /// Checks an entry as sent, reporting problems under `path` (`entry`).
    pub(crate) fn parse(
        kind: i32,
        points: i64,
        reason: &str,
        reference: &str,
        spend_minor: i64,
        path: &str,
        violations: &mut FieldViolations,
    ) -> Option<Self> {
        let kind = match Kind::try_from(kind) {
            Ok(Kind::Unspecified) => {
                violations.add(format!("{path}.kind"), "is required");
                None
            }
            Ok(kind) => Some(kind),
            Err(_) => {
                violations.add(format!("{path}.kind"), format!("unknown kind {kind}"));
                None
            }
        };
        if let Some(kind) = kind
            && let Err(err) = check_points(kind, points)
        {
            violations.add(format!("{path}.points"), err);
        }
        let reason = match bounded_text(reason, 500) {
            Ok(reason) if reason.is_empty() => {
                violations.add(format!("{path}.reason"), "is required");
                None
            }
            Ok(reason) => Some(reason),
            Err(err) => {
                violations.add(format!("{path}.reason"), err);
                None
            }
        };
        let reference =
            violations.check(&format!("{path}.reference"), bounded_text(reference, 200));
        if spend_minor < 0 {
            violations.add(format!("{path}.spend_minor"), "must not be negative");
        } else if spend_minor > 0 && kind.is_some_and(|k| k != Kind::Earn) {
            violations.add(
                format!("{path}.spend_minor"),
                "only EARN entries record a spend",
            );
        }
        Some(Self {
            kind: kind?,
            points,
            reason: reason?,
            reference: reference?,
            spend_minor,
        })
    }
}

/// The sign rule of each kind: EARN > 0, REDEEM and EXPIRE < 0, ADJUST non-zero.
pub(crate) fn check_points(kind: Kind, points: i64) -> Result<(), String> {
    let ok = match kind {
        Kind::Earn => points > 0,
        Kind::Redeem | Kind::Expire => points < 0,
        Kind::Adjust => points != 0,
        Kind::Unspecified => false,
    };
    if ok {
        Ok(())
    } else {
        Err(match kind {
            Kind::Earn => "EARN entries add points: must be > 0".into(),
            Kind::Redeem | Kind::Expire => {
                "REDEEM and EXPIRE entries take points: must be < 0".into()
            }
            _ => "must not be 0".into(),
        })
    }
}

/// The balance after adding `points` to `balance`, or why the ledger refuses it.
pub(crate) fn next_balance(balance: i64, points: i64) -> Result<i64, String> {
    match balance.checked_add(points) {
        Some(next) if next >= 0 => Ok(next),
        Some(_) => Err(format!(
            "the balance is {balance} points: {points} would make it negative"
        )),
        None => Err("the balance would overflow".into()),
    }
}

/// Why the ledger refuses to add `points` to `balance`: it would go negative or overflow;
/// when the balance allows it after all, it changed concurrently (the conditional update
/// that refused it saw another).
pub(crate) fn refusal(balance: i64, points: i64) -> DomainError {
    DomainError::Refused {
        violation: "BALANCE",
        description: next_balance(balance, points)
            .err()
            .unwrap_or_else(|| "the balance changed concurrently; retry".into()),
    }
}

/// A recorded entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoyaltyEntry {
    /// Its id.
    pub(crate) id: Uuid,
    /// The customer.
    pub(crate) customer: Uuid,
    /// What it records.
    pub(crate) entry: NewEntry,
    /// The balance right after it.
    pub(crate) balance_after: i64,
    /// Who recorded it.
    pub(crate) actor: Option<Actor>,
    /// When.
    pub(crate) create_time: Micros,
}

impl LoyaltyEntry {
    /// `entry` recorded for `customer` by `actor` at `now`, leaving `balance_after`.
    pub(crate) fn new(
        customer: Uuid,
        entry: NewEntry,
        balance_after: i64,
        actor: Actor,
        now: Micros,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            customer,
            entry,
            balance_after,
            actor: Some(actor),
            create_time: now,
        }
    }
}

/// A customer's totals, derived from the ledger.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Balance {
    /// Points available.
    pub(crate) balance: i64,
    /// Sum of EARN points.
    pub(crate) lifetime_earned: i64,
    /// Sum of REDEEM points, positive.
    pub(crate) lifetime_redeemed: i64,
    /// Sum of EXPIRE points, positive.
    pub(crate) lifetime_expired: i64,
    /// Sum of spend.
    pub(crate) lifetime_spend_minor: i64,
    /// Time of the latest entry.
    pub(crate) last_entry_time: Option<Micros>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_sign() {
        assert!(check_points(Kind::Earn, 10).is_ok());
        assert!(check_points(Kind::Earn, -10).is_err());
        assert!(check_points(Kind::Redeem, -10).is_ok());
        assert!(check_points(Kind::Redeem, 10).is_err());
        assert!(check_points(Kind::Expire, 0).is_err());
        assert!(check_points(Kind::Adjust, -3).is_ok());
        assert!(check_points(Kind::Adjust, 0).is_err());
    }

    #[test]
    fn the_balance_never_goes_negative_or_overflows() {
        assert_eq!(next_balance(100, -100), Ok(0));
        assert!(next_balance(100, -101).is_err());
        assert!(next_balance(i64::MAX, 1).is_err());
    }

    #[test]
    fn an_overdraft_is_refused_with_the_balance() {
        assert_eq!(
            refusal(100, -101),
            DomainError::Refused {
                violation: "BALANCE",
                description: "the balance is 100 points: -101 would make it negative".into(),
            }
        );
        assert!(matches!(
            refusal(100, -10),
            DomainError::Refused { description, .. } if description.contains("concurrently")
        ));
    }

    #[test]
    fn every_bad_field_of_an_entry_is_reported() {
        let mut violations = FieldViolations::new();
        let entry = NewEntry::parse(2, 50, " ", &"r".repeat(201), 10, "entry", &mut violations);
        assert!(entry.is_none());
        let fields: Vec<_> = violations
            .violations()
            .iter()
            .map(|v| v.field.clone())
            .collect();
        assert_eq!(
            fields,
            [
                "entry.points",
                "entry.reason",
                "entry.reference",
                "entry.spend_minor"
            ]
        );
    }
}

//! The workforce domain: types and rules, without proto, SQL, tokio or tonic.

pub mod access;
pub mod agent;
pub mod names;
pub mod performance;
pub mod routing;
pub mod shift;
pub mod skill;
pub mod team;
pub mod training;
pub mod values;

/// Why the domain refused a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The change was made against another version than the current one (a stale etag).
    Stale,
    /// The resource's state does not allow it.
    State(&'static str),
}

/// Refuses a change made against version `sent` of a resource now at `current`.
pub fn check_version(current: i64, sent: i64) -> Result<(), Refused> {
    if current == sent {
        Ok(())
    } else {
        Err(Refused::Stale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_against_another_version_is_stale() {
        assert_eq!(check_version(3, 3), Ok(()));
        assert_eq!(check_version(3, 2), Err(Refused::Stale));
        assert_eq!(check_version(3, 4), Err(Refused::Stale));
    }
}

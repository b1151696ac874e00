//! Contact consents: the latest decision per channel and purpose wins.

use aftercare_platform::time::Micros;
use uuid::Uuid;

use super::DomainError;

pub(crate) use super::wire::{Actor, Channel, Purpose, State};

/// How far in the future a decision time may be (clock skew between callers).
const MAX_SKEW_MICROS: Micros = 60_000_000;

/// A decision as a caller records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
    /// The channel (never unspecified).
    pub(crate) channel: Channel,
    /// The purpose (never unspecified).
    pub(crate) purpose: Purpose,
    /// Granted or withdrawn.
    pub(crate) state: State,
    /// Where it came from; 1 to 200 characters.
    pub(crate) source: String,
    /// When the customer decided; `None` means now.
    pub(crate) decide_time: Option<Micros>,
}

/// A recorded consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Consent {
    /// The customer.
    pub(crate) customer: Uuid,
    /// The channel.
    pub(crate) channel: Channel,
    /// The purpose.
    pub(crate) purpose: Purpose,
    /// The state.
    pub(crate) state: State,
    /// Where the decision came from.
    pub(crate) source: String,
    /// When the customer decided.
    pub(crate) decide_time: Micros,
    /// Who recorded it.
    pub(crate) actor: Option<Actor>,
    /// Version counter.
    pub(crate) version: i64,
    /// First recorded.
    pub(crate) create_time: Micros,
    /// Latest recorded.
    pub(crate) update_time: Micros,
}

impl Consent {
    /// The id in its resource name: `{channel}-{purpose}` in lower case (`email-marketing`).
    pub(crate) fn id(&self) -> String {
        consent_id(self.channel, self.purpose)
    }
}

/// `{channel}-{purpose}` in lower case, enum prefixes dropped.
pub(crate) fn consent_id(channel: Channel, purpose: Purpose) -> String {
    format!(
        "{}-{}",
        channel.as_str_name().trim_start_matches("CHANNEL_"),
        purpose.as_str_name().trim_start_matches("CONSENT_PURPOSE_")
    )
    .to_lowercase()
}

/// A decision recorded: the consent to store and the state it replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConsentChange {
    /// The consent as it is to be stored.
    pub(crate) consent: Consent,
    /// The state recorded before (`Unspecified` for a first decision).
    pub(crate) previous_state: State,
    /// Whether the state changed (or was recorded for the first time): only then is the
    /// change announced.
    pub(crate) changed: bool,
}

/// Records `decision` over `existing` at `now`: the consent to store, and whether its state
/// changed (or was recorded for the first time). A decision in the future is invalid
/// (`decide_time`); one older than the recorded one is refused (the latest decision wins).
pub(crate) fn decide(
    customer: Uuid,
    existing: Option<&Consent>,
    decision: Decision,
    actor: Actor,
    now: Micros,
) -> Result<ConsentChange, DomainError> {
    let decide_time = decision.decide_time.unwrap_or(now);
    if decide_time > now + MAX_SKEW_MICROS {
        return Err(DomainError::Invalid {
            field: "decide_time".into(),
            description: "must not be in the future".into(),
        });
    }
    match existing {
        Some(current) if decide_time < current.decide_time => Err(DomainError::Refused {
            violation: "STATE",
            description: "a later decision is already recorded for this channel and purpose (the latest decision wins)".into(),
        }),
        Some(current) => Ok(ConsentChange {
            consent: Consent {
                state: decision.state,
                source: decision.source,
                decide_time,
                actor: Some(actor),
                version: current.version + 1,
                update_time: now,
                ..current.clone()
            },
            previous_state: current.state,
            changed: current.state != decision.state,
        }),
        None => Ok(ConsentChange {
            consent: Consent {
                customer,
                channel: decision.channel,
                purpose: decision.purpose,
                state: decision.state,
                source: decision.source,
                decide_time,
                actor: Some(actor),
                version: 1,
                create_time: now,
                update_time: now,
            },
            previous_state: State::Unspecified,
            changed: true,
        }),
    }
}

/// The survivor's consents after a merge: for each channel and purpose, the latest decision
/// of either customer. Returns the ones to store for the survivor.
pub(crate) fn merge_consents(survivor: Uuid, mine: &[Consent], theirs: &[Consent]) -> Vec<Consent> {
    theirs
        .iter()
        .filter(|candidate| {
            !mine.iter().any(|current| {
                current.channel == candidate.channel
                    && current.purpose == candidate.purpose
                    && current.decide_time >= candidate.decide_time
            })
        })
        .map(|candidate| Consent {
            customer: survivor,
            ..candidate.clone()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(state: State, at: Option<Micros>) -> Decision {
        Decision {
            channel: Channel::Email,
            purpose: Purpose::Marketing,
            state,
            source: "portal".into(),
            decide_time: at,
        }
    }

    #[test]
    fn the_latest_decision_wins_and_older_ones_are_refused() {
        let id = Uuid::now_v7();
        let first = decide(
            id,
            None,
            decision(State::Granted, Some(100)),
            Actor::default(),
            1_000,
        )
        .unwrap();
        assert!(first.changed);
        assert_eq!(first.previous_state, State::Unspecified);
        let first = first.consent;
        assert_eq!(first.id(), "email-marketing");
        let same = decide(
            id,
            Some(&first),
            decision(State::Granted, Some(200)),
            Actor::default(),
            1_000,
        )
        .unwrap();
        assert!(!same.changed);
        let same = same.consent;
        assert_eq!(same.decide_time, 200);
        assert!(matches!(
            decide(
                id,
                Some(&same),
                decision(State::Withdrawn, Some(150)),
                Actor::default(),
                1_000
            ),
            Err(DomainError::Refused {
                violation: "STATE",
                ..
            })
        ));
        let withdrawn = decide(
            id,
            Some(&same),
            decision(State::Withdrawn, None),
            Actor::default(),
            1_000,
        )
        .unwrap();
        assert!(withdrawn.changed);
        assert_eq!(withdrawn.previous_state, State::Granted);
        assert_eq!(withdrawn.consent.decide_time, 1_000);
        assert!(matches!(
            decide(
                id,
                None,
                decision(State::Granted, Some(1_000 + 61_000_000)),
                Actor::default(),
                1_000
            ),
            Err(DomainError::Invalid { field, .. }) if field == "decide_time"
        ));
    }

    #[test]
    fn merging_keeps_the_latest_decision_per_channel_and_purpose() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let mine = decide(
            a,
            None,
            decision(State::Granted, Some(10)),
            Actor::default(),
            100,
        )
        .unwrap()
        .consent;
        let newer = decide(
            b,
            None,
            decision(State::Withdrawn, Some(20)),
            Actor::default(),
            100,
        )
        .unwrap()
        .consent;
        let mut other = decision(State::Granted, Some(5));
        other.purpose = Purpose::Survey;
        let survey = decide(b, None, other, Actor::default(), 100)
            .unwrap()
            .consent;
        let merged = merge_consents(a, &[mine], &[newer, survey]);
        assert_eq!(merged.len(), 2);
        assert!(merged.iter().all(|c| c.customer == a));
        assert_eq!(merged[0].state, State::Withdrawn);
    }
}

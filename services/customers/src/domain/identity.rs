//! Channel identities: how a customer is known on one channel, normalised so that one
//! person's address always matches itself.

use aftercare_platform::error::FieldViolations;
use aftercare_platform::time::Micros;
use uuid::Uuid;

use super::customer::Channel;
use super::values::{EmailAddress, PhoneNumber};

pub(crate) use super::wire::VerificationMethod;

/// What makes an identity unique across the platform: channel, provider, normalised handle.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct IdentityKey {
    /// The channel (never unspecified).
    pub(crate) channel: Channel,
    /// The network or system for chat, social and API handles; empty otherwise.
    pub(crate) provider: String,
    /// The normalised handle.
    pub(crate) handle: String,
}

impl IdentityKey {
    /// Parses a channel, handle and provider as sent, reporting problems under `path`
    /// (`identity` gives `identity.handle`).
    pub(crate) fn parse(
        channel: i32,
        handle: &str,
        provider: &str,
        path: &str,
        violations: &mut FieldViolations,
    ) -> Option<Self> {
        let channel = match Channel::try_from(channel) {
            Ok(Channel::Unspecified) => {
                violations.add(format!("{path}.channel"), "is required");
                None
            }
            Ok(channel) => Some(channel),
            Err(_) => {
                violations.add(
                    format!("{path}.channel"),
                    format!("unknown channel {channel}"),
                );
                None
            }
        }?;
        let handle = violations.check(&format!("{path}.handle"), normalise_handle(channel, handle));
        let provider = violations.check(
            &format!("{path}.provider"),
            normalise_provider(channel, provider),
        );
        Some(Self {
            channel,
            provider: provider?,
            handle: handle?,
        })
    }
}

impl IdentityKey {
    /// How the identity is named in errors: `EMAIL:li@example.com`.
    pub(crate) fn describe(&self) -> String {
        let channel = self.channel.as_str_name().trim_start_matches("CHANNEL_");
        if self.provider.is_empty() {
            format!("{channel}:{}", self.handle)
        } else {
            format!("{channel}:{}:{}", self.provider, self.handle)
        }
    }
}

/// The handle as stored: emails lower-cased, phones in E.164, anything else trimmed.
pub(crate) fn normalise_handle(channel: Channel, handle: &str) -> Result<String, String> {
    match channel {
        Channel::Email => EmailAddress::parse(handle).map(String::from),
        Channel::Phone => PhoneNumber::parse(handle).map(String::from),
        _ => {
            let handle = handle.trim();
            if handle.is_empty() || handle.chars().count() > 320 {
                Err("must be 1 to 320 characters".into())
            } else if handle.chars().any(char::is_control) {
                Err("must not contain control characters".into())
            } else {
                Ok(handle.to_owned())
            }
        }
    }
}

/// The provider as stored: lower-cased; only chat, social and API handles have one.
pub(crate) fn normalise_provider(channel: Channel, provider: &str) -> Result<String, String> {
    let provider = provider.trim().to_lowercase();
    if provider.is_empty() {
        return Ok(provider);
    }
    if !matches!(channel, Channel::Chat | Channel::Social | Channel::Api) {
        return Err("only chat, social and API identities have a provider".into());
    }
    let valid = provider.len() <= 64
        && provider
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(provider)
    } else {
        Err("must be at most 64 letters, digits, `-`, `_` or `.`".into())
    }
}

/// A stored identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    /// Its id.
    pub(crate) id: Uuid,
    /// The customer owning it.
    pub(crate) customer: Uuid,
    /// Channel, provider and handle.
    pub(crate) key: IdentityKey,
    /// When it was verified, and how; `None` while unverified.
    pub(crate) verification: Option<(Micros, VerificationMethod)>,
    /// True for an identity a customer added to their own record (themselves, or through
    /// another service on their behalf) that staff have not verified: a claim, not proof. A
    /// claim never resolves a contact (`ResolveIdentity` skips it), may name an address that
    /// another customer owns (so adding one tells a customer nothing about anyone else), and
    /// becomes a real identity when verified.
    pub(crate) claimed: bool,
    /// Version counter.
    pub(crate) version: i64,
    /// When it was added.
    pub(crate) create_time: Micros,
    /// Last change.
    pub(crate) update_time: Micros,
}

impl Identity {
    /// A new, unverified identity of `customer`.
    pub(crate) fn new(customer: Uuid, key: IdentityKey, now: Micros) -> Self {
        Self {
            id: Uuid::now_v7(),
            customer,
            key,
            verification: None,
            claimed: false,
            version: 1,
            create_time: now,
            update_time: now,
        }
    }

    /// A customer's unverified claim to `key` (see [`Identity::claimed`]).
    pub(crate) fn claim(customer: Uuid, key: IdentityKey, now: Micros) -> Self {
        Self {
            claimed: true,
            ..Self::new(customer, key, now)
        }
    }

    /// Marks it verified by `method` at `now` (a claim becomes a real identity); verifying
    /// again keeps the first time and method. Returns whether anything changed.
    pub(crate) fn verify(&mut self, method: VerificationMethod, now: Micros) -> bool {
        if self.verification.is_some() {
            return false;
        }
        self.verification = Some((now, method));
        self.claimed = false;
        self.version += 1;
        self.update_time = now;
        true
    }
}

/// What adding an identity to a customer comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Addition {
    /// The customer has it already: answered as it is.
    Existing(Identity),
    /// Another customer owns it: merge the two instead.
    Taken,
    /// A new identity (replacing the customer's own claim to it) or claim to store.
    New(Identity),
}

/// Adds `key` to `customer` at `now`, given the customer's own identity or claim with that
/// key (`own`) and the identity with it, whoever owns it (`owner`). A customer's own
/// addition (`by_customer`) is a claim: stored unverified, never used to resolve a contact
/// until staff verify it, and answered alike whether or not another customer owns the
/// address. Staff add a real identity, refused when another customer owns it.
pub(crate) fn add(
    customer: Uuid,
    key: IdentityKey,
    by_customer: bool,
    own: Option<Identity>,
    owner: Option<Identity>,
    now: Micros,
) -> Addition {
    if by_customer {
        return match own {
            Some(existing) => Addition::Existing(existing),
            None => Addition::New(Identity::claim(customer, key, now)),
        };
    }
    match owner {
        Some(existing) if existing.customer == customer => Addition::Existing(existing),
        Some(_) => Addition::Taken,
        None => Addition::New(Identity::new(customer, key, now)),
    }
}

impl Identity {
    /// Whether verifying this identity is refused because it is a claim to a key that
    /// another customer owns (`owner`, the identity with the key).
    pub(crate) fn claims_anothers(&self, owner: Option<&Identity>) -> bool {
        self.claimed && owner.is_some_and(|owner| owner.customer != self.customer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(channel: Channel, handle: &str, provider: &str) -> Result<IdentityKey, Vec<String>> {
        let mut violations = FieldViolations::new();
        let key = IdentityKey::parse(
            channel as i32,
            handle,
            provider,
            "identity",
            &mut violations,
        );
        match key {
            Some(key) if violations.is_empty() => Ok(key),
            _ => Err(violations
                .violations()
                .iter()
                .map(|v| v.field.clone())
                .collect()),
        }
    }

    #[test]
    fn handles_are_normalised_per_channel() {
        assert_eq!(
            parse(Channel::Email, " Li@Example.COM", "").unwrap().handle,
            "li@example.com"
        );
        assert_eq!(
            parse(Channel::Phone, "+86 138-0013-8000", "")
                .unwrap()
                .handle,
            "+8613800138000"
        );
        let social = parse(Channel::Social, " wxid_Li ", "WeChat").unwrap();
        assert_eq!(
            (social.handle.as_str(), social.provider.as_str()),
            ("wxid_Li", "wechat")
        );
    }

    #[test]
    fn bad_identities_name_every_bad_field() {
        assert_eq!(
            parse(Channel::Unspecified, "x", "").unwrap_err(),
            ["identity.channel"]
        );
        assert_eq!(
            parse(Channel::Email, "not-an-email", "gmail").unwrap_err(),
            ["identity.handle", "identity.provider"]
        );
        assert_eq!(
            parse(Channel::Chat, "  ", "").unwrap_err(),
            ["identity.handle"]
        );
    }

    #[test]
    fn verifying_twice_keeps_the_first_verification() {
        let key = parse(Channel::Email, "li@example.com", "").unwrap();
        let mut identity = Identity::new(Uuid::now_v7(), key, 1);
        assert!(identity.verify(VerificationMethod::OneTimeCode, 5));
        assert!(!identity.verify(VerificationMethod::AgentConfirmed, 9));
        assert_eq!(
            identity.verification,
            Some((5, VerificationMethod::OneTimeCode))
        );
        assert_eq!(identity.version, 2);
    }

    #[test]
    fn a_claim_becomes_a_real_identity_when_verified() {
        let key = parse(Channel::Email, "li@example.com", "").unwrap();
        let mut claim = Identity::claim(Uuid::now_v7(), key, 1);
        assert!(claim.claimed && claim.verification.is_none());
        assert!(claim.verify(VerificationMethod::AgentConfirmed, 2));
        assert!(!claim.claimed);
    }
}

#[cfg(test)]
mod addition_tests {
    use super::*;

    fn key() -> IdentityKey {
        IdentityKey {
            channel: Channel::Email,
            provider: String::new(),
            handle: "li@example.com".into(),
        }
    }

    #[test]
    fn a_customers_addition_is_a_claim_whoever_owns_the_key() {
        let (me, other) = (Uuid::now_v7(), Uuid::now_v7());
        let owned = Identity::new(other, key(), 1);
        let Addition::New(claim) = add(me, key(), true, None, Some(owned), 5) else {
            panic!("a claim is added");
        };
        assert!(claim.claimed && claim.customer == me);
        let again = add(me, key(), true, Some(claim.clone()), None, 6);
        assert_eq!(again, Addition::Existing(claim));
    }

    #[test]
    fn staff_add_a_real_identity_refused_when_another_owns_it() {
        let (me, other) = (Uuid::now_v7(), Uuid::now_v7());
        let Addition::New(identity) = add(me, key(), false, None, None, 5) else {
            panic!("an identity is added");
        };
        assert!(!identity.claimed);
        let mine = add(me, key(), false, None, Some(identity.clone()), 6);
        assert_eq!(mine, Addition::Existing(identity));
        let theirs = Identity::new(other, key(), 1);
        assert_eq!(
            add(me, key(), false, None, Some(theirs), 6),
            Addition::Taken
        );
    }

    #[test]
    fn a_claim_to_anothers_identity_cannot_be_verified() {
        let (me, other) = (Uuid::now_v7(), Uuid::now_v7());
        let claim = Identity::claim(me, key(), 1);
        let theirs = Identity::new(other, key(), 1);
        assert!(claim.claims_anothers(Some(&theirs)));
        assert!(!claim.claims_anothers(None));
        let mine = Identity::new(me, key(), 1);
        assert!(!mine.claims_anothers(Some(&theirs)));
    }
}

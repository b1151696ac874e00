//! The enumerations of the customers domain. Each variant keeps the number the contract
//! gives it (and the contract's name, for filters and error messages), so that parsing,
//! storing and converting stay plain number conversions while the domain never sees a
//! proto type.

use aftercare_platform::auth::{Principal, Role};

/// Declares a domain enum numbered as the contract numbers it.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $number:literal => $wire:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub(crate) enum $name {
            $($(#[$vmeta])* $variant = $number,)+
        }

        impl TryFrom<i32> for $name {
            type Error = i32;

            fn try_from(number: i32) -> Result<Self, i32> {
                match number {
                    $($number => Ok(Self::$variant),)+
                    other => Err(other),
                }
            }
        }

        // Not every enum needs both names.
        #[allow(dead_code)]
        impl $name {
            /// The contract's name of the value (`CHANNEL_EMAIL`).
            pub(crate) fn as_str_name(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)+
                }
            }

            /// The value the contract names `name`.
            pub(crate) fn from_str_name(name: &str) -> Option<Self> {
                match name {
                    $($wire => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

wire_enum!(
    /// A contact channel.
    Channel {
        /// Not given.
        #[default]
        Unspecified = 0 => "CHANNEL_UNSPECIFIED",
        /// Phone.
        Phone = 1 => "CHANNEL_PHONE",
        /// Web form.
        Web = 2 => "CHANNEL_WEB",
        /// Chat.
        Chat = 3 => "CHANNEL_CHAT",
        /// Email.
        Email = 4 => "CHANNEL_EMAIL",
        /// Social media.
        Social = 5 => "CHANNEL_SOCIAL",
        /// Another system's API.
        Api = 6 => "CHANNEL_API",
    }
);

wire_enum!(
    /// A service tier.
    Tier {
        /// Not given.
        #[default]
        Unspecified = 0 => "CUSTOMER_TIER_UNSPECIFIED",
        /// Standard.
        Standard = 1 => "CUSTOMER_TIER_STANDARD",
        /// Potential.
        Potential = 2 => "CUSTOMER_TIER_POTENTIAL",
        /// Premium.
        Premium = 3 => "CUSTOMER_TIER_PREMIUM",
        /// VIP.
        Vip = 4 => "CUSTOMER_TIER_VIP",
    }
);

wire_enum!(
    /// A customer's lifecycle stage.
    LifecycleStage {
        /// Not given.
        #[default]
        Unspecified = 0 => "CUSTOMER_LIFECYCLE_STAGE_UNSPECIFIED",
        /// Prospect.
        Prospect = 1 => "CUSTOMER_LIFECYCLE_STAGE_PROSPECT",
        /// New.
        New = 2 => "CUSTOMER_LIFECYCLE_STAGE_NEW",
        /// Active.
        Active = 3 => "CUSTOMER_LIFECYCLE_STAGE_ACTIVE",
        /// At risk.
        AtRisk = 4 => "CUSTOMER_LIFECYCLE_STAGE_AT_RISK",
        /// Churned.
        Churned = 5 => "CUSTOMER_LIFECYCLE_STAGE_CHURNED",
    }
);

wire_enum!(
    /// How an identity was verified.
    VerificationMethod {
        /// Not given.
        #[default]
        Unspecified = 0 => "IDENTITY_VERIFICATION_METHOD_UNSPECIFIED",
        /// An agent confirmed it.
        AgentConfirmed = 1 => "IDENTITY_VERIFICATION_METHOD_AGENT_CONFIRMED",
        /// A one-time code.
        OneTimeCode = 2 => "IDENTITY_VERIFICATION_METHOD_ONE_TIME_CODE",
        /// The provider vouched for it.
        Provider = 3 => "IDENTITY_VERIFICATION_METHOD_PROVIDER",
    }
);

wire_enum!(
    /// What a consent is for.
    Purpose {
        /// Not given.
        #[default]
        Unspecified = 0 => "CONSENT_PURPOSE_UNSPECIFIED",
        /// Service messages.
        Service = 1 => "CONSENT_PURPOSE_SERVICE",
        /// Surveys.
        Survey = 2 => "CONSENT_PURPOSE_SURVEY",
        /// Marketing.
        Marketing = 3 => "CONSENT_PURPOSE_MARKETING",
    }
);

wire_enum!(
    /// A consent decision.
    State {
        /// Not given.
        #[default]
        Unspecified = 0 => "CONSENT_STATE_UNSPECIFIED",
        /// Granted.
        Granted = 1 => "CONSENT_STATE_GRANTED",
        /// Withdrawn.
        Withdrawn = 2 => "CONSENT_STATE_WITHDRAWN",
    }
);

wire_enum!(
    /// What a loyalty entry does.
    LoyaltyKind {
        /// Not given.
        #[default]
        Unspecified = 0 => "LOYALTY_ENTRY_KIND_UNSPECIFIED",
        /// Points earned.
        Earn = 1 => "LOYALTY_ENTRY_KIND_EARN",
        /// Points redeemed.
        Redeem = 2 => "LOYALTY_ENTRY_KIND_REDEEM",
        /// Points expired.
        Expire = 3 => "LOYALTY_ENTRY_KIND_EXPIRE",
        /// A correction.
        Adjust = 4 => "LOYALTY_ENTRY_KIND_ADJUST",
    }
);

wire_enum!(
    /// Whose attributes win in a merge.
    MergePolicy {
        /// Not given (the survivor's).
        #[default]
        Unspecified = 0 => "MERGE_ATTRIBUTE_POLICY_UNSPECIFIED",
        /// The survivor's.
        PreferSurvivor = 1 => "MERGE_ATTRIBUTE_POLICY_PREFER_SURVIVOR",
        /// The merged customer's.
        PreferMerged = 2 => "MERGE_ATTRIBUTE_POLICY_PREFER_MERGED",
        /// The most recently updated customer's.
        PreferNewest = 3 => "MERGE_ATTRIBUTE_POLICY_PREFER_NEWEST",
    }
);

wire_enum!(
    /// What a tier rule measures.
    Metric {
        /// Not given.
        #[default]
        Unspecified = 0 => "TIER_RULE_METRIC_UNSPECIFIED",
        /// Points earned.
        PointsEarned = 1 => "TIER_RULE_METRIC_POINTS_EARNED",
        /// Spend.
        Spend = 2 => "TIER_RULE_METRIC_SPEND",
    }
);

wire_enum!(
    /// What kind of actor did something.
    ActorKind {
        /// Unknown.
        #[default]
        Unspecified = 0 => "ACTOR_TYPE_UNSPECIFIED",
        /// Staff.
        Agent = 1 => "ACTOR_TYPE_AGENT",
        /// The customer.
        Customer = 2 => "ACTOR_TYPE_CUSTOMER",
        /// An integration.
        Integration = 3 => "ACTOR_TYPE_INTEGRATION",
        /// The platform itself.
        System = 4 => "ACTOR_TYPE_SYSTEM",
    }
);

/// Who did something, as history records it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Actor {
    /// What kind of actor.
    pub(crate) kind: ActorKind,
    /// A customer's resource name, an agent's id, an API key's id or a service's name.
    pub(crate) id: String,
    /// A name to show.
    pub(crate) display_name: String,
}

impl Actor {
    /// The caller as an actor.
    pub(crate) fn of(principal: &Principal) -> Self {
        let (kind, id) = if principal.is_customer_only() {
            (
                ActorKind::Customer,
                principal
                    .customer
                    .clone()
                    .unwrap_or_else(|| principal.subject.clone()),
            )
        } else if principal.is_staff() {
            (ActorKind::Agent, principal.subject.clone())
        } else if principal.has_role(Role::Integration) {
            (ActorKind::Integration, principal.subject.clone())
        } else {
            (ActorKind::System, principal.subject.clone())
        };
        Self {
            kind,
            id,
            display_name: principal.display_name.clone().unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_the_contracts_numbers_and_names() {
        assert_eq!(Channel::try_from(4), Ok(Channel::Email));
        assert_eq!(Channel::Email as i32, 4);
        assert_eq!(Channel::try_from(99), Err(99));
        assert_eq!(Tier::from_str_name("CUSTOMER_TIER_VIP"), Some(Tier::Vip));
        assert_eq!(Tier::Vip.as_str_name(), "CUSTOMER_TIER_VIP");
        assert!(Tier::Vip > Tier::Premium);
        assert_eq!(LifecycleStage::default(), LifecycleStage::Unspecified);
    }

    #[test]
    fn an_actor_says_what_kind_of_caller_acted() {
        let service = Principal::service("tickets");
        assert_eq!(Actor::of(&service).kind, ActorKind::System);
    }
}

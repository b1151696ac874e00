//! The small value types of the feedback domain: enumerations (numbered as the contract
//! numbers them, so the store keeps the numbers and filters accept the names), actors,
//! languages and regions.

use serde::{Deserialize, Serialize};

/// Declares a fieldless enum with its wire number and its filter name.
macro_rules! numbered {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $number:literal => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        #[allow(dead_code)]
        impl $name {
            /// Every value, in number order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The contract's number of this value.
            pub fn number(self) -> i32 {
                match self {
                    $(Self::$variant => $number),+
                }
            }

            /// The value numbered `number`, if any (0, "unspecified", is none).
            pub fn from_number(number: i64) -> Option<Self> {
                match number {
                    $($number => Some(Self::$variant),)+
                    _ => None,
                }
            }

            /// The name filters use (`TICKET_RESOLVED`).
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            /// The value a filter names, if any.
            pub fn from_name(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|value| value.name() == text)
            }
        }
    };
}

numbered!(
    /// A contact channel.
    Channel {
        Phone = 1 => "PHONE",
        Web = 2 => "WEB",
        Chat = 3 => "CHAT",
        Email = 4 => "EMAIL",
        Social = 5 => "SOCIAL",
        Api = 6 => "API",
    }
);

numbered!(
    /// The kind of a survey question, which fixes its answer's scale.
    QuestionType {
        Csat = 1 => "CSAT",
        Nps = 2 => "NPS",
        Ces = 3 => "CES",
        FreeText = 4 => "FREE_TEXT",
    }
);

numbered!(
    /// What sends a survey's invitations.
    Trigger {
        TicketResolved = 1 => "TICKET_RESOLVED",
        Manual = 2 => "MANUAL",
    }
);

numbered!(
    /// Where an invitation is in its life.
    InvitationStatus {
        Pending = 1 => "PENDING",
        Sent = 2 => "SENT",
        Answered = 3 => "ANSWERED",
        Expired = 4 => "EXPIRED",
    }
);

numbered!(
    /// What feedback is about, as the contract names topics.
    Topic {
        ProductQuality = 1 => "PRODUCT_QUALITY",
        ServiceAttitude = 2 => "SERVICE_ATTITUDE",
        Delivery = 3 => "DELIVERY",
        Billing = 4 => "BILLING",
        Usability = 5 => "USABILITY",
        Price = 6 => "PRICE",
        Other = 7 => "OTHER",
        /// How long the customer waited.
        ResponseSpeed = 8 => "RESPONSE_SPEED",
        /// Repairs, replacements and on-site visits.
        AfterSalesRepair = 9 => "AFTER_SALES_REPAIR",
    }
);

numbered!(
    /// The kind of a resolved ticket, as the tickets service numbers it (a survey's
    /// targeting).
    TicketKind {
        Inquiry = 1 => "INQUIRY",
        TechnicalSupport = 2 => "TECHNICAL_SUPPORT",
        AfterSales = 3 => "AFTER_SALES",
        Complaint = 4 => "COMPLAINT",
    }
);

numbered!(
    /// How serious feedback is.
    Severity {
        Low = 1 => "LOW",
        Medium = 2 => "MEDIUM",
        High = 3 => "HIGH",
        Critical = 4 => "CRITICAL",
    }
);

numbered!(
    /// The bucket of a sentiment score.
    Sentiment {
        Negative = 1 => "NEGATIVE",
        Neutral = 2 => "NEUTRAL",
        Positive = 3 => "POSITIVE",
    }
);

impl Sentiment {
    /// The bucket of `score` (-1 to 1): below -0.25 negative, above 0.25 positive.
    pub fn of(score: f64) -> Self {
        if score < -0.25 {
            Self::Negative
        } else if score > 0.25 {
            Self::Positive
        } else {
            Self::Neutral
        }
    }

    /// The score a manual correction with only a bucket stores.
    pub fn default_score(self) -> f64 {
        match self {
            Self::Negative => -0.75,
            Self::Neutral => 0.0,
            Self::Positive => 0.75,
        }
    }
}

numbered!(
    /// How a classification was made.
    Method {
        Rules = 1 => "RULES",
        Manual = 2 => "MANUAL",
    }
);

numbered!(
    /// Where a follow-up is.
    FollowUpStatus {
        Open = 1 => "OPEN",
        Contacted = 2 => "CONTACTED",
        Closed = 3 => "CLOSED",
        Overdue = 4 => "OVERDUE",
    }
);

numbered!(
    /// How a follow-up ended.
    Outcome {
        Resolved = 1 => "RESOLVED",
        Unresolved = 2 => "UNRESOLVED",
        CustomerUnreachable = 3 => "CUSTOMER_UNREACHABLE",
        CustomerDeclined = 4 => "CUSTOMER_DECLINED",
        NoActionNeeded = 5 => "NO_ACTION_NEEDED",
    }
);

numbered!(
    /// Why a follow-up was opened.
    Reason {
        NpsDetractor = 1 => "NPS_DETRACTOR",
        LowCsat = 2 => "LOW_CSAT",
        SevereComplaint = 3 => "SEVERE_COMPLAINT",
        /// CES 5 or more (not yet in the contract, which has no reason for it).
        HighEffort = 101 => "HIGH_EFFORT",
    }
);

numbered!(
    /// The kind of an actor.
    ActorKind {
        Agent = 1 => "AGENT",
        Customer = 2 => "CUSTOMER",
        Integration = 3 => "INTEGRATION",
        System = 4 => "SYSTEM",
    }
);

/// Who did something, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Actor {
    /// The actor kind's number (see [`ActorKind`]).
    #[serde(rename = "t")]
    pub kind: i32,
    /// The actor's id (agent id, customer name, key id; empty for the system).
    #[serde(rename = "i", default)]
    pub id: String,
    /// A display name as known then.
    #[serde(rename = "n", default)]
    pub name: String,
}

impl Actor {
    /// The platform itself.
    pub fn system() -> Self {
        Self {
            kind: ActorKind::System.number(),
            id: String::new(),
            name: "feedback".to_owned(),
        }
    }

    /// The actor as stored (JSON).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A stored actor; the system when unreadable or empty.
    pub fn from_json(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_else(|_| Self::system())
    }
}

/// Whether `text` is a plausible BCP 47 tag (`en`, `zh-CN`, `zh-Hant`): letters, digits and
/// hyphens, 2 to 35 characters, starting with 2 or 3 letters.
pub fn is_language_tag(text: &str) -> bool {
    let mut parts = text.split('-');
    let first = parts.next().unwrap_or_default();
    (2..=35).contains(&text.len())
        && (2..=3).contains(&first.len())
        && first.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Whether `text` is a region code (`cn-east`): 1 to 64 lowercase letters, digits, `-`, `_`.
pub fn is_region(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// The best of `available` languages for `wanted`: an exact match, else one with the same
/// primary language, else `fallback`.
pub fn pick_language<'a>(wanted: &str, available: &'a [String], fallback: &'a str) -> &'a str {
    let wanted_lower = wanted.to_ascii_lowercase();
    if let Some(exact) = available
        .iter()
        .find(|l| l.to_ascii_lowercase() == wanted_lower)
    {
        return exact;
    }
    let primary = wanted_lower.split('-').next().unwrap_or_default();
    available
        .iter()
        .find(|l| l.to_ascii_lowercase().split('-').next() == Some(primary))
        .map_or(fallback, String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names_round_trip() {
        for topic in Topic::ALL {
            assert_eq!(Topic::from_number(topic.number().into()), Some(*topic));
            assert_eq!(Topic::from_name(topic.name()), Some(*topic));
        }
        assert_eq!(Channel::from_number(0), None);
        assert_eq!(Topic::ResponseSpeed.number(), 8);
        assert_eq!(Topic::AfterSalesRepair.number(), 9);
        for kind in TicketKind::ALL {
            assert_eq!(TicketKind::from_number(kind.number().into()), Some(*kind));
        }
    }

    #[test]
    fn sentiment_buckets_follow_the_contract() {
        assert_eq!(Sentiment::of(-0.26), Sentiment::Negative);
        assert_eq!(Sentiment::of(-0.25), Sentiment::Neutral);
        assert_eq!(Sentiment::of(0.25), Sentiment::Neutral);
        assert_eq!(Sentiment::of(0.3), Sentiment::Positive);
    }

    #[test]
    fn languages_are_picked_by_locale_with_a_fallback() {
        let available = vec!["en".to_owned(), "zh-CN".to_owned()];
        assert_eq!(pick_language("zh-cn", &available, "en"), "zh-CN");
        assert_eq!(pick_language("zh-TW", &available, "en"), "zh-CN");
        assert_eq!(pick_language("en-GB", &available, "en"), "en");
        assert_eq!(pick_language("fr", &available, "en"), "en");
        assert!(is_language_tag("zh-Hant"));
        assert!(!is_language_tag("x"));
        assert!(!is_language_tag("zh_CN"));
    }
}

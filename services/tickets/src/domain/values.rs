//! Value types: every string or enum that comes from outside is parsed once into one of
//! these, so past the edge nothing is an unchecked string.

use std::fmt;

use uuid::Uuid;

/// An enum with a stable text name: the proto value's name without its prefix (`OPEN`),
/// which is also how it is stored and how filters spell it.
pub trait WireEnum: Sized + Copy + 'static {
    /// Every value, in declaration order.
    const ALL: &'static [Self];
    /// The proto enum's prefix (`TICKET_STATUS_`).
    const PREFIX: &'static str;
    /// The name without prefix (`OPEN`).
    fn as_str(self) -> &'static str;
    /// The value named `text` (without prefix).
    fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|value| value.as_str() == text)
    }
    /// Its position, 1-based, in declaration order (the proto number).
    fn rank(self) -> i32;
    /// The value at `rank`.
    fn from_rank(rank: i32) -> Option<Self> {
        Self::ALL.iter().copied().find(|value| value.rank() == rank)
    }
}

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident, $prefix:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl WireEnum for $name {
            const ALL: &'static [Self] = &[$(Self::$variant),+];
            const PREFIX: &'static str = $prefix;
            fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
            fn rank(self) -> i32 {
                Self::ALL.iter().position(|v| *v == self).map_or(0, |i| i as i32 + 1)
            }
        }

        impl TryFrom<i32> for $name {
            type Error = ();

            fn try_from(number: i32) -> Result<Self, ()> {
                Self::from_rank(number).ok_or(())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::parse(&text)
                    .ok_or_else(|| serde::de::Error::custom(format!("unknown {} `{text}`", $prefix)))
            }
        }
    };
}

wire_enum!(
    /// What a ticket is about.
    Kind, "TICKET_KIND_" {
        /// A question.
        Inquiry = "INQUIRY",
        /// A technical problem.
        TechnicalSupport = "TECHNICAL_SUPPORT",
        /// Repair, replacement, return, on-site visit.
        AfterSales = "AFTER_SALES",
        /// A complaint.
        Complaint = "COMPLAINT",
    }
);

wire_enum!(
    /// A finer classification within a kind.
    SubKind, "TICKET_SUB_KIND_" {
        /// Product information.
        ProductInfo = "PRODUCT_INFO",
        /// How to use a product.
        Usage = "USAGE",
        /// Does not work as it should.
        Malfunction = "MALFUNCTION",
        /// Installation and setup.
        Installation = "INSTALLATION",
        /// Repair.
        Repair = "REPAIR",
        /// Replacement.
        Replacement = "REPLACEMENT",
        /// Return and refund.
        Return = "RETURN",
        /// A technician visits.
        OnSiteVisit = "ON_SITE_VISIT",
        /// Product quality.
        ProductQuality = "PRODUCT_QUALITY",
        /// Attitude of staff.
        ServiceAttitude = "SERVICE_ATTITUDE",
        /// Delivery.
        Delivery = "DELIVERY",
        /// Billing.
        Billing = "BILLING",
        /// None of the above.
        Other = "OTHER",
    }
);

impl SubKind {
    /// Whether this sub-kind belongs to `kind` (the table on `TicketSubKind`).
    pub fn belongs_to(self, kind: Kind) -> bool {
        use Kind::*;
        match self {
            Self::ProductInfo => kind == Inquiry,
            Self::Usage => matches!(kind, Inquiry | TechnicalSupport),
            Self::Malfunction | Self::Installation => kind == TechnicalSupport,
            Self::Repair | Self::Replacement | Self::Return | Self::OnSiteVisit => {
                kind == AfterSales
            }
            Self::ProductQuality | Self::ServiceAttitude | Self::Delivery => kind == Complaint,
            Self::Billing => matches!(kind, Complaint | Inquiry),
            Self::Other => true,
        }
    }
}

wire_enum!(
    /// How urgent a ticket is; ordered `Low < Normal < High < Urgent`.
    Priority, "TICKET_PRIORITY_" {
        /// Low.
        Low = "LOW",
        /// The default.
        Normal = "NORMAL",
        /// High.
        High = "HIGH",
        /// Safety issues, outages.
        Urgent = "URGENT",
    }
);

wire_enum!(
    /// The lifecycle status.
    Status, "TICKET_STATUS_" {
        /// Nobody has worked on it yet.
        New = "NEW",
        /// Being worked on.
        Open = "OPEN",
        /// Waiting on the customer.
        Pending = "PENDING",
        /// Waiting on a third party.
        OnHold = "ON_HOLD",
        /// A solution was given.
        Resolved = "RESOLVED",
        /// Finished.
        Closed = "CLOSED",
    }
);

impl Status {
    /// True while the SLA clocks are paused.
    pub fn pauses_sla(self) -> bool {
        matches!(self, Self::Pending | Self::OnHold)
    }

    /// True for the statuses in which work is still to be done.
    pub fn is_open(self) -> bool {
        matches!(self, Self::New | Self::Open | Self::Pending | Self::OnHold)
    }
}

wire_enum!(
    /// Who handles a ticket, by seniority.
    EscalationLevel, "ESCALATION_LEVEL_" {
        /// First line.
        Tier1 = "TIER_1",
        /// Technical specialist.
        Specialist = "SPECIALIST",
        /// Team lead.
        Lead = "LEAD",
    }
);

impl EscalationLevel {
    /// The next level up, if any.
    pub fn next(self) -> Option<Self> {
        match self {
            Self::Tier1 => Some(Self::Specialist),
            Self::Specialist => Some(Self::Lead),
            Self::Lead => None,
        }
    }
}

wire_enum!(
    /// The intake channel.
    Channel, "CHANNEL_" {
        /// Phone.
        Phone = "PHONE",
        /// Web form.
        Web = "WEB",
        /// Chat.
        Chat = "CHAT",
        /// Email.
        Email = "EMAIL",
        /// Social media.
        Social = "SOCIAL",
        /// Another system's API.
        Api = "API",
    }
);

wire_enum!(
    /// Who may see a message.
    Visibility, "MESSAGE_VISIBILITY_" {
        /// A reply to or from the customer.
        Public = "PUBLIC",
        /// An internal note.
        Internal = "INTERNAL",
    }
);

wire_enum!(
    /// The format of a message body.
    MessageFormat, "MESSAGE_FORMAT_" {
        /// Plain text.
        PlainText = "PLAIN_TEXT",
        /// CommonMark.
        Markdown = "MARKDOWN",
        /// HTML.
        Html = "HTML",
    }
);

wire_enum!(
    /// What makes an SLA escalation rule fire.
    SlaTrigger, "SLA_ESCALATION_TRIGGER_" {
        /// The first-response target passed its at-risk threshold.
        FirstResponseAtRisk = "FIRST_RESPONSE_AT_RISK",
        /// The first-response target was missed.
        FirstResponseBreached = "FIRST_RESPONSE_BREACHED",
        /// The resolution target passed its at-risk threshold.
        ResolutionAtRisk = "RESOLUTION_AT_RISK",
        /// The resolution target was missed.
        ResolutionBreached = "RESOLUTION_BREACHED",
    }
);

wire_enum!(
    /// A day of the week.
    Weekday, "WEEKDAY_" {
        /// Monday.
        Monday = "MONDAY",
        /// Tuesday.
        Tuesday = "TUESDAY",
        /// Wednesday.
        Wednesday = "WEDNESDAY",
        /// Thursday.
        Thursday = "THURSDAY",
        /// Friday.
        Friday = "FRIDAY",
        /// Saturday.
        Saturday = "SATURDAY",
        /// Sunday.
        Sunday = "SUNDAY",
    }
);

wire_enum!(
    /// How a ticket relates to a linked one, seen from the ticket holding the link.
    LinkType, "TICKET_LINK_TYPE_" {
        /// Related (symmetric).
        Related = "RELATED",
        /// This ticket duplicates the other.
        DuplicateOf = "DUPLICATE_OF",
        /// The other ticket duplicates this one.
        DuplicatedBy = "DUPLICATED_BY",
        /// This ticket follows up the other.
        FollowUpOf = "FOLLOW_UP_OF",
        /// The other ticket follows up this one.
        FollowedUpBy = "FOLLOWED_UP_BY",
    }
);

impl LinkType {
    /// The same link seen from the other ticket.
    pub fn inverse(self) -> Self {
        match self {
            Self::Related => Self::Related,
            Self::DuplicateOf => Self::DuplicatedBy,
            Self::DuplicatedBy => Self::DuplicateOf,
            Self::FollowUpOf => Self::FollowedUpBy,
            Self::FollowedUpBy => Self::FollowUpOf,
        }
    }

    /// Whether a caller may ask for it (the inverse types are output only).
    pub fn is_requestable(self) -> bool {
        matches!(self, Self::Related | Self::DuplicateOf | Self::FollowUpOf)
    }
}

wire_enum!(
    /// The state of an after-sales case.
    CaseState, "AFTER_SALES_CASE_STATE_" {
        /// Waiting for the policy review.
        Applied = "APPLIED",
        /// Eligible; waiting for an arrangement.
        Approved = "APPROVED",
        /// Not eligible.
        Rejected = "REJECTED",
        /// Service arranged.
        Arranged = "ARRANGED",
        /// Service carried out.
        Completed = "COMPLETED",
        /// The customer is satisfied. Final.
        Confirmed = "CONFIRMED",
        /// The customer is not satisfied.
        Dissatisfied = "DISSATISFIED",
        /// Cancelled. Final.
        Cancelled = "CANCELLED",
    }
);

wire_enum!(
    /// The after-sales service asked for, approved or arranged.
    ServiceType, "AFTER_SALES_SERVICE_TYPE_" {
        /// Repair at a centre.
        Repair = "REPAIR",
        /// Replacement.
        Replacement = "REPLACEMENT",
        /// Return with refund.
        Return = "RETURN",
        /// A technician visits.
        OnSiteVisit = "ON_SITE_VISIT",
    }
);

wire_enum!(
    /// The result of one policy check.
    PolicyCheck, "POLICY_CHECK_RESULT_" {
        /// Within the window.
        Passed = "PASSED",
        /// Outside the window.
        Failed = "FAILED",
        /// Does not apply.
        NotApplicable = "NOT_APPLICABLE",
    }
);

wire_enum!(
    /// Which step of a case's flow.
    StepKind, "AFTER_SALES_STEP_KIND_" {
        /// The application.
        Application = "APPLICATION",
        /// A review.
        Review = "REVIEW",
        /// An arrangement.
        Arrangement = "ARRANGEMENT",
        /// The completion.
        Completion = "COMPLETION",
        /// The confirmation.
        Confirmation = "CONFIRMATION",
        /// The cancellation.
        Cancellation = "CANCELLATION",
    }
);

/// A ticket's id, a UUID (v7 when made here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TicketId(pub Uuid);

impl TicketId {
    /// A fresh, time-ordered id.
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    /// Parses `tickets/{uuid}`.
    pub fn parse_name(name: &str) -> Result<Self, String> {
        let id = name
            .strip_prefix("tickets/")
            .ok_or_else(|| "must be a ticket name, `tickets/{ticket}`".to_owned())?;
        Uuid::parse_str(id)
            .map(Self)
            .map_err(|_| "must be a ticket name, `tickets/{uuid}`".to_owned())
    }

    /// The resource name, `tickets/{uuid}`.
    pub fn name(self) -> String {
        format!("tickets/{}", self.0)
    }
}

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

fn is_slug(text: &str, extra: &str) -> bool {
    text.chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || extra.contains(c))
}

macro_rules! string_value {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_value!(
    /// A region code: 2 to 32 characters of `[a-z0-9-]`.
    Region
);

impl Region {
    /// The region used when neither the request nor the customer names one.
    pub const DEFAULT: &'static str = "global";

    /// Parses a region code.
    pub fn parse(text: &str) -> Result<Self, String> {
        let len = text.chars().count();
        if !(2..=32).contains(&len) || !is_slug(text, "-") {
            return Err("must be 2 to 32 characters of [a-z0-9-]".to_owned());
        }
        Ok(Self(text.to_owned()))
    }

    /// The default region.
    pub fn default_region() -> Self {
        Self(Self::DEFAULT.to_owned())
    }
}

string_value!(
    /// A service centre id within a region: 1 to 64 characters of `[a-z0-9-]`.
    ServiceCentre
);

impl ServiceCentre {
    /// Parses a service centre id.
    pub fn parse(text: &str) -> Result<Self, String> {
        let len = text.chars().count();
        if !(1..=64).contains(&len) || !is_slug(text, "-") {
            return Err("must be 1 to 64 characters of [a-z0-9-]".to_owned());
        }
        Ok(Self(text.to_owned()))
    }
}

string_value!(
    /// A BCP 47 language tag (`zh-CN`, `en`, `en-GB`).
    LanguageCode
);

impl LanguageCode {
    /// Parses a language tag: a 2 or 3 letter primary language, then subtags of 1 to 8
    /// letters or digits, at most 35 characters.
    pub fn parse(text: &str) -> Result<Self, String> {
        let err = || "must be a BCP 47 language tag such as `en` or `zh-CN`".to_owned();
        if text.len() > 35 {
            return Err(err());
        }
        let mut parts = text.split('-');
        let primary = parts.next().unwrap_or_default();
        if !(2..=3).contains(&primary.len()) || !primary.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(err());
        }
        for part in parts {
            if !(1..=8).contains(&part.len()) || !part.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(err());
            }
        }
        Ok(Self(text.to_owned()))
    }

    /// A tag known to be valid.
    pub fn known(tag: &'static str) -> Self {
        Self(tag.to_owned())
    }
}

string_value!(
    /// A reference in another system, at most 128 characters.
    ExternalId
);

impl ExternalId {
    /// Parses an external id (non-empty, at most 128 characters, no control characters).
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() || text.chars().count() > 128 || text.chars().any(char::is_control) {
            return Err("must be 1 to 128 characters without control characters".to_owned());
        }
        Ok(Self(text.to_owned()))
    }
}

fn parse_resource(text: &str, collection: &str) -> Result<String, String> {
    let err = || format!("must be a resource name `{collection}/{{id}}`");
    let id = text
        .strip_prefix(collection)
        .and_then(|rest| rest.strip_prefix('/'))
        .ok_or_else(err)?;
    if id.is_empty()
        || id.len() > 128
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(err());
    }
    Ok(text.to_owned())
}

string_value!(
    /// A customer resource name, `customers/{customer}`.
    CustomerName
);

impl CustomerName {
    /// Parses `customers/{id}`.
    pub fn parse(text: &str) -> Result<Self, String> {
        parse_resource(text, "customers").map(Self)
    }
}

string_value!(
    /// An agent resource name, `agents/{agent}`.
    AgentName
);

impl AgentName {
    /// Parses `agents/{id}`.
    pub fn parse(text: &str) -> Result<Self, String> {
        parse_resource(text, "agents").map(Self)
    }
}

string_value!(
    /// A team resource name, `teams/{team}`.
    TeamName
);

impl TeamName {
    /// Parses `teams/{id}`.
    pub fn parse(text: &str) -> Result<Self, String> {
        parse_resource(text, "teams").map(Self)
    }
}

string_value!(
    /// A tag: 1 to 64 characters of `[a-z0-9_:-]` (input is lower-cased).
    Tag
);

impl Tag {
    /// Parses a tag, lower-casing it first.
    pub fn parse(text: &str) -> Result<Self, String> {
        let lower = text.trim().to_lowercase();
        let len = lower.chars().count();
        if !(1..=64).contains(&len) || !is_slug(&lower, "_:-") {
            return Err(format!(
                "tag `{text}` must be 1 to 64 characters of [a-z0-9_:-]"
            ));
        }
        Ok(Self(lower))
    }
}

/// A ticket's tags: unique, sorted, at most [`Tags::MAX`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags(Vec<String>);

impl Tags {
    /// The most tags a ticket may hold.
    pub const MAX: usize = 50;

    /// Tags already validated (from storage).
    pub fn from_stored(mut tags: Vec<String>) -> Self {
        tags.sort();
        tags.dedup();
        Self(tags)
    }

    /// A set from parsed tags, refused when it would exceed [`Tags::MAX`].
    pub fn from_tags(tags: impl IntoIterator<Item = Tag>) -> Result<Self, String> {
        let set = Self::from_stored(tags.into_iter().map(String::from).collect());
        set.check()?;
        Ok(set)
    }

    fn check(&self) -> Result<(), String> {
        if self.0.len() > Self::MAX {
            return Err(format!("a ticket holds at most {} tags", Self::MAX));
        }
        Ok(())
    }

    /// The tags, sorted.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// Adds `tags`; refused when the result would exceed [`Tags::MAX`].
    pub fn with_added(&self, tags: &[Tag]) -> Result<Self, String> {
        let mut all = self.0.clone();
        all.extend(tags.iter().map(|t| t.as_ref().to_owned()));
        let set = Self::from_stored(all);
        set.check()?;
        Ok(set)
    }

    /// Removes `tags` (absent ones are ignored).
    pub fn without(&self, tags: &[Tag]) -> Self {
        Self(
            self.0
                .iter()
                .filter(|t| !tags.iter().any(|r| r.as_ref() == t.as_str()))
                .cloned()
                .collect(),
        )
    }

    /// As history renders repeated fields: comma-separated in order.
    pub fn render(&self) -> String {
        self.0.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_enums_round_trip_by_name_and_rank() {
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(*status));
            assert_eq!(Status::from_rank(status.rank()), Some(*status));
        }
        assert_eq!(Priority::Urgent.rank(), 4);
        assert!(Priority::Low < Priority::Urgent);
        assert_eq!(Status::parse("open"), None);
    }

    #[test]
    fn link_types_invert() {
        for link in LinkType::ALL {
            assert_eq!(link.inverse().inverse(), *link);
        }
        assert_eq!(LinkType::DuplicateOf.inverse(), LinkType::DuplicatedBy);
        assert!(!LinkType::FollowedUpBy.is_requestable());
    }

    #[test]
    fn sub_kinds_belong_to_their_kinds() {
        assert!(SubKind::Repair.belongs_to(Kind::AfterSales));
        assert!(!SubKind::Repair.belongs_to(Kind::Complaint));
        assert!(SubKind::Billing.belongs_to(Kind::Inquiry));
        assert!(SubKind::Usage.belongs_to(Kind::TechnicalSupport));
        assert!(Kind::ALL.iter().all(|k| SubKind::Other.belongs_to(*k)));
    }

    #[test]
    fn codes_and_names_are_checked() {
        assert!(Region::parse("cn-east").is_ok());
        assert!(Region::parse("CN").is_err());
        assert!(Region::parse("x").is_err());
        assert!(ServiceCentre::parse("shanghai-1").is_ok());
        assert!(LanguageCode::parse("zh-CN").is_ok());
        assert!(LanguageCode::parse("en").is_ok());
        assert!(LanguageCode::parse("english!").is_err());
        assert!(CustomerName::parse("customers/0192").is_ok());
        assert!(CustomerName::parse("customer/1").is_err());
        assert!(CustomerName::parse("customers/").is_err());
        assert!(AgentName::parse("agents/a-1").is_ok());
        assert!(TeamName::parse("teams/a/b").is_err());
        assert!(TicketId::parse_name("tickets/not-a-uuid").is_err());
        let id = TicketId::generate();
        assert_eq!(TicketId::parse_name(&id.name()), Ok(id));
    }

    #[test]
    fn tags_are_lowercased_sorted_unique_and_capped() {
        let tags = Tags::from_tags(["VIP", "b", "vip"].map(|t| Tag::parse(t).unwrap())).unwrap();
        assert_eq!(tags.as_slice(), ["b", "vip"]);
        assert!(Tag::parse("has space").is_err());
        let many: Vec<Tag> = (0..51)
            .map(|i| Tag::parse(&format!("t{i}")).unwrap())
            .collect();
        assert!(Tags::default().with_added(&many).is_err());
        let fewer = tags.without(&[Tag::parse("vip").unwrap()]);
        assert_eq!(fewer.as_slice(), ["b"]);
    }
}

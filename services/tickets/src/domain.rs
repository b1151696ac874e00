//! The rules of tickets, with no I/O: value types parsed at the edge, the status machine,
//! the classifier, who may see and do what, and the business-time arithmetic of SLAs.

mod access;
mod after_sales;
mod calendar;
mod change;
mod classifier;
mod filter;
mod html;
mod idempotency;
mod message;
mod sla;
mod standards;
mod stats;
mod status;
mod ticket;
mod values;

pub use access::{Access, Action, Relay, RelayRefused, actor_of};
pub use after_sales::{
    Address, AfterSalesCase, AfterSalesPolicy, Application, Arrangement, Completion, Confirmation,
    ERASED, ReviewDraft,
};
pub use aftercare_platform::query::{Comparison, Condition, Filter};
pub use aftercare_platform::request::PageToken;
pub use calendar::{BusinessCalendar, CalendarResource, DAY, Holiday, MINUTE, OpenInterval};
pub use change::{Change, FieldChange};
pub use classifier::ClassificationSource;
pub use filter::{FieldValue, TicketCriterion, TicketField, ticket_criteria};
pub use idempotency::{IdempotencyKey, KeyUse, Replay, RequestKey};
pub use message::{Attachment, MessageDraft, TicketMessage};
pub use sla::{
    Conditions, EscalationRule, RuleAction, SlaPolicy, SlaSetup, Target, fallback_calendar,
};
pub use standards::{DefaultStandards, SETUP as DEFAULT_STANDARDS};
pub use stats::{
    Dimension, DurationSummary, Figures, GroupKey, Interval, Tally, percentile_positions,
};
pub use status::Transition;
pub use ticket::{
    Actor, ActorKind, ChannelIdentity, DomainError, NewTicket, Product, Sla, SlaState, Ticket,
    TicketCustomer, TicketPatch, reclassifies,
};
pub use values::{
    AgentName, CaseState, Channel, CustomerName, EscalationLevel, ExternalId, Kind, LanguageCode,
    LinkType, MessageFormat, PolicyCheck, Priority, Region, ServiceCentre, ServiceType, SlaTrigger,
    Status, StepKind, SubKind, Tag, Tags, TeamName, TicketId, Visibility, Weekday, WireEnum,
};

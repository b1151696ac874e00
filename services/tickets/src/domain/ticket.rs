//! The ticket and what may happen to it. Each operation checks the rules, changes the ticket
//! in memory and returns the [`Change`]s it made; the store persists the ticket with its
//! history and events, and refuses the write if someone else changed the ticket meanwhile.

use super::calendar::BusinessCalendar;
use super::change::{Change, FieldChange};
use super::classifier::{CLASSIFIER_NAME, Classification, ClassificationSource, classify};
use super::message::{MessageDraft, TicketMessage};
use super::sla::Target;
use super::status::{Transition, TransitionRefused};
use super::values::{
    AgentName, Channel, CustomerName, EscalationLevel, ExternalId, Kind, LanguageCode,
    MessageFormat, Priority, Region, ServiceCentre, Status, SubKind, Tag, Tags, TeamName, TicketId,
    Visibility, WireEnum,
};

/// Why a domain operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A value that is fine on its own does not fit the ticket (`INVALID_ARGUMENT`).
    #[error("{field}: {description}")]
    Invalid {
        /// The field path.
        field: String,
        /// What is wrong.
        description: String,
    },
    /// The etag sent is not the current one (`FAILED_PRECONDITION`).
    #[error("stale etag")]
    StaleEtag,
    /// The ticket's state does not allow it (`FAILED_PRECONDITION`).
    #[error("{description}")]
    Refused {
        /// The precondition violation type (`STATUS_TRANSITION`, `STATE`, …).
        violation: &'static str,
        /// What is wrong.
        description: String,
    },
}

impl DomainError {
    fn invalid(field: &str, description: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.to_owned(),
            description: description.into(),
        }
    }

    fn refused(violation: &'static str, description: impl Into<String>) -> Self {
        Self::Refused {
            violation,
            description: description.into(),
        }
    }
}

impl From<TransitionRefused> for DomainError {
    fn from(refused: TransitionRefused) -> Self {
        match refused {
            TransitionRefused::ReasonRequired => Self::invalid("reason", refused.to_string()),
            TransitionRefused::NotAWorkingStatus(_) => Self::invalid("status", refused.to_string()),
            TransitionRefused::NotAllowed { .. } | TransitionRefused::Merged => {
                Self::refused("STATUS_TRANSITION", refused.to_string())
            }
        }
    }
}

/// The kind of actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ActorKind {
    /// Staff.
    Agent,
    /// The customer.
    Customer,
    /// An integration.
    Integration,
    /// The platform itself.
    System,
}

impl ActorKind {
    /// The stored name (`AGENT`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "AGENT",
            Self::Customer => "CUSTOMER",
            Self::Integration => "INTEGRATION",
            Self::System => "SYSTEM",
        }
    }

    /// From the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Agent, Self::Customer, Self::Integration, Self::System]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Actor {
    /// What kind of actor.
    pub kind: ActorKind,
    /// Its id (agent id, customer name, key id, service name).
    pub id: String,
    /// A display name.
    pub display_name: String,
}

/// A customer's identity on a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelIdentity {
    /// The channel.
    pub channel: Channel,
    /// The handle, 1 to 320 characters.
    pub handle: String,
    /// The provider, at most 64 characters.
    pub provider: String,
}

/// The product a ticket is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Product {
    /// Product line.
    pub product_line: String,
    /// Model.
    pub model: String,
    /// Serial number.
    pub serial_number: String,
}

/// The overall SLA state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaState {
    /// No policy applies.
    None,
    /// Targets apply, none at risk.
    OnTrack,
    /// A pending target passed its at-risk threshold.
    AtRisk,
    /// A target was missed.
    Breached,
    /// Paused and nothing breached.
    Paused,
    /// Resolved with every target met.
    Met,
}

impl SlaState {
    /// The name without prefix (`ON_TRACK`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::OnTrack => "ON_TRACK",
            Self::AtRisk => "AT_RISK",
            Self::Breached => "BREACHED",
            Self::Paused => "PAUSED",
            Self::Met => "MET",
        }
    }
}

/// A ticket's SLA: the policy applied, due times and progress. Times are UTC microseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sla {
    /// The policy, `slaPolicies/{id}`; `None` when no policy applies.
    pub policy: Option<String>,
    /// The calendar, `businessCalendars/{id}`; `None` means around the clock.
    pub calendar: Option<String>,
    /// When the first public agent reply is due.
    pub first_response_due: Option<i64>,
    /// When resolution is due.
    pub resolution_due: Option<i64>,
    /// When the first-response target becomes at risk.
    pub first_response_at_risk_time: Option<i64>,
    /// When the resolution target becomes at risk.
    pub resolution_at_risk_time: Option<i64>,
    /// Whether the first-response target passed its at-risk threshold.
    pub first_response_at_risk: bool,
    /// Whether the resolution target passed its at-risk threshold.
    pub resolution_at_risk: bool,
    /// Whether the first-response target was missed.
    pub first_response_breached: bool,
    /// Whether the resolution target was missed.
    pub resolution_breached: bool,
    /// When the current pause began; `Some` while paused.
    pub pause_time: Option<i64>,
    /// When an agent first replied publicly.
    pub first_response_time: Option<i64>,
    /// When the ticket was last resolved.
    pub resolve_time: Option<i64>,
    /// Business time spent paused so far (microseconds).
    pub paused_business: i64,
    /// Business time from creation to the first public agent reply, paused time excluded.
    pub first_response_business: Option<i64>,
    /// Business time from creation to the (last) resolution, paused time excluded.
    pub resolution_business: Option<i64>,
}

impl Sla {
    /// Whether a pending target passed its at-risk threshold.
    pub fn at_risk(&self) -> bool {
        (self.first_response_at_risk && self.first_response_time.is_none())
            || (self.resolution_at_risk && self.resolve_time.is_none())
    }

    /// The overall state (the worst of the targets, see `TicketSla.state`).
    pub fn state(&self, status: Status) -> SlaState {
        if self.policy.is_none() {
            SlaState::None
        } else if self.first_response_breached || self.resolution_breached {
            SlaState::Breached
        } else if self.pause_time.is_some() {
            SlaState::Paused
        } else if matches!(status, Status::Resolved | Status::Closed) {
            SlaState::Met
        } else if self.at_risk() {
            SlaState::AtRisk
        } else {
            SlaState::OnTrack
        }
    }

    /// When the sweep must next look at the ticket: the earliest threshold or due time
    /// still ahead; `None` without a policy, while paused, or once the ticket is resolved.
    pub fn next_check(&self, status: Status) -> Option<i64> {
        if self.policy.is_none() || self.pause_time.is_some() || !status.is_open() {
            return None;
        }
        let mut times = Vec::new();
        if self.first_response_time.is_none() {
            if !self.first_response_at_risk {
                times.push(self.first_response_at_risk_time);
            }
            if !self.first_response_breached {
                times.push(self.first_response_due);
            }
        }
        if !self.resolution_at_risk {
            times.push(self.resolution_at_risk_time);
        }
        if !self.resolution_breached {
            times.push(self.resolution_due);
        }
        times.into_iter().flatten().min()
    }
}

/// A ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    /// Its id.
    pub id: TicketId,
    /// Its short number (0 until stored).
    pub number: i64,
    /// The customer.
    pub customer: CustomerName,
    /// The customer's display name at creation.
    pub customer_display_name: String,
    /// The customer's tier at creation (`STANDARD`, `VIP`, …); empty when unknown.
    pub customer_tier: String,
    /// The intake channel.
    pub channel: Channel,
    /// The identity it came in with.
    pub identity: Option<ChannelIdentity>,
    /// A reference in another system.
    pub external_id: Option<ExternalId>,
    /// One-line summary.
    pub subject: String,
    /// The problem.
    pub description: String,
    /// The kind.
    pub kind: Kind,
    /// The sub-kind.
    pub sub_kind: Option<SubKind>,
    /// The priority.
    pub priority: Priority,
    /// How kind, sub-kind and priority were decided.
    pub classification: Classification,
    /// The status.
    pub status: Status,
    /// The product.
    pub product: Product,
    /// The handling region.
    pub region: Region,
    /// The handling service centre; `None` is the region's default centre.
    pub service_centre: Option<ServiceCentre>,
    /// The conversation's language.
    pub language_code: Option<LanguageCode>,
    /// The agent handling it.
    pub assignee: Option<AgentName>,
    /// The team queue.
    pub team: Option<TeamName>,
    /// The escalation level.
    pub escalation_level: EscalationLevel,
    /// Tags.
    pub tags: Tags,
    /// SLA.
    pub sla: Sla,
    /// The ticket it was merged into.
    pub merged_into: Option<TicketId>,
    /// What resolved it.
    pub resolution_summary: String,
    /// How often it was reopened.
    pub reopen_count: i32,
    /// Who created it.
    pub creator: Actor,
    /// The version counter behind the etag; the store raises it on every write.
    pub version: i64,
    /// When it was created.
    pub create_time: i64,
    /// When it last changed.
    pub update_time: i64,
    /// When it was closed.
    pub close_time: Option<i64>,
}

/// A ticket as asked for on create, parsed.
#[derive(Debug, Clone)]
pub struct NewTicket {
    /// The channel.
    pub channel: Channel,
    /// The identity given, if any.
    pub identity: Option<ChannelIdentity>,
    /// External reference.
    pub external_id: Option<ExternalId>,
    /// Subject.
    pub subject: String,
    /// Description.
    pub description: String,
    /// Kind, if given.
    pub kind: Option<Kind>,
    /// Sub-kind, if given.
    pub sub_kind: Option<SubKind>,
    /// Priority, if given.
    pub priority: Option<Priority>,
    /// Product.
    pub product: Product,
    /// Region, if given.
    pub region: Option<Region>,
    /// Service centre, if given.
    pub service_centre: Option<ServiceCentre>,
    /// Language, if given.
    pub language_code: Option<LanguageCode>,
    /// Assignee, if given.
    pub assignee: Option<AgentName>,
    /// Team, if given.
    pub team: Option<TeamName>,
    /// Tags.
    pub tags: Tags,
}

/// The customer a new ticket belongs to, as resolved.
#[derive(Debug, Clone)]
pub struct TicketCustomer {
    /// Its name.
    pub name: CustomerName,
    /// Its display name.
    pub display_name: String,
    /// Its tier (`STANDARD`, …), empty when unknown.
    pub tier: String,
    /// Its home region, if known.
    pub region: Option<Region>,
    /// Whether it was created for this ticket.
    pub created: bool,
}

fn opt<T: std::fmt::Display>(value: Option<&T>) -> String {
    value.map(ToString::to_string).unwrap_or_default()
}

impl NewTicket {
    /// Checks what only makes sense together: a sub-kind must belong to the given kind.
    pub fn check(&self) -> Result<(), DomainError> {
        if let (Some(kind), Some(sub_kind)) = (self.kind, self.sub_kind)
            && !sub_kind.belongs_to(kind)
        {
            return Err(DomainError::invalid(
                "ticket.sub_kind",
                format!("{sub_kind} does not belong to kind {kind}"),
            ));
        }
        Ok(())
    }

    /// The ticket: what was given, the rest inferred by the classifier (recorded in its
    /// classification), status `NEW`, level `TIER_1`; plus its changes.
    pub fn into_ticket(
        self,
        customer: TicketCustomer,
        creator: Actor,
        follow_up_of: Option<TicketId>,
        now: i64,
    ) -> (Ticket, Vec<Change>) {
        let inferred = classify(&self.subject, &self.description);
        let mut classified = Vec::new();
        let (kind, kind_source, kind_confidence) = match (self.kind, inferred.kind) {
            (Some(kind), _) => (kind, ClassificationSource::Given, 0.0),
            (None, Some((kind, confidence))) => {
                classified.push(FieldChange::new("kind", "", kind.as_str()));
                (kind, ClassificationSource::Inferred, confidence)
            }
            (None, None) => (Kind::Inquiry, ClassificationSource::Defaulted, 0.0),
        };
        let (sub_kind, sub_kind_source, sub_kind_confidence) = match self.sub_kind {
            Some(sub_kind) => (Some(sub_kind), Some(ClassificationSource::Given), 0.0),
            None => match inferred.sub_kind.filter(|(s, _)| s.belongs_to(kind)) {
                Some((sub_kind, confidence)) => {
                    classified.push(FieldChange::new("sub_kind", "", sub_kind.as_str()));
                    (
                        Some(sub_kind),
                        Some(ClassificationSource::Inferred),
                        confidence,
                    )
                }
                None => (None, None, 0.0),
            },
        };
        let (priority, priority_source, priority_confidence) =
            match (self.priority, inferred.priority) {
                (Some(priority), _) => (priority, ClassificationSource::Given, 0.0),
                (None, Some((priority, confidence))) => {
                    classified.push(FieldChange::new("priority", "", priority.as_str()));
                    (priority, ClassificationSource::Inferred, confidence)
                }
                (None, None) => (Priority::Normal, ClassificationSource::Defaulted, 0.0),
            };
        let language_detected = self.language_code.is_none() && inferred.language.is_some();
        let language_code = self.language_code.or(inferred.language);
        if language_detected {
            classified.push(FieldChange::new(
                "language_code",
                "",
                opt(language_code.as_ref()),
            ));
        }
        let region = self
            .region
            .or(customer.region)
            .unwrap_or_else(Region::default_region);
        let ticket = Ticket {
            id: TicketId::generate(),
            number: 0,
            customer: customer.name,
            customer_display_name: customer.display_name,
            customer_tier: customer.tier,
            channel: self.channel,
            identity: self.identity.clone(),
            external_id: self.external_id,
            subject: self.subject,
            description: self.description,
            kind,
            sub_kind,
            priority,
            classification: Classification {
                kind_source,
                kind_confidence,
                sub_kind_source,
                sub_kind_confidence,
                priority_source,
                priority_confidence,
                language_detected,
                classifier: CLASSIFIER_NAME.to_owned(),
                classify_time: now,
            },
            status: Status::New,
            product: self.product,
            region,
            service_centre: self.service_centre,
            language_code,
            assignee: self.assignee,
            team: self.team,
            escalation_level: EscalationLevel::Tier1,
            tags: self.tags,
            sla: Sla::default(),
            merged_into: None,
            resolution_summary: String::new(),
            reopen_count: 0,
            creator,
            version: 1,
            create_time: now,
            update_time: now,
            close_time: None,
        };
        let mut changes = vec![Change::Created {
            follow_up_of,
            customer_created: customer.created,
            identity: self.identity,
        }];
        if !classified.is_empty() {
            changes.push(Change::Classified { fields: classified });
        }
        (ticket, changes)
    }
}

/// Descriptive fields to change (UpdateTicket), each `Some` when in the mask.
#[derive(Debug, Clone, Default)]
pub struct TicketPatch {
    /// Subject.
    pub subject: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Kind.
    pub kind: Option<Kind>,
    /// Sub-kind (`Some(None)` clears it).
    pub sub_kind: Option<Option<SubKind>>,
    /// Priority.
    pub priority: Option<Priority>,
    /// Product line.
    pub product_line: Option<String>,
    /// Model.
    pub product_model: Option<String>,
    /// Serial number.
    pub product_serial_number: Option<String>,
    /// Region.
    pub region: Option<Region>,
    /// Service centre (`Some(None)` clears it).
    pub service_centre: Option<Option<ServiceCentre>>,
    /// Language (`Some(None)` clears it).
    pub language_code: Option<Option<LanguageCode>>,
    /// Tags (replaced as a whole).
    pub tags: Option<Tags>,
    /// External id (`Some(None)` clears it).
    pub external_id: Option<Option<ExternalId>>,
}

impl Ticket {
    /// The resource name.
    pub fn name(&self) -> String {
        self.id.name()
    }

    /// Whether settling the SLA after a write needs the business calendar: the write resumed
    /// a clock paused at `paused_before`, or it stamped a first response or a resolution
    /// whose business time is not counted yet.
    pub fn sla_needs_calendar(&self, paused_before: Option<i64>) -> bool {
        let resumed = paused_before.is_some() && self.sla.pause_time.is_none();
        let timed = (self.sla.first_response_time.is_some()
            && self.sla.first_response_business.is_none())
            || (self.sla.resolve_time.is_some() && self.sla.resolution_business.is_none());
        resumed || timed
    }

    /// Settles the SLA after a write, in `calendar`: a clock that was paused at
    /// `paused_before` and runs again moves its due times by the pause (when a policy
    /// applies), and first-response and resolution times are counted in business time.
    pub fn settle_sla(&mut self, calendar: &BusinessCalendar, paused_before: Option<i64>) {
        let now = self.update_time;
        let resumed = paused_before.is_some() && self.sla.pause_time.is_none();
        if resumed && self.sla.policy.is_some() {
            self.resume_sla(calendar, paused_before.unwrap_or(now), now);
        }
        self.account_business_time(calendar, paused_before, now);
    }

    /// Refuses the version an etag named unless it is the current one.
    pub fn check_etag(&self, version: i64) -> Result<(), DomainError> {
        if version == self.version {
            Ok(())
        } else {
            Err(DomainError::StaleEtag)
        }
    }

    /// Refuses a change to a closed ticket.
    fn check_not_closed(&self, what: &str) -> Result<(), DomainError> {
        if self.status == Status::Closed {
            return Err(DomainError::refused(
                "STATE",
                format!("a closed ticket cannot be {what}"),
            ));
        }
        Ok(())
    }

    fn touch(&mut self, now: i64) {
        self.update_time = now;
    }

    /// Applies an UpdateTicket patch. Changing nothing is allowed and records nothing.
    pub fn update(&mut self, patch: TicketPatch, now: i64) -> Result<Vec<Change>, DomainError> {
        self.check_not_closed("updated")?;
        let mut fields = Vec::new();
        let mut tag_fields = Vec::new();
        macro_rules! set {
            ($field:literal, $target:expr, $value:expr, $render:expr) => {
                if let Some(value) = $value {
                    if $target != value {
                        let render = $render;
                        let old = render(&$target);
                        $target = value;
                        fields.push(FieldChange::new($field, old, render(&$target)));
                    }
                }
            };
        }
        let text = |s: &String| s.clone();
        set!("subject", self.subject, patch.subject, text);
        set!("description", self.description, patch.description, text);
        if patch.kind.is_some() {
            self.classification.kind_source = ClassificationSource::Given;
            self.classification.kind_confidence = 0.0;
        }
        set!("kind", self.kind, patch.kind, |k: &Kind| k
            .as_str()
            .to_owned());
        if patch.sub_kind.is_some() {
            self.classification.sub_kind_source = Some(ClassificationSource::Given);
            self.classification.sub_kind_confidence = 0.0;
        }
        set!("sub_kind", self.sub_kind, patch.sub_kind, |s: &Option<
            SubKind,
        >| opt(
            s.as_ref()
        ));
        if patch.priority.is_some() {
            self.classification.priority_source = ClassificationSource::Given;
            self.classification.priority_confidence = 0.0;
        }
        set!("priority", self.priority, patch.priority, |p: &Priority| p
            .as_str()
            .to_owned());
        set!(
            "product.product_line",
            self.product.product_line,
            patch.product_line,
            text
        );
        set!(
            "product.model",
            self.product.model,
            patch.product_model,
            text
        );
        set!(
            "product.serial_number",
            self.product.serial_number,
            patch.product_serial_number,
            text
        );
        set!("region", self.region, patch.region, |r: &Region| r
            .to_string());
        set!(
            "service_centre",
            self.service_centre,
            patch.service_centre,
            |s: &Option<ServiceCentre>| opt(s.as_ref())
        );
        set!(
            "language_code",
            self.language_code,
            patch.language_code,
            |l: &Option<LanguageCode>| opt(l.as_ref())
        );
        set!(
            "external_id",
            self.external_id,
            patch.external_id,
            |e: &Option<ExternalId>| opt(e.as_ref())
        );
        if let Some(sub_kind) = self.sub_kind
            && !sub_kind.belongs_to(self.kind)
        {
            return Err(DomainError::invalid(
                "ticket.sub_kind",
                format!("{sub_kind} does not belong to kind {}", self.kind),
            ));
        }
        if let Some(tags) = patch.tags
            && tags != self.tags
        {
            tag_fields.push(FieldChange::new("tags", self.tags.render(), tags.render()));
            self.tags = tags;
        }
        let mut changes = Vec::new();
        if !fields.is_empty() {
            changes.push(Change::Updated { fields });
        }
        if !tag_fields.is_empty() {
            changes.push(Change::TagsChanged { fields: tag_fields });
        }
        if !changes.is_empty() {
            self.touch(now);
        }
        Ok(changes)
    }

    /// Moves the status, with the SLA pause/resume and resolve/reopen bookkeeping that
    /// goes with it. Returns no change when the status stays the same.
    pub fn transition(
        &mut self,
        transition: Transition,
        reason: &str,
        now: i64,
    ) -> Result<Vec<Change>, DomainError> {
        let from = self.status;
        let to = transition.apply(from)?;
        if to == from {
            return Ok(Vec::new());
        }
        self.status = to;
        let mut changes = vec![Change::StatusChanged {
            from,
            to,
            reason: reason.to_owned(),
        }];
        match (from.pauses_sla(), to.pauses_sla()) {
            (false, true) => {
                self.sla.pause_time = Some(now);
                changes.push(Change::SlaPausedOrResumed {
                    fields: vec![FieldChange::new("sla.paused", "false", "true")],
                });
            }
            (true, false) => {
                self.sla.pause_time = None;
                changes.push(Change::SlaPausedOrResumed {
                    fields: vec![FieldChange::new("sla.paused", "true", "false")],
                });
            }
            _ => {}
        }
        match to {
            Status::Resolved => {
                self.sla.resolve_time = Some(now);
                if let Some(due) = self.sla.resolution_due.filter(|due| *due < now)
                    && !self.sla.resolution_breached
                {
                    self.sla.resolution_breached = true;
                    changes.push(Change::SlaBreached {
                        target: Target::Resolution,
                        due_time: due,
                        breach_time: now,
                    });
                }
                changes.push(Change::Resolved {
                    after_reopen: self.reopen_count > 0,
                });
            }
            Status::Closed => self.close_time = Some(now),
            Status::Open if matches!(from, Status::Resolved | Status::Closed) => {
                self.reopen_count += 1;
                self.sla.resolve_time = None;
                self.sla.resolution_business = None;
                self.close_time = None;
                self.resolution_summary.clear();
                changes.push(Change::Reopened {
                    previous: from,
                    reason: reason.to_owned(),
                    by_customer_reply: transition == Transition::CustomerReplied,
                });
            }
            _ => {}
        }
        self.touch(now);
        Ok(changes)
    }

    /// Resolves the ticket, recording `summary`.
    pub fn resolve(&mut self, summary: &str, now: i64) -> Result<Vec<Change>, DomainError> {
        let changes = self.transition(Transition::Resolve, "", now)?;
        self.resolution_summary = summary.to_owned();
        Ok(changes)
    }

    /// Assigns an agent and/or team. Assigning an agent to a `NEW` ticket opens it.
    pub fn assign(
        &mut self,
        assignee: Option<AgentName>,
        team: Option<TeamName>,
        reason: &str,
        now: i64,
    ) -> Result<Vec<Change>, DomainError> {
        self.check_not_closed("assigned")?;
        let mut fields = Vec::new();
        if assignee != self.assignee {
            fields.push(FieldChange::new(
                "assignee",
                opt(self.assignee.as_ref()),
                opt(assignee.as_ref()),
            ));
        }
        let team = team.or_else(|| self.team.clone());
        if team != self.team {
            fields.push(FieldChange::new(
                "team",
                opt(self.team.as_ref()),
                opt(team.as_ref()),
            ));
        }
        if fields.is_empty() {
            return Ok(Vec::new());
        }
        let previous_assignee = std::mem::replace(&mut self.assignee, assignee);
        let previous_team = std::mem::replace(&mut self.team, team);
        let mut changes = vec![Change::Assigned {
            previous_assignee: previous_assignee.map(String::from),
            previous_team: previous_team.map(String::from),
            reason: reason.to_owned(),
            fields,
            auto_routed: false,
        }];
        self.touch(now);
        if self.assignee.is_some() {
            changes.extend(self.transition(Transition::AgentAssigned, reason, now)?);
        }
        Ok(changes)
    }

    /// Assigns the agent routing chose (the workforce service), keeping the team queue;
    /// recorded as routed.
    pub fn route_to(
        &mut self,
        agent: AgentName,
        team: Option<TeamName>,
        reason: &str,
        now: i64,
    ) -> Result<Vec<Change>, DomainError> {
        let mut changes = self.assign(Some(agent), team, reason, now)?;
        for change in &mut changes {
            if let Change::Assigned { auto_routed, .. } = change {
                *auto_routed = true;
            }
        }
        Ok(changes)
    }

    /// Takes the agent routing held a queued ticket for (the workforce service's
    /// `TicketRouted`): assigned to them, recorded as routed, while the ticket is still
    /// unassigned and neither resolved nor closed; otherwise nothing changes (someone took
    /// it meanwhile, or it is done).
    pub fn take_routed(
        &mut self,
        agent: AgentName,
        reason: &str,
        now: i64,
    ) -> Result<Vec<Change>, DomainError> {
        if self.assignee.is_some() || matches!(self.status, Status::Resolved | Status::Closed) {
            return Ok(Vec::new());
        }
        self.route_to(agent, None, reason, now)
    }

    /// Raises the escalation level (to `level`, or the next one), optionally handing over.
    pub fn escalate(
        &mut self,
        level: Option<EscalationLevel>,
        reason: &str,
        assignee: Option<AgentName>,
        team: Option<TeamName>,
        now: i64,
    ) -> Result<Vec<Change>, DomainError> {
        self.check_not_closed("escalated")?;
        let previous = self.escalation_level;
        let level = match level {
            Some(level) => level,
            None => previous.next().ok_or_else(|| {
                DomainError::refused("ESCALATION_LEVEL", "the ticket is already at LEAD level")
            })?,
        };
        if level <= previous {
            return Err(DomainError::refused(
                "ESCALATION_LEVEL",
                format!("levels only go up: the ticket is at {previous}, {level} is not above it"),
            ));
        }
        self.escalation_level = level;
        let mut changes = vec![Change::Escalated {
            previous,
            level,
            reason: reason.to_owned(),
            trigger: None,
        }];
        self.touch(now);
        if assignee.is_some() || team.is_some() {
            let assignee = assignee.or_else(|| self.assignee.clone());
            changes.extend(self.assign(assignee, team, reason, now)?);
        }
        Ok(changes)
    }

    /// Closes this ticket as merged into `target` (same customer, not closed).
    pub fn merge_into(
        &mut self,
        target: &Ticket,
        reason: &str,
        now: i64,
    ) -> Result<Vec<Change>, DomainError> {
        if self.customer != target.customer {
            return Err(DomainError::refused(
                "CUSTOMER",
                format!(
                    "{} belongs to another customer than {}",
                    self.name(),
                    target.name()
                ),
            ));
        }
        if self.status == Status::Closed {
            return Err(DomainError::refused(
                "STATE",
                format!("{} is closed", self.name()),
            ));
        }
        let mut changes = self.transition(Transition::MergeAway, reason, now)?;
        self.merged_into = Some(target.id);
        changes.push(Change::MergedInto {
            target: target.id,
            reason: reason.to_owned(),
        });
        Ok(changes)
    }

    /// Takes in merged `sources`: their tags join this ticket's.
    pub fn merge_from(
        &mut self,
        sources: &[Ticket],
        reason: &str,
        now: i64,
    ) -> Result<Vec<Change>, DomainError> {
        self.check_not_closed("merged into")?;
        let tags: Vec<Tag> = sources
            .iter()
            .flat_map(|s| s.tags.as_slice())
            .filter_map(|t| Tag::parse(t).ok())
            .collect();
        let mut changes = self.add_tags(&tags, now)?;
        changes.push(Change::MergedFrom {
            sources: sources.to_vec(),
            reason: reason.to_owned(),
        });
        self.touch(now);
        Ok(changes)
    }

    /// Adds tags.
    pub fn add_tags(&mut self, tags: &[Tag], now: i64) -> Result<Vec<Change>, DomainError> {
        let new = self
            .tags
            .with_added(tags)
            .map_err(|e| DomainError::invalid("tags", e))?;
        Ok(self.set_tags(new, now))
    }

    /// Removes tags.
    pub fn remove_tags(&mut self, tags: &[Tag], now: i64) -> Vec<Change> {
        let new = self.tags.without(tags);
        self.set_tags(new, now)
    }

    fn set_tags(&mut self, tags: Tags, now: i64) -> Vec<Change> {
        if tags == self.tags {
            return Vec::new();
        }
        let fields = vec![FieldChange::new("tags", self.tags.render(), tags.render())];
        self.tags = tags;
        self.touch(now);
        vec![Change::TagsChanged { fields }]
    }

    /// Adds a message: an agent's first public reply records the first response and opens a
    /// `NEW` ticket; a customer's public reply opens a `PENDING` or `RESOLVED` ticket; then
    /// `set_status` (agents only, checked by the caller) applies.
    pub fn add_message(
        &mut self,
        draft: MessageDraft,
        author: Actor,
        set_status: Option<Status>,
        now: i64,
    ) -> Result<(TicketMessage, Vec<Change>), DomainError> {
        self.check_not_closed("replied to")?;
        let public = draft.visibility == Visibility::Public;
        let message = TicketMessage {
            id: uuid::Uuid::now_v7(),
            ticket: self.id,
            visibility: draft.visibility,
            channel: if public {
                Some(draft.channel.unwrap_or(self.channel))
            } else {
                None
            },
            author: author.clone(),
            body: if draft.format == MessageFormat::Html {
                super::html::sanitise(&draft.body)
            } else {
                draft.body
            },
            format: draft.format,
            attachments: draft.attachments,
            source_ticket: None,
            create_time: now,
        };
        let first_response = public
            && matches!(author.kind, ActorKind::Agent)
            && self.sla.first_response_time.is_none();
        let mut changes = vec![Change::MessageAdded {
            message: Box::new(message.clone()),
            first_response,
        }];
        if first_response {
            self.sla.first_response_time = Some(now);
            if let Some(due) = self.sla.first_response_due.filter(|due| *due < now)
                && !self.sla.first_response_breached
            {
                self.sla.first_response_breached = true;
                changes.push(Change::SlaBreached {
                    target: Target::FirstResponse,
                    due_time: due,
                    breach_time: now,
                });
            }
        }
        let implicit = match (public, author.kind) {
            (true, ActorKind::Agent) => Some(Transition::AgentReplied),
            (true, ActorKind::Customer) => Some(Transition::CustomerReplied),
            _ => None,
        };
        if let Some(transition) = implicit {
            changes.extend(self.transition(transition, "", now)?);
        }
        match set_status {
            Some(Status::Resolved) => changes.extend(self.resolve("", now)?),
            Some(status) => changes.extend(self.transition(Transition::Change(status), "", now)?),
            None => {}
        }
        self.touch(now);
        Ok((message, changes))
    }
}

/// Whether `changes` touched what decides a ticket's SLA policy and calendar (kind,
/// priority, region or service centre), so the policies must be applied again.
pub fn reclassifies(changes: &[Change]) -> bool {
    changes.iter().any(|c| match c {
        Change::Updated { fields } => fields.iter().any(|f| {
            matches!(
                f.field.as_str(),
                "kind" | "priority" | "region" | "service_centre"
            )
        }),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_764_000_000_000_000;

    fn agent() -> Actor {
        Actor {
            kind: ActorKind::Agent,
            id: "agents/a1".into(),
            display_name: "Ada".into(),
        }
    }

    fn new_ticket() -> Ticket {
        let new = NewTicket {
            channel: Channel::Email,
            identity: None,
            external_id: None,
            subject: "Dishwasher leaking".into(),
            description: "Water on the floor after every cycle".into(),
            kind: None,
            sub_kind: None,
            priority: None,
            product: Product::default(),
            region: None,
            service_centre: None,
            language_code: None,
            assignee: None,
            team: None,
            tags: Tags::default(),
        };
        let customer = TicketCustomer {
            name: CustomerName::parse("customers/c1").unwrap(),
            display_name: "Li".into(),
            tier: "STANDARD".into(),
            region: Some(Region::parse("cn-east").unwrap()),
            created: false,
        };
        new.into_ticket(customer, agent(), None, T0).0
    }

    fn draft(visibility: Visibility) -> MessageDraft {
        MessageDraft {
            visibility,
            body: "hello".into(),
            format: MessageFormat::PlainText,
            channel: None,
            attachments: Vec::new(),
        }
    }

    #[test]
    fn a_new_ticket_is_classified_defaults_to_the_customer_region_and_starts_new() {
        let t = new_ticket();
        assert_eq!(t.status, Status::New);
        assert_eq!(t.kind, Kind::TechnicalSupport);
        assert_eq!(t.sub_kind, Some(SubKind::Malfunction));
        assert_eq!(t.classification.kind_source, ClassificationSource::Inferred);
        assert_eq!(t.region.as_ref(), "cn-east");
        assert_eq!(t.escalation_level, EscalationLevel::Tier1);
        assert_eq!(t.version, 1);
        assert!(t.check_etag(2).is_err());
    }

    #[test]
    fn a_routed_assignment_is_recorded_as_routed_and_a_manual_one_is_not() {
        let agent = AgentName::parse("agents/ada").unwrap();
        let mut routed = new_ticket();
        let changes = routed
            .route_to(agent.clone(), None, "routed", T0 + 1)
            .unwrap();
        assert!(matches!(
            &changes[0],
            Change::Assigned {
                auto_routed: true,
                ..
            }
        ));
        assert_eq!(routed.assignee.as_ref(), Some(&agent));
        assert_eq!(routed.status, Status::Open);
        let mut manual = new_ticket();
        let changes = manual.assign(Some(agent), None, "", T0 + 1).unwrap();
        assert!(matches!(
            &changes[0],
            Change::Assigned {
                auto_routed: false,
                ..
            }
        ));
    }

    #[test]
    fn an_update_records_each_changed_field_and_nothing_for_no_change() {
        let mut t = new_ticket();
        let patch = TicketPatch {
            subject: Some("Dishwasher leaking badly".into()),
            priority: Some(Priority::High),
            ..TicketPatch::default()
        };
        let changes = t.update(patch, T0 + 1).unwrap();
        let Change::Updated { fields } = &changes[0] else {
            panic!("{changes:?}")
        };
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["subject", "priority"]);
        assert_eq!(fields[1].old_value, "NORMAL");
        assert_eq!(
            t.classification.priority_source,
            ClassificationSource::Given
        );
        let same = TicketPatch {
            subject: Some("Dishwasher leaking badly".into()),
            ..TicketPatch::default()
        };
        assert!(t.update(same, T0 + 2).unwrap().is_empty());
        let wrong = TicketPatch {
            sub_kind: Some(Some(SubKind::Repair)),
            ..TicketPatch::default()
        };
        assert!(matches!(
            t.update(wrong, T0 + 3),
            Err(DomainError::Invalid { .. })
        ));
    }

    #[test]
    fn an_agents_first_public_reply_opens_and_records_the_first_response_once() {
        let mut t = new_ticket();
        let (_, changes) = t
            .add_message(draft(Visibility::Internal), agent(), None, T0 + 1)
            .unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(t.status, Status::New);
        let (message, changes) = t
            .add_message(draft(Visibility::Public), agent(), None, T0 + 2)
            .unwrap();
        assert_eq!(message.channel, Some(Channel::Email));
        assert!(matches!(
            changes[0],
            Change::MessageAdded {
                first_response: true,
                ..
            }
        ));
        assert_eq!(t.status, Status::Open);
        assert_eq!(t.sla.first_response_time, Some(T0 + 2));
        let (_, changes) = t
            .add_message(draft(Visibility::Public), agent(), None, T0 + 3)
            .unwrap();
        assert!(matches!(
            changes[0],
            Change::MessageAdded {
                first_response: false,
                ..
            }
        ));
        assert_eq!(t.sla.first_response_time, Some(T0 + 2));
    }

    #[test]
    fn pausing_and_resuming_is_recorded_and_closed_tickets_refuse_changes() {
        let mut t = new_ticket();
        let changes = t
            .transition(Transition::Change(Status::OnHold), "parts", T0 + 1)
            .unwrap();
        assert!(matches!(changes[1], Change::SlaPausedOrResumed { .. }));
        assert_eq!(t.sla.pause_time, Some(T0 + 1));
        t.transition(Transition::Close { with_reason: true }, "spam", T0 + 2)
            .unwrap();
        assert_eq!(t.close_time, Some(T0 + 2));
        assert!(t.add_tags(&[Tag::parse("x").unwrap()], T0 + 3).is_ok());
        assert!(matches!(
            t.assign(
                Some(AgentName::parse("agents/b").unwrap()),
                None,
                "",
                T0 + 4
            ),
            Err(DomainError::Refused {
                violation: "STATE",
                ..
            })
        ));
        assert!(
            t.add_message(draft(Visibility::Public), agent(), None, T0 + 5)
                .is_err()
        );
    }

    #[test]
    fn escalation_only_goes_up_and_can_hand_over() {
        let mut t = new_ticket();
        let team = TeamName::parse("teams/specialists").unwrap();
        let changes = t
            .escalate(None, "hard", None, Some(team.clone()), T0 + 1)
            .unwrap();
        assert!(matches!(
            changes[0],
            Change::Escalated {
                level: EscalationLevel::Specialist,
                ..
            }
        ));
        assert_eq!(t.team, Some(team));
        assert!(
            t.escalate(Some(EscalationLevel::Tier1), "down", None, None, T0 + 2)
                .is_err()
        );
        t.escalate(None, "harder", None, None, T0 + 3).unwrap();
        assert!(t.escalate(None, "beyond", None, None, T0 + 4).is_err());
    }

    #[test]
    fn a_merge_needs_the_same_customer() {
        let mut source = new_ticket();
        let target = new_ticket();
        let mut stranger = new_ticket();
        stranger.customer = CustomerName::parse("customers/c2").unwrap();
        assert!(matches!(
            stranger.merge_into(&target, "", T0 + 1),
            Err(DomainError::Refused {
                violation: "CUSTOMER",
                ..
            })
        ));
        let changes = source.merge_into(&target, "dup", T0 + 1).unwrap();
        assert_eq!(source.status, Status::Closed);
        assert_eq!(source.merged_into, Some(target.id));
        assert!(
            changes
                .iter()
                .any(|c| matches!(c, Change::MergedInto { .. }))
        );
    }
}

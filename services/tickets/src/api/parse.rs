//! Requests parsed into domain values, one `TryFrom` per request: every bad field is
//! reported at once (`INVALID_ARGUMENT` naming it) and nothing past here re-validates.
//! Tickets, messages and history here; SLA policies and calendars in `parse/sla.rs`,
//! after-sales cases in `parse/after_sales.rs`, the watched queue in `parse/watch.rs`, on
//! the shared helpers below.

mod after_sales;
mod sla;
mod watch;

use aftercare_platform::error::FieldViolations;
use aftercare_platform::request::{
    Etag, Page, child_id, enum_value, optional_text, request_id, required_enum, required_text,
    update_paths,
};
use aftercare_proto::aftercare::tickets::v1 as pb;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::{
    ActorKind, AgentName, Attachment, Channel, ChannelIdentity, Comparison, CustomerName,
    EscalationLevel, ExternalId, Filter, Kind, LanguageCode, MessageDraft, MessageFormat,
    NewTicket, Priority, Product, Region, RequestKey, ServiceCentre, Status, SubKind, Tag, Tags,
    TeamName, TicketCriterion, TicketId, TicketPatch, Visibility, WireEnum,
};
use crate::error::Error;
use crate::store::{HistoryQuery, MessageQuery, TicketOrder};

pub use after_sales::{CaseName, CaseStep, CreateAfterSalesCase, ListAfterSalesCases};
pub use sla::{
    CalendarPatch, Create, Delete, ListBusinessCalendars, ListSlaPolicies, Named, PolicyPatch,
    Update,
};
pub use watch::Queue;

fn ticket_id(v: &mut FieldViolations, field: &str, name: &str) -> Option<TicketId> {
    if name.is_empty() {
        v.add(field, "is required");
        return None;
    }
    v.check(field, TicketId::parse_name(name))
}

fn optional<T>(
    v: &mut FieldViolations,
    field: &str,
    value: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Option<T> {
    if value.is_empty() {
        None
    } else {
        v.check(field, parse(value))
    }
}

fn tags(v: &mut FieldViolations, field: &str, values: &[String]) -> Vec<Tag> {
    values
        .iter()
        .enumerate()
        .filter_map(|(i, t)| v.check(&format!("{field}[{i}]"), Tag::parse(t)))
        .collect()
}

fn product(v: &mut FieldViolations, prefix: &str, product: Option<&pb::Product>) -> Product {
    let product = product.cloned().unwrap_or_default();
    Product {
        product_line: optional_text(
            v,
            &format!("{prefix}.product_line"),
            &product.product_line,
            64,
        )
        .unwrap_or_default(),
        model: optional_text(v, &format!("{prefix}.model"), &product.model, 64).unwrap_or_default(),
        serial_number: optional_text(
            v,
            &format!("{prefix}.serial_number"),
            &product.serial_number,
            64,
        )
        .unwrap_or_default(),
    }
}

/// The caller's idempotency key (`request_id`, given as `id_text`) with a digest of
/// `request` without it (`without_key` clears it), so a reused key with another request is
/// told apart from a retry.
pub fn request_key<M: prost::Message + Clone>(
    v: &mut FieldViolations,
    request: &M,
    id_text: &str,
    without_key: impl FnOnce(&mut M),
) -> Option<RequestKey> {
    let id = request_id(v, "request_id", id_text)?;
    let mut copy = request.clone();
    without_key(&mut copy);
    let digest = Sha256::digest(copy.encode_to_vec());
    Some(RequestKey {
        id,
        fingerprint: digest.iter().map(|b| format!("{b:02x}")).collect(),
    })
}

/// Files by reference, at most 20, each checked.
pub fn attachments(
    v: &mut FieldViolations,
    prefix: &str,
    given: &[pb::Attachment],
) -> Vec<Attachment> {
    if given.len() > 20 {
        v.add(prefix, "at most 20 attachments");
    }
    given
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let field = |f: &str| format!("{prefix}[{i}].{f}");
            if !(a.uri.starts_with("https://") || a.uri.starts_with("s3://")) || a.uri.len() > 2_048
            {
                v.add(
                    field("uri"),
                    "must be an https:// or s3:// URI of at most 2,048 characters",
                );
            }
            let name_len = a.file_name.chars().count();
            if !(1..=255).contains(&name_len) || a.file_name.contains(['/', '\\']) {
                v.add(
                    field("file_name"),
                    "must be 1 to 255 characters without path separators",
                );
            }
            if a.content_type.len() > 255 {
                v.add(field("content_type"), "must be at most 255 characters");
            }
            if !(0..=1_073_741_824).contains(&a.size_bytes) {
                v.add(field("size_bytes"), "must be 0 to 1 GiB");
            }
            Attachment {
                uri: a.uri.clone(),
                file_name: a.file_name.clone(),
                content_type: if a.content_type.is_empty() {
                    "application/octet-stream".to_owned()
                } else {
                    a.content_type.clone()
                },
                size_bytes: a.size_bytes,
            }
        })
        .collect()
}

/// Who a new ticket is for.
#[derive(Debug, Clone)]
pub enum CustomerRef {
    /// An existing customer (with an identity to attach, if given).
    Name(CustomerName),
    /// A channel identity to resolve.
    Identity(ChannelIdentity),
}

/// A parsed CreateTicket.
#[derive(Debug, Clone)]
pub struct CreateTicket {
    /// The ticket.
    pub ticket: NewTicket,
    /// Its customer.
    pub customer: CustomerRef,
    /// The idempotency key, with the digest of the request.
    pub request_id: Option<RequestKey>,
    /// The display name for a new customer.
    pub customer_display_name: String,
    /// The ticket this one follows up.
    pub follow_up_of: Option<TicketId>,
}

impl TryFrom<pb::CreateTicketRequest> for CreateTicket {
    type Error = Error;

    fn try_from(request: pb::CreateTicketRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let request_id = request_key(&mut v, &request, &request.request_id, |r| {
            r.request_id.clear()
        });
        let Some(t) = request.ticket else {
            return Err(Error::invalid("ticket", "is required"));
        };
        let subject = required_text(&mut v, "ticket.subject", &t.subject, 200).unwrap_or_default();
        let description =
            required_text(&mut v, "ticket.description", &t.description, 20_000).unwrap_or_default();
        let identity = t.customer_identity.as_ref().and_then(|i| {
            let channel =
                required_enum::<Channel>(&mut v, "ticket.customer_identity.channel", i.channel);
            let handle = i.handle.trim();
            if handle.is_empty() || handle.chars().count() > 320 {
                v.add(
                    "ticket.customer_identity.handle",
                    "must be 1 to 320 characters",
                );
            }
            let provider =
                optional_text(&mut v, "ticket.customer_identity.provider", &i.provider, 64)
                    .unwrap_or_default();
            channel.map(|channel| ChannelIdentity {
                channel,
                handle: handle.to_owned(),
                provider,
            })
        });
        let customer = optional(&mut v, "ticket.customer", &t.customer, CustomerName::parse);
        let channel = enum_value::<Channel>(&mut v, "ticket.channel", t.channel)
            .or(identity.as_ref().map(|i| i.channel));
        if channel.is_none() && t.channel == 0 {
            v.add(
                "ticket.channel",
                "is required when no customer_identity is given",
            );
        }
        let customer = match (customer, identity.clone()) {
            (Some(name), _) => Some(CustomerRef::Name(name)),
            (None, Some(identity)) => Some(CustomerRef::Identity(identity)),
            (None, None) => {
                if t.customer.is_empty() && t.customer_identity.is_none() {
                    v.add("ticket.customer", "give customer or customer_identity");
                }
                None
            }
        };
        let kind = enum_value::<Kind>(&mut v, "ticket.kind", t.kind);
        let sub_kind = enum_value::<SubKind>(&mut v, "ticket.sub_kind", t.sub_kind);
        let priority = enum_value::<Priority>(&mut v, "ticket.priority", t.priority);
        let product = product(&mut v, "ticket.product", t.product.as_ref());
        let region = optional(&mut v, "ticket.region", &t.region, Region::parse);
        let service_centre = optional(
            &mut v,
            "ticket.service_centre",
            &t.service_centre,
            ServiceCentre::parse,
        );
        let language_code = optional(
            &mut v,
            "ticket.language_code",
            &t.language_code,
            LanguageCode::parse,
        );
        let assignee = optional(&mut v, "ticket.assignee", &t.assignee, AgentName::parse);
        let team = optional(&mut v, "ticket.team", &t.team, TeamName::parse);
        let external_id = optional(
            &mut v,
            "ticket.external_id",
            &t.external_id,
            ExternalId::parse,
        );
        let tag_list = tags(&mut v, "ticket.tags", &t.tags);
        let tags = v
            .check("ticket.tags", Tags::from_tags(tag_list))
            .unwrap_or_default();
        let customer_display_name = optional_text(
            &mut v,
            "customer_display_name",
            request.customer_display_name.trim(),
            200,
        )
        .unwrap_or_default();
        let follow_up_of = optional(
            &mut v,
            "follow_up_of",
            &request.follow_up_of,
            TicketId::parse_name,
        );
        if !(0..=10).contains(&request.max_suggestions) {
            v.add("max_suggestions", "must be 0 to 10");
        }
        let ticket = NewTicket {
            channel: channel.unwrap_or(Channel::Web),
            identity,
            external_id,
            subject,
            description,
            kind,
            sub_kind,
            priority,
            product,
            region,
            service_centre,
            language_code,
            assignee,
            team,
            tags,
        };
        if let Err(crate::domain::DomainError::Invalid { field, description }) = ticket.check() {
            v.add(field, description);
        }
        if !v.is_empty() {
            return Err(Error::Invalid(v));
        }
        Ok(Self {
            ticket,
            customer: customer.ok_or_else(|| Error::invalid("ticket.customer", "is required"))?,
            request_id,
            customer_display_name,
            follow_up_of,
        })
    }
}

/// A ticket named in a request, by the field `name`.
pub fn ticket_name(field: &str, name: &str) -> Result<TicketId, Error> {
    let mut v = FieldViolations::new();
    let id = ticket_id(&mut v, field, name);
    match id {
        Some(id) if v.is_empty() => Ok(id),
        _ => Err(Error::Invalid(v)),
    }
}

/// A parsed ListTickets.
#[derive(Debug, Clone)]
pub struct ListTickets {
    /// The page.
    pub page: Page,
    /// The filter.
    pub criteria: Vec<TicketCriterion>,
    /// The order.
    pub order: TicketOrder,
    /// Descending.
    pub descending: bool,
}

impl TryFrom<pb::ListTicketsRequest> for ListTickets {
    type Error = Error;

    fn try_from(request: pb::ListTicketsRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let order_text = request.order_by.trim();
        let page = Page::parse(
            &mut v,
            request.page_size,
            &request.page_token,
            &[&request.filter, order_text],
        );
        let criteria = v
            .check(
                "filter",
                Filter::parse(&request.filter)
                    .map_err(|e| e.to_string())
                    .and_then(|f| crate::domain::ticket_criteria(&f)),
            )
            .unwrap_or_default();
        let (field, direction) = order_text
            .split_once(char::is_whitespace)
            .map_or((order_text, ""), |(f, d)| (f, d.trim()));
        let order = match field {
            "" | "create_time" => Some(TicketOrder::CreateTime),
            "update_time" => Some(TicketOrder::UpdateTime),
            "priority" => Some(TicketOrder::Priority),
            "resolution_due_time" => Some(TicketOrder::ResolutionDueTime),
            _ => None,
        };
        let descending = match (field, direction) {
            ("", "") => Some(true),
            (_, "") | (_, "asc") => Some(false),
            (_, "desc") => Some(true),
            _ => None,
        };
        if order.is_none() || descending.is_none() {
            v.add(
                "order_by",
                "must be create_time, update_time, priority or resolution_due_time, optionally followed by desc",
            );
        }
        if !v.is_empty() {
            return Err(Error::Invalid(v));
        }
        Ok(Self {
            page,
            criteria,
            order: order.unwrap_or(TicketOrder::CreateTime),
            descending: descending.unwrap_or(true),
        })
    }
}

/// A parsed UpdateTicket.
#[derive(Debug, Clone)]
pub struct UpdateTicket {
    /// The ticket.
    pub id: TicketId,
    /// The version its etag names.
    pub etag: i64,
    /// The changes.
    pub patch: TicketPatch,
}

const UPDATABLE: &[&str] = &[
    "subject",
    "description",
    "kind",
    "sub_kind",
    "priority",
    "product",
    "product.product_line",
    "product.model",
    "product.serial_number",
    "region",
    "service_centre",
    "language_code",
    "tags",
    "external_id",
];

impl TryFrom<pb::UpdateTicketRequest> for UpdateTicket {
    type Error = Error;

    fn try_from(request: pb::UpdateTicketRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let Some(t) = request.ticket else {
            return Err(Error::invalid("ticket", "is required"));
        };
        let id = ticket_id(&mut v, "ticket.name", &t.name);
        let etag = Etag::parse(&mut v, "ticket.etag", &t.etag);
        let selected = update_paths(&mut v, request.update_mask.as_ref(), UPDATABLE);
        let has = |p: &str| selected.contains(&p);
        let mut patch = TicketPatch::default();
        if has("subject") {
            patch.subject =
                Some(required_text(&mut v, "ticket.subject", &t.subject, 200).unwrap_or_default());
        }
        if has("description") {
            patch.description = Some(
                required_text(&mut v, "ticket.description", &t.description, 20_000)
                    .unwrap_or_default(),
            );
        }
        if has("kind") {
            patch.kind = required_enum::<Kind>(&mut v, "ticket.kind", t.kind);
        }
        if has("sub_kind") {
            patch.sub_kind = Some(enum_value::<SubKind>(&mut v, "ticket.sub_kind", t.sub_kind));
        }
        if has("priority") {
            patch.priority = required_enum::<Priority>(&mut v, "ticket.priority", t.priority);
        }
        let product = product(&mut v, "ticket.product", t.product.as_ref());
        if has("product") || has("product.product_line") {
            patch.product_line = Some(product.product_line.clone());
        }
        if has("product") || has("product.model") {
            patch.product_model = Some(product.model.clone());
        }
        if has("product") || has("product.serial_number") {
            patch.product_serial_number = Some(product.serial_number);
        }
        if has("region") {
            patch.region = v.check("ticket.region", Region::parse(&t.region));
        }
        if has("service_centre") {
            patch.service_centre = Some(optional(
                &mut v,
                "ticket.service_centre",
                &t.service_centre,
                ServiceCentre::parse,
            ));
        }
        if has("language_code") {
            patch.language_code = Some(optional(
                &mut v,
                "ticket.language_code",
                &t.language_code,
                LanguageCode::parse,
            ));
        }
        if has("external_id") {
            patch.external_id = Some(optional(
                &mut v,
                "ticket.external_id",
                &t.external_id,
                ExternalId::parse,
            ));
        }
        if has("tags") {
            let list = tags(&mut v, "ticket.tags", &t.tags);
            patch.tags = v.check("ticket.tags", Tags::from_tags(list));
        }
        match (id, etag) {
            (Some(id), Some(etag)) if v.is_empty() => Ok(Self { id, etag, patch }),
            _ => Err(Error::Invalid(v)),
        }
    }
}

/// A parsed status method (ChangeTicketStatus, Resolve, Close, Reopen).
#[derive(Debug, Clone)]
pub struct StatusCommand {
    /// The ticket.
    pub id: TicketId,
    /// The version its etag names.
    pub etag: i64,
    /// The status asked for (ChangeTicketStatus only).
    pub status: Option<Status>,
    /// Reason or resolution summary.
    pub text: String,
}

fn status_command(
    name: &str,
    etag_value: &str,
    status: Option<(i32, bool)>,
    text_field: (&str, &str, usize, usize),
) -> Result<StatusCommand, Error> {
    let mut v = FieldViolations::new();
    let id = ticket_id(&mut v, "name", name);
    let etag = Etag::parse(&mut v, "etag", etag_value);
    let status = status.and_then(|(number, _)| {
        let status = required_enum::<Status>(&mut v, "status", number)?;
        if !matches!(status, Status::Open | Status::Pending | Status::OnHold) {
            v.add(
                "status",
                "must be OPEN, PENDING or ON_HOLD: use ResolveTicket, CloseTicket or ReopenTicket",
            );
        }
        Some(status)
    });
    let (field, value, min, max) = text_field;
    let text = if min > 0 {
        required_text(&mut v, field, value, max)
    } else {
        optional_text(&mut v, field, value, max)
    }
    .unwrap_or_default();
    match (id, etag) {
        (Some(id), Some(etag)) if v.is_empty() => Ok(StatusCommand {
            id,
            etag,
            status,
            text,
        }),
        _ => Err(Error::Invalid(v)),
    }
}

impl TryFrom<pb::ChangeTicketStatusRequest> for StatusCommand {
    type Error = Error;

    fn try_from(r: pb::ChangeTicketStatusRequest) -> Result<Self, Error> {
        status_command(
            &r.name,
            &r.etag,
            Some((r.status, true)),
            ("reason", &r.reason, 0, 1_000),
        )
    }
}

impl TryFrom<pb::ResolveTicketRequest> for StatusCommand {
    type Error = Error;

    fn try_from(r: pb::ResolveTicketRequest) -> Result<Self, Error> {
        status_command(
            &r.name,
            &r.etag,
            None,
            ("resolution_summary", &r.resolution_summary, 0, 5_000),
        )
    }
}

impl TryFrom<pb::CloseTicketRequest> for StatusCommand {
    type Error = Error;

    fn try_from(r: pb::CloseTicketRequest) -> Result<Self, Error> {
        status_command(&r.name, &r.etag, None, ("reason", &r.reason, 0, 1_000))
    }
}

impl TryFrom<pb::ReopenTicketRequest> for StatusCommand {
    type Error = Error;

    fn try_from(r: pb::ReopenTicketRequest) -> Result<Self, Error> {
        status_command(&r.name, &r.etag, None, ("reason", &r.reason, 1, 1_000))
    }
}

/// A parsed AssignTicket or EscalateTicket.
#[derive(Debug, Clone)]
pub struct AssignCommand {
    /// The ticket.
    pub id: TicketId,
    /// The version its etag names.
    pub etag: i64,
    /// The agent.
    pub assignee: Option<AgentName>,
    /// The team.
    pub team: Option<TeamName>,
    /// The level (EscalateTicket; `None`: the next one).
    pub level: Option<EscalationLevel>,
    /// Why.
    pub reason: String,
}

impl TryFrom<pb::AssignTicketRequest> for AssignCommand {
    type Error = Error;

    fn try_from(r: pb::AssignTicketRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let id = ticket_id(&mut v, "name", &r.name);
        let etag = Etag::parse(&mut v, "etag", &r.etag);
        let assignee = optional(&mut v, "assignee", &r.assignee, AgentName::parse);
        let team = optional(&mut v, "team", &r.team, TeamName::parse);
        if r.auto_route && !r.assignee.is_empty() {
            v.add("assignee", "must be empty with auto_route");
        }
        if r.assignee.is_empty() && r.team.is_empty() && !r.auto_route {
            v.add("assignee", "give assignee and/or team, or auto_route");
        }
        let reason = optional_text(&mut v, "reason", &r.reason, 1_000).unwrap_or_default();
        match (id, etag) {
            (Some(id), Some(etag)) if v.is_empty() => Ok(Self {
                id,
                etag,
                assignee,
                team,
                level: None,
                reason,
            }),
            _ => Err(Error::Invalid(v)),
        }
    }
}

impl TryFrom<pb::EscalateTicketRequest> for AssignCommand {
    type Error = Error;

    fn try_from(r: pb::EscalateTicketRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let id = ticket_id(&mut v, "name", &r.name);
        let etag = Etag::parse(&mut v, "etag", &r.etag);
        let level = enum_value::<EscalationLevel>(&mut v, "level", r.level);
        let reason = required_text(&mut v, "reason", &r.reason, 1_000).unwrap_or_default();
        let assignee = optional(&mut v, "assignee", &r.assignee, AgentName::parse);
        let team = optional(&mut v, "team", &r.team, TeamName::parse);
        match (id, etag) {
            (Some(id), Some(etag)) if v.is_empty() => Ok(Self {
                id,
                etag,
                assignee,
                team,
                level,
                reason,
            }),
            _ => Err(Error::Invalid(v)),
        }
    }
}

/// A parsed AddTicketTags or RemoveTicketTags.
#[derive(Debug, Clone)]
pub struct TagsCommand {
    /// The ticket.
    pub id: TicketId,
    /// The tags.
    pub tags: Vec<Tag>,
    /// The version its etag names, when given.
    pub etag: Option<i64>,
}

fn tags_command(name: &str, values: &[String], etag: &str) -> Result<TagsCommand, Error> {
    let mut v = FieldViolations::new();
    let id = ticket_id(&mut v, "name", name);
    if values.is_empty() || values.len() > 50 {
        v.add("tags", "give 1 to 50 tags");
    }
    let tags = tags(&mut v, "tags", values);
    match id {
        Some(id) if v.is_empty() => Ok(TagsCommand {
            id,
            tags,
            etag: Etag::parse_optional(etag),
        }),
        _ => Err(Error::Invalid(v)),
    }
}

impl TryFrom<pb::AddTicketTagsRequest> for TagsCommand {
    type Error = Error;

    fn try_from(r: pb::AddTicketTagsRequest) -> Result<Self, Error> {
        tags_command(&r.name, &r.tags, &r.etag)
    }
}

impl TryFrom<pb::RemoveTicketTagsRequest> for TagsCommand {
    type Error = Error;

    fn try_from(r: pb::RemoveTicketTagsRequest) -> Result<Self, Error> {
        tags_command(&r.name, &r.tags, &r.etag)
    }
}

/// A parsed CreateMessage.
#[derive(Debug, Clone)]
pub struct CreateMessage {
    /// The ticket.
    pub id: TicketId,
    /// The message.
    pub draft: MessageDraft,
    /// The author an integration relays for.
    pub relayed_author: Option<(ActorKind, String)>,
    /// The idempotency key, with the digest of the request.
    pub request_id: Option<RequestKey>,
    /// The status to set with it.
    pub set_status: Option<Status>,
    /// The version its etag names, when given.
    pub etag: Option<i64>,
}

impl TryFrom<pb::CreateMessageRequest> for CreateMessage {
    type Error = Error;

    fn try_from(r: pb::CreateMessageRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let request_id = request_key(&mut v, &r, &r.request_id, |r| r.request_id.clear());
        let id = ticket_id(&mut v, "parent", &r.parent);
        let Some(m) = r.message else {
            return Err(Error::invalid("message", "is required"));
        };
        let visibility = required_enum::<Visibility>(&mut v, "message.visibility", m.visibility);
        if m.body.is_empty() || m.body.chars().count() > 50_000 {
            v.add("message.body", "must be 1 to 50,000 characters");
        }
        let format = enum_value::<MessageFormat>(&mut v, "message.format", m.format)
            .unwrap_or(MessageFormat::PlainText);
        let channel = enum_value::<Channel>(&mut v, "message.channel", m.channel);
        let attachments = attachments(&mut v, "message.attachments", &m.attachments);
        let relayed_author = m.author.as_ref().and_then(|a| {
            let kind = match a.r#type {
                1 => Some(ActorKind::Agent),
                2 => Some(ActorKind::Customer),
                _ => None,
            };
            kind.filter(|_| !a.id.is_empty()).map(|k| (k, a.id.clone()))
        });
        let set_status = enum_value::<Status>(&mut v, "set_status", r.set_status);
        if let Some(status) = set_status
            && !matches!(
                status,
                Status::Open | Status::Pending | Status::OnHold | Status::Resolved
            )
        {
            v.add("set_status", "must be OPEN, PENDING, ON_HOLD or RESOLVED");
        }
        if set_status.is_some() && r.etag.is_empty() {
            v.add("etag", "is required with set_status");
        }
        match (id, visibility) {
            (Some(id), Some(visibility)) if v.is_empty() => Ok(Self {
                id,
                draft: MessageDraft {
                    visibility,
                    body: m.body,
                    format,
                    channel,
                    attachments,
                },
                relayed_author,
                request_id,
                set_status,
                etag: Etag::parse_optional(&r.etag),
            }),
            _ => Err(Error::Invalid(v)),
        }
    }
}

/// A message named in a request.
pub fn message_name(field: &str, name: &str) -> Result<(TicketId, Uuid), Error> {
    let mut v = FieldViolations::new();
    child_id(&mut v, field, name, "tickets", "messages")
        .map(|(ticket, message)| (TicketId(ticket), message))
        .ok_or(Error::Invalid(v))
}

/// A parsed page request of a ticket's messages or history.
#[derive(Debug, Clone)]
pub struct ListChildren<Q> {
    /// The ticket.
    pub id: TicketId,
    /// The query.
    pub query: Q,
    /// The page.
    pub page: Page,
}

/// Parses the common parts of a child list; the page token is bound to `bound_to` (the
/// filter and order as sent).
fn children<Q>(
    parent: &str,
    page_size: i32,
    page_token: &str,
    filter_text: &str,
    bound_to: &[&str],
    query: impl FnOnce(&mut FieldViolations, Filter) -> Q,
) -> Result<ListChildren<Q>, Error> {
    let mut v = FieldViolations::new();
    let id = ticket_id(&mut v, "parent", parent);
    let page = Page::parse(&mut v, page_size, page_token, bound_to);
    let filter = v
        .check("filter", Filter::parse(filter_text))
        .unwrap_or_default();
    let query = query(&mut v, filter);
    match id {
        Some(id) if v.is_empty() => Ok(ListChildren { id, query, page }),
        _ => Err(Error::Invalid(v)),
    }
}

fn comparison_time(
    v: &mut FieldViolations,
    c: &crate::domain::Condition,
) -> Option<(Comparison, i64)> {
    if c.op.is_equality() {
        v.add(
            "filter",
            format!("`{}` accepts <, <=, > and >= only", c.field),
        );
        return None;
    }
    v.check("filter", c.value.time()).map(|t| (c.op, t))
}

fn equality(v: &mut FieldViolations, c: &crate::domain::Condition) -> Option<Comparison> {
    if c.op.is_equality() {
        Some(c.op)
    } else {
        v.add("filter", format!("`{}` accepts = and != only", c.field));
        None
    }
}

fn actor_kind(v: &mut FieldViolations, text: &str) -> Option<ActorKind> {
    let kind = ActorKind::parse(text);
    if kind.is_none() {
        v.add(
            "filter",
            format!("`{text}` is not AGENT, CUSTOMER, INTEGRATION or SYSTEM"),
        );
    }
    kind
}

impl TryFrom<pb::ListMessagesRequest> for ListChildren<MessageQuery> {
    type Error = Error;

    fn try_from(r: pb::ListMessagesRequest) -> Result<Self, Error> {
        let descending = match r.order_by.trim() {
            "" | "create_time" | "create_time asc" => false,
            "create_time desc" => true,
            _ => {
                return Err(Error::invalid(
                    "order_by",
                    "must be create_time or create_time desc",
                ));
            }
        };
        let bound_to = [r.filter.as_str(), r.order_by.as_str()];
        children(
            &r.parent,
            r.page_size,
            &r.page_token,
            &r.filter,
            &bound_to,
            |v, filter| {
                let mut query = MessageQuery {
                    descending,
                    ..MessageQuery::default()
                };
                for c in &filter.conditions {
                    match c.field.as_str() {
                        "visibility" => {
                            let op = equality(v, c);
                            let value = Visibility::parse(c.value.text());
                            if value.is_none() {
                                v.add("filter", "visibility must be PUBLIC or INTERNAL");
                            }
                            query.visibility = op.zip(value);
                        }
                        "author.type" => {
                            let op = equality(v, c);
                            query.author_type = op.zip(actor_kind(v, c.value.text()));
                        }
                        "author.id" => {
                            let op = equality(v, c);
                            let id = v.check("filter", c.value.quoted().map(ToOwned::to_owned));
                            query.author_id = op.zip(id);
                        }
                        "channel" => {
                            let op = equality(v, c);
                            let channel = Channel::parse(c.value.text());
                            if channel.is_none() {
                                v.add("filter", format!("`{}` is not a channel", c.value.text()));
                            }
                            query.channel = op.zip(channel);
                        }
                        "create_time" => query.create_time.extend(comparison_time(v, c)),
                        other => v.add("filter", format!("unknown field `{other}`")),
                    }
                }
                query
            },
        )
    }
}

impl TryFrom<pb::ListTicketHistoryRequest> for ListChildren<HistoryQuery> {
    type Error = Error;

    fn try_from(r: pb::ListTicketHistoryRequest) -> Result<Self, Error> {
        children(
            &r.parent,
            r.page_size,
            &r.page_token,
            &r.filter,
            &[r.filter.as_str()],
            |v, filter| {
                let mut query = HistoryQuery::default();
                for c in &filter.conditions {
                    match c.field.as_str() {
                        "event_kind" => {
                            let op = equality(v, c);
                            let name = format!("HISTORY_EVENT_KIND_{}", c.value.text());
                            if pb::HistoryEventKind::from_str_name(&name).is_none() {
                                v.add(
                                    "filter",
                                    format!("`{}` is not a history event kind", c.value.text()),
                                );
                            }
                            query
                                .event_kind
                                .extend(op.map(|op| (op, c.value.text().to_owned())));
                        }
                        "actor.type" => {
                            let op = equality(v, c);
                            query
                                .actor_type
                                .extend(op.zip(actor_kind(v, c.value.text())));
                        }
                        "actor.id" => {
                            let op = equality(v, c);
                            let id = v.check("filter", c.value.quoted().map(ToOwned::to_owned));
                            query.actor_id.extend(op.zip(id));
                        }
                        "field" => {
                            let op = equality(v, c);
                            let field = v.check("filter", c.value.quoted().map(ToOwned::to_owned));
                            query.field.extend(op.zip(field));
                        }
                        "create_time" => query.create_time.extend(comparison_time(v, c)),
                        other => v.add("filter", format!("unknown field `{other}`")),
                    }
                }
                query
            },
        )
    }
}

/// The parsed `value` when nothing was recorded in `v`, else `INVALID_ARGUMENT` naming every
/// bad field.
fn finish<T>(v: FieldViolations, value: Option<T>) -> Result<T, Error> {
    match value {
        Some(value) if v.is_empty() => Ok(value),
        _ => Err(Error::Invalid(v)),
    }
}

/// An optional text, trimmed and bounded (empty when not given or refused).
fn text(v: &mut FieldViolations, field: &str, value: &str, max: usize) -> String {
    optional_text(v, field, value, max).unwrap_or_default()
}

/// A date, `YYYY-MM-DD`.
fn date(v: &mut FieldViolations, field: &str, value: &str) -> Option<chrono::NaiveDate> {
    let parsed = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").ok();
    if parsed.is_none() {
        v.add(field, "must be a date, YYYY-MM-DD");
    }
    parsed
}

/// A page and a filter, the page token bound to `bound_to` (the query as sent).
fn page_and_filter(
    v: &mut FieldViolations,
    page_size: i32,
    page_token: &str,
    filter: &str,
    bound_to: &[&str],
) -> (Page, Filter) {
    let page = Page::parse(v, page_size, page_token, bound_to);
    let filter = v.check("filter", Filter::parse(filter)).unwrap_or_default();
    (page, filter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PageToken;

    pub(super) fn bad_fields(error: Error) -> Vec<String> {
        match error {
            Error::Invalid(v) => v.violations().iter().map(|v| v.field.clone()).collect(),
            other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
        }
    }

    fn ticket_name_text() -> String {
        TicketId::generate().name()
    }

    pub(super) fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
        Some(prost_types::FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        })
    }

    #[test]
    fn create_ticket_names_every_bad_field_at_once() {
        let request = pb::CreateTicketRequest {
            ticket: Some(pb::Ticket {
                subject: "  ".into(),
                description: "x".repeat(20_001),
                channel: 99,
                priority: 42,
                region: "Not A Region".into(),
                tags: vec!["has space".into()],
                ..Default::default()
            }),
            request_id: "retry-1".into(),
            max_suggestions: 11,
            follow_up_of: "tickets/nope".into(),
            ..Default::default()
        };
        let fields = bad_fields(CreateTicket::try_from(request).unwrap_err());
        for field in [
            "ticket.subject",
            "ticket.description",
            "ticket.channel",
            "ticket.priority",
            "ticket.region",
            "ticket.tags[0]",
            "request_id",
            "max_suggestions",
            "follow_up_of",
            "ticket.customer",
        ] {
            assert!(fields.iter().any(|f| f == field), "{field} in {fields:?}");
        }
    }

    #[test]
    fn create_ticket_trims_texts_and_keeps_a_canonical_request_id() {
        let request = pb::CreateTicketRequest {
            ticket: Some(pb::Ticket {
                subject: "  洗衣机无法开机 ".into(),
                description: "显示E3错误代码".into(),
                customer_identity: Some(aftercare_proto::aftercare::common::v1::ChannelIdentity {
                    channel: Channel::Email.rank(),
                    handle: "li.wei@example.com".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            request_id: "0190A3C4-5B6D-7E8F-9A0B-1C2D3E4F5A6B".into(),
            ..Default::default()
        };
        let command = CreateTicket::try_from(request).unwrap();
        assert_eq!(command.ticket.subject, "洗衣机无法开机");
        let key = command.request_id.unwrap();
        assert_eq!(key.id, "0190a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b");
        assert_eq!(key.fingerprint.len(), 64);
        assert!(matches!(command.customer, CustomerRef::Identity(_)));
    }

    #[test]
    fn a_request_key_digests_the_request_without_its_key() {
        let request = |subject: &str, request_id: &str| pb::CreateTicketRequest {
            ticket: Some(pb::Ticket {
                subject: subject.into(),
                ..Default::default()
            }),
            request_id: request_id.into(),
            ..Default::default()
        };
        let key = |r: &pb::CreateTicketRequest| {
            let mut v = FieldViolations::new();
            let key = request_key(&mut v, r, &r.request_id, |r| r.request_id.clear());
            assert!(v.is_empty());
            key
        };
        let a = "0190a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b";
        let b = "0190a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6c";
        let first = key(&request("Washer", a)).unwrap();
        assert_eq!(first, key(&request("Washer", a)).unwrap());
        assert_eq!(
            first.fingerprint,
            key(&request("Washer", b)).unwrap().fingerprint
        );
        assert_ne!(
            first.fingerprint,
            key(&request("Dryer", a)).unwrap().fingerprint
        );
        assert_eq!(key(&request("Washer", "")), None);
    }

    #[test]
    fn update_ticket_accepts_a_star_and_names_unknown_paths() {
        let ticket = pb::Ticket {
            name: ticket_name_text(),
            etag: "\"3\"".into(),
            subject: "new subject".into(),
            description: "new description".into(),
            kind: Kind::Complaint.rank(),
            priority: Priority::High.rank(),
            region: "eu-west".into(),
            ..Default::default()
        };
        let star = UpdateTicket::try_from(pb::UpdateTicketRequest {
            ticket: Some(ticket.clone()),
            update_mask: mask(&["*"]),
        })
        .unwrap();
        assert_eq!(star.etag, 3);
        assert_eq!(star.patch.subject.as_deref(), Some("new subject"));
        assert_eq!(star.patch.priority, Some(Priority::High));
        let error = UpdateTicket::try_from(pb::UpdateTicketRequest {
            ticket: Some(pb::Ticket {
                etag: String::new(),
                ..ticket
            }),
            update_mask: mask(&["subject", "status", "etag"]),
        })
        .unwrap_err();
        let Error::Invalid(v) = error else {
            panic!("expected INVALID_ARGUMENT")
        };
        let described: Vec<String> = v
            .violations()
            .iter()
            .map(|v| format!("{}: {}", v.field, v.description))
            .collect();
        assert!(described.iter().any(|d| d.starts_with("ticket.etag")));
        assert!(
            described
                .iter()
                .any(|d| d.starts_with("update_mask") && d.contains("`status`, `etag`")),
            "{described:?}"
        );
    }

    #[test]
    fn update_ticket_without_a_mask_is_refused() {
        let fields = bad_fields(
            UpdateTicket::try_from(pb::UpdateTicketRequest {
                ticket: Some(pb::Ticket {
                    name: "tickets/1".into(),
                    ..Default::default()
                }),
                update_mask: None,
            })
            .unwrap_err(),
        );
        assert_eq!(fields, ["ticket.name", "ticket.etag", "update_mask"]);
    }

    #[test]
    fn list_tickets_refuses_bad_orders_sizes_and_foreign_tokens() {
        let fields = bad_fields(
            ListTickets::try_from(pb::ListTicketsRequest {
                page_size: -1,
                page_token: "garbage".into(),
                order_by: "subject desc".into(),
                filter: "status = ".into(),
            })
            .unwrap_err(),
        );
        for field in ["page_size", "page_token", "order_by", "filter"] {
            assert!(fields.iter().any(|f| f == field), "{field} in {fields:?}");
        }
        let first = ListTickets::try_from(pb::ListTicketsRequest {
            filter: "status = OPEN".into(),
            ..Default::default()
        })
        .unwrap();
        let token = first.page.token_after(&PageToken::int(5, Uuid::now_v7()));
        let other_query = ListTickets::try_from(pb::ListTicketsRequest {
            filter: "status = PENDING".into(),
            page_token: token.clone(),
            ..Default::default()
        });
        assert_eq!(bad_fields(other_query.unwrap_err()), ["page_token"]);
        let same = ListTickets::try_from(pb::ListTicketsRequest {
            filter: "status = OPEN".into(),
            page_token: token,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(same.page.after.and_then(|t| t.int_key()), Some(5));
    }

    #[test]
    fn status_methods_need_a_name_and_an_etag() {
        let fields = bad_fields(
            StatusCommand::try_from(pb::ChangeTicketStatusRequest {
                name: String::new(),
                etag: String::new(),
                status: Status::Resolved.rank(),
                reason: "r".repeat(1_001),
            })
            .unwrap_err(),
        );
        assert_eq!(fields, ["name", "etag", "status", "reason"]);
        let fields = bad_fields(
            StatusCommand::try_from(pb::ReopenTicketRequest {
                name: ticket_name_text(),
                etag: "\"1\"".into(),
                reason: " ".into(),
            })
            .unwrap_err(),
        );
        assert_eq!(fields, ["reason"]);
    }

    #[test]
    fn assignment_needs_someone_or_auto_route() {
        let fields = bad_fields(
            AssignCommand::try_from(pb::AssignTicketRequest {
                name: ticket_name_text(),
                etag: "\"1\"".into(),
                ..Default::default()
            })
            .unwrap_err(),
        );
        assert_eq!(fields, ["assignee"]);
        let fields = bad_fields(
            AssignCommand::try_from(pb::EscalateTicketRequest {
                name: ticket_name_text(),
                etag: String::new(),
                level: 77,
                team: "not a team".into(),
                ..Default::default()
            })
            .unwrap_err(),
        );
        assert_eq!(fields, ["etag", "level", "reason", "team"]);
    }

    #[test]
    fn tags_are_one_to_fifty_valid_tags() {
        let fields = bad_fields(
            TagsCommand::try_from(pb::AddTicketTagsRequest {
                name: ticket_name_text(),
                tags: Vec::new(),
                etag: String::new(),
            })
            .unwrap_err(),
        );
        assert_eq!(fields, ["tags"]);
        let fields = bad_fields(
            TagsCommand::try_from(pb::RemoveTicketTagsRequest {
                name: "tickets/x".into(),
                tags: vec!["ok".into(), "not ok".into()],
                etag: String::new(),
            })
            .unwrap_err(),
        );
        assert_eq!(fields, ["name", "tags[1]"]);
    }

    #[test]
    fn create_message_checks_body_visibility_status_and_etag() {
        let fields = bad_fields(
            CreateMessage::try_from(pb::CreateMessageRequest {
                parent: ticket_name_text(),
                message: Some(pb::TicketMessage {
                    body: String::new(),
                    format: 9,
                    ..Default::default()
                }),
                request_id: "again".into(),
                set_status: Status::Closed.rank(),
                etag: String::new(),
            })
            .unwrap_err(),
        );
        assert_eq!(
            fields,
            [
                "request_id",
                "message.visibility",
                "message.body",
                "message.format",
                "set_status",
                "etag"
            ]
        );
    }

    #[test]
    fn messages_and_history_filters_name_unknown_fields() {
        let fields = bad_fields(
            ListChildren::<MessageQuery>::try_from(pb::ListMessagesRequest {
                parent: ticket_name_text(),
                filter: "colour = RED".into(),
                ..Default::default()
            })
            .unwrap_err(),
        );
        assert_eq!(fields, ["filter"]);
        let fields = bad_fields(
            ListChildren::<HistoryQuery>::try_from(pb::ListTicketHistoryRequest {
                parent: "tickets/-".into(),
                page_size: -5,
                filter: "create_time = \"2026-01-01T00:00:00Z\"".into(),
                ..Default::default()
            })
            .unwrap_err(),
        );
        assert_eq!(fields, ["parent", "page_size", "filter"]);
    }

    #[test]
    fn message_names_are_exact() {
        let id = TicketId::generate();
        let message = Uuid::now_v7();
        assert_eq!(
            message_name("name", &format!("{}/messages/{message}", id.name())).unwrap(),
            (id, message)
        );
        for bad in [
            format!("{}/notes/{message}", id.name()),
            format!("{}/messages/{message}/x", id.name()),
            "tickets/1/messages/2".to_owned(),
        ] {
            assert_eq!(
                bad_fields(message_name("name", &bad).unwrap_err()),
                ["name"]
            );
        }
    }
}

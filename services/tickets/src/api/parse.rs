//! Requests parsed into domain values, one `TryFrom` per request: every bad field is
//! reported at once (`INVALID_ARGUMENT` naming it) and nothing past here re-validates.

use aftercare_platform::error::FieldViolations;
use aftercare_proto::aftercare::tickets::v1 as pb;
use uuid::Uuid;

use crate::domain::{
    ActorKind, AgentName, Attachment, Channel, ChannelIdentity, Comparison, CustomerName,
    EscalationLevel, ExternalId, Filter, Kind, LanguageCode, MessageDraft, MessageFormat,
    NewTicket, PageSize, PageToken, Priority, Product, Region, ServiceCentre, Status, SubKind, Tag,
    Tags, TeamName, TextField, TicketCriterion, TicketId, TicketPatch, Visibility, WireEnum,
    fingerprint,
};
use crate::error::Error;
use crate::store::{HistoryQuery, MessageQuery, TicketOrder};

/// A wire enum from its proto number: `None` for 0 (unspecified), a violation for an
/// unknown number.
fn enum_field<E: WireEnum>(v: &mut FieldViolations, field: &str, number: i32) -> Option<E> {
    if number == 0 {
        return None;
    }
    let parsed = E::from_rank(number);
    if parsed.is_none() {
        v.add(field, format!("unknown value {number}"));
    }
    parsed
}

fn required_enum<E: WireEnum>(v: &mut FieldViolations, field: &str, number: i32) -> Option<E> {
    if number == 0 {
        v.add(field, "is required");
        return None;
    }
    enum_field(v, field, number)
}

fn ticket_id(v: &mut FieldViolations, field: &str, name: &str) -> Option<TicketId> {
    if name.is_empty() {
        v.add(field, "is required");
        return None;
    }
    v.check(field, TicketId::parse_name(name))
}

fn etag(v: &mut FieldViolations, field: &str, etag: &str) -> String {
    if etag.is_empty() {
        v.add(field, "is required");
    }
    etag.to_owned()
}

fn text(v: &mut FieldViolations, field: &str, value: &str, min: usize, max: usize) -> String {
    v.check(field, TextField::parse(value, min, max))
        .map(TextField::into_inner)
        .unwrap_or_default()
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

fn request_id(v: &mut FieldViolations, value: &str) -> Option<String> {
    optional(v, "request_id", value, |id| {
        Uuid::parse_str(id)
            .map(|u| u.to_string())
            .map_err(|_| "must be a UUID".to_owned())
    })
}

fn tags(v: &mut FieldViolations, field: &str, values: &[String]) -> Vec<Tag> {
    values
        .iter()
        .enumerate()
        .filter_map(|(i, t)| v.check(&format!("{field}[{i}]"), Tag::parse(t)))
        .collect()
}

fn bounded(v: &mut FieldViolations, field: &str, value: &str, max: usize) -> String {
    if value.chars().count() > max {
        v.add(field, format!("must be at most {max} characters"));
    }
    value.to_owned()
}

fn product(v: &mut FieldViolations, prefix: &str, product: Option<&pb::Product>) -> Product {
    let product = product.cloned().unwrap_or_default();
    Product {
        product_line: bounded(
            v,
            &format!("{prefix}.product_line"),
            &product.product_line,
            64,
        ),
        model: bounded(v, &format!("{prefix}.model"), &product.model, 64),
        serial_number: bounded(
            v,
            &format!("{prefix}.serial_number"),
            &product.serial_number,
            64,
        ),
    }
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
    /// The idempotency key.
    pub request_id: Option<String>,
    /// The display name for a new customer.
    pub customer_display_name: String,
    /// The ticket this one follows up.
    pub follow_up_of: Option<TicketId>,
}

impl TryFrom<pb::CreateTicketRequest> for CreateTicket {
    type Error = Error;

    fn try_from(request: pb::CreateTicketRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let Some(t) = request.ticket else {
            return Err(Error::invalid("ticket", "is required"));
        };
        let subject = text(&mut v, "ticket.subject", &t.subject, 1, 200);
        let description = text(&mut v, "ticket.description", &t.description, 1, 20_000);
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
            let provider = bounded(&mut v, "ticket.customer_identity.provider", &i.provider, 64);
            channel.map(|channel| ChannelIdentity {
                channel,
                handle: handle.to_owned(),
                provider,
            })
        });
        let customer = optional(&mut v, "ticket.customer", &t.customer, CustomerName::parse);
        let channel = enum_field::<Channel>(&mut v, "ticket.channel", t.channel)
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
        let kind = enum_field::<Kind>(&mut v, "ticket.kind", t.kind);
        let sub_kind = enum_field::<SubKind>(&mut v, "ticket.sub_kind", t.sub_kind);
        let priority = enum_field::<Priority>(&mut v, "ticket.priority", t.priority);
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
        let request_id = request_id(&mut v, &request.request_id);
        let customer_display_name = bounded(
            &mut v,
            "customer_display_name",
            request.customer_display_name.trim(),
            200,
        );
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
    /// Page size.
    pub page_size: PageSize,
    /// Where to continue.
    pub after: Option<PageToken>,
    /// The filter.
    pub criteria: Vec<TicketCriterion>,
    /// The order.
    pub order: TicketOrder,
    /// Descending.
    pub descending: bool,
    /// The fingerprint page tokens are bound to.
    pub fingerprint: u64,
}

impl TryFrom<pb::ListTicketsRequest> for ListTickets {
    type Error = Error;

    fn try_from(request: pb::ListTicketsRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let page_size = v.check("page_size", PageSize::parse(request.page_size));
        let criteria = v
            .check(
                "filter",
                Filter::parse(&request.filter)
                    .map_err(|e| e.to_string())
                    .and_then(|f| crate::domain::ticket_criteria(&f)),
            )
            .unwrap_or_default();
        let order_text = request.order_by.trim();
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
        let fingerprint = fingerprint(&[&request.filter, order_text]);
        let after = optional(&mut v, "page_token", &request.page_token, |t| {
            PageToken::decode(t, fingerprint)
        });
        if !v.is_empty() {
            return Err(Error::Invalid(v));
        }
        Ok(Self {
            page_size: page_size.unwrap_or(PageSize::parse(0).expect("0 is valid")),
            after,
            criteria,
            order: order.unwrap_or(TicketOrder::CreateTime),
            descending: descending.unwrap_or(true),
            fingerprint,
        })
    }
}

/// A parsed UpdateTicket.
#[derive(Debug, Clone)]
pub struct UpdateTicket {
    /// The ticket.
    pub id: TicketId,
    /// Its etag.
    pub etag: String,
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
        let etag = etag(&mut v, "ticket.etag", &t.etag);
        let paths = request.update_mask.map(|m| m.paths).unwrap_or_default();
        if paths.is_empty() {
            v.add("update_mask", "must name at least one field");
        }
        let mut selected: Vec<&str> = Vec::new();
        for path in &paths {
            match path.as_str() {
                "*" => selected.extend(UPDATABLE),
                "product.product_line" | "product.model" | "product.serial_number" => {
                    selected.push(path)
                }
                p if UPDATABLE.contains(&p) => selected.push(p),
                other => v.add(
                    "update_mask",
                    format!(
                        "`{other}` cannot be updated here (allowed: {})",
                        UPDATABLE.join(", ")
                    ),
                ),
            }
        }
        let has = |p: &str| selected.contains(&p);
        let mut patch = TicketPatch::default();
        if has("subject") {
            patch.subject = Some(text(&mut v, "ticket.subject", &t.subject, 1, 200));
        }
        if has("description") {
            patch.description = Some(text(
                &mut v,
                "ticket.description",
                &t.description,
                1,
                20_000,
            ));
        }
        if has("kind") {
            patch.kind = required_enum::<Kind>(&mut v, "ticket.kind", t.kind);
        }
        if has("sub_kind") {
            patch.sub_kind = Some(enum_field::<SubKind>(&mut v, "ticket.sub_kind", t.sub_kind));
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
        match id {
            Some(id) if v.is_empty() => Ok(Self { id, etag, patch }),
            _ => Err(Error::Invalid(v)),
        }
    }
}

/// A parsed status method (ChangeTicketStatus, Resolve, Close, Reopen).
#[derive(Debug, Clone)]
pub struct StatusCommand {
    /// The ticket.
    pub id: TicketId,
    /// Its etag.
    pub etag: String,
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
    let etag = etag(&mut v, "etag", etag_value);
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
    let text = text(&mut v, field, value, min, max);
    match id {
        Some(id) if v.is_empty() => Ok(StatusCommand {
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
    /// Its etag.
    pub etag: String,
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
        let etag = etag(&mut v, "etag", &r.etag);
        let assignee = optional(&mut v, "assignee", &r.assignee, AgentName::parse);
        let team = optional(&mut v, "team", &r.team, TeamName::parse);
        if r.auto_route && !r.assignee.is_empty() {
            v.add("assignee", "must be empty with auto_route");
        }
        if r.assignee.is_empty() && r.team.is_empty() && !r.auto_route {
            v.add("assignee", "give assignee and/or team, or auto_route");
        }
        let reason = text(&mut v, "reason", &r.reason, 0, 1_000);
        match id {
            Some(id) if v.is_empty() => Ok(Self {
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
        let etag = etag(&mut v, "etag", &r.etag);
        let level = enum_field::<EscalationLevel>(&mut v, "level", r.level);
        let reason = text(&mut v, "reason", &r.reason, 1, 1_000);
        let assignee = optional(&mut v, "assignee", &r.assignee, AgentName::parse);
        let team = optional(&mut v, "team", &r.team, TeamName::parse);
        match id {
            Some(id) if v.is_empty() => Ok(Self {
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
    /// The etag, when given.
    pub etag: Option<String>,
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
            etag: (!etag.is_empty()).then(|| etag.to_owned()),
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
    /// The idempotency key.
    pub request_id: Option<String>,
    /// The status to set with it.
    pub set_status: Option<Status>,
    /// The etag, when given.
    pub etag: Option<String>,
}

impl TryFrom<pb::CreateMessageRequest> for CreateMessage {
    type Error = Error;

    fn try_from(r: pb::CreateMessageRequest) -> Result<Self, Error> {
        let mut v = FieldViolations::new();
        let id = ticket_id(&mut v, "parent", &r.parent);
        let Some(m) = r.message else {
            return Err(Error::invalid("message", "is required"));
        };
        let visibility = required_enum::<Visibility>(&mut v, "message.visibility", m.visibility);
        if m.body.is_empty() || m.body.chars().count() > 50_000 {
            v.add("message.body", "must be 1 to 50,000 characters");
        }
        let format = enum_field::<MessageFormat>(&mut v, "message.format", m.format)
            .unwrap_or(MessageFormat::PlainText);
        let channel = enum_field::<Channel>(&mut v, "message.channel", m.channel);
        let attachments = attachments(&mut v, "message.attachments", &m.attachments);
        let relayed_author = m.author.as_ref().and_then(|a| {
            let kind = match a.r#type {
                1 => Some(ActorKind::Agent),
                2 => Some(ActorKind::Customer),
                _ => None,
            };
            kind.filter(|_| !a.id.is_empty()).map(|k| (k, a.id.clone()))
        });
        let request_id = request_id(&mut v, &r.request_id);
        let set_status = enum_field::<Status>(&mut v, "set_status", r.set_status);
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
                etag: (!r.etag.is_empty()).then_some(r.etag),
            }),
            _ => Err(Error::Invalid(v)),
        }
    }
}

/// A message named in a request.
pub fn message_name(field: &str, name: &str) -> Result<(TicketId, Uuid), Error> {
    let parsed = name.split_once("/messages/").and_then(|(ticket, message)| {
        Some((
            TicketId::parse_name(ticket).ok()?,
            Uuid::parse_str(message).ok()?,
        ))
    });
    parsed.ok_or_else(|| {
        Error::invalid(
            field,
            "must be a message name, `tickets/{ticket}/messages/{message}`",
        )
    })
}

/// A parsed page request of a ticket's messages or history.
#[derive(Debug, Clone)]
pub struct ListChildren<Q> {
    /// The ticket.
    pub id: TicketId,
    /// The query.
    pub query: Q,
    /// Page size.
    pub page_size: PageSize,
    /// Where to continue.
    pub after: Option<PageToken>,
    /// The fingerprint tokens are bound to.
    pub fingerprint: u64,
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
    let size = v.check("page_size", PageSize::parse(page_size));
    let filter = v
        .check("filter", Filter::parse(filter_text))
        .unwrap_or_default();
    let query = query(&mut v, filter);
    let fingerprint = fingerprint(bound_to);
    let after = optional(&mut v, "page_token", page_token, |t| {
        PageToken::decode(t, fingerprint)
    });
    match (id, size) {
        (Some(id), Some(page_size)) if v.is_empty() => Ok(ListChildren {
            id,
            query,
            page_size,
            after,
            fingerprint,
        }),
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

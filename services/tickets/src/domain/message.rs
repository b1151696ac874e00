//! Messages of a ticket: public replies and internal notes, with files by reference.

use super::ticket::Actor;
use super::values::{Channel, MessageFormat, TicketId, Visibility};

/// A file attached by reference.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attachment {
    /// `https://` or `s3://` URI.
    pub uri: String,
    /// The file name.
    pub file_name: String,
    /// The media type.
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
}

/// A public reply or internal note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketMessage {
    /// Its id (UUIDv7).
    pub id: uuid::Uuid,
    /// The ticket it is on.
    pub ticket: TicketId,
    /// Public or internal.
    pub visibility: Visibility,
    /// Who wrote it.
    pub author: Actor,
    /// The body.
    pub body: String,
    /// The body's format.
    pub format: MessageFormat,
    /// The channel of a public reply.
    pub channel: Option<Channel>,
    /// Attachments.
    pub attachments: Vec<Attachment>,
    /// For a copy made by a merge, the ticket it was first written on.
    pub source_ticket: Option<TicketId>,
    /// When it was written.
    pub create_time: i64,
}

impl TicketMessage {
    /// The resource name.
    pub fn name(&self) -> String {
        format!("{}/messages/{}", self.ticket.name(), self.id)
    }
}

/// A message as asked for, parsed.
#[derive(Debug, Clone)]
pub struct MessageDraft {
    /// Public or internal.
    pub visibility: Visibility,
    /// The body, 1 to 50,000 characters.
    pub body: String,
    /// Its format.
    pub format: MessageFormat,
    /// Its channel.
    pub channel: Option<Channel>,
    /// Attachments, at most 20.
    pub attachments: Vec<Attachment>,
}

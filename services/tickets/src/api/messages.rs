//! Messages of a ticket: public replies and internal notes.

use aftercare_platform::auth::Principal;
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::tickets::v1 as pb;
use tonic::{Request, Response, Status};

use super::parse::{CreateMessage, ListChildren, message_name};
use super::{Api, Reply};
use crate::convert;
use crate::domain::{
    Access, Action, IdempotencyKey, PageToken, Relay, RelayRefused, Ticket, TicketId,
    TicketMessage, Visibility,
};
use crate::error::{Error, MESSAGE, Result};
use crate::store;

impl Api {
    pub(super) async fn create_message(
        &self,
        principal: &Principal,
        command: CreateMessage,
    ) -> Result<(TicketMessage, Ticket, bool)> {
        let access = Self::access(principal, Action::Reply)?;
        if access.is_customer()
            && (command.draft.visibility != Visibility::Public || command.set_status.is_some())
        {
            return Err(Error::PermissionDenied(
                "customers may only write public replies".into(),
            ));
        }
        let key = IdempotencyKey::of(
            command.request_id.as_ref(),
            &principal.subject,
            "CreateMessage",
            &command.id.name(),
        );
        if let Some(earlier) = self.replayed(key.as_ref(), MESSAGE).await? {
            return self.replayed_message(&access, command.id, &earlier).await;
        }
        // An integration may write for the ticket's customer, and for an agent only with
        // that delegation; anyone else's message is authored by the caller.
        let relayed =
            Relay::of(principal, command.relayed_author.as_ref()).map_err(|r| match r {
                RelayRefused::NotDelegated(why) => Error::PermissionDenied(why),
                RelayRefused::Invalid(why) => Error::invalid("message.author.id", why),
            })?;
        let result = self
            .mutate(
                principal,
                Action::Reply,
                command.id,
                command.etag,
                key.as_ref(),
                |ticket, actor| {
                    let author = match &relayed {
                        Some(relay) => relay.author(&ticket.customer)?,
                        None => actor.clone(),
                    };
                    let (message, changes) = ticket.add_message(
                        command.draft.clone(),
                        author,
                        command.set_status,
                        now_micros(),
                    )?;
                    Ok((changes, message))
                },
            )
            .await;
        match result {
            Ok((ticket, message)) => Ok((message, ticket, access.is_customer())),
            // A concurrent call with the same key got there first: nothing was written.
            Err(Error::KeyTaken) => {
                let earlier = self
                    .replayed(key.as_ref(), MESSAGE)
                    .await?
                    .ok_or(Error::KeyTaken)?;
                self.replayed_message(&access, command.id, &earlier).await
            }
            Err(err) => Err(err),
        }
    }
}

impl Api {
    /// The message a replayed CreateMessage wrote, through the visibility checks of a read:
    /// the ticket must still be visible, and a customer sees public messages only.
    async fn replayed_message(
        &self,
        access: &Access,
        ticket: TicketId,
        id: &str,
    ) -> Result<(TicketMessage, Ticket, bool)> {
        let ticket = self.visible(access, ticket).await?;
        let id = uuid::Uuid::parse_str(id)
            .map_err(|_| Error::Corrupt(format!("request id names {id}")))?;
        let message = store::get_message(&self.db, ticket.id, id)
            .await?
            .filter(|m| !access.is_customer() || m.visibility == Visibility::Public)
            .ok_or_else(|| Error::NotFound {
                resource_type: MESSAGE,
                name: format!("{}/messages/{id}", ticket.name()),
            })?;
        Ok((message, ticket, access.is_customer()))
    }
}

#[tracing::instrument(skip_all, fields(ticket = %request.get_ref().parent))]
pub(super) async fn create_message(
    api: &Api,
    request: Request<pb::CreateMessageRequest>,
) -> Reply<pb::CreateMessageResponse> {
    let principal = api.principal(&request)?;
    let command = CreateMessage::try_from(request.into_inner())?;
    let (message, ticket, for_customer) = api.create_message(&principal, command).await?;
    Ok(Response::new(pb::CreateMessageResponse {
        message: Some(convert::message(&message)),
        ticket: Some(convert::ticket(&ticket, for_customer)),
    }))
}

#[tracing::instrument(skip_all, fields(message = %request.get_ref().name))]
pub(super) async fn get_message(
    api: &Api,
    request: Request<pb::GetMessageRequest>,
) -> Reply<pb::GetMessageResponse> {
    let principal = api.principal(&request)?;
    let name = request.get_ref().name.clone();
    let (ticket, id) = message_name("name", &name)?;
    let access = Api::access(&principal, Action::Read)?;
    api.visible(&access, ticket).await?;
    let message = store::get_message(&api.db, ticket, id)
        .await
        .map_err(Status::from)?
        .filter(|m| !access.is_customer() || m.visibility == Visibility::Public)
        .ok_or_else(|| Error::NotFound {
            resource_type: MESSAGE,
            name,
        })?;
    Ok(Response::new(pb::GetMessageResponse {
        message: Some(convert::message(&message)),
    }))
}

#[tracing::instrument(skip_all, fields(ticket = %request.get_ref().parent))]
pub(super) async fn list_messages(
    api: &Api,
    request: Request<pb::ListMessagesRequest>,
) -> Reply<pb::ListMessagesResponse> {
    let principal = api.principal(&request)?;
    let mut list = ListChildren::<store::MessageQuery>::try_from(request.into_inner())?;
    let access = Api::access(&principal, Action::Read)?;
    api.visible(&access, list.id).await?;
    if access.is_customer() {
        list.query.visibility = Some((crate::domain::Comparison::Eq, Visibility::Public));
    }
    let limit = list.page.size;
    let mut messages = store::list_messages(
        &api.db,
        list.id,
        &list.query,
        list.page.after.as_ref(),
        limit,
    )
    .await?;
    let next_page_token = list.page.finish(&mut messages, |m| {
        PageToken::int(m.create_time, m.id.to_string())
    });
    Ok(Response::new(pb::ListMessagesResponse {
        messages: messages.iter().map(convert::message).collect(),
        next_page_token,
    }))
}

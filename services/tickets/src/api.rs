//! The gRPC handlers of `TicketService`: verify the principal, parse the request, authorise,
//! let the domain decide, persist through the store, answer.

mod after_sales;
mod links;
mod parse;
mod sla;
mod stats;
mod watch;

use std::pin::Pin;

use aftercare_platform::auth::{Principal, PrincipalVerifier};
use aftercare_platform::db::Database;
use aftercare_platform::events::RelayWaker;
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::tickets::v1 as pb;
use aftercare_proto::aftercare::tickets::v1::ticket_service_server::TicketService;
use futures::Stream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::convert;
use crate::customers::CustomerDirectory;
use crate::domain::{
    Access, Action, Actor, BusinessCalendar, Change, DomainError, PageToken, Ticket,
    TicketCustomer, TicketId, TicketMessage, Transition, Visibility, actor_of,
};
use crate::error::{Error, MESSAGE, Result};
use crate::events::ChangeFeed;
use crate::store::{self, Created};
pub use after_sales::AfterSalesApi;
use parse::{
    AssignCommand, CreateMessage, CreateTicket, CustomerRef, ListChildren, ListTickets,
    StatusCommand, TagsCommand, UpdateTicket, message_name, ticket_name,
};
pub use sla::SlaApi;

/// How often a write without an etag is retried when a concurrent write got there first.
const RETRIES: usize = 5;

/// The `TicketService` implementation.
#[derive(Debug, Clone)]
pub struct TicketApi {
    db: Database,
    relay: RelayWaker,
    principals: PrincipalVerifier,
    customers: CustomerDirectory,
    feed: ChangeFeed,
    shutdown: CancellationToken,
}

impl TicketApi {
    /// The handlers over `db`, waking `relay` after commits.
    pub fn new(
        db: Database,
        relay: RelayWaker,
        principals: PrincipalVerifier,
        customers: CustomerDirectory,
        feed: ChangeFeed,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            db,
            relay,
            principals,
            customers,
            feed,
            shutdown,
        }
    }

    fn principal<T>(&self, request: &Request<T>) -> Result<Principal> {
        self.principals
            .verify(request.metadata(), "tickets")
            .map_err(Error::Unauthenticated)
    }

    fn access(principal: &Principal, action: Action) -> Result<Access> {
        Access::of(principal, action).ok_or_else(|| {
            Error::PermissionDenied(format!("the caller may not {action:?} tickets").to_lowercase())
        })
    }

    /// The ticket, if it exists and is within `access` (else `NOT_FOUND`, never revealing
    /// that it exists).
    async fn visible(&self, access: &Access, id: TicketId) -> Result<Ticket> {
        store::get_ticket(&self.db, id)
            .await?
            .filter(|t| access.reaches(&t.customer, &t.region))
            .ok_or_else(|| Error::ticket_not_found(id.name()))
    }

    fn committed(&self, ticket: &Ticket, actor: &Actor, committed: crate::events::Committed) {
        self.relay.wake();
        self.feed.send(ticket, actor, committed);
    }

    /// Loads a visible ticket, checks `etag` when given, lets `decide` change it and saves
    /// it. A write without an etag that loses a race is retried on the fresh ticket.
    async fn mutate<T>(
        &self,
        principal: &Principal,
        action: Action,
        id: TicketId,
        etag: Option<&str>,
        message_request_id: Option<&str>,
        mut decide: impl FnMut(&mut Ticket, &Actor) -> Result<(Vec<Change>, T), DomainError>,
    ) -> Result<(Ticket, T)> {
        let access = Self::access(principal, action)?;
        let actor = actor_of(principal);
        let mut attempt = 0;
        loop {
            let mut ticket = self.visible(&access, id).await?;
            let name = ticket.name();
            if let Some(etag) = etag {
                ticket
                    .check_etag(etag)
                    .map_err(|e| Error::from_domain(e, &name))?;
            }
            let paused_at = ticket.sla.pause_time;
            let (changes, out) =
                decide(&mut ticket, &actor).map_err(|e| Error::from_domain(e, &name))?;
            if changes.is_empty() {
                return Ok((ticket, out));
            }
            let resumed = paused_at.is_some() && ticket.sla.pause_time.is_none();
            let timed = (ticket.sla.first_response_time.is_some()
                && ticket.sla.first_response_business.is_none())
                || (ticket.sla.resolve_time.is_some() && ticket.sla.resolution_business.is_none());
            if resumed || timed {
                let calendar = self.calendar_of(&ticket).await?;
                let now = ticket.update_time;
                if resumed && ticket.sla.policy.is_some() {
                    ticket.resume_sla(&calendar, paused_at.unwrap_or(now), now);
                }
                ticket.account_business_time(&calendar, paused_at, now);
            }
            match store::save_ticket(&self.db, ticket, changes, &actor, message_request_id).await {
                Ok((ticket, committed)) => {
                    self.committed(&ticket, &actor, committed);
                    return Ok((ticket, out));
                }
                Err(Error::StaleEtag(_)) if etag.is_none() && attempt < RETRIES => attempt += 1,
                Err(err) => return Err(err),
            }
        }
    }

    /// The business calendar counting `ticket`'s SLA: the one it recorded, else (deleted
    /// since) its service centre's, else its region's, else around the clock in UTC.
    async fn calendar_of(&self, ticket: &Ticket) -> Result<BusinessCalendar> {
        let calendars = store::all_calendars(&self.db).await?;
        Ok(
            crate::domain::fallback_calendar(&calendars, ticket.sla.calendar.as_deref(), ticket)
                .map_or_else(BusinessCalendar::around_the_clock, |c| c.calendar()),
        )
    }

    async fn resolve_customer(
        &self,
        access: &Access,
        command: &CreateTicket,
    ) -> Result<TicketCustomer> {
        match (access, &command.customer) {
            (Access::Customer(own), CustomerRef::Name(name)) if own != name => Err(
                Error::PermissionDenied("a customer may only open tickets for themselves".into()),
            ),
            (Access::Customer(own), CustomerRef::Identity(_)) => self.customers.get(own).await,
            (_, CustomerRef::Name(name)) => {
                // Both given: the identity is attached to the customer (or refused when it
                // belongs to another).
                if let Some(identity) = &command.ticket.identity {
                    self.customers.attach(name, identity).await?;
                }
                self.customers.get(name).await
            }
            (_, CustomerRef::Identity(identity)) => {
                self.customers
                    .resolve(
                        identity,
                        &command.customer_display_name,
                        command.ticket.region.as_ref(),
                    )
                    .await
            }
        }
    }

    async fn create(
        &self,
        principal: &Principal,
        mut command: CreateTicket,
    ) -> Result<(Ticket, bool)> {
        let access = Self::access(principal, Action::Create)?;
        match &access {
            Access::Region(own) => match &command.ticket.region {
                Some(region) if region != own => {
                    return Err(Error::PermissionDenied(format!(
                        "an agent of {own} may not open tickets in {region}"
                    )));
                }
                _ => command.ticket.region = Some(own.clone()),
            },
            Access::Customer(_) => {
                command.ticket.assignee = None;
                command.ticket.team = None;
                command.ticket.tags = Default::default();
            }
            Access::All => {}
        }
        if let Some(request_id) = &command.request_id
            && let Some(existing) = store::ticket_by_request_id(&self.db, request_id).await?
        {
            return Ok((existing, false));
        }
        let mut follow_up_of = None;
        if let Some(other) = command.follow_up_of {
            let other = self.visible(&access, other).await.map_err(|_| {
                Error::invalid("follow_up_of", "names no ticket the caller can see")
            })?;
            follow_up_of = Some(other);
        }
        let customer = self.resolve_customer(&access, &command).await?;
        if let Some(other) = &follow_up_of
            && other.customer != customer.name
        {
            return Err(Error::FailedPrecondition {
                violation: "CUSTOMER",
                subject: other.name(),
                description: "a follow-up must belong to the same customer".into(),
            });
        }
        let customer_created = customer.created;
        let actor = actor_of(principal);
        let (mut ticket, mut changes) =
            command
                .ticket
                .into_ticket(customer, actor.clone(), command.follow_up_of, now_micros());
        changes.extend(store::sla_setup(&self.db).await?.apply(&mut ticket));
        match store::create_ticket(
            &self.db,
            ticket,
            command.request_id.as_deref(),
            changes,
            &actor,
            follow_up_of.as_ref(),
        )
        .await?
        {
            Created::New(ticket, committed) => {
                self.committed(&ticket, &actor, committed);
                Ok((ticket, customer_created))
            }
            Created::Existing(ticket) => Ok((ticket, false)),
        }
    }

    async fn list(
        &self,
        principal: &Principal,
        list: ListTickets,
    ) -> Result<pb::ListTicketsResponse> {
        let access = Self::access(principal, Action::Read)?;
        let limit = list.page_size.get();
        let mut tickets = store::list_tickets(
            &self.db,
            &access,
            &list.criteria,
            list.order,
            list.descending,
            list.after.as_ref(),
            limit,
        )
        .await?;
        let next_page_token = next_token(&mut tickets, limit, |t| {
            PageToken::int(list.order.key_of(t), t.id.to_string()).encode(list.fingerprint)
        });
        Ok(pb::ListTicketsResponse {
            tickets: tickets
                .iter()
                .map(|t| convert::ticket(t, access.is_customer()))
                .collect(),
            next_page_token,
        })
    }

    async fn status(
        &self,
        principal: &Principal,
        command: StatusCommand,
        apply: impl Fn(&mut Ticket, &StatusCommand, i64) -> Result<Vec<Change>, DomainError>,
    ) -> Result<(Ticket, Access)> {
        let access = Self::access(principal, Action::Manage)?;
        let (ticket, ()) = self
            .mutate(
                principal,
                Action::Manage,
                command.id,
                Some(&command.etag),
                None,
                |t, _| Ok((apply(t, &command, now_micros())?, ())),
            )
            .await?;
        Ok((ticket, access))
    }

    async fn create_message(
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
        if let Some(request_id) = &command.request_id
            && let Some(message) =
                store::message_by_request_id(&self.db, command.id, request_id).await?
        {
            let ticket = self.visible(&access, command.id).await?;
            return Ok((message, ticket, access.is_customer()));
        }
        let relayed = command
            .relayed_author
            .clone()
            .filter(|_| principal.has_role(aftercare_platform::auth::Role::Integration));
        let result = self
            .mutate(
                principal,
                Action::Reply,
                command.id,
                command.etag.as_deref(),
                command.request_id.as_deref(),
                |ticket, actor| {
                    let author = match &relayed {
                        Some((kind, id)) => Actor {
                            kind: *kind,
                            id: id.clone(),
                            display_name: String::new(),
                        },
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
        match (result, &command.request_id) {
            (Ok((ticket, message)), _) => Ok((message, ticket, access.is_customer())),
            // A concurrent retry with the same request id got there first.
            (Err(Error::Database(err)), Some(request_id))
                if err
                    .as_database_error()
                    .is_some_and(|e| e.is_unique_violation()) =>
            {
                let message = store::message_by_request_id(&self.db, command.id, request_id)
                    .await?
                    .ok_or(Error::Database(err))?;
                let ticket = self.visible(&access, command.id).await?;
                Ok((message, ticket, access.is_customer()))
            }
            (Err(err), _) => Err(err),
        }
    }
}

/// Trims the extra row fetched past `limit` and returns the token of the next page.
fn next_token<T>(rows: &mut Vec<T>, limit: u32, token: impl Fn(&T) -> String) -> String {
    if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(token).unwrap_or_default()
    } else {
        String::new()
    }
}

type Reply<T> = std::result::Result<Response<T>, Status>;

#[tonic::async_trait]
impl TicketService for TicketApi {
    #[tracing::instrument(skip_all, fields(request_id))]
    async fn create_ticket(
        &self,
        request: Request<pb::CreateTicketRequest>,
    ) -> Reply<pb::CreateTicketResponse> {
        let principal = self.principal(&request)?;
        let mut request = request.into_inner();
        // A customer opens tickets for themselves: their own name is the default customer.
        if let (Some(ticket), Some(own)) = (request.ticket.as_mut(), &principal.customer)
            && principal.is_customer_only()
            && ticket.customer.is_empty()
            && ticket.customer_identity.is_none()
        {
            ticket.customer.clone_from(own);
        }
        let command = CreateTicket::try_from(request)?;
        tracing::Span::current().record("request_id", command.request_id.as_deref().unwrap_or(""));
        let (ticket, customer_created) = self.create(&principal, command).await?;
        let for_customer = Access::of(&principal, Action::Read).is_some_and(|a| a.is_customer());
        Ok(Response::new(pb::CreateTicketResponse {
            ticket: Some(convert::ticket(&ticket, for_customer)),
            customer_created,
            suggested_articles: Vec::new(),
        }))
    }

    #[tracing::instrument(skip_all, fields(ticket = %request.get_ref().name))]
    async fn get_ticket(
        &self,
        request: Request<pb::GetTicketRequest>,
    ) -> Reply<pb::GetTicketResponse> {
        let principal = self.principal(&request)?;
        let id = ticket_name("name", &request.get_ref().name)?;
        let access = Self::access(&principal, Action::Read)?;
        let ticket = self.visible(&access, id).await?;
        Ok(Response::new(pb::GetTicketResponse {
            ticket: Some(convert::ticket(&ticket, access.is_customer())),
        }))
    }

    #[tracing::instrument(skip_all, fields(filter = %request.get_ref().filter))]
    async fn list_tickets(
        &self,
        request: Request<pb::ListTicketsRequest>,
    ) -> Reply<pb::ListTicketsResponse> {
        let principal = self.principal(&request)?;
        let list = ListTickets::try_from(request.into_inner())?;
        Ok(Response::new(self.list(&principal, list).await?))
    }

    #[tracing::instrument(skip_all, fields(ticket))]
    async fn update_ticket(
        &self,
        request: Request<pb::UpdateTicketRequest>,
    ) -> Reply<pb::UpdateTicketResponse> {
        let principal = self.principal(&request)?;
        let UpdateTicket { id, etag, patch } = UpdateTicket::try_from(request.into_inner())?;
        tracing::Span::current().record("ticket", id.name());
        let setup = store::sla_setup(&self.db).await?;
        let (ticket, ()) = self
            .mutate(&principal, Action::Manage, id, Some(&etag), None, |t, _| {
                let mut changes = t.update(patch.clone(), now_micros())?;
                // Kind, priority, region or centre decide the policy and calendar.
                let reclassified = changes.iter().any(|c| match c {
                    Change::Updated { fields } => fields.iter().any(|f| {
                        matches!(
                            f.field.as_str(),
                            "kind" | "priority" | "region" | "service_centre"
                        )
                    }),
                    _ => false,
                });
                if reclassified {
                    changes.extend(setup.apply(t));
                }
                Ok((changes, ()))
            })
            .await?;
        Ok(Response::new(pb::UpdateTicketResponse {
            ticket: Some(convert::ticket(&ticket, false)),
        }))
    }

    #[tracing::instrument(skip_all, fields(ticket = %request.get_ref().name))]
    async fn change_ticket_status(
        &self,
        request: Request<pb::ChangeTicketStatusRequest>,
    ) -> Reply<pb::ChangeTicketStatusResponse> {
        let principal = self.principal(&request)?;
        let command = StatusCommand::try_from(request.into_inner())?;
        let (ticket, _) = self
            .status(&principal, command, |t, c, now| {
                let status = c.status.expect("parsed with a status");
                t.transition(Transition::Change(status), &c.text, now)
            })
            .await?;
        Ok(Response::new(pb::ChangeTicketStatusResponse {
            ticket: Some(convert::ticket(&ticket, false)),
        }))
    }

    #[tracing::instrument(skip_all, fields(ticket = %request.get_ref().name))]
    async fn resolve_ticket(
        &self,
        request: Request<pb::ResolveTicketRequest>,
    ) -> Reply<pb::ResolveTicketResponse> {
        let principal = self.principal(&request)?;
        let command = StatusCommand::try_from(request.into_inner())?;
        let (ticket, _) = self
            .status(&principal, command, |t, c, now| t.resolve(&c.text, now))
            .await?;
        Ok(Response::new(pb::ResolveTicketResponse {
            ticket: Some(convert::ticket(&ticket, false)),
        }))
    }

    #[tracing::instrument(skip_all, fields(ticket = %request.get_ref().name))]
    async fn close_ticket(
        &self,
        request: Request<pb::CloseTicketRequest>,
    ) -> Reply<pb::CloseTicketResponse> {
        let principal = self.principal(&request)?;
        let command = StatusCommand::try_from(request.into_inner())?;
        let (ticket, _) = self
            .status(&principal, command, |t, c, now| {
                let close = Transition::Close {
                    with_reason: !c.text.is_empty(),
                };
                t.transition(close, &c.text, now)
            })
            .await?;
        Ok(Response::new(pb::CloseTicketResponse {
            ticket: Some(convert::ticket(&ticket, false)),
        }))
    }

    #[tracing::instrument(skip_all, fields(ticket = %request.get_ref().name))]
    async fn reopen_ticket(
        &self,
        request: Request<pb::ReopenTicketRequest>,
    ) -> Reply<pb::ReopenTicketResponse> {
        let principal = self.principal(&request)?;
        let command = StatusCommand::try_from(request.into_inner())?;
        let (ticket, _) = self
            .status(&principal, command, |t, c, now| {
                let reopen = Transition::Reopen {
                    merged: t.merged_into.is_some(),
                };
                t.transition(reopen, &c.text, now)
            })
            .await?;
        Ok(Response::new(pb::ReopenTicketResponse {
            ticket: Some(convert::ticket(&ticket, false)),
        }))
    }

    #[tracing::instrument(skip_all, fields(ticket = %request.get_ref().name))]
    async fn assign_ticket(
        &self,
        request: Request<pb::AssignTicketRequest>,
    ) -> Reply<pb::AssignTicketResponse> {
        let principal = self.principal(&request)?;
        let c = AssignCommand::try_from(request.into_inner())?;
        let (ticket, ()) = self
            .mutate(
                &principal,
                Action::Manage,
                c.id,
                Some(&c.etag),
                None,
                |t, _| {
                    // Without an agent named (and with `auto_route`, as routing by the workforce
                    // service is not wired yet) the ticket waits unassigned in the team queue.
                    Ok((
                        t.assign(c.assignee.clone(), c.team.clone(), &c.reason, now_micros())?,
                        (),
                    ))
                },
            )
            .await?;
        Ok(Response::new(pb::AssignTicketResponse {
            ticket: Some(convert::ticket(&ticket, false)),
        }))
    }

    #[tracing::instrument(skip_all, fields(ticket = %request.get_ref().name))]
    async fn escalate_ticket(
        &self,
        request: Request<pb::EscalateTicketRequest>,
    ) -> Reply<pb::EscalateTicketResponse> {
        let principal = self.principal(&request)?;
        let c = AssignCommand::try_from(request.into_inner())?;
        let (ticket, ()) = self
            .mutate(
                &principal,
                Action::Manage,
                c.id,
                Some(&c.etag),
                None,
                |t, _| {
                    let changes = t.escalate(
                        c.level,
                        &c.reason,
                        c.assignee.clone(),
                        c.team.clone(),
                        now_micros(),
                    )?;
                    Ok((changes, ()))
                },
            )
            .await?;
        Ok(Response::new(pb::EscalateTicketResponse {
            ticket: Some(convert::ticket(&ticket, false)),
        }))
    }

    #[tracing::instrument(skip_all, fields(ticket = %request.get_ref().name))]
    async fn add_ticket_tags(
        &self,
        request: Request<pb::AddTicketTagsRequest>,
    ) -> Reply<pb::AddTicketTagsResponse> {
        let principal = self.principal(&request)?;
        let c = TagsCommand::try_from(request.into_inner())?;
        let (ticket, ()) = self
            .mutate(
                &principal,
                Action::Manage,
                c.id,
                c.etag.as_deref(),
                None,
                |t, _| Ok((t.add_tags(&c.tags, now_micros())?, ())),
            )
            .await?;
        Ok(Response::new(pb::AddTicketTagsResponse {
            ticket: Some(convert::ticket(&ticket, false)),
        }))
    }

    #[tracing::instrument(skip_all, fields(ticket = %request.get_ref().name))]
    async fn remove_ticket_tags(
        &self,
        request: Request<pb::RemoveTicketTagsRequest>,
    ) -> Reply<pb::RemoveTicketTagsResponse> {
        let principal = self.principal(&request)?;
        let c = TagsCommand::try_from(request.into_inner())?;
        let (ticket, ()) = self
            .mutate(
                &principal,
                Action::Manage,
                c.id,
                c.etag.as_deref(),
                None,
                |t, _| Ok((t.remove_tags(&c.tags, now_micros()), ())),
            )
            .await?;
        Ok(Response::new(pb::RemoveTicketTagsResponse {
            ticket: Some(convert::ticket(&ticket, false)),
        }))
    }

    #[tracing::instrument(skip_all, fields(ticket = %request.get_ref().name))]
    async fn link_tickets(
        &self,
        request: Request<pb::LinkTicketsRequest>,
    ) -> Reply<pb::LinkTicketsResponse> {
        let principal = self.principal(&request)?;
        let link = self.link(&principal, request.into_inner()).await?;
        Ok(Response::new(pb::LinkTicketsResponse { link: Some(link) }))
    }

    #[tracing::instrument(skip_all, fields(ticket = %request.get_ref().parent))]
    async fn list_ticket_links(
        &self,
        request: Request<pb::ListTicketLinksRequest>,
    ) -> Reply<pb::ListTicketLinksResponse> {
        let principal = self.principal(&request)?;
        Ok(Response::new(
            self.list_links(&principal, request.into_inner()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(link = %request.get_ref().name))]
    async fn delete_ticket_link(
        &self,
        request: Request<pb::DeleteTicketLinkRequest>,
    ) -> Reply<pb::DeleteTicketLinkResponse> {
        let principal = self.principal(&request)?;
        self.delete_link(&principal, &request.get_ref().name)
            .await?;
        Ok(Response::new(pb::DeleteTicketLinkResponse {}))
    }

    #[tracing::instrument(skip_all, fields(ticket = %request.get_ref().name))]
    async fn merge_tickets(
        &self,
        request: Request<pb::MergeTicketsRequest>,
    ) -> Reply<pb::MergeTicketsResponse> {
        let principal = self.principal(&request)?;
        Ok(Response::new(
            self.merge(&principal, request.into_inner()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(ticket = %request.get_ref().parent))]
    async fn create_message(
        &self,
        request: Request<pb::CreateMessageRequest>,
    ) -> Reply<pb::CreateMessageResponse> {
        let principal = self.principal(&request)?;
        let command = CreateMessage::try_from(request.into_inner())?;
        let (message, ticket, for_customer) = self.create_message(&principal, command).await?;
        Ok(Response::new(pb::CreateMessageResponse {
            message: Some(convert::message(&message)),
            ticket: Some(convert::ticket(&ticket, for_customer)),
        }))
    }

    #[tracing::instrument(skip_all, fields(message = %request.get_ref().name))]
    async fn get_message(
        &self,
        request: Request<pb::GetMessageRequest>,
    ) -> Reply<pb::GetMessageResponse> {
        let principal = self.principal(&request)?;
        let name = request.get_ref().name.clone();
        let (ticket, id) = message_name("name", &name)?;
        let access = Self::access(&principal, Action::Read)?;
        self.visible(&access, ticket).await?;
        let message = store::get_message(&self.db, ticket, id)
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
    async fn list_messages(
        &self,
        request: Request<pb::ListMessagesRequest>,
    ) -> Reply<pb::ListMessagesResponse> {
        let principal = self.principal(&request)?;
        let mut list = ListChildren::<store::MessageQuery>::try_from(request.into_inner())?;
        let access = Self::access(&principal, Action::Read)?;
        self.visible(&access, list.id).await?;
        if access.is_customer() {
            list.query.visibility = Some((crate::domain::Comparison::Eq, Visibility::Public));
        }
        let limit = list.page_size.get();
        let mut messages =
            store::list_messages(&self.db, list.id, &list.query, list.after.as_ref(), limit)
                .await?;
        let next_page_token = next_token(&mut messages, limit, |m| {
            PageToken::int(m.create_time, m.id.to_string()).encode(list.fingerprint)
        });
        Ok(Response::new(pb::ListMessagesResponse {
            messages: messages.iter().map(convert::message).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(ticket = %request.get_ref().parent))]
    async fn list_ticket_history(
        &self,
        request: Request<pb::ListTicketHistoryRequest>,
    ) -> Reply<pb::ListTicketHistoryResponse> {
        let principal = self.principal(&request)?;
        let list = ListChildren::<store::HistoryQuery>::try_from(request.into_inner())?;
        let access = Self::access(&principal, Action::ReadInternal)?;
        self.visible(&access, list.id).await?;
        let limit = list.page_size.get();
        let mut rows =
            store::list_history(&self.db, list.id, &list.query, list.after.as_ref(), limit).await?;
        let next_page_token = next_token(&mut rows, limit, |h| {
            PageToken::int(h.create_time, h.id.to_string()).encode(list.fingerprint)
        });
        let ticket = list.id.name();
        Ok(Response::new(pb::ListTicketHistoryResponse {
            history_entries: rows
                .iter()
                .map(|h| pb::TicketHistoryEntry {
                    name: format!("{ticket}/history/{}", h.id),
                    event_kind: pb::HistoryEventKind::from_str_name(&format!(
                        "HISTORY_EVENT_KIND_{}",
                        h.event_kind
                    ))
                    .map_or(0, |k| k as i32),
                    actor: Some(convert::actor(&h.actor)),
                    changes: h.changes.iter().map(convert::field_change).collect(),
                    reason: h.reason.clone(),
                    message: h.message.clone(),
                    related_ticket: h.related_ticket.clone(),
                    after_sales_case: h.after_sales_case.clone(),
                    create_time: Some(aftercare_platform::time::to_timestamp(h.create_time)),
                })
                .collect(),
            next_page_token,
        }))
    }

    type WatchTicketsStream =
        Pin<Box<dyn Stream<Item = std::result::Result<pb::WatchTicketsResponse, Status>> + Send>>;

    #[tracing::instrument(skip_all, fields(team = %request.get_ref().team, region = %request.get_ref().region))]
    async fn watch_tickets(
        &self,
        request: Request<pb::WatchTicketsRequest>,
    ) -> Reply<Self::WatchTicketsStream> {
        let principal = self.principal(&request)?;
        let queue = watch::Queue::try_from(request.into_inner())?;
        if !(principal.is_staff() || principal.has_role(aftercare_platform::auth::Role::Service)) {
            return Err(Error::PermissionDenied("only agents watch ticket queues".into()).into());
        }
        let access = Self::access(&principal, Action::Read)?;
        // Subscribe before listing, so no change between the two is lost.
        let changes = self.feed.subscribe();
        let initial = if queue.send_initial {
            store::list_tickets(
                &self.db,
                &access,
                &queue.criteria(),
                store::TicketOrder::UpdateTime,
                false,
                None,
                watch::MAX_INITIAL - 1,
            )
            .await?
        } else {
            Vec::new()
        };
        let (sender, receiver) = tokio::sync::mpsc::channel(64);
        tokio::spawn(watch::run(
            queue,
            access,
            initial,
            changes,
            sender,
            self.shutdown.clone(),
        ));
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(receiver),
        )))
    }

    #[tracing::instrument(skip_all)]
    async fn get_ticket_stats(
        &self,
        request: Request<pb::GetTicketStatsRequest>,
    ) -> Reply<pb::GetTicketStatsResponse> {
        let principal = self.principal(&request)?;
        Ok(Response::new(
            self.stats(&principal, request.into_inner()).await?,
        ))
    }
}

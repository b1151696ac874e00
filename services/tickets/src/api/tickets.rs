//! Tickets: create, read, list, update, the status methods, assignment, escalation, tags.

use aftercare_platform::auth::Principal;
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::tickets::v1 as pb;
use tonic::{Request, Response};

use super::parse::{
    AssignCommand, CreateTicket, CustomerRef, ListTickets, StatusCommand, TagsCommand,
    UpdateTicket, ticket_name,
};
use super::{Api, Reply};
use crate::convert;
use crate::domain::{
    Access, Action, Actor, BusinessCalendar, Change, DomainError, IdempotencyKey, PageToken,
    Replay, TeamName, Ticket, TicketCustomer, TicketId, Transition, actor_of, reclassifies,
};
use crate::error::{Error, Result, TICKET};
use crate::knowledge::SuggestionQuery;
use crate::store::{self, Created};

/// How often a write without an etag is retried when a concurrent write got there first.
const RETRIES: usize = 5;

/// The reason recorded for an assignment routing chose.
const ROUTED: &str = "routed by the workforce service";

impl Api {
    /// The ticket, if it exists and is within `access` (else `NOT_FOUND`, never revealing
    /// that it exists).
    pub(super) async fn visible(&self, access: &Access, id: TicketId) -> Result<Ticket> {
        store::get_ticket(&self.db, id)
            .await?
            .filter(|t| access.reaches(&t.customer, &t.region))
            .ok_or_else(|| Error::ticket_not_found(id.name()))
    }

    pub(super) fn committed(
        &self,
        ticket: &Ticket,
        actor: &Actor,
        committed: crate::events::Committed,
    ) {
        self.relay.wake();
        self.feed.send(ticket, actor, committed);
    }

    /// The resource an earlier call with `key` made, when the same request made it: `None`
    /// when the key is new (or none was given), `ALREADY_EXISTS` when the key came with
    /// another request.
    pub(super) async fn replayed(
        &self,
        key: Option<&IdempotencyKey>,
        resource_type: &'static str,
    ) -> Result<Option<String>> {
        let Some(key) = key else {
            return Ok(None);
        };
        let Some(earlier) = store::key_use(&self.db, key).await? else {
            return Ok(None);
        };
        match key.replay(&earlier) {
            Replay::Same(resource) => Ok(Some(resource)),
            Replay::Different => Err(Error::AlreadyExists {
                resource_type,
                name: format!("request_id {}", key.request_id),
                description: "this request_id came with a different request: send a new one".into(),
            }),
        }
    }

    /// The ticket a replayed CreateTicket made, through the visibility checks of a read.
    async fn replayed_ticket(&self, access: &Access, id: &str) -> Result<Ticket> {
        let id = uuid::Uuid::parse_str(id)
            .map_err(|_| Error::Corrupt(format!("request id names {id}")))?;
        self.visible(access, TicketId(id)).await
    }

    /// Loads a visible ticket, checks `etag` when given, lets `decide` change it and saves
    /// it. A write without an etag that loses a race is retried on the fresh ticket.
    pub(super) async fn mutate<T>(
        &self,
        principal: &Principal,
        action: Action,
        id: TicketId,
        etag: Option<i64>,
        message_key: Option<&IdempotencyKey>,
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
            if ticket.sla_needs_calendar(paused_at) {
                let calendar = self.calendar_of(&ticket).await?;
                ticket.settle_sla(&calendar, paused_at);
            }
            match store::save_ticket(&self.db, ticket, changes, &actor, message_key).await {
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
    pub(super) async fn calendar_of(&self, ticket: &Ticket) -> Result<BusinessCalendar> {
        let calendars = store::all_calendars(&self.db).await?;
        Ok(
            crate::domain::fallback_calendar(&calendars, ticket.sla.calendar.as_deref(), ticket)
                .map_or_else(BusinessCalendar::around_the_clock, |c| c.calendar()),
        )
    }

    /// The ticket's customer, asked of the customers service on the caller's behalf, so
    /// the customers service applies the caller's rights, not the tickets service's.
    pub(super) async fn resolve_customer(
        &self,
        principal: &Principal,
        access: &Access,
        command: &CreateTicket,
    ) -> Result<TicketCustomer> {
        match (access, &command.customer) {
            (Access::Customer(own), CustomerRef::Name(name)) if own != name => Err(
                Error::PermissionDenied("a customer may only open tickets for themselves".into()),
            ),
            (Access::Customer(own), CustomerRef::Identity(_)) => {
                self.customers.get_for(principal, own).await
            }
            (_, CustomerRef::Name(name)) => {
                // Both given: the identity is attached to the customer (or refused when it
                // belongs to another).
                if let Some(identity) = &command.ticket.identity {
                    self.customers.attach_for(principal, name, identity).await?;
                }
                self.customers.get_for(principal, name).await
            }
            (_, CustomerRef::Identity(identity)) => {
                self.customers
                    .resolve_for(
                        principal,
                        identity,
                        &command.customer_display_name,
                        command.ticket.region.as_ref(),
                    )
                    .await
            }
        }
    }

    /// Creates a ticket: the ticket, whether its customer was created for it, and whether
    /// this call made it (`false` for a replayed `request_id`).
    pub(super) async fn create(
        &self,
        principal: &Principal,
        mut command: CreateTicket,
    ) -> Result<(Ticket, bool, bool)> {
        let access = Self::access(principal, Action::Create)?;
        match &access {
            Access::Region(own) => match &command.ticket.region {
                Some(region) if region != own => {
                    return Err(Error::PermissionDenied(format!(
                        "a caller of region {own} may not open tickets in {region}"
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
        let key = IdempotencyKey::of(
            command.request_id.as_ref(),
            &principal.subject,
            "CreateTicket",
            "",
        );
        if let Some(earlier) = self.replayed(key.as_ref(), TICKET).await? {
            return Ok((self.replayed_ticket(&access, &earlier).await?, false, false));
        }
        let mut follow_up_of = None;
        if let Some(other) = command.follow_up_of {
            let other = self.visible(&access, other).await.map_err(|_| {
                Error::invalid("follow_up_of", "names no ticket the caller can see")
            })?;
            follow_up_of = Some(other);
        }
        let customer = self.resolve_customer(principal, &access, &command).await?;
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
            key.as_ref(),
            changes,
            &actor,
            follow_up_of.as_ref(),
        )
        .await?
        {
            Created::New(ticket, committed) => {
                self.committed(&ticket, &actor, committed);
                Ok((*ticket, customer_created, true))
            }
            Created::KeyTaken => {
                let earlier = self
                    .replayed(key.as_ref(), TICKET)
                    .await?
                    .ok_or(Error::KeyTaken)?;
                Ok((self.replayed_ticket(&access, &earlier).await?, false, false))
            }
        }
    }

    /// Asks the workforce service for an agent for `ticket` (as `principal`, within `team`
    /// when given) and assigns them, recorded as routed; the ticket unchanged when nobody is
    /// available, the service is not configured, slow or down, or the assignment no longer
    /// applies (a concurrent change assigned or closed it).
    pub(super) async fn route(
        &self,
        principal: &Principal,
        ticket: Ticket,
        team: Option<&TeamName>,
    ) -> Ticket {
        let Some(workforce) = &self.workforce else {
            return ticket;
        };
        let Some(agent) = workforce.route(principal, &ticket, team).await else {
            return ticket;
        };
        let routed = self
            .mutate(principal, Action::Manage, ticket.id, None, None, |t, _| {
                if t.assignee.is_some() {
                    return Ok((Vec::new(), ()));
                }
                Ok((
                    t.route_to(agent.clone(), team.cloned(), ROUTED, now_micros())?,
                    (),
                ))
            })
            .await;
        match routed {
            Ok((ticket, ())) => ticket,
            Err(err) => {
                tracing::warn!(ticket = %ticket.id, agent = %agent, error = %err, "the routed agent was not assigned");
                ticket
            }
        }
    }

    pub(super) async fn list(
        &self,
        principal: &Principal,
        list: ListTickets,
    ) -> Result<pb::ListTicketsResponse> {
        let access = Self::access(principal, Action::Read)?;
        let hidden = access.hidden_filters(&list.criteria);
        if !hidden.is_empty() {
            return Err(Error::invalid(
                "filter",
                format!(
                    "customers may not filter by `{}`: only staff see it",
                    hidden.join("`, `")
                ),
            ));
        }
        let limit = list.page.size;
        let mut tickets = store::list_tickets(
            &self.db,
            &access,
            &list.criteria,
            list.order,
            list.descending,
            list.page.after.as_ref(),
            limit,
        )
        .await?;
        let next_page_token = list.page.finish(&mut tickets, |t| {
            PageToken::int(list.order.key_of(t), t.id.to_string())
        });
        Ok(pb::ListTicketsResponse {
            tickets: tickets
                .iter()
                .map(|t| convert::ticket(t, access.is_customer()))
                .collect(),
            next_page_token,
        })
    }

    pub(super) async fn status(
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
                Some(command.etag),
                None,
                |t, _| Ok((apply(t, &command, now_micros())?, ())),
            )
            .await?;
        Ok((ticket, access))
    }
}

#[tracing::instrument(skip_all, fields(request_id))]
pub(super) async fn create_ticket(
    api: &Api,
    request: Request<pb::CreateTicketRequest>,
) -> Reply<pb::CreateTicketResponse> {
    let principal = api.principal(&request)?;
    let mut request = request.into_inner();
    // A customer opens tickets for themselves: their own name is the default customer.
    if let (Some(ticket), Some(own)) = (request.ticket.as_mut(), &principal.customer)
        && principal.is_customer_only()
        && ticket.customer.is_empty()
        && ticket.customer_identity.is_none()
    {
        ticket.customer.clone_from(own);
    }
    let max_suggestions = request.max_suggestions;
    let skip_routing = request.skip_routing;
    let command = CreateTicket::try_from(request)?;
    tracing::Span::current().record(
        "request_id",
        command.request_id.as_ref().map_or("", |k| k.id.as_str()),
    );
    let (ticket, customer_created, new) = api.create(&principal, command).await?;
    // After the commit, with a short deadline, as the service's own follow-up work (the
    // caller may be a customer, whom routing would refuse): a ticket created with neither
    // an assignee nor a team is routed; a slow or absent workforce service leaves it
    // unassigned and never fails the create. `skip_routing` leaves it in its queue.
    let ticket = if new && !skip_routing && ticket.assignee.is_none() && ticket.team.is_none() {
        api.route(&Principal::service("tickets"), ticket, None)
            .await
    } else {
        ticket
    };
    let for_customer = Access::of(&principal, Action::Read).is_some_and(|a| a.is_customer());
    let ticket = convert::ticket(&ticket, for_customer);
    // After the commit, with a short deadline: a slow or absent knowledge service costs the
    // create at most that deadline and never fails it.
    let suggested_articles = match &api.knowledge {
        Some(knowledge) if max_suggestions > 0 => {
            knowledge
                .suggest(
                    &principal,
                    SuggestionQuery {
                        subject: ticket.subject.clone(),
                        description: ticket.description.clone(),
                        language: ticket.language_code.clone(),
                        product_line: ticket
                            .product
                            .as_ref()
                            .map(|p| p.product_line.clone())
                            .unwrap_or_default(),
                        channel: ticket.channel,
                        customer: ticket.customer.clone(),
                        ticket: ticket.name.clone(),
                        max_suggestions,
                    },
                )
                .await
        }
        _ => Vec::new(),
    };
    Ok(Response::new(pb::CreateTicketResponse {
        ticket: Some(ticket),
        customer_created,
        suggested_articles,
    }))
}

#[tracing::instrument(skip_all, fields(ticket = %request.get_ref().name))]
pub(super) async fn get_ticket(
    api: &Api,
    request: Request<pb::GetTicketRequest>,
) -> Reply<pb::GetTicketResponse> {
    let principal = api.principal(&request)?;
    let id = ticket_name("name", &request.get_ref().name)?;
    let access = Api::access(&principal, Action::Read)?;
    let ticket = api.visible(&access, id).await?;
    Ok(Response::new(pb::GetTicketResponse {
        ticket: Some(convert::ticket(&ticket, access.is_customer())),
    }))
}

#[tracing::instrument(skip_all, fields(filter = %request.get_ref().filter))]
pub(super) async fn list_tickets(
    api: &Api,
    request: Request<pb::ListTicketsRequest>,
) -> Reply<pb::ListTicketsResponse> {
    let principal = api.principal(&request)?;
    let list = ListTickets::try_from(request.into_inner())?;
    Ok(Response::new(api.list(&principal, list).await?))
}

#[tracing::instrument(skip_all, fields(ticket))]
pub(super) async fn update_ticket(
    api: &Api,
    request: Request<pb::UpdateTicketRequest>,
) -> Reply<pb::UpdateTicketResponse> {
    let principal = api.principal(&request)?;
    let UpdateTicket { id, etag, patch } = UpdateTicket::try_from(request.into_inner())?;
    tracing::Span::current().record("ticket", id.name());
    let setup = store::sla_setup(&api.db).await?;
    let (ticket, ()) = api
        .mutate(&principal, Action::Manage, id, Some(etag), None, |t, _| {
            let mut changes = t.update(patch.clone(), now_micros())?;
            if reclassifies(&changes) {
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
pub(super) async fn change_ticket_status(
    api: &Api,
    request: Request<pb::ChangeTicketStatusRequest>,
) -> Reply<pb::ChangeTicketStatusResponse> {
    let principal = api.principal(&request)?;
    let command = StatusCommand::try_from(request.into_inner())?;
    let (ticket, _) = api
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
pub(super) async fn resolve_ticket(
    api: &Api,
    request: Request<pb::ResolveTicketRequest>,
) -> Reply<pb::ResolveTicketResponse> {
    let principal = api.principal(&request)?;
    let command = StatusCommand::try_from(request.into_inner())?;
    let (ticket, _) = api
        .status(&principal, command, |t, c, now| t.resolve(&c.text, now))
        .await?;
    Ok(Response::new(pb::ResolveTicketResponse {
        ticket: Some(convert::ticket(&ticket, false)),
    }))
}

#[tracing::instrument(skip_all, fields(ticket = %request.get_ref().name))]
pub(super) async fn close_ticket(
    api: &Api,
    request: Request<pb::CloseTicketRequest>,
) -> Reply<pb::CloseTicketResponse> {
    let principal = api.principal(&request)?;
    let command = StatusCommand::try_from(request.into_inner())?;
    let (ticket, _) = api
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
pub(super) async fn reopen_ticket(
    api: &Api,
    request: Request<pb::ReopenTicketRequest>,
) -> Reply<pb::ReopenTicketResponse> {
    let principal = api.principal(&request)?;
    let command = StatusCommand::try_from(request.into_inner())?;
    let (ticket, _) = api
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
pub(super) async fn assign_ticket(
    api: &Api,
    request: Request<pb::AssignTicketRequest>,
) -> Reply<pb::AssignTicketResponse> {
    let principal = api.principal(&request)?;
    let auto_route = request.get_ref().auto_route;
    let c = AssignCommand::try_from(request.into_inner())?;
    if auto_route {
        return Ok(Response::new(pb::AssignTicketResponse {
            ticket: Some(convert::ticket(
                &api.auto_route(&principal, c).await?,
                false,
            )),
        }));
    }
    let (ticket, ()) = api
        .mutate(
            &principal,
            Action::Manage,
            c.id,
            Some(c.etag),
            None,
            |t, _| {
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

impl Api {
    /// AssignTicket with `auto_route`: the ticket (visible to the caller, at the etag sent)
    /// goes to the agent the workforce service chooses, asked on the caller's behalf within
    /// the team given; when nobody is available (or the service does not answer in time) it
    /// waits unassigned in that team's queue.
    async fn auto_route(&self, principal: &Principal, c: AssignCommand) -> Result<Ticket> {
        let access = Self::access(principal, Action::Manage)?;
        let current = self.visible(&access, c.id).await?;
        current
            .check_etag(c.etag)
            .map_err(|e| Error::from_domain(e, &current.name()))?;
        let agent = match &self.workforce {
            Some(workforce) => {
                workforce
                    .route(
                        &Principal::on_behalf_of(principal, "tickets"),
                        &current,
                        c.team.as_ref(),
                    )
                    .await
            }
            None => None,
        };
        let reason = if c.reason.is_empty() {
            ROUTED
        } else {
            &c.reason
        };
        let (ticket, ()) = self
            .mutate(
                principal,
                Action::Manage,
                c.id,
                Some(c.etag),
                None,
                |t, _| {
                    let now = now_micros();
                    let changes = match &agent {
                        Some(agent) => t.route_to(agent.clone(), c.team.clone(), reason, now)?,
                        None => t.assign(None, c.team.clone(), reason, now)?,
                    };
                    Ok((changes, ()))
                },
            )
            .await?;
        Ok(ticket)
    }
}

#[tracing::instrument(skip_all, fields(ticket = %request.get_ref().name))]
pub(super) async fn escalate_ticket(
    api: &Api,
    request: Request<pb::EscalateTicketRequest>,
) -> Reply<pb::EscalateTicketResponse> {
    let principal = api.principal(&request)?;
    let c = AssignCommand::try_from(request.into_inner())?;
    let (ticket, ()) = api
        .mutate(
            &principal,
            Action::Manage,
            c.id,
            Some(c.etag),
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
pub(super) async fn add_ticket_tags(
    api: &Api,
    request: Request<pb::AddTicketTagsRequest>,
) -> Reply<pb::AddTicketTagsResponse> {
    let principal = api.principal(&request)?;
    let c = TagsCommand::try_from(request.into_inner())?;
    let (ticket, ()) = api
        .mutate(&principal, Action::Manage, c.id, c.etag, None, |t, _| {
            Ok((t.add_tags(&c.tags, now_micros())?, ()))
        })
        .await?;
    Ok(Response::new(pb::AddTicketTagsResponse {
        ticket: Some(convert::ticket(&ticket, false)),
    }))
}

#[tracing::instrument(skip_all, fields(ticket = %request.get_ref().name))]
pub(super) async fn remove_ticket_tags(
    api: &Api,
    request: Request<pb::RemoveTicketTagsRequest>,
) -> Reply<pb::RemoveTicketTagsResponse> {
    let principal = api.principal(&request)?;
    let c = TagsCommand::try_from(request.into_inner())?;
    let (ticket, ()) = api
        .mutate(&principal, Action::Manage, c.id, c.etag, None, |t, _| {
            Ok((t.remove_tags(&c.tags, now_micros()), ()))
        })
        .await?;
    Ok(Response::new(pb::RemoveTicketTagsResponse {
        ticket: Some(convert::ticket(&ticket, false)),
    }))
}

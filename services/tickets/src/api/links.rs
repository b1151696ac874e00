//! Links between tickets and merges.

use aftercare_platform::auth::Principal;
use aftercare_platform::error::FieldViolations;
use aftercare_platform::request::{Etag, Page};
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::tickets::v1 as pb;
use tonic::{Request, Response};
use uuid::Uuid;

use super::{Api, Reply};
use crate::convert;
use crate::domain::{
    Access, Action, Comparison, DomainError, Filter, LinkType, PageToken, TicketId, WireEnum,
    actor_of,
};
use crate::error::{Error, Result};
use crate::store::{self, MergePart};

fn ticket_field(v: &mut FieldViolations, field: &str, name: &str) -> Option<TicketId> {
    v.check(field, TicketId::parse_name(name))
}

impl Api {
    pub(super) async fn link(
        &self,
        principal: &Principal,
        r: pb::LinkTicketsRequest,
    ) -> Result<pb::TicketLink> {
        let mut v = FieldViolations::new();
        let from = ticket_field(&mut v, "name", &r.name);
        let to = ticket_field(&mut v, "linked_ticket", &r.linked_ticket);
        let link_type = LinkType::from_rank(r.link_type).filter(|t| t.is_requestable());
        if link_type.is_none() {
            v.add("link_type", "must be RELATED, DUPLICATE_OF or FOLLOW_UP_OF");
        }
        if from.is_some() && from == to {
            v.add("linked_ticket", "a ticket cannot be linked to itself");
        }
        let (Some(from), Some(to), Some(link_type)) = (from, to, link_type) else {
            return Err(Error::Invalid(v));
        };
        if !v.is_empty() {
            return Err(Error::Invalid(v));
        }
        let access = Self::access(principal, Action::Manage)?;
        let from = self.visible(&access, from).await?;
        let to = self.visible(&access, to).await?;
        let actor = actor_of(principal);
        store::create_link(&self.db, &from, &to, link_type, &actor, now_micros())
            .await?
            .map(|link| convert::link(&link))
            .ok_or_else(|| Error::AlreadyExists {
                resource_type: "aftercare.tickets.v1.TicketLink",
                name: format!("{}/links", from.name()),
                description: format!(
                    "{} is already linked to {} as {link_type}",
                    from.name(),
                    to.name()
                ),
            })
    }

    pub(super) async fn list_links(
        &self,
        principal: &Principal,
        r: pb::ListTicketLinksRequest,
    ) -> Result<pb::ListTicketLinksResponse> {
        let mut v = FieldViolations::new();
        let ticket = ticket_field(&mut v, "parent", &r.parent);
        let filter = v
            .check("filter", Filter::parse(&r.filter))
            .unwrap_or_default();
        let page = Page::parse(&mut v, r.page_size, &r.page_token, &[&r.filter]);
        let mut types = Vec::new();
        let mut linked = None;
        for c in &filter.conditions {
            match (c.field.as_str(), c.op) {
                ("link_type", Comparison::Eq | Comparison::Ne) => {
                    match LinkType::parse(c.value.text()) {
                        Some(t) => types.push((c.op, t)),
                        None => v.add("filter", format!("`{}` is not a link type", c.value.text())),
                    }
                }
                ("linked_ticket", Comparison::Eq) => {
                    linked = c
                        .value
                        .quoted()
                        .ok()
                        .and_then(|n| TicketId::parse_name(n).ok());
                    if linked.is_none() {
                        v.add("filter", "linked_ticket must be a quoted ticket name");
                    }
                }
                (field, _) => v.add(
                    "filter",
                    format!("`{field}` with this operator is not accepted"),
                ),
            }
        }
        let (Some(ticket), true) = (ticket, v.is_empty()) else {
            return Err(Error::Invalid(v));
        };
        let access = Self::access(principal, Action::ReadInternal)?;
        self.visible(&access, ticket).await?;
        let mut links = store::list_links(
            &self.db,
            ticket,
            &types,
            linked,
            page.after.as_ref(),
            page.size,
        )
        .await?;
        let next_page_token = page.finish(&mut links, |l| {
            PageToken::int(l.create_time, l.id.to_string())
        });
        Ok(pb::ListTicketLinksResponse {
            links: links.iter().map(convert::link).collect(),
            next_page_token,
        })
    }

    pub(super) async fn delete_link(&self, principal: &Principal, name: &str) -> Result<()> {
        let parsed = name.split_once("/links/").and_then(|(ticket, link)| {
            Some((
                TicketId::parse_name(ticket).ok()?,
                Uuid::parse_str(link).ok()?,
            ))
        });
        let Some((ticket, id)) = parsed else {
            return Err(Error::invalid(
                "name",
                "must be `tickets/{ticket}/links/{link}`",
            ));
        };
        let access = Self::access(principal, Action::Manage)?;
        let ticket = self.visible(&access, ticket).await?;
        let link = store::get_link(&self.db, ticket.id, id)
            .await?
            .ok_or_else(|| Error::NotFound {
                resource_type: "aftercare.tickets.v1.TicketLink",
                name: name.to_owned(),
            })?;
        if link.from_merge {
            return Err(Error::FailedPrecondition {
                violation: "FROM_MERGE",
                subject: name.to_owned(),
                description: "links made by a merge cannot be removed".into(),
            });
        }
        let other = self.visible(&Access::All, link.linked).await?;
        store::delete_link(
            &self.db,
            &link,
            &ticket,
            &other,
            &actor_of(principal),
            now_micros(),
        )
        .await
    }

    pub(super) async fn merge(
        &self,
        principal: &Principal,
        r: pb::MergeTicketsRequest,
    ) -> Result<pb::MergeTicketsResponse> {
        let mut v = FieldViolations::new();
        let target = ticket_field(&mut v, "name", &r.name);
        let version = Etag::parse(&mut v, "etag", &r.etag);
        if !(1..=20).contains(&r.source_tickets.len()) {
            v.add("source_tickets", "give 1 to 20 tickets");
        }
        let mut sources: Vec<TicketId> = Vec::new();
        for (i, name) in r.source_tickets.iter().enumerate() {
            let field = format!("source_tickets[{i}]");
            if let Some(id) = ticket_field(&mut v, &field, name) {
                if Some(id) == target || sources.contains(&id) {
                    v.add(field, "must be distinct and not the target");
                }
                sources.push(id);
            }
        }
        if r.reason.chars().count() > 1_000 {
            v.add("reason", "must be at most 1,000 characters");
        }
        let (Some(target), Some(version), true) = (target, version, v.is_empty()) else {
            return Err(Error::Invalid(v));
        };
        let access = Self::access(principal, Action::Manage)?;
        let actor = actor_of(principal);
        let now = now_micros();
        let mut target = self.visible(&access, target).await?;
        let target_name = target.name();
        target
            .check_etag(version)
            .map_err(|e| Error::from_domain(e, &target_name))?;
        let mut parts = Vec::new();
        let mut merged = Vec::new();
        for id in sources {
            let mut source = self.visible(&access, id).await?;
            let name = source.name();
            let changes = source
                .merge_into(&target, &r.reason, now)
                .map_err(|e| Error::from_domain(e, &name))?;
            merged.push(source.clone());
            parts.push(MergePart {
                ticket: source,
                changes,
            });
        }
        let changes = target
            .merge_from(&merged, &r.reason, now)
            .map_err(|e: DomainError| Error::from_domain(e, &target_name))?;
        let target_part = MergePart {
            ticket: target,
            changes,
        };
        let (target, sources, written) =
            store::merge(&self.db, target_part, parts, &actor, now).await?;
        for (ticket, committed) in written {
            self.committed(&ticket, &actor, committed);
        }
        Ok(pb::MergeTicketsResponse {
            target: Some(convert::ticket(&target, false)),
            sources: sources.iter().map(|s| convert::ticket(s, false)).collect(),
        })
    }
}

#[tracing::instrument(skip_all, fields(ticket = %request.get_ref().name))]
pub(super) async fn link_tickets(
    api: &Api,
    request: Request<pb::LinkTicketsRequest>,
) -> Reply<pb::LinkTicketsResponse> {
    let principal = api.principal(&request)?;
    let link = api.link(&principal, request.into_inner()).await?;
    Ok(Response::new(pb::LinkTicketsResponse { link: Some(link) }))
}

#[tracing::instrument(skip_all, fields(ticket = %request.get_ref().parent))]
pub(super) async fn list_ticket_links(
    api: &Api,
    request: Request<pb::ListTicketLinksRequest>,
) -> Reply<pb::ListTicketLinksResponse> {
    let principal = api.principal(&request)?;
    Ok(Response::new(
        api.list_links(&principal, request.into_inner()).await?,
    ))
}

#[tracing::instrument(skip_all, fields(link = %request.get_ref().name))]
pub(super) async fn delete_ticket_link(
    api: &Api,
    request: Request<pb::DeleteTicketLinkRequest>,
) -> Reply<pb::DeleteTicketLinkResponse> {
    let principal = api.principal(&request)?;
    api.delete_link(&principal, &request.get_ref().name).await?;
    Ok(Response::new(pb::DeleteTicketLinkResponse {}))
}

#[tracing::instrument(skip_all, fields(ticket = %request.get_ref().name))]
pub(super) async fn merge_tickets(
    api: &Api,
    request: Request<pb::MergeTicketsRequest>,
) -> Reply<pb::MergeTicketsResponse> {
    let principal = api.principal(&request)?;
    Ok(Response::new(
        api.merge(&principal, request.into_inner()).await?,
    ))
}

//! `RouteTicket`: candidates from the routing index (one round trip while nothing changed),
//! scored by the domain; for a real ticket the best agent is held atomically within
//! capacity, or the ticket is queued with the reason.

use aftercare_platform::request::FieldViolations;
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::workforce::v1 as pb;
use prost::Message as _;
use uuid::Uuid;

use super::Api;
use super::parse::RouteTicket;
use crate::convert;
use crate::domain::access::Caller;
use crate::domain::routing::{self, Need, Route};
use crate::domain::skill::Category;
use crate::error::{Error, finish};
use crate::store::{self, Candidates, Catalogue, Placed, Queued};

/// Resolves the request against the catalogue: skills needed by id, product line and kind,
/// and the `LANGUAGE` skills of the language.
fn resolve(catalogue: &Catalogue, request: &RouteTicket) -> Result<Route, Error> {
    let mut violations = FieldViolations::new();
    let mut needs = Vec::new();
    for (i, (id, min)) in request.required.iter().enumerate() {
        match catalogue.skill_name(*id) {
            Some(name) => needs.push(Need {
                skill: *id,
                display_name: name.to_owned(),
                min_level: *min,
            }),
            None => violations.add(format!("required_skills[{i}].skill"), "no such skill"),
        }
    }
    finish(violations)?;
    let catalogued = [
        (Category::ProductLine, request.product_line.clone()),
        (Category::TicketKind, request.kind.clone()),
    ];
    for (category, code) in catalogued {
        let Some(code) = code else { continue };
        for skill in catalogue.skills_by_code(category, &[code]) {
            if !needs.iter().any(|n| n.skill == skill.id) {
                needs.push(Need {
                    skill: skill.id,
                    display_name: skill.display_name.clone(),
                    min_level: 1,
                });
            }
        }
    }
    let language_skills = match &request.language {
        Some(tag) => {
            let codes = vec![tag.as_str().to_lowercase(), tag.primary().to_owned()];
            catalogue
                .skills_by_code(Category::Language, &codes)
                .map(|s| s.id)
                .collect()
        }
        None => Vec::new(),
    };
    Ok(Route {
        needs,
        certifications: request.certifications.clone(),
        language: request.language.clone(),
        language_skills,
        region: request.region.clone(),
        priority: request.priority,
        exclude: request.exclude.clone(),
        teams: request.teams.clone(),
        tier: request.tier,
        allow_other_regions: request.allow_other_regions,
        allow_off_shift: request.allow_off_shift,
        allow_over_capacity: request.allow_over_capacity,
        max_candidates: request.max_candidates,
    })
}

#[tracing::instrument(skip_all, fields(ticket = %message.ticket))]
pub async fn route(
    api: &Api,
    caller: &Caller,
    message: pb::RouteTicketRequest,
) -> Result<pb::RouteTicketResponse, Error> {
    let encoded: String = message
        .encode_to_vec()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let request = RouteTicket::try_from(message)?;
    if !caller.may_route() {
        return Err(Error::PermissionDenied(
            "customers and integrations cannot route tickets",
        ));
    }
    let now = now_micros();
    let mut conn = api.db.reader().acquire().await?;
    let Candidates {
        catalogue,
        considered,
        removed,
        agents,
    } = api
        .index
        .candidates(&mut conn, &request.exclude, now)
        .await?;
    drop(conn);
    let route = resolve(&catalogue, &request)?;
    let outcome = routing::route(&route, &agents, &removed);
    let policy = api.settings.policy_of(route.region.as_deref());
    let mut outcome = routing::follow_the_sun(policy, &route, &agents, &removed, outcome);
    let Some(ticket) = request.ticket else {
        return Ok(convert::route(&outcome, considered, route.max_candidates));
    };
    // A real ticket: hold the best agent who still has room, atomically, or queue it. A
    // ticket that already has an assignee (a re-route) or another routing under way is
    // answered read-only: its assignment event will move the load.
    let ids: Vec<Uuid> = outcome.candidates.iter().map(|c| c.agent.id).collect();
    let queued = Queued {
        request: encoded,
        priority: route.priority.number(),
        region: route.region.clone(),
        reason: outcome.summary(),
        route: route.clone(),
    };
    let within = !route.ignores_capacity();
    match store::place_ticket(&api.db, ticket, &ids, within, &queued, now).await? {
        Placed::Held(index) => outcome.hold(index),
        Placed::Queued => outcome.candidates.clear(),
        Placed::AlreadyRouted => {}
    }
    Ok(convert::route(&outcome, considered, route.max_candidates))
}

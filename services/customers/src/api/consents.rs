//! Contact consents: record a decision, list the recorded ones.

use aftercare_platform::auth::Principal;
use aftercare_platform::time::{now_micros, to_timestamp};
use aftercare_proto::aftercare::customers::v1 as pb;
use aftercare_proto::aftercare::events::v1::ConsentChanged;

use super::Api;
use super::customers::load;
use super::parse::{ListConsents, SetConsent};
use super::{access_to, check};
use crate::convert;
use crate::domain::access::Action;
use crate::domain::consent::{Refusal, decide};
use crate::domain::names::customer_name;
use crate::domain::wire::Actor;
use crate::error::Error;
use crate::events::{publish, wire_actor};
use crate::store::{self, ConsentQuery, consent_rank};
use aftercare_platform::request::PageToken;

pub async fn set(
    api: &Api,
    principal: &Principal,
    request: SetConsent,
) -> Result<pb::SetConsentResponse, Error> {
    let access = access_to(principal, Action::Edit, request.customer)?;
    let mut tx = api.db.begin().await?;
    let customer = load(&mut tx, request.customer).await?;
    let name = customer_name(customer.id);
    check(&access, Action::Edit, &customer)?;
    if let Some(reason) = customer.frozen_reason() {
        return Err(Error::state(name, reason));
    }
    let decision = request.decision;
    let existing =
        store::find_consent(&mut tx, customer.id, decision.channel, decision.purpose).await?;
    let previous_state = existing.as_ref().map_or(0, |c| c.state as i32);
    let (consent, changed) = decide(customer.id, existing.as_ref(), decision, Actor::of(principal), now_micros())
        .map_err(|refusal| match refusal {
            Refusal::InFuture => Error::invalid("decide_time", "must not be in the future"),
            Refusal::Superseded => Error::state(
                format!("{name}/consents"),
                "a later decision is already recorded for this channel and purpose (the latest decision wins)",
            ),
        })?;
    store::upsert_consent(&mut tx, &consent).await?;
    if changed {
        let event = ConsentChanged {
            consent: format!("{name}/consents/{}", consent.id()),
            customer: name.clone(),
            channel: consent.channel as i32,
            purpose: consent.purpose as i32,
            previous_state,
            state: consent.state as i32,
            source: consent.source.clone(),
            actor: consent.actor.as_ref().map(wire_actor),
            decide_time: Some(to_timestamp(consent.decide_time)),
        };
        publish(&mut tx, &name, &event).await?;
    }
    tx.commit().await?;
    if changed {
        api.relay.wake();
    }
    tracing::info!(customer = %customer.id, consent = %consent.id(), state = ?consent.state, "consent recorded");
    Ok(pb::SetConsentResponse {
        consent: Some(convert::consent(&consent)),
    })
}

pub async fn list(
    api: &Api,
    principal: &Principal,
    request: ListConsents,
) -> Result<pb::ListConsentsResponse, Error> {
    let access = access_to(principal, Action::Read, request.customer)?;
    let mut conn = api.db.reader().acquire().await?;
    let customer = load(&mut conn, request.customer).await?;
    check(&access, Action::Read, &customer)?;
    let query = ConsentQuery {
        customer: customer.id,
        conditions: request.conditions,
        after: request.after,
        limit: Some(request.page.size + 1),
    };
    let mut consents = store::list_consents(&mut conn, &query).await?;
    let next_page_token = request
        .page
        // A consent is keyed by its rank within the customer: the token's id is the customer.
        .finish(&mut consents, |last| {
            PageToken::int(consent_rank(last), last.customer)
        });
    Ok(pb::ListConsentsResponse {
        consents: consents.iter().map(convert::consent).collect(),
        next_page_token,
    })
}

//! Contact consents: record a decision, list the recorded ones.

use aftercare_platform::auth::Principal;
use aftercare_proto::aftercare::customers::v1 as pb;

use super::Api;
use super::customers::load;
use super::parse::{ListConsents, SetConsent};
use super::{access_to, check, reachable};
use crate::convert;
use crate::domain::access::Action;
use crate::domain::wire::Actor;
use crate::error::Error;
use crate::store::{self, ConsentQuery, consent_rank};
use aftercare_platform::request::PageToken;

pub async fn set(
    api: &Api,
    principal: &Principal,
    request: SetConsent,
) -> Result<pb::SetConsentResponse, Error> {
    let access = access_to(principal, Action::Edit, request.customer)?;
    reachable(api, &access, Action::Edit, request.customer).await?;
    let change = store::set_consent(
        &api.db,
        request.customer,
        request.decision,
        Actor::of(principal),
    )
    .await?;
    if change.changed {
        api.relay.wake();
    }
    Ok(pb::SetConsentResponse {
        consent: Some(convert::consent(&change.consent)),
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

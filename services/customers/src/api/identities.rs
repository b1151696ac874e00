//! Channel identities: resolve (find or create), add, verify, remove, list.

use aftercare_platform::auth::Principal;
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::customers::v1 as pb;

use super::Api;
use super::customers::load;
use super::parse::{AddIdentity, IdentityRef, ListIdentities, ResolveIdentity, VerifyIdentity};
use super::{access, access_to, check, reachable, request_key, sees_internal};
use crate::convert;
use crate::domain::access::Action;
use crate::domain::customer::Customer;
use crate::domain::identity::Identity;
use crate::domain::names::customer_name;
use crate::error::{Error, IDENTITY};
use crate::store::{self, IdentityQuery};
use aftercare_platform::request::PageToken;

pub async fn resolve(
    api: &Api,
    principal: &Principal,
    request: ResolveIdentity,
) -> Result<pb::ResolveIdentityResponse, Error> {
    let action = if request.lookup_only {
        Action::LookUp
    } else {
        Action::Resolve
    };
    let access = access(principal, action)?;
    if let Some(found) = store::identity_owner(&api.db, &request.key).await? {
        check(&access, action, &found.0)?;
        return Ok(resolved(principal, found, false));
    }
    if request.lookup_only {
        return Err(Error::not_found(IDENTITY, request.key.describe()));
    }
    let mut profile = request.profile;
    access.place(&mut profile).map_err(Error::denied)?;
    let now = now_micros();
    let customer = Customer::new(profile, request.key.channel, now);
    let identity = Identity::new(customer.id, request.key.clone(), now);
    if !store::create_from_identity(&api.db, &customer, &identity, principal).await? {
        // Someone else created the identity since we looked: theirs is the customer.
        let found = store::identity_owner(&api.db, &request.key)
            .await?
            .ok_or_else(|| {
                Error::state(
                    request.key.describe(),
                    "the identity changed owner concurrently; retry",
                )
            })?;
        check(&access, action, &found.0)?;
        return Ok(resolved(principal, found, false));
    }
    api.relay.wake();
    Ok(resolved(principal, (customer, identity), true))
}

fn resolved(
    principal: &Principal,
    (customer, identity): (Customer, Identity),
    created: bool,
) -> pb::ResolveIdentityResponse {
    pb::ResolveIdentityResponse {
        customer: Some(convert::customer(&customer, sees_internal(principal))),
        identity: Some(convert::identity(&identity)),
        created,
    }
}

pub async fn add(
    api: &Api,
    principal: &Principal,
    request: AddIdentity,
) -> Result<pb::AddIdentityResponse, Error> {
    let access = access_to(principal, Action::Edit, request.customer)?;
    reachable(api, &access, Action::Edit, request.customer).await?;
    let key = request_key(
        principal,
        "AddIdentity",
        &customer_name(request.customer),
        request.request_id.as_deref(),
        &request,
    );
    let identity = store::add_identity(
        &api.db,
        request.customer,
        request.key,
        access.is_customer(),
        principal,
        key.as_ref(),
    )
    .await?;
    api.relay.wake();
    Ok(pb::AddIdentityResponse {
        identity: Some(convert::identity(&identity)),
    })
}

pub async fn verify(
    api: &Api,
    principal: &Principal,
    request: VerifyIdentity,
) -> Result<pb::VerifyIdentityResponse, Error> {
    let access = access(principal, Action::Create)?;
    let IdentityRef { customer, id } = request.identity;
    reachable(api, &access, Action::Edit, customer).await?;
    let identity = store::verify_identity(&api.db, customer, id, request.method).await?;
    Ok(pb::VerifyIdentityResponse {
        identity: Some(convert::identity(&identity)),
    })
}

pub async fn remove(
    api: &Api,
    principal: &Principal,
    request: IdentityRef,
) -> Result<pb::RemoveIdentityResponse, Error> {
    let access = access_to(principal, Action::Edit, request.customer)?;
    reachable(api, &access, Action::Edit, request.customer).await?;
    store::remove_identity(&api.db, request.customer, request.id).await?;
    Ok(pb::RemoveIdentityResponse {})
}

pub async fn list(
    api: &Api,
    principal: &Principal,
    request: ListIdentities,
) -> Result<pb::ListIdentitiesResponse, Error> {
    let access = access_to(principal, Action::Read, request.customer)?;
    let mut conn = api.db.reader().acquire().await?;
    let customer = load(&mut conn, request.customer).await?;
    check(&access, Action::Read, &customer)?;
    let query = IdentityQuery {
        customer: customer.id,
        conditions: request.conditions,
        after: request.after,
        limit: Some(request.page.size + 1),
    };
    let mut identities = store::list_identities(&mut conn, &query).await?;
    let next_page_token = request
        .page
        .finish(&mut identities, |i| PageToken::id(i.id));
    Ok(pb::ListIdentitiesResponse {
        identities: identities.iter().map(convert::identity).collect(),
        next_page_token,
    })
}

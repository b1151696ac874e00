//! Channel identities: resolve (find or create), add, verify, remove, list.

use aftercare_platform::auth::Principal;
use aftercare_platform::time::{now_micros, to_timestamp};
use aftercare_proto::aftercare::customers::v1 as pb;
use aftercare_proto::aftercare::events::v1::{CustomerCreated, CustomerIdentityAdded};

use super::Api;
use super::customers::{check_organisation, load};
use super::parse::{AddIdentity, IdentityRef, ListIdentities, ResolveIdentity, VerifyIdentity};
use super::{access, access_to, check, check_request, remember, request_key, sees_internal};
use crate::convert;
use crate::domain::access::{Access, Action};
use crate::domain::customer::Customer;
use crate::domain::idempotency::RequestKey;
use crate::domain::identity::{Identity, IdentityKey};
use crate::domain::names::{customer_name, identity_name};
use crate::error::{Error, IDENTITY};
use crate::events::{actor, channel_identity, publish, snapshot};
use crate::store::{self, Conn, IdentityQuery};
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
    if let Some(found) = find_owner(api, &request.key).await? {
        check(&access, action, &found.0)?;
        return Ok(resolved(principal, found, false));
    }
    if request.lookup_only {
        return Err(Error::not_found(IDENTITY, describe(&request.key)));
    }
    let mut profile = request.profile;
    if let Some(region) = access.region() {
        // An agent's intake creates customers in the agent's own region only.
        if profile.region.is_empty() {
            region.clone_into(&mut profile.region);
        } else if profile.region != region {
            return Err(Error::denied(format!(
                "an agent of {region} creates customers only in {region}"
            )));
        }
    }
    let now = now_micros();
    let customer = Customer::new(profile, request.key.channel, now);
    let identity = Identity::new(customer.id, request.key.clone(), now);
    let mut tx = api.db.begin().await?;
    check_organisation(&mut tx, &customer.profile, "hints.organisation").await?;
    store::insert_customer(&mut tx, &customer, None).await?;
    if !store::insert_identity(&mut tx, &identity, None).await? {
        // Someone else created the identity since we looked: theirs is the customer.
        tx.rollback().await?;
        let found = find_owner(api, &request.key).await?.ok_or_else(|| {
            Error::state(
                describe(&request.key),
                "the identity changed owner concurrently; retry",
            )
        })?;
        check(&access, action, &found.0)?;
        return Ok(resolved(principal, found, false));
    }
    let event = CustomerCreated {
        customer: Some(snapshot(&customer)),
        identities: vec![channel_identity(&identity.key)],
        created_by_resolve: true,
        actor: Some(actor(principal)),
    };
    publish(&mut tx, &customer_name(customer.id), &event).await?;
    tx.commit().await?;
    api.relay.wake();
    tracing::info!(customer = %customer.id, channel = ?identity.key.channel, "customer created from a new identity");
    Ok(resolved(principal, (customer, identity), true))
}

/// The identity with `key` and its owner (followed to the survivor when merged).
async fn find_owner(api: &Api, key: &IdentityKey) -> Result<Option<(Customer, Identity)>, Error> {
    let mut conn = api.db.reader().acquire().await?;
    let Some(identity) = store::find_identity_by_key(&mut conn, key).await? else {
        return Ok(None);
    };
    let mut customer = load(&mut conn, identity.customer).await?;
    if let Some(survivor) = customer.merged_into {
        customer = load(&mut conn, survivor).await?;
    }
    Ok(Some((customer, identity)))
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

/// How an identity is named in errors: `EMAIL:li@example.com`.
fn describe(key: &IdentityKey) -> String {
    let channel = key.channel.as_str_name().trim_start_matches("CHANNEL_");
    if key.provider.is_empty() {
        format!("{channel}:{}", key.handle)
    } else {
        format!("{channel}:{}:{}", key.provider, key.handle)
    }
}

pub async fn add(
    api: &Api,
    principal: &Principal,
    request: AddIdentity,
) -> Result<pb::AddIdentityResponse, Error> {
    let access = access_to(principal, Action::Edit, request.customer)?;
    let key = request_key(
        principal,
        "AddIdentity",
        &customer_name(request.customer),
        request.request_id.as_deref(),
        &request,
    );
    let scoped = key.as_ref().map(RequestKey::scoped);
    let mut tx = api.db.begin().await?;
    // The same visibility checks as a first call, before any replay.
    let customer = writable(&mut tx, &access, request.customer).await?;
    check_request(&mut tx, key.as_ref()).await?;
    if let Some(request_id) = scoped.as_deref()
        && let Some(existing) = store::find_identity_by_request(&mut tx, request_id).await?
    {
        return Ok(added(&existing));
    }
    let identity = if access.is_customer() {
        // A customer's own addition is a claim: stored unverified, never used to resolve a
        // contact until staff verify it, and answered alike whether or not another customer
        // owns the address.
        if let Some(existing) = store::find_identity_of(&mut tx, customer.id, &request.key).await? {
            return Ok(added(&existing));
        }
        Identity::claim(customer.id, request.key, now_micros())
    } else {
        if let Some(existing) = store::find_identity_by_key(&mut tx, &request.key).await? {
            return if existing.customer == customer.id {
                Ok(added(&existing))
            } else {
                Err(taken(&request.key))
            };
        }
        store::drop_claim(&mut tx, customer.id, &request.key).await?;
        Identity::new(customer.id, request.key, now_micros())
    };
    if !store::insert_identity(&mut tx, &identity, scoped.as_deref()).await? {
        return Err(if identity.claimed {
            Error::state(
                customer_name(customer.id),
                "the identity was added concurrently; retry",
            )
        } else {
            taken(&identity.key)
        });
    }
    let event = CustomerIdentityAdded {
        customer: customer_name(customer.id),
        identity: identity_name(customer.id, identity.id),
        channel_identity: Some(channel_identity(&identity.key)),
        verified: false,
        actor: Some(actor(principal)),
        create_time: Some(to_timestamp(identity.create_time)),
    };
    publish(&mut tx, &customer_name(customer.id), &event).await?;
    remember(&mut tx, key.as_ref()).await?;
    tx.commit().await?;
    api.relay.wake();
    tracing::info!(customer = %customer.id, identity = %identity.id, "identity added");
    Ok(added(&identity))
}

fn added(identity: &Identity) -> pb::AddIdentityResponse {
    pb::AddIdentityResponse {
        identity: Some(convert::identity(identity)),
    }
}

fn taken(key: &IdentityKey) -> Error {
    Error::AlreadyExists {
        resource_type: IDENTITY,
        name: describe(key),
        description: "another customer owns this identity; merge the two customers instead".into(),
    }
}

/// The customer `id`, when the caller may change it and it can still change.
async fn writable(conn: &mut Conn, access: &Access, id: uuid::Uuid) -> Result<Customer, Error> {
    let customer = load(conn, id).await?;
    check(access, Action::Edit, &customer)?;
    if let Some(reason) = customer.frozen_reason() {
        return Err(Error::state(customer_name(id), reason));
    }
    Ok(customer)
}

pub async fn verify(
    api: &Api,
    principal: &Principal,
    request: VerifyIdentity,
) -> Result<pb::VerifyIdentityResponse, Error> {
    let access = access(principal, Action::Create)?;
    let IdentityRef { customer, id } = request.identity;
    let mut tx = api.db.begin().await?;
    writable(&mut tx, &access, customer).await?;
    let mut identity = store::find_identity(&mut tx, customer, id)
        .await?
        .ok_or_else(|| Error::not_found(IDENTITY, identity_name(customer, id)))?;
    if identity.claimed
        && let Some(owner) = store::find_identity_by_key(&mut tx, &identity.key).await?
        && owner.customer != customer
    {
        return Err(taken(&identity.key));
    }
    let version = identity.version;
    if identity.verify(request.method, now_micros()) {
        if !store::update_identity_verification(&mut tx, &identity, version).await? {
            return Err(Error::state(
                identity_name(customer, id),
                "changed concurrently; retry",
            ));
        }
        tx.commit().await?;
        tracing::info!(identity = %id, method = ?request.method, "identity verified");
    }
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
    let mut tx = api.db.begin().await?;
    writable(&mut tx, &access, request.customer).await?;
    if !store::delete_identity(&mut tx, request.customer, request.id).await? {
        return Err(Error::not_found(
            IDENTITY,
            identity_name(request.customer, request.id),
        ));
    }
    tx.commit().await?;
    tracing::info!(identity = %request.id, "identity removed");
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

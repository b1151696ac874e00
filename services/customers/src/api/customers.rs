//! Customers: create, get, list, update, delete.

use aftercare_platform::auth::Principal;
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::customers::v1 as pb;
use aftercare_proto::aftercare::events::v1::{
    CustomerCreated, CustomerTierChangeCause, CustomerTierChanged, CustomerUpdated,
};
use uuid::Uuid;

use super::Api;
use super::parse::{CreateCustomer, DeleteCustomer, GetCustomer, ListCustomers, UpdateCustomer};
use super::{access, access_to, check, check_request, remember, request_key, sees_internal};
use crate::convert;
use crate::domain::access::Action;
use crate::domain::customer::{Customer, Profile};
use crate::domain::idempotency::RequestKey;
use crate::domain::names::customer_name;
use crate::error::{CUSTOMER, Error};
use crate::events::{actor, publish, snapshot};
use crate::store::{self, Conn, CustomerQuery};
use aftercare_platform::request::PageToken;

pub async fn create(
    api: &Api,
    principal: &Principal,
    request: CreateCustomer,
) -> Result<pb::CreateCustomerResponse, Error> {
    access(principal, Action::Create)?;
    let key = request_key(
        principal,
        "CreateCustomer",
        "",
        request.request_id.as_deref(),
        &request,
    );
    let scoped = key.as_ref().map(RequestKey::scoped);
    let request_id = scoped.as_deref();
    let customer = Customer::new(request.profile, request.origin_channel, now_micros());
    let mut tx = api.db.begin().await?;
    check_request(&mut tx, key.as_ref()).await?;
    if let Some(existing) = find_by_request(&mut tx, request_id).await? {
        return Ok(created(principal, &existing));
    }
    check_organisation(&mut tx, &customer.profile, "customer.organisation").await?;
    if !store::insert_customer(&mut tx, &customer, request_id).await? {
        // A concurrent retry with the same request id won; return what it made.
        tx.rollback().await?;
        let mut conn = api.db.reader().acquire().await?;
        check_request(&mut conn, key.as_ref()).await?;
        let existing = find_by_request(&mut conn, request_id).await?;
        return existing
            .map(|existing| created(principal, &existing))
            .ok_or_else(|| Error::state("customers", "a concurrent create failed; retry"));
    }
    let event = CustomerCreated {
        customer: Some(snapshot(&customer)),
        identities: Vec::new(),
        created_by_resolve: false,
        actor: Some(actor(principal)),
    };
    publish(&mut tx, &customer_name(customer.id), &event).await?;
    remember(&mut tx, key.as_ref()).await?;
    tx.commit().await?;
    api.relay.wake();
    tracing::info!(customer = %customer.id, "customer created");
    Ok(created(principal, &customer))
}

fn created(principal: &Principal, customer: &Customer) -> pb::CreateCustomerResponse {
    pb::CreateCustomerResponse {
        customer: Some(convert::customer(customer, sees_internal(principal))),
    }
}

async fn find_by_request(
    conn: &mut Conn,
    request_id: Option<&str>,
) -> Result<Option<Customer>, Error> {
    match request_id {
        Some(request_id) => Ok(store::find_customer_by_request(conn, request_id).await?),
        None => Ok(None),
    }
}

/// Refuses a profile naming an organisation that does not exist.
pub async fn check_organisation(
    conn: &mut Conn,
    profile: &Profile,
    field: &str,
) -> Result<(), Error> {
    match profile.organisation {
        Some(id) if !store::organisation_exists(conn, id).await? => {
            Err(Error::invalid(field, "no such organisation"))
        }
        _ => Ok(()),
    }
}

pub async fn get(
    api: &Api,
    principal: &Principal,
    request: GetCustomer,
) -> Result<pb::GetCustomerResponse, Error> {
    let access = access_to(principal, Action::Read, request.id)?;
    let mut conn = api.db.reader().acquire().await?;
    let mut customer = load(&mut conn, request.id).await?;
    if let Some(survivor) = customer.merged_into.filter(|_| request.resolve_merged) {
        customer = load(&mut conn, survivor).await?;
    }
    check(&access, Action::Read, &customer)?;
    Ok(pb::GetCustomerResponse {
        customer: Some(convert::customer(&customer, sees_internal(principal))),
    })
}

/// The customer with `id`, or `NOT_FOUND`.
pub async fn load(conn: &mut Conn, id: Uuid) -> Result<Customer, Error> {
    store::find_customer(conn, id)
        .await?
        .ok_or_else(|| Error::not_found(CUSTOMER, customer_name(id)))
}

pub async fn list(
    api: &Api,
    principal: &Principal,
    request: ListCustomers,
) -> Result<pb::ListCustomersResponse, Error> {
    let reach = access(principal, Action::List)?;
    let query = CustomerQuery {
        conditions: request.conditions,
        text: request.text,
        show_merged: request.show_merged,
        reach: reach.clone(),
        before: request.before,
        limit: request.page.size + 1,
    };
    let mut conn = api.db.reader().acquire().await?;
    let mut customers = store::list_customers(&mut conn, &query).await?;
    let next_page_token = request.page.finish(&mut customers, |c| PageToken::id(c.id));
    let sees_internal = reach.sees_internal();
    Ok(pb::ListCustomersResponse {
        customers: customers
            .iter()
            .map(|c| convert::customer(c, sees_internal))
            .collect(),
        next_page_token,
    })
}

pub async fn update(
    api: &Api,
    principal: &Principal,
    request: UpdateCustomer,
) -> Result<pb::UpdateCustomerResponse, Error> {
    let access = access_to(principal, Action::Edit, request.id)?;
    if access.is_customer() && request.changes.iter().any(|c| c.staff_only()) {
        return Err(Error::PermissionDenied(
            "customers cannot change their tier, stage, region, organisation or internal attributes".into(),
        ));
    }
    let mut tx = api.db.begin().await?;
    let mut customer = load(&mut tx, request.id).await?;
    check(&access, Action::Edit, &customer)?;
    let name = customer_name(customer.id);
    if customer.version != request.version {
        return Err(Error::StaleEtag(name));
    }
    if let Some(reason) = customer.frozen_reason() {
        return Err(Error::state(name, reason));
    }
    let previous_tier = customer.profile.tier;
    let changed = customer
        .apply(request.changes)
        .map_err(|(field, err)| Error::invalid(format!("customer.{field}"), err))?;
    if changed.is_empty() {
        return Ok(updated(principal, &customer));
    }
    if changed.iter().any(|field| field == "organisation") {
        check_organisation(&mut tx, &customer.profile, "customer.organisation").await?;
    }
    customer.version += 1;
    customer.update_time = now_micros();
    if !store::update_customer(&mut tx, &customer, request.version).await? {
        return Err(Error::StaleEtag(name));
    }
    let event = CustomerUpdated {
        customer: Some(snapshot(&customer)),
        changed_fields: changed,
        actor: Some(actor(principal)),
    };
    publish(&mut tx, &name, &event).await?;
    if customer.profile.tier != previous_tier {
        let event = CustomerTierChanged {
            customer: name.clone(),
            previous_tier: previous_tier as i32,
            tier: customer.profile.tier as i32,
            cause: CustomerTierChangeCause::Manual as i32,
            tier_rule: String::new(),
            actor: Some(actor(principal)),
            change_time: Some(aftercare_platform::time::to_timestamp(customer.update_time)),
        };
        publish(&mut tx, &name, &event).await?;
    }
    tx.commit().await?;
    api.relay.wake();
    tracing::info!(customer = %customer.id, version = customer.version, "customer updated");
    Ok(updated(principal, &customer))
}

fn updated(principal: &Principal, customer: &Customer) -> pb::UpdateCustomerResponse {
    pb::UpdateCustomerResponse {
        customer: Some(convert::customer(customer, sees_internal(principal))),
    }
}

pub async fn delete(
    api: &Api,
    principal: &Principal,
    request: DeleteCustomer,
) -> Result<pb::DeleteCustomerResponse, Error> {
    access(principal, Action::Manage)?;
    let mut tx = api.db.begin().await?;
    let customer = load(&mut tx, request.id).await?;
    let name = customer_name(customer.id);
    if customer.version != request.version {
        return Err(Error::StaleEtag(name));
    }
    let has_ledger = store::loyalty_balance(&mut tx, customer.id)
        .await?
        .last_entry_time
        .is_some();
    if has_ledger || store::count_foreign_timeline(&mut tx, customer.id).await? > 0 {
        return Err(Error::FailedPrecondition {
            violation: "DEPENDENTS",
            subject: name,
            description: "the customer has loyalty entries or other services refer to it: merge or erase it instead".into(),
        });
    }
    if !store::delete_customer(&mut tx, customer.id, request.version).await? {
        return Err(Error::StaleEtag(name));
    }
    tx.commit().await?;
    tracing::info!(customer = %customer.id, "customer deleted");
    Ok(pb::DeleteCustomerResponse {})
}

//! Customers: create, get, list, update, delete.

use aftercare_platform::auth::Principal;
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::customers::v1 as pb;

use super::Api;
use super::parse::{CreateCustomer, DeleteCustomer, GetCustomer, ListCustomers, UpdateCustomer};
use super::{access, access_to, check, request_key, sees_internal};
use crate::convert;
use crate::domain::access::Action;
use crate::domain::customer::Customer;
use crate::domain::names::customer_name;
use crate::error::Error;
use crate::store::{self, CustomerQuery};
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
    let customer = Customer::new(request.profile, request.origin_channel, now_micros());
    let customer = store::create_customer(&api.db, customer, key.as_ref(), principal).await?;
    api.relay.wake();
    Ok(pb::CreateCustomerResponse {
        customer: Some(convert::customer(&customer, sees_internal(principal))),
    })
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

pub use crate::store::load_customer as load;

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
        return Err(Error::denied(
            "customers cannot change their tier, stage, region, organisation or internal attributes",
        ));
    }
    let current = {
        let mut conn = api.db.reader().acquire().await?;
        load(&mut conn, request.id).await?
    };
    check(&access, Action::Edit, &current)?;
    let update = current
        .update(request.version, request.changes, now_micros())
        .map_err(|err| Error::from_domain(err, &customer_name(current.id)))?;
    let customer = match update {
        Some(update) => {
            store::save_update(&api.db, &update, principal).await?;
            api.relay.wake();
            update.after
        }
        None => current,
    };
    Ok(pb::UpdateCustomerResponse {
        customer: Some(convert::customer(&customer, access.sees_internal())),
    })
}

pub async fn delete(
    api: &Api,
    principal: &Principal,
    request: DeleteCustomer,
) -> Result<pb::DeleteCustomerResponse, Error> {
    access(principal, Action::Manage)?;
    store::delete_customer_at(&api.db, request.id, request.version).await?;
    Ok(pb::DeleteCustomerResponse {})
}

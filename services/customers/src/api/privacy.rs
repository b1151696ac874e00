//! Data-protection requests: export everything held about a customer, erase it.

use aftercare_platform::auth::Principal;
use aftercare_platform::time::{now_micros, to_timestamp};
use aftercare_proto::aftercare::customers::v1 as pb;

use super::Api;
use super::customers::load;
use super::parse::{EraseCustomer, ExportData};
use super::{access, access_to, check, request_key};
use crate::convert;
use crate::domain::access::Action;
use crate::domain::names::customer_name;
use crate::domain::privacy::KEPT_FIELDS;
use crate::error::Error;
use crate::store::{self, ConsentQuery, IdentityQuery, LoyaltyQuery, TimelineQuery};

pub async fn export(
    api: &Api,
    principal: &Principal,
    request: ExportData,
) -> Result<pb::ExportCustomerDataResponse, Error> {
    let access = access_to(principal, Action::Export, request.customer)?;
    let mut conn = api.db.reader().acquire().await?;
    let mut customer = load(&mut conn, request.customer).await?;
    check(&access, Action::Export, &customer)?;
    if let Some(survivor) = customer.merged_into {
        // The survivor's data is exported only to a caller who reaches the survivor: a
        // customer's principal names one record, and proves nothing about another.
        customer = load(&mut conn, survivor).await?;
        check(&access, Action::Export, &customer)?;
    }
    let id = customer.id;
    let identities = store::list_identities(&mut conn, &IdentityQuery::all(id)).await?;
    let consents = store::list_consents(&mut conn, &ConsentQuery::all(id)).await?;
    let balance = store::loyalty_balance(&mut conn, id).await?;
    let entries = store::list_loyalty(
        &mut conn,
        &LoyaltyQuery {
            customer: id,
            conditions: Vec::new(),
            before: None,
            limit: None,
        },
    )
    .await?;
    let timeline = store::list_timeline(
        &mut conn,
        &TimelineQuery {
            customer: id,
            conditions: Vec::new(),
            before: None,
            limit: None,
        },
    )
    .await?;
    let merged = store::merged_customers(&mut conn, id).await?;
    // A customer's own export holds what is about them: the profile without internal
    // attributes (staff-only), identities and claims, consents, the loyalty ledger, the
    // timeline and the records merged into theirs. The organisation record (its tier and
    // attributes are the business's) is staff-only; the customer sees its name on the profile.
    let organisation = match customer.profile.organisation {
        Some(organisation) if access.sees_internal() => {
            store::find_organisation(&mut conn, organisation).await?
        }
        _ => None,
    };
    tracing::info!(
        audit = true,
        customer = %id,
        requested_by = %principal.subject,
        "customer data exported"
    );
    Ok(pb::ExportCustomerDataResponse {
        customer: Some(convert::customer(&customer, access.sees_internal())),
        organisation: organisation
            .map(|(organisation, count)| convert::organisation(&organisation, count)),
        identities: identities.iter().map(convert::identity).collect(),
        consents: consents.iter().map(convert::consent).collect(),
        loyalty_balance: Some(convert::loyalty_balance(
            id,
            &balance,
            customer.profile.tier,
        )),
        loyalty_entries: entries.iter().map(convert::loyalty_entry).collect(),
        timeline_entries: timeline.iter().map(convert::timeline_entry).collect(),
        merged_customers: merged.into_iter().map(customer_name).collect(),
        export_time: Some(to_timestamp(now_micros())),
    })
}

pub async fn erase(
    api: &Api,
    principal: &Principal,
    request: EraseCustomer,
) -> Result<pb::EraseCustomerResponse, Error> {
    access(principal, Action::Manage)?;
    let key = request_key(
        principal,
        "EraseCustomer",
        &customer_name(request.customer),
        request.request_id.as_deref(),
        &request,
    );
    let (customer, erasure) = store::erase_customer(
        &api.db,
        request.customer,
        request.version,
        &request.reason,
        principal,
        key.as_ref(),
    )
    .await?;
    api.relay.wake();
    let count = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
    Ok(pb::EraseCustomerResponse {
        customer: Some(convert::customer(&customer, true)),
        cleared_fields: erasure.cleared_fields.clone(),
        identities_removed: count(erasure.identities_removed),
        consents_removed: count(erasure.consents_removed),
        loyalty_entries_anonymised: count(erasure.loyalty_entries_anonymised),
        timeline_entries_anonymised: count(erasure.timeline_entries_anonymised),
        kept_fields: KEPT_FIELDS.iter().map(|f| (*f).to_owned()).collect(),
        erase_time: Some(to_timestamp(erasure.erase_time)),
    })
}

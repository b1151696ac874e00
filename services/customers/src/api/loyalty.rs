//! The loyalty ledger: record entries, list them, read the balance.

use aftercare_platform::auth::Principal;
use aftercare_proto::aftercare::customers::v1 as pb;

use super::Api;
use super::customers::load;
use super::parse::{GetBalance, ListLoyalty, RecordLoyalty};
use super::{access, access_to, check, request_key};
use crate::convert;
use crate::domain::access::Action;
use crate::domain::names::customer_name;
use crate::error::Error;
use crate::store::{self, LoyaltyQuery, Recorded};
use aftercare_platform::request::PageToken;

pub async fn record(
    api: &Api,
    principal: &Principal,
    request: RecordLoyalty,
) -> Result<pb::RecordLoyaltyEntryResponse, Error> {
    access(principal, Action::Create)?;
    let key = request_key(
        principal,
        "RecordLoyaltyEntry",
        &customer_name(request.customer),
        request.request_id.as_deref(),
        &request,
    );
    let recorded = store::record_loyalty_entry(
        &api.db,
        request.customer,
        request.entry,
        principal,
        key.as_ref(),
    )
    .await?;
    api.relay.wake();
    let Recorded {
        customer,
        entry,
        balance,
        new_tier,
    } = recorded;
    Ok(pb::RecordLoyaltyEntryResponse {
        entry: Some(convert::loyalty_entry(&entry)),
        balance: Some(convert::loyalty_balance(
            customer.id,
            &balance,
            customer.profile.tier,
        )),
        new_tier: new_tier.map_or(0, |tier| tier as i32),
    })
}

pub async fn list(
    api: &Api,
    principal: &Principal,
    request: ListLoyalty,
) -> Result<pb::ListLoyaltyEntriesResponse, Error> {
    let access = access_to(principal, Action::Read, request.customer)?;
    let mut conn = api.db.reader().acquire().await?;
    let customer = load(&mut conn, request.customer).await?;
    check(&access, Action::Read, &customer)?;
    let query = LoyaltyQuery {
        customer: customer.id,
        conditions: request.conditions,
        before: request.before,
        limit: Some(request.page.size + 1),
    };
    let mut entries = store::list_loyalty(&mut conn, &query).await?;
    let next_page_token = request.page.finish(&mut entries, |last| {
        PageToken::int(last.create_time, last.id)
    });
    Ok(pb::ListLoyaltyEntriesResponse {
        entries: entries.iter().map(convert::loyalty_entry).collect(),
        next_page_token,
    })
}

pub async fn balance(
    api: &Api,
    principal: &Principal,
    request: GetBalance,
) -> Result<pb::GetLoyaltyBalanceResponse, Error> {
    let access = access_to(principal, Action::Read, request.customer)?;
    let mut conn = api.db.reader().acquire().await?;
    let customer = load(&mut conn, request.customer).await?;
    check(&access, Action::Read, &customer)?;
    let balance = store::loyalty_balance(&mut conn, customer.id).await?;
    Ok(pb::GetLoyaltyBalanceResponse {
        balance: Some(convert::loyalty_balance(
            customer.id,
            &balance,
            customer.profile.tier,
        )),
    })
}

//! Merging a duplicate customer into a survivor.

use aftercare_platform::auth::Principal;
use aftercare_proto::aftercare::customers::v1 as pb;

use super::Api;
use super::parse::MergeCustomers;
use super::{access, request_key};
use crate::convert;
use crate::domain::access::Action;
use crate::domain::merge::MergeAsked;
use crate::domain::names::customer_name;
use crate::error::Error;
use crate::store;

pub async fn merge_customers(
    api: &Api,
    principal: &Principal,
    request: MergeCustomers,
) -> Result<pb::MergeCustomersResponse, Error> {
    access(principal, Action::Manage)?;
    let key = request_key(
        principal,
        "MergeCustomers",
        &customer_name(request.survivor),
        request.request_id.as_deref(),
        &request,
    );
    let asked = MergeAsked {
        survivor: request.survivor,
        survivor_version: request.survivor_version,
        merged: request.merged,
        merged_version: request.merged_version,
        policy: request.policy,
    };
    let (survivor, merged, record) =
        store::merge_customers(&api.db, &asked, principal, key.as_ref()).await?;
    api.relay.wake();
    let count = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
    Ok(pb::MergeCustomersResponse {
        survivor: Some(convert::customer(&survivor, true)),
        merged: Some(convert::customer(&merged, true)),
        identities_moved: count(record.identities_moved),
        timeline_entries_moved: count(record.timeline_entries_moved),
        loyalty_points_transferred: record.loyalty_points_transferred,
        repointed_customers: record
            .repointed
            .iter()
            .map(|id| customer_name(*id))
            .collect(),
    })
}

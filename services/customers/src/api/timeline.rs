//! The interaction timeline (read-only: entries come from events).

use aftercare_platform::auth::Principal;
use aftercare_proto::aftercare::customers::v1 as pb;

use super::Api;
use super::customers::{load, refuse_other_customer};
use super::parse::ListTimeline;
use crate::convert;
use crate::domain::access::may_read;
use crate::error::Error;
use crate::store::{self, TimelineQuery};
use aftercare_platform::request::PageToken;

pub async fn list(
    api: &Api,
    principal: &Principal,
    request: ListTimeline,
) -> Result<pb::ListTimelineEntriesResponse, Error> {
    refuse_other_customer(principal, request.customer)?;
    let mut conn = api.db.reader().acquire().await?;
    let customer = load(&mut conn, request.customer).await?;
    if !may_read(principal, &customer) {
        return Err(Error::PermissionDenied(
            "this customer is outside your reach".into(),
        ));
    }
    let query = TimelineQuery {
        customer: customer.id,
        conditions: request.conditions,
        before: request.before,
        limit: Some(request.page.size + 1),
    };
    let mut entries = store::list_timeline(&mut conn, &query).await?;
    let next_page_token = request.page.finish(&mut entries, |last| {
        PageToken::int(last.occur_time, last.id)
    });
    Ok(pb::ListTimelineEntriesResponse {
        timeline_entries: entries.iter().map(convert::timeline_entry).collect(),
        next_page_token,
    })
}

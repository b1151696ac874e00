//! The interaction timeline (read-only: entries come from events).

use aftercare_platform::auth::Principal;
use aftercare_proto::aftercare::customers::v1 as pb;

use super::Api;
use super::customers::load;
use super::parse::ListTimeline;
use super::{access_to, check};
use crate::convert;
use crate::domain::access::Action;
use crate::error::Error;
use crate::store::{self, TimelineQuery};
use aftercare_platform::request::PageToken;

pub async fn list(
    api: &Api,
    principal: &Principal,
    request: ListTimeline,
) -> Result<pb::ListTimelineEntriesResponse, Error> {
    let access = access_to(principal, Action::Read, request.customer)?;
    let mut conn = api.db.reader().acquire().await?;
    let customer = load(&mut conn, request.customer).await?;
    check(&access, Action::Read, &customer)?;
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

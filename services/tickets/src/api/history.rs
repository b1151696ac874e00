//! A ticket's history.

use aftercare_proto::aftercare::tickets::v1 as pb;
use tonic::{Request, Response};

use super::parse::ListChildren;
use super::{Api, Reply};
use crate::convert;
use crate::domain::{Action, PageToken};
use crate::store;

#[tracing::instrument(skip_all, fields(ticket = %request.get_ref().parent))]
pub(super) async fn list_ticket_history(
    api: &Api,
    request: Request<pb::ListTicketHistoryRequest>,
) -> Reply<pb::ListTicketHistoryResponse> {
    let principal = api.principal(&request)?;
    let list = ListChildren::<store::HistoryQuery>::try_from(request.into_inner())?;
    let access = Api::access(&principal, Action::ReadInternal)?;
    api.visible(&access, list.id).await?;
    let limit = list.page.size;
    let mut rows = store::list_history(
        &api.db,
        list.id,
        &list.query,
        list.page.after.as_ref(),
        limit,
    )
    .await?;
    let next_page_token = list.page.finish(&mut rows, |h| {
        PageToken::int(h.create_time, h.id.to_string())
    });
    Ok(Response::new(pb::ListTicketHistoryResponse {
        history_entries: rows
            .iter()
            .map(|h| convert::history_entry(list.id, h))
            .collect(),
        next_page_token,
    }))
}

//! Segments: saved customer filters with counts.

use aftercare_platform::auth::Principal;
use aftercare_platform::time::to_timestamp;
use aftercare_proto::aftercare::customers::v1 as pb;

use super::Api;
use super::parse::{
    CountSegment, CreateSegment, DeleteSegment, ListSegments, SegmentRef, UpdateSegment,
};
use super::{access, request_key};
use crate::convert;
use crate::domain::access::Action;
use crate::error::Error;
use crate::store::{self, SegmentQuery};
use aftercare_platform::request::PageToken;

fn write(principal: &Principal) -> Result<(), Error> {
    access(principal, Action::WriteCatalogue).map(drop)
}

fn read(principal: &Principal) -> Result<(), Error> {
    access(principal, Action::ReadCatalogue).map(drop)
}

pub async fn create(
    api: &Api,
    principal: &Principal,
    request: CreateSegment,
) -> Result<pb::CreateSegmentResponse, Error> {
    write(principal)?;
    let key = request_key(
        principal,
        "CreateSegment",
        "",
        request.request_id.as_deref(),
        &request,
    );
    let segment = store::create_segment(&api.db, request.spec, key.as_ref()).await?;
    Ok(pb::CreateSegmentResponse {
        segment: Some(convert::segment(&segment)),
    })
}

pub async fn get(
    api: &Api,
    principal: &Principal,
    request: SegmentRef,
) -> Result<pb::GetSegmentResponse, Error> {
    read(principal)?;
    let mut conn = api.db.reader().acquire().await?;
    let segment = store::load_segment(&mut conn, request.id).await?;
    Ok(pb::GetSegmentResponse {
        segment: Some(convert::segment(&segment)),
    })
}

pub async fn list(
    api: &Api,
    principal: &Principal,
    request: ListSegments,
) -> Result<pb::ListSegmentsResponse, Error> {
    read(principal)?;
    let query = SegmentQuery {
        conditions: request.conditions,
        after: request.after,
        limit: request.page.size + 1,
    };
    let mut conn = api.db.reader().acquire().await?;
    let mut segments = store::list_segments(&mut conn, &query).await?;
    let next_page_token = request.page.finish(&mut segments, |last| {
        PageToken::text(last.spec.display_name.clone(), last.id)
    });
    Ok(pb::ListSegmentsResponse {
        segments: segments.iter().map(convert::segment).collect(),
        next_page_token,
    })
}

pub async fn update(
    api: &Api,
    principal: &Principal,
    request: UpdateSegment,
) -> Result<pb::UpdateSegmentResponse, Error> {
    write(principal)?;
    let segment =
        store::update_segment_at(&api.db, request.id, request.version, request.changes).await?;
    Ok(pb::UpdateSegmentResponse {
        segment: Some(convert::segment(&segment)),
    })
}

pub async fn delete(
    api: &Api,
    principal: &Principal,
    request: DeleteSegment,
) -> Result<pb::DeleteSegmentResponse, Error> {
    write(principal)?;
    store::delete_segment_at(&api.db, request.id, request.version).await?;
    Ok(pb::DeleteSegmentResponse {})
}

pub async fn count_now(
    api: &Api,
    principal: &Principal,
    request: CountSegment,
) -> Result<pb::GetSegmentCountResponse, Error> {
    read(principal)?;
    let (customer_count, now) = store::recount_segment(&api.db, request.id).await?;
    Ok(pb::GetSegmentCountResponse {
        customer_count,
        count_time: Some(to_timestamp(now)),
    })
}

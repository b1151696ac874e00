//! Segments: saved customer filters with counts.

use aftercare_platform::auth::Principal;
use aftercare_platform::time::{now_micros, to_timestamp};
use aftercare_proto::aftercare::customers::v1 as pb;
use uuid::Uuid;

use super::Api;
use super::parse::{
    CountSegment, CreateSegment, DeleteSegment, ListSegments, SegmentRef, UpdateSegment,
};
use super::{access, check_request, remember, request_key};
use crate::convert;
use crate::domain::access::Action;
use crate::domain::idempotency::RequestKey;
use crate::domain::segment::Segment;
use crate::error::Error;
use crate::store::{self, Conn, SegmentQuery};
use aftercare_platform::request::PageToken;

/// Resource type of a segment, for `ResourceInfo`.
const SEGMENT: &str = "aftercare.customers.v1.Segment";

fn segment_name(id: Uuid) -> String {
    format!("segments/{id}")
}

fn write(principal: &Principal) -> Result<(), Error> {
    access(principal, Action::WriteCatalogue).map(drop)
}

fn read(principal: &Principal) -> Result<(), Error> {
    access(principal, Action::ReadCatalogue).map(drop)
}

async fn load(conn: &mut Conn, id: Uuid) -> Result<Segment, Error> {
    store::find_segment(conn, id)
        .await?
        .ok_or_else(|| Error::not_found(SEGMENT, segment_name(id)))
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
    let scoped = key.as_ref().map(RequestKey::scoped);
    let request_id = scoped.as_deref();
    let mut tx = api.db.begin().await?;
    check_request(&mut tx, key.as_ref()).await?;
    if let Some(request_id) = request_id
        && let Some(existing) = store::find_segment_by_request(&mut tx, request_id).await?
    {
        return Ok(pb::CreateSegmentResponse {
            segment: Some(convert::segment(&existing)),
        });
    }
    let now = now_micros();
    let id = Uuid::now_v7();
    let segment = Segment {
        id,
        customer_count: store::count_selected(&mut tx, id, &request.spec).await?,
        spec: request.spec,
        count_time: now,
        version: 1,
        create_time: now,
        update_time: now,
    };
    if !store::insert_segment(&mut tx, &segment, request_id).await? {
        tx.rollback().await?;
        let mut conn = api.db.reader().acquire().await?;
        check_request(&mut conn, key.as_ref()).await?;
        let existing = store::find_segment_by_request(&mut conn, request_id.unwrap_or_default())
            .await?
            .ok_or_else(|| Error::state("segments", "a concurrent create failed; retry"))?;
        return Ok(pb::CreateSegmentResponse {
            segment: Some(convert::segment(&existing)),
        });
    }
    remember(&mut tx, key.as_ref()).await?;
    tx.commit().await?;
    tracing::info!(segment = %segment.id, count = segment.customer_count, "segment created");
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
    let segment = load(&mut conn, request.id).await?;
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
    let mut tx = api.db.begin().await?;
    let mut segment = load(&mut tx, request.id).await?;
    let name = segment_name(segment.id);
    if segment.version != request.version {
        return Err(Error::StaleEtag(name));
    }
    if segment.spec.apply(request.changes) {
        let now = now_micros();
        segment.customer_count = store::count_selected(&mut tx, segment.id, &segment.spec).await?;
        segment.count_time = now;
        segment.version += 1;
        segment.update_time = now;
        if !store::update_segment(&mut tx, &segment, request.version).await? {
            return Err(Error::StaleEtag(name));
        }
        tx.commit().await?;
        tracing::info!(segment = %segment.id, "segment updated");
    }
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
    let mut tx = api.db.begin().await?;
    let segment = load(&mut tx, request.id).await?;
    if segment.version != request.version
        || !store::delete_segment(&mut tx, segment.id, request.version).await?
    {
        return Err(Error::StaleEtag(segment_name(segment.id)));
    }
    tx.commit().await?;
    tracing::info!(segment = %segment.id, "segment deleted");
    Ok(pb::DeleteSegmentResponse {})
}

pub async fn count_now(
    api: &Api,
    principal: &Principal,
    request: CountSegment,
) -> Result<pb::GetSegmentCountResponse, Error> {
    read(principal)?;
    let mut tx = api.db.begin().await?;
    let segment = load(&mut tx, request.id).await?;
    let customer_count = store::count_selected(&mut tx, segment.id, &segment.spec).await?;
    let now = now_micros();
    store::set_segment_count(&mut tx, segment.id, customer_count, now).await?;
    tx.commit().await?;
    Ok(pb::GetSegmentCountResponse {
        customer_count,
        count_time: Some(to_timestamp(now)),
    })
}

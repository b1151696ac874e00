//! Shifts: create, get, list, update, delete.

use aftercare_platform::request::PageToken;
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::workforce::v1 as pb;

use super::parse::{ByName, CreateShift, Delete, ListShifts, UpdateShift};
use super::{Api, request_key};
use crate::convert;
use crate::domain::access::Caller;
use crate::domain::names::shift_name;
use crate::domain::shift::Shift;
use crate::error::Error;
use crate::store::{self, ShiftQuery};

fn reply(shift: &Shift) -> Option<pb::Shift> {
    Some(convert::shift(shift, now_micros()))
}

#[tracing::instrument(skip_all)]
pub async fn create(
    api: &Api,
    caller: &Caller,
    request: CreateShift,
) -> Result<pb::CreateShiftResponse, Error> {
    if !caller.is_admin() {
        return Err(Error::PermissionDenied("only admins manage shifts"));
    }
    let key = request_key(caller, "CreateShift", "", &request.idempotency);
    let s = request.shift;
    let shift = Shift::new(
        s.display_name,
        s.time_zone,
        s.region,
        s.intervals,
        s.exceptions,
        now_micros(),
    );
    let shift = store::create_shift(&api.db, &shift, key.as_ref()).await?;
    Ok(pb::CreateShiftResponse {
        shift: reply(&shift),
    })
}

#[tracing::instrument(skip_all, fields(shift = %request.0))]
pub async fn get(
    api: &Api,
    caller: &Caller,
    request: ByName,
) -> Result<pb::GetShiftResponse, Error> {
    if !caller.may_read_catalogue() {
        return Err(Error::PermissionDenied(
            "customers and integrations cannot read shifts",
        ));
    }
    let mut conn = api.db.reader().acquire().await?;
    Ok(pb::GetShiftResponse {
        shift: reply(&store::load_shift(&mut conn, request.0).await?),
    })
}

#[tracing::instrument(skip_all)]
pub async fn list(
    api: &Api,
    caller: &Caller,
    request: ListShifts,
) -> Result<pb::ListShiftsResponse, Error> {
    if !caller.may_read_catalogue() {
        return Err(Error::PermissionDenied(
            "customers and integrations cannot read shifts",
        ));
    }
    let page = &request.page;
    let query = ShiftQuery {
        region: request.region.clone(),
        time_zone: request.time_zone.clone(),
        after: page
            .after
            .as_ref()
            .and_then(|t| t.text_key().map(|k| (k.to_owned(), t.id.clone()))),
        limit: page.limit(),
    };
    let mut conn = api.db.reader().acquire().await?;
    let mut shifts = store::list_shifts(&mut conn, &query).await?;
    let next_page_token = page.finish(&mut shifts, |s| {
        PageToken::text(s.display_name.to_lowercase(), s.id)
    });
    let now = now_micros();
    Ok(pb::ListShiftsResponse {
        shifts: shifts.iter().map(|s| convert::shift(s, now)).collect(),
        next_page_token,
    })
}

#[tracing::instrument(skip_all, fields(shift = %request.id))]
pub async fn update(
    api: &Api,
    caller: &Caller,
    request: UpdateShift,
) -> Result<pb::UpdateShiftResponse, Error> {
    if !caller.is_admin() {
        return Err(Error::PermissionDenied("only admins manage shifts"));
    }
    let mut conn = api.db.reader().acquire().await?;
    let mut shift = store::load_shift(&mut conn, request.id).await?;
    drop(conn);
    let changed = shift
        .update(request.version, request.changes, now_micros())
        .map_err(|refused| Error::refused(refused, shift_name(request.id)))?;
    if changed {
        store::save_shift(&api.db, &shift, request.version).await?;
    }
    Ok(pb::UpdateShiftResponse {
        shift: reply(&shift),
    })
}

#[tracing::instrument(skip_all, fields(shift = %request.id))]
pub async fn delete(
    api: &Api,
    caller: &Caller,
    request: Delete,
) -> Result<pb::DeleteShiftResponse, Error> {
    if !caller.is_admin() {
        return Err(Error::PermissionDenied("only admins manage shifts"));
    }
    store::remove_shift(&api.db, request.id, request.version).await?;
    Ok(pb::DeleteShiftResponse {})
}

//! Shifts: create, get, list, update, delete.

use aftercare_platform::request::PageToken;
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::workforce::v1 as pb;
use uuid::Uuid;

use super::Api;
use super::agents::{remember, replayed, request_key};
use super::parse::{ByName, CreateShift, Delete, ListShifts, ShiftChange, UpdateShift};
use crate::convert;
use crate::domain::access::Caller;
use crate::domain::names::shift_name;
use crate::domain::shift::Shift;
use crate::error::{Error, SHIFT};
use crate::store::{self, Conn, ShiftQuery};

async fn load(conn: &mut Conn, id: Uuid) -> Result<Shift, Error> {
    store::find_shift(conn, id)
        .await?
        .ok_or_else(|| Error::not_found(SHIFT, shift_name(id)))
}

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
    let fingerprint = &request.idempotency.fingerprint;
    let now = now_micros();
    let mut tx = api.db.begin().await?;
    if let Some(id) = replayed(&mut tx, key.as_ref(), fingerprint, SHIFT).await? {
        return Ok(pb::CreateShiftResponse {
            shift: reply(&load(&mut tx, id).await?),
        });
    }
    let s = request.shift;
    let shift = Shift {
        id: Uuid::now_v7(),
        display_name: s.display_name,
        time_zone: s.time_zone,
        region: s.region,
        intervals: s.intervals,
        exceptions: s.exceptions,
        agent_count: 0,
        version: 1,
        create_time: now,
        update_time: now,
    };
    if !remember(&mut tx, key.as_ref(), fingerprint, shift.id, now).await? {
        tx.rollback().await?;
        let mut conn = api.db.reader().acquire().await?;
        let id = replayed(&mut conn, key.as_ref(), fingerprint, SHIFT)
            .await?
            .ok_or_else(|| Error::state("shifts", "a concurrent create failed; retry"))?;
        return Ok(pb::CreateShiftResponse {
            shift: reply(&load(&mut conn, id).await?),
        });
    }
    store::insert_shift(&mut tx, &shift).await?;
    tx.commit().await?;
    tracing::info!(shift = %shift.id, "shift created");
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
        shift: reply(&load(&mut conn, request.0).await?),
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
    let mut tx = api.db.begin().await?;
    let mut shift = load(&mut tx, request.id).await?;
    let name = shift_name(shift.id);
    if shift.version != request.version {
        return Err(Error::StaleEtag(name));
    }
    let before = shift.clone();
    for change in request.changes {
        match change {
            ShiftChange::DisplayName(v) => shift.display_name = v,
            ShiftChange::TimeZone(v) => shift.time_zone = v,
            ShiftChange::Region(v) => shift.region = v,
            ShiftChange::Intervals(v) => shift.intervals = v,
            ShiftChange::Exceptions(v) => shift.exceptions = v,
        }
    }
    if shift != before {
        shift.version += 1;
        shift.update_time = now_micros();
        if !store::update_shift(&mut tx, &shift, request.version).await? {
            return Err(Error::StaleEtag(name));
        }
        tx.commit().await?;
        tracing::info!(shift = %shift.id, version = shift.version, "shift updated");
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
    let mut tx = api.db.begin().await?;
    let shift = load(&mut tx, request.id).await?;
    let name = shift_name(shift.id);
    if shift.version != request.version {
        return Err(Error::StaleEtag(name));
    }
    if store::shift_in_use(&mut tx, shift.id).await? {
        return Err(Error::dependents(
            name,
            "agents are on this shift: move them first",
        ));
    }
    if !store::delete_shift(&mut tx, shift.id, request.version).await? {
        return Err(Error::StaleEtag(name));
    }
    tx.commit().await?;
    tracing::info!(shift = %shift.id, "shift deleted");
    Ok(pb::DeleteShiftResponse {})
}

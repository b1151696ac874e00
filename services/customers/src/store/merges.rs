//! Merging: moving what a merged customer owns to the survivor, and the `merges` record.

use sqlx::Row as _;
use uuid::Uuid;

use aftercare_platform::auth::Principal;
use aftercare_platform::db::Database;
use aftercare_platform::time::now_micros;
use sqlx::{Any, Transaction};

use super::{
    Conn, ConsentQuery, IdentityQuery, append_entry, check_request, current_balance,
    delete_consents, from_json, json, list_consents, list_identities, load_customer, move_timeline,
    remember, update_customer, upsert_consent, uuid,
};
use crate::domain::consent::merge_consents;
use crate::domain::customer::Customer;
use crate::domain::idempotency::RequestKey;
use crate::domain::merge::{MergeAsked, MergeRecord, balance_transfer, check_merge, merge};
use crate::domain::names::customer_name;
use crate::error::Error;
use crate::events::{self, publish};

/// Moves every identity of `from` to `to`; returns how many moved.
pub async fn move_identities(conn: &mut Conn, from: Uuid, to: Uuid) -> Result<i64, sqlx::Error> {
    // A claim of the merged customer that the survivor already has (as a claim or an
    // identity) adds nothing.
    sqlx::query(
        "DELETE FROM identities WHERE customer_id = $1 AND claimed = 1 AND EXISTS (
            SELECT 1 FROM identities other WHERE other.customer_id = $2
                AND other.channel = identities.channel AND other.provider = identities.provider
                AND other.handle = identities.handle)",
    )
    .bind(from.to_string())
    .bind(to.to_string())
    .execute(&mut *conn)
    .await?;
    let result = sqlx::query("UPDATE identities SET customer_id = $2 WHERE customer_id = $1")
        .bind(from.to_string())
        .bind(to.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(i64::try_from(result.rows_affected()).unwrap_or(i64::MAX))
}

/// Points the customers merged into `from` at `to` (flattening the chain); returns them.
pub async fn repoint_merged(
    conn: &mut Conn,
    from: Uuid,
    to: Uuid,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let rows = sqlx::query("SELECT id FROM customers WHERE merged_into = $1 ORDER BY id")
        .bind(from.to_string())
        .fetch_all(&mut *conn)
        .await?;
    let ids = rows
        .iter()
        .map(|row| uuid(&row.try_get::<String, _>("id")?, "id"))
        .collect::<Result<Vec<_>, _>>()?;
    sqlx::query(
        "UPDATE customers SET merged_into = $2, version = version + 1 WHERE merged_into = $1",
    )
    .bind(from.to_string())
    .bind(to.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(ids)
}

/// Records a merge; returns false when `request_id` was already used.
pub async fn insert_merge(
    conn: &mut Conn,
    record: &MergeRecord,
    request_id: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "INSERT INTO merges (id, request_id, survivor_id, merged_id, identities_moved,
            timeline_entries_moved, loyalty_points_transferred, repointed, merge_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT DO NOTHING",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(request_id.map(str::to_owned))
    .bind(record.survivor.to_string())
    .bind(record.merged.to_string())
    .bind(record.identities_moved)
    .bind(record.timeline_entries_moved)
    .bind(record.loyalty_points_transferred)
    .bind(json(&record.repointed))
    .bind(record.merge_time)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// The merge done with `request_id`.
pub async fn find_merge_by_request(
    conn: &mut Conn,
    request_id: &str,
) -> Result<Option<MergeRecord>, sqlx::Error> {
    let Some(row) = sqlx::query(
        "SELECT survivor_id, merged_id, identities_moved, timeline_entries_moved,
            loyalty_points_transferred, repointed, merge_time
         FROM merges WHERE request_id = $1",
    )
    .bind(request_id.to_owned())
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(MergeRecord {
        survivor: uuid(&row.try_get::<String, _>("survivor_id")?, "survivor_id")?,
        merged: uuid(&row.try_get::<String, _>("merged_id")?, "merged_id")?,
        identities_moved: row.try_get("identities_moved")?,
        timeline_entries_moved: row.try_get("timeline_entries_moved")?,
        loyalty_points_transferred: row.try_get("loyalty_points_transferred")?,
        repointed: from_json(&row, "repointed")?,
        merge_time: row.try_get("merge_time")?,
    }))
}

/// The merge this caller made earlier with `key`, and both customers as they are now;
/// `ALREADY_EXISTS` when the key was used for another merge.
async fn previous_merge(
    db: &Database,
    key: Option<&RequestKey>,
) -> Result<Option<(Customer, Customer, MergeRecord)>, Error> {
    let Some(key) = key else {
        return Ok(None);
    };
    let mut conn = db.reader().acquire().await?;
    check_request(&mut conn, Some(key)).await?;
    let Some(record) = find_merge_by_request(&mut conn, &key.scoped()).await? else {
        return Ok(None);
    };
    let survivor = load_customer(&mut conn, record.survivor).await?;
    let merged = load_customer(&mut conn, record.merged).await?;
    Ok(Some((survivor, merged, record)))
}

/// Merges as `asked` for `principal`, in one transaction: the merged customer's identities,
/// timeline, consents and loyalty balance move to the survivor, customers merged into it
/// earlier point at the survivor, both records are written and the merge is announced
/// (`CustomerUpdated` and `CustomerTierChanged` when the survivor changed, `CustomersMerged`).
/// With an idempotency `key`, the merge made first when the caller sent it before. Returns
/// the survivor, the merged customer and the record.
pub async fn merge_customers(
    db: &Database,
    asked: &MergeAsked,
    principal: &Principal,
    key: Option<&RequestKey>,
) -> Result<(Customer, Customer, MergeRecord), Error> {
    if let Some(done) = previous_merge(db, key).await? {
        return Ok(done);
    }
    match apply_merge(db, asked, principal, key).await {
        // A concurrent retry of this very merge won the race.
        Err(Error::StaleEtag(name)) => previous_merge(db, key).await?.ok_or(Error::StaleEtag(name)),
        result => result,
    }
}

async fn apply_merge(
    db: &Database,
    asked: &MergeAsked,
    principal: &Principal,
    key: Option<&RequestKey>,
) -> Result<(Customer, Customer, MergeRecord), Error> {
    let mut tx = db.begin().await?;
    let survivor = load_customer(&mut tx, asked.survivor).await?;
    let merged = load_customer(&mut tx, asked.merged).await?;
    check_merge(asked, &survivor, &merged)
        .map_err(|(id, err)| Error::from_domain(err, &customer_name(id)))?;
    let now = now_micros();
    let outcome = merge(&survivor, &merged, asked.policy, now);
    let moved: Vec<_> = list_identities(&mut tx, &IdentityQuery::all(merged.id))
        .await?
        .into_iter()
        .map(|identity| identity.key)
        .collect();
    let identities_moved = move_identities(&mut tx, merged.id, survivor.id).await?;
    let timeline_entries_moved = move_timeline(&mut tx, merged.id, survivor.id).await?;
    let repointed = repoint_merged(&mut tx, merged.id, survivor.id).await?;
    move_consents(&mut tx, merged.id, survivor.id).await?;
    let loyalty_points_transferred =
        transfer_points(&mut tx, principal, &merged, &survivor).await?;
    let written = update_customer(&mut tx, &outcome.merged, merged.version).await?
        && update_customer(&mut tx, &outcome.survivor, survivor.version).await?;
    if !written {
        return Err(Error::StaleEtag(customer_name(survivor.id)));
    }
    let record = MergeRecord {
        survivor: survivor.id,
        merged: merged.id,
        identities_moved,
        timeline_entries_moved,
        loyalty_points_transferred,
        repointed,
        merge_time: now,
    };
    let scoped = key.map(RequestKey::scoped);
    if !insert_merge(&mut tx, &record, scoped.as_deref()).await? {
        return Err(Error::StaleEtag(customer_name(survivor.id)));
    }
    let survivor_name = customer_name(survivor.id);
    let (updated, tier_changed, announced) =
        events::customers_merged(&survivor, &outcome, &record, &moved, principal);
    if let Some(updated) = updated {
        publish(&mut tx, &survivor_name, &updated).await?;
    }
    if let Some(tier_changed) = tier_changed {
        publish(&mut tx, &survivor_name, &tier_changed).await?;
    }
    publish(&mut tx, &survivor_name, &announced).await?;
    remember(&mut tx, key).await?;
    tx.commit().await?;
    tracing::info!(survivor = %survivor.id, merged = %merged.id, identities_moved, "customers merged");
    Ok((outcome.survivor, outcome.merged, record))
}

/// Gives the survivor the merged customer's consent decisions where they are the latest.
async fn move_consents(
    tx: &mut Transaction<'static, Any>,
    merged: Uuid,
    survivor: Uuid,
) -> Result<(), Error> {
    let mine = list_consents(tx, &ConsentQuery::all(survivor)).await?;
    let theirs = list_consents(tx, &ConsentQuery::all(merged)).await?;
    for consent in merge_consents(survivor, &mine, &theirs) {
        upsert_consent(tx, &consent).await?;
    }
    delete_consents(tx, merged).await?;
    Ok(())
}

/// Moves the merged customer's loyalty balance to the survivor as a pair of ADJUST entries
/// (with their events); returns the points moved.
async fn transfer_points(
    tx: &mut Transaction<'static, Any>,
    principal: &Principal,
    merged: &Customer,
    survivor: &Customer,
) -> Result<i64, Error> {
    let points = current_balance(tx, merged.id).await?;
    if points == 0 {
        return Ok(0);
    }
    let (out, into) = balance_transfer(merged.id, survivor.id, points);
    append_entry(tx, merged, out, principal, None).await?;
    append_entry(tx, survivor, into, principal, None).await?;
    Ok(points)
}

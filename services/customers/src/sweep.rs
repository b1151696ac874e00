//! Background work: the nightly tier review (rolling windows move even when no entry is
//! recorded) and the hourly refresh of segment counts. Both call the domain (through the
//! store's transactions) and the store, never the api layer, and stop with the service.

use std::time::Duration;

use aftercare_platform::auth::Principal;
use aftercare_platform::db::Database;
use aftercare_platform::events::RelayWaker;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::error::Error;
use crate::store;

/// How often tiers are reviewed.
const TIER_REVIEW_EVERY: Duration = Duration::from_secs(24 * 60 * 60);
/// How often segment counts are refreshed.
const SEGMENT_REFRESH_EVERY: Duration = Duration::from_secs(60 * 60);
/// Customers reviewed per read.
const BATCH: u32 = 500;

/// Applies the enabled tier rules to every live, unlocked customer, one transaction each;
/// returns how many changed tier.
pub async fn review_tiers(db: &Database, relay: &RelayWaker) -> Result<usize, Error> {
    let system = Principal::service("customers");
    let mut changed = 0;
    let mut after = None;
    loop {
        let batch = {
            let mut conn = db.reader().acquire().await?;
            store::customers_for_tier_review(&mut conn, after, BATCH).await?
        };
        let Some(last) = batch.last().copied() else {
            break;
        };
        for id in batch {
            if store::review_tier(db, id, &system).await? {
                relay.wake();
                changed += 1;
            }
        }
        after = Some(last);
    }
    tracing::info!(changed, "tier review done");
    Ok(changed)
}

/// Recounts every segment; returns how many were counted.
pub async fn refresh_segment_counts(db: &Database) -> Result<usize, Error> {
    let ids = {
        let mut conn = db.reader().acquire().await?;
        store::segment_ids(&mut conn).await?
    };
    let mut counted = 0;
    for id in &ids {
        if store::refresh_segment_count(db, *id).await? {
            counted += 1;
        }
    }
    tracing::debug!(segments = counted, "segment counts refreshed");
    Ok(ids.len())
}
/// Runs both jobs on their schedules until `shutdown`.
pub fn spawn(db: Database, relay: RelayWaker, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tiers = tokio::time::interval(TIER_REVIEW_EVERY);
        let mut segments = tokio::time::interval(SEGMENT_REFRESH_EVERY);
        tiers.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        segments.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first ticks fire at once; skip them so start-up stays light.
        tiers.tick().await;
        segments.tick().await;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = tiers.tick() => {
                    if let Err(err) = review_tiers(&db, &relay).await {
                        tracing::warn!(error = %aftercare_platform::error::cause_chain(&err), "tier review failed");
                    }
                }
                _ = segments.tick() => {
                    if let Err(err) = refresh_segment_counts(&db).await {
                        tracing::warn!(error = %aftercare_platform::error::cause_chain(&err), "segment refresh failed");
                    }
                }
            }
        }
        tracing::debug!("customers sweeps stopped");
    })
}

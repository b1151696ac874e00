//! Background jobs: certifications past their expiry become `EXPIRED` (publishing
//! `CertificationExpired`; routing already ignored them from the expiry instant), agents whose
//! heartbeat stopped go offline (publishing `PresenceChanged`), and routing holds that no
//! assignment confirmed are released.

use std::sync::Arc;

use aftercare_platform::db::Database;
use aftercare_platform::events::RelayWaker;
use aftercare_platform::time::now_micros;
use tokio_util::sync::CancellationToken;

use crate::Settings;
use crate::error::Error;
use crate::events::{PresenceFeed, PresenceUpdate, recorded_system};
use crate::store;

/// Runs the sweep every `settings.sweep_interval` until `shutdown`.
pub fn spawn(
    db: Database,
    relay: RelayWaker,
    feed: PresenceFeed,
    settings: Arc<Settings>,
    shutdown: CancellationToken,
) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(settings.sweep_interval);
        loop {
            if shutdown.run_until_cancelled(ticker.tick()).await.is_none() {
                return;
            }
            if let Err(err) = sweep_once(&db, &relay, &feed, &settings).await {
                tracing::warn!(error = %aftercare_platform::error::cause_chain(&err), "workforce sweep failed");
            }
        }
    });
}

/// One pass of every job.
pub async fn sweep_once(
    db: &Database,
    relay: &RelayWaker,
    feed: &PresenceFeed,
    settings: &Settings,
) -> Result<(), Error> {
    let now = now_micros();
    expire_certifications(db, relay, now).await?;
    let hold_ttl = i64::try_from(settings.hold_ttl.as_micros()).unwrap_or(i64::MAX);
    let freed = store::release_expired_holds(db, now.saturating_sub(hold_ttl)).await?;
    if !freed.is_empty() {
        tracing::info!(agents = freed.len(), "expired routing holds released");
    }
    let mut conn = db.reader().acquire().await?;
    if store::queue_waiting(&mut conn).await? {
        // Tickets still wait (a shift began, a hold expired): every available agent with
        // room takes what it may, one transaction each.
        let (agents, _) = store::routable_agents(&mut conn, &[], now).await?;
        let takes = |r: &_, a: &_| settings.takes(r, a);
        for agent in agents.iter().filter(|a| a.active_tickets < a.capacity) {
            let held = store::route_queued(db, agent.id, &takes, now).await?;
            if !held.is_empty() {
                relay.wake();
                tracing::info!(agent = %agent.id, tickets = held.len(), "queued tickets routed");
            }
        }
    }
    let stale = store::stale_presence(&mut conn, now).await?;
    for id in stale {
        let Some(mut agent) = store::find_agent(&mut conn, id).await? else {
            continue;
        };
        let Some(previous) = agent.time_out(now) else {
            continue;
        };
        let on_shift = store::set_presence(
            db,
            &mut agent,
            None,
            Some(previous),
            &recorded_system(),
            now,
        )
        .await?;
        relay.wake();
        tracing::info!(agent = %agent.id, "presence timed out");
        let _ = feed.send(PresenceUpdate { agent, on_shift });
    }
    Ok(())
}

/// Marks lapsed certifications expired, each with its `CertificationExpired`, in batches.
pub async fn expire_certifications(
    db: &Database,
    relay: &RelayWaker,
    now: i64,
) -> Result<usize, Error> {
    let mut total = 0;
    loop {
        let expired = store::expire_certifications(db, now).await?;
        if expired == 0 {
            return Ok(total);
        }
        total += expired;
        relay.wake();
        tracing::info!(expired, "certifications expired");
    }
}

//! Background jobs: certifications past their expiry become `EXPIRED` (publishing
//! `CertificationExpired`; routing already ignored them from the expiry instant), agents whose
//! heartbeat stopped go offline (publishing `PresenceChanged`), and routing holds that no
//! assignment confirmed are released.

use std::sync::Arc;

use aftercare_platform::db::Database;
use aftercare_platform::events::RelayWaker;
use aftercare_platform::time::{now_micros, to_timestamp};
use aftercare_proto::aftercare::events::v1::{CertificationExpired, PresenceChanged};
use tokio_util::sync::CancellationToken;

use crate::Settings;
use crate::convert::{certification_name, course_name};
use crate::domain::agent::PresenceState;
use crate::domain::names::{agent_name, team_name};
use crate::domain::training::CertificationState;
use crate::events::{PresenceFeed, PresenceUpdate, on_shift, publish, system};
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
) -> Result<(), sqlx::Error> {
    let now = now_micros();
    expire_certifications(db, relay, now).await?;
    let hold_ttl = i64::try_from(settings.hold_ttl.as_micros()).unwrap_or(i64::MAX);
    let mut tx = db.begin().await?;
    let freed = store::expire_holds(&mut tx, now.saturating_sub(hold_ttl)).await?;
    tx.commit().await?;
    if !freed.is_empty() {
        tracing::info!(agents = freed.len(), "expired routing holds released");
    }
    let mut conn = db.reader().acquire().await?;
    let stale = store::stale_presence(&mut conn, now).await?;
    drop(conn);
    for id in stale {
        let mut tx = db.begin().await?;
        let Some(mut agent) = store::find_agent(&mut tx, id).await? else {
            continue;
        };
        let previous = agent.presence.state;
        if previous == PresenceState::Offline {
            continue;
        }
        agent.presence.state = PresenceState::Offline;
        agent.presence.state_change_time = now;
        agent.presence.update_time = now;
        store::save_presence(&mut tx, &agent).await?;
        let shift_on = on_shift(&mut tx, &agent, now).await?;
        let event = PresenceChanged {
            agent: agent_name(agent.id),
            agent_display_name: agent.profile.display_name.clone(),
            previous_state: previous.number() as i32,
            state: PresenceState::Offline.number() as i32,
            active_tickets: agent.active_tickets as i32,
            capacity: agent.profile.max_concurrent_tickets as i32,
            region: agent.profile.region.clone(),
            teams: agent.teams.iter().map(|t| team_name(*t)).collect(),
            on_shift: shift_on,
            actor: Some(system()),
            change_time: Some(to_timestamp(now)),
        };
        publish(&mut tx, &agent_name(agent.id), &event)
            .await
            .map_err(|err| sqlx::Error::Protocol(err.to_string()))?;
        tx.commit().await?;
        relay.wake();
        tracing::info!(agent = %agent.id, "presence timed out");
        let _ = feed.send(PresenceUpdate {
            agent,
            on_shift: shift_on,
        });
    }
    Ok(())
}

/// Marks lapsed certifications expired, each with its `CertificationExpired`, in batches.
pub async fn expire_certifications(
    db: &Database,
    relay: &RelayWaker,
    now: i64,
) -> Result<usize, sqlx::Error> {
    let mut total = 0;
    loop {
        let mut tx = db.begin().await?;
        let lapsed = store::lapsed_certifications(&mut tx, now).await?;
        if lapsed.is_empty() {
            return Ok(total);
        }
        let mut expired = 0;
        for mut c in lapsed {
            let expected = c.version;
            c.state = CertificationState::Expired;
            c.version += 1;
            c.update_time = now;
            if !store::update_certification(&mut tx, &c, expected).await? {
                continue;
            }
            expired += 1;
            let name = certification_name(c.agent, c.id);
            let event = CertificationExpired {
                certification: name.clone(),
                agent: agent_name(c.agent),
                code: c.code.clone(),
                display_name: c.display_name.clone(),
                course: c.course.map(course_name).unwrap_or_default(),
                expire_time: c.expire_time.map(to_timestamp),
            };
            publish(&mut tx, &name, &event)
                .await
                .map_err(|err| sqlx::Error::Protocol(err.to_string()))?;
            total += 1;
        }
        tx.commit().await?;
        if expired == 0 {
            return Ok(total);
        }
        relay.wake();
        tracing::info!(expired, "certifications expired");
    }
}

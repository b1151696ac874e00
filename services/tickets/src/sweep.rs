//! The SLA sweep: a background task that, every interval, reads the tickets whose next SLA
//! threshold or due time has passed (an index range scan on `sla_next_check`, so its cost
//! follows the tickets due, not the tickets open), marks them at risk or breached, fires
//! their policies' escalation rules, and publishes the events — as the system actor. It also
//! closes tickets left `RESOLVED` longer than the auto-close period (default 7 days).
//!
//! Editing or deleting a business calendar marks the running tickets counted in it (in the
//! same transaction, `sla_next_check` set to `SLA_RECOMPUTE_MARK` in the store); each round
//! first recomputes their due times in their calendar, else the fallback (service centre,
//! region, around the clock in UTC). Paused tickets are not marked: their due times move on
//! in the calendar in force when they resume. A ticket written between the mark and the
//! round keeps its due times (the write replaces the mark with its next check).

use std::time::Duration;

use aftercare_platform::db::Database;
use aftercare_platform::events::RelayWaker;
use aftercare_platform::time::now_micros;
use tokio_util::sync::CancellationToken;

use crate::domain::{Actor, ActorKind, BusinessCalendar, fallback_calendar};
use crate::error::{Error, Result};
use crate::events::ChangeFeed;
use crate::store;

/// Tickets handled per round; a backlog is worked off in consecutive rounds.
const BATCH: u32 = 500;

/// Gauge: open tickets inside a target's at-risk window, by `region` and `target`.
pub const SLA_AT_RISK: &str = "aftercare_tickets_sla_at_risk";
/// Gauge: open tickets past a target, by `region` and `target`.
pub const SLA_BREACHED: &str = "aftercare_tickets_sla_breached";
/// Counter: breaches the sweep found, by `region` and `target`.
pub const SLA_BREACHES: &str = "aftercare_tickets_sla_breaches_total";

fn target_label(target: crate::domain::Target) -> &'static str {
    match target {
        crate::domain::Target::FirstResponse => "first_response",
        crate::domain::Target::Resolution => "resolution",
    }
}

/// The sweep's dependencies.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// The database.
    pub db: Database,
    /// Wakes the outbox relay.
    pub relay: RelayWaker,
    /// The watch feed.
    pub feed: ChangeFeed,
    /// How long a ticket stays `RESOLVED` before it is closed.
    pub auto_close_after: Duration,
}

fn system() -> Actor {
    Actor {
        kind: ActorKind::System,
        id: "services/tickets".to_owned(),
        display_name: "SLA sweep".to_owned(),
    }
}

impl Sweep {
    /// Runs until `shutdown`, a round every `interval`, then records the tickets at risk and
    /// breached (gauges [`SLA_AT_RISK`] and [`SLA_BREACHED`]).
    pub async fn run(self, interval: Duration, shutdown: CancellationToken) {
        let mut regions = std::collections::BTreeSet::new();
        loop {
            self.record_standing(&mut regions).await;
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(interval) => {}
            }
            loop {
                let now = now_micros();
                let swept = match self.recompute(now).await {
                    Ok(recomputed) => self.round(now).await.map(|s| s.max(recomputed)),
                    Err(err) => Err(err),
                };
                let closed = self.auto_close(now).await;
                match swept.and_then(|swept| closed.map(|closed| swept.max(closed))) {
                    Ok(handled) if handled == BATCH as usize => continue,
                    Ok(_) => break,
                    Err(err) => {
                        tracing::warn!(error = %aftercare_platform::error::cause_chain(&err), "sla sweep round failed");
                        break;
                    }
                }
            }
        }
    }

    /// Sets the SLA gauges from the database (every replica reports the same figures: read
    /// them with `max`); a region no longer listed goes back to 0.
    async fn record_standing(&self, regions: &mut std::collections::BTreeSet<String>) {
        let standing = match store::sla_standing(&self.db).await {
            Ok(standing) => standing,
            Err(err) => {
                tracing::debug!(error = %err, "cannot measure the sla standing");
                return;
            }
        };
        let listed: std::collections::BTreeSet<String> =
            standing.iter().map(|s| s.region.clone()).collect();
        let gone = regions.difference(&listed).cloned().collect::<Vec<_>>();
        let zero = gone.into_iter().map(|region| store::SlaStanding {
            region,
            ..Default::default()
        });
        for s in standing.iter().cloned().chain(zero) {
            for (name, target, value) in [
                (SLA_AT_RISK, "first_response", s.first_response_at_risk),
                (SLA_AT_RISK, "resolution", s.resolution_at_risk),
                (SLA_BREACHED, "first_response", s.first_response_breached),
                (SLA_BREACHED, "resolution", s.resolution_breached),
            ] {
                metrics::gauge!(name, "region" => s.region.clone(), "target" => target)
                    .set(value as f64);
            }
        }
        *regions = listed;
    }

    /// Closes up to a batch of tickets resolved before the auto-close period; returns how
    /// many it looked at.
    pub async fn auto_close(&self, now: i64) -> Result<usize> {
        let period = i64::try_from(self.auto_close_after.as_micros()).unwrap_or(i64::MAX);
        let due =
            store::tickets_resolved_before(&self.db, now.saturating_sub(period), BATCH).await?;
        let actor = system();
        for mut ticket in due.iter().cloned() {
            let Ok(changes) = ticket.transition(
                crate::domain::Transition::Close { with_reason: true },
                "closed automatically after resolution",
                now,
            ) else {
                continue;
            };
            match store::save_ticket(&self.db, ticket, changes, &actor, None).await {
                Ok((ticket, committed)) => {
                    self.relay.wake();
                    self.feed.send(&ticket, &actor, committed);
                }
                Err(Error::StaleEtag(_) | Error::NotFound { .. }) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(due.len())
    }

    /// Recomputes the due times of up to a batch of tickets marked when their calendar was
    /// changed or deleted (counted in their calendar, else the fallback: service centre,
    /// region, around the clock); returns how many it looked at.
    pub async fn recompute(&self, now: i64) -> Result<usize> {
        let marked = store::tickets_marked_for_recompute(&self.db, BATCH).await?;
        if marked.is_empty() {
            return Ok(0);
        }
        let policies = store::all_policies(&self.db).await?;
        let calendars = store::all_calendars(&self.db).await?;
        let actor = system();
        for mut ticket in marked.iter().cloned() {
            let policy = ticket
                .sla
                .policy
                .as_ref()
                .and_then(|name| policies.iter().find(|p| &p.name() == name));
            let mut changes = Vec::new();
            if let Some(policy) = policy
                && ticket.status.is_open()
            {
                let calendar =
                    fallback_calendar(&calendars, ticket.sla.calendar.as_deref(), &ticket);
                let (arithmetic, name) = match calendar {
                    Some(c) => (c.calendar(), Some(c.name())),
                    None => (BusinessCalendar::around_the_clock(), None),
                };
                changes = ticket.recompute_sla(policy, &arithmetic, name, now);
            }
            // A ticket whose policy is gone keeps its targets.
            changes.extend(ticket.sweep_sla(policy, now));
            if changes.is_empty() {
                store::clear_recompute_mark(&self.db, &ticket).await?;
                continue;
            }
            match store::save_ticket(&self.db, ticket, changes, &actor, None).await {
                Ok((ticket, committed)) => {
                    tracing::info!(ticket = %ticket.name(), "sla due times recomputed");
                    self.relay.wake();
                    self.feed.send(&ticket, &actor, committed);
                }
                // Changed meanwhile (which wrote its next check): keeps the old due times.
                Err(Error::StaleEtag(_) | Error::NotFound { .. }) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(marked.len())
    }

    /// One round at `now`; returns how many tickets it looked at.
    pub async fn round(&self, now: i64) -> Result<usize> {
        let due = store::tickets_due_for_sweep(&self.db, now, BATCH).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let policies = store::all_policies(&self.db).await?;
        let actor = system();
        for mut ticket in due.iter().cloned() {
            let policy = ticket
                .sla
                .policy
                .as_ref()
                .and_then(|name| policies.iter().find(|p| &p.name() == name));
            let changes = ticket.sweep_sla(policy, now);
            if changes.is_empty() {
                continue;
            }
            let breaches: Vec<&'static str> = changes
                .iter()
                .filter_map(|change| match change {
                    crate::domain::Change::SlaBreached { target, .. } => {
                        Some(target_label(*target))
                    }
                    _ => None,
                })
                .collect();
            match store::save_ticket(&self.db, ticket, changes, &actor, None).await {
                Ok((ticket, committed)) => {
                    for target in breaches {
                        metrics::counter!(
                            SLA_BREACHES,
                            "region" => ticket.region.to_string(),
                            "target" => target,
                        )
                        .increment(1);
                    }
                    tracing::info!(ticket = %ticket.name(), "sla state changed");
                    self.relay.wake();
                    self.feed.send(&ticket, &actor, committed);
                }
                // Changed meanwhile: the next round sees the fresh ticket.
                Err(Error::StaleEtag(_) | Error::NotFound { .. }) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(due.len())
    }
}

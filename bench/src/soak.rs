//! `make soak`: a mixed load for a long time (10 minutes by default) through the gateway:
//! creates, replies, status changes and reads from a fixed number of clients, and one
//! `WatchTickets` stream per agent. Every interval it prints the RSS and each operation's
//! count and p50/p99; it fails (non-zero exit) on any error, on a watch stream that ends or
//! receives nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use aftercare_platform::auth::Role;
use aftercare_proto::aftercare::tickets::v1 as tk;
use anyhow::bail;
use hdrhistogram::Histogram;
use tk::ticket_service_client::TicketServiceClient;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tokio_stream::StreamExt as _;

use crate::bench::Scratch;
use crate::load::new_histogram;
use crate::ops::{Clients, REGION, Route, bearer, staff_token};
use crate::platform::Platform;

/// The settings of a soak.
#[derive(Debug, Clone, clap::Args)]
pub struct SoakArgs {
    /// The `aftercare` binary to start (the debug build works too: `target/debug/aftercare`).
    #[arg(long, default_value = "target/release/aftercare")]
    pub binary: PathBuf,
    /// How long the mixed load runs (`10m`, `2m`).
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// How often a line of figures is printed.
    #[arg(long, default_value = "1m", value_parser = humantime::parse_duration)]
    pub every: Duration,
    /// Concurrent clients.
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Agents, each watching the region's queue with one `WatchTickets` stream.
    #[arg(long, default_value_t = 4)]
    pub agents: usize,
}

const OPS: [&str; 5] = ["create", "reply", "status", "get", "list"];

/// The operation of call `seq`: 30% creates, 25% replies, 15% status changes, 20% gets,
/// 10% lists.
fn pick(seq: u64) -> &'static str {
    match seq % 20 {
        0..=5 => "create",
        6..=10 => "reply",
        11..=13 => "status",
        14..=17 => "get",
        _ => "list",
    }
}

#[derive(Default)]
struct Window {
    latency: BTreeMap<&'static str, Histogram<u64>>,
    errors: u64,
    first_error: Option<String>,
}

impl Window {
    fn record(&mut self, op: &'static str, result: &anyhow::Result<()>, took: Duration) {
        match result {
            Ok(()) => {
                self.latency
                    .entry(op)
                    .or_insert_with(new_histogram)
                    .saturating_record(u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1));
            }
            Err(err) => {
                self.errors += 1;
                if self.first_error.is_none() {
                    self.first_error = Some(format!("{op}: {err:#}"));
                }
            }
        }
    }
}

/// Runs the soak; an error when anything failed.
pub async fn run(args: SoakArgs) -> anyhow::Result<()> {
    let scratch = Scratch::new(&args.binary, "aftercare-soak-")?;
    let launch = scratch.launch.clone();
    let platform = Platform::start(&launch).await?;
    println!(
        "soak: {} for {:?}, {} clients, {} watching agents; ready in {:.3} s, idle RSS {:.1} MB",
        args.binary.display(),
        args.duration,
        args.clients,
        args.agents,
        platform.ready.as_secs_f64(),
        platform.rss()? as f64 / 1_048_576.0
    );
    let clients = Arc::new(
        Clients::connect(
            platform.gateway,
            platform.service("tickets"),
            &launch.principal_secret,
            &launch.jwt_secret,
            args.clients,
            8,
        )
        .await?,
    );
    // A first page for the lists.
    clients.create_tickets(crate::ops::PAGE as usize).await?;
    let stop = Arc::new(AtomicBool::new(false));
    // One stream per agent, on the region's queue.
    let events = Arc::new(AtomicU64::new(0));
    let mut watchers = Vec::new();
    for index in 0..args.agents {
        let token = staff_token(
            &launch.jwt_secret,
            &format!("agents/soak-{index}"),
            Role::Agent,
            Some(REGION),
        )?;
        let mut client = TicketServiceClient::new(clients.gateway_channel());
        let mut stream = client
            .watch_tickets(bearer(
                &token,
                tk::WatchTicketsRequest {
                    region: REGION.to_owned(),
                    ..Default::default()
                },
            ))
            .await?
            .into_inner();
        let events = events.clone();
        let stop = stop.clone();
        watchers.push(tokio::spawn(async move {
            let mut mine = 0u64;
            loop {
                match tokio::time::timeout(Duration::from_millis(500), stream.next()).await {
                    Ok(Some(Ok(_))) => {
                        mine += 1;
                        events.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Some(Err(_))) if stop.load(Ordering::Relaxed) => return Ok(mine),
                    Ok(Some(Err(status))) => {
                        return Err(anyhow::anyhow!("agent {index}'s watch failed: {status}"));
                    }
                    Ok(None) => {
                        if stop.load(Ordering::Relaxed) {
                            return Ok(mine);
                        }
                        bail!("agent {index}'s watch ended during the soak");
                    }
                    Err(_) if stop.load(Ordering::Relaxed) => return Ok(mine),
                    Err(_) => {}
                }
            }
        }));
    }
    let window = Arc::new(Mutex::new(Window::default()));
    let total_errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + args.duration;
    let sequence = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..args.clients.max(1) {
        let clients = clients.clone();
        let window = window.clone();
        let sequence = sequence.clone();
        workers.push(tokio::spawn(async move {
            // Each client works on the tickets it opened, so its status changes never race
            // another client's (a stale etag would be the bench's fault, not the platform's).
            let mut own: Vec<String> = Vec::new();
            while Instant::now() < deadline {
                let seq = sequence.fetch_add(1, Ordering::Relaxed);
                let op = if own.is_empty() { "create" } else { pick(seq) };
                let pick_own =
                    || own[(seq.wrapping_mul(2_654_435_761) as usize) % own.len()].clone();
                let started = Instant::now();
                let result = match op {
                    "create" => match clients.create(Route::Gateway, seq).await {
                        Ok(ticket) => {
                            own.push(ticket.name);
                            Ok(())
                        }
                        Err(err) => Err(err),
                    },
                    "reply" => clients.reply_to(Route::Gateway, seq, &pick_own()).await,
                    "status" => {
                        clients
                            .change_status(Route::Gateway, seq, &pick_own())
                            .await
                    }
                    "get" => clients
                        .read(Route::Gateway, seq, &pick_own())
                        .await
                        .map(|_| ()),
                    _ => clients.list_page(Route::Gateway, seq).await,
                };
                window.lock().await.record(op, &result, started.elapsed());
            }
        }));
    }
    let started = Instant::now();
    let mut rss_first = None;
    let mut rss_last;
    let mut next = started + args.every;
    let mut failed = Vec::new();
    println!(
        "{:>6} {:>8} {:>6}  {}",
        "time",
        "RSS MB",
        "errors",
        OPS.map(|op| format!("{op:>6}: n p50/p99 ms")).join("  ")
    );
    loop {
        let at = next.min(deadline);
        tokio::time::sleep_until(at).await;
        let finished = Instant::now() >= deadline;
        if finished {
            for worker in workers.drain(..) {
                let _ = worker.await;
            }
        }
        let taken = std::mem::take(&mut *window.lock().await);
        let rss = platform.rss()? as f64 / 1_048_576.0;
        rss_first.get_or_insert(rss);
        rss_last = rss;
        total_errors.fetch_add(taken.errors, Ordering::Relaxed);
        let columns: Vec<String> = OPS
            .iter()
            .map(|op| match taken.latency.get(op) {
                Some(h) => format!(
                    "{op:>6}: {} {:.1}/{:.1}",
                    h.len(),
                    h.value_at_quantile(0.5) as f64 / 1_000.0,
                    h.value_at_quantile(0.99) as f64 / 1_000.0
                ),
                None => format!("{op:>6}: 0"),
            })
            .collect();
        println!(
            "{:>5.0}s {:>8.1} {:>6}  {}",
            started.elapsed().as_secs_f64(),
            rss,
            taken.errors,
            columns.join("  ")
        );
        if let Some(error) = taken.first_error {
            println!("        first error: {error}");
            failed.push(error);
        }
        if finished {
            break;
        }
        next += args.every;
    }
    stop.store(true, Ordering::Relaxed);
    drop(clients);
    platform.stop().await?;
    let mut streams = Vec::new();
    for watcher in watchers {
        match watcher.await? {
            Ok(received) => streams.push(received),
            Err(err) => failed.push(format!("{err:#}")),
        }
    }
    if streams.contains(&0) {
        failed.push("a watch stream received no event".to_owned());
    }
    println!(
        "soak: {} errors; RSS {:.1} MB at the first report, {:.1} MB at the last; watch events per agent: {:?}",
        total_errors.load(Ordering::Relaxed),
        rss_first.unwrap_or_default(),
        rss_last,
        streams
    );
    if !failed.is_empty() {
        bail!("the soak failed: {}", failed.join("; "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_is_as_documented() {
        let mut counts = BTreeMap::new();
        for seq in 0..1_000 {
            *counts.entry(pick(seq)).or_insert(0) += 1;
        }
        assert_eq!(counts["create"], 300);
        assert_eq!(counts["reply"], 250);
        assert_eq!(counts["status"], 150);
        assert_eq!(counts["get"], 200);
        assert_eq!(counts["list"], 100);
    }
}

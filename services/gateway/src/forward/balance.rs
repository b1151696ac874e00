//! A backend's endpoints: every address its host name resolves to (a Kubernetes headless
//! service's pods, say), re-resolved periodically, taken in turn; an address that refused a
//! connection is skipped for a while.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

/// How often host names are resolved again.
const RESOLVE_INTERVAL: Duration = Duration::from_secs(10);
/// How long an address that refused a connection is skipped.
const DOWN_FOR: Duration = Duration::from_secs(5);

/// The addresses of one backend.
#[derive(Debug)]
pub struct Endpoints {
    /// The host name and port, when they need resolving.
    target: Option<(String, u16)>,
    addrs: RwLock<Vec<SocketAddr>>,
    down: Mutex<Vec<(SocketAddr, Instant)>>,
    next: AtomicUsize,
}

impl Endpoints {
    /// Endpoints at `addrs`.
    pub fn fixed(addrs: Vec<SocketAddr>) -> Arc<Self> {
        Arc::new(Self {
            target: None,
            addrs: RwLock::new(addrs),
            down: Mutex::new(Vec::new()),
            next: AtomicUsize::new(0),
        })
    }

    /// Endpoints of `host:port`: an IP address as it is; a name resolved at once and again
    /// every few seconds until `shutdown` (until it first resolves there is no endpoint).
    pub fn resolving(host: &str, port: u16, shutdown: &CancellationToken) -> Arc<Self> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = host.parse::<std::net::IpAddr>() {
            return Self::fixed(vec![SocketAddr::new(ip, port)]);
        }
        let endpoints = Arc::new(Self {
            target: Some((host.to_owned(), port)),
            addrs: RwLock::new(Vec::new()),
            down: Mutex::new(Vec::new()),
            next: AtomicUsize::new(0),
        });
        let watched = endpoints.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(RESOLVE_INTERVAL);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    _ = ticks.tick() => {}
                }
                watched.refresh().await;
            }
        });
        endpoints
    }

    /// Resolves the host name again (nothing to do for an IP address).
    pub async fn refresh(&self) {
        let Some((host, port)) = &self.target else {
            return;
        };
        let (host, port) = (host.as_str(), *port);
        match tokio::net::lookup_host((host, port)).await {
            Ok(found) => {
                let mut found: Vec<SocketAddr> = found.collect();
                found.sort();
                found.dedup();
                if !found.is_empty() {
                    *self.addrs.write().unwrap_or_else(|e| e.into_inner()) = found;
                }
            }
            Err(err) => tracing::warn!(host, error = %err, "cannot resolve a backend"),
        }
    }

    /// The next address to call, skipping those recently down unless all are; `None` before
    /// the name has resolved.
    pub fn pick(&self) -> Option<SocketAddr> {
        let addrs = self.addrs.read().unwrap_or_else(|e| e.into_inner());
        if addrs.is_empty() {
            return None;
        }
        let now = Instant::now();
        let mut down = self.down.lock().unwrap_or_else(|e| e.into_inner());
        down.retain(|(_, until)| *until > now);
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..addrs.len())
            .map(|i| addrs[(start + i) % addrs.len()])
            .find(|addr| !down.iter().any(|(d, _)| d == addr))
            .or_else(|| Some(addrs[start % addrs.len()]))
    }

    /// How many addresses there are.
    pub fn len(&self) -> usize {
        self.addrs.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Skips `addr` for a while: it refused a connection.
    pub fn mark_down(&self, addr: SocketAddr) {
        let mut down = self.down.lock().unwrap_or_else(|e| e.into_inner());
        down.retain(|(d, _)| *d != addr);
        down.push((addr, Instant::now() + DOWN_FOR));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, 1], port))
    }

    #[test]
    fn endpoints_are_taken_in_turn() {
        let endpoints = Endpoints::fixed(vec![addr(1), addr(2), addr(3)]);
        let picked: Vec<_> = (0..6).map(|_| endpoints.pick().unwrap().port()).collect();
        assert_eq!(picked, [1, 2, 3, 1, 2, 3]);
    }

    #[test]
    fn an_endpoint_that_refused_a_connection_is_skipped() {
        let endpoints = Endpoints::fixed(vec![addr(1), addr(2)]);
        endpoints.mark_down(addr(1));
        assert!((0..4).all(|_| endpoints.pick() == Some(addr(2))));
        endpoints.mark_down(addr(2));
        assert!(endpoints.pick().is_some(), "all down: try them anyway");
    }

    #[tokio::test]
    async fn an_ip_address_needs_no_resolving_and_a_name_resolves() {
        let shutdown = CancellationToken::new();
        let ip = Endpoints::resolving("127.0.0.1", 7000, &shutdown);
        assert_eq!(ip.pick(), Some(SocketAddr::from(([127, 0, 0, 1], 7000))));
        let name = Endpoints::resolving("localhost", 7000, &shutdown);
        let deadline = Instant::now() + Duration::from_secs(5);
        while name.pick().is_none() {
            assert!(Instant::now() < deadline, "localhost never resolved");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(name.pick().unwrap().port(), 7000);
        shutdown.cancel();
    }
}

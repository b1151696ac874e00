//! The platform under measurement, started as a user starts it: the `aftercare up` binary as a
//! child process, on a data folder of its own, configured only through `AFTERCARE_*`
//! variables.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::AsyncWriteExt as _;
use tokio::process::{Child, Command};
use tokio::time::Instant;
use tonic::transport::Endpoint;
use tonic_health::ServingStatus;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// The services `aftercare up` runs behind the gateway.
pub const SERVICES: [&str; 5] = ["customers", "workforce", "knowledge", "tickets", "feedback"];

/// How long the platform may take to become ready before the run fails.
const READY_DEADLINE: Duration = Duration::from_secs(60);

/// How to start the platform.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The `aftercare` binary.
    pub binary: PathBuf,
    /// The data folder (SQLite files, the log).
    pub data_dir: PathBuf,
    /// The secret the gateway signs principals with: the bench signs its direct calls with it.
    pub principal_secret: String,
    /// The gateway's JWT secret: the bench mints its tokens with it.
    pub jwt_secret: String,
    /// Each service's database URL, when not the SQLite default under `data_dir`.
    pub database_urls: BTreeMap<&'static str, String>,
}

/// A running `aftercare up`.
pub struct Platform {
    child: Child,
    /// The gateway's address.
    pub gateway: SocketAddr,
    /// Each service's address.
    pub services: BTreeMap<&'static str, SocketAddr>,
    /// From spawning the process to every server answering health `SERVING`.
    pub ready: Duration,
}

/// A free port on the loopback interface (bound, read, released).
fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

impl Platform {
    /// Starts the platform and waits until the gateway and every service report `SERVING`.
    pub async fn start(launch: &Launch) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&launch.data_dir)?;
        let gateway = free_port()?;
        let mut services = BTreeMap::new();
        for name in SERVICES {
            services.insert(name, free_port()?);
        }
        let metrics = free_port()?;
        let mut command = Command::new(&launch.binary);
        command.arg("up");
        // Only this run's configuration: nothing inherited from the caller's environment.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("AFTERCARE_") {
                command.env_remove(key);
            }
        }
        command
            .env("AFTERCARE_DATA_DIR", &launch.data_dir)
            .env("AFTERCARE_GATEWAY__LISTEN", gateway.to_string())
            .env("AFTERCARE_TELEMETRY__METRICS_LISTEN", metrics.to_string())
            .env("AFTERCARE_AUTH__PRINCIPAL_SECRET", &launch.principal_secret)
            .env("AFTERCARE_GATEWAY__JWT_SECRET", &launch.jwt_secret)
            // The bench is one principal at thousands of calls a second: the per-principal
            // limit (200/s by default) would measure the limiter, not the platform. It is
            // still checked on every call.
            .env("AFTERCARE_GATEWAY__RATE_LIMIT_PER_SECOND", "1000000")
            .env("AFTERCARE_GATEWAY__RATE_LIMIT_BURST", "1000000");
        for (name, addr) in &services {
            command.env(
                format!("AFTERCARE_SERVICES__{}__LISTEN", name.to_uppercase()),
                addr.to_string(),
            );
        }
        for (name, url) in &launch.database_urls {
            command.env(
                format!("AFTERCARE_SERVICES__{}__DATABASE_URL", name.to_uppercase()),
                url,
            );
        }
        let log_path = launch.data_dir.join("aftercare.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log.try_clone()?)
            .kill_on_drop(true);
        let spawned = Instant::now();
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", launch.binary.display()))?;
        // The log goes to stdout: keep draining it into the log file.
        let mut stdout = child.stdout.take().context("the child's stdout")?;
        tokio::spawn(async move {
            let mut log = tokio::fs::File::from_std(log);
            let _ = tokio::io::copy(&mut stdout, &mut log).await;
            let _ = log.flush().await;
        });
        let mut targets = vec![gateway];
        targets.extend(services.values().copied());
        for addr in targets {
            loop {
                if let Some(status) = child.try_wait()? {
                    bail!(
                        "aftercare up exited ({status}) before it was ready; its log: {}",
                        log_path.display()
                    );
                }
                if spawned.elapsed() > READY_DEADLINE {
                    bail!(
                        "aftercare up was not ready after {READY_DEADLINE:?}; its log: {}",
                        log_path.display()
                    );
                }
                if serving(addr).await {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        let ready = spawned.elapsed();
        Ok(Self {
            child,
            gateway,
            services,
            ready,
        })
    }

    /// The process id.
    pub fn pid(&self) -> anyhow::Result<u32> {
        self.child.id().context("the platform has exited")
    }

    /// The resident set size of the process now, in bytes (from `/proc`).
    pub fn rss(&self) -> anyhow::Result<u64> {
        rss_of(self.pid()?)
    }

    /// The address of one service.
    pub fn service(&self, name: &str) -> SocketAddr {
        self.services[name]
    }

    /// Stops the platform with SIGTERM (it drains and checkpoints), SIGKILL after 30 s.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let pid = self.pid()?;
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .await
            .context("running kill")?;
        if !status.success() {
            bail!("kill -TERM {pid} failed");
        }
        match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
            Ok(status) => {
                let status = status?;
                if !status.success() {
                    bail!("aftercare up exited with {status} on SIGTERM");
                }
            }
            Err(_) => {
                self.child.kill().await?;
                bail!("aftercare up did not stop within 30 s of SIGTERM (killed)");
            }
        }
        Ok(())
    }
}

/// True when the server at `addr` answers health `SERVING` for the whole server.
async fn serving(addr: SocketAddr) -> bool {
    let Ok(endpoint) = Endpoint::from_shared(format!("http://{addr}")) else {
        return false;
    };
    let Ok(channel) = endpoint
        .connect_timeout(Duration::from_millis(200))
        .timeout(Duration::from_millis(500))
        .connect()
        .await
    else {
        return false;
    };
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .is_ok_and(|answer| answer.into_inner().status == ServingStatus::Serving as i32)
}

/// The resident set size of process `pid`, in bytes (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_of(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    parse_rss(&status).context("no VmRSS line in /proc/<pid>/status")
}

fn parse_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kilobytes: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kilobytes * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_is_read_from_the_vmrss_line() {
        let status = "Name:\taftercare\nVmPeak:\t  999 kB\nVmRSS:\t   41236 kB\nThreads:\t9\n";
        assert_eq!(parse_rss(status), Some(41_236 * 1024));
        assert_eq!(parse_rss("Name:\tx\n"), None);
    }

    #[test]
    fn this_process_has_a_resident_set() {
        let rss = rss_of(std::process::id()).unwrap();
        assert!(rss > 1024 * 1024, "{rss}");
    }
}

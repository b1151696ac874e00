//! A file read at start and re-read when its modification time changes, so keys rotate
//! without a restart. A file that becomes unreadable or malformed keeps the last good
//! contents (and says so in the log).

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

/// The current contents of a watched file, parsed.
pub struct Reloading<T> {
    current: Arc<RwLock<Arc<T>>>,
}

impl<T> Clone for Reloading<T> {
    fn clone(&self) -> Self {
        Self {
            current: self.current.clone(),
        }
    }
}

impl<T: Send + Sync + 'static> Reloading<T> {
    /// Reads and parses `path` now (an error if it cannot), then polls it every `interval`
    /// until `shutdown`.
    pub fn watch(
        path: PathBuf,
        interval: Duration,
        parse: fn(&[u8]) -> anyhow::Result<T>,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<Self> {
        let (value, mut seen) = read(&path, parse)?;
        let current = Arc::new(RwLock::new(Arc::new(value)));
        let this = Self {
            current: current.clone(),
        };
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    _ = ticks.tick() => {}
                }
                let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
                if modified == Some(seen) {
                    continue;
                }
                match read(&path, parse) {
                    Ok((value, at)) => {
                        seen = at;
                        *current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(value);
                        tracing::info!(path = %path.display(), "reloaded");
                    }
                    Err(err) => {
                        tracing::warn!(path = %path.display(), error = %format!("{err:#}"), "cannot reload; keeping the previous contents");
                        if let Some(at) = modified {
                            seen = at;
                        }
                    }
                }
            }
        });
        Ok(this)
    }

    /// The contents as last read.
    pub fn current(&self) -> Arc<T> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

fn read<T>(
    path: &PathBuf,
    parse: fn(&[u8]) -> anyhow::Result<T>,
) -> anyhow::Result<(T, SystemTime)> {
    let modified = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", path.display()))?;
    let bytes = std::fs::read(path)
        .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", path.display()))?;
    let value = parse(&bytes).map_err(|err| err.context(format!("in {}", path.display())))?;
    Ok((value, modified))
}

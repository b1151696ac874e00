//! A file read at start and re-read when its modification time changes, so keys rotate
//! without a restart. A file that is deleted, becomes unreadable or malformed fails closed:
//! its old contents stop counting at once (every key it held is refused) until a good file is
//! back, and the log says why. Deleting the keys file is how an operator revokes every key.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

/// The current contents of a watched file, parsed.
pub struct Reloading<T> {
    current: Arc<RwLock<Option<Arc<T>>>>,
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
        let (value, seen) = read(&path, parse)?;
        let mut seen = Some(seen);
        let current = Arc::new(RwLock::new(Some(Arc::new(value))));
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
                if modified == seen {
                    continue;
                }
                match read(&path, parse) {
                    Ok((value, at)) => {
                        seen = Some(at);
                        *current.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(value));
                        tracing::info!(path = %path.display(), "reloaded");
                    }
                    Err(err) => {
                        seen = modified;
                        *current.write().unwrap_or_else(|e| e.into_inner()) = None;
                        tracing::error!(path = %path.display(), error = %format!("{err:#}"), "cannot reload; refusing what it held until it is fixed");
                    }
                }
            }
        });
        Ok(this)
    }

    /// The contents as last read, or `None` while the file is missing or malformed.
    pub fn current(&self) -> Option<Arc<T>> {
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

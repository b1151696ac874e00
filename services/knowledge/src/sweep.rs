//! Background work: keeping this replica's search index up to date with the database.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::error::Result;
use crate::index::{Indexable, SearchIndex};
use crate::store::Store;

/// Articles re-indexed per index commit.
const BATCH: i64 = 500;

/// Brings `index` up to the database's index sequence: every article changed since the
/// index's mark is re-indexed (or removed when no longer live), then the new mark is
/// committed with the documents. Returns how many articles were re-indexed.
pub async fn catch_up(store: &Store, index: &SearchIndex) -> Result<usize> {
    let _serialised = index.lock().await;
    if index.applied() > store.index_seq().await? {
        // The index is ahead of the database (the database was replaced): start over.
        index.reset().await?;
    }
    let mut total = 0;
    loop {
        let changed = store.changed_since(index.applied(), BATCH).await?;
        let Some(&(seq, _)) = changed.last() else {
            return Ok(total);
        };
        let mut items = Vec::with_capacity(changed.len());
        for (_, id) in &changed {
            items.push(Indexable {
                id: *id,
                article: store.article_for_index(*id).await?,
            });
        }
        index.apply(items, seq).await?;
        total += changed.len();
    }
}

/// Catches up every `interval` until `shutdown`: this is how a replica learns about changes
/// other replicas committed, and how a failed update after a commit is retried.
pub fn spawn(
    store: Store,
    index: Arc<SearchIndex>,
    interval: Duration,
    shutdown: CancellationToken,
) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(interval) => {}
            }
            if let Err(error) = catch_up(&store, &index).await {
                tracing::warn!(error = %error, "search index catch-up failed");
            }
        }
    });
}

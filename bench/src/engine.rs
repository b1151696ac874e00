//! The database engines' own speed, measured in the same run as the platform, so the platform's
//! figures can be read as a share of what the engine allows: single-row autocommit inserts and
//! inserts batched 100 to a transaction, on SQLite outside sqlx (rusqlite, one thread), on
//! SQLite through sqlx as the services open it (the platform's `Database`: WAL,
//! `synchronous=NORMAL`, one writer connection), and on PostgreSQL through a pool of the size
//! the services use.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aftercare_platform::db::{Database, PoolSettings};
use anyhow::Context as _;

/// Rows a batched transaction inserts.
pub const BATCH: usize = 100;

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS bench_rows (
    id TEXT PRIMARY KEY,
    n BIGINT NOT NULL,
    body TEXT NOT NULL
)";

/// A row of about the size of a small ticket's text.
fn body(n: u64) -> String {
    format!(
        "{n:08} Since last week the washing machine stops after ten minutes and shows E21; \
         the customer has already cleaned the filter and restarted it twice without success."
    )
}

fn row_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Rows per second of single-row autocommit inserts (`batch` 1) or of transactions of
/// `batch` rows, on SQLite at `path` through rusqlite from one thread, for `duration`.
pub fn rusqlite_inserts(path: &Path, batch: usize, duration: Duration) -> anyhow::Result<f64> {
    let mut conn = rusqlite::Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute(CREATE_TABLE, [])?;
    let insert = "INSERT INTO bench_rows (id, n, body) VALUES (?1, ?2, ?3)";
    let start = Instant::now();
    let mut rows = 0u64;
    while start.elapsed() < duration {
        if batch <= 1 {
            conn.prepare_cached(insert)?.execute(rusqlite::params![
                row_id(),
                rows as i64,
                body(rows)
            ])?;
            rows += 1;
        } else {
            let tx = conn.transaction()?;
            {
                let mut statement = tx.prepare_cached(insert)?;
                for _ in 0..batch {
                    statement.execute(rusqlite::params![row_id(), rows as i64, body(rows)])?;
                    rows += 1;
                }
            }
            tx.commit()?;
        }
    }
    Ok(rows as f64 / start.elapsed().as_secs_f64())
}

/// Opens `url` as the services do (the platform's `Database`, default pool settings) with the
/// bench table.
pub async fn open(url: &str) -> anyhow::Result<Database> {
    let db = Database::open(url, PoolSettings::default())
        .await
        .with_context(|| format!("opening {}", aftercare_platform::db::redact(url)))?;
    sqlx::query(CREATE_TABLE).execute(db.writer()).await?;
    Ok(db)
}

/// Rows per second through sqlx: `tasks` concurrent tasks, each inserting one row per
/// statement in autocommit (`batch` 1) or `batch` rows per transaction, for `duration`.
pub async fn sqlx_inserts(
    db: &Database,
    tasks: usize,
    batch: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    let rows = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..tasks.max(1) {
        let db = db.clone();
        let rows = rows.clone();
        workers.push(tokio::spawn(async move {
            let insert = "INSERT INTO bench_rows (id, n, body) VALUES ($1, $2, $3)";
            while start.elapsed() < duration {
                if batch <= 1 {
                    let n = rows.fetch_add(1, Ordering::Relaxed);
                    sqlx::query(insert)
                        .bind(row_id())
                        .bind(n as i64)
                        .bind(body(n))
                        .execute(db.writer())
                        .await?;
                } else {
                    let mut tx = db.begin().await?;
                    for _ in 0..batch {
                        let n = rows.fetch_add(1, Ordering::Relaxed);
                        sqlx::query(insert)
                            .bind(row_id())
                            .bind(n as i64)
                            .bind(body(n))
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                }
            }
            Ok::<_, sqlx::Error>(())
        }));
    }
    for worker in workers {
        worker.await??;
    }
    Ok(rows.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rusqlite_rows_are_counted_and_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("engine.db");
        let rate = rusqlite_inserts(&path, BATCH, Duration::from_millis(200)).unwrap();
        assert!(rate > 0.0);
        let conn = rusqlite::Connection::open(&path).unwrap();
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM bench_rows", [], |row| row.get(0))
            .unwrap();
        // Whole batches only: every counted row is in the table.
        assert!(rows > 0 && rows % BATCH as i64 == 0, "{rows}");
    }

    #[tokio::test]
    async fn sqlx_rows_are_counted_and_written() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("engine.db").display());
        let db = open(&url).await.unwrap();
        let rate = sqlx_inserts(&db, 4, 1, Duration::from_millis(200))
            .await
            .unwrap();
        assert!(rate > 0.0);
        let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM bench_rows")
            .fetch_one(db.reader())
            .await
            .unwrap();
        assert!(rows > 0);
    }
}

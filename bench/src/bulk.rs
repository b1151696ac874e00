//! Tickets loaded in bulk straight into the tickets service's SQLite database (the platform
//! stopped), to measure reads at 10,000 and 1,000,000 tickets without creating them through
//! the API for hours.
//!
//! Each loaded row is a copy of a ticket the API created (a template), with its own id,
//! number and creation time, so every column holds what the service itself writes, whatever
//! the schema of `services/tickets/migrations` is today. Loaded tickets are spread over the
//! year before the template, have no request id and no pending SLA check (the sweep has
//! nothing to do for them), and the ticket counter moves past them.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use uuid::{NoContext, Timestamp, Uuid};

/// Rows per transaction while loading.
const CHUNK: u64 = 50_000;
/// How far back the loaded tickets reach, microseconds (one year).
const SPAN_MICROS: i64 = 365 * 24 * 3_600 * 1_000_000;
/// At most this many tickets are kept for reads to pick from.
const SAMPLE: usize = 65_536;

/// What a load did.
#[derive(Debug)]
pub struct Loaded {
    /// Tickets in the table afterwards.
    pub total: u64,
    /// Tickets inserted by this load.
    pub inserted: u64,
    /// How long it took.
    pub elapsed: Duration,
    /// Names (`tickets/…`) of tickets evenly spread over the table, for reads.
    pub sample: Vec<String>,
}

/// Fills the tickets table of the database at `path` up to `total` tickets, copying the
/// ticket `template` (its id, without `tickets/`).
pub fn fill(path: &Path, template: &str, total: u64) -> anyhow::Result<Loaded> {
    let started = Instant::now();
    let mut conn =
        rusqlite::Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    let existing: i64 = conn.query_row("SELECT count(*) FROM tickets", [], |row| row.get(0))?;
    let existing = existing as u64;
    let to_insert = total.saturating_sub(existing);
    let template_time: i64 = conn
        .query_row(
            "SELECT create_time FROM tickets WHERE id = ?1",
            [template],
            |row| row.get(0),
        )
        .with_context(|| format!("the template ticket {template} is not in the database"))?;
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('tickets') ORDER BY cid")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    for required in ["id", "number", "request_id", "create_time", "update_time"] {
        if !columns.iter().any(|c| c == required) {
            bail!("the tickets table has no `{required}` column: the loader needs updating");
        }
    }
    let values: Vec<&str> = columns
        .iter()
        .map(|column| match column.as_str() {
            "id" => "?1",
            "number" => "?2",
            "create_time" | "update_time" => "?3",
            "request_id" | "sla_next_check" => "NULL",
            other => other,
        })
        .collect();
    let insert = format!(
        "INSERT INTO tickets ({}) SELECT {} FROM tickets WHERE id = ?4",
        columns.join(", "),
        values.join(", ")
    );
    let first_number: i64 =
        conn.query_row("SELECT value FROM ticket_counter WHERE id = 1", [], |row| {
            row.get(0)
        })?;
    let step = (SPAN_MICROS / to_insert.max(1) as i64).max(1);
    let mut done = 0u64;
    while done < to_insert {
        let tx = conn.transaction()?;
        {
            let mut statement = tx.prepare_cached(&insert)?;
            let end = (done + CHUNK).min(to_insert);
            for index in done..end {
                let micros = template_time - (to_insert - index) as i64 * step;
                let id = Uuid::new_v7(Timestamp::from_unix(
                    NoContext,
                    (micros.div_euclid(1_000_000)) as u64,
                    (micros.rem_euclid(1_000_000) * 1_000) as u32,
                ))
                .to_string();
                let number = first_number + 1 + index as i64;
                let inserted =
                    statement.execute(rusqlite::params![id, number, micros, template])?;
                if inserted != 1 {
                    bail!("the template ticket {template} disappeared");
                }
            }
            done = end;
        }
        tx.commit()?;
    }
    conn.execute(
        "UPDATE ticket_counter SET value = ?1 WHERE id = 1",
        [first_number + to_insert as i64],
    )?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    // Every k-th row of the whole table, loaded or not, so reads spread over all of it.
    let total = existing + to_insert;
    let every = (total / SAMPLE as u64).max(1) as i64;
    let sample = conn
        .prepare("SELECT id FROM tickets WHERE rowid % ?1 = 0 LIMIT ?2")?
        .query_map(rusqlite::params![every, SAMPLE as i64], |row| {
            row.get::<_, String>(0)
        })?
        .map(|id| id.map(|id| format!("tickets/{id}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Loaded {
        total,
        inserted: to_insert,
        elapsed: started.elapsed(),
        sample,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table shaped like the service's (the loader reads the columns, whatever they are).
    fn database(dir: &Path) -> std::path::PathBuf {
        let path = dir.join("tickets.db");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE ticket_counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL);
             INSERT INTO ticket_counter VALUES (1, 1);
             CREATE TABLE tickets (id TEXT PRIMARY KEY, number INTEGER NOT NULL UNIQUE,
                 request_id TEXT UNIQUE, subject TEXT NOT NULL, sla_next_check BIGINT,
                 create_time BIGINT NOT NULL, update_time BIGINT NOT NULL);
             INSERT INTO tickets VALUES ('0190f0a0-0000-7000-8000-000000000001', 1, 'r1',
                 'Oven is cold', 99, 1700000000000000, 1700000000000000);",
        )
        .unwrap();
        path
    }

    #[test]
    fn the_table_is_filled_with_copies_of_the_template_up_to_the_total() {
        let dir = tempfile::tempdir().unwrap();
        let path = database(dir.path());
        let template = "0190f0a0-0000-7000-8000-000000000001";
        let loaded = fill(&path, template, 1_000).unwrap();
        assert_eq!((loaded.total, loaded.inserted), (1_000, 999));
        let conn = rusqlite::Connection::open(&path).unwrap();
        let (count, distinct, max_number, newest, copies): (i64, i64, i64, i64, i64) = conn
            .query_row(
                "SELECT count(*), count(DISTINCT number), max(number), max(create_time),
                        sum(subject = 'Oven is cold' AND request_id IS NULL
                            AND sla_next_check IS NULL)
                 FROM tickets",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap();
        assert_eq!((count, distinct, max_number), (1_000, 1_000, 1_000));
        assert_eq!(newest, 1_700_000_000_000_000, "loaded tickets are older");
        assert_eq!(copies, 999);
        let counter: i64 = conn
            .query_row("SELECT value FROM ticket_counter", [], |r| r.get(0))
            .unwrap();
        assert_eq!(counter, 1_000, "the next ticket gets a free number");
        // Every sampled name is a ticket, and the sample reaches over the table.
        assert_eq!(loaded.sample.len(), 1_000);
        for name in &loaded.sample {
            let id = name.strip_prefix("tickets/").unwrap();
            let found: i64 = conn
                .query_row("SELECT count(*) FROM tickets WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(found, 1, "{name}");
        }
        // A second fill to the same total adds nothing, and still has tickets to read.
        let again = fill(&path, template, 1_000).unwrap();
        assert_eq!((again.inserted, again.sample.len()), (0, 1_000));
    }

    #[test]
    fn a_missing_template_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = database(dir.path());
        let err = fill(&path, "no-such-ticket", 10).unwrap_err();
        assert!(err.to_string().contains("template"), "{err:#}");
    }
}

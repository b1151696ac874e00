//! The events module against real databases (SQLite and PostgreSQL) and the real local NATS
//! JetStream server.
//!
//! PostgreSQL and NATS tests are skipped with a notice when the server is unreachable, unless
//! `AFTERCARE_REQUIRE_SERVICES=1`, in which case they fail.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aftercare_platform::db::{Database, Migrations};
use aftercare_platform::events::{
    self, Event, EventBus, EventHandler, Handled, InProcessBus, JetStreamBus, JetStreamSettings,
    Relay, SubscriptionFilter,
};
use aftercare_platform::testing::{self, TestDatabase};
use async_trait::async_trait;
use futures::StreamExt as _;
use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use sqlx::migrate::Migrator;
use sqlx::{Any, Row as _, Transaction};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::layer::SubscriberExt as _;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Harness: the platform's (`aftercare_platform::testing`), plus this file's tables.

static NO_MIGRATIONS: Migrator = Migrator::DEFAULT;
const MIGRATIONS: Migrations = Migrations {
    sqlite: &NO_MIGRATIONS,
    postgres: &NO_MIGRATIONS,
};

/// Connects to `test_db` and creates the tables these tests write.
async fn with_tables(test_db: &TestDatabase) -> Database {
    let db = test_db.connect(MIGRATIONS).await;
    for statement in [
        "CREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY, body TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS seen (consumer TEXT NOT NULL, event_id TEXT NOT NULL, \
         position BIGINT NOT NULL)",
    ] {
        sqlx::query(statement)
            .execute(db.writer())
            .await
            .expect("create test table");
    }
    db
}

/// A JetStream bus on a stream and subject prefix of its own.
async fn jetstream_bus() -> Option<JetStreamBus> {
    let url = testing::nats_url().await?;
    let unique = Uuid::now_v7().simple().to_string();
    let settings = JetStreamSettings {
        stream: format!("AFTERCARE_TEST_{unique}"),
        subject_prefix: format!("aftercare_test_{unique}"),
        max_age: Duration::from_secs(3600),
        ack_wait: Duration::from_secs(5),
        ..JetStreamSettings::default()
    };
    Some(
        JetStreamBus::connect(&url, settings)
            .await
            .expect("connect to jetstream"),
    )
}

async fn delete_stream(bus: &JetStreamBus) {
    bus.context()
        .delete_stream(&bus.settings().stream)
        .await
        .expect("delete the test stream");
}

/// Runs a test body on a fresh SQLite database and on a fresh PostgreSQL database.
macro_rules! on_both_databases {
    ($($name:ident => $body:ident;)*) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let db = aftercare_platform::testing::TestDatabase::sqlite();
                super::$body(&db).await;
            }

            #[tokio::test]
            async fn postgres() {
                let Some(db) = aftercare_platform::testing::TestDatabase::postgres().await else {
                    return;
                };
                super::$body(&db).await;
            }
        }
    )*};
}

/// Waits until `check` holds, failing after 10 seconds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    testing::poll_until(what, Duration::from_secs(10), || {
        let holds = check();
        async move { holds.await.then_some(()) }
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// A payload and handlers.

/// A payload message for these tests.
#[derive(Clone, PartialEq, prost::Message)]
struct NoteAdded {
    #[prost(string, tag = "1")]
    note_id: String,
    #[prost(string, tag = "2")]
    body: String,
}

impl prost::Name for NoteAdded {
    const NAME: &'static str = "NoteAdded";
    const PACKAGE: &'static str = "aftercare.test.v1";
}

/// Another payload, to test filters.
#[derive(Clone, PartialEq, prost::Message)]
struct NoteRemoved {
    #[prost(string, tag = "1")]
    note_id: String,
}

impl prost::Name for NoteRemoved {
    const NAME: &'static str = "NoteRemoved";
    const PACKAGE: &'static str = "aftercare.test.v1";
}

/// Adds a note and its event in one transaction; commits or rolls back.
async fn add_note(db: &Database, body: &str, commit: bool) -> Event {
    let mut tx = db.begin().await.expect("begin");
    let note_id = Uuid::now_v7().to_string();
    sqlx::query("INSERT INTO notes (id, body) VALUES ($1, $2)")
        .bind(&note_id)
        .bind(body)
        .execute(&mut *tx)
        .await
        .expect("insert note");
    let payload = NoteAdded {
        note_id: note_id.clone(),
        body: body.to_owned(),
    };
    let event = events::append(&mut tx, "notes", &format!("notes/{note_id}"), &payload)
        .await
        .expect("append event");
    if commit {
        tx.commit().await.expect("commit");
    } else {
        tx.rollback().await.expect("rollback");
    }
    event
}

async fn count(db: &Database, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(db.reader())
        .await
        .expect("count")
        .try_get::<i64, _>(0)
        .expect("a count")
}

async fn counter(db: &Database, name: &str) -> i64 {
    sqlx::query("SELECT value FROM counters WHERE name = $1")
        .bind(name)
        .fetch_optional(db.reader())
        .await
        .expect("read counter")
        .map_or(0, |row| row.try_get::<i64, _>("value").expect("value"))
}

/// Increments the counter named after the consumer, once per handled event.
struct CountingHandler {
    counter: String,
}

#[async_trait]
impl EventHandler for CountingHandler {
    async fn handle(&self, tx: &mut Transaction<'_, Any>, _event: &Event) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO counters (name, value) VALUES ($1, 1)
             ON CONFLICT (name) DO UPDATE SET value = counters.value + 1",
        )
        .bind(&self.counter)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

/// Records the order in which a consumer sees events.
struct RecordingHandler {
    consumer: String,
    position: AtomicU32,
}

impl RecordingHandler {
    fn new(consumer: &str) -> Self {
        Self {
            consumer: consumer.to_owned(),
            position: AtomicU32::new(0),
        }
    }
}

#[async_trait]
impl EventHandler for RecordingHandler {
    async fn handle(&self, tx: &mut Transaction<'_, Any>, event: &Event) -> anyhow::Result<()> {
        let position = i64::from(self.position.fetch_add(1, Ordering::SeqCst));
        sqlx::query("INSERT INTO seen (consumer, event_id, position) VALUES ($1, $2, $3)")
            .bind(&self.consumer)
            .bind(&event.id)
            .bind(position)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

async fn seen(db: &Database, consumer: &str) -> Vec<String> {
    sqlx::query("SELECT event_id FROM seen WHERE consumer = $1 ORDER BY position")
        .bind(consumer)
        .fetch_all(db.reader())
        .await
        .expect("read seen")
        .iter()
        .map(|row| row.try_get::<String, _>("event_id").expect("event id"))
        .collect()
}

/// Fails its first `failures` calls, then counts like [`CountingHandler`].
struct FlakyHandler {
    failures: u32,
    calls: Arc<AtomicU32>,
    inner: CountingHandler,
}

#[async_trait]
impl EventHandler for FlakyHandler {
    async fn handle(&self, tx: &mut Transaction<'_, Any>, event: &Event) -> anyhow::Result<()> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        // The counter is written first, so a failure must roll it back.
        self.inner.handle(tx, event).await?;
        if call < self.failures {
            anyhow::bail!("simulated failure on call {call}");
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Outbox, relay and idempotent consumer, on both databases.

on_both_databases! {
    a_change_and_its_event_commit_together => change_and_event_commit_together;
    a_rolled_back_change_leaves_no_event => rolled_back_change_leaves_no_event;
    an_event_committed_but_not_relayed_is_delivered_after_a_restart =>
        event_committed_but_not_relayed_is_delivered_after_restart;
    a_spawned_relay_publishes_what_a_crash_left_pending =>
        spawned_relay_publishes_what_a_crash_left_pending;
    an_event_delivered_twice_is_applied_once => event_delivered_twice_is_applied_once;
    a_failed_handler_leaves_no_trace_and_the_retry_applies =>
        failed_handler_leaves_no_trace_and_retry_applies;
    the_relay_publishes_in_order_in_batches_and_marks_rows =>
        relay_publishes_in_order_in_batches_and_marks_rows;
}

async fn change_and_event_commit_together(test_db: &TestDatabase) {
    let db = with_tables(test_db).await;
    let event = add_note(&db, "hello", true).await;

    assert_eq!(count(&db, "SELECT COUNT(*) FROM notes").await, 1);
    let row = sqlx::query("SELECT id, event_type, subject, published_at FROM aftercare_outbox")
        .fetch_one(db.reader())
        .await
        .expect("the outbox row");
    assert_eq!(row.try_get::<String, _>("id").unwrap(), event.id);
    assert_eq!(
        row.try_get::<String, _>("event_type").unwrap(),
        "aftercare.test.v1.NoteAdded"
    );
    assert!(
        row.try_get::<String, _>("subject")
            .unwrap()
            .starts_with("notes/")
    );
    assert_eq!(row.try_get::<Option<i64>, _>("published_at").unwrap(), None);

    let payload: NoteAdded = events::decode_payload(&event).expect("payload");
    assert_eq!(payload.body, "hello");
    assert_eq!(event.source, "notes");
    assert!(Uuid::parse_str(&event.id).is_ok_and(|id| id.get_version_num() == 7));
}

async fn rolled_back_change_leaves_no_event(test_db: &TestDatabase) {
    let db = with_tables(test_db).await;
    add_note(&db, "never", false).await;

    assert_eq!(count(&db, "SELECT COUNT(*) FROM notes").await, 0);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM aftercare_outbox").await, 0);
}

async fn event_committed_but_not_relayed_is_delivered_after_restart(test_db: &TestDatabase) {
    // Before the "crash": the change commits, nothing is relayed.
    let event = {
        let db = with_tables(test_db).await;
        let _bus = InProcessBus::new();
        let event = add_note(&db, "survives", true).await;
        db.close().await;
        event
    };

    // After the restart: a new database handle, bus, consumer and relay.
    let db = with_tables(test_db).await;
    let bus: Arc<dyn EventBus> = Arc::new(InProcessBus::new());
    let cancel = CancellationToken::new();
    let consumer = events::spawn_consumer(
        db.clone(),
        Arc::clone(&bus),
        "restarted",
        SubscriptionFilter::all(),
        RecordingHandler::new("restarted"),
        cancel.clone(),
    )
    .await
    .expect("subscribe");
    let relay = Relay::new(db.clone(), bus, 16, Duration::from_secs(60));

    assert_eq!(relay.relay_once().await.expect("relay"), 1);
    assert_eq!(seen(&db, "restarted").await, vec![event.id.clone()]);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM aftercare_outbox WHERE published_at IS NULL"
        )
        .await,
        0
    );
    cancel.cancel();
    consumer.await.expect("consumer stops");
}

async fn spawned_relay_publishes_what_a_crash_left_pending(test_db: &TestDatabase) {
    let db = with_tables(test_db).await;
    let pending = add_note(&db, "left behind", true).await;

    let bus: Arc<dyn EventBus> = Arc::new(InProcessBus::new());
    let cancel = CancellationToken::new();
    let consumer = events::spawn_consumer(
        db.clone(),
        Arc::clone(&bus),
        "spawned",
        SubscriptionFilter::all(),
        RecordingHandler::new("spawned"),
        cancel.clone(),
    )
    .await
    .expect("subscribe");
    // A long interval: only the start-up round and the waker can publish.
    let relay = Relay::new(db.clone(), bus, 16, Duration::from_secs(3600));
    let waker = relay.waker();
    let relay_task = relay.spawn(cancel.clone());

    eventually("the pending event is delivered at start", || async {
        seen(&db, "spawned").await == vec![pending.id.clone()]
    })
    .await;

    let woken = add_note(&db, "after commit", true).await;
    waker.wake();
    eventually("a woken relay publishes at once", || async {
        seen(&db, "spawned").await == vec![pending.id.clone(), woken.id.clone()]
    })
    .await;

    cancel.cancel();
    relay_task.await.expect("relay stops");
    consumer.await.expect("consumer stops");
}

async fn event_delivered_twice_is_applied_once(test_db: &TestDatabase) {
    let db = with_tables(test_db).await;
    let event = add_note(&db, "once", true).await;
    let handler = CountingHandler {
        counter: "once".to_owned(),
    };

    let first = events::handle(&db, "counter", &event, &handler)
        .await
        .unwrap();
    let second = events::handle(&db, "counter", &event, &handler)
        .await
        .unwrap();

    assert_eq!(first, Handled::Applied);
    assert_eq!(second, Handled::Duplicate);
    assert_eq!(counter(&db, "once").await, 1);
    // Another consumer name handles it on its own.
    let other = events::handle(&db, "auditor", &event, &handler)
        .await
        .unwrap();
    assert_eq!(other, Handled::Applied);
    assert_eq!(counter(&db, "once").await, 2);
}

async fn failed_handler_leaves_no_trace_and_retry_applies(test_db: &TestDatabase) {
    let db = with_tables(test_db).await;
    let event = add_note(&db, "flaky", true).await;
    let handler = FlakyHandler {
        failures: 1,
        calls: Arc::new(AtomicU32::new(0)),
        inner: CountingHandler {
            counter: "flaky".to_owned(),
        },
    };

    let failed = events::handle(&db, "flaky", &event, &handler).await;
    assert!(
        matches!(failed, Err(events::EventError::Handler(_))),
        "{failed:?}"
    );
    assert_eq!(counter(&db, "flaky").await, 0);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM aftercare_inbox").await, 0);

    let retried = events::handle(&db, "flaky", &event, &handler)
        .await
        .unwrap();
    assert_eq!(retried, Handled::Applied);
    assert_eq!(counter(&db, "flaky").await, 1);
}

async fn relay_publishes_in_order_in_batches_and_marks_rows(test_db: &TestDatabase) {
    let db = with_tables(test_db).await;
    let mut appended = Vec::new();
    for n in 0..5 {
        appended.push(add_note(&db, &format!("note {n}"), true).await.id);
    }
    let bus: Arc<dyn EventBus> = Arc::new(InProcessBus::new());
    let cancel = CancellationToken::new();
    let consumer = events::spawn_consumer(
        db.clone(),
        Arc::clone(&bus),
        "ordered",
        SubscriptionFilter::all(),
        RecordingHandler::new("ordered"),
        cancel.clone(),
    )
    .await
    .expect("subscribe");
    let relay = Relay::new(db.clone(), bus, 2, Duration::from_secs(60));
    let pending = || {
        count(
            &db,
            "SELECT COUNT(*) FROM aftercare_outbox WHERE published_at IS NULL",
        )
    };

    assert_eq!(relay.relay_once().await.unwrap(), 2);
    assert_eq!(pending().await, 3);
    let marked: Vec<String> =
        sqlx::query("SELECT id FROM aftercare_outbox WHERE published_at IS NOT NULL ORDER BY seq")
            .fetch_all(db.reader())
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get("id").unwrap())
            .collect();
    assert_eq!(marked, appended[..2]);

    assert_eq!(relay.relay_once().await.unwrap(), 2);
    assert_eq!(relay.relay_once().await.unwrap(), 1);
    assert_eq!(relay.relay_once().await.unwrap(), 0);
    assert_eq!(pending().await, 0);
    assert_eq!(seen(&db, "ordered").await, appended);

    cancel.cancel();
    consumer.await.expect("consumer stops");
}

// ---------------------------------------------------------------------------------------------
// The in-process bus.

#[tokio::test]
async fn in_process_bus_fans_out_to_each_consumer_name_and_filters_by_type() {
    let test_db = &TestDatabase::sqlite();
    let db = with_tables(test_db).await;
    let bus: Arc<dyn EventBus> = Arc::new(InProcessBus::new());
    let cancel = CancellationToken::new();
    let everything = events::spawn_consumer(
        db.clone(),
        Arc::clone(&bus),
        "everything",
        SubscriptionFilter::all(),
        RecordingHandler::new("everything"),
        cancel.clone(),
    )
    .await
    .unwrap();
    let removals = events::spawn_consumer(
        db.clone(),
        Arc::clone(&bus),
        "removals",
        SubscriptionFilter::all().with_type::<NoteRemoved>(),
        RecordingHandler::new("removals"),
        cancel.clone(),
    )
    .await
    .unwrap();

    let added = add_note(&db, "to remove", true).await;
    let removed = {
        let mut tx = db.begin().await.unwrap();
        let event = events::append(
            &mut tx,
            "notes",
            "notes/1",
            &NoteRemoved {
                note_id: "1".to_owned(),
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        event
    };
    let relay = Relay::new(db.clone(), Arc::clone(&bus), 16, Duration::from_secs(60));
    // publish returns once every subscribed consumer handled the event.
    assert_eq!(relay.relay_once().await.unwrap(), 2);

    assert_eq!(
        seen(&db, "everything").await,
        vec![added.id.clone(), removed.id.clone()]
    );
    assert_eq!(seen(&db, "removals").await, vec![removed.id.clone()]);
    cancel.cancel();
    everything.await.unwrap();
    removals.await.unwrap();
}

#[tokio::test]
async fn in_process_subscriptions_sharing_a_name_share_the_events() {
    let bus = InProcessBus::new();
    let mut first = bus
        .subscribe("shared", SubscriptionFilter::all())
        .await
        .unwrap();
    let mut second = bus
        .subscribe("shared", SubscriptionFilter::all())
        .await
        .unwrap();
    let event = Event {
        id: Uuid::now_v7().to_string(),
        r#type: "aftercare.test.v1.NoteAdded".to_owned(),
        source: "notes".to_owned(),
        ..Event::default()
    };

    let publisher = {
        let bus = bus.clone();
        let event = event.clone();
        tokio::spawn(async move { bus.publish(&event).await })
    };
    let delivery = tokio::select! {
        Some(delivery) = first.next() => delivery.unwrap(),
        Some(delivery) = second.next() => delivery.unwrap(),
    };
    assert_eq!(delivery.event().id, event.id);
    delivery.ack().await.unwrap();
    publisher
        .await
        .unwrap()
        .expect("published once acknowledged");

    // Nothing else arrives on either subscription.
    let more = tokio::time::timeout(Duration::from_millis(200), async {
        tokio::select! {
            _ = first.next() => {}
            _ = second.next() => {}
        }
    })
    .await;
    assert!(more.is_err(), "the event was delivered twice");
}

#[tokio::test]
async fn in_process_nak_redelivers_and_unsubscribing_fails_the_publish() {
    let bus = InProcessBus::new();
    let mut subscription = bus
        .subscribe("retrying", SubscriptionFilter::all())
        .await
        .unwrap();
    let event = Event {
        id: Uuid::now_v7().to_string(),
        ..Event::default()
    };
    let publisher = {
        let bus = bus.clone();
        let event = event.clone();
        tokio::spawn(async move { bus.publish(&event).await })
    };

    let first = subscription.next().await.unwrap().unwrap();
    assert_eq!(first.attempt(), 1);
    first.nak(Duration::from_millis(10)).await.unwrap();
    let second = subscription.next().await.unwrap().unwrap();
    assert_eq!(
        (second.event().id.as_str(), second.attempt()),
        (event.id.as_str(), 2)
    );
    assert!(!publisher.is_finished(), "publish waits for the consumer");

    // The consumer leaves without handling it: the publish fails, so the relay keeps the row.
    drop(second);
    drop(subscription);
    let outcome = publisher.await.unwrap();
    assert!(
        matches!(outcome, Err(events::EventError::Bus { .. })),
        "{outcome:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// JetStream.

fn event_of<M: prost::Name>(payload: &M, source: &str) -> Event {
    Event {
        id: Uuid::now_v7().to_string(),
        r#type: M::full_name(),
        source: source.to_owned(),
        subject: "notes/1".to_owned(),
        time: None,
        trace_context: HashMap::new(),
        payload: Some(prost_types::Any::from_msg(payload).unwrap()),
    }
}

#[tokio::test]
async fn jetstream_delivers_to_a_durable_consumer_by_type_and_the_ack_sticks() {
    let Some(bus) = jetstream_bus().await else {
        return;
    };
    let added = event_of(
        &NoteAdded {
            note_id: "1".to_owned(),
            body: "hi".to_owned(),
        },
        "notes",
    );
    let removed = event_of(
        &NoteRemoved {
            note_id: "1".to_owned(),
        },
        "notes",
    );
    bus.publish(&added).await.unwrap();
    bus.publish(&removed).await.unwrap();

    // Subscribed after publishing: a durable consumer still receives what the stream holds.
    let filter = SubscriptionFilter::all()
        .with_type::<NoteRemoved>()
        .from_source("notes");
    let mut subscription = bus.subscribe("removals", filter.clone()).await.unwrap();
    let delivery = tokio::time::timeout(Duration::from_secs(5), subscription.next())
        .await
        .expect("a delivery")
        .unwrap()
        .unwrap();
    assert_eq!(delivery.event(), &removed);
    assert_eq!(delivery.attempt(), 1);
    delivery.ack().await.unwrap();

    // The ack sticks: a new subscription of the same durable consumer gets nothing more.
    drop(subscription);
    let mut again = bus.subscribe("removals", filter).await.unwrap();
    let more = tokio::time::timeout(Duration::from_millis(500), again.next()).await;
    assert!(
        more.is_err(),
        "acknowledged event delivered again: {more:?}"
    );
    let info = bus
        .context()
        .get_stream(&bus.settings().stream)
        .await
        .unwrap()
        .consumer_info("removals")
        .await
        .unwrap();
    assert_eq!((info.num_pending, info.num_ack_pending), (0, 0));

    drop(again);
    delete_stream(&bus).await;
}

#[tokio::test]
async fn jetstream_tails_a_source_in_order_from_now_or_after_a_position() {
    let Some(bus) = jetstream_bus().await else {
        return;
    };
    let note = |n: usize, source: &str| {
        event_of(
            &NoteAdded {
                note_id: n.to_string(),
                body: String::new(),
            },
            source,
        )
    };
    let filter = SubscriptionFilter::all().from_source("notes");
    let mut live = bus
        .tail(&filter, events::TailStart::New)
        .await
        .unwrap()
        .expect("jetstream keeps an ordered log");
    assert_eq!(live.pending, 0);
    let mut published = Vec::new();
    for n in 0..4 {
        let mine = note(n, "notes");
        bus.publish(&mine).await.unwrap();
        bus.publish(&note(n, "other")).await.unwrap();
        published.push(mine);
    }
    let mut positions = Vec::new();
    for mine in &published {
        let tailed = tokio::time::timeout(Duration::from_secs(5), live.events.next())
            .await
            .expect("an event")
            .unwrap()
            .unwrap();
        assert_eq!(&tailed.event, mine, "only its source's events, in order");
        positions.push(tailed.position);
    }
    assert!(
        positions.windows(2).all(|p| p[0] < p[1]),
        "positions grow: {positions:?}"
    );

    // From after the second: the two after it, the last one with nothing pending.
    let mut replay = bus
        .tail(&filter, events::TailStart::After(positions[1]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(replay.pending, 2);
    let third = replay.events.next().await.unwrap().unwrap();
    let fourth = replay.events.next().await.unwrap().unwrap();
    assert_eq!(
        (third.position, fourth.position, fourth.pending),
        (positions[2], positions[3], 0)
    );

    // A position older than the stream keeps is refused.
    bus.context()
        .get_stream(&bus.settings().stream)
        .await
        .unwrap()
        .purge()
        .await
        .unwrap();
    let expired = bus
        .tail(&filter, events::TailStart::After(positions[0]))
        .await;
    assert!(
        matches!(expired, Err(events::EventError::Expired { .. })),
        "{expired:?}"
    );
    delete_stream(&bus).await;
}

#[tokio::test]
async fn jetstream_drops_a_duplicate_publish_and_the_consumer_applies_once() {
    let Some(bus) = jetstream_bus().await else {
        return;
    };
    let test_db = &TestDatabase::sqlite();
    let db = with_tables(test_db).await;
    let event = event_of(
        &NoteAdded {
            note_id: "1".to_owned(),
            body: "twice".to_owned(),
        },
        "notes",
    );

    bus.publish(&event).await.unwrap();
    bus.publish(&event).await.unwrap();
    let mut stream = bus
        .context()
        .get_stream(&bus.settings().stream)
        .await
        .unwrap();
    assert_eq!(
        stream.info().await.unwrap().state.messages,
        1,
        "de-duplicated by id"
    );

    // Beyond the duplicate window the consumer's inbox still applies it once.
    let handler = CountingHandler {
        counter: "dedup".to_owned(),
    };
    let mut subscription = bus
        .subscribe("dedup", SubscriptionFilter::all())
        .await
        .unwrap();
    let delivery = subscription.next().await.unwrap().unwrap();
    let outcome = events::handle(&db, "dedup", delivery.event(), &handler)
        .await
        .unwrap();
    assert_eq!(outcome, Handled::Applied);
    let again = events::handle(&db, "dedup", &event, &handler)
        .await
        .unwrap();
    assert_eq!(again, Handled::Duplicate);
    delivery.ack().await.unwrap();
    assert_eq!(counter(&db, "dedup").await, 1);

    drop(subscription);
    delete_stream(&bus).await;
}

#[tokio::test]
async fn jetstream_redelivers_after_a_handler_failure_then_applies_once() {
    let Some(bus) = jetstream_bus().await else {
        return;
    };
    let test_db = &TestDatabase::sqlite();
    let db = with_tables(test_db).await;
    let bus_dyn: Arc<dyn EventBus> = Arc::new(bus.clone());
    let calls = Arc::new(AtomicU32::new(0));
    let cancel = CancellationToken::new();
    let consumer = events::spawn_consumer(
        db.clone(),
        Arc::clone(&bus_dyn),
        "flaky",
        SubscriptionFilter::all().with_type::<NoteAdded>(),
        FlakyHandler {
            failures: 2,
            calls: Arc::clone(&calls),
            inner: CountingHandler {
                counter: "flaky".to_owned(),
            },
        },
        cancel.clone(),
    )
    .await
    .unwrap();

    // Through the outbox and the relay, as a service would.
    add_note(&db, "retry me", true).await;
    let relay = Relay::new(db.clone(), bus_dyn, 16, Duration::from_secs(60));
    assert_eq!(relay.relay_once().await.unwrap(), 1);

    eventually("the event is applied after two failures", || async {
        counter(&db, "flaky").await == 1
    })
    .await;
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(counter(&db, "flaky").await, 1, "applied once");

    cancel.cancel();
    consumer.await.unwrap();
    delete_stream(&bus).await;
}

/// Writes like [`CountingHandler`], tells the test it is inside its transaction, then never
/// returns: the process it runs in is about to die.
struct CrashingHandler {
    inner: CountingHandler,
    inside: Arc<tokio::sync::Notify>,
}

#[async_trait]
impl EventHandler for CrashingHandler {
    async fn handle(&self, tx: &mut Transaction<'_, Any>, event: &Event) -> anyhow::Result<()> {
        self.inner.handle(tx, event).await?;
        self.inside.notify_one();
        std::future::pending().await
    }
}

/// Writes like [`CountingHandler`], then panics on its first call.
struct PanickingHandler {
    calls: Arc<AtomicU32>,
    inner: CountingHandler,
}

#[async_trait]
impl EventHandler for PanickingHandler {
    async fn handle(&self, tx: &mut Transaction<'_, Any>, event: &Event) -> anyhow::Result<()> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.handle(tx, event).await?;
        assert!(call > 0, "simulated crash inside the handler's transaction");
        Ok(())
    }
}

#[tokio::test]
async fn jetstream_redelivers_an_event_whose_consumer_died_mid_handler_and_applies_it_once() {
    let Some(bus) = jetstream_bus().await else {
        return;
    };
    // The publishing service and the consuming one, each on its own database (as in a
    // cluster: the consumer's open transaction must not hold up the publisher's relay).
    let (producer_db, consumer_db) = (&TestDatabase::sqlite(), &TestDatabase::sqlite());
    let producer = with_tables(producer_db).await;
    let db = with_tables(consumer_db).await;
    let bus_dyn: Arc<dyn EventBus> = Arc::new(bus.clone());
    let inside = Arc::new(tokio::sync::Notify::new());
    let crashing = events::spawn_consumer(
        db.clone(),
        Arc::clone(&bus_dyn),
        "crashy",
        SubscriptionFilter::all().with_type::<NoteAdded>(),
        CrashingHandler {
            inner: CountingHandler {
                counter: "crashy".to_owned(),
            },
            inside: Arc::clone(&inside),
        },
        CancellationToken::new(),
    )
    .await
    .unwrap();
    add_note(&producer, "crash while handling me", true).await;
    let relay = Relay::new(
        producer.clone(),
        Arc::clone(&bus_dyn),
        16,
        Duration::from_secs(60),
    );
    assert_eq!(relay.relay_once().await.unwrap(), 1);
    tokio::time::timeout(Duration::from_secs(10), inside.notified())
        .await
        .expect("the handler runs");

    // The consumer dies with its write uncommitted and its delivery unacknowledged, as its
    // process would on SIGKILL: nothing of it remains.
    crashing.abort();
    assert!(crashing.await.unwrap_err().is_cancelled());
    assert_eq!(counter(&db, "crashy").await, 0);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM aftercare_inbox").await, 0);

    // The consumer comes back (a restarted process) and gets the event again after the ack
    // wait: applied once.
    let cancel = CancellationToken::new();
    let restarted = events::spawn_consumer(
        db.clone(),
        bus_dyn,
        "crashy",
        SubscriptionFilter::all().with_type::<NoteAdded>(),
        CountingHandler {
            counter: "crashy".to_owned(),
        },
        cancel.clone(),
    )
    .await
    .unwrap();
    eventually("the redelivered event is applied", || async {
        counter(&db, "crashy").await == 1
    })
    .await;
    assert_eq!(count(&db, "SELECT COUNT(*) FROM aftercare_inbox").await, 1);

    cancel.cancel();
    restarted.await.unwrap();
    delete_stream(&bus).await;
}

#[tokio::test]
async fn jetstream_a_handler_that_panics_mid_transaction_gets_the_event_again_and_the_consumer_lives_on()
 {
    let Some(bus) = jetstream_bus().await else {
        return;
    };
    let test_db = &TestDatabase::sqlite();
    let db = with_tables(test_db).await;
    let bus_dyn: Arc<dyn EventBus> = Arc::new(bus.clone());
    let calls = Arc::new(AtomicU32::new(0));
    let cancel = CancellationToken::new();
    let consumer = events::spawn_consumer(
        db.clone(),
        Arc::clone(&bus_dyn),
        "panicky",
        SubscriptionFilter::all().with_type::<NoteAdded>(),
        PanickingHandler {
            calls: Arc::clone(&calls),
            inner: CountingHandler {
                counter: "panicky".to_owned(),
            },
        },
        cancel.clone(),
    )
    .await
    .unwrap();
    let relay = Relay::new(db.clone(), bus_dyn, 16, Duration::from_secs(60));

    add_note(&db, "panic while handling me", true).await;
    assert_eq!(relay.relay_once().await.unwrap(), 1);
    eventually("the event is applied after the panic", || async {
        counter(&db, "panicky").await == 1
    })
    .await;
    assert_eq!(calls.load(Ordering::SeqCst), 2, "one panic, one redelivery");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM aftercare_inbox").await, 1);

    // The consumer survived its handler's panic: the next event is handled too.
    add_note(&db, "and me", true).await;
    assert_eq!(relay.relay_once().await.unwrap(), 1);
    eventually("the next event is applied", || async {
        counter(&db, "panicky").await == 2
    })
    .await;
    assert_eq!(count(&db, "SELECT COUNT(*) FROM aftercare_inbox").await, 2);

    cancel.cancel();
    consumer.await.unwrap();
    delete_stream(&bus).await;
}

#[tokio::test]
async fn jetstream_delivers_an_event_left_pending_by_a_crash_after_restart() {
    let Some(bus) = jetstream_bus().await else {
        return;
    };
    let test_db = &TestDatabase::sqlite();
    let event = {
        let db = with_tables(test_db).await;
        let event = add_note(&db, "crash", true).await;
        db.close().await;
        event
    };

    let db = with_tables(test_db).await;
    let bus_dyn: Arc<dyn EventBus> = Arc::new(bus.clone());
    let relay = Relay::new(
        db.clone(),
        Arc::clone(&bus_dyn),
        16,
        Duration::from_secs(60),
    );
    assert_eq!(relay.relay_once().await.unwrap(), 1);
    let cancel = CancellationToken::new();
    let consumer = events::spawn_consumer(
        db.clone(),
        bus_dyn,
        "late",
        SubscriptionFilter::all(),
        RecordingHandler::new("late"),
        cancel.clone(),
    )
    .await
    .unwrap();
    eventually("the event arrives", || async {
        seen(&db, "late").await == vec![event.id.clone()]
    })
    .await;

    cancel.cancel();
    consumer.await.unwrap();
    delete_stream(&bus).await;
}

// ---------------------------------------------------------------------------------------------
// Trace context.

/// Records the trace id of the span the handler runs in.
struct TraceRecorder(std::sync::Mutex<Option<opentelemetry::trace::TraceId>>);

#[async_trait]
impl EventHandler for TraceRecorder {
    async fn handle(&self, _tx: &mut Transaction<'_, Any>, _event: &Event) -> anyhow::Result<()> {
        let context = tracing::Span::current().context();
        *self.0.lock().unwrap() = Some(context.span().span_context().trace_id());
        Ok(())
    }
}

#[tokio::test]
async fn an_event_carries_the_trace_of_its_cause_to_its_handler() {
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("events-test")));
    let _guard = tracing::subscriber::set_default(subscriber);

    let test_db = &TestDatabase::sqlite();
    let db = with_tables(test_db).await;
    let span = tracing::info_span!("create_note");
    let trace_id = span.context().span().span_context().trace_id();
    let event = add_note(&db, "traced", true).instrument(span).await;

    let traceparent = event
        .trace_context
        .get("traceparent")
        .expect("a traceparent in the envelope");
    assert!(
        traceparent.contains(&trace_id.to_string()),
        "{traceparent} is not in trace {trace_id}"
    );

    let recorder = TraceRecorder(std::sync::Mutex::new(None));
    events::handle(&db, "tracer", &event, &recorder)
        .await
        .unwrap();
    assert_eq!(*recorder.0.lock().unwrap(), Some(trace_id));
}

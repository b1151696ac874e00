//! The interaction timeline, projected from other services' events.

use aftercare_customers::{TIMELINE_CONSUMER, TimelineProjection};
use aftercare_platform::events::{Event, EventBus as _, Handled, handle};
use aftercare_platform::testing::TestDatabase;
use aftercare_platform::time::to_timestamp;
use aftercare_proto::aftercare::common::v1::Channel;
use aftercare_proto::aftercare::customers::v1 as pb;
use aftercare_proto::aftercare::events::v1::{FeedbackItemReceived, TicketCreated, TicketSnapshot};
use prost::Name;
use tonic::Code;

use super::harness::{App, admin, agent, as_customer, bad_fields, customer, lead, spawn_app};

aftercare_platform::on_both_databases!(
    an_event_delivered_twice_is_applied_once,
    events_on_the_bus_reach_the_timeline_newest_first_with_pages_and_filters,
    a_merge_moves_the_timeline_and_later_events_follow_the_survivor,
    the_timeline_is_read_as_customers_are,
    a_customer_other_services_refer_to_cannot_be_deleted,
);

fn event<M: Name>(source: &str, subject: &str, micros: i64, payload: &M) -> Event {
    Event {
        id: uuid::Uuid::now_v7().to_string(),
        r#type: M::full_name(),
        source: source.into(),
        subject: subject.into(),
        time: Some(to_timestamp(micros)),
        trace_context: Default::default(),
        payload: Some(prost_types::Any::from_msg(payload).unwrap()),
    }
}

fn ticket_created(customer: &str, number: i64, micros: i64) -> Event {
    let name = format!("tickets/{}", uuid::Uuid::now_v7());
    let payload = TicketCreated {
        ticket: Some(TicketSnapshot {
            name: name.clone(),
            number,
            customer: customer.into(),
            channel: Channel::Phone as i32,
            region: "cn-east".into(),
            subject: format!("Washer leaks water #{number}"),
            ..Default::default()
        }),
        ..Default::default()
    };
    event("tickets", &name, micros, &payload)
}

async fn timeline(app: &App, customer: &str) -> Vec<pb::TimelineEntry> {
    app.client
        .clone()
        .list_timeline_entries(app.req(
            &admin(),
            pb::ListTimelineEntriesRequest {
                parent: customer.into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .timeline_entries
}

const T0: i64 = 1_750_000_000_000_000;

async fn an_event_delivered_twice_is_applied_once(db: TestDatabase) {
    let app = spawn_app(db).await;
    let li = app.create(customer("Li Wei")).await;
    let opened = ticket_created(&li.name, 7, T0);
    let db = app.service.db();
    let first = handle(db, TIMELINE_CONSUMER, &opened, &TimelineProjection)
        .await
        .unwrap();
    let second = handle(db, TIMELINE_CONSUMER, &opened, &TimelineProjection)
        .await
        .unwrap();
    assert_eq!((first, second), (Handled::Applied, Handled::Duplicate));
    // Even past the inbox (another consumer name), one event makes one entry.
    handle(db, "another-consumer", &opened, &TimelineProjection)
        .await
        .unwrap();
    let entries = timeline(&app, &li.name).await;
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(entry.event_id, opened.id);
    assert_eq!(entry.summary, "Ticket #7 opened: Washer leaks water #7");
    assert_eq!(entry.source_service, "tickets");
    assert_eq!(entry.channel, Channel::Phone as i32);
    assert_eq!(entry.region, "cn-east");
    assert_eq!(entry.occur_time, Some(to_timestamp(T0)));
    assert!(
        entry
            .name
            .starts_with(&format!("{}/timelineEntries/", li.name))
    );
}

async fn events_on_the_bus_reach_the_timeline_newest_first_with_pages_and_filters(
    db: TestDatabase,
) {
    let app = spawn_app(db).await;
    let li = app.create(customer("Li Wei")).await;
    let bus = app.service.bus();
    for n in 0..5 {
        bus.publish(&ticket_created(&li.name, n, T0 + n * 1_000_000))
            .await
            .unwrap();
    }
    let feedback = FeedbackItemReceived {
        feedback_item: "feedbackItems/1".into(),
        channel: Channel::Web as i32,
        customer: li.name.clone(),
        subject: "Great repair service".into(),
        ..Default::default()
    };
    bus.publish(&event(
        "feedback",
        "feedbackItems/1",
        T0 + 10_000_000,
        &feedback,
    ))
    .await
    .unwrap();
    // Events about customers this service does not know are skipped, not retried forever.
    bus.publish(&ticket_created(
        "customers/0192f0c4-0000-7000-8000-000000000000",
        99,
        T0,
    ))
    .await
    .unwrap();

    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = app
            .client
            .clone()
            .list_timeline_entries(app.req(
                &admin(),
                pb::ListTimelineEntriesRequest {
                    parent: li.name.clone(),
                    page_size: 4,
                    page_token: token,
                    filter: String::new(),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.timeline_entries.into_iter().map(|e| e.summary));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(
        seen,
        [
            "Feedback given: Great repair service",
            "Ticket #4 opened: Washer leaks water #4",
            "Ticket #3 opened: Washer leaks water #3",
            "Ticket #2 opened: Washer leaks water #2",
            "Ticket #1 opened: Washer leaks water #1",
            "Ticket #0 opened: Washer leaks water #0",
        ]
    );
    let filtered = app
        .client
        .clone()
        .list_timeline_entries(app.req(
            &admin(),
            pb::ListTimelineEntriesRequest {
                parent: li.name.clone(),
                filter: r#"source_service = "tickets" AND occur_time >= "2025-06-15T15:06:42Z" AND channel = PHONE"#.into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .timeline_entries;
    assert_eq!(filtered.len(), 3, "{filtered:?}");
    let status = app
        .client
        .clone()
        .list_timeline_entries(app.req(
            &admin(),
            pb::ListTimelineEntriesRequest {
                parent: li.name.clone(),
                filter: "mood = HAPPY".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["filter"]);
}

async fn a_merge_moves_the_timeline_and_later_events_follow_the_survivor(db: TestDatabase) {
    let app = spawn_app(db).await;
    let survivor = app.create(customer("Li Wei")).await;
    let duplicate = app.create(customer("Wei Li")).await;
    let bus = app.service.bus();
    bus.publish(&ticket_created(&survivor.name, 1, T0))
        .await
        .unwrap();
    bus.publish(&ticket_created(&duplicate.name, 2, T0 + 1))
        .await
        .unwrap();
    let merged = app
        .client
        .clone()
        .merge_customers(app.req(
            &lead(),
            pb::MergeCustomersRequest {
                survivor: survivor.name.clone(),
                merged: duplicate.name.clone(),
                survivor_etag: survivor.etag.clone(),
                merged_etag: duplicate.etag.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(merged.timeline_entries_moved, 1);
    assert!(timeline(&app, &duplicate.name).await.is_empty());
    bus.publish(&ticket_created(&duplicate.name, 3, T0 + 2))
        .await
        .unwrap();
    let numbers: Vec<String> = timeline(&app, &survivor.name)
        .await
        .into_iter()
        .map(|e| e.summary)
        .collect();
    assert_eq!(
        numbers,
        [
            "Ticket #3 opened: Washer leaks water #3",
            "Ticket #2 opened: Washer leaks water #2",
            "Ticket #1 opened: Washer leaks water #1",
        ]
    );
}

async fn the_timeline_is_read_as_customers_are(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut li = customer("Li Wei");
    li.region = "cn-east".into();
    let li = app.create(li).await;
    let other = app.create(customer("Other")).await;
    app.service
        .bus()
        .publish(&ticket_created(&li.name, 1, T0))
        .await
        .unwrap();
    let list = |principal, parent: &str| {
        app.req(
            &principal,
            pb::ListTimelineEntriesRequest {
                parent: parent.into(),
                ..Default::default()
            },
        )
    };
    let mut client = app.client.clone();
    let own = client
        .list_timeline_entries(list(as_customer(&li.name), &li.name))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(own.timeline_entries.len(), 1);
    for (principal, parent) in [
        (as_customer(&other.name), &li.name),
        (agent("eu-west"), &li.name),
    ] {
        let status = client
            .list_timeline_entries(list(principal, parent))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
    }
    assert!(
        client
            .list_timeline_entries(list(agent("cn-east"), &li.name))
            .await
            .is_ok()
    );
}

async fn a_customer_other_services_refer_to_cannot_be_deleted(db: TestDatabase) {
    let app = spawn_app(db).await;
    let li = app.create(customer("Li Wei")).await;
    app.service
        .bus()
        .publish(&ticket_created(&li.name, 1, T0))
        .await
        .unwrap();
    let status = app
        .client
        .clone()
        .delete_customer(app.req(
            &admin(),
            pb::DeleteCustomerRequest {
                name: li.name.clone(),
                etag: li.etag.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(app.get(&li.name).await.is_ok());
}

//! WatchTickets: initial tickets, then live changes of the watched queue only.

use std::time::Duration;

use aftercare_platform::on_both_databases;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::tickets::v1 as pb;
use futures::StreamExt;

use aftercare_platform::auth::Principal;
use aftercare_platform::testing::poll_until;
use aftercare_tickets::WatchLimits;

use super::support::{App, agent, lead, spawn_app, spawn_app_with, ticket};

use pb::TicketChangeType as C;

async fn next(stream: &mut tonic::Streaming<pb::WatchTicketsResponse>) -> pb::WatchTicketsResponse {
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("a change within 5 s")
        .expect("the stream is open")
        .expect("a change, not an error")
}

async fn a_watcher_gets_the_queue_then_its_live_changes_only(db: TestDatabase) {
    let app = spawn_app(db).await;
    let existing = app
        .create(&lead(), ticket(app.name("c1"), "eu-west", "Already there"))
        .await;
    app.create(&lead(), ticket(app.name("c1"), "cn-east", "Other region"))
        .await;
    let mut stream = app
        .client
        .clone()
        .watch_tickets(app.req(
            &agent("a1", "eu-west"),
            pb::WatchTicketsRequest {
                region: "eu-west".into(),
                send_initial: true,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let initial = next(&mut stream).await;
    assert_eq!(initial.change_type, C::Initial as i32);
    assert_eq!(initial.ticket.unwrap().name, existing.name);
    assert_eq!(
        next(&mut stream).await.change_type,
        C::InitialComplete as i32
    );

    app.create(&lead(), ticket(app.name("c1"), "cn-east", "Not watched"))
        .await;
    let created = app
        .create(&lead(), ticket(app.name("c1"), "eu-west", "Watched"))
        .await;
    let change = next(&mut stream).await;
    assert_eq!(change.change_type, C::Created as i32);
    assert_eq!(change.ticket.as_ref().unwrap().name, created.name);
    assert_eq!(change.actor.unwrap().id, "agents/lead");
    assert!(!change.event_id.is_empty());

    let resolved = app
        .client
        .clone()
        .resolve_ticket(app.req(
            &lead(),
            pb::ResolveTicketRequest {
                name: created.name.clone(),
                etag: created.etag.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    assert_eq!(
        resolved.into_inner().ticket.unwrap().status,
        pb::TicketStatus::Resolved as i32
    );
    let change = next(&mut stream).await;
    assert_eq!(change.change_type, C::StatusChanged as i32);
    assert_eq!(change.changes[0].field, "status");
    assert_eq!(change.changes[0].new_value, "RESOLVED");
}

async fn an_assignment_out_of_the_queue_is_sent_so_the_client_can_drop_it(db: TestDatabase) {
    let app = spawn_app(db).await;
    let t = app
        .create(
            &lead(),
            pb::Ticket {
                team: "teams/ovens".into(),
                ..ticket(app.name("c1"), "eu-west", "Oven")
            },
        )
        .await;
    let mut stream = app
        .client
        .clone()
        .watch_tickets(app.req(
            &lead(),
            pb::WatchTicketsRequest {
                team: "teams/ovens".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    app.client
        .clone()
        .assign_ticket(app.req(
            &lead(),
            pb::AssignTicketRequest {
                name: t.name.clone(),
                etag: t.etag.clone(),
                team: "teams/fridges".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    let change = next(&mut stream).await;
    assert_eq!(change.change_type, C::Assigned as i32);
    assert_eq!(change.ticket.unwrap().team, "teams/fridges");
}

async fn customers_cannot_watch_queues(db: TestDatabase) {
    let app = spawn_app(db).await;
    let status = app
        .client
        .clone()
        .watch_tickets(app.req(&app.customer("c1"), pb::WatchTicketsRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
}

async fn watch(
    app: &App,
    principal: &Principal,
) -> Result<tonic::Streaming<pb::WatchTicketsResponse>, tonic::Status> {
    app.client
        .clone()
        .watch_tickets(app.req(
            principal,
            pb::WatchTicketsRequest {
                region: "eu-west".into(),
                ..Default::default()
            },
        ))
        .await
        .map(tonic::Response::into_inner)
}

async fn watch_streams_are_capped_per_principal_and_in_total(db: TestDatabase) {
    let app = spawn_app_with(db, |service| {
        service.with_watch_limits(WatchLimits {
            per_principal: 2,
            total: 3,
        })
    })
    .await;
    let a1 = agent("a1", "eu-west");
    let first = watch(&app, &a1).await.unwrap();
    let _second = watch(&app, &a1).await.unwrap();
    let third = watch(&app, &a1).await.unwrap_err();
    assert_eq!(third.code(), tonic::Code::ResourceExhausted, "{third:?}");
    let _other = watch(&app, &agent("a2", "eu-west")).await.unwrap();
    let over = watch(&app, &agent("a3", "eu-west")).await.unwrap_err();
    assert_eq!(over.code(), tonic::Code::ResourceExhausted, "{over:?}");
    // A stream that ends frees its place.
    drop(first);
    let _again = poll_until("a freed watch place", Duration::from_secs(5), || async {
        watch(&app, &a1).await.ok()
    })
    .await;
}

on_both_databases!(
    watch_streams_are_capped_per_principal_and_in_total,
    a_watcher_gets_the_queue_then_its_live_changes_only,
    an_assignment_out_of_the_queue_is_sent_so_the_client_can_drop_it,
    customers_cannot_watch_queues,
);

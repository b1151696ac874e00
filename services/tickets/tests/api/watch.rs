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

async fn watch_from(
    app: &App,
    resume_token: &str,
) -> Result<tonic::Streaming<pb::WatchTicketsResponse>, tonic::Status> {
    app.client
        .clone()
        .watch_tickets(app.req(
            &lead(),
            pb::WatchTicketsRequest {
                region: "eu-west".into(),
                resume_token: resume_token.into(),
                ..Default::default()
            },
        ))
        .await
        .map(tonic::Response::into_inner)
}

async fn a_resumed_watch_gets_every_change_it_missed_once_and_in_order(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut stream = watch_from(&app, "").await.unwrap();
    let first = app
        .create(
            &lead(),
            ticket(app.name("c1"), "eu-west", "Before the break"),
        )
        .await;
    let seen = next(&mut stream).await;
    assert_eq!(seen.ticket.as_ref().unwrap().name, first.name);
    assert!(!seen.resume_token.is_empty());
    drop(stream);

    // Changes while the client is away: two in the queue, one elsewhere.
    let mut missed = Vec::new();
    for subject in ["Missed one", "Missed two"] {
        missed.push(
            app.create(&lead(), ticket(app.name("c1"), "eu-west", subject))
                .await
                .name,
        );
        app.create(&lead(), ticket(app.name("c1"), "cn-east", "Not watched"))
            .await;
    }
    let mut stream = watch_from(&app, &seen.resume_token).await.unwrap();
    let after = app
        .create(
            &lead(),
            ticket(app.name("c1"), "eu-west", "After the break"),
        )
        .await;
    let mut got = Vec::new();
    let mut tokens = vec![seen.resume_token.clone()];
    for _ in 0..3 {
        let change = next(&mut stream).await;
        assert_eq!(change.change_type, C::Created as i32);
        got.push(change.ticket.unwrap().name);
        tokens.push(change.resume_token);
    }
    missed.push(after.name);
    assert_eq!(
        got, missed,
        "the missed changes, then the live one, in order"
    );
    let mut sorted = tokens.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), tokens.len(), "every change its own token");
    // Nothing more: no duplicate of the change before the break.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), stream.next())
            .await
            .is_err(),
        "no further message"
    );

    // The last token resumes with nothing to replay.
    let mut stream = watch_from(&app, tokens.last().unwrap()).await.unwrap();
    let latest = app
        .create(&lead(), ticket(app.name("c1"), "eu-west", "Latest"))
        .await;
    assert_eq!(next(&mut stream).await.ticket.unwrap().name, latest.name);
}

async fn a_resume_token_no_response_carried_is_refused(db: TestDatabase) {
    let app = spawn_app(db).await;
    let bad = watch_from(&app, "<b>not a token</b>").await.unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument, "{bad:?}");
    // Well formed, but from another feed (a restarted server) or not yet given.
    let mut stream = watch_from(&app, "").await.unwrap();
    app.create(&lead(), ticket(app.name("c1"), "eu-west", "One"))
        .await;
    let token = next(&mut stream).await.resume_token;
    let (feed, position) = token.rsplit_once('.').unwrap();
    for other in [
        format!("sOTHER.{position}"),
        format!("{feed}.{}", position.parse::<u64>().unwrap() + 100),
    ] {
        let refused = watch_from(&app, &other).await.unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Aborted, "{other}: {refused:?}");
        assert!(refused.message().contains("send_initial"), "{refused:?}");
    }
    let both = app
        .client
        .clone()
        .watch_tickets(app.req(
            &lead(),
            pb::WatchTicketsRequest {
                send_initial: true,
                resume_token: token,
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(both.code(), tonic::Code::InvalidArgument, "{both:?}");
}

async fn a_resume_older_than_the_feed_keeps_is_refused(db: TestDatabase) {
    let app = spawn_app_with(db, |service| service.with_feed_capacity(2)).await;
    let mut stream = watch_from(&app, "").await.unwrap();
    app.create(&lead(), ticket(app.name("c1"), "eu-west", "Kept?"))
        .await;
    let token = next(&mut stream).await.resume_token;
    drop(stream);
    for n in 0..3 {
        app.create(
            &lead(),
            ticket(app.name("c1"), "eu-west", &format!("Later {n}")),
        )
        .await;
    }
    let refused = watch_from(&app, &token).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Aborted, "{refused:?}");
}

on_both_databases!(
    watch_streams_are_capped_per_principal_and_in_total,
    a_watcher_gets_the_queue_then_its_live_changes_only,
    an_assignment_out_of_the_queue_is_sent_so_the_client_can_drop_it,
    customers_cannot_watch_queues,
    a_resumed_watch_gets_every_change_it_missed_once_and_in_order,
    a_resume_token_no_response_carried_is_refused,
    a_resume_older_than_the_feed_keeps_is_refused,
);

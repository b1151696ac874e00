//! Links, follow-ups and merges.

use aftercare_platform::on_both_databases;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::tickets::v1 as pb;

use super::support::{App, bad_fields, lead, precondition, spawn_app, ticket};

use pb::TicketLinkType as L;

async fn links(app: &App, parent: &str) -> Vec<pb::TicketLink> {
    app.client
        .clone()
        .list_ticket_links(app.req(
            &lead(),
            pb::ListTicketLinksRequest {
                parent: parent.into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .links
}

async fn a_link_is_seen_from_both_tickets_and_removed_from_both(db: TestDatabase) {
    let app = spawn_app(db).await;
    let a = app
        .create(&lead(), ticket(app.name("c1"), "eu-west", "First"))
        .await;
    let b = app
        .create(&lead(), ticket(app.name("c1"), "eu-west", "Second"))
        .await;
    let mut client = app.client.clone();
    let link = client
        .link_tickets(app.req(
            &lead(),
            pb::LinkTicketsRequest {
                name: b.name.clone(),
                linked_ticket: a.name.clone(),
                link_type: L::DuplicateOf as i32,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .link
        .unwrap();
    assert_eq!(link.linked_ticket, a.name);
    assert_eq!(link.linked_ticket_subject, "First");
    assert_eq!(link.linked_ticket_number, a.number);
    let from_a = links(&app, &a.name).await;
    assert_eq!(from_a.len(), 1);
    assert_eq!(from_a[0].link_type, L::DuplicatedBy as i32);
    assert_eq!(from_a[0].linked_ticket, b.name);
    assert_eq!(
        from_a[0].name.rsplit('/').next(),
        link.name.rsplit('/').next()
    );
    // Twice is refused, and so are self-links and output-only types.
    let status = client
        .link_tickets(app.req(
            &lead(),
            pb::LinkTicketsRequest {
                name: b.name.clone(),
                linked_ticket: a.name.clone(),
                link_type: L::DuplicateOf as i32,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::AlreadyExists);
    let status = client
        .link_tickets(app.req(
            &lead(),
            pb::LinkTicketsRequest {
                name: a.name.clone(),
                linked_ticket: a.name.clone(),
                link_type: L::FollowedUpBy as i32,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["link_type", "linked_ticket"]);
    client
        .delete_ticket_link(app.req(
            &lead(),
            pb::DeleteTicketLinkRequest {
                name: link.name.clone(),
            },
        ))
        .await
        .unwrap();
    assert!(links(&app, &a.name).await.is_empty());
    assert!(links(&app, &b.name).await.is_empty());
    let history = client
        .list_ticket_history(app.req(
            &lead(),
            pb::ListTicketHistoryRequest {
                parent: a.name.clone(),
                filter: "event_kind != CREATED AND event_kind != CLASSIFIED".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .history_entries;
    let kinds: Vec<i32> = history.iter().map(|h| h.event_kind).collect();
    assert_eq!(
        kinds,
        [
            pb::HistoryEventKind::Linked as i32,
            pb::HistoryEventKind::Unlinked as i32
        ]
    );
    assert_eq!(history[0].related_ticket, b.name);
}

async fn a_follow_up_is_linked_when_created(db: TestDatabase) {
    let app = spawn_app(db).await;
    let first = app
        .create(&lead(), ticket(app.name("c1"), "eu-west", "Broken"))
        .await;
    let follow_up = app
        .client
        .clone()
        .create_ticket(app.req(
            &lead(),
            pb::CreateTicketRequest {
                ticket: Some(ticket(app.name("c1"), "eu-west", "Still broken")),
                follow_up_of: first.name.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    let seen = links(&app, &follow_up.name).await;
    assert_eq!(seen[0].link_type, L::FollowUpOf as i32);
    assert_eq!(
        links(&app, &first.name).await[0].link_type,
        L::FollowedUpBy as i32
    );
    let status = app
        .client
        .clone()
        .create_ticket(app.req(
            &lead(),
            pb::CreateTicketRequest {
                ticket: Some(ticket(app.name("c2"), "eu-west", "Other person")),
                follow_up_of: first.name.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(precondition(&status), "CUSTOMER");
}

async fn merging_moves_messages_closes_sources_and_is_all_or_nothing(db: TestDatabase) {
    let app = spawn_app(db).await;
    let target = app
        .create(&lead(), ticket(app.name("c1"), "eu-west", "Printer"))
        .await;
    let source = app
        .create(
            &lead(),
            pb::Ticket {
                tags: vec!["printer".into()],
                ..ticket(app.name("c1"), "eu-west", "Printer again")
            },
        )
        .await;
    let stranger = app
        .create(&lead(), ticket(app.name("c2"), "eu-west", "Someone else"))
        .await;
    let mut client = app.client.clone();
    client
        .create_message(app.req(
            &lead(),
            pb::CreateMessageRequest {
                parent: source.name.clone(),
                message: Some(pb::TicketMessage {
                    visibility: pb::MessageVisibility::Public as i32,
                    body: "photo attached".into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    // One source of another customer: nothing merges.
    let status = client
        .merge_tickets(app.req(
            &lead(),
            pb::MergeTicketsRequest {
                name: target.name.clone(),
                etag: target.etag.clone(),
                source_tickets: vec![source.name.clone(), stranger.name.clone()],
                reason: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(precondition(&status), "CUSTOMER");
    assert_eq!(
        app.get(&lead(), &source.name).await.unwrap().status,
        pb::TicketStatus::Open as i32
    );
    let merged = client
        .merge_tickets(app.req(
            &lead(),
            pb::MergeTicketsRequest {
                name: target.name.clone(),
                etag: target.etag.clone(),
                source_tickets: vec![source.name.clone()],
                reason: "same printer".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let closed = &merged.sources[0];
    assert_eq!(closed.status, pb::TicketStatus::Closed as i32);
    assert_eq!(closed.merged_into, target.name);
    let new_target = merged.target.unwrap();
    assert_eq!(new_target.tags, ["printer"]);
    let copied = client
        .list_messages(app.req(
            &lead(),
            pb::ListMessagesRequest {
                parent: target.name.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .messages;
    assert_eq!(copied.len(), 1);
    assert_eq!(copied[0].source_ticket, source.name);
    assert_eq!(copied[0].body, "photo attached");
    let link = &links(&app, &source.name).await[0];
    assert!(link.from_merge);
    assert_eq!(link.link_type, L::DuplicateOf as i32);
    let status = client
        .delete_ticket_link(app.req(
            &lead(),
            pb::DeleteTicketLinkRequest {
                name: link.name.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(precondition(&status), "FROM_MERGE");
    // A merged ticket stays closed.
    let status = client
        .reopen_ticket(app.req(
            &lead(),
            pb::ReopenTicketRequest {
                name: source.name.clone(),
                etag: closed.etag.clone(),
                reason: "try".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(precondition(&status), "STATUS_TRANSITION");
    let status = client
        .merge_tickets(app.req(
            &lead(),
            pb::MergeTicketsRequest {
                name: target.name.clone(),
                etag: new_target.etag.clone(),
                source_tickets: vec![target.name.clone()],
                reason: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["source_tickets[0]"]);
}

on_both_databases!(
    a_link_is_seen_from_both_tickets_and_removed_from_both,
    a_follow_up_is_linked_when_created,
    merging_moves_messages_closes_sources_and_is_all_or_nothing,
);

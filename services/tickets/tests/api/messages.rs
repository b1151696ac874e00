//! Public replies and internal notes.

use aftercare_platform::on_both_databases;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::tickets::v1 as pb;

use super::support::{App, agent, bad_fields, lead, precondition, spawn_app, ticket};

fn reply(parent: &str, visibility: pb::MessageVisibility, body: &str) -> pb::CreateMessageRequest {
    pb::CreateMessageRequest {
        parent: parent.into(),
        message: Some(pb::TicketMessage {
            visibility: visibility as i32,
            body: body.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

async fn send(
    app: &App,
    principal: &aftercare_platform::auth::Principal,
    request: pb::CreateMessageRequest,
) -> Result<pb::CreateMessageResponse, tonic::Status> {
    app.client
        .clone()
        .create_message(app.req(principal, request))
        .await
        .map(tonic::Response::into_inner)
}

async fn the_first_public_agent_reply_sets_the_first_response_and_opens_the_ticket(
    db: TestDatabase,
) {
    let app = spawn_app(db).await;
    let t = app
        .create(
            &app.customer("c1"),
            ticket(app.name("c1"), "eu-west", "Dryer smells"),
        )
        .await;
    let agent = agent("a1", "eu-west");
    let note = send(
        &app,
        &agent,
        reply(
            &t.name,
            pb::MessageVisibility::Internal,
            "checking the model",
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        note.ticket.as_ref().unwrap().status,
        pb::TicketStatus::New as i32
    );
    assert!(
        note.ticket
            .unwrap()
            .sla
            .unwrap()
            .first_response_time
            .is_none()
    );
    let first = send(
        &app,
        &agent,
        reply(
            &t.name,
            pb::MessageVisibility::Public,
            "Please send a photo",
        ),
    )
    .await
    .unwrap();
    let message = first.message.unwrap();
    assert!(message.name.starts_with(&format!("{}/messages/", t.name)));
    assert_eq!(message.author.as_ref().unwrap().id, "agents/a1");
    assert_eq!(message.channel, t.channel);
    let ticket = first.ticket.unwrap();
    assert_eq!(ticket.status, pb::TicketStatus::Open as i32);
    let first_response = ticket.sla.unwrap().first_response_time.unwrap();
    let second = send(
        &app,
        &agent,
        reply(&t.name, pb::MessageVisibility::Public, "Any news?"),
    )
    .await
    .unwrap();
    assert_eq!(
        second
            .ticket
            .unwrap()
            .sla
            .unwrap()
            .first_response_time
            .unwrap(),
        first_response
    );
}

async fn a_customer_reply_reopens_a_resolved_ticket_and_closed_tickets_take_no_messages(
    db: TestDatabase,
) {
    let app = spawn_app(db).await;
    let t = app
        .create(&lead(), ticket(app.name("c1"), "eu-west", "Oven door"))
        .await;
    let resolved = app
        .client
        .clone()
        .resolve_ticket(app.req(
            &lead(),
            pb::ResolveTicketRequest {
                name: t.name.clone(),
                etag: t.etag.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    let answer = send(
        &app,
        &app.customer("c1"),
        reply(&t.name, pb::MessageVisibility::Public, "Still broken"),
    )
    .await
    .unwrap();
    let reopened = answer.ticket.unwrap();
    assert_eq!(reopened.status, pb::TicketStatus::Open as i32);
    assert_eq!(reopened.reopen_count, 1);
    // An agent replies and closes with set_status RESOLVED, then closes.
    let mut request = reply(&t.name, pb::MessageVisibility::Public, "Fixed now");
    request.set_status = pb::TicketStatus::Resolved as i32;
    request.etag = reopened.etag.clone();
    let resolved_again = send(&app, &lead(), request).await.unwrap().ticket.unwrap();
    assert_eq!(resolved_again.status, pb::TicketStatus::Resolved as i32);
    let closed = app
        .client
        .clone()
        .close_ticket(app.req(
            &lead(),
            pb::CloseTicketRequest {
                name: t.name.clone(),
                etag: resolved_again.etag,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_ne!(closed.etag, resolved.etag);
    let status = send(
        &app,
        &app.customer("c1"),
        reply(&t.name, pb::MessageVisibility::Public, "Hello?"),
    )
    .await
    .unwrap_err();
    assert_eq!(precondition(&status), "STATE");
}

async fn customers_write_public_replies_only_and_never_see_internal_notes(db: TestDatabase) {
    let app = spawn_app(db).await;
    let t = app
        .create(
            &app.customer("c1"),
            ticket(app.name("c1"), "eu-west", "Kettle"),
        )
        .await;
    let note = send(
        &app,
        &lead(),
        reply(&t.name, pb::MessageVisibility::Internal, "customer is rude"),
    )
    .await
    .unwrap();
    send(
        &app,
        &lead(),
        reply(&t.name, pb::MessageVisibility::Public, "We are on it"),
    )
    .await
    .unwrap();
    let status = send(
        &app,
        &app.customer("c1"),
        reply(&t.name, pb::MessageVisibility::Internal, "sneaky"),
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    let mut client = app.client.clone();
    let seen = client
        .list_messages(app.req(
            &app.customer("c1"),
            pb::ListMessagesRequest {
                parent: t.name.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .messages;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].body, "We are on it");
    let status = client
        .get_message(app.req(
            &app.customer("c1"),
            pb::GetMessageRequest {
                name: note.message.as_ref().unwrap().name.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
    let staff = client
        .get_message(app.req(
            &lead(),
            pb::GetMessageRequest {
                name: note.message.unwrap().name,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .message
        .unwrap();
    assert_eq!(staff.body, "customer is rude");
    let all = client
        .list_messages(app.req(
            &lead(),
            pb::ListMessagesRequest {
                parent: t.name.clone(),
                order_by: "create_time desc".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .messages;
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].body, "We are on it");
    let internal = client
        .list_messages(app.req(
            &lead(),
            pb::ListMessagesRequest {
                parent: t.name.clone(),
                filter: "visibility = INTERNAL".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .messages;
    assert_eq!(internal.len(), 1);
}

async fn a_message_retried_with_its_request_id_is_written_once(db: TestDatabase) {
    let app = spawn_app(db).await;
    let t = app
        .create(&lead(), ticket(app.name("c1"), "eu-west", "Toaster"))
        .await;
    let mut request = reply(&t.name, pb::MessageVisibility::Public, "On our way");
    request.request_id = uuid::Uuid::new_v4().to_string();
    let lead = lead();
    let calls = (0..5).map(|_| send(&app, &lead, request.clone()));
    let names: std::collections::HashSet<String> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap().message.unwrap().name)
        .collect();
    assert_eq!(names.len(), 1);
    assert_eq!(app.count("ticket_messages").await, 1);
}

async fn bad_messages_name_every_field(db: TestDatabase) {
    let app = spawn_app(db).await;
    let t = app
        .create(&lead(), ticket(app.name("c1"), "eu-west", "Mixer"))
        .await;
    let request = pb::CreateMessageRequest {
        parent: t.name.clone(),
        message: Some(pb::TicketMessage {
            visibility: 0,
            body: String::new(),
            format: 9,
            attachments: vec![pb::Attachment {
                uri: "ftp://x".into(),
                file_name: "../etc/passwd".into(),
                size_bytes: -1,
                ..Default::default()
            }],
            ..Default::default()
        }),
        set_status: pb::TicketStatus::Closed as i32,
        request_id: "nope".into(),
        ..Default::default()
    };
    let status = send(&app, &lead(), request).await.unwrap_err();
    let fields = bad_fields(&status);
    for field in [
        "message.visibility",
        "message.body",
        "message.format",
        "message.attachments[0].uri",
        "message.attachments[0].file_name",
        "message.attachments[0].size_bytes",
        "request_id",
        "set_status",
        "etag",
    ] {
        assert!(
            fields.iter().any(|f| f == field),
            "{field} missing from {fields:?}"
        );
    }
    assert_eq!(app.count("ticket_messages").await, 0);
}

on_both_databases!(
    the_first_public_agent_reply_sets_the_first_response_and_opens_the_ticket,
    a_customer_reply_reopens_a_resolved_ticket_and_closed_tickets_take_no_messages,
    customers_write_public_replies_only_and_never_see_internal_notes,
    a_message_retried_with_its_request_id_is_written_once,
    bad_messages_name_every_field,
);

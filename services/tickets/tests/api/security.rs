//! The holes of issue 9, each tried as an attacker would: stored XSS, idempotency keys that
//! crossed callers or leaked internal notes, filters that probed hidden fields.

use aftercare_platform::auth::Principal;
use aftercare_platform::on_both_databases;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::tickets::v1 as pb;
use tonic_types::StatusExt;

use super::support::{App, agent, bad_fields, customer_principal, lead, spawn_app, ticket};

fn key() -> String {
    uuid::Uuid::now_v7().to_string()
}

async fn create_with_key(
    app: &App,
    principal: &Principal,
    ticket: pb::Ticket,
    request_id: &str,
) -> Result<pb::Ticket, tonic::Status> {
    app.client
        .clone()
        .create_ticket(app.req(
            principal,
            pb::CreateTicketRequest {
                ticket: Some(ticket),
                request_id: request_id.into(),
                ..Default::default()
            },
        ))
        .await
        .map(|r| r.into_inner().ticket.expect("a ticket"))
}

async fn message_with_key(
    app: &App,
    principal: &Principal,
    parent: &str,
    visibility: pb::MessageVisibility,
    format: pb::MessageFormat,
    body: &str,
    request_id: &str,
) -> Result<pb::TicketMessage, tonic::Status> {
    app.client
        .clone()
        .create_message(app.req(
            principal,
            pb::CreateMessageRequest {
                parent: parent.into(),
                message: Some(pb::TicketMessage {
                    visibility: visibility as i32,
                    format: format as i32,
                    body: body.into(),
                    ..Default::default()
                }),
                request_id: request_id.into(),
                ..Default::default()
            },
        ))
        .await
        .map(|r| r.into_inner().message.expect("a message"))
}

/// Filter-evasion cases a customer might post (the full corpus is unit-tested beside the
/// sanitiser).
const XSS: &[&str] = &[
    "<svg/onload=alert(1)>",
    "<img src=\"x\"onerror=\"alert(1)\">",
    "<a href=\"jav&#x61;script:alert(1)\">click</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
    "<div style=\"width: expression(alert(1))\">x</div>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
];

async fn html_from_a_customer_is_stored_without_anything_that_runs(db: TestDatabase) {
    let app = spawn_app(db).await;
    let customer = app.customer("c1");
    let t = app
        .create(&customer, ticket(app.name("c1"), "eu-west", "Washer E3"))
        .await;
    for attack in XSS {
        let body = format!("<p>see photo</p>{attack}");
        let message = message_with_key(
            &app,
            &customer,
            &t.name,
            pb::MessageVisibility::Public,
            pb::MessageFormat::Html,
            &body,
            "",
        )
        .await
        .unwrap();
        assert!(message.body.starts_with("<p>see photo</p>"), "{message:?}");
        let lower = message.body.to_lowercase();
        for bad in [
            "onload",
            "onerror",
            "javascript",
            "data:",
            "expression",
            "<script",
            "<svg",
            "<iframe",
            "<style",
            "srcdoc",
        ] {
            assert!(!lower.contains(bad), "{attack:?} stored {:?}", message.body);
        }
    }
    // What is stored is what was answered: no column of any message holds a handler.
    let stored: Vec<String> = sqlx::query_scalar("SELECT body FROM ticket_messages")
        .fetch_all(app.tickets.db().reader())
        .await
        .unwrap();
    assert_eq!(stored.len(), XSS.len());
    for body in stored {
        let lower = body.to_lowercase();
        assert!(
            !lower.contains("onerror")
                && !lower.contains("onload")
                && !lower.contains("javascript"),
            "{body:?}"
        );
    }
}

async fn customers_may_not_filter_by_the_fields_hidden_from_them(db: TestDatabase) {
    let app = spawn_app(db).await;
    let customer = app.customer("c1");
    app.create(&customer, ticket(app.name("c1"), "eu-west", "Dryer"))
        .await;
    for (filter, field) in [
        (r#"tag = "vip""#, "tag"),
        (r#"assignee = "agents/a1""#, "assignee"),
        (r#"team = "teams/returns""#, "team"),
        ("escalation_level = SPECIALIST", "escalation_level"),
        (r#"status = OPEN AND assignee = """#, "assignee"),
    ] {
        let status = app
            .client
            .clone()
            .list_tickets(app.req(
                &customer,
                pb::ListTicketsRequest {
                    filter: filter.into(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(bad_fields(&status), ["filter"], "{filter}");
        let detail = status
            .get_error_details()
            .bad_request()
            .unwrap()
            .field_violations[0]
            .description
            .clone();
        assert!(
            detail.contains("customers may not filter") && detail.contains(field),
            "{filter}: {detail}"
        );
    }
    // Staff may, and fields a customer sees stay filterable for them.
    let staff = app
        .client
        .clone()
        .list_tickets(app.req(
            &lead(),
            pb::ListTicketsRequest {
                filter: r#"assignee = """#.into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(staff.tickets.len(), 1);
    let own = app
        .client
        .clone()
        .list_tickets(app.req(
            &customer,
            pb::ListTicketsRequest {
                filter: "status = NEW".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(own.tickets.len(), 1);
}

async fn a_request_id_belongs_to_its_caller_and_never_finds_another_callers_ticket(
    db: TestDatabase,
) {
    let app = spawn_app(db).await;
    let shared = key();
    let c1 = app.customer("c1");
    let c2 = app.customer("c2");
    let first = create_with_key(&app, &c1, ticket(app.name("c1"), "", "Mine"), &shared)
        .await
        .unwrap();
    // Another customer who learns (or guesses) the key gets their own ticket, not c1's.
    let other = create_with_key(&app, &c2, ticket(app.name("c2"), "", "Mine"), &shared)
        .await
        .unwrap();
    assert_ne!(other.name, first.name);
    assert_eq!(other.customer, app.name("c2"));
    assert_eq!(app.count("tickets").await, 2);
    // The same caller retrying gets the first ticket back, and nothing more is written.
    let again = create_with_key(&app, &c1, ticket(app.name("c1"), "", "Mine"), &shared)
        .await
        .unwrap();
    assert_eq!(again.name, first.name);
    assert_eq!(app.count("tickets").await, 2);
}

async fn a_reused_key_with_another_request_is_already_exists_and_writes_nothing(db: TestDatabase) {
    let app = spawn_app(db).await;
    let agent = agent("a1", "eu-west");
    let k = key();
    let t = create_with_key(&app, &agent, ticket(app.name("c1"), "eu-west", "First"), &k)
        .await
        .unwrap();
    let status = create_with_key(
        &app,
        &agent,
        ticket(app.name("c1"), "eu-west", "Second"),
        &k,
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), tonic::Code::AlreadyExists, "{status:?}");
    assert_eq!(app.count("tickets").await, 1);

    let m = key();
    message_with_key(
        &app,
        &agent,
        &t.name,
        pb::MessageVisibility::Internal,
        pb::MessageFormat::PlainText,
        "checked the serial",
        &m,
    )
    .await
    .unwrap();
    let status = message_with_key(
        &app,
        &agent,
        &t.name,
        pb::MessageVisibility::Internal,
        pb::MessageFormat::PlainText,
        "something else",
        &m,
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), tonic::Code::AlreadyExists, "{status:?}");
    assert_eq!(app.count("ticket_messages").await, 1);
}

async fn a_customer_never_reads_an_internal_note_through_a_replayed_key(db: TestDatabase) {
    let app = spawn_app(db).await;
    let customer = app.customer("c1");
    let t = app
        .create(&customer, ticket(app.name("c1"), "eu-west", "Fridge"))
        .await;
    let k = key();
    let note = message_with_key(
        &app,
        &agent("a1", "eu-west"),
        &t.name,
        pb::MessageVisibility::Internal,
        pb::MessageFormat::PlainText,
        "customer is on the watch list",
        &k,
    )
    .await
    .unwrap();
    // The customer sends a public reply with the agent's key: their own reply is written.
    let reply = message_with_key(
        &app,
        &customer,
        &t.name,
        pb::MessageVisibility::Public,
        pb::MessageFormat::PlainText,
        "customer is on the watch list",
        &k,
    )
    .await
    .unwrap();
    assert_ne!(reply.name, note.name);
    assert_eq!(reply.visibility, pb::MessageVisibility::Public as i32);
    assert!(!format!("{reply:?}").contains("Internal"));
    assert_eq!(app.count("ticket_messages").await, 2);
}

async fn a_replay_goes_through_the_visibility_checks_of_a_read(db: TestDatabase) {
    let app = spawn_app(db).await;
    let agent = agent("a1", "eu-west");
    let k = key();
    let t = create_with_key(&app, &agent, ticket(app.name("c1"), "eu-west", "Moved"), &k)
        .await
        .unwrap();
    // The ticket moves to another region, out of the agent's reach.
    app.client
        .clone()
        .update_ticket(app.req(
            &lead(),
            pb::UpdateTicketRequest {
                ticket: Some(pb::Ticket {
                    name: t.name.clone(),
                    etag: t.etag.clone(),
                    region: "cn-east".into(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["region".into()],
                }),
            },
        ))
        .await
        .unwrap();
    let status = create_with_key(&app, &agent, ticket(app.name("c1"), "eu-west", "Moved"), &k)
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
    assert_eq!(app.count("tickets").await, 1);
    // A customer's replay is checked too: still theirs, so it comes back.
    let c = customer_principal(app.name("c2"));
    let k = key();
    let mine = create_with_key(&app, &c, ticket(app.name("c2"), "", "Mine"), &k)
        .await
        .unwrap();
    let again = create_with_key(&app, &c, ticket(app.name("c2"), "", "Mine"), &k)
        .await
        .unwrap();
    assert_eq!(again.name, mine.name);
    assert!(again.tags.is_empty() && again.assignee.is_empty());
}

on_both_databases!(
    html_from_a_customer_is_stored_without_anything_that_runs,
    customers_may_not_filter_by_the_fields_hidden_from_them,
    a_request_id_belongs_to_its_caller_and_never_finds_another_callers_ticket,
    a_reused_key_with_another_request_is_already_exists_and_writes_nothing,
    a_customer_never_reads_an_internal_note_through_a_replayed_key,
    a_replay_goes_through_the_visibility_checks_of_a_read,
);

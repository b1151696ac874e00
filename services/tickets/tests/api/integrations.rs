//! Integrations (API keys): whom their messages are written as, and the region their key
//! binds them to (issue 9, item 6).

use aftercare_platform::auth::Principal;
use aftercare_platform::on_both_databases;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::tickets::v1 as pb;

use super::support::{App, bad_fields, integration, lead, spawn_app, ticket};

async fn post(
    app: &App,
    principal: &Principal,
    parent: &str,
    author: Option<(common::ActorType, &str)>,
) -> Result<pb::TicketMessage, tonic::Status> {
    app.client
        .clone()
        .create_message(app.req(
            principal,
            pb::CreateMessageRequest {
                parent: parent.into(),
                message: Some(pb::TicketMessage {
                    visibility: pb::MessageVisibility::Public as i32,
                    body: "Relayed from the mailbox".into(),
                    author: author.map(|(kind, id)| common::Actor {
                        r#type: kind as i32,
                        id: id.into(),
                        display_name: String::new(),
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
        ))
        .await
        .map(|r| r.into_inner().message.expect("a message"))
}

fn in_region(mut principal: Principal, region: &str) -> Principal {
    principal.region = Some(region.into());
    principal
}

async fn an_integration_writes_as_itself_or_the_tickets_customer_and_as_an_agent_only_when_delegated(
    db: TestDatabase,
) {
    let app = spawn_app(db).await;
    let mailbox = integration(&["tickets.write"]);
    let t = app
        .create(&lead(), ticket(app.name("c1"), "eu-west", "Leaking hose"))
        .await;

    // Without an author the integration is the author.
    let own = post(&app, &mailbox, &t.name, None).await.unwrap();
    let author = own.author.unwrap();
    assert_eq!(author.r#type, common::ActorType::Integration as i32);
    assert_eq!(author.id, "keys/erp");

    // The ticket's own customer: relayed.
    let relayed = post(
        &app,
        &mailbox,
        &t.name,
        Some((common::ActorType::Customer, app.name("c1"))),
    )
    .await
    .unwrap();
    let author = relayed.author.unwrap();
    assert_eq!(author.r#type, common::ActorType::Customer as i32);
    assert_eq!(author.id, app.name("c1"));
    let written = app.count("ticket_messages").await;

    // Another customer: refused, nothing written.
    let status = post(
        &app,
        &mailbox,
        &t.name,
        Some((common::ActorType::Customer, app.name("c2"))),
    )
    .await
    .unwrap_err();
    assert_eq!(bad_fields(&status), ["message.author.id"]);
    // An agent, without the delegation: refused, nothing written, no first response.
    let status = post(
        &app,
        &mailbox,
        &t.name,
        Some((common::ActorType::Agent, "agents/somebody")),
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
    assert_eq!(app.count("ticket_messages").await, written);
    let unanswered = app.get(&lead(), &t.name).await.unwrap();
    assert!(unanswered.sla.unwrap().first_response_time.is_none());

    // With the delegation scope: written as that agent, and it is the first response.
    let delegated = integration(&["tickets.write", "tickets.relay_agents"]);
    let status = post(
        &app,
        &delegated,
        &t.name,
        Some((common::ActorType::Agent, "not an agent name")),
    )
    .await
    .unwrap_err();
    assert_eq!(bad_fields(&status), ["message.author.id"]);
    let as_agent = post(
        &app,
        &delegated,
        &t.name,
        Some((common::ActorType::Agent, "agents/somebody")),
    )
    .await
    .unwrap();
    let author = as_agent.author.unwrap();
    assert_eq!(author.r#type, common::ActorType::Agent as i32);
    assert_eq!(author.id, "agents/somebody");
    let answered = app.get(&lead(), &t.name).await.unwrap();
    assert!(answered.sla.unwrap().first_response_time.is_some());

    // Anyone else naming an author writes as themselves.
    let by_lead = post(
        &app,
        &lead(),
        &t.name,
        Some((common::ActorType::Customer, app.name("c1"))),
    )
    .await
    .unwrap();
    assert_eq!(by_lead.author.unwrap().id, "agents/lead");
}

async fn an_integration_key_with_a_region_reaches_only_that_regions_tickets(db: TestDatabase) {
    let app = spawn_app(db).await;
    let west = app
        .create(&lead(), ticket(app.name("c1"), "eu-west", "West"))
        .await;
    let east = app
        .create(&lead(), ticket(app.name("c2"), "cn-east", "East"))
        .await;
    let bound = in_region(integration(&["tickets.write"]), "eu-west");
    let mut client = app.client.clone();

    assert!(app.get(&bound, &west.name).await.is_ok());
    let status = app.get(&bound, &east.name).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
    let listed = client
        .list_tickets(app.req(&bound, pb::ListTicketsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .tickets;
    let names: Vec<&str> = listed.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, [west.name.as_str()]);

    // Writes outside the region: refused, nothing written.
    let messages = app.count("ticket_messages").await;
    let status = post(&app, &bound, &east.name, None).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
    assert_eq!(app.count("ticket_messages").await, messages);
    let tickets = app.count("tickets").await;
    let status = client
        .create_ticket(app.req(
            &bound,
            pb::CreateTicketRequest {
                ticket: Some(ticket(app.name("c2"), "cn-east", "Opened elsewhere")),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    assert_eq!(app.count("tickets").await, tickets);
    let status = client
        .add_ticket_tags(app.req(
            &bound,
            pb::AddTicketTagsRequest {
                name: east.name.clone(),
                tags: vec!["probe".into()],
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
    assert!(post(&app, &bound, &west.name, None).await.is_ok());

    // A key with a malformed region reaches nothing; a key without one, every region.
    let broken = in_region(integration(&["tickets.write"]), "Not A Region");
    let status = app.get(&broken, &west.name).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    let everywhere = integration(&["tickets.read"]);
    assert!(app.get(&everywhere, &east.name).await.is_ok());
}

on_both_databases!(
    an_integration_writes_as_itself_or_the_tickets_customer_and_as_an_agent_only_when_delegated,
    an_integration_key_with_a_region_reaches_only_that_regions_tickets,
);

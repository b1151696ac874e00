//! Who may see and do what.

use aftercare_platform::auth::Principal;
use aftercare_platform::on_both_databases;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::tickets::v1 as pb;

use super::support::{agent, integration, lead, spawn_app, ticket};

async fn a_customer_sees_only_their_own_tickets_without_internal_fields(db: TestDatabase) {
    let app = spawn_app(db).await;
    let own = app
        .create(
            &app.customer("c1"),
            pb::Ticket {
                tags: vec!["ignored".into()],
                assignee: "agents/x".into(),
                ..ticket("", "eu-west", "My kettle")
            },
        )
        .await;
    assert_eq!(own.customer, app.name("c1"));
    assert!(own.tags.is_empty() && own.assignee.is_empty());
    let other = app
        .create(&lead(), ticket(app.name("c2"), "eu-west", "Their kettle"))
        .await;
    let tagged = app
        .client
        .clone()
        .add_ticket_tags(app.req(
            &lead(),
            pb::AddTicketTagsRequest {
                name: own.name.clone(),
                tags: vec!["vip".into()],
                etag: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(tagged.tags, ["vip"]);
    let seen = app.get(&app.customer("c1"), &own.name).await.unwrap();
    assert!(seen.tags.is_empty());
    assert!(seen.classification.is_none());
    assert_eq!(seen.escalation_level, 0);
    let status = app.get(&app.customer("c1"), &other.name).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
    let listed = app
        .client
        .clone()
        .list_tickets(app.req(&app.customer("c1"), pb::ListTicketsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .tickets;
    assert_eq!(
        listed.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        [own.name.as_str()]
    );
    // Customers may not open tickets for others, change status or read history.
    let status = app
        .client
        .clone()
        .create_ticket(app.req(
            &app.customer("c1"),
            pb::CreateTicketRequest {
                ticket: Some(ticket(app.name("c2"), "eu-west", "Not mine")),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    let status = app
        .client
        .clone()
        .resolve_ticket(app.req(
            &app.customer("c1"),
            pb::ResolveTicketRequest {
                name: own.name.clone(),
                etag: seen.etag.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    let status = app
        .client
        .clone()
        .list_ticket_history(app.req(
            &app.customer("c1"),
            pb::ListTicketHistoryRequest {
                parent: own.name.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
}

async fn agents_work_their_own_region_and_leads_every_region(db: TestDatabase) {
    let app = spawn_app(db).await;
    let east = app
        .create(&lead(), ticket(app.name("c1"), "cn-east", "East"))
        .await;
    let west = app
        .create(&lead(), ticket(app.name("c1"), "eu-west", "West"))
        .await;
    let agent = agent("a1", "eu-west");
    assert!(app.get(&agent, &west.name).await.is_ok());
    assert_eq!(
        app.get(&agent, &east.name).await.unwrap_err().code(),
        tonic::Code::NotFound
    );
    let status = app
        .client
        .clone()
        .resolve_ticket(app.req(
            &agent,
            pb::ResolveTicketRequest {
                name: east.name.clone(),
                etag: east.etag.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
    let listed = app
        .client
        .clone()
        .list_tickets(app.req(&agent, pb::ListTicketsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .tickets;
    assert_eq!(listed.len(), 1);
    assert!(app.get(&lead(), &east.name).await.is_ok());
}

async fn integrations_act_by_their_scopes(db: TestDatabase) {
    let app = spawn_app(db).await;
    let t = app
        .create(&lead(), ticket(app.name("c1"), "eu-west", "ERP order"))
        .await;
    let reader = integration(&["tickets.read"]);
    assert!(app.get(&reader, &t.name).await.is_ok());
    let status = app
        .client
        .clone()
        .create_ticket(app.req(
            &reader,
            pb::CreateTicketRequest {
                ticket: Some(ticket(app.name("c1"), "eu-west", "x")),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    let none = integration(&[]);
    assert_eq!(
        app.get(&none, &t.name).await.unwrap_err().code(),
        tonic::Code::PermissionDenied
    );
    // The customers service checks the integration itself (on behalf of): tickets.write
    // alone does not let it read a customer, and nothing is written.
    let tickets_only = integration(&["tickets.write"]);
    let before = app.count("tickets").await;
    let status = app
        .client
        .clone()
        .create_ticket(app.req(
            &tickets_only,
            pb::CreateTicketRequest {
                ticket: Some(ticket(app.name("c1"), "eu-west", "From the ERP")),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
    assert_eq!(app.count("tickets").await, before);
    let writer = integration(&["tickets.write", "customers.read"]);
    let made = app
        .create(&writer, ticket(app.name("c1"), "eu-west", "From the ERP"))
        .await;
    assert_eq!(made.creator.unwrap().id, "keys/erp");
    assert_eq!(
        app.get(&Principal::service("feedback"), &made.name)
            .await
            .unwrap()
            .name,
        made.name
    );
}

async fn a_call_without_a_valid_principal_is_unauthenticated(db: TestDatabase) {
    let app = spawn_app(db).await;
    let status = app
        .client
        .clone()
        .list_tickets(pb::ListTicketsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    let forged = aftercare_platform::auth::PrincipalVerifier::random();
    let mut request = tonic::Request::new(pb::ListTicketsRequest::default());
    forged.attach(&lead(), "tickets", request.metadata_mut());
    let status = app.client.clone().list_tickets(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
}

on_both_databases!(
    a_customer_sees_only_their_own_tickets_without_internal_fields,
    agents_work_their_own_region_and_leads_every_region,
    integrations_act_by_their_scopes,
    a_call_without_a_valid_principal_is_unauthenticated,
);

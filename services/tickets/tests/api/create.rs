//! CreateTicket: customers by identity, classification, idempotency, validation, events.

use std::time::Duration;

use aftercare_platform::events::{EventBus, SubscriptionFilter, decode_payload};
use aftercare_platform::on_both_databases;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::events::v1 as ev;
use aftercare_proto::aftercare::tickets::v1 as pb;

use super::support::{agent, bad_fields, lead, spawn_app, ticket};

fn by_identity(handle: &str, subject: &str, description: &str) -> pb::CreateTicketRequest {
    pb::CreateTicketRequest {
        ticket: Some(pb::Ticket {
            customer_identity: Some(common::ChannelIdentity {
                channel: common::Channel::Email as i32,
                handle: handle.into(),
                provider: String::new(),
            }),
            subject: subject.into(),
            description: description.into(),
            region: "cn-east".into(),
            ..Default::default()
        }),
        customer_display_name: "Li Wei".into(),
        ..Default::default()
    }
}

async fn a_channel_identity_is_resolved_to_one_customer_across_tickets(db: TestDatabase) {
    let app = spawn_app(db).await;
    let lead = lead();
    let mut client = app.client.clone();
    let first = client
        .create_ticket(app.req(
            &lead,
            by_identity(
                "li.wei@example.com",
                "洗衣机无法开机",
                "昨天开始无法开机，显示E3错误代码",
            ),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(first.customer_created);
    let first_ticket = first.ticket.unwrap();
    assert!(first_ticket.customer.starts_with("customers/"));
    assert_eq!(first_ticket.customer_display_name, "Li Wei");
    assert_eq!(first_ticket.customer_tier, "STANDARD");
    assert_eq!(first_ticket.channel, common::Channel::Email as i32);
    let second = client
        .create_ticket(app.req(
            &lead,
            by_identity(
                "li.wei@example.com",
                "Another question",
                "How do I clean the filter?",
            ),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!second.customer_created);
    let second_ticket = second.ticket.unwrap();
    assert_eq!(second_ticket.customer, first_ticket.customer);
    assert_eq!(second_ticket.number, first_ticket.number + 1);
}

async fn an_identity_given_with_a_customer_is_attached_or_refused(db: TestDatabase) {
    let app = spawn_app(db).await;
    let lead = lead();
    let mut client = app.client.clone();
    let li = client
        .create_ticket(app.req(
            &lead,
            by_identity("li@example.com", "Hello", "First contact"),
        ))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    let wang = client
        .create_ticket(app.req(
            &lead,
            by_identity("wang@example.com", "Hello", "First contact"),
        ))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_ne!(li.customer, wang.customer);
    let with_both = |customer: &str, handle: &str| {
        let mut request = by_identity(handle, "Again", "Second contact");
        request.ticket.as_mut().unwrap().customer = customer.to_owned();
        request
    };
    // A new identity is attached to the named customer: later tickets by it find them.
    client
        .create_ticket(app.req(&lead, with_both(&li.customer, "li.work@example.com")))
        .await
        .unwrap();
    let by_new_identity = client
        .create_ticket(app.req(
            &lead,
            by_identity("li.work@example.com", "Third", "Third contact"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!by_new_identity.customer_created);
    assert_eq!(by_new_identity.ticket.unwrap().customer, li.customer);
    // Another customer's identity is refused and nothing is written.
    let before = app.count("tickets").await;
    let status = client
        .create_ticket(app.req(&lead, with_both(&wang.customer, "li@example.com")))
        .await
        .unwrap_err();
    assert_eq!(super::support::precondition(&status), "IDENTITY_OWNER");
    assert_eq!(app.count("tickets").await, before);
}

async fn kind_priority_and_language_are_inferred_and_recorded(db: TestDatabase) {
    let app = spawn_app(db).await;
    let created = app
        .create(
            &lead(),
            pb::Ticket {
                description: "电暖器插上电后冒烟，有烧焦的味道，很危险！".into(),
                ..ticket(app.name("c1"), "cn-east", "电暖器冒烟了")
            },
        )
        .await;
    assert_eq!(created.kind, pb::TicketKind::TechnicalSupport as i32);
    assert_eq!(created.sub_kind, pb::TicketSubKind::Malfunction as i32);
    assert_eq!(created.priority, pb::TicketPriority::Urgent as i32);
    assert_eq!(created.language_code, "zh");
    assert_eq!(created.status, pb::TicketStatus::New as i32);
    assert_eq!(created.escalation_level, pb::EscalationLevel::Tier1 as i32);
    let classification = created.classification.unwrap();
    assert_eq!(
        classification.kind_source,
        pb::ClassificationSource::Inferred as i32
    );
    assert!(classification.kind_confidence > 0.3);
    assert_eq!(
        classification.priority_source,
        pb::ClassificationSource::Inferred as i32
    );
    assert!(classification.language_detected);
    assert_eq!(classification.classifier, "keywords-v1");

    let given = app
        .create(
            &lead(),
            pb::Ticket {
                kind: pb::TicketKind::Complaint as i32,
                priority: pb::TicketPriority::Low as i32,
                language_code: "en".into(),
                ..ticket(app.name("c1"), "cn-east", "Hello")
            },
        )
        .await;
    let classification = given.classification.unwrap();
    assert_eq!(given.kind, pb::TicketKind::Complaint as i32);
    assert_eq!(
        classification.kind_source,
        pb::ClassificationSource::Given as i32
    );
    assert_eq!(classification.kind_confidence, 0.0);
    assert_eq!(
        classification.priority_source,
        pb::ClassificationSource::Given as i32
    );
    assert!(!classification.language_detected);
}

async fn concurrent_retries_with_one_request_id_make_one_ticket(db: TestDatabase) {
    let app = spawn_app(db).await;
    let request_id = uuid::Uuid::new_v4().to_string();
    let calls = (0..8).map(|_| {
        let mut client = app.client.clone();
        let request = app.req(
            &lead(),
            pb::CreateTicketRequest {
                ticket: Some(ticket(app.name("c1"), "eu-west", "Printer jams")),
                request_id: request_id.clone(),
                ..Default::default()
            },
        );
        async move { client.create_ticket(request).await }
    });
    let results = futures::future::join_all(calls).await;
    let names: std::collections::HashSet<String> = results
        .into_iter()
        .map(|r| {
            r.expect("every retry succeeds")
                .into_inner()
                .ticket
                .unwrap()
                .name
        })
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    assert_eq!(app.count("tickets").await, 1);
    assert_eq!(
        app.count("ticket_history WHERE event_kind = 'CREATED'")
            .await,
        1
    );
}

async fn every_bad_field_is_named_and_nothing_is_written(db: TestDatabase) {
    let app = spawn_app(db).await;
    let bad = pb::CreateTicketRequest {
        ticket: Some(pb::Ticket {
            customer: "people/1".into(),
            channel: 99,
            subject: "   ".into(),
            description: String::new(),
            kind: 42,
            sub_kind: 77,
            priority: 9,
            product: Some(pb::Product {
                model: "M".repeat(65),
                ..Default::default()
            }),
            region: "EU WEST".into(),
            service_centre: "Shanghai 1".into(),
            language_code: "english!".into(),
            assignee: "bob".into(),
            team: "teams/".into(),
            tags: vec!["ok".into(), "not ok".into()],
            external_id: "x".repeat(129),
            ..Default::default()
        }),
        request_id: "not-a-uuid".into(),
        customer_display_name: "n".repeat(201),
        follow_up_of: "tickets/nope".into(),
        max_suggestions: 11,
        ..Default::default()
    };
    let status = app
        .client
        .clone()
        .create_ticket(app.req(&lead(), bad))
        .await
        .unwrap_err();
    let fields = bad_fields(&status);
    for field in [
        "ticket.customer",
        "ticket.channel",
        "ticket.subject",
        "ticket.description",
        "ticket.kind",
        "ticket.sub_kind",
        "ticket.priority",
        "ticket.product.model",
        "ticket.region",
        "ticket.service_centre",
        "ticket.language_code",
        "ticket.assignee",
        "ticket.team",
        "ticket.tags[1]",
        "ticket.external_id",
        "request_id",
        "customer_display_name",
        "follow_up_of",
        "max_suggestions",
    ] {
        assert!(
            fields.iter().any(|f| f == field),
            "{field} missing from {fields:?}"
        );
    }
    // A sub-kind of another kind, and neither customer nor identity.
    let mismatched = pb::Ticket {
        kind: pb::TicketKind::Inquiry as i32,
        sub_kind: pb::TicketSubKind::Repair as i32,
        ..ticket(app.name("c1"), "eu-west", "Repair")
    };
    let status = app
        .client
        .clone()
        .create_ticket(app.req(
            &lead(),
            pb::CreateTicketRequest {
                ticket: Some(mismatched),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["ticket.sub_kind"]);
    let anonymous = pb::Ticket {
        customer: String::new(),
        ..ticket("", "eu-west", "Who am I")
    };
    let status = app
        .client
        .clone()
        .create_ticket(app.req(
            &lead(),
            pb::CreateTicketRequest {
                ticket: Some(anonymous),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["ticket.customer"]);
    let status = app
        .client
        .clone()
        .create_ticket(app.req(&lead(), pb::CreateTicketRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["ticket"]);
    assert_eq!(app.count("tickets").await, 0);
    assert_eq!(app.count("ticket_history").await, 0);
    assert_eq!(app.count("aftercare_outbox").await, 0);
}

async fn creating_publishes_ticket_created_through_the_outbox(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut events = app
        .tickets
        .bus()
        .subscribe(
            "test",
            SubscriptionFilter::all().with_type::<ev::TicketCreated>(),
        )
        .await
        .unwrap();
    let created = app
        .create(
            &agent("a1", "eu-west"),
            ticket(app.name("c1"), "eu-west", "Where is my parcel"),
        )
        .await;
    let delivery = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("an event within 5 s")
        .expect("a delivery")
        .unwrap();
    assert_eq!(delivery.event().subject, created.name);
    assert_eq!(delivery.event().source, "tickets");
    let payload: ev::TicketCreated = decode_payload(delivery.event()).unwrap();
    let snapshot = payload.ticket.unwrap();
    assert_eq!(snapshot.number, created.number);
    assert_eq!(payload.actor.unwrap().id, "agents/a1");
    delivery.ack().await.unwrap();
}

async fn an_agent_creates_tickets_in_their_own_region_only(db: TestDatabase) {
    let app = spawn_app(db).await;
    let agent = agent("a1", "eu-west");
    let defaulted = app
        .create(
            &agent,
            pb::Ticket {
                region: String::new(),
                ..ticket(app.name("c1"), "", "No region")
            },
        )
        .await;
    assert_eq!(defaulted.region, "eu-west");
    let status = app
        .client
        .clone()
        .create_ticket(app.req(
            &agent,
            pb::CreateTicketRequest {
                ticket: Some(ticket(app.name("c1"), "cn-east", "Elsewhere")),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    assert_eq!(app.count("tickets").await, 1);
}

async fn naming_a_customer_that_does_not_exist_is_refused_and_writes_nothing(db: TestDatabase) {
    let app = spawn_app(db).await;
    for (principal, customer) in [
        (lead(), "customers/0190f3c4-0000-7000-8000-000000000000"),
        (lead(), "customers/nobody"),
        (agent("a1", "eu-west"), "customers/nobody"),
    ] {
        let status = app
            .client
            .clone()
            .create_ticket(app.req(
                &principal,
                pb::CreateTicketRequest {
                    ticket: Some(ticket(customer, "eu-west", "Ghost")),
                    ..Default::default()
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(bad_fields(&status), ["ticket.customer"], "{customer}");
    }
    assert_eq!(app.count("tickets").await, 0);
    assert_eq!(app.count("ticket_history").await, 0);
    assert_eq!(app.count("aftercare_outbox").await, 0);
}

on_both_databases!(
    naming_a_customer_that_does_not_exist_is_refused_and_writes_nothing,
    a_channel_identity_is_resolved_to_one_customer_across_tickets,
    an_identity_given_with_a_customer_is_attached_or_refused,
    kind_priority_and_language_are_inferred_and_recorded,
    concurrent_retries_with_one_request_id_make_one_ticket,
    every_bad_field_is_named_and_nothing_is_written,
    creating_publishes_ticket_created_through_the_outbox,
    an_agent_creates_tickets_in_their_own_region_only,
);

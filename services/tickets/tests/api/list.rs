//! ListTickets: filters, order and keyset pagination.

use aftercare_platform::on_both_databases;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::tickets::v1 as pb;

use super::support::{App, bad_fields, lead, spawn_app, ticket};

async fn list(
    app: &App,
    filter: &str,
    order_by: &str,
    page_size: i32,
    page_token: &str,
) -> pb::ListTicketsResponse {
    app.client
        .clone()
        .list_tickets(app.req(
            &lead(),
            pb::ListTicketsRequest {
                page_size,
                page_token: page_token.into(),
                filter: filter.into(),
                order_by: order_by.into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
}

async fn filters_select_by_every_documented_kind_of_field(db: TestDatabase) {
    let app = spawn_app(db).await;
    let urgent = app
        .create(
            &lead(),
            pb::Ticket {
                priority: pb::TicketPriority::Urgent as i32,
                tags: vec!["vip".into()],
                ..ticket(app.name("c1"), "eu-west", "Sparks from socket")
            },
        )
        .await;
    let low = app
        .create(
            &lead(),
            pb::Ticket {
                priority: pb::TicketPriority::Low as i32,
                assignee: "agents/a1".into(),
                ..ticket(app.name("c2"), "cn-east", "Colour options")
            },
        )
        .await;
    let names =
        |r: pb::ListTicketsResponse| r.tickets.into_iter().map(|t| t.name).collect::<Vec<_>>();
    assert_eq!(
        names(list(&app, "priority >= HIGH", "", 0, "").await),
        [urgent.name.as_str()]
    );
    assert_eq!(
        names(list(&app, "priority < NORMAL", "", 0, "").await),
        [low.name.as_str()]
    );
    assert_eq!(
        names(list(&app, "region = \"cn-east\"", "", 0, "").await),
        [low.name.as_str()]
    );
    assert_eq!(
        names(
            list(
                &app,
                &format!("customer = \"{}\"", app.name("c1")),
                "",
                0,
                ""
            )
            .await
        ),
        [urgent.name.as_str()]
    );
    assert_eq!(
        names(list(&app, "assignee = \"\"", "", 0, "").await),
        [urgent.name.as_str()]
    );
    assert_eq!(
        names(list(&app, "assignee = \"agents/a1\"", "", 0, "").await),
        [low.name.as_str()]
    );
    assert_eq!(
        names(list(&app, "tag = \"vip\"", "", 0, "").await),
        [urgent.name.as_str()]
    );
    assert_eq!(
        names(list(&app, "tag != \"vip\"", "", 0, "").await),
        [low.name.as_str()]
    );
    assert_eq!(
        names(list(&app, &format!("number = {}", low.number), "", 0, "").await),
        [low.name.as_str()]
    );
    assert_eq!(
        names(
            list(
                &app,
                "status = NEW AND sla_state = NONE AND sla_breached = false",
                "priority desc",
                0,
                ""
            )
            .await
        ),
        [urgent.name.as_str(), low.name.as_str()]
    );
    assert!(names(list(&app, "create_time < 2000-01-01T00:00:00Z", "", 0, "").await).is_empty());
    assert_eq!(names(list(&app, "status != NEW", "", 0, "").await).len(), 0);
    for bad in [
        "colour = RED",
        "status = SHINY",
        "priority ~ HIGH",
        "region = cn-east",
    ] {
        let status = app
            .client
            .clone()
            .list_tickets(app.req(
                &lead(),
                pb::ListTicketsRequest {
                    filter: bad.into(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(bad_fields(&status), ["filter"], "{bad}");
    }
}

async fn pages_are_stable_while_tickets_are_added(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut made = Vec::new();
    for i in 0..7 {
        made.push(
            app.create(
                &lead(),
                ticket(app.name("c1"), "eu-west", &format!("Ticket {i}")),
            )
            .await
            .name,
        );
    }
    // Oldest first, three at a time, with a new ticket created between pages.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = list(&app, "", "create_time", 3, &token).await;
        assert!(page.tickets.len() <= 3);
        seen.extend(page.tickets.into_iter().map(|t| t.name));
        app.create(
            &lead(),
            ticket(app.name("c9"), "eu-west", "Arrives meanwhile"),
        )
        .await;
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(&seen[..7], &made[..]);
    let unique: std::collections::HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no ticket twice");
    // Newest first by default; a token is bound to its query.
    let newest = list(
        &app,
        &format!("customer = \"{}\"", app.name("c1")),
        "",
        2,
        "",
    )
    .await;
    assert_eq!(newest.tickets[0].name, made[6]);
    let status = app
        .client
        .clone()
        .list_tickets(app.req(
            &lead(),
            pb::ListTicketsRequest {
                page_token: newest.next_page_token,
                filter: "status = NEW".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["page_token"]);
    let status = app
        .client
        .clone()
        .list_tickets(app.req(
            &lead(),
            pb::ListTicketsRequest {
                order_by: "subject".into(),
                page_size: -1,
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["page_size", "order_by"]);
}

on_both_databases!(
    filters_select_by_every_documented_kind_of_field,
    pages_are_stable_while_tickets_are_added,
);

//! Status methods, updates under etags and field masks, assignment, escalation, tags and
//! history.

use aftercare_platform::on_both_databases;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::tickets::v1 as pb;
use prost_types::FieldMask;

use super::support::{App, agent, bad_fields, lead, precondition, spawn_app, ticket};

use pb::TicketStatus as S;

async fn change(app: &App, t: &pb::Ticket, status: S) -> Result<pb::Ticket, tonic::Status> {
    app.client
        .clone()
        .change_ticket_status(app.req(
            &lead(),
            pb::ChangeTicketStatusRequest {
                name: t.name.clone(),
                etag: t.etag.clone(),
                status: status as i32,
                reason: "testing".into(),
            },
        ))
        .await
        .map(|r| r.into_inner().ticket.unwrap())
}

async fn resolve(app: &App, t: &pb::Ticket) -> Result<pb::Ticket, tonic::Status> {
    app.client
        .clone()
        .resolve_ticket(app.req(
            &lead(),
            pb::ResolveTicketRequest {
                name: t.name.clone(),
                etag: t.etag.clone(),
                resolution_summary: "replaced the fuse".into(),
            },
        ))
        .await
        .map(|r| r.into_inner().ticket.unwrap())
}

async fn close(app: &App, t: &pb::Ticket, reason: &str) -> Result<pb::Ticket, tonic::Status> {
    app.client
        .clone()
        .close_ticket(app.req(
            &lead(),
            pb::CloseTicketRequest {
                name: t.name.clone(),
                etag: t.etag.clone(),
                reason: reason.into(),
            },
        ))
        .await
        .map(|r| r.into_inner().ticket.unwrap())
}

async fn reopen(app: &App, t: &pb::Ticket) -> Result<pb::Ticket, tonic::Status> {
    app.client
        .clone()
        .reopen_ticket(app.req(
            &lead(),
            pb::ReopenTicketRequest {
                name: t.name.clone(),
                etag: t.etag.clone(),
                reason: "customer says it broke again".into(),
            },
        ))
        .await
        .map(|r| r.into_inner().ticket.unwrap())
}

async fn new_ticket(app: &App) -> pb::Ticket {
    app.create(&lead(), ticket(app.name("c1"), "eu-west", "Fridge is warm"))
        .await
}

async fn the_working_statuses_move_freely_and_pause_the_sla_clock(db: TestDatabase) {
    let app = spawn_app(db).await;
    let t = new_ticket(&app).await;
    let t = change(&app, &t, S::Pending).await.unwrap();
    assert_eq!(t.status, S::Pending as i32);
    assert!(t.sla.as_ref().unwrap().paused);
    let t = change(&app, &t, S::OnHold).await.unwrap();
    assert_eq!(t.status, S::OnHold as i32);
    let t = change(&app, &t, S::Open).await.unwrap();
    assert_eq!(t.status, S::Open as i32);
    assert!(!t.sla.as_ref().unwrap().paused);
    // Setting the current status is a no-op that succeeds and keeps the etag.
    let same = change(&app, &t, S::Open).await.unwrap();
    assert_eq!(same.etag, t.etag);
    // Resolve, close and reopen have their own methods.
    for status in [S::Resolved, S::Closed, S::New] {
        let status = change(&app, &t, status).await.unwrap_err();
        assert_eq!(bad_fields(&status), ["status"]);
    }
}

async fn resolve_close_and_reopen_follow_the_transition_table(db: TestDatabase) {
    let app = spawn_app(db).await;
    let t = new_ticket(&app).await;
    let resolved = resolve(&app, &t).await.unwrap();
    assert_eq!(resolved.status, S::Resolved as i32);
    assert_eq!(resolved.resolution_summary, "replaced the fuse");
    assert!(resolved.sla.as_ref().unwrap().resolve_time.is_some());
    assert!(resolved.sla.as_ref().unwrap().resolution_duration.is_some());
    // Resolved → resolved, and resolved → pending are refused, nothing changes.
    assert_eq!(
        precondition(&resolve(&app, &resolved).await.unwrap_err()),
        "STATUS_TRANSITION"
    );
    assert_eq!(
        precondition(&change(&app, &resolved, S::Pending).await.unwrap_err()),
        "STATUS_TRANSITION"
    );
    let unchanged = app.get(&lead(), &t.name).await.unwrap();
    assert_eq!(unchanged.etag, resolved.etag);
    // Closing a resolved ticket needs no reason; reopening clears the resolution.
    let closed = close(&app, &resolved, "").await.unwrap();
    assert_eq!(closed.status, S::Closed as i32);
    assert!(closed.close_time.is_some());
    assert_eq!(
        precondition(&close(&app, &closed, "again").await.unwrap_err()),
        "STATUS_TRANSITION"
    );
    let reopened = reopen(&app, &closed).await.unwrap();
    assert_eq!(reopened.status, S::Open as i32);
    assert_eq!(reopened.reopen_count, 1);
    assert!(reopened.resolution_summary.is_empty());
    assert!(reopened.close_time.is_none());
    // Reopening an open ticket is refused.
    assert_eq!(
        precondition(&reopen(&app, &reopened).await.unwrap_err()),
        "STATUS_TRANSITION"
    );
    // Closing an open ticket needs a reason.
    assert_eq!(
        bad_fields(&close(&app, &reopened, "").await.unwrap_err()),
        ["reason"]
    );
    let spam = close(&app, &reopened, "spam").await.unwrap();
    assert_eq!(spam.status, S::Closed as i32);
}

async fn a_stale_etag_is_refused_and_nothing_changes(db: TestDatabase) {
    let app = spawn_app(db).await;
    let t = new_ticket(&app).await;
    let moved = change(&app, &t, S::Open).await.unwrap();
    assert_ne!(moved.etag, t.etag);
    let status = change(&app, &t, S::Pending).await.unwrap_err();
    assert_eq!(precondition(&status), "ETAG");
    let update = app
        .client
        .clone()
        .update_ticket(app.req(
            &lead(),
            pb::UpdateTicketRequest {
                ticket: Some(pb::Ticket {
                    subject: "lost update".into(),
                    ..t.clone()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["subject".into()],
                }),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(precondition(&update), "ETAG");
    let now = app.get(&lead(), &t.name).await.unwrap();
    assert_eq!(now.status, S::Open as i32);
    assert_eq!(now.subject, "Fridge is warm");
    assert_eq!(now.etag, moved.etag);
}

async fn updates_change_only_the_masked_fields(db: TestDatabase) {
    let app = spawn_app(db).await;
    let t = new_ticket(&app).await;
    let updated = app
        .client
        .clone()
        .update_ticket(app.req(
            &lead(),
            pb::UpdateTicketRequest {
                ticket: Some(pb::Ticket {
                    subject: "Fridge is warm and noisy".into(),
                    description: "ignored: not in the mask".into(),
                    kind: pb::TicketKind::AfterSales as i32,
                    sub_kind: pb::TicketSubKind::Repair as i32,
                    tags: vec!["VIP".into(), "fridge".into()],
                    product: Some(pb::Product {
                        model: "BCD-500".into(),
                        ..Default::default()
                    }),
                    ..t.clone()
                }),
                update_mask: Some(FieldMask {
                    paths: vec![
                        "subject".into(),
                        "kind".into(),
                        "sub_kind".into(),
                        "tags".into(),
                        "product.model".into(),
                    ],
                }),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(updated.subject, "Fridge is warm and noisy");
    assert_eq!(updated.description, t.description);
    assert_eq!(updated.kind, pb::TicketKind::AfterSales as i32);
    assert_eq!(updated.tags, ["fridge", "vip"]);
    assert_eq!(updated.product.as_ref().unwrap().model, "BCD-500");
    let classification = updated.classification.unwrap();
    assert_eq!(
        classification.kind_source,
        pb::ClassificationSource::Given as i32
    );
    // Status and assignment are not updatable; an empty mask is refused.
    for (paths, field) in [
        (vec!["status".to_owned()], "update_mask"),
        (vec![], "update_mask"),
        (vec!["subject".to_owned()], "ticket.subject"),
    ] {
        let status = app
            .client
            .clone()
            .update_ticket(app.req(
                &lead(),
                pb::UpdateTicketRequest {
                    ticket: Some(pb::Ticket {
                        subject: String::new(),
                        etag: updated.etag.clone(),
                        ..t.clone()
                    }),
                    update_mask: Some(FieldMask { paths }),
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(bad_fields(&status), [field]);
    }
    // The tag filter sees the new tags.
    let listed = app
        .client
        .clone()
        .list_tickets(app.req(
            &lead(),
            pb::ListTicketsRequest {
                filter: "tag = \"vip\"".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.tickets.len(), 1);
}

async fn assigning_an_agent_opens_a_new_ticket_and_escalation_only_goes_up(db: TestDatabase) {
    let app = spawn_app(db).await;
    let t = new_ticket(&app).await;
    let assigned = app
        .client
        .clone()
        .assign_ticket(app.req(
            &lead(),
            pb::AssignTicketRequest {
                name: t.name.clone(),
                etag: t.etag.clone(),
                assignee: "agents/a1".into(),
                team: "teams/fridges".into(),
                reason: "fridge expert".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(assigned.assignee, "agents/a1");
    assert_eq!(assigned.team, "teams/fridges");
    assert_eq!(assigned.status, S::Open as i32);
    let escalate = |etag: String, level: pb::EscalationLevel| {
        let mut client = app.client.clone();
        let request = app.req(
            &lead(),
            pb::EscalateTicketRequest {
                name: t.name.clone(),
                etag,
                level: level as i32,
                reason: "needs a specialist".into(),
                assignee: "agents/s1".into(),
                ..Default::default()
            },
        );
        async move {
            client
                .escalate_ticket(request)
                .await
                .map(|r| r.into_inner().ticket.unwrap())
        }
    };
    let escalated = escalate(assigned.etag.clone(), pb::EscalationLevel::Unspecified)
        .await
        .unwrap();
    assert_eq!(
        escalated.escalation_level,
        pb::EscalationLevel::Specialist as i32
    );
    assert_eq!(escalated.assignee, "agents/s1");
    assert_eq!(escalated.team, "teams/fridges");
    let status = escalate(escalated.etag.clone(), pb::EscalationLevel::Tier1)
        .await
        .unwrap_err();
    assert_eq!(precondition(&status), "ESCALATION_LEVEL");
    let lead_level = escalate(escalated.etag.clone(), pb::EscalationLevel::Lead)
        .await
        .unwrap();
    let status = escalate(lead_level.etag.clone(), pb::EscalationLevel::Unspecified)
        .await
        .unwrap_err();
    assert_eq!(precondition(&status), "ESCALATION_LEVEL");
    // Assigning needs someone to assign to.
    let status = app
        .client
        .clone()
        .assign_ticket(app.req(
            &lead(),
            pb::AssignTicketRequest {
                name: t.name.clone(),
                etag: lead_level.etag,
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["assignee"]);
}

async fn tags_are_added_and_removed_without_an_etag(db: TestDatabase) {
    let app = spawn_app(db).await;
    let t = new_ticket(&app).await;
    let mut client = app.client.clone();
    let added = client
        .add_ticket_tags(app.req(
            &lead(),
            pb::AddTicketTagsRequest {
                name: t.name.clone(),
                tags: vec!["Warranty".into(), "vip".into()],
                etag: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(added.tags, ["vip", "warranty"]);
    let same = client
        .add_ticket_tags(app.req(
            &lead(),
            pb::AddTicketTagsRequest {
                name: t.name.clone(),
                tags: vec!["vip".into()],
                etag: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(same.etag, added.etag);
    let removed = client
        .remove_ticket_tags(app.req(
            &lead(),
            pb::RemoveTicketTagsRequest {
                name: t.name.clone(),
                tags: vec!["vip".into(), "absent".into()],
                etag: added.etag.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(removed.tags, ["warranty"]);
    let status = client
        .add_ticket_tags(app.req(
            &lead(),
            pb::AddTicketTagsRequest {
                name: t.name.clone(),
                tags: vec!["bad tag".into()],
                etag: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["tags[0]"]);
    let stale = client
        .remove_ticket_tags(app.req(
            &lead(),
            pb::RemoveTicketTagsRequest {
                name: t.name.clone(),
                tags: vec!["warranty".into()],
                etag: added.etag,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(precondition(&stale), "ETAG");
}

async fn every_change_is_in_the_history_with_who_and_what(db: TestDatabase) {
    let app = spawn_app(db).await;
    let t = new_ticket(&app).await;
    let opened = change(&app, &t, S::Pending).await.unwrap();
    let _ = resolve(&app, &opened).await.unwrap();
    let history = app
        .client
        .clone()
        .list_ticket_history(app.req(
            &agent("a9", "eu-west"),
            pb::ListTicketHistoryRequest {
                parent: t.name.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .history_entries;
    use pb::HistoryEventKind as K;
    let kinds: Vec<i32> = history.iter().map(|h| h.event_kind).collect();
    assert_eq!(
        kinds,
        [
            K::Created as i32,
            K::Classified as i32,
            K::StatusChanged as i32,
            K::SlaPausedOrResumed as i32,
            K::StatusChanged as i32,
            K::SlaPausedOrResumed as i32,
        ]
    );
    let pending = &history[2];
    assert_eq!(pending.actor.as_ref().unwrap().id, "agents/lead");
    assert_eq!(pending.reason, "testing");
    assert_eq!(pending.changes[0].field, "status");
    assert_eq!(pending.changes[0].old_value, "NEW");
    assert_eq!(pending.changes[0].new_value, "PENDING");
    assert!(pending.name.starts_with(&format!("{}/history/", t.name)));
    // Filtered by field, and paged.
    let mut client = app.client.clone();
    let page = client
        .list_ticket_history(app.req(
            &lead(),
            pb::ListTicketHistoryRequest {
                parent: t.name.clone(),
                filter: "field = \"status\"".into(),
                page_size: 1,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.history_entries.len(), 1);
    let next = client
        .list_ticket_history(app.req(
            &lead(),
            pb::ListTicketHistoryRequest {
                parent: t.name.clone(),
                filter: "field = \"status\"".into(),
                page_size: 1,
                page_token: page.next_page_token.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(next.history_entries.len(), 1);
    assert_eq!(next.history_entries[0].changes[0].new_value, "RESOLVED");
    assert!(next.next_page_token.is_empty());
    let status = client
        .list_ticket_history(app.req(
            &lead(),
            pb::ListTicketHistoryRequest {
                parent: t.name.clone(),
                filter: "colour = \"red\"".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["filter"]);
}

async fn a_resolved_ticket_is_closed_automatically_after_the_period(db: TestDatabase) {
    let app = spawn_app(db).await;
    let t = new_ticket(&app).await;
    let resolved = resolve(&app, &t).await.unwrap();
    assert_eq!(resolved.status, S::Resolved as i32);
    // As if it had been resolved long ago.
    sqlx::query("UPDATE tickets SET resolve_time = 0")
        .execute(app.tickets.db().writer())
        .await
        .unwrap();
    let mut status = resolved.status;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        status = app.get(&lead(), &t.name).await.unwrap().status;
        if status == S::Closed as i32 {
            break;
        }
    }
    assert_eq!(status, S::Closed as i32);
    let other = new_ticket(&app).await;
    let recent = resolve(&app, &other).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(
        app.get(&lead(), &recent.name).await.unwrap().status,
        S::Resolved as i32
    );
}

on_both_databases!(
    a_resolved_ticket_is_closed_automatically_after_the_period,
    the_working_statuses_move_freely_and_pause_the_sla_clock,
    resolve_close_and_reopen_follow_the_transition_table,
    a_stale_etag_is_refused_and_nothing_changes,
    updates_change_only_the_masked_fields,
    assigning_an_agent_opens_a_new_ticket_and_escalation_only_goes_up,
    tags_are_added_and_removed_without_an_etag,
    every_change_is_in_the_history_with_who_and_what,
);

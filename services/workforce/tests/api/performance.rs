//! Performance from ticket and feedback events (either order), scorecards, recognitions.

use std::time::Duration;

use aftercare_platform::auth::Role;
use aftercare_platform::testing::{TestDatabase, poll_until};
use aftercare_platform::time::{now_micros, to_timestamp};
use aftercare_proto::aftercare::common::v1::{Actor, ActorType, Interval};
use aftercare_proto::aftercare::events::v1::{
    SurveyResponseReceived, TicketAssigned, TicketReopened, TicketReplied, TicketResolved,
    TicketSnapshot,
};
use aftercare_proto::aftercare::tickets::v1::{MessageVisibility, TicketStatus};
use aftercare_proto::aftercare::workforce::v1 as pb;
use aftercare_proto::aftercare::workforce::v1::performance_service_client::PerformanceServiceClient;
use tonic::Code;
use tonic::transport::Channel;

use super::harness::{
    App, admin, agent, analyst, as_agent, bad_fields, customer, event, spawn_app,
};

aftercare_platform::on_both_databases!(
    ticket_and_survey_events_make_an_agents_figures_in_either_order,
    scorecards_rank_agents_and_teams_sum_their_members,
    recognitions_are_awarded_listed_and_never_to_oneself,
);

fn client(app: &App) -> PerformanceServiceClient<Channel> {
    PerformanceServiceClient::new(app.service.channel())
}

fn snapshot(ticket: &str, assignee: &str, status: TicketStatus, micros: i64) -> TicketSnapshot {
    TicketSnapshot {
        name: ticket.into(),
        assignee: assignee.into(),
        status: status as i32,
        update_time: Some(to_timestamp(micros)),
        ..Default::default()
    }
}

fn minutes(n: i64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: n * 60,
        nanos: 0,
    }
}

/// Assigns, answers and resolves a ticket for `agent`.
async fn work(app: &App, agent: &str, at: i64, sla_met: bool, first: i64) -> String {
    let ticket = format!("tickets/{}", uuid::Uuid::now_v7());
    app.publish(&event(
        &ticket,
        at,
        &TicketAssigned {
            ticket: Some(snapshot(&ticket, agent, TicketStatus::Open, at)),
            ..Default::default()
        },
    ))
    .await;
    app.publish(&event(
        &ticket,
        at + 1,
        &TicketReplied {
            ticket: Some(snapshot(&ticket, agent, TicketStatus::Open, at + 1)),
            actor: Some(Actor {
                r#type: ActorType::Agent as i32,
                id: agent.into(),
                display_name: String::new(),
            }),
            visibility: MessageVisibility::Public as i32,
            first_response: true,
            create_time: Some(to_timestamp(at + 1)),
            ..Default::default()
        },
    ))
    .await;
    app.publish(&event(
        &ticket,
        at + 2,
        &TicketResolved {
            ticket: Some(snapshot(&ticket, agent, TicketStatus::Resolved, at + 2)),
            resolve_time: Some(to_timestamp(at + 2)),
            first_response_duration: Some(minutes(first)),
            resolution_duration: Some(minutes(60)),
            sla_met,
            ..Default::default()
        },
    ))
    .await;
    ticket
}

fn survey(ticket: &str, agent: &str, score: i32, at: i64) -> aftercare_platform::events::Event {
    let mut e = event(
        ticket,
        at,
        &SurveyResponseReceived {
            response: format!("responses/{}", uuid::Uuid::now_v7()),
            ticket: ticket.into(),
            csat_score: Some(score),
            agent: agent.into(),
            receive_time: Some(to_timestamp(at)),
            ..Default::default()
        },
    );
    e.source = "feedback".into();
    e
}

async fn performance(
    app: &App,
    who: &aftercare_platform::auth::Principal,
    agent: &str,
) -> Result<pb::GetAgentPerformanceResponse, tonic::Status> {
    client(app)
        .get_agent_performance(app.req(
            who,
            pb::GetAgentPerformanceRequest {
                agent: agent.into(),
                interval: Interval::Day as i32,
                ..Default::default()
            },
        ))
        .await
        .map(tonic::Response::into_inner)
}

async fn ticket_and_survey_events_make_an_agents_figures_in_either_order(db: TestDatabase) {
    let app = spawn_app(db).await;
    let ada = app
        .create_agent(agent("Ada", "ada@example.com", "eu-west"))
        .await;
    let now = now_micros() - 60_000_000;
    let first = work(&app, &ada.name, now, true, 10).await;
    // A survey that arrives before its ticket's resolution waits for it.
    let second = format!("tickets/{}", uuid::Uuid::now_v7());
    app.publish(&survey(&second, "", 2, now + 5)).await;
    app.publish(&survey(&first, "", 5, now + 6)).await;
    app.publish(&event(
        &second,
        now + 10,
        &TicketAssigned {
            ticket: Some(snapshot(&second, &ada.name, TicketStatus::Open, now + 10)),
            ..Default::default()
        },
    ))
    .await;
    app.publish(&event(
        &second,
        now + 12,
        &TicketResolved {
            ticket: Some(snapshot(
                &second,
                &ada.name,
                TicketStatus::Resolved,
                now + 12,
            )),
            resolve_time: Some(to_timestamp(now + 12)),
            first_response_duration: Some(minutes(30)),
            resolution_duration: Some(minutes(120)),
            sla_met: false,
            ..Default::default()
        },
    ))
    .await;
    app.publish(&event(
        &first,
        now + 20,
        &TicketReopened {
            ticket: Some(snapshot(&first, &ada.name, TicketStatus::Open, now + 20)),
            ..Default::default()
        },
    ))
    .await;
    let me = as_agent(&ada.name, Role::Agent);
    let figures = poll_until("ada's figures", Duration::from_secs(5), || async {
        let r = performance(&app, &me, &ada.name).await.ok()?;
        let m = r.metrics?;
        (m.csat_responses == 2 && m.reopened == 1 && m.tickets_resolved == 2).then_some(r)
    })
    .await;
    let m = figures.metrics.unwrap();
    assert_eq!(m.tickets_assigned, 2);
    assert_eq!(m.tickets_handled, 1);
    assert_eq!(m.resolution_rate, 1.0);
    assert_eq!(m.csat_average, 3.5);
    assert_eq!(m.sla_targets_met, 1);
    assert_eq!(m.sla_targets_breached, 1);
    assert_eq!(m.sla_compliance_rate, 0.5);
    assert_eq!(m.first_response_time_mean, Some(minutes(20)));
    assert_eq!(m.resolution_time_mean, Some(minutes(90)));
    assert!(!figures.buckets.is_empty());
    let in_buckets: i64 = figures
        .buckets
        .iter()
        .map(|b| b.metrics.as_ref().unwrap().tickets_resolved)
        .sum();
    assert_eq!(in_buckets, 2);
    // Another agent may not read Ada's figures; an analyst may.
    let bo = app
        .create_agent(agent("Bo", "bo@example.com", "eu-west"))
        .await;
    let denied = performance(&app, &as_agent(&bo.name, Role::Agent), &ada.name)
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert!(performance(&app, &analyst(), &ada.name).await.is_ok());
    let bad = client(&app)
        .get_agent_performance(app.req(
            &admin(),
            pb::GetAgentPerformanceRequest {
                agent: "agents/x".into(),
                start_time: Some(to_timestamp(now)),
                end_time: Some(to_timestamp(now - 1)),
                interval: 9,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&bad), ["agent", "start_time", "interval"]);
}

async fn scorecards_rank_agents_and_teams_sum_their_members(db: TestDatabase) {
    let app = spawn_app(db).await;
    let team = app
        .create_team("EU washers", "eu-west", pb::EscalationTier::FirstLine)
        .await;
    let ada = app
        .create_agent(agent("Ada", "ada@example.com", "eu-west"))
        .await;
    let bo = app
        .create_agent(agent("Bo", "bo@example.com", "eu-west"))
        .await;
    let cy = app
        .create_agent(agent("Cy", "cy@example.com", "cn-east"))
        .await;
    app.add_member(&team.name, &ada.name).await;
    app.add_member(&team.name, &bo.name).await;
    let now = now_micros() - 60_000_000;
    work(&app, &ada.name, now, true, 5).await;
    work(&app, &bo.name, now, false, 5).await;
    work(&app, &cy.name, now, true, 5).await;
    let cards = poll_until("three scorecards", Duration::from_secs(5), || async {
        let r = client(&app)
            .list_scorecards(app.req(&analyst(), pb::ListScorecardsRequest::default()))
            .await
            .ok()?
            .into_inner();
        (r.scorecards.len() == 3).then_some(r)
    })
    .await;
    let order: Vec<&str> = cards
        .scorecards
        .iter()
        .map(|c| c.display_name.as_str())
        .collect();
    assert_eq!(order, ["Ada", "Cy", "Bo"]);
    assert_eq!(cards.scorecards[0].score, 100.0);
    assert_eq!(cards.scorecards[2].rank, 3);
    let paged = client(&app)
        .list_scorecards(app.req(
            &analyst(),
            pb::ListScorecardsRequest {
                page_size: 2,
                filter: r#"region = "eu-west""#.into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(paged.scorecards.len(), 2);
    assert!(paged.next_page_token.is_empty());
    let team_figures = client(&app)
        .get_team_performance(app.req(
            &as_agent(&ada.name, Role::Agent),
            pb::GetTeamPerformanceRequest {
                team: team.name.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(team_figures.contributing_agents, 2);
    assert_eq!(team_figures.metrics.unwrap().tickets_resolved, 2);
    let denied = client(&app)
        .list_scorecards(app.req(
            &as_agent(&ada.name, Role::Agent),
            pb::ListScorecardsRequest::default(),
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let bad = client(&app)
        .list_scorecards(app.req(
            &analyst(),
            pb::ListScorecardsRequest {
                order_by: "luck desc".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&bad), ["order_by"]);
}

async fn recognitions_are_awarded_listed_and_never_to_oneself(db: TestDatabase) {
    let app = spawn_app(db).await;
    let ada = app
        .create_agent(agent("Ada", "ada@example.com", "eu-west"))
        .await;
    let bo = app
        .create_agent(agent("Bo", "bo@example.com", "eu-west"))
        .await;
    let award =
        |to: &str, badge: pb::RecognitionBadge, request_id: &str| pb::CreateRecognitionRequest {
            recognition: Some(pb::Recognition {
                agent: to.into(),
                badge: badge as i32,
                reason: "Stayed late to fix a <b>flooded</b> kitchen".into(),
                references: vec!["tickets/0192f0c4-0000-7000-8000-000000000001".into()],
                ..Default::default()
            }),
            request_id: request_id.into(),
        };
    let as_bo = as_agent(&bo.name, Role::Agent);
    let key = "0192f0c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b";
    let first = client(&app)
        .create_recognition(app.req(
            &as_bo,
            award(&ada.name, pb::RecognitionBadge::CustomerHero, key),
        ))
        .await
        .unwrap()
        .into_inner()
        .recognition
        .unwrap();
    assert_eq!(first.reason, "Stayed late to fix a <b>flooded</b> kitchen");
    assert_eq!(first.awarded_by.as_ref().unwrap().id, bo.name);
    let again = client(&app)
        .create_recognition(app.req(
            &as_bo,
            award(&ada.name, pb::RecognitionBadge::CustomerHero, key),
        ))
        .await
        .unwrap()
        .into_inner()
        .recognition
        .unwrap();
    assert_eq!(first, again);
    client(&app)
        .create_recognition(app.req(&admin(), award(&ada.name, pb::RecognitionBadge::Mentor, "")))
        .await
        .unwrap();
    let oneself = client(&app)
        .create_recognition(app.req(&as_bo, award(&bo.name, pb::RecognitionBadge::Mentor, "")))
        .await
        .unwrap_err();
    assert_eq!(oneself.code(), Code::PermissionDenied);
    let mentors = client(&app)
        .list_recognitions(app.req(
            &as_bo,
            pb::ListRecognitionsRequest {
                filter: format!(r#"agent = "{}" AND badge = MENTOR"#, ada.name),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mentors.recognitions.len(), 1);
    let all = client(&app)
        .list_recognitions(app.req(
            &as_bo,
            pb::ListRecognitionsRequest {
                page_size: 1,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        all.recognitions[0].badge,
        pb::RecognitionBadge::Mentor as i32,
        "newest first"
    );
    assert!(!all.next_page_token.is_empty());
    // One recognition by name: staff read it, a customer does not, a bad name is named.
    let get = |principal: aftercare_platform::auth::Principal, name: &str| {
        let mut client = client(&app);
        let request = app.req(&principal, pb::GetRecognitionRequest { name: name.into() });
        async move { client.get_recognition(request).await }
    };
    let read = get(as_bo.clone(), &first.name)
        .await
        .expect("staff read a recognition")
        .into_inner()
        .recognition
        .unwrap();
    assert_eq!(read, first);
    let hidden = get(customer(), &first.name).await.unwrap_err();
    assert_eq!(hidden.code(), Code::PermissionDenied);
    assert_eq!(
        bad_fields(&get(admin(), "kudos/1").await.unwrap_err()),
        ["name"]
    );
    let missing = get(admin(), "recognitions/0192f0c4-0000-7000-8000-0000000000ff")
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let bad = client(&app)
        .create_recognition(app.req(
            &admin(),
            pb::CreateRecognitionRequest {
                recognition: Some(pb::Recognition {
                    agent: String::new(),
                    badge: 0,
                    reason: String::new(),
                    references: vec!["not a name".into()],
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&bad),
        [
            "recognition.agent",
            "recognition.badge",
            "recognition.reason",
            "recognition.references[0]"
        ]
    );
    let denied = client(&app)
        .list_recognitions(app.req(&customer(), pb::ListRecognitionsRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}

//! Presence: set (a heartbeat), get, watch.

use aftercare_platform::auth::Role;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::workforce::v1 as pb;
use futures::StreamExt as _;
use std::time::Duration;
use tonic::Code;

use super::harness::{
    App, admin, agent, always, as_agent, bad_fields, customer, precondition, spawn_app,
};

aftercare_platform::on_both_databases!(
    agents_set_their_own_presence_and_a_change_is_published_once,
    inactive_agents_can_only_be_offline,
    a_watch_sends_a_snapshot_then_live_changes,
);

async fn presence_events(app: &App) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM aftercare_outbox WHERE event_type = $1")
        .bind("aftercare.events.v1.PresenceChanged")
        .fetch_one(app.service.db().reader())
        .await
        .unwrap()
}

async fn agents_set_their_own_presence_and_a_change_is_published_once(db: TestDatabase) {
    let app = spawn_app(db).await;
    let shift = app.create_shift("Always", "UTC", always()).await;
    let mut a = agent("Ada", "ada@example.com", "eu-west");
    a.shift = shift.name.clone();
    let ada = app.create_agent(a).await;
    let bob = app
        .create_agent(agent("Bob", "bob@example.com", "eu-west"))
        .await;
    let me = as_agent(&ada.name, Role::Agent);
    let set = |state: pb::PresenceState, message: &str| pb::SetPresenceRequest {
        name: format!("{}/presence", ada.name),
        state: state as i32,
        status_message: message.into(),
        active_tickets: None,
    };
    let first = app
        .client()
        .set_presence(app.req(&me, set(pb::PresenceState::Available, "")))
        .await
        .unwrap()
        .into_inner()
        .presence
        .unwrap();
    assert_eq!(first.state, pb::PresenceState::Available as i32);
    assert!(first.on_shift);
    assert_eq!(first.capacity, 5);
    let heartbeat = app
        .client()
        .set_presence(app.req(&me, set(pb::PresenceState::Available, "<b>on calls</b>")))
        .await
        .unwrap()
        .into_inner()
        .presence
        .unwrap();
    assert_eq!(heartbeat.status_message, "<b>on calls</b>");
    assert_eq!(presence_events(&app).await, 1);
    let read = app
        .client()
        .get_presence(app.req(
            &me,
            pb::GetPresenceRequest {
                name: format!("{}/presence", ada.name),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .presence
        .unwrap();
    assert_eq!(read.state, pb::PresenceState::Available as i32);
    assert_eq!(
        app.get_agent(&ada.name).await.presence_state,
        pb::PresenceState::Available as i32
    );
    let others = app
        .client()
        .set_presence(app.req(
            &as_agent(&bob.name, Role::Agent),
            set(pb::PresenceState::Away, ""),
        ))
        .await
        .unwrap_err();
    assert_eq!(others.code(), Code::PermissionDenied);
    let bad = app
        .client()
        .set_presence(app.req(
            &me,
            pb::SetPresenceRequest {
                name: ada.name.clone(),
                state: 0,
                status_message: "x".repeat(201),
                active_tickets: Some(-1),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&bad),
        ["name", "state", "status_message", "active_tickets"]
    );
    let denied = app
        .client()
        .get_presence(app.req(
            &customer(),
            pb::GetPresenceRequest {
                name: format!("{}/presence", ada.name),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}

async fn inactive_agents_can_only_be_offline(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut a = agent("Ada", "ada@example.com", "eu-west");
    a.state = pb::AgentState::Inactive as i32;
    let ada = app.create_agent(a).await;
    let refused = app
        .client()
        .set_presence(app.req(
            &admin(),
            pb::SetPresenceRequest {
                name: format!("{}/presence", ada.name),
                state: pb::PresenceState::Available as i32,
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(precondition(&refused), "STATE");
    assert_eq!(presence_events(&app).await, 0);
}

async fn a_watch_sends_a_snapshot_then_live_changes(db: TestDatabase) {
    let app = spawn_app(db).await;
    let team = app
        .create_team("EU washers", "eu-west", pb::EscalationTier::FirstLine)
        .await;
    let ada = app
        .create_agent(agent("Ada", "ada@example.com", "eu-west"))
        .await;
    let bob = app
        .create_agent(agent("Bob", "bob@example.com", "eu-west"))
        .await;
    app.add_member(&team.name, &ada.name).await;
    let mut stream = app
        .client()
        .watch_presence(app.req(
            &admin(),
            pb::WatchPresenceRequest {
                filter: format!(r#"team = "{}""#, team.name),
                skip_snapshot: false,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let first = stream.next().await.unwrap().unwrap();
    assert!(first.snapshot && first.snapshot_complete);
    assert_eq!(first.presence.unwrap().agent_display_name, "Ada");
    // Bob is not in the team: his change is not sent; Ada's is.
    app.set_presence(&bob.name, pb::PresenceState::Available)
        .await;
    app.set_presence(&ada.name, pb::PresenceState::Away).await;
    let live = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("ada's change arrives within 5 s")
        .unwrap()
        .unwrap();
    assert!(!live.snapshot);
    let presence = live.presence.unwrap();
    assert_eq!(presence.agent_display_name, "Ada");
    assert_eq!(presence.state, pb::PresenceState::Away as i32);
    let bad = app
        .client()
        .watch_presence(app.req(
            &admin(),
            pb::WatchPresenceRequest {
                filter: "mood = HAPPY".into(),
                skip_snapshot: false,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&bad), ["filter"]);
}

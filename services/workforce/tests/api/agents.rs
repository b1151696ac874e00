//! Agents: create (idempotent), get, list (filters, pages, text), update (etags, leads),
//! delete (soft), and who may do what.

use aftercare_platform::auth::Role;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::workforce::v1 as pb;
use tonic::Code;

use super::harness::{
    App, admin, agent, analyst, as_agent, bad_fields, customer, precondition, spawn_app,
};

aftercare_platform::on_both_databases!(
    an_agent_is_created_with_defaults_and_read_back,
    a_create_with_a_request_id_is_replayed_and_a_reused_key_is_refused,
    bad_agents_name_every_bad_field_and_nothing_is_written,
    emails_are_unique_among_agents,
    skills_and_shifts_must_exist,
    a_stale_etag_is_refused_and_nothing_changes,
    leads_change_their_members_working_set_up_but_not_roles,
    agents_read_themselves_and_their_teammates_only,
    lists_filter_page_and_search,
    a_deleted_agent_stays_readable_and_leaves_its_teams,
);

async fn outbox(app: &App, event_type: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM aftercare_outbox WHERE event_type = $1")
        .bind(event_type.to_owned())
        .fetch_one(app.service.db().reader())
        .await
        .unwrap()
}

async fn agents_count(app: &App) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM agents")
        .fetch_one(app.service.db().reader())
        .await
        .unwrap()
}

async fn an_agent_is_created_with_defaults_and_read_back(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut new = agent("  Li Wei ", "Li.Wei@Example.COM", "cn-east");
    new.languages = vec!["zh_cn".into(), "en".into()];
    let created = app.create_agent(new).await;
    assert!(created.name.starts_with("agents/"));
    assert_eq!(created.display_name, "Li Wei");
    assert_eq!(created.email, "li.wei@example.com");
    assert_eq!(created.languages, ["zh-CN", "en"]);
    assert_eq!(created.max_concurrent_tickets, 5);
    assert_eq!(created.state, pb::AgentState::Active as i32);
    assert_eq!(created.presence_state, pb::PresenceState::Offline as i32);
    assert_eq!(created.etag, "\"1\"");
    assert_eq!(app.get_agent(&created.name).await, created);
    assert_eq!(outbox(&app, "aftercare.events.v1.AgentCreated").await, 1);
    let missing = app
        .client()
        .get_agent(app.req(
            &admin(),
            pb::GetAgentRequest {
                name: "agents/0192f0c4-0000-7000-8000-000000000009".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}

async fn a_create_with_a_request_id_is_replayed_and_a_reused_key_is_refused(db: TestDatabase) {
    let app = spawn_app(db).await;
    let key = "0192f0c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b".to_owned();
    let request = |email: &str| pb::CreateAgentRequest {
        agent: Some(agent("Ada", email, "eu-west")),
        request_id: key.clone(),
    };
    let first = app
        .client()
        .create_agent(app.req(&admin(), request("ada@example.com")))
        .await
        .unwrap()
        .into_inner();
    let again = app
        .client()
        .create_agent(app.req(&admin(), request("ada@example.com")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first, again);
    let other = app
        .client()
        .create_agent(app.req(&admin(), request("grace@example.com")))
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::AlreadyExists);
    assert_eq!(agents_count(&app).await, 1);
    assert_eq!(outbox(&app, "aftercare.events.v1.AgentCreated").await, 1);
}

async fn bad_agents_name_every_bad_field_and_nothing_is_written(db: TestDatabase) {
    let app = spawn_app(db).await;
    let status = app
        .client()
        .create_agent(app.req(
            &admin(),
            pb::CreateAgentRequest {
                agent: Some(pb::Agent {
                    display_name: String::new(),
                    email: "not-an-email".into(),
                    roles: vec![],
                    region: "Europe West".into(),
                    languages: vec!["english".into()],
                    max_concurrent_tickets: -1,
                    ..Default::default()
                }),
                request_id: "again".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&status),
        [
            "agent.display_name",
            "agent.email",
            "agent.roles",
            "agent.region",
            "agent.languages[0]",
            "agent.max_concurrent_tickets",
            "request_id",
        ]
    );
    let denied = app
        .client()
        .create_agent(app.req(
            &customer(),
            pb::CreateAgentRequest {
                agent: Some(agent("Ada", "ada@example.com", "eu-west")),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert_eq!(agents_count(&app).await, 0);
}

async fn emails_are_unique_among_agents(db: TestDatabase) {
    let app = spawn_app(db).await;
    app.create_agent(agent("Ada", "ada@example.com", "eu-west"))
        .await;
    let status = app
        .client()
        .create_agent(app.req(
            &admin(),
            pb::CreateAgentRequest {
                agent: Some(agent("Ada Two", "ADA@example.com", "eu-west")),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    assert!(status.message().contains("email"));
}

async fn skills_and_shifts_must_exist(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut new = agent("Ada", "ada@example.com", "eu-west");
    new.skills = vec![pb::AgentSkill {
        skill: "skills/0192f0c4-0000-7000-8000-000000000001".into(),
        level: 3,
    }];
    new.shift = "shifts/0192f0c4-0000-7000-8000-000000000002".into();
    let status = app
        .client()
        .create_agent(app.req(
            &admin(),
            pb::CreateAgentRequest {
                agent: Some(new),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&status),
        ["agent.skills[0].skill", "agent.shift"]
    );
    assert_eq!(agents_count(&app).await, 0);
}

async fn a_stale_etag_is_refused_and_nothing_changes(db: TestDatabase) {
    let app = spawn_app(db).await;
    let ada = app
        .create_agent(agent("Ada", "ada@example.com", "eu-west"))
        .await;
    let update = |etag: &str, capacity: i32| pb::UpdateAgentRequest {
        agent: Some(pb::Agent {
            name: ada.name.clone(),
            etag: etag.into(),
            max_concurrent_tickets: capacity,
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["max_concurrent_tickets".into()],
        }),
    };
    let updated = app
        .client()
        .update_agent(app.req(&admin(), update(&ada.etag, 8)))
        .await
        .unwrap()
        .into_inner()
        .agent
        .unwrap();
    assert_eq!(updated.max_concurrent_tickets, 8);
    assert_eq!(updated.etag, "\"2\"");
    let stale = app
        .client()
        .update_agent(app.req(&admin(), update(&ada.etag, 9)))
        .await
        .unwrap_err();
    assert_eq!(precondition(&stale), "ETAG");
    assert_eq!(app.get_agent(&ada.name).await.max_concurrent_tickets, 8);
    let bad = app
        .client()
        .update_agent(app.req(
            &admin(),
            pb::UpdateAgentRequest {
                agent: Some(pb::Agent {
                    name: ada.name.clone(),
                    etag: updated.etag.clone(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec![
                        "roles".into(),
                        "max_concurrent_tickets".into(),
                        "etag".into(),
                    ],
                }),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&bad),
        ["update_mask", "agent.roles", "agent.max_concurrent_tickets"]
    );
    assert_eq!(outbox(&app, "aftercare.events.v1.AgentUpdated").await, 1);
}

async fn leads_change_their_members_working_set_up_but_not_roles(db: TestDatabase) {
    let app = spawn_app(db).await;
    let team = app
        .create_team("EU washers", "eu-west", pb::EscalationTier::FirstLine)
        .await;
    let mut lead = agent("Lena", "lena@example.com", "eu-west");
    lead.roles = vec![pb::AgentRole::TeamLead as i32];
    let lead = app.create_agent(lead).await;
    let member = app
        .create_agent(agent("Ada", "ada@example.com", "eu-west"))
        .await;
    let outsider = app
        .create_agent(agent("Bob", "bob@example.com", "eu-west"))
        .await;
    app.add_member(&team.name, &lead.name).await;
    let member = app.add_member(&team.name, &member.name).await;
    app.client()
        .update_team(app.req(
            &admin(),
            pb::UpdateTeamRequest {
                team: Some(pb::Team {
                    name: team.name.clone(),
                    etag: team.etag.clone(),
                    lead: lead.name.clone(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["lead".into()],
                }),
            },
        ))
        .await
        .unwrap();
    let as_lead = as_agent(&lead.name, Role::Lead);
    let change = |a: &pb::Agent, path: &str| pb::UpdateAgentRequest {
        agent: Some(pb::Agent {
            name: a.name.clone(),
            etag: a.etag.clone(),
            max_concurrent_tickets: 3,
            roles: vec![pb::AgentRole::Admin as i32],
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec![path.into()],
        }),
    };
    let done = app
        .client()
        .update_agent(app.req(&as_lead, change(&member, "max_concurrent_tickets")))
        .await
        .unwrap()
        .into_inner()
        .agent
        .unwrap();
    assert_eq!(done.max_concurrent_tickets, 3);
    let roles = app
        .client()
        .update_agent(app.req(&as_lead, change(&done, "roles")))
        .await
        .unwrap_err();
    assert_eq!(roles.code(), Code::PermissionDenied);
    let other = app
        .client()
        .update_agent(app.req(&as_lead, change(&outsider, "max_concurrent_tickets")))
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::PermissionDenied);
    assert_eq!(
        app.get_agent(&outsider.name).await.max_concurrent_tickets,
        5
    );
}

async fn agents_read_themselves_and_their_teammates_only(db: TestDatabase) {
    let app = spawn_app(db).await;
    let team = app
        .create_team("EU washers", "eu-west", pb::EscalationTier::FirstLine)
        .await;
    let ada = app
        .create_agent(agent("Ada", "ada@example.com", "eu-west"))
        .await;
    let mate = app
        .create_agent(agent("Mo", "mo@example.com", "eu-west"))
        .await;
    let stranger = app
        .create_agent(agent("Sam", "sam@example.com", "eu-west"))
        .await;
    app.add_member(&team.name, &ada.name).await;
    app.add_member(&team.name, &mate.name).await;
    let me = as_agent(&ada.name, Role::Agent);
    for (name, allowed) in [
        (&ada.name, true),
        (&mate.name, true),
        (&stranger.name, false),
    ] {
        let got = app
            .client()
            .get_agent(app.req(&me, pb::GetAgentRequest { name: name.clone() }))
            .await;
        assert_eq!(got.is_ok(), allowed, "{name}");
        if let Err(status) = got {
            assert_eq!(status.code(), Code::PermissionDenied);
        }
    }
    let listed = app
        .client()
        .list_agents(app.req(&me, pb::ListAgentsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    let names: Vec<&str> = listed
        .agents
        .iter()
        .map(|a| a.display_name.as_str())
        .collect();
    assert_eq!(names, ["Ada", "Mo"]);
    let all = app
        .client()
        .list_agents(app.req(&analyst(), pb::ListAgentsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.agents.len(), 3);
    let denied = app
        .client()
        .list_agents(app.req(&customer(), pb::ListAgentsRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}

async fn lists_filter_page_and_search(db: TestDatabase) {
    let app = spawn_app(db).await;
    let washers = app
        .create_skill(
            pb::SkillCategory::ProductLine,
            "washing-machines",
            "Washers",
        )
        .await;
    let team = app
        .create_team("CN washers", "cn-east", pb::EscalationTier::FirstLine)
        .await;
    for (i, (name, region, lang)) in [
        ("Ada", "eu-west", "en"),
        ("Bo", "cn-east", "zh-CN"),
        ("Chen", "cn-east", "zh-TW"),
        ("Dee", "eu-west", "de-DE"),
        ("Eve", "cn-east", "en-GB"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut a = agent(
            name,
            &format!("{}@example.com", name.to_lowercase()),
            region,
        );
        a.languages = vec![lang.into()];
        if i % 2 == 1 {
            a.skills = vec![pb::AgentSkill {
                skill: washers.name.clone(),
                level: 3,
            }];
            a.roles = vec![pb::AgentRole::TechnicalSpecialist as i32];
        }
        let created = app.create_agent(a).await;
        if region == "cn-east" {
            app.add_member(&team.name, &created.name).await;
        }
    }
    let list =
        |filter: String, query: &str, page_size: i32, page_token: String| pb::ListAgentsRequest {
            filter,
            query: query.into(),
            page_size,
            page_token,
            show_deleted: false,
        };
    let names = |r: pb::ListAgentsResponse| -> Vec<String> {
        r.agents.into_iter().map(|a| a.display_name).collect()
    };
    let run = |req: pb::ListAgentsRequest| {
        let app = &app;
        async move {
            app.client()
                .list_agents(app.req(&admin(), req))
                .await
                .unwrap()
                .into_inner()
        }
    };
    assert_eq!(
        names(run(list(r#"region = "cn-east""#.into(), "", 0, String::new())).await),
        ["Bo", "Chen", "Eve"]
    );
    assert_eq!(
        names(run(list(r#"language = "zh""#.into(), "", 0, String::new())).await),
        ["Bo", "Chen"]
    );
    assert_eq!(
        names(run(list(r#"language = "zh-TW""#.into(), "", 0, String::new())).await),
        ["Chen"]
    );
    assert_eq!(
        names(
            run(list(
                "role = TECHNICAL_SPECIALIST".into(),
                "",
                0,
                String::new()
            ))
            .await
        ),
        ["Bo", "Dee"]
    );
    assert_eq!(
        names(
            run(list(
                format!(r#"skill = "{}" AND team = "{}""#, washers.name, team.name),
                "",
                0,
                String::new()
            ))
            .await
        ),
        ["Bo"]
    );
    assert_eq!(
        names(run(list(String::new(), "EXAMPLE.com", 0, String::new())).await).len(),
        5
    );
    assert_eq!(
        names(run(list(String::new(), "che", 0, String::new())).await),
        ["Chen"]
    );
    // Pages of two, in name order, with tokens bound to the query.
    let first = run(list(String::new(), "", 2, String::new())).await;
    let token = first.next_page_token.clone();
    assert_eq!(names(first), ["Ada", "Bo"]);
    let second = run(list(String::new(), "", 2, token.clone())).await;
    let token2 = second.next_page_token.clone();
    assert_eq!(names(second), ["Chen", "Dee"]);
    let third = run(list(String::new(), "", 2, token2)).await;
    assert!(third.next_page_token.is_empty());
    assert_eq!(names(third), ["Eve"]);
    let wrong = app
        .client()
        .list_agents(app.req(&admin(), list(r#"region = "cn-east""#.into(), "", 2, token)))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&wrong), ["page_token"]);
    let bad = app
        .client()
        .list_agents(app.req(
            &admin(),
            list(
                "colour = RED AND role = CHEF".into(),
                "x",
                -1,
                String::new(),
            ),
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&bad), ["page_size", "filter", "filter", "query"]);
}

async fn a_deleted_agent_stays_readable_and_leaves_its_teams(db: TestDatabase) {
    let app = spawn_app(db).await;
    let team = app
        .create_team("EU washers", "eu-west", pb::EscalationTier::FirstLine)
        .await;
    let ada = app
        .create_agent(agent("Ada", "ada@example.com", "eu-west"))
        .await;
    let ada = app.add_member(&team.name, &ada.name).await;
    assert_eq!(ada.teams, std::slice::from_ref(&team.name));
    let stale = app
        .client()
        .delete_agent(app.req(
            &admin(),
            pb::DeleteAgentRequest {
                name: ada.name.clone(),
                etag: "\"1\"".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(precondition(&stale), "ETAG");
    let deleted = app
        .client()
        .delete_agent(app.req(
            &admin(),
            pb::DeleteAgentRequest {
                name: ada.name.clone(),
                etag: ada.etag.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .agent
        .unwrap();
    assert!(deleted.delete_time.is_some());
    assert_eq!(deleted.state, pb::AgentState::Inactive as i32);
    assert!(deleted.teams.is_empty());
    assert_eq!(app.get_agent(&ada.name).await, deleted);
    let listed = |show_deleted| pb::ListAgentsRequest {
        show_deleted,
        ..Default::default()
    };
    let hidden = app
        .client()
        .list_agents(app.req(&admin(), listed(false)))
        .await
        .unwrap()
        .into_inner();
    assert!(hidden.agents.is_empty());
    let shown = app
        .client()
        .list_agents(app.req(&admin(), listed(true)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(shown.agents.len(), 1);
    // The email is free again.
    app.create_agent(agent("Ada", "ada@example.com", "eu-west"))
        .await;
}

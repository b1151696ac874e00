//! Teams: create, get, list, update (lead rules), delete, and membership.

use aftercare_platform::auth::Role;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::workforce::v1 as pb;
use tonic::Code;

use super::harness::{admin, agent, as_agent, bad_fields, customer, precondition, spawn_app};

aftercare_platform::on_both_databases!(
    teams_are_created_listed_and_filtered,
    team_names_are_unique_and_bad_teams_name_every_field,
    a_lead_must_be_a_member_holding_the_lead_role,
    membership_changes_the_agents_etag_and_removing_the_lead_clears_it,
    deleting_a_team_removes_its_memberships,
);

async fn teams_are_created_listed_and_filtered(db: TestDatabase) {
    let app = spawn_app(db).await;
    let eu = app
        .create_team("EU washers", "eu-west", pb::EscalationTier::FirstLine)
        .await;
    let cn = app
        .create_team(
            "CN specialists",
            "cn-east",
            pb::EscalationTier::TechnicalSpecialist,
        )
        .await;
    assert_eq!(eu.etag, "\"1\"");
    assert_eq!(eu.member_count, 0);
    let ada = app
        .create_agent(agent("Ada", "ada@example.com", "eu-west"))
        .await;
    app.add_member(&eu.name, &ada.name).await;
    let list = |filter: &str| pb::ListTeamsRequest {
        filter: filter.into(),
        ..Default::default()
    };
    let names = |r: pb::ListTeamsResponse| -> Vec<String> {
        r.teams.into_iter().map(|t| t.display_name).collect()
    };
    let all = app
        .client()
        .list_teams(app.req(&admin(), list("")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(names(all), ["CN specialists", "EU washers"]);
    let tier = app
        .client()
        .list_teams(app.req(&admin(), list("escalation_tier = TECHNICAL_SPECIALIST")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(names(tier), ["CN specialists"]);
    let member = app
        .client()
        .list_teams(app.req(&admin(), list(&format!(r#"member = "{}""#, ada.name))))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(member.teams[0].member_count, 1);
    assert_eq!(names(member), ["EU washers"]);
    // An agent sees only their own teams.
    let mine = app
        .client()
        .list_teams(app.req(&as_agent(&ada.name, Role::Agent), list("")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(names(mine), ["EU washers"]);
    let other = app
        .client()
        .get_team(app.req(
            &as_agent(&ada.name, Role::Agent),
            pb::GetTeamRequest {
                name: cn.name.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::PermissionDenied);
    let denied = app
        .client()
        .list_teams(app.req(&customer(), list("")))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}

async fn team_names_are_unique_and_bad_teams_name_every_field(db: TestDatabase) {
    let app = spawn_app(db).await;
    app.create_team("EU washers", "eu-west", pb::EscalationTier::Unspecified)
        .await;
    let create = |team: pb::Team| pb::CreateTeamRequest {
        team: Some(team),
        request_id: String::new(),
    };
    let dup = app
        .client()
        .create_team(app.req(
            &admin(),
            create(pb::Team {
                display_name: "eu WASHERS".into(),
                region: "eu-west".into(),
                ..Default::default()
            }),
        ))
        .await
        .unwrap_err();
    assert_eq!(dup.code(), Code::AlreadyExists);
    let bad = app
        .client()
        .create_team(app.req(
            &admin(),
            create(pb::Team {
                display_name: "x".repeat(201),
                region: String::new(),
                escalation_tier: 9,
                lead: "agents/0192f0c4-0000-7000-8000-000000000001".into(),
                ..Default::default()
            }),
        ))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&bad),
        [
            "team.display_name",
            "team.region",
            "team.escalation_tier",
            "team.lead"
        ]
    );
    let by_agent = app
        .client()
        .create_team(app.req(
            &as_agent("agents/0192f0c4-0000-7000-8000-000000000001", Role::Lead),
            create(pb::Team {
                display_name: "Mine".into(),
                region: "eu-west".into(),
                ..Default::default()
            }),
        ))
        .await
        .unwrap_err();
    assert_eq!(by_agent.code(), Code::PermissionDenied);
}

async fn a_lead_must_be_a_member_holding_the_lead_role(db: TestDatabase) {
    let app = spawn_app(db).await;
    let team = app
        .create_team("EU washers", "eu-west", pb::EscalationTier::FirstLine)
        .await;
    let ada = app
        .create_agent(agent("Ada", "ada@example.com", "eu-west"))
        .await;
    let mut lena = agent("Lena", "lena@example.com", "eu-west");
    lena.roles = vec![pb::AgentRole::TeamLead as i32];
    let lena = app.create_agent(lena).await;
    app.add_member(&team.name, &ada.name).await;
    let set_lead = |etag: &str, lead: &str| pb::UpdateTeamRequest {
        team: Some(pb::Team {
            name: team.name.clone(),
            etag: etag.into(),
            lead: lead.into(),
            description: "Tier 1".into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["lead".into(), "description".into()],
        }),
    };
    for who in [&ada.name, &lena.name] {
        let refused = app
            .client()
            .update_team(app.req(&admin(), set_lead(&team.etag, who)))
            .await
            .unwrap_err();
        assert_eq!(bad_fields(&refused), ["team.lead"], "{who}");
    }
    app.add_member(&team.name, &lena.name).await;
    let led = app
        .client()
        .update_team(app.req(&admin(), set_lead(&team.etag, &lena.name)))
        .await
        .unwrap()
        .into_inner()
        .team
        .unwrap();
    assert_eq!(led.lead, lena.name);
    assert_eq!(led.description, "Tier 1");
    assert_eq!(led.etag, "\"2\"");
    let stale = app
        .client()
        .update_team(app.req(&admin(), set_lead(&team.etag, "")))
        .await
        .unwrap_err();
    assert_eq!(precondition(&stale), "ETAG");
    // The lead renames the team but may not change its lead.
    let as_lena = as_agent(&lena.name, Role::Lead);
    let rename = pb::UpdateTeamRequest {
        team: Some(pb::Team {
            name: team.name.clone(),
            etag: led.etag.clone(),
            display_name: "EU washing machines".into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["display_name".into()],
        }),
    };
    let renamed = app
        .client()
        .update_team(app.req(&as_lena, rename))
        .await
        .unwrap()
        .into_inner()
        .team
        .unwrap();
    assert_eq!(renamed.display_name, "EU washing machines");
    let refused = app
        .client()
        .update_team(app.req(&as_lena, set_lead(&renamed.etag, "")))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
}

async fn membership_changes_the_agents_etag_and_removing_the_lead_clears_it(db: TestDatabase) {
    let app = spawn_app(db).await;
    let team = app
        .create_team("EU washers", "eu-west", pb::EscalationTier::FirstLine)
        .await;
    let mut lena = agent("Lena", "lena@example.com", "eu-west");
    lena.roles = vec![pb::AgentRole::TeamLead as i32];
    let lena = app.create_agent(lena).await;
    let added = app.add_member(&team.name, &lena.name).await;
    assert_eq!(added.etag, "\"2\"");
    assert_eq!(added.teams, std::slice::from_ref(&team.name));
    // Adding again is a no-op.
    let again = app.add_member(&team.name, &lena.name).await;
    assert_eq!(again.etag, "\"2\"");
    let team = app
        .client()
        .update_team(app.req(
            &admin(),
            pb::UpdateTeamRequest {
                team: Some(pb::Team {
                    name: team.name.clone(),
                    etag: team.etag.clone(),
                    lead: lena.name.clone(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["lead".into()],
                }),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .team
        .unwrap();
    let removed = app
        .client()
        .remove_team_member(app.req(
            &admin(),
            pb::RemoveTeamMemberRequest {
                team: team.name.clone(),
                agent: lena.name.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let removed_team = removed.team.unwrap();
    assert_eq!(removed_team.lead, "");
    assert_eq!(removed_team.member_count, 0);
    assert!(removed.agent.unwrap().teams.is_empty());
    let bad = app
        .client()
        .add_team_member(app.req(
            &admin(),
            pb::AddTeamMemberRequest {
                team: "teams/1".into(),
                agent: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&bad), ["team", "agent"]);
    let missing = app
        .client()
        .add_team_member(app.req(
            &admin(),
            pb::AddTeamMemberRequest {
                team: team.name.clone(),
                agent: "agents/0192f0c4-0000-7000-8000-000000000001".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}

async fn deleting_a_team_removes_its_memberships(db: TestDatabase) {
    let app = spawn_app(db).await;
    let team = app
        .create_team("EU washers", "eu-west", pb::EscalationTier::FirstLine)
        .await;
    let ada = app
        .create_agent(agent("Ada", "ada@example.com", "eu-west"))
        .await;
    app.add_member(&team.name, &ada.name).await;
    let delete = |etag: &str| pb::DeleteTeamRequest {
        name: team.name.clone(),
        etag: etag.into(),
    };
    let stale = app
        .client()
        .delete_team(app.req(&admin(), delete("\"7\"")))
        .await
        .unwrap_err();
    assert_eq!(precondition(&stale), "ETAG");
    app.client()
        .delete_team(app.req(&admin(), delete(&team.etag)))
        .await
        .unwrap();
    let ada = app.get_agent(&ada.name).await;
    assert!(ada.teams.is_empty());
    assert_eq!(ada.etag, "\"3\"");
    let gone = app
        .client()
        .get_team(app.req(
            &admin(),
            pb::GetTeamRequest {
                name: team.name.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
}

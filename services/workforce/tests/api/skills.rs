//! The skill catalogue.

use aftercare_platform::auth::Role;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::workforce::v1 as pb;
use tonic::Code;

use super::harness::{admin, agent, as_agent, bad_fields, customer, precondition, spawn_app};

aftercare_platform::on_both_databases!(
    skills_are_unique_per_category_and_listed_in_order,
    skills_update_with_etags_and_only_unheld_skills_are_deleted,
    bad_skills_name_every_field,
);

async fn skills_are_unique_per_category_and_listed_in_order(db: TestDatabase) {
    let app = spawn_app(db).await;
    let washers = app
        .create_skill(
            pb::SkillCategory::ProductLine,
            "Washing-Machines",
            "Washers",
        )
        .await;
    assert_eq!(washers.code, "washing-machines");
    app.create_skill(pb::SkillCategory::TicketKind, "complaint", "Complaints")
        .await;
    app.create_skill(pb::SkillCategory::ProductLine, "dryers", "Dryers")
        .await;
    let dup = app
        .client()
        .create_skill(app.req(
            &admin(),
            pb::CreateSkillRequest {
                skill: Some(pb::Skill {
                    display_name: "Washers again".into(),
                    category: pb::SkillCategory::ProductLine as i32,
                    code: "WASHING-machines".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(dup.code(), Code::AlreadyExists);
    let list = |filter: &str, page_size: i32, page_token: String| pb::ListSkillsRequest {
        filter: filter.into(),
        page_size,
        page_token,
    };
    let me = as_agent("agents/0192f0c4-0000-7000-8000-000000000001", Role::Agent);
    let first = app
        .client()
        .list_skills(app.req(&me, list("", 2, String::new())))
        .await
        .unwrap()
        .into_inner();
    let codes: Vec<&str> = first.skills.iter().map(|s| s.code.as_str()).collect();
    assert_eq!(codes, ["dryers", "washing-machines"]);
    let rest = app
        .client()
        .list_skills(app.req(&me, list("", 2, first.next_page_token)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.skills[0].code, "COMPLAINT");
    assert!(rest.next_page_token.is_empty());
    let kinds = app
        .client()
        .list_skills(app.req(&me, list("category = TICKET_KIND", 0, String::new())))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(kinds.skills.len(), 1);
    let denied = app
        .client()
        .list_skills(app.req(&customer(), list("", 0, String::new())))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}

async fn skills_update_with_etags_and_only_unheld_skills_are_deleted(db: TestDatabase) {
    let app = spawn_app(db).await;
    let skill = app
        .create_skill(pb::SkillCategory::Other, "networking", "Networking")
        .await;
    let updated = app
        .client()
        .update_skill(app.req(
            &admin(),
            pb::UpdateSkillRequest {
                skill: Some(pb::Skill {
                    name: skill.name.clone(),
                    etag: skill.etag.clone(),
                    display_name: "Home networking".into(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["display_name".into()],
                }),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .skill
        .unwrap();
    assert_eq!(updated.display_name, "Home networking");
    assert_eq!(updated.etag, "\"2\"");
    let mut a = agent("Ada", "ada@example.com", "eu-west");
    a.skills = vec![pb::AgentSkill {
        skill: skill.name.clone(),
        level: 2,
    }];
    app.create_agent(a).await;
    let held = app
        .client()
        .get_skill(app.req(
            &admin(),
            pb::GetSkillRequest {
                name: skill.name.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .skill
        .unwrap();
    assert_eq!(held.agent_count, 1);
    let delete = |etag: &str| pb::DeleteSkillRequest {
        name: skill.name.clone(),
        etag: etag.into(),
    };
    let stale = app
        .client()
        .delete_skill(app.req(&admin(), delete(&skill.etag)))
        .await
        .unwrap_err();
    assert_eq!(precondition(&stale), "ETAG");
    let in_use = app
        .client()
        .delete_skill(app.req(&admin(), delete(&updated.etag)))
        .await
        .unwrap_err();
    assert_eq!(precondition(&in_use), "DEPENDENTS");
    let free = app
        .create_skill(pb::SkillCategory::Other, "soldering", "Soldering")
        .await;
    app.client()
        .delete_skill(app.req(
            &admin(),
            pb::DeleteSkillRequest {
                name: free.name.clone(),
                etag: free.etag.clone(),
            },
        ))
        .await
        .unwrap();
}

async fn bad_skills_name_every_field(db: TestDatabase) {
    let app = spawn_app(db).await;
    let bad = app
        .client()
        .create_skill(app.req(
            &admin(),
            pb::CreateSkillRequest {
                skill: Some(pb::Skill {
                    display_name: " ".into(),
                    category: 0,
                    code: String::new(),
                    description: "d".repeat(2001),
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
            "skill.display_name",
            "skill.category",
            "skill.code",
            "skill.description"
        ]
    );
    let by_lead = app
        .client()
        .create_skill(app.req(
            &as_agent("agents/0192f0c4-0000-7000-8000-000000000001", Role::Lead),
            pb::CreateSkillRequest {
                skill: Some(pb::Skill {
                    display_name: "x".into(),
                    category: 4,
                    code: "x".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(by_lead.code(), Code::PermissionDenied);
}

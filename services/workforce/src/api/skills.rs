//! The skill catalogue: create, get, list, update, delete.

use aftercare_platform::request::PageToken;
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::workforce::v1 as pb;
use uuid::Uuid;

use super::Api;
use super::agents::{remember, replayed, request_key};
use super::parse::{ByName, CreateSkill, Delete, ListSkills, UpdateSkill};
use crate::convert;
use crate::domain::access::Caller;
use crate::domain::names::skill_name;
use crate::domain::skill::Skill;
use crate::error::{Error, SKILL};
use crate::store::{self, Conn, SkillQuery};

async fn load(conn: &mut Conn, id: Uuid) -> Result<Skill, Error> {
    store::find_skill(conn, id)
        .await?
        .ok_or_else(|| Error::not_found(SKILL, skill_name(id)))
}

fn reply(skill: &Skill) -> Option<pb::Skill> {
    Some(convert::skill(skill))
}

#[tracing::instrument(skip_all)]
pub async fn create(
    api: &Api,
    caller: &Caller,
    request: CreateSkill,
) -> Result<pb::CreateSkillResponse, Error> {
    if !caller.is_admin() {
        return Err(Error::PermissionDenied(
            "only admins manage the skill catalogue",
        ));
    }
    let key = request_key(caller, "CreateSkill", "", &request.idempotency);
    let fingerprint = &request.idempotency.fingerprint;
    let now = now_micros();
    let mut tx = api.db.begin().await?;
    if let Some(id) = replayed(&mut tx, key.as_ref(), fingerprint, SKILL).await? {
        return Ok(pb::CreateSkillResponse {
            skill: reply(&load(&mut tx, id).await?),
        });
    }
    if let Some(existing) =
        store::find_skill_by_code(&mut tx, request.category, &request.code).await?
    {
        return Err(Error::exists(
            SKILL,
            skill_name(existing.id),
            "the category already has this code",
        ));
    }
    let skill = Skill {
        id: Uuid::now_v7(),
        display_name: request.display_name,
        category: request.category,
        code: request.code,
        description: request.description,
        agent_count: 0,
        version: 1,
        create_time: now,
        update_time: now,
    };
    if !remember(&mut tx, key.as_ref(), fingerprint, skill.id, now).await? {
        tx.rollback().await?;
        let mut conn = api.db.reader().acquire().await?;
        let id = replayed(&mut conn, key.as_ref(), fingerprint, SKILL)
            .await?
            .ok_or_else(|| Error::state("skills", "a concurrent create failed; retry"))?;
        return Ok(pb::CreateSkillResponse {
            skill: reply(&load(&mut conn, id).await?),
        });
    }
    if !store::insert_skill(&mut tx, &skill).await? {
        return Err(Error::exists(
            SKILL,
            skill.code.clone(),
            "the category already has this code",
        ));
    }
    tx.commit().await?;
    tracing::info!(skill = %skill.id, "skill created");
    Ok(pb::CreateSkillResponse {
        skill: reply(&skill),
    })
}

#[tracing::instrument(skip_all, fields(skill = %request.0))]
pub async fn get(
    api: &Api,
    caller: &Caller,
    request: ByName,
) -> Result<pb::GetSkillResponse, Error> {
    if !caller.may_read_catalogue() {
        return Err(Error::PermissionDenied(
            "customers and integrations cannot read skills",
        ));
    }
    let mut conn = api.db.reader().acquire().await?;
    Ok(pb::GetSkillResponse {
        skill: reply(&load(&mut conn, request.0).await?),
    })
}

#[tracing::instrument(skip_all)]
pub async fn list(
    api: &Api,
    caller: &Caller,
    request: ListSkills,
) -> Result<pb::ListSkillsResponse, Error> {
    if !caller.may_read_catalogue() {
        return Err(Error::PermissionDenied(
            "customers and integrations cannot read skills",
        ));
    }
    let page = &request.page;
    let after = page.after.as_ref().and_then(|t| {
        let (category, code) = t.text_key()?.split_once('|')?;
        Some((category.parse().ok()?, code.to_owned()))
    });
    let query = SkillQuery {
        category: request.category,
        code: request.code.clone(),
        after,
        limit: page.limit(),
    };
    let mut conn = api.db.reader().acquire().await?;
    let mut skills = store::list_skills(&mut conn, &query).await?;
    let next_page_token = page.finish(&mut skills, |s| {
        PageToken::text(format!("{}|{}", s.category.number(), s.code), s.id)
    });
    Ok(pb::ListSkillsResponse {
        skills: skills.iter().map(convert::skill).collect(),
        next_page_token,
    })
}

#[tracing::instrument(skip_all, fields(skill = %request.id))]
pub async fn update(
    api: &Api,
    caller: &Caller,
    request: UpdateSkill,
) -> Result<pb::UpdateSkillResponse, Error> {
    if !caller.is_admin() {
        return Err(Error::PermissionDenied(
            "only admins manage the skill catalogue",
        ));
    }
    let mut tx = api.db.begin().await?;
    let mut skill = load(&mut tx, request.id).await?;
    let name = skill_name(skill.id);
    if skill.version != request.version {
        return Err(Error::StaleEtag(name));
    }
    let before = skill.clone();
    if let Some(display_name) = request.display_name {
        skill.display_name = display_name;
    }
    if let Some(description) = request.description {
        skill.description = description;
    }
    if skill != before {
        skill.version += 1;
        skill.update_time = now_micros();
        if !store::update_skill(&mut tx, &skill, request.version).await? {
            return Err(Error::StaleEtag(name));
        }
        tx.commit().await?;
    }
    Ok(pb::UpdateSkillResponse {
        skill: reply(&skill),
    })
}

#[tracing::instrument(skip_all, fields(skill = %request.id))]
pub async fn delete(
    api: &Api,
    caller: &Caller,
    request: Delete,
) -> Result<pb::DeleteSkillResponse, Error> {
    if !caller.is_admin() {
        return Err(Error::PermissionDenied(
            "only admins manage the skill catalogue",
        ));
    }
    let mut tx = api.db.begin().await?;
    let skill = load(&mut tx, request.id).await?;
    let name = skill_name(skill.id);
    if skill.version != request.version {
        return Err(Error::StaleEtag(name));
    }
    if skill.agent_count > 0 {
        return Err(Error::dependents(
            name,
            format!(
                "{} agents hold this skill: remove it from them first",
                skill.agent_count
            ),
        ));
    }
    if store::skill_taught(&mut tx, skill.id).await? {
        return Err(Error::dependents(
            name,
            "a course teaches this skill: change the course first",
        ));
    }
    if !store::delete_skill(&mut tx, skill.id, request.version).await? {
        return Err(Error::StaleEtag(name));
    }
    tx.commit().await?;
    tracing::info!(skill = %skill.id, "skill deleted");
    Ok(pb::DeleteSkillResponse {})
}

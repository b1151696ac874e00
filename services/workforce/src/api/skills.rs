//! The skill catalogue: create, get, list, update, delete.

use aftercare_platform::request::PageToken;
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::workforce::v1 as pb;

use super::parse::{ByName, CreateSkill, Delete, ListSkills, UpdateSkill};
use super::{Api, request_key};
use crate::convert;
use crate::domain::access::Caller;
use crate::domain::names::skill_name;
use crate::domain::skill::Skill;
use crate::error::Error;
use crate::store::{self, SkillQuery};

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
    let skill = Skill::new(
        request.display_name,
        request.category,
        request.code,
        request.description,
        now_micros(),
    );
    let skill = store::create_skill(&api.db, &skill, key.as_ref()).await?;
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
        skill: reply(&store::load_skill(&mut conn, request.0).await?),
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
    let mut conn = api.db.reader().acquire().await?;
    let mut skill = store::load_skill(&mut conn, request.id).await?;
    drop(conn);
    let changed = skill
        .update(
            request.version,
            request.display_name,
            request.description,
            now_micros(),
        )
        .map_err(|refused| Error::refused(refused, skill_name(request.id)))?;
    if changed {
        store::save_skill(&api.db, &skill, request.version).await?;
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
    store::remove_skill(&api.db, request.id, request.version).await?;
    Ok(pb::DeleteSkillResponse {})
}

//! Categories.

use aftercare_platform::query::Comparison;
use aftercare_platform::request::{
    FieldViolations, Page, PageToken, fingerprint, request_id, resource_id, update_paths,
};
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::knowledge::v1 as pb;
use tonic::Request;
use uuid::Uuid;

use super::{Api, parse};
use crate::convert;
use crate::domain::category::{check_parent, descendants};
use crate::domain::{Action, Category};
use crate::error::{CATEGORY, Error, Result};
use crate::store::articles::Created;
use crate::store::{Arg, IdempotencyKey, Where};

fn check(v: FieldViolations) -> Result<()> {
    if v.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(v))
    }
}

async fn with_count(api: &Api, category: &Category) -> Result<pb::Category> {
    let parents = api.store.category_parents().await?;
    with_count_in(api, category, &parents).await
}

async fn with_count_in(
    api: &Api,
    category: &Category,
    parents: &std::collections::BTreeMap<Uuid, Option<Uuid>>,
) -> Result<pb::Category> {
    let count = api
        .store
        .articles_in(&descendants(category.id, parents), true)
        .await?;
    Ok(convert::category(category, count))
}

async fn load(api: &Api, id: Uuid) -> Result<Category> {
    api.store
        .category(id)
        .await?
        .ok_or_else(|| Error::not_found(CATEGORY, convert::category_name(id)))
}

pub(super) async fn create(
    api: &Api,
    r: Request<pb::CreateCategoryRequest>,
) -> Result<pb::CreateCategoryResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    let given = msg.category.clone().unwrap_or_default();
    if msg.category.is_none() {
        v.add("category", "is required");
    }
    let parent = parse::optional_id(&mut v, "category.parent", &given.parent, "categories");
    let names = parse::language_map(
        &mut v,
        "category.display_names",
        &given.display_names,
        1,
        100,
    );
    let descriptions = parse::language_map(
        &mut v,
        "category.descriptions",
        &given.descriptions,
        0,
        1000,
    );
    let request = request_id(&mut v, "request_id", &msg.request_id);
    check(v)?;
    Api::allow(&principal, Action::ManageCategories)?;
    let key = request.map(|request_id| IdempotencyKey {
        subject: principal.subject.clone(),
        method: "CreateCategory",
        parent: String::new(),
        request_id,
        fingerprint: format!(
            "{:016x}",
            fingerprint(&[&format!(
                "{parent:?} {names:?} {descriptions:?} {}",
                given.display_order
            )])
        ),
    });
    if let Some(key) = &key
        && let Some(name) = api.store.replay(key).await?
    {
        return replay(api, &name).await;
    }
    let parents = api.store.category_parents().await?;
    check_parent(None, parent, &parents).map_err(|e| Error::from_domain(e, "categories"))?;
    let now = now_micros();
    let category = Category {
        id: Uuid::now_v7(),
        parent,
        display_names: names,
        descriptions,
        display_order: given.display_order,
        version: 1,
        create_time: now,
        update_time: now,
    };
    match api.store.create_category(&category, key.as_ref()).await? {
        Created::Replay(name) => replay(api, &name).await,
        Created::New => Ok(pb::CreateCategoryResponse {
            category: Some(convert::category(&category, 0)),
        }),
    }
}

async fn replay(api: &Api, name: &str) -> Result<pb::CreateCategoryResponse> {
    let id = name
        .strip_prefix("categories/")
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| Error::Corrupt(name.to_owned()))?;
    let category = load(api, id).await?;
    Ok(pb::CreateCategoryResponse {
        category: Some(with_count(api, &category).await?),
    })
}

pub(super) async fn get(
    api: &Api,
    r: Request<pb::GetCategoryRequest>,
) -> Result<pb::GetCategoryResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    let id = resource_id(&mut v, "name", &msg.name, "categories");
    check(v)?;
    Api::allow(&principal, Action::Read)?;
    let category = load(api, id.unwrap_or_default()).await?;
    Ok(pb::GetCategoryResponse {
        category: Some(with_count(api, &category).await?),
    })
}

enum Cond {
    Parent(Option<Uuid>),
    Ancestor(Uuid),
    UpdateTime(Comparison, i64),
}

pub(super) async fn list(
    api: &Api,
    r: Request<pb::ListCategoriesRequest>,
) -> Result<pb::ListCategoriesResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    let category = |text: &str| -> Result<Uuid, String> {
        text.strip_prefix("categories/")
            .and_then(|id| Uuid::parse_str(id).ok())
            .ok_or_else(|| "must be a category name `categories/{id}`".to_owned())
    };
    let conditions = parse::filter(&mut v, &msg.filter, |field, op, value| {
        Ok(match field {
            "parent" => {
                parse::equality(op)?;
                let text = value.quoted()?;
                Cond::Parent(if text.is_empty() {
                    None
                } else {
                    Some(category(text)?)
                })
            }
            "ancestor" => {
                parse::equality(op)?;
                Cond::Ancestor(category(value.quoted()?)?)
            }
            "update_time" => Cond::UpdateTime(op, parse::time_condition(op, value)?),
            _ => return Err("unknown field; accepted: parent, ancestor, update_time".into()),
        })
    });
    let page = Page::parse(&mut v, msg.page_size, &msg.page_token, &[&msg.filter]);
    check(v)?;
    Api::allow(&principal, Action::Read)?;
    let mut w = Where::default();
    for condition in conditions {
        match condition {
            Cond::Parent(None) => w.push("parent_id IS NULL".into()),
            Cond::Parent(Some(id)) => {
                let p = w.arg(Arg::Text(id.to_string()));
                w.push(format!("parent_id = {p}"));
            }
            Cond::Ancestor(id) => {
                let parents = api.store.category_parents().await?;
                let list: Vec<String> = descendants(id, &parents)
                    .into_iter()
                    .filter(|c| *c != id)
                    .map(|c| w.arg(Arg::Text(c.to_string())))
                    .collect();
                if list.is_empty() {
                    w.push("1 = 0".into());
                } else {
                    w.push(format!("id IN ({})", list.join(", ")));
                }
            }
            Cond::UpdateTime(op, time) => {
                let p = w.arg(Arg::Int(time));
                w.push(format!("update_time {} {p}", op.sql()));
            }
        }
    }
    let mut categories = api.store.list_categories(w, &page).await?;
    let next_page_token = page.finish(&mut categories, |c| {
        PageToken::int(i64::from(c.display_order), c.id)
    });
    let parents = api.store.category_parents().await?;
    let mut out = Vec::with_capacity(categories.len());
    for category in &categories {
        out.push(with_count_in(api, category, &parents).await?);
    }
    Ok(pb::ListCategoriesResponse {
        categories: out,
        next_page_token,
    })
}

const UPDATABLE: &[&str] = &["parent", "display_names", "descriptions", "display_order"];

pub(super) async fn update(
    api: &Api,
    r: Request<pb::UpdateCategoryRequest>,
) -> Result<pb::UpdateCategoryResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    let given = msg.category.clone().unwrap_or_default();
    if msg.category.is_none() {
        v.add("category", "is required");
    }
    let id = resource_id(&mut v, "category.name", &given.name, "categories");
    let etag = parse::etag(&mut v, "category.etag", &given.etag);
    let paths = update_paths(&mut v, msg.update_mask.as_ref(), UPDATABLE);
    let parent = parse::optional_id(&mut v, "category.parent", &given.parent, "categories");
    let names = if paths.contains(&"display_names") {
        parse::language_map(
            &mut v,
            "category.display_names",
            &given.display_names,
            1,
            100,
        )
    } else {
        Default::default()
    };
    let descriptions = parse::language_map(
        &mut v,
        "category.descriptions",
        &given.descriptions,
        0,
        1000,
    );
    check(v)?;
    Api::allow(&principal, Action::ManageCategories)?;
    let mut category = load(api, id.unwrap_or_default()).await?;
    let name = convert::category_name(category.id);
    if etag != category.version {
        return Err(Error::StaleEtag(name));
    }
    if paths.contains(&"parent") {
        let parents = api.store.category_parents().await?;
        check_parent(Some(category.id), parent, &parents)
            .map_err(|e| Error::from_domain(e, &name))?;
        category.parent = parent;
    }
    if paths.contains(&"display_names") {
        category.display_names = names;
    }
    if paths.contains(&"descriptions") {
        category.descriptions = descriptions;
    }
    if paths.contains(&"display_order") {
        category.display_order = given.display_order;
    }
    let expected = category.version;
    category.version += 1;
    category.update_time = now_micros();
    api.store.save_category(&category, expected).await?;
    Ok(pb::UpdateCategoryResponse {
        category: Some(with_count(api, &category).await?),
    })
}

pub(super) async fn delete(
    api: &Api,
    r: Request<pb::DeleteCategoryRequest>,
) -> Result<pb::DeleteCategoryResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    let id = resource_id(&mut v, "name", &msg.name, "categories");
    let etag = parse::etag(&mut v, "etag", &msg.etag);
    check(v)?;
    Api::allow(&principal, Action::ManageCategories)?;
    api.store
        .delete_category(id.unwrap_or_default(), etag)
        .await?;
    Ok(pb::DeleteCategoryResponse {})
}

//! Articles: create, read, list, update, delete, view, versions and the workflow.

use aftercare_platform::auth::Principal;
use aftercare_platform::query::{Comparison, Value};
use aftercare_platform::request::{
    FieldViolations, Page, PageToken, child_id, fingerprint, optional_text, request_id,
    required_text, resource_id, update_paths,
};
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::knowledge::v1 as pb;
use tonic::Request;
use uuid::Uuid;

use super::{Api, actor_of, parse};
use crate::convert;
use crate::domain::category::descendants;
use crate::domain::{Action, Article, ArticleState, Audience, Kind, Visibility};
use crate::error::{ARTICLE, CATEGORY, Error, Result, VERSION};
use crate::events;
use crate::store::articles::{ArticleChange, ArticleOrder, Created};
use crate::store::{Arg, IdempotencyKey, Where, json_element_pattern};

fn check(v: FieldViolations) -> Result<()> {
    if v.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(v))
    }
}

fn key(
    principal: &Principal,
    method: &'static str,
    parent: &str,
    request_id: Option<String>,
    message: &impl std::fmt::Debug,
) -> Option<IdempotencyKey> {
    request_id.map(|request_id| IdempotencyKey {
        subject: principal.subject.clone(),
        method,
        parent: parent.to_owned(),
        request_id,
        fingerprint: format!("{:016x}", fingerprint(&[&format!("{message:?}")])),
    })
}

/// The article, or `NOT_FOUND`.
pub(super) async fn load(api: &Api, id: Uuid) -> Result<Article> {
    api.store
        .article(id)
        .await?
        .ok_or_else(|| Error::not_found(ARTICLE, convert::article_name(id)))
}

/// The article if `audience` may read it: staff read any, the public only live public ones.
pub(super) async fn readable(api: &Api, id: Uuid, audience: Audience) -> Result<Article> {
    let article = load(api, id).await?;
    if audience == Audience::Staff || (article.live() && article.visibility == Visibility::Public) {
        return Ok(article);
    }
    Err(Error::not_found(ARTICLE, convert::article_name(id)))
}

async fn check_category(api: &Api, category: Option<Uuid>) -> Result<()> {
    if let Some(category) = category
        && api.store.category(category).await?.is_none()
    {
        return Err(Error::invalid(
            "article.category",
            format!("{} does not exist", convert::category_name(category)),
        ));
    }
    let _ = CATEGORY;
    Ok(())
}

pub(super) async fn create(
    api: &Api,
    r: Request<pb::CreateArticleRequest>,
) -> Result<pb::CreateArticleResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    if msg.article.is_none() {
        v.add("article", "is required");
    }
    let fields = parse::article_fields(&mut v, &msg.article.clone().unwrap_or_default(), true);
    let first = parse::new_version(
        &mut v,
        "initial_version",
        msg.initial_version.as_ref(),
        None,
    );
    let request = request_id(&mut v, "request_id", &msg.request_id);
    check(v)?;
    Api::allow(&principal, Action::Author)?;
    let (Some(kind), Some(first)) = (fields.kind, first) else {
        return Err(Error::invalid("article", "is incomplete"));
    };
    let key = key(&principal, "CreateArticle", "", request, &(&fields, &first));
    if let Some(key) = &key
        && let Some(name) = api.store.replay(key).await?
    {
        return replay_article(api, &name).await;
    }
    check_category(api, fields.category).await?;
    let now = now_micros();
    let actor = actor_of(&principal);
    let mut article = Article::create(
        Uuid::now_v7(),
        kind,
        fields.visibility,
        fields.category,
        fields.product_lines,
        fields.tags,
        fields.reviewers,
        &actor.id,
        first,
        Uuid::now_v7(),
        now,
    );
    article.versions[0].author.clone_from(&actor.id);
    match api
        .store
        .create_article(&article, key.as_ref(), &actor)
        .await?
    {
        Created::Replay(name) => replay_article(api, &name).await,
        Created::New => {
            api.committed().await;
            Ok(pb::CreateArticleResponse {
                article: Some(convert::article(&article)),
                initial_version: article.versions.first().map(convert::version),
            })
        }
    }
}

async fn replay_article(api: &Api, name: &str) -> Result<pb::CreateArticleResponse> {
    let id = name
        .strip_prefix("articles/")
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| Error::Corrupt(name.to_owned()))?;
    let article = load(api, id).await?;
    let first = match article.versions.iter().min_by_key(|v| v.number) {
        Some(v) => api.store.version(id, v.id).await?,
        None => None,
    };
    Ok(pb::CreateArticleResponse {
        article: Some(convert::article(&article)),
        initial_version: first.as_ref().map(convert::version),
    })
}

pub(super) async fn get(
    api: &Api,
    r: Request<pb::GetArticleRequest>,
) -> Result<pb::GetArticleResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    let id = resource_id(&mut v, "name", &msg.name, "articles");
    check(v)?;
    Api::allow(&principal, Action::Read)?;
    let article = readable(api, id.unwrap_or_default(), Audience::of(&principal)).await?;
    Ok(pb::GetArticleResponse {
        article: Some(convert::article(&article)),
    })
}

enum Cond {
    Int(&'static str, Comparison, i64),
    Live(bool),
    Category(Uuid),
    Language(String),
    ProductLine(String),
    Tag(String),
    Author(Comparison, String),
    Reviewer(String),
}

fn word<T>(op: Comparison, value: &Value, parse: impl Fn(&str) -> Option<T>) -> Result<T, String> {
    if !op.is_equality() {
        return Err("only `=` and `!=` are accepted".into());
    }
    parse(value.text()).ok_or_else(|| format!("unknown value `{}`", value.text()))
}

fn list_filter(v: &mut FieldViolations, text: &str) -> Vec<Cond> {
    parse::filter(v, text, |field, op, value| {
        Ok(match field {
            "state" => Cond::Int("state", op, word(op, value, ArticleState::from_word)? as i64),
            "kind" => Cond::Int("kind", op, word(op, value, Kind::from_word)? as i64),
            "visibility" => Cond::Int("visibility", op, word(op, value, Visibility::from_word)? as i64),
            "live" => {
                parse::equality(op)?;
                Cond::Live(value.boolean()?)
            }
            "category" => {
                parse::equality(op)?;
                let id = value
                    .quoted()?
                    .strip_prefix("categories/")
                    .and_then(|id| Uuid::parse_str(id).ok())
                    .ok_or("must be a category name `categories/{id}`")?;
                Cond::Category(id)
            }
            "language" => {
                parse::equality(op)?;
                Cond::Language(crate::domain::text::language_tag(value.quoted()?)?)
            }
            "product_line" => {
                parse::equality(op)?;
                Cond::ProductLine(crate::domain::text::label(value.quoted()?)?)
            }
            "tag" => {
                parse::equality(op)?;
                Cond::Tag(crate::domain::text::label(value.quoted()?)?)
            }
            "author" => {
                if !op.is_equality() {
                    return Err("only `=` and `!=` are accepted".into());
                }
                Cond::Author(op, value.quoted()?.to_owned())
            }
            "reviewer" => {
                parse::equality(op)?;
                Cond::Reviewer(value.quoted()?.to_owned())
            }
            "create_time" | "update_time" | "publish_time" => {
                let column = match field {
                    "create_time" => "create_time",
                    "update_time" => "update_time",
                    _ => "publish_time",
                };
                Cond::Int(column, op, parse::time_condition(op, value)?)
            }
            _ => return Err("unknown field; accepted: state, live, kind, visibility, category, language, product_line, tag, author, reviewer, create_time, update_time, publish_time".into()),
        })
    })
}

pub(super) async fn list(
    api: &Api,
    r: Request<pb::ListArticlesRequest>,
) -> Result<pb::ListArticlesResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    let conditions = list_filter(&mut v, &msg.filter);
    let order = match msg.order_by.trim() {
        "" | "create_time desc" => ArticleOrder::CreateTime,
        "update_time desc" => ArticleOrder::UpdateTime,
        "view_count desc" => ArticleOrder::ViewCount,
        _ => {
            v.add(
                "order_by",
                "must be `create_time desc`, `update_time desc` or `view_count desc`",
            );
            ArticleOrder::CreateTime
        }
    };
    let page = Page::parse(
        &mut v,
        msg.page_size,
        &msg.page_token,
        &[&msg.filter, &msg.order_by],
    );
    check(v)?;
    Api::allow(&principal, Action::ReadStaff)?;
    let mut w = Where::default();
    for condition in conditions {
        match condition {
            Cond::Int(column, op, value) => {
                let p = w.arg(Arg::Int(value));
                w.push(format!("{column} {} {p}", op.sql()));
            }
            Cond::Live(live) => w.push(format!("live = {}", i64::from(live))),
            Cond::Category(id) => {
                let parents = api.store.category_parents().await?;
                let list: Vec<String> = descendants(id, &parents)
                    .into_iter()
                    .map(|c| w.arg(Arg::Text(c.to_string())))
                    .collect();
                w.push(format!("category_id IN ({})", list.join(", ")));
            }
            Cond::Language(language) => {
                let p = w.arg(Arg::Text(language));
                w.push(format!("EXISTS (SELECT 1 FROM article_versions av WHERE av.article_id = articles.id AND av.language = {p})"));
            }
            Cond::ProductLine(line) => {
                let p = w.arg(Arg::Text(json_element_pattern(&line)));
                w.push(format!(
                    "(product_lines = '[]' OR product_lines LIKE {p} ESCAPE '\\')"
                ));
            }
            Cond::Tag(tag) => {
                let p = w.arg(Arg::Text(json_element_pattern(&tag)));
                w.push(format!("tags LIKE {p} ESCAPE '\\'"));
            }
            Cond::Author(op, author) => {
                let p = w.arg(Arg::Text(author));
                w.push(format!("author {} {p}", op.sql()));
            }
            Cond::Reviewer(reviewer) => {
                let p = w.arg(Arg::Text(json_element_pattern(&reviewer)));
                w.push(format!("reviewers LIKE {p} ESCAPE '\\'"));
            }
        }
    }
    let mut articles = api.store.list_articles(w, order, &page).await?;
    let next_page_token = page.finish(&mut articles, |a| PageToken::int(order.key(a), a.id));
    Ok(pb::ListArticlesResponse {
        articles: articles.iter().map(convert::article).collect(),
        next_page_token,
    })
}

const UPDATABLE: &[&str] = &[
    "kind",
    "visibility",
    "category",
    "product_lines",
    "tags",
    "reviewers",
];

pub(super) async fn update(
    api: &Api,
    r: Request<pb::UpdateArticleRequest>,
) -> Result<pb::UpdateArticleResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    let given = msg.article.clone().unwrap_or_default();
    if msg.article.is_none() {
        v.add("article", "is required");
    }
    let id = resource_id(&mut v, "article.name", &given.name, "articles");
    let etag = parse::etag(&mut v, "article.etag", &given.etag);
    let paths = update_paths(&mut v, msg.update_mask.as_ref(), UPDATABLE);
    let fields = parse::article_fields(&mut v, &given, paths.contains(&"kind"));
    check(v)?;
    Api::allow(&principal, Action::Author)?;
    let mut article = load(api, id.unwrap_or_default()).await?;
    let name = convert::article_name(article.id);
    article
        .check_updatable(etag)
        .map_err(|e| Error::from_domain(e, &name))?;
    if paths.contains(&"category") {
        check_category(api, fields.category).await?;
    }
    let expected = article.version;
    for path in &paths {
        match *path {
            "kind" => article.kind = fields.kind.unwrap_or(article.kind),
            "visibility" => article.visibility = fields.visibility,
            "category" => article.category = fields.category,
            "product_lines" => article.product_lines.clone_from(&fields.product_lines),
            "tags" => article.tags.clone_from(&fields.tags),
            "reviewers" => article.reviewers.clone_from(&fields.reviewers),
            _ => {}
        }
    }
    article.updated(now_micros());
    let change = ArticleChange {
        history: Some(("updated", actor_of(&principal), paths.join(","))),
        ..ArticleChange::default()
    };
    api.store.save_article(&article, expected, change).await?;
    api.committed().await;
    Ok(pb::UpdateArticleResponse {
        article: Some(convert::article(&article)),
    })
}

pub(super) async fn delete(
    api: &Api,
    r: Request<pb::DeleteArticleRequest>,
) -> Result<pb::DeleteArticleResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    let id = resource_id(&mut v, "name", &msg.name, "articles");
    let etag = parse::etag(&mut v, "etag", &msg.etag);
    check(v)?;
    Api::allow(&principal, Action::Author)?;
    let article = load(api, id.unwrap_or_default()).await?;
    article
        .check_deletable(etag)
        .map_err(|e| Error::from_domain(e, &msg.name))?;
    api.store
        .delete_article(article.id, article.version)
        .await?;
    api.committed().await;
    Ok(pb::DeleteArticleResponse {})
}

pub(super) async fn view(
    api: &Api,
    r: Request<pb::ViewArticleRequest>,
) -> Result<pb::ViewArticleResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    let id = resource_id(&mut v, "name", &msg.name, "articles");
    let language = parse::optional_language(&mut v, "language", &msg.language);
    check(v)?;
    Api::allow(&principal, Action::Read)?;
    let audience = Audience::of(&principal);
    if msg.preview && audience != Audience::Staff {
        return Err(Error::PermissionDenied("previews are for staff".into()));
    }
    let id = id.unwrap_or_default();
    if msg.preview {
        let article = load(api, id).await?;
        let latest: Vec<&crate::domain::Version> = article
            .languages()
            .into_iter()
            .filter_map(|l| article.latest_in(l))
            .collect();
        let chosen = article
            .choose(&latest, language.as_deref())
            .ok_or_else(|| Error::not_found(VERSION, &msg.name))?;
        let version = api.store.version(id, chosen.id).await?;
        return Ok(pb::ViewArticleResponse {
            article: Some(convert::article(&article)),
            version: version.as_ref().map(convert::version),
        });
    }
    let mut article = load(api, id).await?;
    let visible =
        article.live() && (audience.sees_internal() || article.visibility == Visibility::Public);
    if !visible {
        return Err(Error::not_found(ARTICLE, &msg.name));
    }
    let published = article.published_versions();
    let chosen = article
        .choose(&published, language.as_deref())
        .ok_or_else(|| Error::not_found(ARTICLE, &msg.name))?
        .clone();
    let version = api.store.version(id, chosen.id).await?;
    article.view_count = api
        .store
        .record_view(id, &chosen.language, now_micros())
        .await?;
    Ok(pb::ViewArticleResponse {
        article: Some(convert::article(&article)),
        version: version.as_ref().map(convert::version),
    })
}

pub(super) async fn create_version(
    api: &Api,
    r: Request<pb::CreateArticleVersionRequest>,
) -> Result<pb::CreateArticleVersionResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    let id = resource_id(&mut v, "parent", &msg.parent, "articles");
    let content = parse::new_version(&mut v, "article_version", msg.article_version.as_ref(), id);
    let base = if msg.base_version.is_empty() {
        None
    } else {
        child_id(
            &mut v,
            "base_version",
            &msg.base_version,
            "articles",
            "versions",
        )
        .and_then(|(parent, version)| {
            if Some(parent) == id {
                Some(version)
            } else {
                v.add("base_version", "must be a version of this article");
                None
            }
        })
    };
    let request = request_id(&mut v, "request_id", &msg.request_id);
    check(v)?;
    Api::allow(&principal, Action::Author)?;
    let id = id.unwrap_or_default();
    let key = key(
        &principal,
        "CreateArticleVersion",
        &msg.parent,
        request,
        &(&content, base),
    );
    if let Some(key) = &key
        && let Some(name) = api.store.replay(key).await?
    {
        return replay_version(api, id, &name).await;
    }
    let Some(content) = content else {
        return Err(Error::invalid("article_version", "is incomplete"));
    };
    let mut article = load(api, id).await?;
    let expected = article.version;
    let actor = actor_of(&principal);
    let version = article
        .add_version(content, base, Uuid::now_v7(), &actor.id, now_micros())
        .map_err(|e| Error::from_domain(e, &msg.parent))?;
    let name = convert::version_name(id, version.id);
    let change = ArticleChange {
        new_version: Some(version.clone()),
        history: Some(("version_created", actor, name.clone())),
        key: key.clone().map(|key| (key, name)),
        ..ArticleChange::default()
    };
    if !api.store.save_article(&article, expected, change).await? {
        if let Some(key) = &key
            && let Some(name) = api.store.replay(key).await?
        {
            return replay_version(api, id, &name).await;
        }
        return Err(Error::Corrupt("idempotency key without resource".into()));
    }
    api.committed().await;
    Ok(pb::CreateArticleVersionResponse {
        article_version: Some(convert::version(&version)),
        article: Some(convert::article(&article)),
    })
}

async fn replay_version(
    api: &Api,
    article: Uuid,
    name: &str,
) -> Result<pb::CreateArticleVersionResponse> {
    let version_id = name
        .rsplit('/')
        .next()
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| Error::Corrupt(name.to_owned()))?;
    let version = api.store.version(article, version_id).await?;
    let article = load(api, article).await?;
    Ok(pb::CreateArticleVersionResponse {
        article_version: version.as_ref().map(convert::version),
        article: Some(convert::article(&article)),
    })
}

pub(super) async fn get_version(
    api: &Api,
    r: Request<pb::GetArticleVersionRequest>,
) -> Result<pb::GetArticleVersionResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    let ids = child_id(&mut v, "name", &msg.name, "articles", "versions");
    check(v)?;
    Api::allow(&principal, Action::Read)?;
    let (article, version) = ids.unwrap_or_default();
    let audience = Audience::of(&principal);
    let readable = readable(api, article, audience).await;
    let version = match (readable, api.store.version(article, version).await?) {
        (Ok(_), Some(version)) if audience == Audience::Staff || version.published => version,
        _ => return Err(Error::not_found(VERSION, &msg.name)),
    };
    Ok(pb::GetArticleVersionResponse {
        article_version: Some(convert::version(&version)),
    })
}

pub(super) async fn list_versions(
    api: &Api,
    r: Request<pb::ListArticleVersionsRequest>,
) -> Result<pb::ListArticleVersionsResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    let id = resource_id(&mut v, "parent", &msg.parent, "articles");
    let mut w = Where::default();
    let conditions = parse::filter(&mut v, &msg.filter, |field, op, value| {
        Ok(match field {
            "language" => {
                parse::equality(op)?;
                (
                    "language",
                    Comparison::Eq,
                    Arg::Text(crate::domain::text::language_tag(value.quoted()?)?),
                )
            }
            "author" => {
                parse::equality(op)?;
                (
                    "author",
                    Comparison::Eq,
                    Arg::Text(value.quoted()?.to_owned()),
                )
            }
            "published" => {
                parse::equality(op)?;
                (
                    "published",
                    Comparison::Eq,
                    Arg::Int(i64::from(value.boolean()?)),
                )
            }
            "create_time" => (
                "create_time",
                op,
                Arg::Int(parse::time_condition(op, value)?),
            ),
            _ => {
                return Err(
                    "unknown field; accepted: language, author, published, create_time".into(),
                );
            }
        })
    });
    for (column, op, arg) in conditions {
        let p = w.arg(arg);
        w.push(format!("{column} {} {p}", op.sql()));
    }
    let page = Page::parse(
        &mut v,
        msg.page_size,
        &msg.page_token,
        &[&msg.parent, &msg.filter],
    );
    check(v)?;
    Api::allow(&principal, Action::ReadStaff)?;
    let id = id.unwrap_or_default();
    load(api, id).await?;
    let mut versions = api.store.list_versions(id, w, &page).await?;
    let next_page_token = page.finish(&mut versions, |v| PageToken::int(i64::from(v.number), v.id));
    Ok(pb::ListArticleVersionsResponse {
        article_versions: versions.iter().map(convert::version).collect(),
        next_page_token,
    })
}

/// Parses `name` and `etag`, authorises `action`, loads the article, applies `rule` and
/// saves it with what `change` adds.
async fn workflow(
    api: &Api,
    principal: &Principal,
    name: &str,
    etag: &str,
    mut v: FieldViolations,
    action: Action,
    rule: impl FnOnce(
        &mut Article,
        i64,
    ) -> std::result::Result<ArticleChange, crate::domain::DomainError>,
) -> Result<Article> {
    let id = resource_id(&mut v, "name", name, "articles");
    let etag = parse::etag(&mut v, "etag", etag);
    check(v)?;
    Api::allow(principal, action)?;
    let mut article = load(api, id.unwrap_or_default()).await?;
    let expected = article.version;
    let change = rule(&mut article, etag).map_err(|e| Error::from_domain(e, name))?;
    api.store.save_article(&article, expected, change).await?;
    api.committed().await;
    Ok(article)
}

pub(super) async fn submit(
    api: &Api,
    r: Request<pb::SubmitArticleForReviewRequest>,
) -> Result<pb::SubmitArticleForReviewResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    let reviewers = parse::reviewers(&mut v, "reviewers", &msg.reviewers);
    let note = optional_text(&mut v, "note", &msg.note, 1000).unwrap_or_default();
    let actor = actor_of(&principal);
    let article = workflow(
        api,
        &principal,
        &msg.name,
        &msg.etag,
        v,
        Action::Author,
        |a, etag| {
            a.submit(
                etag,
                (!reviewers.is_empty()).then_some(reviewers),
                note.clone(),
                actor.clone(),
                now_micros(),
            )?;
            Ok(ArticleChange {
                history: Some(("submitted", actor, note)),
                ..ArticleChange::default()
            })
        },
    )
    .await?;
    Ok(pb::SubmitArticleForReviewResponse {
        article: Some(convert::article(&article)),
    })
}

pub(super) async fn approve(
    api: &Api,
    r: Request<pb::ApproveArticleRequest>,
) -> Result<pb::ApproveArticleResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    let comment = optional_text(&mut v, "comment", &msg.comment, 5000).unwrap_or_default();
    let actor = actor_of(&principal);
    let article = workflow(
        api,
        &principal,
        &msg.name,
        &msg.etag,
        v,
        Action::Review,
        |a, etag| {
            a.approve(etag, actor.clone(), comment.clone(), now_micros())?;
            Ok(ArticleChange {
                history: Some(("approved", actor, comment)),
                ..ArticleChange::default()
            })
        },
    )
    .await?;
    Ok(pb::ApproveArticleResponse {
        article: Some(convert::article(&article)),
    })
}

pub(super) async fn reject(
    api: &Api,
    r: Request<pb::RejectArticleRequest>,
) -> Result<pb::RejectArticleResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    let comment = required_text(&mut v, "comment", &msg.comment, 5000).unwrap_or_default();
    let actor = actor_of(&principal);
    let article = workflow(
        api,
        &principal,
        &msg.name,
        &msg.etag,
        v,
        Action::Review,
        |a, etag| {
            a.reject(etag, actor.clone(), comment.clone(), now_micros())?;
            Ok(ArticleChange {
                history: Some(("rejected", actor, comment)),
                ..ArticleChange::default()
            })
        },
    )
    .await?;
    Ok(pb::RejectArticleResponse {
        article: Some(convert::article(&article)),
    })
}

pub(super) async fn publish(
    api: &Api,
    r: Request<pb::PublishArticleRequest>,
) -> Result<pb::PublishArticleResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let actor = actor_of(&principal);
    let article = workflow(
        api,
        &principal,
        &msg.name,
        &msg.etag,
        FieldViolations::new(),
        Action::Publish,
        |a, etag| {
            let publication = a.publish(etag, now_micros())?;
            let event = events::article_published(a, &publication, &actor);
            Ok(ArticleChange {
                published_flags: true,
                publication: true,
                history: Some(("published", actor, publication.changed_languages.join(","))),
                events: vec![event],
                ..ArticleChange::default()
            })
        },
    )
    .await?;
    Ok(pb::PublishArticleResponse {
        article: Some(convert::article(&article)),
    })
}

pub(super) async fn archive(
    api: &Api,
    r: Request<pb::ArchiveArticleRequest>,
) -> Result<pb::ArchiveArticleResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    let reason = optional_text(&mut v, "reason", &msg.reason, 1000).unwrap_or_default();
    let actor = actor_of(&principal);
    let article = workflow(
        api,
        &principal,
        &msg.name,
        &msg.etag,
        v,
        Action::Publish,
        |a, etag| {
            let was_live = a.archive(etag, now_micros())?;
            let event = events::article_archived(a, was_live, &reason, &actor);
            Ok(ArticleChange {
                published_flags: true,
                history: Some(("archived", actor, reason)),
                events: vec![event],
                ..ArticleChange::default()
            })
        },
    )
    .await?;
    Ok(pb::ArchiveArticleResponse {
        article: Some(convert::article(&article)),
    })
}

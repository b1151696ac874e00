//! Ratings and content gaps.

use aftercare_platform::query::Comparison;
use aftercare_platform::request::{
    FieldViolations, Page, PageToken, optional_text, required_enum, resource_id,
};
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::knowledge::v1 as pb;
use tonic::Request;
use uuid::Uuid;

use super::{Api, actor_of, articles, parse};
use crate::convert;
use crate::domain::feedback::{Helpfulness, Rating};
use crate::domain::{Action, Audience, ContentGap, GapState};
use crate::error::{ARTICLE, Error, GAP, Result};
use crate::store::{Arg, Where, json_element_pattern};

fn check(v: FieldViolations) -> Result<()> {
    if v.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(v))
    }
}

pub(super) async fn rate(
    api: &Api,
    r: Request<pb::RateArticleRequest>,
) -> Result<pb::RateArticleResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    let id = resource_id(&mut v, "name", &msg.name, "articles");
    let helpfulness =
        required_enum::<pb::ArticleHelpfulness>(&mut v, "helpfulness", msg.helpfulness)
            .and_then(|h| Helpfulness::from_number(i64::from(h as i32)));
    let comment = optional_text(&mut v, "comment", &msg.comment, 1000).unwrap_or_default();
    let language = parse::optional_language(&mut v, "language", &msg.language);
    let anonymous = principal.is_customer_only() && principal.customer.is_none();
    let reader_id = if anonymous {
        let reader = msg.reader_id.trim();
        if reader.is_empty() || reader.chars().count() > 128 || reader.chars().any(char::is_control)
        {
            v.add(
                "reader_id",
                "is required for anonymous readers: 1 to 128 characters",
            );
        }
        Some(reader.to_owned())
    } else {
        None
    };
    check(v)?;
    Api::allow(&principal, Action::Read)?;
    let audience = Audience::of(&principal);
    let article = articles::readable(api, id.unwrap_or_default(), audience).await?;
    let published = article.published_versions();
    if !article.live() {
        return Err(Error::not_found(ARTICLE, &msg.name));
    }
    let version = article
        .choose(&published, language.as_deref())
        .ok_or_else(|| Error::not_found(ARTICLE, &msg.name))?;
    let mut rater = actor_of(&principal);
    let rater_key = match &reader_id {
        Some(reader) => {
            rater.id = String::new();
            format!("reader:{reader}")
        }
        None => format!(
            "principal:{}",
            principal.customer.as_deref().unwrap_or(&principal.subject)
        ),
    };
    let now = now_micros();
    let rating = Rating {
        id: Uuid::now_v7(),
        article: article.id,
        helpfulness: helpfulness.unwrap_or(Helpfulness::Helpful),
        comment,
        language: version.language.clone(),
        version: version.id,
        rater,
        create_time: now,
        update_time: now,
    };
    let (rating, helpful_count, not_helpful_count) = api.store.rate(&rater_key, rating).await?;
    api.relay.wake();
    Ok(pb::RateArticleResponse {
        rating: Some(convert::rating(&rating)),
        helpful_count,
        not_helpful_count,
    })
}

pub(super) async fn list_ratings(
    api: &Api,
    r: Request<pb::ListArticleRatingsRequest>,
) -> Result<pb::ListArticleRatingsResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    let article = if msg.parent == "articles/-" {
        None
    } else {
        resource_id(&mut v, "parent", &msg.parent, "articles")
    };
    let conditions = parse::filter(&mut v, &msg.filter, |field, op, value| {
        Ok(match field {
            "helpfulness" => {
                parse::equality(op)?;
                let h =
                    Helpfulness::from_word(value.text()).ok_or("must be HELPFUL or NOT_HELPFUL")?;
                ("helpfulness = ".to_owned(), Arg::Int(h as i64))
            }
            "language" => {
                parse::equality(op)?;
                (
                    "language = ".to_owned(),
                    Arg::Text(crate::domain::text::language_tag(value.quoted()?)?),
                )
            }
            "has_comment" => {
                parse::equality(op)?;
                let has = value.boolean()?;
                (
                    if has { "comment <> " } else { "comment = " }.to_owned(),
                    Arg::Text(String::new()),
                )
            }
            "update_time" => (
                format!("update_time {} ", op.sql()),
                Arg::Int(parse::time_condition(op, value)?),
            ),
            _ => {
                return Err(
                    "unknown field; accepted: helpfulness, language, has_comment, update_time"
                        .into(),
                );
            }
        })
    });
    let page = Page::parse(
        &mut v,
        msg.page_size,
        &msg.page_token,
        &[&msg.parent, &msg.filter],
    );
    check(v)?;
    Api::allow(&principal, Action::ReadStaff)?;
    if let Some(article) = article {
        articles::load(api, article).await?;
    }
    let mut w = Where::default();
    for (clause, arg) in conditions {
        let p = w.arg(arg);
        w.push(format!("{clause}{p}"));
    }
    let mut ratings = api.store.list_ratings(article, w, &page).await?;
    let next_page_token = page.finish(&mut ratings, |r| PageToken::int(r.update_time, r.id));
    Ok(pb::ListArticleRatingsResponse {
        ratings: ratings.iter().map(convert::rating).collect(),
        next_page_token,
    })
}

async fn load_gap(api: &Api, id: Uuid) -> Result<ContentGap> {
    api.store
        .gap(id)
        .await?
        .ok_or_else(|| Error::not_found(GAP, convert::gap_name(id)))
}

pub(super) async fn get_gap(
    api: &Api,
    r: Request<pb::GetContentGapRequest>,
) -> Result<pb::GetContentGapResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    let id = resource_id(&mut v, "name", &msg.name, "contentGaps");
    check(v)?;
    Api::allow(&principal, Action::ReadStaff)?;
    let gap = load_gap(api, id.unwrap_or_default()).await?;
    Ok(pb::GetContentGapResponse {
        content_gap: Some(convert::gap(&gap)),
    })
}

pub(super) async fn list_gaps(
    api: &Api,
    r: Request<pb::ListContentGapsRequest>,
) -> Result<pb::ListContentGapsResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    let conditions = parse::filter(&mut v, &msg.filter, |field, op, value| {
        Ok(match field {
            "state" => {
                if !op.is_equality() {
                    return Err("only `=` and `!=` are accepted".into());
                }
                let s = GapState::from_word(value.text()).ok_or("must be OPEN, RESOLVED or DISMISSED")?;
                (format!("state {} ", op.sql()), Arg::Int(s as i64))
            }
            "language" => {
                parse::equality(op)?;
                let text = value.quoted()?;
                let language = if text.is_empty() { String::new() } else { crate::domain::text::language_tag(text)? };
                ("language = ".to_owned(), Arg::Text(language))
            }
            "product_line" => {
                parse::equality(op)?;
                let line = crate::domain::text::label(value.quoted()?)?;
                ("product_lines LIKE ".to_owned(), Arg::Text(json_element_pattern(&line)))
            }
            "search_count" => (format!("search_count {} ", op.sql()), Arg::Int(value.integer()?)),
            "first_seen_time" => (format!("first_seen {} ", op.sql()), Arg::Int(parse::time_condition(op, value)?)),
            "last_seen_time" => (format!("last_seen {} ", op.sql()), Arg::Int(parse::time_condition(op, value)?)),
            _ => return Err("unknown field; accepted: state, language, product_line, search_count, first_seen_time, last_seen_time".into()),
        })
    });
    let column = match msg.order_by.trim() {
        "" | "search_count desc" => "search_count",
        "last_seen_time desc" => "last_seen",
        "first_seen_time desc" => "first_seen",
        _ => {
            v.add(
                "order_by",
                "must be `search_count desc`, `last_seen_time desc` or `first_seen_time desc`",
            );
            "search_count"
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
    for (clause, arg) in conditions {
        let like = clause.ends_with("LIKE ");
        let p = w.arg(arg);
        w.push(if like {
            format!("{clause}{p} ESCAPE '\\'")
        } else {
            format!("{clause}{p}")
        });
    }
    let mut gaps = api.store.list_gaps(w, column, &page).await?;
    let next_page_token = page.finish(&mut gaps, |g| {
        let key = match column {
            "last_seen" => g.last_seen,
            "first_seen" => g.first_seen,
            _ => g.search_count,
        };
        PageToken::int(key, g.id)
    });
    let _ = Comparison::Eq;
    Ok(pb::ListContentGapsResponse {
        content_gaps: gaps.iter().map(convert::gap).collect(),
        next_page_token,
    })
}

pub(super) async fn resolve_gap(
    api: &Api,
    r: Request<pb::ResolveContentGapRequest>,
) -> Result<pb::ResolveContentGapResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    let id = resource_id(&mut v, "name", &msg.name, "contentGaps");
    let etag = parse::etag(&mut v, "etag", &msg.etag);
    let article = resource_id(&mut v, "article", &msg.article, "articles");
    let note = optional_text(&mut v, "note", &msg.note, 1000).unwrap_or_default();
    check(v)?;
    Api::allow(&principal, Action::ManageGaps)?;
    let mut gap = load_gap(api, id.unwrap_or_default()).await?;
    let article = articles::load(api, article.unwrap_or_default())
        .await
        .map_err(|_| Error::invalid("article", format!("{} does not exist", msg.article)))?;
    let expected = gap.version;
    gap.resolve(etag, article.id, note, actor_of(&principal), now_micros())
        .map_err(|e| Error::from_domain(e, &msg.name))?;
    api.store.save_gap(&gap, expected).await?;
    Ok(pb::ResolveContentGapResponse {
        content_gap: Some(convert::gap(&gap)),
    })
}

pub(super) async fn dismiss_gap(
    api: &Api,
    r: Request<pb::DismissContentGapRequest>,
) -> Result<pb::DismissContentGapResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    let id = resource_id(&mut v, "name", &msg.name, "contentGaps");
    let etag = parse::etag(&mut v, "etag", &msg.etag);
    let note = optional_text(&mut v, "note", &msg.note, 1000).unwrap_or_default();
    check(v)?;
    Api::allow(&principal, Action::ManageGaps)?;
    let mut gap = load_gap(api, id.unwrap_or_default()).await?;
    let expected = gap.version;
    gap.dismiss(etag, note, actor_of(&principal), now_micros())
        .map_err(|e| Error::from_domain(e, &msg.name))?;
    api.store.save_gap(&gap, expected).await?;
    Ok(pb::DismissContentGapResponse {
        content_gap: Some(convert::gap(&gap)),
    })
}

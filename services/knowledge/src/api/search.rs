//! Search, suggestions (deflection) and their outcomes.

use aftercare_platform::request::{
    FieldViolations, PageToken, enum_value, fingerprint, optional_text, required_enum,
    required_text, resource_id,
};
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::knowledge::v1 as pb;
use tonic::Request;
use uuid::Uuid;

use super::{Api, actor_of, parse};
use crate::convert;
use crate::domain::category::descendants;
use crate::domain::feedback::Outcome;
use crate::domain::text::{label, normalize_query};
use crate::domain::{Action, Audience, Kind};
use crate::error::{Error, Result, SUGGESTION};
use crate::events::SuggestionRecord;
use crate::index::{Hits, IndexError, SearchQuery};
use crate::store::reading::SearchEntry;

fn check(v: FieldViolations) -> Result<()> {
    if v.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(v))
    }
}

fn size(v: &mut FieldViolations, field: &str, requested: i32, default: usize, max: usize) -> usize {
    match usize::try_from(requested) {
        Ok(0) => default,
        Ok(n) => n.min(max),
        Err(_) => {
            v.add(field, "must not be negative");
            default
        }
    }
}

pub(super) async fn search(
    api: &Api,
    r: Request<pb::SearchArticlesRequest>,
) -> Result<pb::SearchArticlesResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    let text = required_text(&mut v, "query", &msg.query, 500);
    let language = parse::optional_language(&mut v, "language", &msg.language);
    let product_line = if msg.product_line.trim().is_empty() {
        None
    } else {
        v.check("product_line", label(&msg.product_line))
    };
    let category = parse::optional_id(&mut v, "category", &msg.category, "categories");
    let kind = enum_value::<pb::ArticleKind>(&mut v, "kind", msg.kind)
        .and_then(|k| Kind::from_number(k as i32));
    let limit = size(&mut v, "page_size", msg.page_size, 10, 50);
    let bound = fingerprint(&[
        &msg.query,
        &msg.language,
        &msg.product_line,
        &msg.category,
        &msg.kind.to_string(),
        &limit.to_string(),
    ]);
    let offset = if msg.page_token.is_empty() {
        0
    } else {
        v.check("page_token", PageToken::decode(&msg.page_token, bound))
            .and_then(|t| t.int_key())
            .and_then(|o| usize::try_from(o).ok())
            .unwrap_or(0)
    };
    check(v)?;
    Api::allow(&principal, Action::Read)?;
    let categories = match category {
        Some(id) => Some(descendants(id, &api.store.category_parents().await?)),
        None => None,
    };
    let query = SearchQuery {
        text: text.clone().unwrap_or_default(),
        language: language.clone(),
        product_line: product_line.clone(),
        categories,
        kind,
        public_only: !Audience::of(&principal).sees_internal(),
        offset,
        limit,
    };
    let hits = search_index(api, query).await?;
    let mut content_gap = String::new();
    if msg.page_token.is_empty() {
        let text = text.unwrap_or_default();
        let entry = SearchEntry {
            normalized_query: normalize_query(&text),
            query: text,
            language: language.unwrap_or_default(),
            product_line: product_line.unwrap_or_default(),
            category: msg.category.clone(),
            result_count: i64::try_from(hits.total).unwrap_or(i64::MAX),
            actor: actor_of(&principal),
            time: now_micros(),
        };
        if let Some(gap) = api.store.log_search(&entry).await? {
            content_gap = convert::gap_name(gap.id);
            api.relay.wake();
        }
    }
    let next_page_token = if hits.more {
        PageToken::int(
            i64::try_from(offset + limit).unwrap_or(i64::MAX),
            Uuid::nil(),
        )
        .encode(bound)
    } else {
        String::new()
    };
    Ok(pb::SearchArticlesResponse {
        hits: hits.hits.iter().map(convert::hit).collect(),
        next_page_token,
        total_size: i64::try_from(hits.total).unwrap_or(i64::MAX),
        content_gap,
    })
}

/// Runs a search on the blocking pool: at 100,000 articles a search takes milliseconds of CPU,
/// which would otherwise hold one of the runtime's few worker threads.
async fn search_index(api: &Api, query: SearchQuery) -> Result<Hits> {
    let index = api.index.clone();
    let hits = tokio::task::spawn_blocking(move || index.search(&query))
        .await
        .map_err(IndexError::from)??;
    Ok(hits)
}

/// The language of `text` when none is given: Chinese when it has Han characters, else
/// English.
fn detect_language(text: &str) -> &'static str {
    if text.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c)) {
        "zh"
    } else {
        "en"
    }
}

fn optional_name(v: &mut FieldViolations, field: &str, value: &str, collection: &str) -> String {
    if value.is_empty() {
        return String::new();
    }
    let ok = value
        .strip_prefix(collection)
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|id| !id.is_empty() && id.len() <= 128 && !id.contains('/'));
    if !ok {
        v.add(
            field,
            format!("must be a resource name `{collection}/{{id}}`"),
        );
    }
    value.to_owned()
}

pub(super) async fn suggest(
    api: &Api,
    r: Request<pb::SuggestArticlesRequest>,
) -> Result<pb::SuggestArticlesResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    let subject = optional_text(&mut v, "subject", &msg.subject, 300).unwrap_or_default();
    let description =
        optional_text(&mut v, "description", &msg.description, 10_000).unwrap_or_default();
    if msg.subject.trim().is_empty() && msg.description.trim().is_empty() {
        v.add("subject", "subject or description is required");
    }
    let language = parse::optional_language(&mut v, "language", &msg.language);
    let product_line = if msg.product_line.trim().is_empty() {
        None
    } else {
        v.check("product_line", label(&msg.product_line))
    };
    let channel =
        enum_value::<common::Channel>(&mut v, "channel", msg.channel).map_or(0, |c| c as i32);
    let mut customer = optional_name(&mut v, "customer", &msg.customer, "customers");
    let ticket = optional_name(&mut v, "ticket", &msg.ticket, "tickets");
    let max = size(&mut v, "max_suggestions", msg.max_suggestions, 5, 10);
    let min_score = if msg.min_score == 0.0 {
        0.3
    } else {
        msg.min_score
    };
    if !(0.0..=1.0).contains(&min_score) {
        v.add("min_score", "must be between 0.0 and 1.0");
    }
    check(v)?;
    Api::allow(&principal, Action::Read)?;
    if principal.is_customer_only() {
        customer = principal.customer.clone().unwrap_or_default();
    }
    let description: String = description.chars().take(2_000).collect();
    let text = format!("{subject} {description}");
    let language = language.unwrap_or_else(|| detect_language(&text).to_owned());
    let query = SearchQuery {
        text,
        language: Some(language.clone()),
        product_line: product_line.clone(),
        public_only: !Audience::of(&principal).sees_internal(),
        limit: max,
        ..SearchQuery::default()
    };
    let mut hits = search_index(api, query).await?.hits;
    hits.retain(|h| h.score >= min_score);
    if hits.is_empty() {
        return Ok(pb::SuggestArticlesResponse::default());
    }
    let set = SuggestionRecord {
        id: Uuid::now_v7(),
        time: now_micros(),
        language,
        product_line: product_line.unwrap_or_default(),
        channel,
        customer,
        ticket,
        actor: actor_of(&principal),
        hits,
    };
    api.store.record_suggestions(&set).await?;
    api.relay.wake();
    Ok(pb::SuggestArticlesResponse {
        suggestion: format!("suggestions/{}", set.id),
        hits: set.hits.iter().map(convert::hit).collect(),
    })
}

pub(super) async fn record_outcome(
    api: &Api,
    r: Request<pb::RecordSuggestionOutcomeRequest>,
) -> Result<pb::RecordSuggestionOutcomeResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    let id = resource_id(&mut v, "suggestion", &msg.suggestion, "suggestions");
    let outcome =
        required_enum::<pb::SuggestionOutcome>(&mut v, "outcome", msg.outcome).map(|o| match o {
            pb::SuggestionOutcome::Deflected => Outcome::Deflected,
            pb::SuggestionOutcome::TicketCreated => Outcome::TicketCreated,
            _ => Outcome::Abandoned,
        });
    let article = parse::optional_id(&mut v, "article", &msg.article, "articles");
    let ticket = optional_name(&mut v, "ticket", &msg.ticket, "tickets");
    check(v)?;
    Api::allow(&principal, Action::Read)?;
    let id = id.unwrap_or_default();
    let set = api.store.suggestion_set(id).await?;
    let own = set.as_ref().is_some_and(|s| {
        !principal.is_customer_only() || s.actor_subject == actor_of(&principal).id
    });
    let Some(set) = set.filter(|_| own) else {
        return Err(Error::not_found(SUGGESTION, &msg.suggestion));
    };
    if let Some(article) = article
        && !set.articles.contains(&article)
    {
        return Err(Error::invalid(
            "article",
            "must be one of the articles suggested",
        ));
    }
    let outcome = outcome.unwrap_or(Outcome::Abandoned);
    let recorded = api
        .store
        .record_outcome(
            id,
            outcome,
            article.filter(|_| outcome == Outcome::Deflected),
            (!ticket.is_empty()).then_some(ticket.as_str()),
            now_micros(),
        )
        .await?;
    if !recorded {
        return Err(Error::FailedPrecondition {
            violation: "OUTCOME_RECORDED",
            subject: msg.suggestion,
            description: "an outcome was recorded for this suggestion set already, or it is over a day old and counts as abandoned".into(),
        });
    }
    Ok(pb::RecordSuggestionOutcomeResponse {})
}

//! Domain → proto: the only place proto messages are built.

use std::collections::HashMap;

use aftercare_platform::request::Etag;
use aftercare_platform::time::to_timestamp;
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::knowledge::v1 as pb;
use uuid::Uuid;

use crate::domain::feedback::Rating;
use crate::domain::stats::ratio;
use crate::domain::{
    Actor, ActorKind, Article, Category, ContentGap, Review, ReviewDecision, Version,
};
use crate::index::Hit;
use crate::store::stats::{ArticleNumbers, Counts, metric};

/// `articles/{id}`.
pub fn article_name(id: Uuid) -> String {
    format!("articles/{id}")
}

/// `articles/{article}/versions/{id}`.
pub fn version_name(article: Uuid, id: Uuid) -> String {
    format!("articles/{article}/versions/{id}")
}

/// `categories/{id}`.
pub fn category_name(id: Uuid) -> String {
    format!("categories/{id}")
}

/// `contentGaps/{id}`.
pub fn gap_name(id: Uuid) -> String {
    format!("contentGaps/{id}")
}

/// `articles/{article}/ratings/{id}`.
pub fn rating_name(rating: &Rating) -> String {
    format!("articles/{}/ratings/{}", rating.article, rating.id)
}

/// An actor.
pub fn actor(actor: &Actor) -> common::Actor {
    common::Actor {
        r#type: match actor.kind {
            ActorKind::Agent => common::ActorType::Agent,
            ActorKind::Customer => common::ActorType::Customer,
            ActorKind::Integration => common::ActorType::Integration,
            ActorKind::System => common::ActorType::System,
        } as i32,
        id: actor.id.clone(),
        display_name: actor.name.clone(),
    }
}

/// The published version per language.
pub fn published_versions(article: &Article) -> HashMap<String, String> {
    article
        .published_versions()
        .into_iter()
        .map(|v| (v.language.clone(), version_name(article.id, v.id)))
        .collect()
}

fn review(article: Uuid, review: &Review) -> pb::ArticleReview {
    pb::ArticleReview {
        versions: review
            .versions
            .iter()
            .map(|v| version_name(article, *v))
            .collect(),
        submitter: Some(actor(&review.submitter)),
        submit_time: Some(to_timestamp(review.submit_time)),
        decision: match review.decision {
            ReviewDecision::Pending => pb::ReviewDecision::Pending,
            ReviewDecision::Approved => pb::ReviewDecision::Approved,
            ReviewDecision::Rejected => pb::ReviewDecision::Rejected,
            ReviewDecision::Withdrawn => pb::ReviewDecision::Withdrawn,
        } as i32,
        reviewer: review.reviewer.as_ref().map(actor),
        comment: review.comment.clone(),
        decide_time: review.decide_time.map(to_timestamp),
    }
}

/// An article.
pub fn article(a: &Article) -> pb::Article {
    let translations = a
        .languages()
        .into_iter()
        .filter_map(|language| {
            let latest = a.latest_in(language)?;
            Some(pb::ArticleTranslation {
                language: language.to_owned(),
                title: latest.title.clone(),
                latest_version: version_name(a.id, latest.id),
                published_version: a
                    .published_in(language)
                    .map(|v| version_name(a.id, v.id))
                    .unwrap_or_default(),
                outdated: a.outdated(language),
            })
        })
        .collect();
    pb::Article {
        name: article_name(a.id),
        kind: a.kind as i32,
        visibility: a.visibility as i32,
        category: a.category.map(category_name).unwrap_or_default(),
        product_lines: a.product_lines.clone(),
        tags: a.tags.clone(),
        default_language: a.default_language.clone(),
        title: a.title().to_owned(),
        state: a.state as i32,
        live: a.live(),
        published_versions: published_versions(a),
        translations,
        author: a.author.clone(),
        reviewers: a.reviewers.clone(),
        last_review: a.last_review.as_ref().map(|r| review(a.id, r)),
        view_count: a.view_count,
        helpful_count: a.helpful_count,
        not_helpful_count: a.not_helpful_count,
        etag: Etag::of(a.version),
        create_time: Some(to_timestamp(a.create_time)),
        update_time: Some(to_timestamp(a.update_time)),
        publish_time: a.publish_time.map(to_timestamp),
        archive_time: a.archive_time.map(to_timestamp),
    }
}

/// A version.
pub fn version(v: &Version) -> pb::ArticleVersion {
    pb::ArticleVersion {
        name: version_name(v.article_id, v.id),
        version_number: v.number,
        language: v.language.clone(),
        title: v.title.clone(),
        body: v.body.clone(),
        change_note: v.change_note.clone(),
        source_version: v
            .source_version
            .map(|s| version_name(v.article_id, s))
            .unwrap_or_default(),
        author: v.author.clone(),
        published: v.published,
        create_time: Some(to_timestamp(v.create_time)),
    }
}

/// A category.
pub fn category(c: &Category, article_count: i64) -> pb::Category {
    pb::Category {
        name: category_name(c.id),
        parent: c.parent.map(category_name).unwrap_or_default(),
        display_names: c.display_names.clone().into_iter().collect(),
        descriptions: c.descriptions.clone().into_iter().collect(),
        display_order: c.display_order,
        article_count,
        etag: Etag::of(c.version),
        create_time: Some(to_timestamp(c.create_time)),
        update_time: Some(to_timestamp(c.update_time)),
    }
}

/// A content gap.
pub fn gap(g: &ContentGap) -> pb::ContentGap {
    pb::ContentGap {
        name: gap_name(g.id),
        normalized_query: g.normalized_query.clone(),
        language: g.language.clone(),
        sample_queries: g.sample_queries.clone(),
        search_count: g.search_count,
        product_lines: g
            .product_lines
            .iter()
            .take(5)
            .map(|(l, _)| l.clone())
            .collect(),
        first_seen_time: Some(to_timestamp(g.first_seen)),
        last_seen_time: Some(to_timestamp(g.last_seen)),
        state: g.state as i32,
        resolving_article: g.resolving_article.map(article_name).unwrap_or_default(),
        note: g.note.clone(),
        resolver: g.resolver.as_ref().map(actor),
        resolve_time: g.resolve_time.map(to_timestamp),
        etag: Etag::of(g.version),
        create_time: Some(to_timestamp(g.first_seen)),
        update_time: Some(to_timestamp(g.update_time)),
    }
}

/// A rating.
pub fn rating(r: &Rating) -> pb::ArticleRating {
    pb::ArticleRating {
        name: rating_name(r),
        helpfulness: r.helpfulness as i32,
        comment: r.comment.clone(),
        language: r.language.clone(),
        version: version_name(r.article, r.version),
        rater: Some(actor(&r.rater)),
        create_time: Some(to_timestamp(r.create_time)),
        update_time: Some(to_timestamp(r.update_time)),
    }
}

fn ranges(ranges: &[(usize, usize)]) -> Vec<pb::TextRange> {
    ranges
        .iter()
        .map(|(start, length)| pb::TextRange {
            start: i32::try_from(*start).unwrap_or(i32::MAX),
            length: i32::try_from(*length).unwrap_or(i32::MAX),
        })
        .collect()
}

/// A search hit.
pub fn hit(h: &Hit) -> pb::ArticleHit {
    pb::ArticleHit {
        article: article_name(h.article),
        version: version_name(h.article, h.version),
        language: h.language.clone(),
        kind: h.kind.map_or(0, |k| k as i32),
        category: h.category.map(category_name).unwrap_or_default(),
        title: h.title.clone(),
        title_highlights: ranges(&h.title_highlights),
        snippet: h.snippet.clone(),
        snippet_highlights: ranges(&h.snippet_highlights),
        score: h.score,
        publish_time: Some(to_timestamp(h.publish_time)),
    }
}

/// Knowledge metrics of one period or the range.
pub fn metrics(c: &Counts) -> pb::KnowledgeMetrics {
    pb::KnowledgeMetrics {
        searches: c[metric::SEARCHES],
        zero_result_searches: c[metric::ZERO_RESULT],
        zero_result_rate: ratio(c[metric::ZERO_RESULT], c[metric::SEARCHES]),
        suggestion_sets: c[metric::SUGGESTION_SETS],
        deflections: c[metric::DEFLECTIONS],
        tickets_created_after_suggestions: c[metric::TICKETS],
        deflection_rate: ratio(c[metric::DEFLECTIONS], c[metric::SUGGESTION_SETS]),
        views: c[metric::VIEWS],
        helpful_ratings: c[metric::HELPFUL],
        not_helpful_ratings: c[metric::NOT_HELPFUL],
        helpfulness_ratio: ratio(
            c[metric::HELPFUL],
            c[metric::HELPFUL] + c[metric::NOT_HELPFUL],
        ),
        articles_published: c[metric::PUBLISHED],
        content_gaps_opened: c[metric::GAPS_OPENED],
    }
}

/// An article's numbers over a range.
pub fn top_article(n: &ArticleNumbers, title: String) -> pb::TopArticle {
    pb::TopArticle {
        article: article_name(n.article),
        title,
        views: n.views,
        helpful_ratings: n.helpful,
        not_helpful_ratings: n.not_helpful,
        suggestions: n.suggestions,
        deflections: n.deflections,
    }
}

/// The statistics response.
pub fn stats(
    periods: &[i64],
    counts: &[Counts],
    total: &Counts,
    top_articles: Vec<pb::TopArticle>,
) -> pb::GetKnowledgeStatsResponse {
    pb::GetKnowledgeStatsResponse {
        periods: periods
            .iter()
            .zip(counts)
            .map(|(start, c)| pb::KnowledgePeriodStats {
                period_start_time: Some(to_timestamp(*start)),
                metrics: Some(metrics(c)),
            })
            .collect(),
        total: Some(metrics(total)),
        top_articles,
    }
}

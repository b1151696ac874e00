//! Knowledge statistics.

use aftercare_platform::request::{FieldViolations, enum_value};
use aftercare_platform::time::from_timestamp;
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::knowledge::v1 as pb;
use tonic::Request;

use super::{Api, parse};
use crate::convert;
use crate::domain::Action;
use crate::domain::category::descendants;
use crate::domain::stats::{Interval, buckets};
use crate::domain::text::label;
use crate::error::{Error, Result};
use crate::store::stats::StatsScope;

const MAX_RANGE: i64 = 400 * 86_400_000_000;

pub(super) async fn stats(
    api: &Api,
    r: Request<pb::GetKnowledgeStatsRequest>,
) -> Result<pb::GetKnowledgeStatsResponse> {
    let principal = api.principal(&r)?;
    let msg = r.into_inner();
    let mut v = FieldViolations::new();
    let time = |v: &mut FieldViolations, field: &str, t: Option<&prost_types::Timestamp>| match t {
        None => {
            v.add(field, "is required");
            None
        }
        Some(t) => {
            let micros = from_timestamp(t);
            if micros.is_none() {
                v.add(field, "is not a valid time");
            }
            micros
        }
    };
    let start = time(&mut v, "start_time", msg.start_time.as_ref());
    let end = time(&mut v, "end_time", msg.end_time.as_ref());
    if let (Some(start), Some(end)) = (start, end) {
        if end <= start {
            v.add("end_time", "must be after start_time");
        } else if end - start > MAX_RANGE {
            v.add("end_time", "must be at most 400 days after start_time");
        }
    }
    let interval = match enum_value::<common::Interval>(&mut v, "interval", msg.interval) {
        Some(common::Interval::Hour) => Interval::Hour,
        Some(common::Interval::Week) => Interval::Week,
        Some(common::Interval::Month) => Interval::Month,
        _ => Interval::Day,
    };
    let language = parse::optional_language(&mut v, "language", &msg.language);
    let product_line = if msg.product_line.trim().is_empty() {
        None
    } else {
        v.check("product_line", label(&msg.product_line))
    };
    let category = parse::optional_id(&mut v, "category", &msg.category, "categories");
    let top = match msg.top_articles_limit {
        0 => 10,
        n if n < 0 => {
            v.add("top_articles_limit", "must not be negative");
            10
        }
        n => i64::from(n.min(100)),
    };
    let (start, end) = (start.unwrap_or_default(), end.unwrap_or_default());
    let periods = if end > start && end - start <= MAX_RANGE {
        let b = buckets(interval, start, end);
        if b.is_none() {
            v.add(
                "interval",
                "gives more than 1000 buckets in the range: choose a longer one",
            );
        }
        b.unwrap_or_default()
    } else {
        Vec::new()
    };
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    Api::allow(&principal, Action::Stats)?;
    let categories = match category {
        Some(id) => Some(descendants(id, &api.store.category_parents().await?)),
        None => None,
    };
    let scope = StatsScope {
        start,
        end,
        language,
        product_line,
        categories,
    };
    let counts = api.store.stats(&scope, interval, &periods).await?;
    let mut total = [0i64; crate::store::stats::METRICS];
    for bucket in &counts {
        for (t, c) in total.iter_mut().zip(bucket) {
            *t += c;
        }
    }
    let mut top_articles = Vec::new();
    for numbers in api.store.top_articles(&scope, top).await? {
        let title = api
            .store
            .article(numbers.article)
            .await?
            .map(|a| a.title().to_owned())
            .unwrap_or_default();
        top_articles.push(convert::top_article(&numbers, title));
    }
    Ok(convert::stats(&periods, &counts, &total, top_articles))
}

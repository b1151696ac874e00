//! Statistics, aggregated in SQL: one grouped query per kind of fact (invitations,
//! responses, feedback items, classified texts, follow-ups), merged by period and dimensions.

use std::collections::BTreeMap;

use aftercare_platform::query::{Comparison, Filter};
use sqlx::Row;

use super::Store;
use super::query::{Bind, Where};
use crate::domain::access::Reach;
use crate::domain::stats::{Dimension, Metrics};
use crate::domain::values::{Channel, Topic};
use crate::error::Result;

/// The most groups a stats answer may have.
pub const MAX_GROUPS: usize = 10_000;

/// A stats request, parsed.
#[derive(Debug, Clone)]
pub struct StatsQuery {
    /// Bucket starts, and the end of the last bucket.
    pub buckets: Vec<i64>,
    /// The range.
    pub start: i64,
    /// Exclusive end.
    pub end: i64,
    /// Dimensions.
    pub group_by: Vec<Dimension>,
    /// The filter (fields region, channel, team, agent, survey, topic).
    pub filter: Filter,
    /// What the caller reaches.
    pub reach: Reach,
    /// Now (for follow-ups due).
    pub now: i64,
}

/// One group: bucket start, dimension values (as text), metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsGroup {
    /// Period start.
    pub period_start: i64,
    /// Values of `group_by`, in order.
    pub dims: Vec<String>,
    /// Metrics.
    pub metrics: Metrics,
}

/// Fills the metrics of one kind of fact from its integer columns and its float sum.
type Fill = fn(&mut Metrics, &[i64], f64);

/// How one kind of fact maps to the stats columns.
struct FactSql {
    from: &'static str,
    time: &'static str,
    region: &'static str,
    channel: &'static str,
    team: &'static str,
    agent: &'static str,
    survey: &'static str,
    topic: &'static str,
    /// The resource name of the feedback a row is about (whose classification a `topic`
    /// condition reads), or `None` when the fact has none (a `topic` condition excludes it).
    feedback: Option<&'static str>,
    metrics: &'static [&'static str],
}

const INVITATIONS: FactSql = FactSql {
    from: "invitations x",
    time: "x.send_time",
    region: "x.region",
    channel: "x.channel",
    team: "x.team",
    agent: "x.agent",
    survey: "('surveys/' || x.survey_id)",
    topic: "0",
    feedback: None,
    metrics: &[
        "COUNT(*)",
        "CAST(SUM(CASE WHEN x.status = 3 THEN 1 ELSE 0 END) AS BIGINT)",
    ],
};

const RESPONSES: FactSql = FactSql {
    from: "responses x",
    time: "x.create_time",
    region: "x.region",
    channel: "x.channel",
    team: "x.team",
    agent: "x.agent",
    survey: "('surveys/' || x.survey_id)",
    topic: "0",
    feedback: Some("('responses/' || x.id)"),
    metrics: &[
        "COUNT(*)",
        "COUNT(x.csat_score)",
        "CAST(COALESCE(SUM(x.csat_score), 0) AS BIGINT)",
        "CAST(SUM(CASE WHEN x.csat_score >= 4 THEN 1 ELSE 0 END) AS BIGINT)",
        "CAST(SUM(CASE WHEN x.csat_score = 1 THEN 1 ELSE 0 END) AS BIGINT)",
        "CAST(SUM(CASE WHEN x.csat_score = 2 THEN 1 ELSE 0 END) AS BIGINT)",
        "CAST(SUM(CASE WHEN x.csat_score = 3 THEN 1 ELSE 0 END) AS BIGINT)",
        "CAST(SUM(CASE WHEN x.csat_score = 4 THEN 1 ELSE 0 END) AS BIGINT)",
        "CAST(SUM(CASE WHEN x.csat_score = 5 THEN 1 ELSE 0 END) AS BIGINT)",
        "COUNT(x.nps_score)",
        "CAST(SUM(CASE WHEN x.nps_score >= 9 THEN 1 ELSE 0 END) AS BIGINT)",
        "CAST(SUM(CASE WHEN x.nps_score IN (7, 8) THEN 1 ELSE 0 END) AS BIGINT)",
        "CAST(SUM(CASE WHEN x.nps_score <= 6 THEN 1 ELSE 0 END) AS BIGINT)",
        "COUNT(x.ces_score)",
        "CAST(COALESCE(SUM(x.ces_score), 0) AS BIGINT)",
    ],
};

const ITEMS: FactSql = FactSql {
    from: "feedback_items x",
    time: "x.receive_time",
    region: "x.region",
    channel: "x.channel",
    team: "''",
    agent: "''",
    survey: "''",
    topic: "0",
    feedback: Some("('feedbackItems/' || x.id)"),
    metrics: &["COUNT(*)"],
};

const SENTIMENT_METRICS: &[&str] = &[
    "CAST(SUM(CASE WHEN c.sentiment = 1 THEN 1 ELSE 0 END) AS BIGINT)",
    "CAST(SUM(CASE WHEN c.sentiment = 2 THEN 1 ELSE 0 END) AS BIGINT)",
    "CAST(SUM(CASE WHEN c.sentiment = 3 THEN 1 ELSE 0 END) AS BIGINT)",
    "CAST(SUM(c.sentiment_score) AS DOUBLE PRECISION)",
];

const RESPONSE_TEXTS: FactSql = FactSql {
    from: "responses x JOIN classifications c ON c.feedback = 'responses/' || x.id",
    time: "x.create_time",
    region: "x.region",
    channel: "x.channel",
    team: "x.team",
    agent: "x.agent",
    survey: "('surveys/' || x.survey_id)",
    topic: "c.topic",
    feedback: Some("c.feedback"),
    metrics: SENTIMENT_METRICS,
};

const ITEM_TEXTS: FactSql = FactSql {
    from: "feedback_items x JOIN classifications c ON c.feedback = 'feedbackItems/' || x.id",
    time: "x.receive_time",
    region: "x.region",
    channel: "x.channel",
    team: "''",
    agent: "''",
    survey: "''",
    topic: "c.topic",
    feedback: Some("c.feedback"),
    metrics: SENTIMENT_METRICS,
};

const FOLLOW_UPS: FactSql = FactSql {
    from: "follow_ups x",
    time: "x.original_due_time",
    region: "x.region",
    channel: "x.channel",
    team: "x.team",
    agent: "x.agent",
    survey: "(CASE WHEN x.survey_id = '' THEN '' ELSE 'surveys/' || x.survey_id END)",
    topic: "0",
    feedback: Some("x.source_feedback"),
    metrics: &[
        "COUNT(*)",
        "CAST(SUM(CASE WHEN x.original_due_time <= {now} OR x.contact_time IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT)",
        "CAST(SUM(CASE WHEN (x.original_due_time <= {now} OR x.contact_time IS NOT NULL) AND x.on_time = 1 THEN 1 ELSE 0 END) AS BIGINT)",
    ],
};

impl FactSql {
    fn column(&self, field: &str) -> Option<&'static str> {
        Some(match field {
            "region" => self.region,
            "channel" => self.channel,
            "team" => self.team,
            "agent" => self.agent,
            "survey" => self.survey,
            "topic" => self.topic,
            _ => return None,
        })
    }

    fn dimension(&self, dim: Dimension) -> String {
        let column = match dim {
            Dimension::Region => self.region,
            Dimension::Channel => self.channel,
            Dimension::Topic => self.topic,
            Dimension::Team => self.team,
            Dimension::Agent => self.agent,
        };
        format!("CAST({column} AS TEXT)")
    }
}

/// Compiles the stats filter for one fact; values were checked when the request was parsed.
/// A `topic` condition matches the facts whose feedback has that topic among its topics
/// (not only as its primary topic): responses and items by their classification,
/// follow-ups by their source feedback's; invitations have no topic and are left out.
fn filter_for(fact: &FactSql, query: &StatsQuery, w: &mut Where) {
    for condition in &query.filter.conditions {
        if condition.field == "topic" {
            let Some(feedback) = fact.feedback else {
                w.push("1 = 0");
                continue;
            };
            let number = Topic::from_name(condition.value.text()).map_or(0, Topic::number);
            let p = w.bind(Bind::Text(format!("%,{number},%")));
            let exists = format!(
                "EXISTS (SELECT 1 FROM classifications ct WHERE ct.feedback = {feedback}
                    AND (',' || ct.topics || ',') LIKE {p})"
            );
            w.push(if condition.op == Comparison::Ne {
                format!("NOT {exists}")
            } else {
                exists
            });
            continue;
        }
        let Some(column) = fact.column(&condition.field) else {
            continue;
        };
        let value = match condition.field.as_str() {
            "channel" => Bind::Int(
                Channel::from_name(condition.value.text()).map_or(0, |c| c.number().into()),
            ),
            _ => Bind::Text(condition.value.text().to_owned()),
        };
        let p = w.bind(value);
        let op = if condition.op.is_equality() {
            condition.op.sql()
        } else {
            "="
        };
        w.push(format!("{column} {op} {p}"));
    }
}

fn bucket_expr(time: &str, buckets: &[i64]) -> String {
    let widths: Vec<i64> = buckets.windows(2).map(|w| w[1] - w[0]).collect();
    if let Some(width) = widths
        .first()
        .copied()
        .filter(|w| widths.iter().all(|x| x == w))
    {
        return format!("(({time} - {}) / {width})", buckets[0]);
    }
    let mut expr = String::from("CASE");
    for (index, boundary) in buckets.iter().enumerate().skip(1) {
        expr.push_str(&format!(" WHEN {time} < {boundary} THEN {}", index - 1));
    }
    expr.push_str(" ELSE -1 END");
    expr
}

impl Store {
    /// The statistics `query` asks for: the groups (ordered by period then dimensions) and the
    /// total; `Err` with a description when there would be more than [`MAX_GROUPS`] groups.
    pub async fn stats(
        &self,
        query: &StatsQuery,
    ) -> Result<Result<(Vec<StatsGroup>, Metrics), String>> {
        let mut groups: BTreeMap<(i64, Vec<String>), Metrics> = BTreeMap::new();
        let facts: [(&FactSql, Fill); 6] = [
            (&INVITATIONS, |m, v, _| {
                m.invitations_sent = v[0];
                m.invitations_answered = v[1];
            }),
            (&RESPONSES, |m, v, _| {
                m.responses = v[0];
                m.csat_count = v[1];
                m.csat_sum = v[2];
                m.csat_satisfied = v[3];
                m.csat_distribution = [v[4], v[5], v[6], v[7], v[8]];
                m.nps_count = v[9];
                m.nps_promoters = v[10];
                m.nps_passives = v[11];
                m.nps_detractors = v[12];
                m.ces_count = v[13];
                m.ces_sum = v[14];
            }),
            (&ITEMS, |m, v, _| m.feedback_items = v[0]),
            (&RESPONSE_TEXTS, |m, v, sum| {
                m.sentiment_negative = v[0];
                m.sentiment_neutral = v[1];
                m.sentiment_positive = v[2];
                m.sentiment_sum = sum;
            }),
            (&ITEM_TEXTS, |m, v, sum| {
                m.sentiment_negative = v[0];
                m.sentiment_neutral = v[1];
                m.sentiment_positive = v[2];
                m.sentiment_sum = sum;
            }),
            (&FOLLOW_UPS, |m, v, _| {
                m.follow_ups_opened = v[0];
                m.follow_ups_due = v[1];
                m.follow_ups_on_time = v[2];
            }),
        ];
        struct Plan {
            sql: String,
            w: Where,
            dims: usize,
            floats: bool,
            metrics: usize,
            fill: Fill,
        }
        let mut plans = Vec::with_capacity(facts.len());
        for (fact, fill) in facts {
            let mut w = Where::new();
            let start = w.bind(Bind::Int(query.start));
            let end = w.bind(Bind::Int(query.end));
            w.push(format!(
                "{} >= {start} AND {} < {end}",
                fact.time, fact.time
            ));
            w.reach(&query.reach, fact.region, "x.customer");
            filter_for(fact, query, &mut w);
            let dims: Vec<String> = query.group_by.iter().map(|d| fact.dimension(*d)).collect();
            let floats = fact.metrics.iter().any(|m| m.contains("DOUBLE"));
            let metrics: Vec<String> = fact
                .metrics
                .iter()
                .map(|m| m.replace("{now}", &query.now.to_string()))
                .collect();
            let mut select = vec![format!(
                "{} AS bucket",
                bucket_expr(fact.time, &query.buckets)
            )];
            select.extend(dims.iter().enumerate().map(|(i, d)| format!("{d} AS d{i}")));
            select.extend(
                metrics
                    .iter()
                    .enumerate()
                    .map(|(i, m)| format!("{m} AS m{i}")),
            );
            let mut group = vec!["bucket".to_owned()];
            group.extend((0..dims.len()).map(|i| format!("d{i}")));
            let sql = format!(
                "SELECT {} FROM {}{} GROUP BY {}",
                select.join(", "),
                fact.from,
                w.sql(),
                group.join(", ")
            );
            plans.push(Plan {
                sql,
                w,
                dims: dims.len(),
                floats,
                metrics: metrics.len(),
                fill,
            });
        }
        // The facts are independent: query them at once (the reader pool has several
        // connections), then merge.
        let results = futures::future::try_join_all(plans.iter().map(|plan| {
            plan.w
                .apply(sqlx::query(&plan.sql))
                .fetch_all(self.db.reader())
        }))
        .await?;
        for (plan, rows) in plans.iter().zip(results) {
            let (fill, floats) = (plan.fill, plan.floats);
            let dims = plan.dims;
            let metrics_len = plan.metrics;
            for row in &rows {
                let bucket: i64 = row.try_get("bucket")?;
                let Some(period_start) = usize::try_from(bucket)
                    .ok()
                    .and_then(|b| query.buckets.get(b))
                    .copied()
                else {
                    continue;
                };
                let mut values = Vec::with_capacity(dims);
                for i in 0..dims {
                    let value: Option<String> = row.try_get(format!("d{i}").as_str())?;
                    values.push(value.unwrap_or_default());
                }
                let count = if floats { metrics_len - 1 } else { metrics_len };
                let mut numbers = Vec::with_capacity(count);
                for i in 0..count {
                    let value: Option<i64> = row.try_get(format!("m{i}").as_str())?;
                    numbers.push(value.unwrap_or_default());
                }
                let sum = if floats {
                    let value: Option<f64> =
                        row.try_get(format!("m{}", metrics_len - 1).as_str())?;
                    value.unwrap_or_default()
                } else {
                    0.0
                };
                let mut m = Metrics::default();
                fill(&mut m, &numbers, sum);
                groups.entry((period_start, values)).or_default().add(&m);
                if groups.len() > MAX_GROUPS {
                    return Ok(Err(format!(
                        "more than {MAX_GROUPS} groups: narrow the range, the interval or the grouping"
                    )));
                }
            }
        }
        let mut total = Metrics::default();
        for m in groups.values() {
            total.add(m);
        }
        let out = groups
            .into_iter()
            .map(|((period_start, dims), metrics)| StatsGroup {
                period_start,
                dims,
                metrics,
            })
            .collect();
        Ok(Ok((out, total)))
    }
}

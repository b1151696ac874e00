//! Statistics: counts per period bucket, computed by the database (SQL aggregates).

use sqlx::Row;
use uuid::Uuid;

use super::{Arg, Store, Where, bind_all, json_element_pattern};
use crate::domain::stats::{Interval, next_bucket};
use crate::error::Result;

/// What the statistics are restricted to.
#[derive(Debug, Clone, Default)]
pub struct StatsScope {
    /// Range start (inclusive), UTC µs.
    pub start: i64,
    /// Range end (exclusive).
    pub end: i64,
    /// Only this language.
    pub language: Option<String>,
    /// Only this product line.
    pub product_line: Option<String>,
    /// Only articles in these categories (a category and its descendants).
    pub categories: Option<Vec<Uuid>>,
}

/// The counts of one bucket, in the order of [`METRICS`].
pub type Counts = [i64; METRICS];

/// How many metrics are counted per bucket.
pub const METRICS: usize = 10;
/// Indexes into [`Counts`].
pub mod metric {
    /// Searches.
    pub const SEARCHES: usize = 0;
    /// Searches without result.
    pub const ZERO_RESULT: usize = 1;
    /// Suggestion sets.
    pub const SUGGESTION_SETS: usize = 2;
    /// Deflections.
    pub const DEFLECTIONS: usize = 3;
    /// Tickets created after suggestions.
    pub const TICKETS: usize = 4;
    /// Views.
    pub const VIEWS: usize = 5;
    /// Helpful ratings.
    pub const HELPFUL: usize = 6;
    /// Not-helpful ratings.
    pub const NOT_HELPFUL: usize = 7;
    /// Publications.
    pub const PUBLISHED: usize = 8;
    /// New content gaps.
    pub const GAPS_OPENED: usize = 9;
}

/// One article's numbers over the range.
#[derive(Debug, Clone, Default)]
pub struct ArticleNumbers {
    /// The article.
    pub article: Uuid,
    /// Views.
    pub views: i64,
    /// Helpful ratings.
    pub helpful: i64,
    /// Not-helpful ratings.
    pub not_helpful: i64,
    /// Times suggested.
    pub suggestions: i64,
    /// Deflections credited.
    pub deflections: i64,
}

fn fixed_width(interval: Interval) -> Option<i64> {
    match interval {
        Interval::Hour => Some(3_600_000_000),
        Interval::Day => Some(86_400_000_000),
        Interval::Week => Some(7 * 86_400_000_000),
        Interval::Month => None,
    }
}

/// Restricts `w` to articles (aliased `a`) of the scope's product line and categories.
fn article_scope(w: &mut Where, scope: &StatsScope) {
    if let Some(line) = &scope.product_line {
        let p = w.arg(Arg::Text(json_element_pattern(line)));
        w.push(format!(
            "(a.product_lines = '[]' OR a.product_lines LIKE {p} ESCAPE '\\')"
        ));
    }
    if let Some(categories) = &scope.categories {
        let list: Vec<String> = categories
            .iter()
            .map(|c| w.arg(Arg::Text(c.to_string())))
            .collect();
        w.push(format!("a.category_id IN ({})", list.join(", ")));
    }
}

impl Store {
    /// Counts `exprs` over rows of `from` whose `time` column falls in each bucket.
    async fn bucketed(
        &self,
        exprs: &[&str],
        from: &str,
        time: &str,
        filter: &Where,
        (interval, buckets, end): (Interval, &[i64], i64),
    ) -> Result<Vec<Vec<i64>>> {
        let mut out = vec![vec![0; exprs.len()]; buckets.len()];
        let Some(&origin) = buckets.first() else {
            return Ok(out);
        };
        let columns: Vec<String> = exprs
            .iter()
            .enumerate()
            .map(|(i, e)| format!("{e} AS c{i}"))
            .collect();
        if let Some(width) = fixed_width(interval) {
            let mut w = Where {
                clauses: filter.clauses.clone(),
                args: filter.args.clone(),
            };
            let o = w.arg(Arg::Int(origin));
            let wd = w.arg(Arg::Int(width));
            let sql = format!(
                "SELECT ({time} - {o}) / {wd} AS b, {} FROM {from}{} GROUP BY b",
                columns.join(", "),
                w.sql()
            );
            for row in bind_all(sqlx::query(&sql), &w.args)
                .fetch_all(self.db().reader())
                .await?
            {
                let b: i64 = row.try_get("b")?;
                let Some(slot) = usize::try_from(b).ok().and_then(|b| out.get_mut(b)) else {
                    continue;
                };
                for (i, value) in slot.iter_mut().enumerate() {
                    *value = row.try_get(format!("c{i}").as_str())?;
                }
            }
        } else {
            for (slot, &start) in out.iter_mut().zip(buckets) {
                let mut w = Where {
                    clauses: filter.clauses.clone(),
                    args: filter.args.clone(),
                };
                let s = w.arg(Arg::Int(start));
                let e = w.arg(Arg::Int(next_bucket(interval, start).min(end)));
                w.push(format!("{time} >= {s} AND {time} < {e}"));
                let sql = format!("SELECT {} FROM {from}{}", columns.join(", "), w.sql());
                let row = bind_all(sqlx::query(&sql), &w.args)
                    .fetch_one(self.db().reader())
                    .await?;
                for (i, value) in slot.iter_mut().enumerate() {
                    *value = row.try_get(format!("c{i}").as_str())?;
                }
            }
        }
        Ok(out)
    }

    /// The counts of every bucket of `scope`.
    pub async fn stats(
        &self,
        scope: &StatsScope,
        interval: Interval,
        buckets: &[i64],
    ) -> Result<Vec<Counts>> {
        let mut counts = vec![[0i64; METRICS]; buckets.len()];
        let range = |w: &mut Where, column: &str| {
            let s = w.arg(Arg::Int(scope.start));
            let e = w.arg(Arg::Int(scope.end));
            w.push(format!("{column} >= {s} AND {column} < {e}"));
        };
        let mut put = |rows: Vec<Vec<i64>>, slots: &[usize]| {
            for (bucket, row) in counts.iter_mut().zip(rows) {
                for (slot, value) in slots.iter().zip(row) {
                    bucket[*slot] = value;
                }
            }
        };

        // Searches.
        let mut w = Where::default();
        range(&mut w, "time");
        if let Some(language) = &scope.language {
            let l = w.arg(Arg::Text(language.clone()));
            w.push(format!("language = {l}"));
        }
        if let Some(line) = &scope.product_line {
            let l = w.arg(Arg::Text(line.clone()));
            w.push(format!("product_line = {l}"));
        }
        if let Some(categories) = &scope.categories {
            let list: Vec<String> = categories
                .iter()
                .map(|c| w.arg(Arg::Text(format!("categories/{c}"))))
                .collect();
            w.push(format!(
                "(category = '' OR category IN ({}))",
                list.join(", ")
            ));
        }
        let rows = self
            .bucketed(
                &["COUNT(*)", "COUNT(CASE WHEN result_count = 0 THEN 1 END)"],
                "searches",
                "time",
                &w,
                (interval, buckets, scope.end),
            )
            .await?;
        put(rows, &[metric::SEARCHES, metric::ZERO_RESULT]);

        // Suggestion sets.
        let mut w = Where::default();
        range(&mut w, "s.time");
        if let Some(language) = &scope.language {
            let l = w.arg(Arg::Text(language.clone()));
            w.push(format!("s.language = {l}"));
        }
        if let Some(line) = &scope.product_line {
            let l = w.arg(Arg::Text(line.clone()));
            w.push(format!("s.product_line = {l}"));
        }
        if let Some(categories) = &scope.categories {
            let list: Vec<String> = categories
                .iter()
                .map(|c| w.arg(Arg::Text(c.to_string())))
                .collect();
            w.push(format!(
                "EXISTS (SELECT 1 FROM suggestion_items i JOIN articles a ON a.id = i.article_id
                   WHERE i.set_id = s.id AND a.category_id IN ({}))",
                list.join(", ")
            ));
        }
        let rows = self
            .bucketed(
                &[
                    "COUNT(*)",
                    "COUNT(CASE WHEN s.outcome = 1 THEN 1 END)",
                    "COUNT(CASE WHEN s.outcome = 2 THEN 1 END)",
                ],
                "suggestion_sets s",
                "s.time",
                &w,
                (interval, buckets, scope.end),
            )
            .await?;
        put(
            rows,
            &[
                metric::SUGGESTION_SETS,
                metric::DEFLECTIONS,
                metric::TICKETS,
            ],
        );

        // Views.
        let mut w = Where::default();
        range(&mut w, "v.time");
        if let Some(language) = &scope.language {
            let l = w.arg(Arg::Text(language.clone()));
            w.push(format!("v.language = {l}"));
        }
        article_scope(&mut w, scope);
        let rows = self
            .bucketed(
                &["COUNT(*)"],
                "article_views v JOIN articles a ON a.id = v.article_id",
                "v.time",
                &w,
                (interval, buckets, scope.end),
            )
            .await?;
        put(rows, &[metric::VIEWS]);

        // Ratings.
        let mut w = Where::default();
        range(&mut w, "r.update_time");
        if let Some(language) = &scope.language {
            let l = w.arg(Arg::Text(language.clone()));
            w.push(format!("r.language = {l}"));
        }
        article_scope(&mut w, scope);
        let rows = self
            .bucketed(
                &[
                    "COUNT(CASE WHEN r.helpfulness = 1 THEN 1 END)",
                    "COUNT(CASE WHEN r.helpfulness = 2 THEN 1 END)",
                ],
                "article_ratings r JOIN articles a ON a.id = r.article_id",
                "r.update_time",
                &w,
                (interval, buckets, scope.end),
            )
            .await?;
        put(rows, &[metric::HELPFUL, metric::NOT_HELPFUL]);

        // Publications.
        let mut w = Where::default();
        range(&mut w, "p.time");
        if let Some(language) = &scope.language {
            let l = w.arg(Arg::Text(language.clone()));
            w.push(format!(
                "EXISTS (SELECT 1 FROM article_versions av WHERE av.article_id = a.id AND av.language = {l})"
            ));
        }
        article_scope(&mut w, scope);
        let rows = self
            .bucketed(
                &["COUNT(*)"],
                "article_publications p JOIN articles a ON a.id = p.article_id",
                "p.time",
                &w,
                (interval, buckets, scope.end),
            )
            .await?;
        put(rows, &[metric::PUBLISHED]);

        // New content gaps.
        let mut w = Where::default();
        range(&mut w, "first_seen");
        if let Some(language) = &scope.language {
            let l = w.arg(Arg::Text(language.clone()));
            w.push(format!("language = {l}"));
        }
        if let Some(line) = &scope.product_line {
            let p = w.arg(Arg::Text(json_element_pattern(line)));
            w.push(format!("product_lines LIKE {p} ESCAPE '\\'"));
        }
        let rows = self
            .bucketed(
                &["COUNT(*)"],
                "content_gaps",
                "first_seen",
                &w,
                (interval, buckets, scope.end),
            )
            .await?;
        put(rows, &[metric::GAPS_OPENED]);
        Ok(counts)
    }

    /// The most viewed articles in the scope, with their numbers.
    pub async fn top_articles(
        &self,
        scope: &StatsScope,
        limit: i64,
    ) -> Result<Vec<ArticleNumbers>> {
        let mut w = Where::default();
        let s = w.arg(Arg::Int(scope.start));
        let e = w.arg(Arg::Int(scope.end));
        w.push(format!("v.time >= {s} AND v.time < {e}"));
        if let Some(language) = &scope.language {
            let l = w.arg(Arg::Text(language.clone()));
            w.push(format!("v.language = {l}"));
        }
        article_scope(&mut w, scope);
        let sql = format!(
            "SELECT v.article_id AS article, COUNT(*) AS views FROM article_views v JOIN articles a ON a.id = v.article_id{}
             GROUP BY v.article_id ORDER BY views DESC, article LIMIT {limit}",
            w.sql()
        );
        let rows = bind_all(sqlx::query(&sql), &w.args)
            .fetch_all(self.db().reader())
            .await?;
        let mut out = Vec::new();
        for row in rows {
            let id: String = row.try_get("article")?;
            let Ok(article) = Uuid::parse_str(&id) else {
                continue;
            };
            let ratings = sqlx::query(
                "SELECT COUNT(CASE WHEN helpfulness = 1 THEN 1 END) AS h, COUNT(CASE WHEN helpfulness = 2 THEN 1 END) AS n
                 FROM article_ratings WHERE article_id = $1 AND update_time >= $2 AND update_time < $3",
            )
            .bind(&id)
            .bind(scope.start)
            .bind(scope.end)
            .fetch_one(self.db().reader())
            .await?;
            let suggested = sqlx::query(
                "SELECT COUNT(*) AS n, COUNT(CASE WHEN s.outcome = 1 AND s.outcome_article = $1 THEN 1 END) AS d
                 FROM suggestion_items i JOIN suggestion_sets s ON s.id = i.set_id
                 WHERE i.article_id = $1 AND s.time >= $2 AND s.time < $3",
            )
            .bind(&id)
            .bind(scope.start)
            .bind(scope.end)
            .fetch_one(self.db().reader())
            .await?;
            out.push(ArticleNumbers {
                article,
                views: row.try_get("views")?,
                helpful: ratings.try_get("h")?,
                not_helpful: ratings.try_get("n")?,
                suggestions: suggested.try_get("n")?,
                deflections: suggested.try_get("d")?,
            });
        }
        Ok(out)
    }
}

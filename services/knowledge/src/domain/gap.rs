//! Content gaps: queries that found nothing, grouped by normalised text and language.

use uuid::Uuid;

use super::{Actor, DomainError};

/// Where a gap is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapState {
    /// Nobody dealt with it yet.
    Open = 1,
    /// An article covers it.
    Resolved = 2,
    /// Not worth an article.
    Dismissed = 3,
}

impl GapState {
    /// The state stored as `number`.
    pub fn from_number(number: i32) -> Option<Self> {
        Some(match number {
            1 => Self::Open,
            2 => Self::Resolved,
            3 => Self::Dismissed,
            _ => return None,
        })
    }

    /// The filter word for it.
    pub fn from_word(word: &str) -> Option<Self> {
        Some(match word {
            "OPEN" => Self::Open,
            "RESOLVED" => Self::Resolved,
            "DISMISSED" => Self::Dismissed,
            _ => return None,
        })
    }
}

/// A content gap.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentGap {
    /// Its id.
    pub id: Uuid,
    /// The normalised query.
    pub normalized_query: String,
    /// The language searched in (may be empty).
    pub language: String,
    /// Distinct raw queries, most recent first (at most 5).
    pub sample_queries: Vec<String>,
    /// Searches that found nothing.
    pub search_count: i64,
    /// Product lines the searches named, with how often.
    pub product_lines: Vec<(String, i64)>,
    /// First searched.
    pub first_seen: i64,
    /// Last searched.
    pub last_seen: i64,
    /// Its state.
    pub state: GapState,
    /// The article that covers it.
    pub resolving_article: Option<Uuid>,
    /// Note.
    pub note: String,
    /// Who resolved or dismissed.
    pub resolver: Option<Actor>,
    /// When.
    pub resolve_time: Option<i64>,
    /// Concurrency version.
    pub version: i64,
    /// Last change, counting included.
    pub update_time: i64,
}

/// At most this many sample queries are kept.
pub const MAX_SAMPLES: usize = 5;

impl ContentGap {
    /// Counts one more search with `query` (as typed) restricted to `product_line`; returns
    /// whether a resolved gap reopened.
    pub fn count(&mut self, query: &str, product_line: Option<&str>, now: i64) -> bool {
        self.search_count += 1;
        self.last_seen = now;
        self.update_time = now;
        self.sample_queries.retain(|q| q != query);
        self.sample_queries.insert(0, query.to_owned());
        self.sample_queries.truncate(MAX_SAMPLES);
        if let Some(line) = product_line {
            match self.product_lines.iter_mut().find(|(l, _)| l == line) {
                Some((_, n)) => *n += 1,
                None => self.product_lines.push((line.to_owned(), 1)),
            }
            self.product_lines
                .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            self.product_lines.truncate(20);
        }
        if self.state == GapState::Resolved {
            self.state = GapState::Open;
            self.version += 1;
            return true;
        }
        false
    }

    fn check(&self, etag: i64) -> Result<(), DomainError> {
        if etag != self.version {
            return Err(DomainError::StaleEtag);
        }
        if self.state != GapState::Open {
            return Err(DomainError::refused(
                "STATE",
                "only an open content gap can be resolved or dismissed",
            ));
        }
        Ok(())
    }

    /// `OPEN` → `RESOLVED` by `article`.
    pub fn resolve(
        &mut self,
        etag: i64,
        article: Uuid,
        note: String,
        actor: Actor,
        now: i64,
    ) -> Result<(), DomainError> {
        self.check(etag)?;
        self.state = GapState::Resolved;
        self.resolving_article = Some(article);
        self.finish(note, actor, now);
        Ok(())
    }

    /// `OPEN` → `DISMISSED`.
    pub fn dismiss(
        &mut self,
        etag: i64,
        note: String,
        actor: Actor,
        now: i64,
    ) -> Result<(), DomainError> {
        self.check(etag)?;
        self.state = GapState::Dismissed;
        self.finish(note, actor, now);
        Ok(())
    }

    fn finish(&mut self, note: String, actor: Actor, now: i64) {
        self.note = note;
        self.resolver = Some(actor);
        self.resolve_time = Some(now);
        self.version += 1;
        self.update_time = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ActorKind;

    fn gap() -> ContentGap {
        ContentGap {
            id: Uuid::now_v7(),
            normalized_query: "q".into(),
            language: String::new(),
            sample_queries: vec![],
            search_count: 0,
            product_lines: vec![],
            first_seen: 1,
            last_seen: 1,
            state: GapState::Open,
            resolving_article: None,
            note: String::new(),
            resolver: None,
            resolve_time: None,
            version: 1,
            update_time: 1,
        }
    }

    fn actor() -> Actor {
        Actor {
            kind: ActorKind::Agent,
            id: "agents/a".into(),
            name: "a".into(),
        }
    }

    #[test]
    fn samples_keep_five_distinct_queries_most_recent_first() {
        let mut g = gap();
        for q in ["a", "b", "a", "c", "d", "e", "f"] {
            g.count(q, None, 2);
        }
        assert_eq!(g.sample_queries, ["f", "e", "d", "c", "a"]);
        assert_eq!(g.search_count, 7);
    }

    #[test]
    fn a_resolved_gap_reopens_when_searched_again_and_a_dismissed_one_does_not() {
        let mut g = gap();
        g.resolve(1, Uuid::now_v7(), String::new(), actor(), 2)
            .unwrap();
        assert!(g.count("q", None, 3));
        assert_eq!(g.state, GapState::Open);
        let v = g.version;
        g.dismiss(v, String::new(), actor(), 4).unwrap();
        assert!(!g.count("q", None, 5));
        assert_eq!(g.state, GapState::Dismissed);
        assert!(
            g.resolve(g.version, Uuid::now_v7(), String::new(), actor(), 6)
                .is_err()
        );
    }
}

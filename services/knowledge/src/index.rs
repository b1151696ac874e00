//! The search index: derived data, kept in a folder of the replica's own (tantivy), fed from
//! the database's change sequence.
//!
//! Every committed change to an article bumps the database's index sequence and stamps the
//! article with it (in the change's transaction). The index stores, in its commit payload,
//! the sequence it has applied up to (and its schema version). `catch_up` re-indexes every
//! article stamped after that mark, then commits the new mark: so an index that is missing,
//! behind (a crash between the database commit and the index commit), or built by another
//! schema is rebuilt or brought up to date from the database, and nothing is lost. Each
//! replica of the service runs its own index over the same database the same way.

pub mod tokenizer;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
    Value,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};
use uuid::Uuid;

use crate::domain::article::base_language;
use crate::domain::text::plain_text;
use crate::domain::{Article, Kind, Visibility};

/// Bumped whenever the schema or the analysis changes: an index of another version is
/// rebuilt.
const SCHEMA_VERSION: u32 = 1;
/// Title matches weigh this much more than body matches.
const TITLE_BOOST: f32 = 3.0;
/// At most this many distinct query terms are used (long ticket descriptions).
const MAX_TERMS: usize = 64;
/// Snippets are at most this many characters.
const SNIPPET_CHARS: usize = 300;

/// Why the index failed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// Tantivy failed.
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// The folder could not be prepared.
    #[error("search index folder {path}: {source}")]
    Io {
        /// The folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A blocking task failed.
    #[error("search index task: {0}")]
    Join(#[from] tokio::task::JoinError),
}

#[derive(Debug, Clone, Copy)]
struct Fields {
    article: Field,
    version: Field,
    language: Field,
    lang_base: Field,
    is_default: Field,
    has_base: Field,
    kind: Field,
    visibility: Field,
    category: Field,
    product: Field,
    title: Field,
    body: Field,
    publish_time: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer::MIXED)
                .set_index_option(IndexRecordOption::WithFreqs),
        )
        .set_stored();
    let fields = Fields {
        article: b.add_text_field("article", STRING | STORED),
        version: b.add_text_field("version", STORED),
        language: b.add_text_field("language", STRING | STORED),
        lang_base: b.add_text_field("lang_base", STRING),
        is_default: b.add_text_field("is_default", STRING),
        has_base: b.add_text_field("has_base", STRING),
        kind: b.add_text_field("kind", STRING | STORED),
        visibility: b.add_text_field("visibility", STRING),
        category: b.add_text_field("category", STRING | STORED),
        product: b.add_text_field("product", STRING),
        title: b.add_text_field("title", text.clone()),
        body: b.add_text_field("body", text),
        publish_time: b.add_i64_field("publish_time", STORED | INDEXED),
    };
    (b.build(), fields)
}

fn payload(seq: i64) -> String {
    format!("v{SCHEMA_VERSION}:{seq}")
}

fn parse_payload(payload: Option<&str>) -> Option<i64> {
    let (version, seq) = payload?.split_once(':')?;
    (version == format!("v{SCHEMA_VERSION}")).then(|| seq.parse().ok())?
}

/// What to search for.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// The text as typed.
    pub text: String,
    /// Match in this language (falling back to the default language).
    pub language: Option<String>,
    /// Only articles for this product line (or for all).
    pub product_line: Option<String>,
    /// Only articles in one of these categories.
    pub categories: Option<Vec<Uuid>>,
    /// Only this kind.
    pub kind: Option<Kind>,
    /// Only public articles.
    pub public_only: bool,
    /// Hits to skip.
    pub offset: usize,
    /// Hits to return.
    pub limit: usize,
}

/// One hit, one per article.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The article.
    pub article: Uuid,
    /// The version matched.
    pub version: Uuid,
    /// Its language.
    pub language: String,
    /// The article's kind.
    pub kind: Option<Kind>,
    /// Its category.
    pub category: Option<Uuid>,
    /// The title.
    pub title: String,
    /// Matched ranges of the title, in code points (start, length).
    pub title_highlights: Vec<(usize, usize)>,
    /// An excerpt of the body.
    pub snippet: String,
    /// Matched ranges of the snippet.
    pub snippet_highlights: Vec<(usize, usize)>,
    /// Relevance, 0 to 1.
    pub score: f64,
    /// When the version was published.
    pub publish_time: i64,
}

/// A page of hits.
#[derive(Debug, Clone, Default)]
pub struct Hits {
    /// The hits.
    pub hits: Vec<Hit>,
    /// Estimated total.
    pub total: usize,
    /// True when more follow.
    pub more: bool,
}

/// An article as the index sees it (live and published versions only; others are removed).
#[derive(Debug, Clone)]
pub struct Indexable {
    /// The article; `None` when it no longer exists.
    pub id: Uuid,
    /// Its current state, if it still exists.
    pub article: Option<Article>,
}

/// The index of one replica.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Arc<Mutex<IndexWriter>>,
    fields: Fields,
    applied: Mutex<i64>,
    sync: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("applied", &self.applied())
            .finish_non_exhaustive()
    }
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it (empty, at sequence 0) when missing or built by
    /// another schema version.
    pub fn open(dir: &Path) -> Result<Self, IndexError> {
        tokenizer::warm_up();
        let io = |source| IndexError::Io {
            path: dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let (schema, fields) = schema();
        let existing = Index::open_in_dir(dir).ok().filter(|index| {
            index.schema() == schema
                && index
                    .load_metas()
                    .ok()
                    .and_then(|m| parse_payload(m.payload.as_deref()))
                    .is_some()
        });
        let index = match existing {
            Some(index) => index,
            None => {
                std::fs::remove_dir_all(dir).map_err(io)?;
                std::fs::create_dir_all(dir).map_err(io)?;
                Index::create_in_dir(dir, schema)?
            }
        };
        index
            .tokenizers()
            .register(tokenizer::MIXED, tokenizer::analyzer());
        let applied = index
            .load_metas()
            .ok()
            .and_then(|m| parse_payload(m.payload.as_deref()))
            .unwrap_or(0);
        let writer: IndexWriter = index.writer_with_num_threads(1, 50_000_000)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            index,
            reader,
            writer: Arc::new(Mutex::new(writer)),
            fields,
            applied: Mutex::new(applied),
            sync: tokio::sync::Mutex::new(()),
        })
    }

    /// The database sequence the index has applied up to.
    pub fn applied(&self) -> i64 {
        *self
            .applied
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Serialises catch-ups: hold the guard while reading the database and applying.
    pub async fn lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.sync.lock().await
    }

    /// Applies `changes` (articles changed up to sequence `seq`) and commits the new mark.
    pub async fn apply(&self, changes: Vec<Indexable>, seq: i64) -> Result<(), IndexError> {
        let writer = self.writer.clone();
        let fields = self.fields;
        let docs: Vec<(Uuid, Vec<TantivyDocument>)> = changes
            .into_iter()
            .map(|c| {
                (
                    c.id,
                    c.article
                        .map(|a| documents(&fields, &a))
                        .unwrap_or_default(),
                )
            })
            .collect();
        tokio::task::spawn_blocking(move || -> Result<(), IndexError> {
            let mut writer = writer
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (id, docs) in docs {
                writer.delete_term(Term::from_field_text(fields.article, &id.to_string()));
                for doc in docs {
                    writer.add_document(doc)?;
                }
            }
            let mut prepared = writer.prepare_commit()?;
            prepared.set_payload(&payload(seq));
            prepared.commit()?;
            Ok(())
        })
        .await??;
        self.reader.reload()?;
        *self
            .applied
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = seq;
        Ok(())
    }

    /// Removes every document and sets the mark back to 0 (a full rebuild follows).
    pub async fn reset(&self) -> Result<(), IndexError> {
        let writer = self.writer.clone();
        tokio::task::spawn_blocking(move || -> Result<(), IndexError> {
            let mut writer = writer
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            writer.delete_all_documents()?;
            let mut prepared = writer.prepare_commit()?;
            prepared.set_payload(&payload(0));
            prepared.commit()?;
            Ok(())
        })
        .await??;
        self.reader.reload()?;
        *self
            .applied
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = 0;
        Ok(())
    }

    /// Searches.
    pub fn search(&self, query: &SearchQuery) -> Result<Hits, IndexError> {
        let f = &self.fields;
        let mut seen = HashSet::new();
        let terms: Vec<String> = tokenizer::terms(&query.text)
            .into_iter()
            .map(|(t, _, _)| t)
            .filter(|t| seen.insert(t.clone()))
            .take(MAX_TERMS)
            .collect();
        if terms.is_empty() || query.limit == 0 {
            return Ok(Hits::default());
        }
        let mut text: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for term in &terms {
            let title = TermQuery::new(
                Term::from_field_text(f.title, term),
                IndexRecordOption::WithFreqs,
            );
            text.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(title), TITLE_BOOST)),
            ));
            text.push((
                Occur::Should,
                Box::new(TermQuery::new(
                    Term::from_field_text(f.body, term),
                    IndexRecordOption::WithFreqs,
                )),
            ));
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> =
            vec![(Occur::Must, Box::new(BooleanQuery::new(text)))];
        let exact = |field: Field, value: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, value),
                IndexRecordOption::Basic,
            ))
        };
        let filter = |q: Box<dyn Query>| -> (Occur, Box<dyn Query>) {
            (Occur::Must, Box::new(ConstScoreQuery::new(q, 0.0)))
        };
        let requested = query.language.as_deref().map(str::to_ascii_lowercase);
        if let Some(language) = &requested {
            let base = base_language(language).to_owned();
            let fallback = BooleanQuery::new(vec![
                (Occur::Must, exact(f.is_default, "1")),
                (Occur::MustNot, exact(f.has_base, &base)),
            ]);
            clauses.push(filter(Box::new(BooleanQuery::new(vec![
                (Occur::Should, exact(f.lang_base, &base)),
                (Occur::Should, Box::new(fallback)),
            ]))));
        }
        if query.public_only {
            clauses.push(filter(exact(f.visibility, "public")));
        }
        if let Some(kind) = query.kind {
            clauses.push(filter(exact(f.kind, &(kind as i32).to_string())));
        }
        if let Some(line) = &query.product_line {
            clauses.push(filter(Box::new(BooleanQuery::new(vec![
                (Occur::Should, exact(f.product, "*")),
                (Occur::Should, exact(f.product, line)),
            ]))));
        }
        if let Some(categories) = &query.categories {
            let any = categories
                .iter()
                .map(|c| (Occur::Should, exact(f.category, &c.to_string())))
                .collect();
            clauses.push(filter(Box::new(BooleanQuery::new(any))));
        }
        let searcher = self.reader.searcher();
        let weights = term_weights(&searcher, f, &terms)?;
        let q = BooleanQuery::new(clauses);
        let wanted = query.offset + query.limit + 1;
        let fetch = wanted * 3 + 16;
        let top = searcher.search(&q, &TopDocs::with_limit(fetch).order_by_score())?;
        let fetched_all = top.len() < fetch;
        // One hit per article: the exact language first, then the best score.
        let mut best: Vec<(Uuid, f32, bool, TantivyDocument)> = Vec::new();
        let mut position: HashMap<Uuid, usize> = HashMap::new();
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let text_of = |field| {
                doc.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let Ok(article) = Uuid::parse_str(&text_of(f.article)) else {
                continue;
            };
            let exact_language = requested
                .as_deref()
                .is_some_and(|l| text_of(f.language).to_ascii_lowercase() == l);
            match position.get(&article) {
                Some(&i) => {
                    if exact_language && !best[i].2 {
                        best[i] = (article, best[i].1.max(score), true, doc);
                    }
                }
                None => {
                    position.insert(article, best.len());
                    best.push((article, score, exact_language, doc));
                }
            }
        }
        let total = best.len();
        let more = total > query.offset + query.limit;
        let hits = best
            .into_iter()
            .skip(query.offset)
            .take(query.limit)
            .map(|(article, _, _, doc)| self.hit(article, &doc, &terms, &weights))
            .collect();
        Ok(Hits {
            hits,
            total: if fetched_all {
                total
            } else {
                total.max(wanted)
            },
            more,
        })
    }

    fn hit(
        &self,
        article: Uuid,
        doc: &TantivyDocument,
        terms: &[String],
        weights: &HashMap<String, f64>,
    ) -> Hit {
        let f = &self.fields;
        let text_of = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let title = text_of(f.title);
        let body = text_of(f.body);
        let wanted: HashSet<&str> = terms.iter().map(String::as_str).collect();
        let title_highlights = highlights(&title, &wanted, 0, title.len());
        let limit = body
            .char_indices()
            .nth(20_000)
            .map_or(body.len(), |(i, _)| i);
        let body_terms = tokenizer::terms(&body[..limit]);
        let (snippet, snippet_highlights) = snippet(&body, &body_terms, &wanted);
        let score = coverage(&title, &body_terms, weights);
        Hit {
            article,
            version: Uuid::parse_str(&text_of(f.version)).unwrap_or_default(),
            language: text_of(f.language),
            kind: text_of(f.kind).parse().ok().and_then(Kind::from_number),
            category: Uuid::parse_str(&text_of(f.category)).ok(),
            title,
            title_highlights,
            snippet,
            snippet_highlights,
            score,
            publish_time: doc
                .get_first(f.publish_time)
                .and_then(|v| v.as_i64())
                .unwrap_or(0),
        }
    }

    /// How many documents (article languages) the index holds.
    pub fn documents(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// The index's folder size is the caller's business; this is its tantivy handle.
    pub fn tantivy(&self) -> &Index {
        &self.index
    }
}

/// The weight (inverse document frequency) of each query term the index knows; terms no
/// document contains say nothing about the articles and are left out.
fn term_weights(
    searcher: &tantivy::Searcher,
    f: &Fields,
    terms: &[String],
) -> Result<HashMap<String, f64>, IndexError> {
    #[allow(clippy::cast_precision_loss)]
    let total = searcher.num_docs() as f64;
    let mut out = HashMap::new();
    for term in terms {
        let title = searcher.doc_freq(&Term::from_field_text(f.title, term))?;
        let body = searcher.doc_freq(&Term::from_field_text(f.body, term))?;
        #[allow(clippy::cast_precision_loss)]
        let df = title.max(body) as f64;
        if df > 0.0 {
            out.insert(term.clone(), (1.0 + (total - df + 0.5) / (df + 0.5)).ln());
        }
    }
    Ok(out)
}

/// The relevance shown for a hit, 0 to 1: the share of the query's known terms (weighted by
/// rarity) the article covers, a title match counting fully and a body match 0.7. Ranking is
/// by BM25; this makes scores comparable to a threshold (`min_score`) whatever the corpus.
fn coverage(title: &str, body: &[(String, usize, usize)], weights: &HashMap<String, f64>) -> f64 {
    let total: f64 = weights.values().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let in_title: HashSet<String> = tokenizer::terms(title)
        .into_iter()
        .map(|(t, _, _)| t)
        .collect();
    let in_body: HashSet<&str> = body.iter().map(|(t, _, _)| t.as_str()).collect();
    let covered: f64 = weights
        .iter()
        .map(|(term, weight)| {
            if in_title.contains(term) {
                *weight
            } else if in_body.contains(term.as_str()) {
                weight * 0.7
            } else {
                0.0
            }
        })
        .sum();
    (covered / total).clamp(0.0, 1.0)
}

fn documents(f: &Fields, article: &Article) -> Vec<TantivyDocument> {
    if !article.live() {
        return Vec::new();
    }
    let published = article.published_versions();
    let bases: HashSet<String> = published
        .iter()
        .map(|v| base_language(&v.language.to_ascii_lowercase()).to_owned())
        .collect();
    published
        .into_iter()
        .map(|v| {
            let mut doc = TantivyDocument::default();
            let language = v.language.to_ascii_lowercase();
            doc.add_text(f.article, article.id.to_string());
            doc.add_text(f.version, v.id.to_string());
            doc.add_text(f.language, &v.language);
            doc.add_text(f.lang_base, base_language(&language));
            let is_default = v.language == article.default_language;
            doc.add_text(f.is_default, if is_default { "1" } else { "0" });
            if is_default {
                for base in &bases {
                    doc.add_text(f.has_base, base);
                }
            }
            doc.add_text(f.kind, (article.kind as i32).to_string());
            doc.add_text(
                f.visibility,
                match article.visibility {
                    Visibility::Public => "public",
                    Visibility::Internal => "internal",
                },
            );
            doc.add_text(
                f.category,
                article.category.map(|c| c.to_string()).unwrap_or_default(),
            );
            if article.product_lines.is_empty() {
                doc.add_text(f.product, "*");
            }
            for line in &article.product_lines {
                doc.add_text(f.product, line);
            }
            doc.add_text(f.title, &v.title);
            doc.add_text(f.body, plain_text(&v.body));
            doc.add_i64(
                f.publish_time,
                article.publish_time.unwrap_or(v.create_time),
            );
            doc
        })
        .collect()
}

/// Code-point ranges of `text[from..to]` whose terms are `wanted`, relative to `from`.
fn highlights(text: &str, wanted: &HashSet<&str>, from: usize, to: usize) -> Vec<(usize, usize)> {
    let slice = &text[from..to];
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (term, start, end) in tokenizer::terms(slice) {
        if !wanted.contains(term.as_str()) {
            continue;
        }
        let start_cp = slice[..start].chars().count();
        let len = slice[start..end].chars().count();
        // Search-mode segmentation yields overlapping words: merge them.
        if let Some(last) = out.last_mut()
            && start_cp < last.0 + last.1
        {
            let end_cp = (start_cp + len).max(last.0 + last.1);
            last.1 = end_cp - last.0;
            continue;
        }
        out.push((start_cp, len));
    }
    out
}

/// An excerpt of `body` around its first match, at most [`SNIPPET_CHARS`] characters with "…"
/// marking cut text, and the matched ranges in it.
fn snippet(
    body: &str,
    terms: &[(String, usize, usize)],
    wanted: &HashSet<&str>,
) -> (String, Vec<(usize, usize)>) {
    let first = terms
        .iter()
        .find(|(t, _, _)| wanted.contains(t.as_str()))
        .map_or(0, |(_, start, _)| *start);
    let before: Vec<(usize, char)> = body[..first].char_indices().collect();
    let start = before.len().saturating_sub(60);
    let start_byte = before.get(start).map_or(first, |(i, _)| *i);
    let prefix = start_byte > 0;
    let room = SNIPPET_CHARS - usize::from(prefix);
    let rest = &body[start_byte..];
    let cut = rest.char_indices().nth(room).map(|(i, _)| i);
    let (end_byte, suffix) = match cut {
        Some(i) => {
            // Leave room for the closing "…".
            let i = rest[..i].char_indices().last().map_or(i, |(j, _)| j);
            (start_byte + i, true)
        }
        None => (body.len(), false),
    };
    let shift = usize::from(prefix);
    let ranges = highlights(body, wanted, start_byte, end_byte)
        .into_iter()
        .map(|(s, l)| (s + shift, l))
        .collect();
    let mut text = String::new();
    if prefix {
        text.push('…');
    }
    text.push_str(&body[start_byte..end_byte]);
    if suffix {
        text.push('…');
    }
    (text, ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_carries_the_schema_version_and_the_sequence() {
        assert_eq!(parse_payload(Some(&payload(42))), Some(42));
        assert_eq!(parse_payload(Some("v0:42")), None);
        assert_eq!(parse_payload(None), None);
    }

    #[test]
    fn highlights_are_code_point_ranges_of_matched_words() {
        let wanted: HashSet<&str> = ["leak"].into_iter().collect();
        let title = "如何 fix a leak";
        assert_eq!(highlights(title, &wanted, 0, title.len()), [(9, 4)]);
    }

    #[test]
    fn snippets_are_cut_around_the_first_match_and_marked() {
        let body = format!("{} leak {}", "word ".repeat(100), "tail ".repeat(100));
        let wanted: HashSet<&str> = ["leak"].into_iter().collect();
        let (text, ranges) = snippet(&body, &tokenizer::terms(&body), &wanted);
        assert!(text.starts_with('…') && text.ends_with('…'));
        assert!(text.chars().count() <= SNIPPET_CHARS);
        let (s, l) = ranges[0];
        let found: String = text.chars().skip(s).take(l).collect();
        assert_eq!(found, "leak");
    }
}

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

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tantivy::columnar::StrColumn;
use tantivy::index::SegmentId;
use tantivy::query::{BooleanQuery, BoostQuery, EnableScoring, Occur, Query, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::{
    BitSet, DocAddress, DocId, DocSet, Index, IndexReader, IndexWriter, ReloadPolicy, Score,
    Searcher, TERMINATED, TantivyDocument, Term,
};
use uuid::Uuid;

use crate::domain::article::base_language;
use crate::domain::text::plain_text;
use crate::domain::{Article, Kind, Visibility};

/// Bumped whenever the schema or the analysis changes: an index of another version is
/// rebuilt.
const SCHEMA_VERSION: u32 = 2;
/// Title matches weigh this much more than body matches.
const TITLE_BOOST: f32 = 3.0;
/// At most this many distinct query terms are used (long ticket descriptions).
const MAX_TERMS: usize = 64;
/// At most this many of a query's terms, the rarest, retrieve documents (a ticket's
/// description has dozens, most of them common); every term still weighs in the score shown.
const RETRIEVAL_TERMS: usize = 12;
/// Queries of at most this many retrieving terms are ranked with Block-WAND; more terms
/// (each matching a large share of the corpus) make its per-document bookkeeping dearer
/// than scoring the union outright.
const WAND_TERMS: usize = 4;
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
        article: b.add_text_field("article", STRING | STORED | FAST),
        version: b.add_text_field("version", STORED),
        language: b.add_text_field("language", STRING | STORED | FAST),
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
    filters: FilterCache,
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
            filters: FilterCache::default(),
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

    /// Searches: the best `offset + limit` articles (one hit per article) for the query's
    /// terms under its filters; only the page returned is loaded from the document store.
    pub fn search(&self, query: &SearchQuery) -> Result<Hits, IndexError> {
        let f = &self.fields;
        let mut counts: HashMap<String, usize> = HashMap::new();
        let mut terms: Vec<String> = Vec::new();
        for (term, _, _) in tokenizer::terms(&query.text) {
            let count = counts.entry(term).or_insert_with_key(|term| {
                if terms.len() < MAX_TERMS {
                    terms.push(term.clone());
                }
                0
            });
            *count += 1;
        }
        if terms.is_empty() || query.limit == 0 {
            return Ok(Hits::default());
        }
        let searcher = self.reader.searcher();
        let weights = term_weights(&searcher, f, &terms)?;
        // The text: a union of term queries only, so that tantivy scores it without the
        // filters' intersections (and, for a few terms, with Block-WAND); the filters are
        // applied to the documents it yields, not scored. The terms with most say retrieve
        // (a ticket's description has dozens, most of them common); all of them weigh in
        // the score shown. A term's say is its rarity, more when the text repeats it.
        #[allow(clippy::cast_precision_loss)]
        let say: Vec<f64> = terms
            .iter()
            .zip(&weights)
            .map(|(term, weight)| weight * (1.0 + (counts[term] as f64).ln()))
            .collect();
        let mut retrieving: Vec<usize> = (0..terms.len()).filter(|&i| weights[i] > 0.0).collect();
        retrieving.sort_by(|&a, &b| say[b].total_cmp(&say[a]));
        retrieving.truncate(RETRIEVAL_TERMS);
        let mut text: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for term in retrieving.iter().map(|&i| &terms[i]) {
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
        if text.is_empty() {
            return Ok(Hits::default());
        }
        let wand = retrieving.len() <= WAND_TERMS;
        let text = BooleanQuery::new(text);
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let exact = |field: Field, value: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, value),
                IndexRecordOption::Basic,
            ))
        };
        let requested = query.language.as_deref().map(str::to_ascii_lowercase);
        if let Some(language) = &requested {
            let base = base_language(language).to_owned();
            let fallback = BooleanQuery::new(vec![
                (Occur::Must, exact(f.is_default, "1")),
                (Occur::MustNot, exact(f.has_base, &base)),
            ]);
            clauses.push((
                Occur::Must,
                Box::new(BooleanQuery::new(vec![
                    (Occur::Should, exact(f.lang_base, &base)),
                    (Occur::Should, Box::new(fallback)),
                ])),
            ));
        }
        if query.public_only {
            clauses.push((Occur::Must, exact(f.visibility, "public")));
        }
        if let Some(kind) = query.kind {
            clauses.push((Occur::Must, exact(f.kind, &(kind as i32).to_string())));
        }
        if let Some(line) = &query.product_line {
            clauses.push((
                Occur::Must,
                Box::new(BooleanQuery::new(vec![
                    (Occur::Should, exact(f.product, "*")),
                    (Occur::Should, exact(f.product, line)),
                ])),
            ));
        }
        if let Some(categories) = &query.categories {
            let any = categories
                .iter()
                .map(|c| (Occur::Should, exact(f.category, &c.to_string())))
                .collect();
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(any))));
        }
        let filter = (!clauses.is_empty()).then(|| {
            let key = format!(
                "{requested:?}|{}|{:?}|{:?}|{:?}",
                query.public_only, query.kind, query.product_line, query.categories
            );
            (BooleanQuery::new(clauses), key)
        });
        let wanted = query.offset + query.limit + 1;
        let fetch = wanted * 3 + 16;
        let filter = filter
            .as_ref()
            .map(|(q, key)| (q, key.as_str(), &self.filters));
        let top = top_documents(&searcher, &text, filter, fetch, wand)?;
        let fetched_all = top.len() < fetch;
        // One hit per article: the exact language first, then the best score. Article and
        // language come from fast fields; stored documents are read for the page only.
        let mut columns: HashMap<u32, (StrColumn, StrColumn)> = HashMap::new();
        let mut best: Vec<(Uuid, DocAddress, bool)> = Vec::new();
        let mut position: HashMap<Uuid, usize> = HashMap::new();
        let mut value = String::new();
        for candidate in top {
            let address = candidate.address;
            let (article_column, language_column) = match columns.entry(address.segment_ord) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    let fast = searcher.segment_reader(address.segment_ord).fast_fields();
                    let (Some(article), Some(language)) =
                        (fast.str("article")?, fast.str("language")?)
                    else {
                        continue;
                    };
                    e.insert((article, language))
                }
            };
            let Some(article) = first_str(article_column, address.doc_id, &mut value)
                .and_then(|v| Uuid::parse_str(v).ok())
            else {
                continue;
            };
            let exact_language = match requested.as_deref() {
                Some(l) => first_str(language_column, address.doc_id, &mut value)
                    .is_some_and(|v| v.eq_ignore_ascii_case(l)),
                None => false,
            };
            match position.get(&article) {
                Some(&i) => {
                    if exact_language && !best[i].2 {
                        best[i] = (article, address, true);
                    }
                }
                None => {
                    position.insert(article, best.len());
                    best.push((article, address, exact_language));
                }
            }
        }
        let total = best.len();
        let more = total > query.offset + query.limit;
        let page: Vec<(Uuid, DocAddress)> = best
            .into_iter()
            .skip(query.offset)
            .take(query.limit)
            .map(|(article, address, _)| (article, address))
            .collect();
        let addresses: Vec<DocAddress> = page.iter().map(|(_, a)| *a).collect();
        let in_body = body_matches(&searcher, f.body, &addresses, &terms, &weights)?;
        let mut hits = Vec::with_capacity(page.len());
        for ((article, address), in_body) in page.into_iter().zip(in_body) {
            let doc: TantivyDocument = searcher.doc(address)?;
            hits.push(self.hit(article, &doc, &terms, &weights, in_body));
        }
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
        weights: &[f64],
        in_body: u64,
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
        let title_terms = tokenizer::terms(&title);
        let title_highlights = ranges(&title, &title_terms, &wanted);
        let (snippet, snippet_highlights) = snippet(&body, &wanted);
        let in_title: HashSet<&str> = title_terms.iter().map(|(t, _, _)| t.as_str()).collect();
        let score = coverage(terms, weights, &in_title, in_body);
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

/// The weight (inverse document frequency) of each query term, in the order of `terms`;
/// terms no document contains say nothing about the articles and weigh 0.
fn term_weights(searcher: &Searcher, f: &Fields, terms: &[String]) -> Result<Vec<f64>, IndexError> {
    #[allow(clippy::cast_precision_loss)]
    let total = searcher.num_docs() as f64;
    let mut out = Vec::with_capacity(terms.len());
    for term in terms {
        let title = searcher.doc_freq(&Term::from_field_text(f.title, term))?;
        let body = searcher.doc_freq(&Term::from_field_text(f.body, term))?;
        #[allow(clippy::cast_precision_loss)]
        let df = title.max(body) as f64;
        out.push(if df > 0.0 {
            (1.0 + (total - df + 0.5) / (df + 0.5)).ln()
        } else {
            0.0
        });
    }
    Ok(out)
}

/// A document that may make the page: its BM25 score and address. Greater is better: a
/// higher score, then the lower address (as tantivy's `TopDocs` breaks ties).
#[derive(Debug, Clone, Copy)]
struct Candidate {
    score: Score,
    address: DocAddress,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Candidate {}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.address.cmp(&self.address))
    }
}

/// Bit sets of the documents a filter admits, per segment and filter. A segment's documents
/// never change (deletions are checked apart), so a set stays right as long as its segment
/// is searched; the cache is emptied when it reaches [`FILTER_SETS`] sets.
#[derive(Default)]
struct FilterCache {
    sets: Mutex<HashMap<(SegmentId, String), Arc<BitSet>>>,
}

/// At most this many filter bit sets are kept (12.5 KiB per 100,000 documents each).
const FILTER_SETS: usize = 256;

impl FilterCache {
    fn get_or_compute(
        &self,
        segment: SegmentId,
        key: &str,
        compute: impl FnOnce() -> Result<BitSet, IndexError>,
    ) -> Result<Arc<BitSet>, IndexError> {
        let lock = || {
            self.sets
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        let key = (segment, key.to_owned());
        if let Some(set) = lock().get(&key) {
            return Ok(set.clone());
        }
        let set = Arc::new(compute()?);
        let mut sets = lock();
        if sets.len() >= FILTER_SETS {
            sets.clear();
        }
        sets.insert(key, set.clone());
        Ok(set)
    }
}

/// A filter: the query, a key naming it, and the cache of its bit sets.
type Filter<'a> = (&'a BooleanQuery, &'a str, &'a FilterCache);

/// The `k` best documents for `text` (a union of term queries) among those matching
/// `filter`, best first.
///
/// The text is scored through `Weight::for_each_pruning`, which for a pure union of term
/// queries is Block-WAND: once `k` documents are held, only documents that can beat the
/// worst of them are scored. A filtered boolean query would instead score every document
/// matching any term (nearly the whole corpus for a ticket's description). The filter is
/// evaluated without scoring into a bit set per segment (cached); the bound is carried from
/// one segment to the next, since BM25 statistics are the searcher's, not the segment's.
fn top_documents(
    searcher: &Searcher,
    text: &dyn Query,
    filter: Option<Filter<'_>>,
    k: usize,
    wand: bool,
) -> Result<Vec<Candidate>, IndexError> {
    let weight = text.weight(EnableScoring::enabled_from_searcher(searcher))?;
    let filter = filter
        .map(|(q, key, cache)| {
            q.weight(EnableScoring::disabled_from_searcher(searcher))
                .map(|weight| (weight, key, cache))
        })
        .transpose()?;
    let mut heap: BinaryHeap<Reverse<Candidate>> = BinaryHeap::with_capacity(k + 1);
    let mut threshold = Score::MIN;
    for (ord, reader) in searcher.segment_readers().iter().enumerate() {
        let ord = u32::try_from(ord).unwrap_or(u32::MAX);
        let allowed = match &filter {
            Some((weight, key, cache)) => {
                let set = cache.get_or_compute(reader.segment_id(), key, || {
                    let mut set = BitSet::with_max_value(reader.max_doc());
                    weight.for_each_no_score(reader, &mut |docs| {
                        for &doc in docs {
                            set.insert(doc);
                        }
                    })?;
                    Ok(set)
                })?;
                if set.len() == 0 {
                    continue;
                }
                Some(set)
            }
            None => None,
        };
        let alive = reader.alive_bitset();
        let bound = threshold;
        let mut offer = |doc: DocId, score: Score| {
            let admitted = score > threshold
                && allowed.as_ref().is_none_or(|set| set.contains(doc))
                && alive.is_none_or(|alive| alive.is_alive(doc));
            if admitted {
                let candidate = Candidate {
                    score,
                    address: DocAddress::new(ord, doc),
                };
                if heap.len() < k {
                    heap.push(Reverse(candidate));
                } else if heap.peek().is_some_and(|worst| candidate > worst.0) {
                    heap.pop();
                    heap.push(Reverse(candidate));
                }
                if heap.len() >= k {
                    threshold = heap.peek().map_or(Score::MIN, |worst| worst.0.score);
                }
            }
            threshold
        };
        if wand {
            weight.for_each_pruning(bound, reader, &mut offer)?;
        } else {
            weight.for_each(reader, &mut |doc, score| {
                offer(doc, score);
            })?;
        }
    }
    let mut top: Vec<Candidate> = heap.into_iter().map(|Reverse(c)| c).collect();
    top.sort_unstable_by(|a, b| b.cmp(a));
    Ok(top)
}

/// The first value of a fast text column for `doc`.
fn first_str<'a>(column: &StrColumn, doc: DocId, out: &'a mut String) -> Option<&'a str> {
    let ord = column.term_ords(doc).next()?;
    out.clear();
    column.ord_to_str(ord, out).ok()?.then_some(out.as_str())
}

/// For each document, the set of query terms (bit `i` for `terms[i]`, weighed ones only)
/// its body contains, read from the postings rather than by analysing the body again.
fn body_matches(
    searcher: &Searcher,
    body: Field,
    documents: &[DocAddress],
    terms: &[String],
    weights: &[f64],
) -> Result<Vec<u64>, IndexError> {
    let mut masks = vec![0u64; documents.len()];
    let mut by_segment: Vec<(u32, DocId, usize)> = documents
        .iter()
        .enumerate()
        .map(|(i, a)| (a.segment_ord, a.doc_id, i))
        .collect();
    by_segment.sort_unstable();
    for segment in by_segment.chunk_by(|a, b| a.0 == b.0) {
        let inverted = searcher.segment_reader(segment[0].0).inverted_index(body)?;
        for (bit, (term, weight)) in terms.iter().zip(weights).enumerate().take(64) {
            if *weight <= 0.0 {
                continue;
            }
            let Some(mut postings) = inverted
                .read_postings(&Term::from_field_text(body, term), IndexRecordOption::Basic)
                .map_err(tantivy::TantivyError::from)?
            else {
                continue;
            };
            for &(_, doc, i) in segment {
                let at = postings.doc();
                if at == TERMINATED {
                    break;
                }
                if at <= doc && postings.seek(doc) == doc {
                    masks[i] |= 1 << bit;
                }
            }
        }
    }
    Ok(masks)
}

/// The relevance shown for a hit, 0 to 1: the share of the query's known terms (weighted by
/// rarity) the article covers, a title match counting fully and a body match 0.7. Ranking is
/// by BM25; this makes scores comparable to a threshold (`min_score`) whatever the corpus.
fn coverage(terms: &[String], weights: &[f64], in_title: &HashSet<&str>, in_body: u64) -> f64 {
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let covered: f64 = terms
        .iter()
        .zip(weights)
        .enumerate()
        .map(|(bit, (term, weight))| {
            if in_title.contains(term.as_str()) {
                *weight
            } else if bit < 64 && in_body & (1 << bit) != 0 {
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
    ranges(slice, &tokenizer::terms(slice), wanted)
}

/// Code-point ranges of `text` covered by those of its analysed `terms` that are `wanted`.
fn ranges(
    text: &str,
    terms: &[(String, usize, usize)],
    wanted: &HashSet<&str>,
) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (term, start, end) in terms {
        if !wanted.contains(term.as_str()) {
            continue;
        }
        let start_cp = text[..*start].chars().count();
        let len = text[*start..*end].chars().count();
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

/// Bodies are analysed for their first match in pieces of about this many bytes.
const SCAN_BYTES: usize = 512;

/// The byte offset of the first term of `body` that is `wanted`.
///
/// The body is analysed piece by piece, each piece ending just after a character that is
/// neither a letter, a digit nor Han (the analyser splits there anyway, so the terms are
/// those of the whole body), and the scan stops at the first piece with a match: a long
/// article is not segmented past its first match.
fn first_match(body: &str, wanted: &HashSet<&str>) -> Option<usize> {
    let mut from = 0;
    while from < body.len() {
        let to = body[from..]
            .char_indices()
            .find(|&(i, c)| i >= SCAN_BYTES && !c.is_alphanumeric() && !tokenizer::is_han(c))
            .map_or(body.len(), |(i, c)| from + i + c.len_utf8());
        let found = tokenizer::terms(&body[from..to])
            .into_iter()
            .find(|(t, _, _)| wanted.contains(t.as_str()));
        if let Some((_, start, _)) = found {
            return Some(from + start);
        }
        from = to;
    }
    None
}

/// An excerpt of `body` around its first match, at most [`SNIPPET_CHARS`] characters with "…"
/// marking cut text, and the matched ranges in it. Only the excerpt is analysed for its
/// highlights.
fn snippet(body: &str, wanted: &HashSet<&str>) -> (String, Vec<(usize, usize)>) {
    let first = first_match(body, wanted).unwrap_or(0);
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
    fn the_first_match_is_found_piece_by_piece_as_in_the_whole_body() {
        let body = format!(
            "{}洗衣机底部一直漏水，{} leaking hose. {}",
            "检查电源和指示灯。".repeat(80),
            "Check the door seal, ".repeat(40),
            "tail ".repeat(200)
        );
        let whole = tokenizer::terms(&body);
        for word in ["漏水", "leak", "hose", "tail", "指示灯"] {
            let wanted: HashSet<&str> = [word].into_iter().collect();
            let expected = whole
                .iter()
                .find(|(t, _, _)| t == word)
                .map(|(_, start, _)| *start);
            assert!(expected.is_some(), "{word}");
            assert_eq!(first_match(&body, &wanted), expected, "{word}");
        }
        let nothing: HashSet<&str> = ["冰箱"].into_iter().collect();
        assert_eq!(first_match(&body, &nothing), None);
    }

    /// An index of `n` short English documents over a few words, every third internal,
    /// committed in several segments, one document deleted.
    fn sample(n: u128) -> (Index, Fields) {
        const WORDS: &[&str] = &[
            "leak", "hose", "door", "seal", "drain", "pump", "filter", "noise", "power", "reset",
            "wifi", "light",
        ];
        let (schema, fields) = schema();
        let index = Index::create_in_ram(schema);
        index
            .tokenizers()
            .register(tokenizer::MIXED, tokenizer::analyzer());
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        let mut pick = |count: usize| -> String {
            (0..count)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    WORDS[usize::try_from(seed % WORDS.len() as u64).unwrap()]
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        for i in 0..n {
            let mut doc = TantivyDocument::default();
            doc.add_text(fields.article, Uuid::from_u128(i).to_string());
            doc.add_text(fields.language, "en");
            let visibility = if i % 3 == 0 { "internal" } else { "public" };
            doc.add_text(fields.visibility, visibility);
            doc.add_text(fields.title, pick(3));
            doc.add_text(fields.body, pick(15));
            writer.add_document(doc).unwrap();
            if i % 150 == 149 {
                writer.commit().unwrap();
            }
        }
        writer.delete_term(Term::from_field_text(
            fields.article,
            &Uuid::from_u128(4).to_string(),
        ));
        writer.commit().unwrap();
        (index, fields)
    }

    fn text_query(f: &Fields, words: &[&str]) -> BooleanQuery {
        BooleanQuery::new(
            words
                .iter()
                .flat_map(|w| {
                    let title: Box<dyn Query> = Box::new(BoostQuery::new(
                        Box::new(TermQuery::new(
                            Term::from_field_text(f.title, w),
                            IndexRecordOption::WithFreqs,
                        )),
                        TITLE_BOOST,
                    ));
                    let body: Box<dyn Query> = Box::new(TermQuery::new(
                        Term::from_field_text(f.body, w),
                        IndexRecordOption::WithFreqs,
                    ));
                    [(Occur::Should, title), (Occur::Should, body)]
                })
                .collect(),
        )
    }

    fn public(f: &Fields) -> BooleanQuery {
        BooleanQuery::new(vec![(
            Occur::Must,
            Box::new(TermQuery::new(
                Term::from_field_text(f.visibility, "public"),
                IndexRecordOption::Basic,
            )) as Box<dyn Query>,
        )])
    }

    #[test]
    fn the_top_documents_are_those_of_the_filtered_query_ranked_by_tantivy() {
        use tantivy::collector::TopDocs;
        use tantivy::query::ConstScoreQuery;
        let (index, f) = sample(700);
        let searcher = index.reader().unwrap().searcher();
        // Shared by every search below: the second and later ones use the cached sets.
        let cache = FilterCache::default();
        assert!(searcher.segment_readers().len() > 1);
        for words in [
            &["leak"][..],
            &["leak", "pump"],
            &["leak", "hose", "door", "seal", "drain", "wifi"],
        ] {
            let filtered = BooleanQuery::new(vec![
                (
                    Occur::Must,
                    Box::new(text_query(&f, words)) as Box<dyn Query>,
                ),
                (
                    Occur::Must,
                    Box::new(ConstScoreQuery::new(Box::new(public(&f)), 0.0)),
                ),
            ]);
            let all = searcher
                .search(&filtered, &TopDocs::with_limit(10_000).order_by_score())
                .unwrap();
            let score_of: HashMap<DocAddress, Score> = all
                .iter()
                .map(|(score, address)| (*address, *score))
                .collect();
            for k in [1, 10, 49] {
                for wand in [true, false] {
                    let filter = public(&f);
                    let ours = top_documents(
                        &searcher,
                        &text_query(&f, words),
                        Some((&filter, "public", &cache)),
                        k,
                        wand,
                    )
                    .unwrap();
                    assert_eq!(ours.len(), k.min(all.len()));
                    for (candidate, (expected, _)) in ours.iter().zip(&all) {
                        // Same ranking (ties may differ in order only), every document one
                        // the filtered query finds, with its score.
                        assert!((candidate.score - expected).abs() < 1e-4, "{words:?} {k}");
                        let score = score_of
                            .get(&candidate.address)
                            .unwrap_or_else(|| panic!("{words:?}: {candidate:?} is filtered out"));
                        assert!((candidate.score - score).abs() < 1e-4);
                    }
                }
            }
        }
    }

    #[test]
    fn snippets_are_cut_around_the_first_match_and_marked() {
        let body = format!("{} leak {}", "word ".repeat(100), "tail ".repeat(100));
        let wanted: HashSet<&str> = ["leak"].into_iter().collect();
        let (text, ranges) = snippet(&body, &wanted);
        assert!(text.starts_with('…') && text.ends_with('…'));
        assert!(text.chars().count() <= SNIPPET_CHARS);
        let (s, l) = ranges[0];
        let found: String = text.chars().skip(s).take(l).collect();
        assert_eq!(found, "leak");
    }
}

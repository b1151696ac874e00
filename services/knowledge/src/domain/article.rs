//! Articles: metadata, immutable versions per language, and the review → publish workflow.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::DomainError;

/// At most this many product lines per article.
pub const MAX_PRODUCT_LINES: usize = 20;
/// At most this many tags per article.
pub const MAX_TAGS: usize = 30;
/// At most this many reviewers per article.
pub const MAX_REVIEWERS: usize = 10;

/// What kind of content an article is (numbers as in the API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A general article: how-to, explanation, policy.
    Article = 1,
    /// A question and its answer.
    Faq = 2,
    /// Symptoms, causes and fixes.
    Troubleshooting = 3,
}

impl Kind {
    /// The kind stored as `number`.
    pub fn from_number(number: i32) -> Option<Self> {
        Some(match number {
            1 => Self::Article,
            2 => Self::Faq,
            3 => Self::Troubleshooting,
            _ => return None,
        })
    }

    /// The filter word for it.
    pub fn from_word(word: &str) -> Option<Self> {
        Some(match word {
            "ARTICLE" => Self::Article,
            "FAQ" => Self::Faq,
            "TROUBLESHOOTING_GUIDE" => Self::Troubleshooting,
            _ => return None,
        })
    }
}

/// Who may read an article.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Customers and staff.
    Public = 1,
    /// Staff only.
    Internal = 2,
}

impl Visibility {
    /// The visibility stored as `number`.
    pub fn from_number(number: i32) -> Option<Self> {
        Some(match number {
            1 => Self::Public,
            2 => Self::Internal,
            _ => return None,
        })
    }

    /// The filter word for it.
    pub fn from_word(word: &str) -> Option<Self> {
        Some(match word {
            "PUBLIC" => Self::Public,
            "INTERNAL" => Self::Internal,
            _ => return None,
        })
    }
}

/// The workflow state of an article's working copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArticleState {
    /// Being written.
    Draft = 1,
    /// Waiting for a reviewer.
    InReview = 2,
    /// Approved, waiting to be published.
    Approved = 3,
    /// Published.
    Published = 4,
    /// Off line.
    Archived = 5,
}

impl ArticleState {
    /// The state stored as `number`.
    pub fn from_number(number: i32) -> Option<Self> {
        Some(match number {
            1 => Self::Draft,
            2 => Self::InReview,
            3 => Self::Approved,
            4 => Self::Published,
            5 => Self::Archived,
            _ => return None,
        })
    }

    /// The filter word for it.
    pub fn from_word(word: &str) -> Option<Self> {
        Some(match word {
            "DRAFT" => Self::Draft,
            "IN_REVIEW" => Self::InReview,
            "APPROVED" => Self::Approved,
            "PUBLISHED" => Self::Published,
            "ARCHIVED" => Self::Archived,
            _ => return None,
        })
    }

    fn word(self) -> &'static str {
        match self {
            Self::Draft => "DRAFT",
            Self::InReview => "IN_REVIEW",
            Self::Approved => "APPROVED",
            Self::Published => "PUBLISHED",
            Self::Archived => "ARCHIVED",
        }
    }
}

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// What kind of caller.
    pub kind: ActorKind,
    /// Its id (`agents/…`, `customers/…`), empty for anonymous readers.
    pub id: String,
    /// A name to show.
    pub name: String,
}

/// The kind of an actor (numbers as `aftercare.common.v1.ActorType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActorKind {
    /// Staff.
    Agent,
    /// A customer or anonymous reader.
    Customer,
    /// An integration.
    Integration,
    /// The platform.
    System,
}

/// A review decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReviewDecision {
    /// Waiting.
    Pending,
    /// Approved.
    Approved,
    /// Rejected.
    Rejected,
    /// Withdrawn by a new version.
    Withdrawn,
}

/// One review round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    /// The versions under review.
    pub versions: Vec<Uuid>,
    /// Who submitted.
    pub submitter: Actor,
    /// When (UTC µs).
    pub submit_time: i64,
    /// The submitter's note.
    #[serde(default)]
    pub note: String,
    /// The decision so far.
    pub decision: ReviewDecision,
    /// Who decided.
    pub reviewer: Option<Actor>,
    /// The reviewer's comment.
    pub comment: String,
    /// When decided.
    pub decide_time: Option<i64>,
}

/// One immutable version (content in one language). `body` may be empty when only the
/// metadata of versions was loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    /// Its id.
    pub id: Uuid,
    /// Its article.
    pub article_id: Uuid,
    /// Sequence number within the article.
    pub number: i32,
    /// BCP 47 language tag.
    pub language: String,
    /// Title.
    pub title: String,
    /// Markdown body.
    pub body: String,
    /// What changed.
    pub change_note: String,
    /// The default-language version it translates.
    pub source_version: Option<Uuid>,
    /// Who wrote it.
    pub author: String,
    /// True while it is the published version of its language.
    pub published: bool,
    /// When it was created.
    pub create_time: i64,
}

/// New content for an article, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVersion {
    /// BCP 47 tag (canonical case).
    pub language: String,
    /// Title.
    pub title: String,
    /// Markdown body.
    pub body: String,
    /// What changed.
    pub change_note: String,
    /// The default-language version translated.
    pub source_version: Option<Uuid>,
}

/// An article with the metadata of all its versions.
#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    /// Its id.
    pub id: Uuid,
    /// Kind.
    pub kind: Kind,
    /// Who may read it.
    pub visibility: Visibility,
    /// Its category.
    pub category: Option<Uuid>,
    /// Product lines (empty: all).
    pub product_lines: Vec<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Reviewers asked.
    pub reviewers: Vec<String>,
    /// The source language.
    pub default_language: String,
    /// Working-copy state.
    pub state: ArticleState,
    /// Who created it.
    pub author: String,
    /// The latest review round.
    pub last_review: Option<Review>,
    /// Concurrency version (the etag).
    pub version: i64,
    /// Reader views.
    pub view_count: i64,
    /// Helpful ratings.
    pub helpful_count: i64,
    /// Not-helpful ratings.
    pub not_helpful_count: i64,
    /// Created (UTC µs).
    pub create_time: i64,
    /// Last changed.
    pub update_time: i64,
    /// Last published.
    pub publish_time: Option<i64>,
    /// Archived.
    pub archive_time: Option<i64>,
    /// Every version, highest number last (bodies possibly not loaded).
    pub versions: Vec<Version>,
}

/// What a publication changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    /// Languages whose published version changed.
    pub changed_languages: Vec<String>,
    /// True on the first publication (or the first after archiving).
    pub first_publication: bool,
}

/// The base language of a tag: `zh` for `zh-CN`.
pub fn base_language(tag: &str) -> &str {
    tag.split('-').next().unwrap_or(tag)
}

impl Article {
    /// A new article in `DRAFT` with its first version.
    #[allow(clippy::too_many_arguments)]
    pub fn create(
        id: Uuid,
        kind: Kind,
        visibility: Visibility,
        category: Option<Uuid>,
        product_lines: Vec<String>,
        tags: Vec<String>,
        reviewers: Vec<String>,
        author: &str,
        first: NewVersion,
        version_id: Uuid,
        now: i64,
    ) -> Self {
        let version = Version {
            id: version_id,
            article_id: id,
            number: 1,
            language: first.language.clone(),
            title: first.title,
            body: first.body,
            change_note: first.change_note,
            source_version: None,
            author: author.to_owned(),
            published: false,
            create_time: now,
        };
        Self {
            id,
            kind,
            visibility,
            category,
            product_lines,
            tags,
            reviewers,
            default_language: first.language,
            state: ArticleState::Draft,
            author: author.to_owned(),
            last_review: None,
            version: 1,
            view_count: 0,
            helpful_count: 0,
            not_helpful_count: 0,
            create_time: now,
            update_time: now,
            publish_time: None,
            archive_time: None,
            versions: vec![version],
        }
    }

    /// Readers can see it: it has published versions and is not archived.
    pub fn live(&self) -> bool {
        self.state != ArticleState::Archived && self.versions.iter().any(|v| v.published)
    }

    /// The published version of each language.
    pub fn published_versions(&self) -> Vec<&Version> {
        self.versions.iter().filter(|v| v.published).collect()
    }

    /// The languages with at least one version, in order of first appearance.
    pub fn languages(&self) -> Vec<&str> {
        let mut languages: Vec<&str> = Vec::new();
        for version in &self.versions {
            if !languages.contains(&version.language.as_str()) {
                languages.push(&version.language);
            }
        }
        languages
    }

    /// The latest version in `language`.
    pub fn latest_in(&self, language: &str) -> Option<&Version> {
        self.versions
            .iter()
            .filter(|v| v.language == language)
            .max_by_key(|v| v.number)
    }

    /// The published version in `language`.
    pub fn published_in(&self, language: &str) -> Option<&Version> {
        self.versions
            .iter()
            .find(|v| v.published && v.language == language)
    }

    /// The version with `id`.
    pub fn version_by_id(&self, id: Uuid) -> Option<&Version> {
        self.versions.iter().find(|v| v.id == id)
    }

    /// The title shown in lists: the published default-language version's, else the latest
    /// default-language version's.
    pub fn title(&self) -> &str {
        self.published_in(&self.default_language)
            .or_else(|| self.latest_in(&self.default_language))
            .map_or("", |v| v.title.as_str())
    }

    /// True when `language`'s latest version translates an older default-language version
    /// than the latest one (always false for the default language).
    pub fn outdated(&self, language: &str) -> bool {
        if language == self.default_language {
            return false;
        }
        let Some(latest) = self.latest_in(language) else {
            return false;
        };
        let Some(source_latest) = self.latest_in(&self.default_language) else {
            return false;
        };
        match latest.source_version.and_then(|id| self.version_by_id(id)) {
            Some(source) => source.number < source_latest.number,
            None => latest.number < source_latest.number,
        }
    }

    /// The version a reader of `language` gets among `candidates`: an exact match, then the
    /// same base language, then the default language.
    pub fn choose<'a>(
        &'a self,
        candidates: &[&'a Version],
        language: Option<&str>,
    ) -> Option<&'a Version> {
        let by = |pred: &dyn Fn(&Version) -> bool| candidates.iter().copied().find(|v| pred(v));
        if let Some(language) = language {
            let lower = language.to_ascii_lowercase();
            if let Some(v) = by(&|v| v.language.to_ascii_lowercase() == lower) {
                return Some(v);
            }
            let base = base_language(&lower).to_owned();
            if let Some(v) = by(&|v| base_language(&v.language.to_ascii_lowercase()) == base) {
                return Some(v);
            }
        }
        by(&|v| v.language == self.default_language).or_else(|| candidates.first().copied())
    }

    fn check_etag(&self, etag: i64) -> Result<(), DomainError> {
        if etag == self.version {
            Ok(())
        } else {
            Err(DomainError::StaleEtag)
        }
    }

    fn transition(&self, from: &[ArticleState], to: ArticleState) -> Result<(), DomainError> {
        if from.contains(&self.state) {
            return Ok(());
        }
        Err(DomainError::refused(
            "STATE",
            format!(
                "the article is {} and cannot become {}",
                self.state.word(),
                to.word()
            ),
        ))
    }

    fn touch(&mut self, now: i64) {
        self.version += 1;
        self.update_time = now;
    }

    /// Metadata may change unless the article is archived.
    pub fn check_updatable(&self, etag: i64) -> Result<(), DomainError> {
        self.check_etag(etag)?;
        if self.state == ArticleState::Archived {
            return Err(DomainError::refused(
                "STATE",
                "an archived article cannot be updated",
            ));
        }
        Ok(())
    }

    /// Records a metadata change.
    pub fn updated(&mut self, now: i64) {
        self.touch(now);
    }

    /// Only an article that was never published may be deleted.
    pub fn check_deletable(&self, etag: i64) -> Result<(), DomainError> {
        self.check_etag(etag)?;
        if self.publish_time.is_some() {
            return Err(DomainError::refused(
                "STATE",
                "a published article cannot be deleted: archive it",
            ));
        }
        Ok(())
    }

    /// Adds a version; the article goes back to `DRAFT` (a pending review is withdrawn).
    pub fn add_version(
        &mut self,
        new: NewVersion,
        base_version: Option<Uuid>,
        id: Uuid,
        author: &str,
        now: i64,
    ) -> Result<Version, DomainError> {
        let latest = self.latest_in(&new.language).map(|v| v.id);
        match (latest, base_version) {
            (Some(latest), Some(base)) if latest != base => {
                if self
                    .version_by_id(base)
                    .is_none_or(|v| v.language != new.language)
                {
                    return Err(DomainError::invalid(
                        "base_version",
                        format!("is not a version of this article in `{}`", new.language),
                    ));
                }
                return Err(DomainError::refused(
                    "BASE_VERSION",
                    "a newer version in this language exists: someone else edited meanwhile",
                ));
            }
            (Some(_), None) => {
                return Err(DomainError::refused(
                    "BASE_VERSION",
                    format!(
                        "`{}` has versions already: send the latest as `base_version`",
                        new.language
                    ),
                ));
            }
            (None, Some(_)) => {
                return Err(DomainError::invalid(
                    "base_version",
                    format!(
                        "must be empty for a new translation into `{}`",
                        new.language
                    ),
                ));
            }
            _ => {}
        }
        if let Some(source) = new.source_version {
            let ok = self
                .version_by_id(source)
                .is_some_and(|v| v.language == self.default_language);
            if !ok || new.language == self.default_language {
                return Err(DomainError::invalid(
                    "article_version.source_version",
                    format!(
                        "must be a version of this article in its default language `{}`, for a translation",
                        self.default_language
                    ),
                ));
            }
        }
        let number = self.versions.iter().map(|v| v.number).max().unwrap_or(0) + 1;
        let version = Version {
            id,
            article_id: self.id,
            number,
            language: new.language,
            title: new.title,
            body: new.body,
            change_note: new.change_note,
            source_version: new.source_version,
            author: author.to_owned(),
            published: false,
            create_time: now,
        };
        self.versions.push(version.clone());
        if let Some(review) = &mut self.last_review
            && review.decision == ReviewDecision::Pending
        {
            review.decision = ReviewDecision::Withdrawn;
            review.decide_time = Some(now);
        }
        self.state = ArticleState::Draft;
        self.touch(now);
        Ok(version)
    }

    /// The versions a review would cover: the latest version of each language newer than its
    /// published version.
    pub fn reviewable_versions(&self) -> Vec<Uuid> {
        self.languages()
            .into_iter()
            .filter_map(|language| {
                let latest = self.latest_in(language)?;
                let published = self.published_in(language).map_or(0, |v| v.number);
                (latest.number > published).then_some(latest.id)
            })
            .collect()
    }

    /// `DRAFT` → `IN_REVIEW`.
    pub fn submit(
        &mut self,
        etag: i64,
        reviewers: Option<Vec<String>>,
        note: String,
        submitter: Actor,
        now: i64,
    ) -> Result<(), DomainError> {
        self.check_etag(etag)?;
        self.transition(&[ArticleState::Draft], ArticleState::InReview)?;
        let versions = self.reviewable_versions();
        if versions.is_empty() {
            return Err(DomainError::refused(
                "NO_CHANGES",
                "no version is newer than the published one: create a version first",
            ));
        }
        if let Some(reviewers) = reviewers {
            self.reviewers = reviewers;
        }
        self.last_review = Some(Review {
            versions,
            submitter,
            submit_time: now,
            note,
            decision: ReviewDecision::Pending,
            reviewer: None,
            comment: String::new(),
            decide_time: None,
        });
        self.state = ArticleState::InReview;
        self.touch(now);
        Ok(())
    }

    fn check_reviewer(&self, reviewer: &Actor) -> Result<(), DomainError> {
        if !self.reviewers.is_empty() && !self.reviewers.contains(&reviewer.id) {
            return Err(DomainError::Denied(
                "only the reviewers asked may review this article".into(),
            ));
        }
        let under_review = self
            .last_review
            .as_ref()
            .map(|r| r.versions.as_slice())
            .unwrap_or_default();
        if self
            .versions
            .iter()
            .any(|v| under_review.contains(&v.id) && v.author == reviewer.id)
        {
            return Err(DomainError::Denied(
                "an author may not review their own version".into(),
            ));
        }
        Ok(())
    }

    fn decide(
        &mut self,
        etag: i64,
        reviewer: Actor,
        comment: String,
        decision: ReviewDecision,
        now: i64,
    ) -> Result<(), DomainError> {
        self.check_etag(etag)?;
        let to = if decision == ReviewDecision::Approved {
            ArticleState::Approved
        } else {
            ArticleState::Draft
        };
        if self.state != ArticleState::InReview {
            return Err(DomainError::refused(
                "STATE",
                format!("the article is {}, not IN_REVIEW", self.state.word()),
            ));
        }
        self.check_reviewer(&reviewer)?;
        if let Some(review) = &mut self.last_review {
            review.decision = decision;
            review.reviewer = Some(reviewer);
            review.comment = comment;
            review.decide_time = Some(now);
        }
        self.state = to;
        self.touch(now);
        Ok(())
    }

    /// `IN_REVIEW` → `APPROVED`.
    pub fn approve(
        &mut self,
        etag: i64,
        reviewer: Actor,
        comment: String,
        now: i64,
    ) -> Result<(), DomainError> {
        self.decide(etag, reviewer, comment, ReviewDecision::Approved, now)
    }

    /// `IN_REVIEW` → `DRAFT`.
    pub fn reject(
        &mut self,
        etag: i64,
        reviewer: Actor,
        comment: String,
        now: i64,
    ) -> Result<(), DomainError> {
        self.decide(etag, reviewer, comment, ReviewDecision::Rejected, now)
    }

    /// `APPROVED` → `PUBLISHED`: the reviewed versions become the published ones of their
    /// languages.
    pub fn publish(&mut self, etag: i64, now: i64) -> Result<Publication, DomainError> {
        self.check_etag(etag)?;
        self.transition(&[ArticleState::Approved], ArticleState::Published)?;
        let first_publication = !self.live();
        let reviewed = self
            .last_review
            .as_ref()
            .map(|r| r.versions.clone())
            .unwrap_or_default();
        let mut changed_languages = Vec::new();
        for id in reviewed {
            let Some(language) = self.version_by_id(id).map(|v| v.language.clone()) else {
                continue;
            };
            for version in &mut self.versions {
                if version.language == language {
                    version.published = version.id == id;
                }
            }
            changed_languages.push(language);
        }
        self.state = ArticleState::Published;
        self.publish_time = Some(now);
        self.archive_time = None;
        self.touch(now);
        Ok(Publication {
            changed_languages,
            first_publication,
        })
    }

    /// Any state but `ARCHIVED` → `ARCHIVED`; returns whether it was live.
    pub fn archive(&mut self, etag: i64, now: i64) -> Result<bool, DomainError> {
        self.check_etag(etag)?;
        if self.state == ArticleState::Archived {
            return Err(DomainError::refused(
                "STATE",
                "the article is archived already",
            ));
        }
        let was_live = self.live();
        for version in &mut self.versions {
            version.published = false;
        }
        self.state = ArticleState::Archived;
        self.archive_time = Some(now);
        self.touch(now);
        Ok(was_live)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(id: &str) -> Actor {
        Actor {
            kind: ActorKind::Agent,
            id: id.into(),
            name: id.into(),
        }
    }

    fn content(language: &str, title: &str) -> NewVersion {
        NewVersion {
            language: language.into(),
            title: title.into(),
            body: "body".into(),
            change_note: String::new(),
            source_version: None,
        }
    }

    fn article() -> Article {
        Article::create(
            Uuid::now_v7(),
            Kind::Faq,
            Visibility::Public,
            None,
            vec![],
            vec![],
            vec![],
            "agents/author",
            content("en", "First"),
            Uuid::now_v7(),
            1,
        )
    }

    fn published() -> Article {
        let mut a = article();
        a.submit(1, None, String::new(), actor("agents/author"), 2)
            .unwrap();
        a.approve(2, actor("agents/lead"), String::new(), 3)
            .unwrap();
        a.publish(3, 4).unwrap();
        a
    }

    #[test]
    fn the_workflow_runs_draft_review_approved_published_archived() {
        let mut a = published();
        assert_eq!(a.state, ArticleState::Published);
        assert!(a.live());
        assert_eq!(a.published_versions().len(), 1);
        assert!(a.archive(4, 5).unwrap());
        assert!(!a.live());
        assert!(a.published_versions().is_empty());
        assert_eq!(
            a.archive(5, 6),
            Err(DomainError::refused(
                "STATE",
                "the article is archived already"
            ))
        );
    }

    #[test]
    fn a_stale_etag_changes_nothing() {
        let mut a = article();
        let before = a.clone();
        assert_eq!(
            a.submit(7, None, String::new(), actor("agents/author"), 2),
            Err(DomainError::StaleEtag)
        );
        assert_eq!(a, before);
    }

    #[test]
    fn publishing_needs_approval_first() {
        let mut a = article();
        assert!(matches!(a.publish(1, 2), Err(DomainError::Refused { .. })));
    }

    #[test]
    fn an_author_may_not_approve_their_own_version() {
        let mut a = article();
        a.submit(1, None, String::new(), actor("agents/author"), 2)
            .unwrap();
        assert!(matches!(
            a.approve(2, actor("agents/author"), String::new(), 3),
            Err(DomainError::Denied(_))
        ));
    }

    #[test]
    fn only_named_reviewers_may_review() {
        let mut a = article();
        a.submit(
            1,
            Some(vec!["agents/r1".into()]),
            String::new(),
            actor("agents/author"),
            2,
        )
        .unwrap();
        assert!(matches!(
            a.reject(2, actor("agents/r2"), "no".into(), 3),
            Err(DomainError::Denied(_))
        ));
        a.reject(2, actor("agents/r1"), "no".into(), 3).unwrap();
        assert_eq!(a.state, ArticleState::Draft);
    }

    #[test]
    fn a_new_version_withdraws_a_pending_review_and_keeps_the_published_content_live() {
        let mut a = published();
        let base = a.latest_in("en").unwrap().id;
        a.submit(4, None, String::new(), actor("x"), 5).unwrap_err();
        a.add_version(
            content("en", "Second"),
            Some(base),
            Uuid::now_v7(),
            "agents/b",
            5,
        )
        .unwrap();
        assert_eq!(a.state, ArticleState::Draft);
        assert!(a.live());
        assert_eq!(a.title(), "First");
        a.submit(5, None, String::new(), actor("agents/b"), 6)
            .unwrap();
        a.add_version(
            content("en", "Third"),
            Some(a.latest_in("en").unwrap().id),
            Uuid::now_v7(),
            "agents/b",
            7,
        )
        .unwrap();
        assert_eq!(
            a.last_review.as_ref().unwrap().decision,
            ReviewDecision::Withdrawn
        );
    }

    #[test]
    fn an_edit_from_an_old_base_is_refused() {
        let mut a = article();
        let old = a.latest_in("en").unwrap().id;
        a.add_version(content("en", "2"), Some(old), Uuid::now_v7(), "x", 2)
            .unwrap();
        assert!(matches!(
            a.add_version(content("en", "3"), Some(old), Uuid::now_v7(), "x", 3),
            Err(DomainError::Refused {
                violation: "BASE_VERSION",
                ..
            })
        ));
    }

    #[test]
    fn a_translation_goes_stale_when_its_source_changes() {
        let mut a = article();
        let source = a.latest_in("en").unwrap().id;
        let mut zh = content("zh-CN", "第一");
        zh.source_version = Some(source);
        a.add_version(zh, None, Uuid::now_v7(), "x", 2).unwrap();
        assert!(!a.outdated("zh-CN"));
        a.add_version(
            content("en", "Second"),
            Some(source),
            Uuid::now_v7(),
            "x",
            3,
        )
        .unwrap();
        assert!(a.outdated("zh-CN"));
        assert!(!a.outdated("en"));
    }

    #[test]
    fn readers_get_their_language_then_its_base_then_the_default() {
        let mut a = article();
        a.add_version(content("zh-CN", "中文"), None, Uuid::now_v7(), "x", 2)
            .unwrap();
        let all: Vec<&Version> = a.versions.iter().collect();
        assert_eq!(a.choose(&all, Some("zh-cn")).unwrap().language, "zh-CN");
        assert_eq!(a.choose(&all, Some("zh")).unwrap().language, "zh-CN");
        assert_eq!(a.choose(&all, Some("fr")).unwrap().language, "en");
        assert_eq!(a.choose(&all, None).unwrap().language, "en");
    }

    #[test]
    fn a_published_article_cannot_be_deleted() {
        let a = published();
        assert!(matches!(
            a.check_deletable(4),
            Err(DomainError::Refused { .. })
        ));
        assert!(article().check_deletable(1).is_ok());
    }
}

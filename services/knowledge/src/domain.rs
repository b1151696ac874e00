//! The knowledge domain: articles and their workflow, categories, ratings, content gaps and
//! the rules that decide who may do what. No I/O here.

pub mod access;
pub mod article;
pub mod category;
pub mod feedback;
pub mod gap;
pub mod stats;
pub mod text;

pub use access::{Action, Audience};
pub use article::{
    Actor, ActorKind, Article, ArticleState, Kind, NewVersion, Review, ReviewDecision, Version,
    Visibility,
};
pub use category::Category;
pub use gap::{ContentGap, GapState};

/// Why the domain refused a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainError {
    /// The input is wrong in a way only the domain can tell (a field named).
    Invalid {
        /// The field.
        field: String,
        /// What is wrong.
        description: String,
    },
    /// The etag sent is not the current one.
    StaleEtag,
    /// The resource's state refuses the change.
    Refused {
        /// The precondition violation type.
        violation: &'static str,
        /// What is wrong.
        description: String,
    },
    /// The caller may not do this to this resource.
    Denied(String),
}

impl DomainError {
    pub(crate) fn refused(violation: &'static str, description: impl Into<String>) -> Self {
        Self::Refused {
            violation,
            description: description.into(),
        }
    }

    pub(crate) fn invalid(field: &str, description: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.to_owned(),
            description: description.into(),
        }
    }
}

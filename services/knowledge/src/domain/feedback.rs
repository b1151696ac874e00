//! What readers tell the knowledge base: ratings and the outcome of suggestions.

use uuid::Uuid;

use super::Actor;

/// Whether an article helped (numbers as in the API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Helpfulness {
    /// It helped.
    Helpful = 1,
    /// It did not.
    NotHelpful = 2,
}

impl Helpfulness {
    /// The value stored as `number`.
    pub fn from_number(number: i64) -> Option<Self> {
        match number {
            1 => Some(Self::Helpful),
            2 => Some(Self::NotHelpful),
            _ => None,
        }
    }

    /// The filter word for it.
    pub fn from_word(word: &str) -> Option<Self> {
        match word {
            "HELPFUL" => Some(Self::Helpful),
            "NOT_HELPFUL" => Some(Self::NotHelpful),
            _ => None,
        }
    }

    /// How the (helpful, not helpful) counts move when a rating goes from `previous` to
    /// `self`.
    pub fn count_change(self, previous: Option<Self>) -> (i64, i64) {
        let value = |h: Option<Self>| match h {
            Some(Self::Helpful) => (1, 0),
            Some(Self::NotHelpful) => (0, 1),
            None => (0, 0),
        };
        let (new, old) = (value(Some(self)), value(previous));
        (new.0 - old.0, new.1 - old.1)
    }
}

/// One reader's rating of an article.
#[derive(Debug, Clone, PartialEq)]
pub struct Rating {
    /// Its id.
    pub id: Uuid,
    /// The article.
    pub article: Uuid,
    /// Whether it helped.
    pub helpfulness: Helpfulness,
    /// Why.
    pub comment: String,
    /// The language read.
    pub language: String,
    /// The version read.
    pub version: Uuid,
    /// The rater.
    pub rater: Actor,
    /// First given.
    pub create_time: i64,
    /// Last changed.
    pub update_time: i64,
}

/// What came of a suggestion set (numbers as in the API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Solved without a ticket.
    Deflected = 1,
    /// A ticket was created anyway.
    TicketCreated = 2,
    /// The customer left.
    Abandoned = 3,
}

/// A set of suggestions shown.
#[derive(Debug, Clone, PartialEq)]
pub struct SuggestionSet {
    /// Its id.
    pub id: Uuid,
    /// Who asked (subject).
    pub actor_subject: String,
    /// The articles suggested.
    pub articles: Vec<Uuid>,
    /// The outcome recorded, if any.
    pub outcome: Option<Outcome>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_rating_moves_between_the_counts() {
        assert_eq!(Helpfulness::Helpful.count_change(None), (1, 0));
        assert_eq!(
            Helpfulness::NotHelpful.count_change(Some(Helpfulness::Helpful)),
            (-1, 1)
        );
        assert_eq!(
            Helpfulness::Helpful.count_change(Some(Helpfulness::Helpful)),
            (0, 0)
        );
    }
}

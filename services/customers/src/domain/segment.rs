//! Segments: saved customer filters, counted.

use aftercare_platform::time::Micros;
use uuid::Uuid;

use super::filter::Condition;
use super::query::{CustomerField, customer_filter};
use super::values::{DisplayName, PhoneNumber, SegmentFilter, Text, TextQuery};

/// The fields of a segment people set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SegmentSpec {
    /// Name to show; 1 to 200 characters.
    pub(crate) display_name: DisplayName,
    /// What it is for; at most 2000 characters.
    pub(crate) description: Description,
    /// A `ListCustomers` filter.
    pub(crate) filter: SegmentFilter,
    /// A `ListCustomers` free-text query.
    pub(crate) query: TextQuery,
}

impl SegmentSpec {
    /// The segment's conditions and text, as `ListCustomers` would apply them.
    pub(crate) fn criteria(&self) -> Result<Criteria, String> {
        Ok(Criteria {
            conditions: customer_filter(&self.filter)?,
            text: text_query(&self.query)?,
        })
    }
}

/// What a segment selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Criteria {
    /// Filter conditions.
    pub(crate) conditions: Vec<Condition<CustomerField>>,
    /// Lower-cased text and its E.164 form when it reads as a phone number.
    pub(crate) text: Option<(String, Option<String>)>,
}

/// A stored segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    /// Its id.
    pub(crate) id: Uuid,
    /// Its fields.
    pub(crate) spec: SegmentSpec,
    /// Matching customers as of `count_time`.
    pub(crate) customer_count: i64,
    /// When it was counted.
    pub(crate) count_time: Micros,
    /// Version counter.
    pub(crate) version: i64,
    /// Created.
    pub(crate) create_time: Micros,
    /// Last changed.
    pub(crate) update_time: Micros,
}

/// A segment's description: at most 2000 characters, may be empty.
pub(crate) type Description = Text<2000>;

impl SegmentFilter {
    /// `value` trimmed when it is at most 2000 characters and a valid `ListCustomers`
    /// filter, or why not.
    pub(crate) fn parse(value: &str) -> Result<Self, String> {
        if value.chars().count() > 2000 {
            return Err("must be at most 2000 characters".into());
        }
        customer_filter(value)?;
        Ok(Self::trusted(value.trim().to_owned()))
    }
}

impl TextQuery {
    /// `value` trimmed when it is empty or 2 to 200 characters, or why not.
    pub(crate) fn parse(value: &str) -> Result<Self, String> {
        text_query(value)?;
        Ok(Self::trusted(value.trim().to_owned()))
    }
}

/// A free-text query as lists match it: lower-cased, with its E.164 form when it reads as
/// a phone number.
pub(crate) fn text_query(value: &str) -> Result<Option<(String, Option<String>)>, String> {
    let value = value.trim();
    if value.is_empty() {
        Ok(None)
    } else if !(2..=200).contains(&value.chars().count()) {
        Err("must be 2 to 200 characters".into())
    } else {
        Ok(Some((
            value.to_lowercase(),
            PhoneNumber::parse(value).ok().map(String::from),
        )))
    }
}

/// One change an update makes to a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SegmentChange {
    /// `display_name`
    DisplayName(DisplayName),
    /// `description`
    Description(Description),
    /// `filter`
    Filter(SegmentFilter),
    /// `query`
    Query(TextQuery),
}

impl SegmentSpec {
    /// Applies `changes`; returns whether anything changed.
    pub(crate) fn apply(&mut self, changes: Vec<SegmentChange>) -> bool {
        let before = self.clone();
        for change in changes {
            match change {
                SegmentChange::DisplayName(v) => self.display_name = v,
                SegmentChange::Description(v) => self.description = v,
                SegmentChange::Filter(v) => self.filter = v,
                SegmentChange::Query(v) => self.query = v,
            }
        }
        *self != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_filters_follow_the_list_grammar() {
        assert!(SegmentFilter::parse("tier = VIP AND lifecycle_stage = AT_RISK").is_ok());
        assert!(SegmentFilter::parse("tier = GOLD").is_err());
        assert!(SegmentFilter::parse(&"x".repeat(2001)).is_err());
        assert!(TextQuery::parse("a").is_err());
        assert_eq!(
            text_query("138 0013 8000").unwrap(),
            Some(("138 0013 8000".into(), Some("+8613800138000".into())))
        );
    }
}

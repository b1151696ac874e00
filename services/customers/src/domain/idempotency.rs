//! Idempotency keys: a client's `request_id`, scoped to who sent it, the method and the
//! parent resource, so that one caller's key never finds another caller's result, and bound
//! to the request it came with, so that reusing a key for a different request is refused.

use std::fmt::Debug;

use aftercare_platform::request::fingerprint;

/// A `request_id` in its scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestKey {
    /// The caller's subject (for a relayed call, the user's).
    pub(crate) subject: String,
    /// The method, `CreateCustomer`.
    pub(crate) method: &'static str,
    /// The parent resource name, or empty for a top-level collection.
    pub(crate) parent: String,
    /// The client's key (a canonical UUID).
    pub(crate) request_id: String,
    /// A fingerprint of the parsed request the key came with.
    pub(crate) request_hash: String,
}

impl RequestKey {
    /// The key `request_id` of `subject` for `method` under `parent`, bound to `request`
    /// (the parsed command, which includes the key itself).
    pub(crate) fn new(
        subject: &str,
        method: &'static str,
        parent: &str,
        request_id: &str,
        request: &impl Debug,
    ) -> Self {
        Self {
            subject: subject.to_owned(),
            method,
            parent: parent.to_owned(),
            request_id: request_id.to_owned(),
            request_hash: format!("{:016x}", fingerprint(&[&format!("{request:?}")])),
        }
    }

    /// The key as a resource row stores it (its `request_id` column): method, parent and key
    /// (none holds a space; an empty parent leaves two), then the subject, so that two
    /// scopes never store the same text and the column's unique index is per scope.
    pub(crate) fn scoped(&self) -> String {
        format!(
            "{} {} {} {}",
            self.method, self.parent, self.request_id, self.subject
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_scoped_to_caller_method_and_parent() {
        let id = "0190a000-0000-7000-8000-000000000000";
        let key = RequestKey::new("agents/ada", "CreateCustomer", "", id, &"x");
        for other in [
            RequestKey::new("agents/bob", "CreateCustomer", "", id, &"x"),
            RequestKey::new("agents/ada", "CreateSegment", "", id, &"x"),
            RequestKey::new("agents/ada", "CreateCustomer", "customers/1", id, &"x"),
        ] {
            assert_ne!(key.scoped(), other.scoped());
        }
        // A subject with spaces cannot pose as another scope.
        let tricky = RequestKey::new(&format!("{id} agents/ada"), "CreateCustomer", "", "", &"x");
        assert_ne!(key.scoped(), tricky.scoped());
    }

    #[test]
    fn a_key_is_bound_to_its_request() {
        let id = "0190a000-0000-7000-8000-000000000000";
        let first = RequestKey::new("agents/ada", "CreateCustomer", "", id, &("Li Wei", 1));
        let again = RequestKey::new("agents/ada", "CreateCustomer", "", id, &("Li Wei", 1));
        let other = RequestKey::new("agents/ada", "CreateCustomer", "", id, &("Anna", 1));
        assert_eq!(first, again);
        assert_ne!(first.request_hash, other.request_hash);
        assert_eq!(first.scoped(), other.scoped());
    }
}

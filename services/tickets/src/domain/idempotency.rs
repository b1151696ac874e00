//! Idempotency keys: a caller's `request_id`, scoped to that caller, the method and the
//! parent resource, remembering a fingerprint of the request it came with.

/// A `request_id` in its scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// The caller's subject.
    pub subject: String,
    /// The method (`CreateTicket`, `CreateMessage`, `CreateAfterSalesCase`).
    pub method: &'static str,
    /// The parent resource's name, or "" for a top-level collection.
    pub parent: String,
    /// The caller's key (a canonical UUID).
    pub request_id: String,
    /// A digest of the request, without its `request_id`.
    pub fingerprint: String,
}

/// What an earlier call with a key made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUse {
    /// The digest of that request.
    pub fingerprint: String,
    /// The id of the resource it made.
    pub resource: String,
}

/// How a call with a key that was used before is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    /// The same request again: answer with the resource it made (after the visibility
    /// checks of a read).
    Same(String),
    /// Another request under the same key: refused (`ALREADY_EXISTS`), nothing written.
    Different,
}

impl IdempotencyKey {
    /// The key of `request_id`, when one was given, for `subject` calling `method` under
    /// `parent`.
    pub fn of(
        request_id: Option<&RequestKey>,
        subject: &str,
        method: &'static str,
        parent: &str,
    ) -> Option<Self> {
        request_id.map(|key| Self {
            subject: subject.to_owned(),
            method,
            parent: parent.to_owned(),
            request_id: key.id.clone(),
            fingerprint: key.fingerprint.clone(),
        })
    }

    /// How this call is answered, given what the key made before.
    pub fn replay(&self, earlier: &KeyUse) -> Replay {
        if earlier.fingerprint == self.fingerprint {
            Replay::Same(earlier.resource.clone())
        } else {
            Replay::Different
        }
    }
}

/// A `request_id` as parsed from a request, with the digest of that request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    /// The key (a canonical UUID).
    pub id: String,
    /// A digest of the request without its `request_id`.
    pub fingerprint: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(fingerprint: &str) -> IdempotencyKey {
        IdempotencyKey::of(
            Some(&RequestKey {
                id: "0190a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b".into(),
                fingerprint: fingerprint.into(),
            }),
            "customers/c1",
            "CreateTicket",
            "",
        )
        .unwrap()
    }

    #[test]
    fn the_same_request_replays_and_another_is_refused() {
        let earlier = KeyUse {
            fingerprint: "abc".into(),
            resource: "t1".into(),
        };
        assert_eq!(key("abc").replay(&earlier), Replay::Same("t1".into()));
        assert_eq!(key("abd").replay(&earlier), Replay::Different);
    }

    #[test]
    fn no_request_id_means_no_key() {
        assert_eq!(
            IdempotencyKey::of(None, "agents/a1", "CreateMessage", "t"),
            None
        );
    }
}

-- Every request_id a caller used, scoped to the caller (subject), the method and the parent
-- resource, with a fingerprint of the request it came with: a replay by the same caller
-- returns the first result, the same key with a different request is ALREADY_EXISTS, and
-- one caller's key never finds another's result. Resource rows keep the scoped key in their
-- request_id column (see domain::idempotency::RequestKey::scoped).
CREATE TABLE idempotency_keys (
    subject TEXT NOT NULL,
    method TEXT NOT NULL,
    parent TEXT NOT NULL,
    request_id TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    PRIMARY KEY (subject, method, parent, request_id)
);

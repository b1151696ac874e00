-- Identities a customer adds to their own record are claims until staff verify them: a
-- claim never resolves a contact, and several customers may claim one address while at most
-- one customer holds it as a real identity. SQLite cannot drop a table constraint, so the
-- table is rebuilt with the uniqueness as two partial indexes.
CREATE TABLE identities_new (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    request_id TEXT UNIQUE,
    channel INTEGER NOT NULL,
    provider TEXT NOT NULL DEFAULT '',
    handle TEXT NOT NULL,
    claimed INTEGER NOT NULL DEFAULT 0,
    verified INTEGER NOT NULL DEFAULT 0,
    verify_time INTEGER,
    verification_method INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL
);

INSERT INTO identities_new (id, customer_id, request_id, channel, provider, handle, claimed,
    verified, verify_time, verification_method, version, create_time, update_time)
SELECT id, customer_id, request_id, channel, provider, handle, 0, verified, verify_time,
    verification_method, version, create_time, update_time
FROM identities;

DROP TABLE identities;
ALTER TABLE identities_new RENAME TO identities;

CREATE INDEX identities_customer ON identities (customer_id, id);
-- A real (not claimed) identity belongs to at most one customer across the platform.
CREATE UNIQUE INDEX identities_key ON identities (channel, provider, handle) WHERE claimed = 0;
-- A customer claims an address once.
CREATE UNIQUE INDEX identities_claim ON identities (customer_id, channel, provider, handle)
    WHERE claimed = 1;

-- The customers service's own tables (PostgreSQL). Times are UTC microseconds; ids, enums
-- and JSON are TEXT; booleans are 0/1 BIGINTs.

CREATE TABLE organisations (
    id TEXT PRIMARY KEY,
    request_id TEXT UNIQUE,
    display_name TEXT NOT NULL,
    domain TEXT UNIQUE,
    region TEXT NOT NULL DEFAULT '',
    tier BIGINT NOT NULL,
    attributes TEXT NOT NULL DEFAULT '{}',
    version BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);

CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    request_id TEXT UNIQUE,
    display_name TEXT NOT NULL,
    given_name TEXT NOT NULL DEFAULT '',
    family_name TEXT NOT NULL DEFAULT '',
    locale TEXT NOT NULL DEFAULT '',
    time_zone TEXT NOT NULL DEFAULT '',
    region TEXT NOT NULL DEFAULT '',
    emails TEXT NOT NULL DEFAULT '[]',
    phones TEXT NOT NULL DEFAULT '[]',
    addresses TEXT NOT NULL DEFAULT '[]',
    organisation_id TEXT REFERENCES organisations (id),
    tier BIGINT NOT NULL,
    tier_locked BIGINT NOT NULL DEFAULT 0,
    lifecycle_stage BIGINT NOT NULL,
    attributes TEXT NOT NULL DEFAULT '{}',
    internal_attributes TEXT NOT NULL DEFAULT '{}',
    origin_channel BIGINT NOT NULL DEFAULT 0,
    merged_into TEXT,
    merge_time BIGINT,
    erased BIGINT NOT NULL DEFAULT 0,
    erase_time BIGINT,
    search_text TEXT NOT NULL DEFAULT '',
    -- Sum of the loyalty ledger; a conditional UPDATE keeps it >= 0 under concurrency.
    loyalty_balance BIGINT NOT NULL DEFAULT 0,
    version BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);

CREATE INDEX customers_region ON customers (region, id);
CREATE INDEX customers_organisation ON customers (organisation_id, id);
CREATE INDEX customers_merged_into ON customers (merged_into);

-- A channel identity belongs to at most one customer across the platform.
CREATE TABLE identities (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    request_id TEXT UNIQUE,
    channel BIGINT NOT NULL,
    provider TEXT NOT NULL DEFAULT '',
    handle TEXT NOT NULL,
    verified BIGINT NOT NULL DEFAULT 0,
    verify_time BIGINT,
    verification_method BIGINT NOT NULL DEFAULT 0,
    version BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    UNIQUE (channel, provider, handle)
);

CREATE INDEX identities_customer ON identities (customer_id, id);

-- Merges done, so a retried MergeCustomers (same request_id) returns the first result.
CREATE TABLE merges (
    id TEXT PRIMARY KEY,
    request_id TEXT UNIQUE,
    survivor_id TEXT NOT NULL,
    merged_id TEXT NOT NULL,
    identities_moved BIGINT NOT NULL,
    timeline_entries_moved BIGINT NOT NULL,
    loyalty_points_transferred BIGINT NOT NULL,
    repointed TEXT NOT NULL,
    merge_time BIGINT NOT NULL
);

-- The interaction timeline, projected from events; one entry per (customer, event).
CREATE TABLE timeline_entries (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    event_id TEXT NOT NULL,
    source_service TEXT NOT NULL,
    event_type TEXT NOT NULL,
    subject TEXT NOT NULL,
    summary TEXT NOT NULL,
    occur_time BIGINT NOT NULL,
    region TEXT NOT NULL DEFAULT '',
    channel BIGINT NOT NULL DEFAULT 0,
    actor_type BIGINT NOT NULL DEFAULT 0,
    actor_id TEXT NOT NULL DEFAULT '',
    actor_name TEXT NOT NULL DEFAULT '',
    create_time BIGINT NOT NULL,
    UNIQUE (customer_id, event_id)
);

CREATE INDEX timeline_entries_customer ON timeline_entries (customer_id, occur_time, id);

-- The loyalty ledger: append-only (erasure only blanks reason and reference).
CREATE TABLE loyalty_entries (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    request_id TEXT UNIQUE,
    kind BIGINT NOT NULL,
    points BIGINT NOT NULL,
    reason TEXT NOT NULL,
    reference TEXT NOT NULL DEFAULT '',
    spend_minor BIGINT NOT NULL DEFAULT 0,
    balance_after BIGINT NOT NULL,
    actor_type BIGINT NOT NULL DEFAULT 0,
    actor_id TEXT NOT NULL DEFAULT '',
    actor_name TEXT NOT NULL DEFAULT '',
    create_time BIGINT NOT NULL
);

CREATE INDEX loyalty_entries_customer ON loyalty_entries (customer_id, id);

-- The latest contact-consent decision per customer, channel and purpose.
CREATE TABLE consents (
    customer_id TEXT NOT NULL REFERENCES customers (id),
    channel BIGINT NOT NULL,
    purpose BIGINT NOT NULL,
    state BIGINT NOT NULL,
    source TEXT NOT NULL,
    decide_time BIGINT NOT NULL,
    actor_type BIGINT NOT NULL DEFAULT 0,
    actor_id TEXT NOT NULL DEFAULT '',
    actor_name TEXT NOT NULL DEFAULT '',
    version BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    PRIMARY KEY (customer_id, channel, purpose)
);

-- Erasures done, so a retried EraseCustomer (same request_id) returns the first result.
CREATE TABLE erasures (
    id TEXT PRIMARY KEY,
    request_id TEXT UNIQUE,
    customer_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    erase_time BIGINT NOT NULL
);

-- Rules that grant a tier by loyalty points or spend; one enabled rule per tier.
CREATE TABLE tier_rules (
    id TEXT PRIMARY KEY,
    request_id TEXT UNIQUE,
    display_name TEXT NOT NULL,
    tier BIGINT NOT NULL,
    metric BIGINT NOT NULL,
    threshold BIGINT NOT NULL,
    window_micros BIGINT,
    demote BIGINT NOT NULL DEFAULT 0,
    enabled BIGINT NOT NULL DEFAULT 0,
    version BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);

CREATE UNIQUE INDEX tier_rules_one_enabled_per_tier ON tier_rules (tier) WHERE enabled = 1;

-- Saved customer filters with their last count.
CREATE TABLE segments (
    id TEXT PRIMARY KEY,
    request_id TEXT UNIQUE,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    filter TEXT NOT NULL DEFAULT '',
    query TEXT NOT NULL DEFAULT '',
    customer_count BIGINT NOT NULL DEFAULT 0,
    count_time BIGINT NOT NULL,
    version BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);

-- The customers service's own tables (SQLite). Times are UTC microseconds; ids, enums
-- and JSON are TEXT; booleans are 0/1 INTEGERs.

CREATE TABLE organisations (
    id TEXT PRIMARY KEY,
    request_id TEXT UNIQUE,
    display_name TEXT NOT NULL,
    domain TEXT UNIQUE,
    region TEXT NOT NULL DEFAULT '',
    tier INTEGER NOT NULL,
    attributes TEXT NOT NULL DEFAULT '{}',
    version INTEGER NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL
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
    tier INTEGER NOT NULL,
    tier_locked INTEGER NOT NULL DEFAULT 0,
    lifecycle_stage INTEGER NOT NULL,
    attributes TEXT NOT NULL DEFAULT '{}',
    internal_attributes TEXT NOT NULL DEFAULT '{}',
    origin_channel INTEGER NOT NULL DEFAULT 0,
    merged_into TEXT,
    merge_time INTEGER,
    erased INTEGER NOT NULL DEFAULT 0,
    erase_time INTEGER,
    search_text TEXT NOT NULL DEFAULT '',
    -- Sum of the loyalty ledger; a conditional UPDATE keeps it >= 0 under concurrency.
    loyalty_balance INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL
);

CREATE INDEX customers_region ON customers (region, id);
CREATE INDEX customers_organisation ON customers (organisation_id, id);
CREATE INDEX customers_merged_into ON customers (merged_into);

-- A channel identity belongs to at most one customer across the platform.
CREATE TABLE identities (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    request_id TEXT UNIQUE,
    channel INTEGER NOT NULL,
    provider TEXT NOT NULL DEFAULT '',
    handle TEXT NOT NULL,
    verified INTEGER NOT NULL DEFAULT 0,
    verify_time INTEGER,
    verification_method INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    UNIQUE (channel, provider, handle)
);

CREATE INDEX identities_customer ON identities (customer_id, id);

-- Merges done, so a retried MergeCustomers (same request_id) returns the first result.
CREATE TABLE merges (
    id TEXT PRIMARY KEY,
    request_id TEXT UNIQUE,
    survivor_id TEXT NOT NULL,
    merged_id TEXT NOT NULL,
    identities_moved INTEGER NOT NULL,
    timeline_entries_moved INTEGER NOT NULL,
    loyalty_points_transferred INTEGER NOT NULL,
    repointed TEXT NOT NULL,
    merge_time INTEGER NOT NULL
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
    occur_time INTEGER NOT NULL,
    region TEXT NOT NULL DEFAULT '',
    channel INTEGER NOT NULL DEFAULT 0,
    actor_type INTEGER NOT NULL DEFAULT 0,
    actor_id TEXT NOT NULL DEFAULT '',
    actor_name TEXT NOT NULL DEFAULT '',
    create_time INTEGER NOT NULL,
    UNIQUE (customer_id, event_id)
);

CREATE INDEX timeline_entries_customer ON timeline_entries (customer_id, occur_time, id);

-- The loyalty ledger: append-only (erasure only blanks reason and reference).
CREATE TABLE loyalty_entries (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    request_id TEXT UNIQUE,
    kind INTEGER NOT NULL,
    points INTEGER NOT NULL,
    reason TEXT NOT NULL,
    reference TEXT NOT NULL DEFAULT '',
    spend_minor INTEGER NOT NULL DEFAULT 0,
    balance_after INTEGER NOT NULL,
    actor_type INTEGER NOT NULL DEFAULT 0,
    actor_id TEXT NOT NULL DEFAULT '',
    actor_name TEXT NOT NULL DEFAULT '',
    create_time INTEGER NOT NULL
);

CREATE INDEX loyalty_entries_customer ON loyalty_entries (customer_id, id);

-- The latest contact-consent decision per customer, channel and purpose.
CREATE TABLE consents (
    customer_id TEXT NOT NULL REFERENCES customers (id),
    channel INTEGER NOT NULL,
    purpose INTEGER NOT NULL,
    state INTEGER NOT NULL,
    source TEXT NOT NULL,
    decide_time INTEGER NOT NULL,
    actor_type INTEGER NOT NULL DEFAULT 0,
    actor_id TEXT NOT NULL DEFAULT '',
    actor_name TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    PRIMARY KEY (customer_id, channel, purpose)
);

-- Erasures done, so a retried EraseCustomer (same request_id) returns the first result.
CREATE TABLE erasures (
    id TEXT PRIMARY KEY,
    request_id TEXT UNIQUE,
    customer_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    erase_time INTEGER NOT NULL
);

-- Rules that grant a tier by loyalty points or spend; one enabled rule per tier.
CREATE TABLE tier_rules (
    id TEXT PRIMARY KEY,
    request_id TEXT UNIQUE,
    display_name TEXT NOT NULL,
    tier INTEGER NOT NULL,
    metric INTEGER NOT NULL,
    threshold INTEGER NOT NULL,
    window_micros INTEGER,
    demote INTEGER NOT NULL DEFAULT 0,
    enabled INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL
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
    customer_count INTEGER NOT NULL DEFAULT 0,
    count_time INTEGER NOT NULL,
    version INTEGER NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL
);

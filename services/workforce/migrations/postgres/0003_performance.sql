-- Performance facts, from ticket and feedback events: one row per fact, credited to the
-- agent and the teams they were in at the time (`teams` is a `,id,` list). A CSAT answer
-- that arrives before its ticket's resolution waits with no agent until the resolution
-- names one.
CREATE TABLE performance_facts (
    id TEXT PRIMARY KEY,
    agent_id TEXT,
    teams TEXT NOT NULL,
    ticket_id TEXT,
    kind BIGINT NOT NULL,
    value BIGINT NOT NULL,
    occur_time BIGINT NOT NULL
);
CREATE INDEX performance_by_agent ON performance_facts (agent_id, occur_time);
CREATE INDEX performance_by_time ON performance_facts (occur_time);
CREATE INDEX performance_by_ticket ON performance_facts (ticket_id, kind);

-- Recognitions (immutable). `awarded_by` is the actor as JSON.
CREATE TABLE recognitions (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    badge BIGINT NOT NULL,
    reason TEXT NOT NULL,
    refs TEXT NOT NULL,
    awarded_by TEXT NOT NULL,
    awarded_by_subject TEXT NOT NULL,
    create_time BIGINT NOT NULL
);
CREATE INDEX recognitions_by_time ON recognitions (create_time, id);
CREATE INDEX recognitions_by_agent ON recognitions (agent_id, create_time);

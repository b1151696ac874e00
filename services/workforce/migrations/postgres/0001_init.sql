-- The workforce service's schema. Times are UTC microseconds, ids UUIDv7 text, flags 0/1,
-- enums their proto numbers.

-- Agents. `roles` is `,n,n,` (proto numbers), `languages` the tags in order as JSON,
-- `language_tags` / `language_primaries` lower-case `,tag,` lists for filters.
CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    display_key TEXT NOT NULL,
    email TEXT NOT NULL,
    identity_subject TEXT,
    roles TEXT NOT NULL,
    region TEXT NOT NULL,
    service_centre TEXT,
    languages TEXT NOT NULL,
    language_tags TEXT NOT NULL,
    language_primaries TEXT NOT NULL,
    max_concurrent_tickets BIGINT NOT NULL,
    shift_id TEXT,
    state BIGINT NOT NULL,
    presence_state BIGINT NOT NULL,
    status_message TEXT NOT NULL,
    state_change_time BIGINT NOT NULL,
    heartbeat_time BIGINT NOT NULL,
    presence_update_time BIGINT NOT NULL,
    last_assign_time BIGINT,
    active_tickets BIGINT NOT NULL,
    version BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    delete_time BIGINT
);
CREATE UNIQUE INDEX agents_email ON agents (email) WHERE delete_time IS NULL;
CREATE UNIQUE INDEX agents_identity ON agents (identity_subject) WHERE delete_time IS NULL;
CREATE INDEX agents_by_name ON agents (display_key, id);
CREATE INDEX agents_routable ON agents (state, presence_state);
CREATE INDEX agents_shift ON agents (shift_id);

CREATE TABLE agent_skills (
    agent_id TEXT NOT NULL,
    skill_id TEXT NOT NULL,
    level BIGINT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (agent_id, skill_id)
);
CREATE INDEX agent_skills_by_skill ON agent_skills (skill_id, level);

CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    display_key TEXT NOT NULL UNIQUE,
    description TEXT,
    region TEXT NOT NULL,
    service_centre TEXT,
    lead_id TEXT,
    escalation_tier BIGINT NOT NULL,
    version BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);

CREATE TABLE team_members (
    team_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    create_time BIGINT NOT NULL,
    PRIMARY KEY (team_id, agent_id)
);
CREATE INDEX team_members_by_agent ON team_members (agent_id);

CREATE TABLE skills (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    category BIGINT NOT NULL,
    code TEXT NOT NULL,
    description TEXT,
    version BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    UNIQUE (category, code)
);

-- Shifts: weekly intervals and dated exceptions as JSON.
CREATE TABLE shifts (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    display_key TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    region TEXT,
    intervals TEXT NOT NULL,
    exceptions TEXT NOT NULL,
    version BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);
CREATE INDEX shifts_by_name ON shifts (display_key, id);

-- Certifications. `skills` is the `,id,` list of the skills of the granting course.
CREATE TABLE certifications (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    code TEXT NOT NULL,
    display_name TEXT NOT NULL,
    course_id TEXT,
    enrolment_id TEXT,
    skills TEXT NOT NULL,
    issue_time BIGINT NOT NULL,
    expire_time BIGINT,
    state BIGINT NOT NULL,
    issuer TEXT NOT NULL,
    revoke_time BIGINT,
    revoke_reason TEXT,
    version BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);
CREATE INDEX certifications_by_agent ON certifications (agent_id, state);
CREATE INDEX certifications_expiring ON certifications (state, expire_time);

-- Idempotency keys: (caller subject, method, parent, request id) -> the resource made.
CREATE TABLE request_ids (
    subject TEXT NOT NULL,
    method TEXT NOT NULL,
    parent TEXT NOT NULL,
    request_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    create_time BIGINT NOT NULL,
    PRIMARY KEY (subject, method, parent, request_id)
);

-- The load: one row per ticket assigned (or held by routing) to an agent. `open` is 1
-- until the ticket is resolved or closed; `held` is 1 for a routing hold not yet
-- confirmed by `TicketAssigned`. `event_time` is the ticket's update time of the last
-- event applied, so older redeliveries are ignored.
CREATE TABLE ticket_load (
    ticket_id TEXT PRIMARY KEY,
    agent_id TEXT,
    open BIGINT NOT NULL,
    held BIGINT NOT NULL,
    event_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);
CREATE INDEX ticket_load_by_agent ON ticket_load (agent_id, open);

-- Tickets routing could not place, with why; routed when an agent frees up.
CREATE TABLE routing_queue (
    ticket_id TEXT PRIMARY KEY,
    request TEXT NOT NULL,
    priority BIGINT NOT NULL,
    region TEXT,
    reason TEXT NOT NULL,
    queue_time BIGINT NOT NULL
);
CREATE INDEX routing_queue_order ON routing_queue (priority, queue_time);

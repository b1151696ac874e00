-- Tickets: the ticket itself (with its SLA columns), its tags, messages, history and links.
-- Times are UTC microseconds; enums are stored by name without prefix, except the ordered
-- ones (priority, escalation level) stored by rank so they sort and compare.

CREATE TABLE ticket_counter (
    id INTEGER PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO ticket_counter (id, value) VALUES (1, 0);

CREATE TABLE tickets (
    id TEXT PRIMARY KEY,
    number INTEGER NOT NULL UNIQUE,
    request_id TEXT UNIQUE,
    customer TEXT NOT NULL,
    customer_display_name TEXT NOT NULL,
    customer_tier TEXT NOT NULL,
    channel TEXT NOT NULL,
    identity_channel TEXT,
    identity_handle TEXT,
    identity_provider TEXT,
    external_id TEXT,
    subject TEXT NOT NULL,
    description TEXT NOT NULL,
    kind TEXT NOT NULL,
    sub_kind TEXT,
    priority INTEGER NOT NULL,
    classification TEXT NOT NULL,
    status TEXT NOT NULL,
    product_line TEXT NOT NULL,
    product_model TEXT NOT NULL,
    product_serial TEXT NOT NULL,
    region TEXT NOT NULL,
    service_centre TEXT,
    language_code TEXT,
    assignee TEXT,
    team TEXT,
    escalation_level INTEGER NOT NULL,
    tags TEXT NOT NULL,
    sla_policy TEXT,
    sla_calendar TEXT,
    sla_state TEXT NOT NULL,
    first_response_due BIGINT,
    resolution_due BIGINT,
    sla_at_risk INTEGER NOT NULL,
    sla_first_response_at_risk INTEGER NOT NULL,
    sla_resolution_at_risk INTEGER NOT NULL,
    sla_first_response_at_risk_time BIGINT,
    sla_resolution_at_risk_time BIGINT,
    sla_next_check BIGINT,
    sla_paused_business BIGINT NOT NULL,
    sla_first_response_business BIGINT,
    sla_resolution_business BIGINT,
    first_response_breached INTEGER NOT NULL,
    resolution_breached INTEGER NOT NULL,
    sla_pause_time BIGINT,
    first_response_time BIGINT,
    resolve_time BIGINT,
    merged_into TEXT,
    resolution_summary TEXT NOT NULL,
    reopen_count INTEGER NOT NULL,
    creator_type TEXT NOT NULL,
    creator_id TEXT NOT NULL,
    creator_name TEXT NOT NULL,
    version INTEGER NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    close_time BIGINT
);
CREATE INDEX tickets_by_create_time ON tickets (create_time, id);
CREATE INDEX tickets_by_update_time ON tickets (update_time, id);
CREATE INDEX tickets_by_region ON tickets (region, create_time, id);
CREATE INDEX tickets_by_customer ON tickets (customer, create_time, id);
CREATE INDEX tickets_by_status ON tickets (status, create_time);
-- Resolved tickets are closed automatically after a while.
CREATE INDEX tickets_resolved ON tickets (resolve_time) WHERE status = 'RESOLVED';
CREATE INDEX tickets_by_assignee ON tickets (assignee, status);
CREATE INDEX tickets_by_team ON tickets (team, status);
-- The SLA sweep reads only tickets whose next threshold or due time has passed.
CREATE INDEX tickets_by_sla_next_check ON tickets (sla_next_check) WHERE sla_next_check IS NOT NULL;

CREATE TABLE ticket_tags (
    tag TEXT NOT NULL,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    PRIMARY KEY (tag, ticket_id)
);

CREATE TABLE ticket_messages (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    request_id TEXT UNIQUE,
    visibility TEXT NOT NULL,
    author_type TEXT NOT NULL,
    author_id TEXT NOT NULL,
    author_name TEXT NOT NULL,
    body TEXT NOT NULL,
    format TEXT NOT NULL,
    channel TEXT,
    attachments TEXT NOT NULL,
    source_ticket TEXT,
    create_time BIGINT NOT NULL
);
CREATE INDEX ticket_messages_by_ticket ON ticket_messages (ticket_id, create_time, id);

CREATE TABLE ticket_history (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    event_kind TEXT NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    changes TEXT NOT NULL,
    fields TEXT NOT NULL,
    reason TEXT NOT NULL,
    message TEXT NOT NULL,
    related_ticket TEXT NOT NULL,
    after_sales_case TEXT NOT NULL,
    create_time BIGINT NOT NULL
);
CREATE INDEX ticket_history_by_ticket ON ticket_history (ticket_id, create_time, id);

-- Each link is stored twice, once under each ticket with inverse types, sharing its id.
CREATE TABLE ticket_links (
    id TEXT NOT NULL,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    linked_ticket TEXT NOT NULL REFERENCES tickets (id),
    link_type TEXT NOT NULL,
    from_merge INTEGER NOT NULL,
    creator_type TEXT NOT NULL,
    creator_id TEXT NOT NULL,
    creator_name TEXT NOT NULL,
    create_time BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, id),
    UNIQUE (ticket_id, linked_ticket, link_type)
);

CREATE TABLE sla_policies (
    id TEXT PRIMARY KEY,
    request_id TEXT UNIQUE,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL,
    policy_rank INTEGER NOT NULL,
    disabled INTEGER NOT NULL,
    conditions TEXT NOT NULL,
    first_response_target BIGINT NOT NULL,
    resolution_target BIGINT NOT NULL,
    at_risk_percent INTEGER NOT NULL,
    business_calendar TEXT,
    escalation_rules TEXT NOT NULL,
    version INTEGER NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);
CREATE INDEX sla_policies_in_order ON sla_policies (policy_rank, create_time, id);

CREATE TABLE business_calendars (
    id TEXT PRIMARY KEY,
    request_id TEXT UNIQUE,
    display_name TEXT NOT NULL,
    region TEXT NOT NULL,
    service_centre TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    weekly_hours TEXT NOT NULL,
    holidays TEXT NOT NULL,
    version INTEGER NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    UNIQUE (region, service_centre)
);

-- After-sales cases: the flow's state and keys in columns, the case itself as a JSON document.
CREATE TABLE after_sales_cases (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    request_id TEXT UNIQUE,
    customer TEXT NOT NULL,
    region TEXT NOT NULL,
    state TEXT NOT NULL,
    service_type TEXT NOT NULL,
    technician TEXT NOT NULL,
    service_centre TEXT NOT NULL,
    appointment_start_time BIGINT,
    document TEXT NOT NULL,
    version INTEGER NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);
CREATE INDEX after_sales_cases_by_ticket ON after_sales_cases (ticket_id, create_time, id);
CREATE INDEX after_sales_cases_by_time ON after_sales_cases (create_time, id);

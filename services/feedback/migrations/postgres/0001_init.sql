-- The feedback service's own tables. Times are UTC microseconds (BIGINT); ids are UUIDv7
-- TEXT; enums are their proto numbers; booleans are 0/1 BIGINTs; lists and maps are JSON TEXT.

-- Surveys: the current definition. Every definition a survey ever had is kept in
-- survey_versions, so that invitations keep the questions they were sent with.
CREATE TABLE surveys (
    id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    titles TEXT NOT NULL,
    default_language TEXT NOT NULL,
    questions TEXT NOT NULL,
    trigger_kind BIGINT NOT NULL,
    channel BIGINT NOT NULL,
    invitation_ttl BIGINT NOT NULL,
    send_delay BIGINT NOT NULL,
    customer_cooldown BIGINT NOT NULL,
    regions TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    creator TEXT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);
CREATE INDEX surveys_by_create ON surveys (create_time, id);

CREATE TABLE survey_regions (
    survey_id TEXT NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    region TEXT NOT NULL,
    PRIMARY KEY (survey_id, region)
);

CREATE TABLE survey_versions (
    survey_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    titles TEXT NOT NULL,
    default_language TEXT NOT NULL,
    questions TEXT NOT NULL,
    invitation_ttl BIGINT NOT NULL,
    PRIMARY KEY (survey_id, version)
);

CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    survey_id TEXT NOT NULL,
    survey_version BIGINT NOT NULL,
    customer TEXT NOT NULL,
    ticket TEXT NOT NULL DEFAULT '',
    channel BIGINT NOT NULL,
    language TEXT NOT NULL,
    follow_up TEXT NOT NULL DEFAULT '',
    token_hash TEXT NOT NULL UNIQUE,
    status BIGINT NOT NULL,
    schedule_time BIGINT NOT NULL,
    send_time BIGINT,
    expire_time BIGINT,
    answer_time BIGINT,
    response_id TEXT NOT NULL DEFAULT '',
    region TEXT NOT NULL DEFAULT '',
    team TEXT NOT NULL DEFAULT '',
    agent TEXT NOT NULL DEFAULT '',
    creator TEXT NOT NULL,
    version BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);
CREATE INDEX invitations_by_survey ON invitations (survey_id, create_time);
CREATE INDEX invitations_by_customer ON invitations (customer, create_time);
CREATE INDEX invitations_by_status ON invitations (status, schedule_time);
CREATE UNIQUE INDEX invitations_one_per_ticket ON invitations (ticket, follow_up)
    WHERE ticket <> '';

CREATE TABLE responses (
    id TEXT PRIMARY KEY,
    invitation_id TEXT NOT NULL UNIQUE,
    survey_id TEXT NOT NULL,
    customer TEXT NOT NULL,
    ticket TEXT NOT NULL DEFAULT '',
    csat_score BIGINT,
    nps_score BIGINT,
    ces_score BIGINT,
    comment TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT '',
    channel BIGINT NOT NULL,
    detractor BIGINT NOT NULL,
    triggered_follow_up TEXT NOT NULL DEFAULT '',
    answered_follow_up TEXT NOT NULL DEFAULT '',
    previous_response TEXT NOT NULL DEFAULT '',
    region TEXT NOT NULL DEFAULT '',
    team TEXT NOT NULL DEFAULT '',
    agent TEXT NOT NULL DEFAULT '',
    recorder TEXT NOT NULL,
    version BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);
CREATE INDEX responses_by_create ON responses (create_time, id);
CREATE INDEX responses_by_customer ON responses (customer, create_time);

CREATE TABLE feedback_items (
    id TEXT PRIMARY KEY,
    channel BIGINT NOT NULL,
    customer TEXT NOT NULL DEFAULT '',
    ticket TEXT NOT NULL DEFAULT '',
    product TEXT NOT NULL DEFAULT '',
    region TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL,
    language TEXT NOT NULL,
    source_uri TEXT NOT NULL DEFAULT '',
    receive_time BIGINT NOT NULL,
    triggered_follow_up TEXT NOT NULL DEFAULT '',
    recorder TEXT NOT NULL,
    version BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);
CREATE INDEX feedback_items_by_receive ON feedback_items (receive_time, id);
CREATE INDEX feedback_items_by_customer ON feedback_items (customer);

-- The current classification of a response's comment or an item's text, keyed by the
-- feedback's resource name; every classification ever made is kept in the history.
CREATE TABLE classifications (
    feedback TEXT PRIMARY KEY,
    topic BIGINT NOT NULL,
    topics TEXT NOT NULL,
    severity BIGINT NOT NULL,
    sentiment BIGINT NOT NULL,
    sentiment_score DOUBLE PRECISION NOT NULL,
    confidence DOUBLE PRECISION NOT NULL,
    method BIGINT NOT NULL,
    matched_terms TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    classifier TEXT NOT NULL,
    classifier_version TEXT NOT NULL,
    classify_time BIGINT NOT NULL
);

CREATE TABLE classification_history (
    id TEXT PRIMARY KEY,
    feedback TEXT NOT NULL,
    topic BIGINT NOT NULL,
    severity BIGINT NOT NULL,
    sentiment BIGINT NOT NULL,
    sentiment_score DOUBLE PRECISION NOT NULL,
    method BIGINT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    classifier TEXT NOT NULL,
    classifier_version TEXT NOT NULL,
    classify_time BIGINT NOT NULL
);
CREATE INDEX classification_history_by_feedback ON classification_history (feedback, classify_time);

-- A follow-up waiting for its ticket: written in the transaction that records the feedback,
-- removed in the transaction that records the follow-up once the ticket exists. The sweep
-- retries the ones whose ticket could not be made yet.
CREATE TABLE pending_follow_ups (
    id TEXT PRIMARY KEY,
    source_feedback TEXT NOT NULL UNIQUE,
    reasons TEXT NOT NULL,
    customer TEXT NOT NULL,
    original_ticket TEXT NOT NULL DEFAULT '',
    survey_id TEXT NOT NULL DEFAULT '',
    channel BIGINT NOT NULL,
    region TEXT NOT NULL DEFAULT '',
    team TEXT NOT NULL DEFAULT '',
    agent TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL,
    due_time BIGINT NOT NULL,
    actor TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_time BIGINT NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    create_time BIGINT NOT NULL
);
CREATE INDEX pending_follow_ups_by_attempt ON pending_follow_ups (next_attempt_time);

CREATE TABLE follow_ups (
    id TEXT PRIMARY KEY,
    source_feedback TEXT NOT NULL UNIQUE,
    reasons TEXT NOT NULL,
    customer TEXT NOT NULL,
    ticket TEXT NOT NULL,
    original_ticket TEXT NOT NULL DEFAULT '',
    survey_id TEXT NOT NULL DEFAULT '',
    channel BIGINT NOT NULL,
    assignee TEXT NOT NULL DEFAULT '',
    due_time BIGINT NOT NULL,
    original_due_time BIGINT NOT NULL,
    status BIGINT NOT NULL,
    overdue BIGINT NOT NULL DEFAULT 0,
    contact_time BIGINT,
    contact_channel BIGINT NOT NULL DEFAULT 0,
    on_time BIGINT NOT NULL DEFAULT 0,
    outcome BIGINT NOT NULL DEFAULT 0,
    notes TEXT NOT NULL DEFAULT '',
    resurvey_invitation TEXT NOT NULL DEFAULT '',
    region TEXT NOT NULL DEFAULT '',
    team TEXT NOT NULL DEFAULT '',
    agent TEXT NOT NULL DEFAULT '',
    closer TEXT NOT NULL DEFAULT '',
    close_time BIGINT,
    version BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);
CREATE INDEX follow_ups_by_create ON follow_ups (create_time, id);
CREATE INDEX follow_ups_by_due ON follow_ups (status, due_time);

-- Idempotency keys: (caller subject, method, parent, request id) → the resource created and
-- a fingerprint of the request that created it.
CREATE TABLE request_ids (
    subject TEXT NOT NULL,
    method TEXT NOT NULL,
    parent TEXT NOT NULL,
    request_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    resource TEXT NOT NULL,
    create_time BIGINT NOT NULL,
    PRIMARY KEY (subject, method, parent, request_id)
);

-- Survey consent as the customers service last reported it (ConsentChanged).
CREATE TABLE survey_consents (
    customer TEXT NOT NULL,
    channel BIGINT NOT NULL,
    withdrawn BIGINT NOT NULL,
    decide_time BIGINT NOT NULL,
    PRIMARY KEY (customer, channel)
);

-- Tickets that reopened after being resolved: a delayed invitation for them is not sent.
CREATE TABLE reopened_tickets (
    ticket TEXT PRIMARY KEY,
    reopen_time BIGINT NOT NULL
);

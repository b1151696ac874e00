-- Idempotency keys scoped to (caller subject, method, parent). A request_id is looked up only
-- for the same caller, the same method and the same parent resource, and it remembers a
-- fingerprint of the request it came with, so the same key with a different request is
-- refused (ALREADY_EXISTS). The old request_id columns of tickets, ticket_messages and
-- after_sales_cases are no longer written: their global UNIQUE index let one caller's key
-- find another caller's resource, and a reused message key failed as INTERNAL.
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

-- What the service has set up on its own database once (the default service standards):
-- a setup recorded here is never repeated, so an admin's edits and deletions stay.
CREATE TABLE service_setup (
    name TEXT PRIMARY KEY,
    create_time BIGINT NOT NULL
);

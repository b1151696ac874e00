-- Queued tickets are routed later (an agent comes online or frees capacity): the resolved
-- route is kept with the request, and a ticket held for an agent stays queued, with the
-- agent, until its assignment arrives (an expired hold puts it back to waiting).
ALTER TABLE routing_queue ADD COLUMN route TEXT;
ALTER TABLE routing_queue ADD COLUMN agent_id TEXT;
ALTER TABLE routing_queue ADD COLUMN route_time INTEGER;
DROP INDEX routing_queue_order;
CREATE INDEX routing_queue_order ON routing_queue (priority DESC, queue_time, ticket_id);

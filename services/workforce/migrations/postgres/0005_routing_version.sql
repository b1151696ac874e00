-- The routing index's change feed: two counters, moved in the same transaction as any change
-- routing reads. `live` moves with the agents' rows (presence, heartbeat, load, capacity,
-- shift, profile version) and their skills; `config` with certifications, teams, team
-- members, shifts and the skill catalogue. A routing call reads this one row: while both
-- counters hold, what it read last is current. The counters move at commit (deferred
-- constraint triggers), once per transaction each, so the row is locked only while a
-- transaction commits and never before another row (no lock-order deadlock).
CREATE TABLE routing_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    live BIGINT NOT NULL,
    live_tx BIGINT,
    config BIGINT NOT NULL,
    config_tx BIGINT
);
INSERT INTO routing_version (id, live, config) VALUES (1, 0, 0);

CREATE FUNCTION routing_live_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE routing_version SET live = live + 1, live_tx = txid_current()
     WHERE id = 1 AND live_tx IS DISTINCT FROM txid_current();
    RETURN NULL;
END
$$;

CREATE FUNCTION routing_config_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE routing_version SET config = config + 1, config_tx = txid_current()
     WHERE id = 1 AND config_tx IS DISTINCT FROM txid_current();
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER agents_routing_live AFTER INSERT OR UPDATE OR DELETE ON agents
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION routing_live_changed();
CREATE CONSTRAINT TRIGGER agent_skills_routing_live
    AFTER INSERT OR UPDATE OR DELETE ON agent_skills
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION routing_live_changed();
CREATE CONSTRAINT TRIGGER certifications_routing_config
    AFTER INSERT OR UPDATE OR DELETE ON certifications
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION routing_config_changed();
CREATE CONSTRAINT TRIGGER teams_routing_config AFTER INSERT OR UPDATE OR DELETE ON teams
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION routing_config_changed();
CREATE CONSTRAINT TRIGGER team_members_routing_config
    AFTER INSERT OR UPDATE OR DELETE ON team_members
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION routing_config_changed();
CREATE CONSTRAINT TRIGGER shifts_routing_config AFTER INSERT OR UPDATE OR DELETE ON shifts
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION routing_config_changed();
CREATE CONSTRAINT TRIGGER skills_routing_config AFTER INSERT OR UPDATE OR DELETE ON skills
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION routing_config_changed();

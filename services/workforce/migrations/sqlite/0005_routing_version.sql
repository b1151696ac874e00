-- The routing index's change feed: two counters, moved in the same transaction as any change
-- routing reads. `live` moves with the agents' rows (presence, heartbeat, load, capacity,
-- shift, profile version) and their skills; `config` with certifications, teams, team
-- members, shifts and the skill catalogue. A routing call reads this one row: while both
-- counters hold, what it read last is current. (SQLite has one writer at a time, so plain
-- triggers suffice.)
CREATE TABLE routing_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    live BIGINT NOT NULL,
    live_tx BIGINT,
    config BIGINT NOT NULL,
    config_tx BIGINT
);
INSERT INTO routing_version (id, live, config) VALUES (1, 0, 0);

CREATE TRIGGER agents_routing_live_insert AFTER INSERT ON agents
BEGIN UPDATE routing_version SET live = live + 1 WHERE id = 1; END;
CREATE TRIGGER agents_routing_live_update AFTER UPDATE ON agents
BEGIN UPDATE routing_version SET live = live + 1 WHERE id = 1; END;
CREATE TRIGGER agents_routing_live_delete AFTER DELETE ON agents
BEGIN UPDATE routing_version SET live = live + 1 WHERE id = 1; END;
CREATE TRIGGER agent_skills_routing_live_insert AFTER INSERT ON agent_skills
BEGIN UPDATE routing_version SET live = live + 1 WHERE id = 1; END;
CREATE TRIGGER agent_skills_routing_live_update AFTER UPDATE ON agent_skills
BEGIN UPDATE routing_version SET live = live + 1 WHERE id = 1; END;
CREATE TRIGGER agent_skills_routing_live_delete AFTER DELETE ON agent_skills
BEGIN UPDATE routing_version SET live = live + 1 WHERE id = 1; END;
CREATE TRIGGER certifications_routing_config_insert AFTER INSERT ON certifications
BEGIN UPDATE routing_version SET config = config + 1 WHERE id = 1; END;
CREATE TRIGGER certifications_routing_config_update AFTER UPDATE ON certifications
BEGIN UPDATE routing_version SET config = config + 1 WHERE id = 1; END;
CREATE TRIGGER certifications_routing_config_delete AFTER DELETE ON certifications
BEGIN UPDATE routing_version SET config = config + 1 WHERE id = 1; END;
CREATE TRIGGER teams_routing_config_insert AFTER INSERT ON teams
BEGIN UPDATE routing_version SET config = config + 1 WHERE id = 1; END;
CREATE TRIGGER teams_routing_config_update AFTER UPDATE ON teams
BEGIN UPDATE routing_version SET config = config + 1 WHERE id = 1; END;
CREATE TRIGGER teams_routing_config_delete AFTER DELETE ON teams
BEGIN UPDATE routing_version SET config = config + 1 WHERE id = 1; END;
CREATE TRIGGER team_members_routing_config_insert AFTER INSERT ON team_members
BEGIN UPDATE routing_version SET config = config + 1 WHERE id = 1; END;
CREATE TRIGGER team_members_routing_config_update AFTER UPDATE ON team_members
BEGIN UPDATE routing_version SET config = config + 1 WHERE id = 1; END;
CREATE TRIGGER team_members_routing_config_delete AFTER DELETE ON team_members
BEGIN UPDATE routing_version SET config = config + 1 WHERE id = 1; END;
CREATE TRIGGER shifts_routing_config_insert AFTER INSERT ON shifts
BEGIN UPDATE routing_version SET config = config + 1 WHERE id = 1; END;
CREATE TRIGGER shifts_routing_config_update AFTER UPDATE ON shifts
BEGIN UPDATE routing_version SET config = config + 1 WHERE id = 1; END;
CREATE TRIGGER shifts_routing_config_delete AFTER DELETE ON shifts
BEGIN UPDATE routing_version SET config = config + 1 WHERE id = 1; END;
CREATE TRIGGER skills_routing_config_insert AFTER INSERT ON skills
BEGIN UPDATE routing_version SET config = config + 1 WHERE id = 1; END;
CREATE TRIGGER skills_routing_config_update AFTER UPDATE ON skills
BEGIN UPDATE routing_version SET config = config + 1 WHERE id = 1; END;
CREATE TRIGGER skills_routing_config_delete AFTER DELETE ON skills
BEGIN UPDATE routing_version SET config = config + 1 WHERE id = 1; END;

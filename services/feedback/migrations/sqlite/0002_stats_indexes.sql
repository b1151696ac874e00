-- GetFeedbackStats reads each fact table over a time range and groups it by region, channel,
-- team, agent and survey. These indexes hold every column those queries read, so each fact
-- is aggregated from its index alone (SQLite: a covering index search instead of one table
-- lookup per row; PostgreSQL: an index-only scan where the visibility map allows it) and
-- answers do not change.
CREATE INDEX responses_for_stats ON responses (
    create_time, region, channel, team, agent, survey_id, csat_score, nps_score, ces_score, id
);
CREATE INDEX invitations_for_stats ON invitations (
    send_time, region, channel, team, agent, survey_id, status
);
CREATE INDEX feedback_items_for_stats ON feedback_items (receive_time, region, channel, id);
CREATE INDEX follow_ups_for_stats ON follow_ups (
    original_due_time, region, channel, team, agent, survey_id, contact_time, on_time
);

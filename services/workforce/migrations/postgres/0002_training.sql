-- Training: courses, enrolments and graded assessments. `skills` of a course is JSON
-- `[{"skill": id, "level": n}]`; actors are JSON `{"kind": n, "id": "...", "name": "..."}`.

CREATE TABLE courses (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    title_key TEXT NOT NULL,
    description TEXT,
    skills TEXT NOT NULL,
    skill_ids TEXT NOT NULL,
    certification_code TEXT,
    certification_display_name TEXT,
    certification_validity BIGINT,
    completion BIGINT NOT NULL,
    pass_mark BIGINT NOT NULL,
    max_attempts BIGINT NOT NULL,
    state BIGINT NOT NULL,
    version BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);
CREATE INDEX courses_by_title ON courses (title_key, id);

CREATE TABLE enrolments (
    id TEXT PRIMARY KEY,
    course_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    status BIGINT NOT NULL,
    progress_percent BIGINT NOT NULL,
    due_time BIGINT,
    attempts BIGINT NOT NULL,
    best_score_percent DOUBLE PRECISION NOT NULL,
    certification_id TEXT,
    enrolled_by TEXT NOT NULL,
    finish_time BIGINT,
    version BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);
CREATE UNIQUE INDEX enrolments_open ON enrolments (course_id, agent_id) WHERE status IN (1, 2);
CREATE INDEX enrolments_by_course ON enrolments (course_id, create_time);
CREATE INDEX enrolments_by_agent ON enrolments (agent_id, create_time);

CREATE TABLE assessments (
    id TEXT PRIMARY KEY,
    enrolment_id TEXT NOT NULL,
    score BIGINT NOT NULL,
    max_score BIGINT NOT NULL,
    score_percent DOUBLE PRECISION NOT NULL,
    pass_mark BIGINT NOT NULL,
    passed BIGINT NOT NULL,
    attempt BIGINT NOT NULL,
    assessor TEXT NOT NULL,
    notes TEXT,
    submit_time BIGINT NOT NULL,
    UNIQUE (enrolment_id, attempt)
);

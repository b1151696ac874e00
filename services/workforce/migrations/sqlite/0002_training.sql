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
    certification_validity INTEGER,
    completion INTEGER NOT NULL,
    pass_mark INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    state INTEGER NOT NULL,
    version INTEGER NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL
);
CREATE INDEX courses_by_title ON courses (title_key, id);

CREATE TABLE enrolments (
    id TEXT PRIMARY KEY,
    course_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    status INTEGER NOT NULL,
    progress_percent INTEGER NOT NULL,
    due_time INTEGER,
    attempts INTEGER NOT NULL,
    best_score_percent REAL NOT NULL,
    certification_id TEXT,
    enrolled_by TEXT NOT NULL,
    finish_time INTEGER,
    version INTEGER NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL
);
CREATE UNIQUE INDEX enrolments_open ON enrolments (course_id, agent_id) WHERE status IN (1, 2);
CREATE INDEX enrolments_by_course ON enrolments (course_id, create_time);
CREATE INDEX enrolments_by_agent ON enrolments (agent_id, create_time);

CREATE TABLE assessments (
    id TEXT PRIMARY KEY,
    enrolment_id TEXT NOT NULL,
    score INTEGER NOT NULL,
    max_score INTEGER NOT NULL,
    score_percent REAL NOT NULL,
    pass_mark INTEGER NOT NULL,
    passed INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    assessor TEXT NOT NULL,
    notes TEXT,
    submit_time INTEGER NOT NULL,
    UNIQUE (enrolment_id, attempt)
);

-- The knowledge service: categories, articles with their versions and history, the index
-- sequence that feeds every replica's search index, idempotency keys, reader views and
-- ratings, the search log, content gaps and suggestion sets.
-- Times are UTC microseconds, ids UUIDv7 text, booleans 0/1, enums by their API number,
-- lists and maps as JSON text, scores in millionths.

CREATE TABLE categories (
    id TEXT PRIMARY KEY,
    parent_id TEXT,
    display_names TEXT NOT NULL,
    descriptions TEXT NOT NULL,
    display_order BIGINT NOT NULL,
    version BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);
CREATE INDEX categories_parent ON categories (parent_id);

CREATE TABLE articles (
    id TEXT PRIMARY KEY,
    kind BIGINT NOT NULL,
    visibility BIGINT NOT NULL,
    category_id TEXT,
    product_lines TEXT NOT NULL,
    tags TEXT NOT NULL,
    reviewers TEXT NOT NULL,
    default_language TEXT NOT NULL,
    state BIGINT NOT NULL,
    live BIGINT NOT NULL,
    author TEXT NOT NULL,
    last_review TEXT,
    version BIGINT NOT NULL,
    view_count BIGINT NOT NULL,
    helpful_count BIGINT NOT NULL,
    not_helpful_count BIGINT NOT NULL,
    index_seq BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    publish_time BIGINT,
    archive_time BIGINT
);
CREATE INDEX articles_index_seq ON articles (index_seq);
CREATE INDEX articles_create_time ON articles (create_time, id);
CREATE INDEX articles_category ON articles (category_id);

CREATE TABLE article_versions (
    id TEXT PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    number BIGINT NOT NULL,
    language TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    change_note TEXT NOT NULL,
    source_version TEXT,
    author TEXT NOT NULL,
    published BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    UNIQUE (article_id, number)
);

CREATE TABLE article_history (
    id TEXT PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    detail TEXT NOT NULL,
    time BIGINT NOT NULL
);
CREATE INDEX article_history_article ON article_history (article_id, time);

CREATE TABLE article_publications (
    id TEXT PRIMARY KEY,
    article_id TEXT NOT NULL,
    time BIGINT NOT NULL
);
CREATE INDEX article_publications_time ON article_publications (time);

CREATE TABLE index_sequence (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL
);
INSERT INTO index_sequence (id, seq) VALUES (1, 0);

CREATE TABLE idempotency_keys (
    subject TEXT NOT NULL,
    method TEXT NOT NULL,
    parent TEXT NOT NULL,
    request_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    resource TEXT NOT NULL,
    create_time BIGINT NOT NULL,
    PRIMARY KEY (subject, method, parent, request_id)
);

CREATE TABLE article_views (
    id TEXT PRIMARY KEY,
    article_id TEXT NOT NULL,
    language TEXT NOT NULL,
    time BIGINT NOT NULL
);
CREATE INDEX article_views_time ON article_views (time);

CREATE TABLE article_ratings (
    id TEXT PRIMARY KEY,
    article_id TEXT NOT NULL,
    rater_key TEXT NOT NULL,
    rater TEXT NOT NULL,
    helpfulness BIGINT NOT NULL,
    comment TEXT NOT NULL,
    language TEXT NOT NULL,
    version_id TEXT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    UNIQUE (article_id, rater_key)
);
CREATE INDEX article_ratings_update_time ON article_ratings (update_time, id);

CREATE TABLE searches (
    id TEXT PRIMARY KEY,
    time BIGINT NOT NULL,
    query TEXT NOT NULL,
    normalized_query TEXT NOT NULL,
    language TEXT NOT NULL,
    product_line TEXT NOT NULL,
    category TEXT NOT NULL,
    result_count BIGINT NOT NULL,
    actor_subject TEXT NOT NULL
);
CREATE INDEX searches_time ON searches (time);

CREATE TABLE content_gaps (
    id TEXT PRIMARY KEY,
    normalized_query TEXT NOT NULL,
    language TEXT NOT NULL,
    sample_queries TEXT NOT NULL,
    search_count BIGINT NOT NULL,
    product_lines TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    state BIGINT NOT NULL,
    resolving_article TEXT,
    note TEXT NOT NULL,
    resolver TEXT,
    resolve_time BIGINT,
    version BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    UNIQUE (normalized_query, language)
);

CREATE TABLE suggestion_sets (
    id TEXT PRIMARY KEY,
    time BIGINT NOT NULL,
    language TEXT NOT NULL,
    product_line TEXT NOT NULL,
    channel BIGINT NOT NULL,
    customer TEXT NOT NULL,
    ticket TEXT NOT NULL,
    actor_subject TEXT NOT NULL,
    outcome BIGINT NOT NULL,
    outcome_time BIGINT,
    outcome_article TEXT,
    outcome_ticket TEXT
);
CREATE INDEX suggestion_sets_time ON suggestion_sets (time);

CREATE TABLE suggestion_items (
    set_id TEXT NOT NULL REFERENCES suggestion_sets (id) ON DELETE CASCADE,
    rank BIGINT NOT NULL,
    article_id TEXT NOT NULL,
    version_id TEXT NOT NULL,
    score_millionths BIGINT NOT NULL,
    PRIMARY KEY (set_id, rank)
);
CREATE INDEX suggestion_items_article ON suggestion_items (article_id);

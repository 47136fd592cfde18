-- Task state machine: one row per (function, idempotency key).
CREATE TYPE task_status AS ENUM ('pending', 'running', 'completed', 'dead');

CREATE TABLE tasks (
    function         text        NOT NULL,
    key              text        NOT NULL,
    payload_hash     bytea       NOT NULL,
    payload          jsonb       NOT NULL,
    status           task_status NOT NULL,
    attempts         integer     NOT NULL DEFAULT 0,
    fencing_token    bigint      NOT NULL DEFAULT 0,
    lease_expires_at timestamptz,
    last_error       text,
    result           jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz,
    PRIMARY KEY (function, key)
);

CREATE INDEX tasks_expired_leases ON tasks (lease_expires_at) WHERE status = 'running';

-- Permanent failures and exhausted retries, with everything needed to
-- understand and replay them. `key` and `payload` are null when the request
-- never parsed into a task.
CREATE TABLE dead_letters (
    id          bigserial   PRIMARY KEY,
    function    text        NOT NULL,
    key         text,
    payload     jsonb,
    raw_body    text,
    reason      text        NOT NULL,
    error_kind  text        NOT NULL,
    attempts    integer     NOT NULL DEFAULT 0,
    last_error  text,
    delivery    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    trace_id    text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX dead_letters_by_key ON dead_letters (function, key);

-- Transactional outbox: messages written in the same transaction as the
-- state change that caused them, sent afterwards by a relay.
-- kind 'pubsub': target is a topic id; kind 'cloud_tasks': target is a queue.
CREATE TABLE outbox (
    id              bigserial   PRIMARY KEY,
    kind            text        NOT NULL CHECK (kind IN ('pubsub', 'cloud_tasks')),
    target          text        NOT NULL,
    dedup_key       text        NOT NULL,
    payload         jsonb       NOT NULL,
    attributes      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    UNIQUE (kind, target, dedup_key)
);

CREATE INDEX outbox_unsent ON outbox (next_attempt_at) WHERE sent_at IS NULL;

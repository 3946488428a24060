-- Raw activity events, partitioned by day on ts; partitions are created on demand by the
-- stream consumer (shared.db.events.ensure_partitions) and ahead of time by maintenance.
CREATE TABLE activity_events (
    ts               timestamptz NOT NULL,
    event_id         uuid        NOT NULL,
    tenant_id        text        NOT NULL,
    employee_id      text        NOT NULL,
    device_id        text        NOT NULL,
    type             text        NOT NULL CHECK (type IN ('app_focus', 'idle', 'url_visit', 'input_activity', 'heartbeat')),
    duration_ms      integer     NOT NULL CHECK (duration_ms BETWEEN 0 AND 86400000),
    app              text,
    domain           text,
    window_title_enc bytea,
    url_enc          bytea,
    key_count        bigint CHECK (key_count >= 0),
    mouse_count      bigint CHECK (mouse_count >= 0),
    agent_version    text,
    received_at      timestamptz NOT NULL,
    stored_at        timestamptz NOT NULL DEFAULT now(),
    -- event_id is unique per event; the partition key must be part of any unique key.
    PRIMARY KEY (ts, event_id)
) PARTITION BY RANGE (ts);

CREATE INDEX activity_events_subject_ts ON activity_events (tenant_id, employee_id, ts);

COMMENT ON COLUMN activity_events.window_title_enc IS 'AES-256-GCM with the subject data key; AAD = tenant, employee, event_id, field';
COMMENT ON COLUMN activity_events.url_enc IS 'full URL, AES-256-GCM with the subject data key; domain is kept in clear for analytics';

-- Hourly rollup, maintained only from rows actually inserted (so redelivery changes nothing).
CREATE TABLE activity_hourly (
    tenant_id   text        NOT NULL,
    employee_id text        NOT NULL,
    hour        timestamptz NOT NULL,
    type        text        NOT NULL,
    app         text        NOT NULL DEFAULT '',
    domain      text        NOT NULL DEFAULT '',
    event_count bigint      NOT NULL,
    duration_ms bigint      NOT NULL,
    key_count   bigint      NOT NULL DEFAULT 0,
    mouse_count bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, employee_id, hour, type, app, domain)
);

CREATE INDEX activity_hourly_tenant_hour ON activity_hourly (tenant_id, hour);

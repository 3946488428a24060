-- Analytics: versioned productivity rules and the daily rollups the analytics API answers from.
--
-- The stream consumer marks each (employee, day) it stores events for in activity_dirty; the
-- analytics_rollup job rebuilds those days from the raw events (idle excluded, time split by app
-- and by the URL domain it was spent on, categorised with the tenant's applied rules version) and
-- then the per-team and per-tenant day totals. A new rules version is applied to all past rows by the same
-- job in one transaction per tenant, so no answer ever mixes two versions.

-- Milliseconds covered by a multirange.
CREATE FUNCTION mr_ms(m tstzmultirange) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (SELECT coalesce(sum(extract(epoch FROM upper(x) - lower(x)) * 1000), 0)::bigint FROM unnest(m) AS x);

-- Every version of a tenant's rules, whole (tenant rules and team overrides); never changed.
CREATE TABLE productivity_rule_sets (
    tenant_id  text        NOT NULL,
    version    integer     NOT NULL CHECK (version >= 1),
    rules      jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text        NOT NULL,
    PRIMARY KEY (tenant_id, version)
);

-- The newest version, and the version every rollup row of the tenant is categorised with now.
-- A tenant without a row has no rules (version 0: everything neutral).
CREATE TABLE productivity_rules_state (
    tenant_id       text        PRIMARY KEY,
    current_version integer     NOT NULL CHECK (current_version >= 0),
    applied_version integer     NOT NULL DEFAULT 0 CHECK (applied_version <= current_version),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    applied_at      timestamptz
);

-- (employee, day) pairs whose raw events changed since their rollup was built.
CREATE TABLE activity_dirty (
    tenant_id   text        NOT NULL,
    employee_id text        NOT NULL,
    day         date        NOT NULL,
    marked_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, employee_id, day)
);
CREATE INDEX activity_dirty_marked ON activity_dirty (marked_at);

-- Per employee and UTC day: active time (focus minus idle) per app, split by the URL domain it
-- was spent on ('' = no URL reported), and the idle time inside the app's focus.
CREATE TABLE activity_daily (
    tenant_id     text    NOT NULL,
    employee_id   text    NOT NULL,
    day           date    NOT NULL,
    app           text    NOT NULL,
    domain        text    NOT NULL,
    category      text    NOT NULL CHECK (category IN ('productive', 'neutral', 'unproductive')),
    rules_version integer NOT NULL,
    active_ms     bigint  NOT NULL CHECK (active_ms >= 0),
    idle_ms       bigint  NOT NULL CHECK (idle_ms >= 0),
    PRIMARY KEY (tenant_id, employee_id, day, app, domain)
);

-- Per tenant, UTC day and app: active time summed over every employee (tenant top apps).
CREATE TABLE activity_tenant_daily (
    tenant_id text   NOT NULL,
    day       date   NOT NULL,
    app       text   NOT NULL,
    active_ms bigint NOT NULL,
    employees integer NOT NULL,
    PRIMARY KEY (tenant_id, day, app)
);

-- Per team, UTC day, app and category: the sums over the team's members (a team's days and top
-- apps answer from ~1,000 rows a month instead of ~30,000). Members are the employees in the team
-- when the day was rolled up.
CREATE TABLE activity_team_daily (
    tenant_id     text    NOT NULL,
    team_id       text    NOT NULL,
    day           date    NOT NULL,
    app           text    NOT NULL,
    category      text    NOT NULL,
    rules_version integer NOT NULL,
    active_ms     bigint  NOT NULL,
    idle_ms       bigint  NOT NULL,
    employees     integer NOT NULL,
    PRIMARY KEY (tenant_id, team_id, day, app, category)
);

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wm_analytics_rollup') THEN
        CREATE ROLE wm_analytics_rollup LOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO wm_analytics_rollup;
-- The consumer only marks days.
GRANT SELECT, INSERT ON activity_dirty TO wm_ingest;
-- The API reads rollups and adds rule versions; it never reads raw events.
GRANT SELECT ON activity_daily, activity_team_daily, activity_tenant_daily, teams TO wm_analytics;
GRANT SELECT, INSERT ON productivity_rule_sets TO wm_analytics;
GRANT SELECT, INSERT, UPDATE ON productivity_rules_state TO wm_analytics;
-- The rollup job reads raw events and the directory, and owns the rollups' contents.
GRANT SELECT ON activity_events, employees, productivity_rule_sets TO wm_analytics_rollup;
GRANT SELECT, UPDATE ON productivity_rules_state TO wm_analytics_rollup;
-- (SELECT ... FOR UPDATE SKIP LOCKED claims days, which needs UPDATE.)
GRANT SELECT, UPDATE, DELETE ON activity_dirty TO wm_analytics_rollup;
GRANT SELECT, INSERT, UPDATE, DELETE ON activity_daily, activity_team_daily, activity_tenant_daily TO wm_analytics_rollup;

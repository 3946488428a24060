-- The people's directory: teams, who manages them, employees, and time-bound access grants.
-- Every table leads with tenant_id and every query filters by it. Ids are text (UUIDs made
-- here, or Cognito subs for users) so a malformed id is simply not found, never a cast error.
CREATE TABLE teams (
    tenant_id  text        NOT NULL,
    team_id    text        NOT NULL DEFAULT gen_random_uuid()::text,
    name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text        NOT NULL,
    PRIMARY KEY (tenant_id, team_id)
);
CREATE UNIQUE INDEX teams_tenant_name ON teams (tenant_id, lower(name));

-- Managers are Cognito users (their immutable sub); a manager need not be an employee.
CREATE TABLE team_managers (
    tenant_id       text NOT NULL,
    team_id         text NOT NULL,
    manager_user_id text NOT NULL,
    PRIMARY KEY (tenant_id, team_id, manager_user_id),
    FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, team_id) ON DELETE CASCADE
);
CREATE INDEX team_managers_by_user ON team_managers (tenant_id, manager_user_id);

CREATE TABLE employees (
    tenant_id    text        NOT NULL,
    employee_id  text        NOT NULL DEFAULT gen_random_uuid()::text,
    email        text        NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
    display_name text        NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    team_id      text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text        NOT NULL,
    PRIMARY KEY (tenant_id, employee_id),
    FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, team_id)
);
CREATE UNIQUE INDEX employees_tenant_email ON employees (tenant_id, lower(email));
CREATE INDEX employees_by_team ON employees (tenant_id, team_id);

-- Time-bound grants (auditors): valid while not_before <= now < not_after and not revoked.
CREATE TABLE access_grants (
    tenant_id  text        NOT NULL,
    grant_id   text        NOT NULL DEFAULT gen_random_uuid()::text,
    user_id    text        NOT NULL,
    role       text        NOT NULL CHECK (role IN ('auditor')),
    not_before timestamptz NOT NULL,
    not_after  timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text        NOT NULL,
    revoked_at timestamptz,
    PRIMARY KEY (tenant_id, grant_id),
    CHECK (not_after > not_before)
);
CREATE INDEX access_grants_by_user ON access_grants (tenant_id, user_id, role, not_after);

-- Least privilege. In Aurora the roles exist already (db_migrate's bootstrap creates them with
-- rds_iam); locally and in tests they are created here.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wm_directory') THEN
        CREATE ROLE wm_directory LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wm_consent') THEN
        CREATE ROLE wm_consent LOGIN;
    END IF;
    -- Every admin function answers its scope questions through shared.auth.directory.
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wm_audit') THEN
        CREATE ROLE wm_audit LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wm_analytics') THEN
        CREATE ROLE wm_analytics LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wm_reporting') THEN
        CREATE ROLE wm_reporting LOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO wm_directory, wm_consent, wm_audit, wm_analytics, wm_reporting;
-- The directory adds teams, managers, employees and grants; nothing is updated or deleted yet.
GRANT SELECT, INSERT ON teams, team_managers, employees, access_grants TO wm_directory;
-- The other admin functions only answer scope questions (whose team, who manages it, valid grants).
GRANT SELECT ON employees, team_managers, access_grants TO wm_consent, wm_audit, wm_analytics, wm_reporting;

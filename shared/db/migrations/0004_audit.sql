-- Audit log: one hash chain per tenant, append-only (shared/audit/__init__.py explains the design).
--
-- hash = SHA-256(canonical entry || prev_hash) (format documented in shared/audit/canonical.py).
-- The function roles append only through audit_append (SECURITY DEFINER: lock, head, pseudonym,
-- hash, insert); only the audit functions may SELECT; none may INSERT, UPDATE or DELETE directly. A trigger rejects
-- UPDATE, DELETE and TRUNCATE even for the owner, and another re-checks every link (gap-free
-- seq, prev_hash = predecessor's hash). Whether anyone changed the log anyway (a superuser, a
-- restored backup) is what the verifier proves, against the KMS-signed checkpoints.
CREATE TABLE audit_log (
    tenant_id   text        NOT NULL,
    seq         bigint      NOT NULL CHECK (seq >= 1),
    format      smallint    NOT NULL,
    ts          timestamptz NOT NULL,
    actor_type  text        NOT NULL,
    actor_id    text        NOT NULL,
    action      text        NOT NULL,
    resource    text        NOT NULL,
    subject_ref uuid,
    purpose     text        NOT NULL,
    outcome     text        NOT NULL,
    request_id  text        NOT NULL,
    detail_enc  bytea,
    prev_hash   bytea       NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash        bytea       NOT NULL CHECK (octet_length(hash) = 32),
    PRIMARY KEY (tenant_id, seq)
);

CREATE INDEX audit_log_tenant_subject ON audit_log (tenant_id, subject_ref, ts) WHERE subject_ref IS NOT NULL;
CREATE INDEX audit_log_tenant_ts ON audit_log (tenant_id, ts);

COMMENT ON TABLE audit_log IS 'tamper-evident access log: hash chain per tenant; insert-only';
COMMENT ON COLUMN audit_log.subject_ref IS 'pseudonym of the subject employee (audit_subjects); deleting the mapping at purge leaves it unlinkable';
COMMENT ON COLUMN audit_log.detail_enc IS 'optional free text, AES-256-GCM under the subject data key; the hash covers the ciphertext';

-- The pseudonym directory: NOT part of the chain, so a purge can delete a subject's row and
-- every entry about them keeps verifying while no longer naming anyone.
CREATE TABLE audit_subjects (
    tenant_id   text        NOT NULL,
    employee_id text        NOT NULL,
    subject_ref uuid        NOT NULL DEFAULT gen_random_uuid(),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, employee_id),
    UNIQUE (tenant_id, subject_ref)
);

CREATE FUNCTION audit_log_reject_change() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_reject_change();

CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_reject_change();

-- A writer that skipped the advisory lock, or read a stale head, gets an error instead of a fork
-- or a gap. (The primary key alone already refuses two entries with the same seq.)
CREATE FUNCTION audit_log_check_link() RETURNS trigger
    LANGUAGE plpgsql
AS $$
DECLARE
    head_seq  bigint;
    head_hash bytea;
BEGIN
    SELECT seq, hash INTO head_seq, head_hash
    FROM audit_log WHERE tenant_id = NEW.tenant_id ORDER BY seq DESC LIMIT 1;
    IF head_seq IS NULL THEN
        head_seq := 0;
        head_hash := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
    END IF;
    IF NEW.seq <> head_seq + 1 OR NEW.prev_hash <> head_hash THEN
        RAISE EXCEPTION 'audit_log chain of tenant % would fork or have a gap (head %, new %)',
            NEW.tenant_id, head_seq, NEW.seq
            USING ERRCODE = 'serialization_failure';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_log_link
    BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_check_link();

-- The only way the application writes the log. SECURITY DEFINER: the function roles may call it
-- but may not INSERT into audit_log themselves, so every entry they add gets its seq, prev_hash
-- and hash from here. Per call: lock every chain touched (tenant order: no deadlocks), held to
-- the end of the CALLER'S transaction; then per entry read the head (a fresh snapshot per
-- statement, so the previous writer's commit is seen), resolve the subject's pseudonym, hash
-- the canonical form (shared/audit/canonical.py documents it; the Python verifier recomputes it
-- independently) and insert. Arrays in, one row out per entry, in input order.
CREATE FUNCTION audit_field(v bytea) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN v IS NULL THEN '\xffffffff'::bytea ELSE int4send(octet_length(v)) || v END $$;

CREATE FUNCTION audit_append(
    p_tenant text[], p_ts timestamptz[], p_actor_type text[], p_actor_id text[], p_action text[],
    p_resource text[], p_subject text[], p_purpose text[], p_outcome text[], p_request_id text[],
    p_detail_enc bytea[]
) RETURNS TABLE (r_tenant_id text, r_seq bigint, r_hash bytea)
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    t      text;
    i      integer;
    v_seq  bigint;
    v_prev bytea;
    v_ref  uuid;
    v_hash bytea;
BEGIN
    FOR t IN SELECT DISTINCT x FROM unnest(p_tenant) AS x ORDER BY x LOOP
        PERFORM pg_advisory_xact_lock(1096107092, hashtext(t));  -- 0x41554454 "AUDT"
    END LOOP;
    FOR i IN 1 .. coalesce(array_length(p_tenant, 1), 0) LOOP
        IF i = 1 OR p_tenant[i] IS DISTINCT FROM p_tenant[i - 1] THEN
            -- After the lock: this statement's snapshot includes the previous writer's commit
            -- (and this call's own earlier inserts, so interleaved tenants are fine too).
            SELECT a.seq, a.hash INTO v_seq, v_prev
            FROM audit_log a WHERE a.tenant_id = p_tenant[i] ORDER BY a.seq DESC LIMIT 1;
            IF NOT FOUND THEN
                v_seq := 0;
                v_prev := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
            END IF;
        ELSE  -- the same chain as the entry just inserted: that entry is the head
            v_prev := v_hash;
        END IF;
        v_seq := v_seq + 1;
        IF p_subject[i] IS NULL THEN
            v_ref := NULL;
        ELSIF i > 1 AND p_tenant[i] = p_tenant[i - 1] AND p_subject[i] = p_subject[i - 1] THEN
            NULL;  -- the same subject as the entry just inserted: v_ref holds its pseudonym
        ELSE
            SELECT s.subject_ref INTO v_ref
            FROM audit_subjects s WHERE s.tenant_id = p_tenant[i] AND s.employee_id = p_subject[i];
            IF NOT FOUND THEN
                INSERT INTO audit_subjects (tenant_id, employee_id) VALUES (p_tenant[i], p_subject[i])
                ON CONFLICT (tenant_id, employee_id) DO NOTHING
                RETURNING subject_ref INTO v_ref;
                IF v_ref IS NULL THEN  -- a concurrent first writer won; its row is visible now
                    SELECT s.subject_ref INTO STRICT v_ref
                    FROM audit_subjects s WHERE s.tenant_id = p_tenant[i] AND s.employee_id = p_subject[i];
                END IF;
            END IF;
        END IF;
        v_hash := sha256(
            '\x574d415544495401'::bytea  -- "WMAUDIT" || format 1
            || audit_field(convert_to(p_tenant[i], 'UTF8'))
            || audit_field(convert_to(v_seq::text, 'UTF8'))
            || audit_field(convert_to(to_char(p_ts[i] AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'UTF8'))
            || audit_field(convert_to(p_actor_type[i], 'UTF8'))
            || audit_field(convert_to(p_actor_id[i], 'UTF8'))
            || audit_field(convert_to(p_action[i], 'UTF8'))
            || audit_field(convert_to(p_resource[i], 'UTF8'))
            || audit_field(uuid_send(v_ref))
            || audit_field(convert_to(p_purpose[i], 'UTF8'))
            || audit_field(convert_to(p_outcome[i], 'UTF8'))
            || audit_field(convert_to(p_request_id[i], 'UTF8'))
            || audit_field(p_detail_enc[i])
            || v_prev
        );
        INSERT INTO audit_log (tenant_id, seq, format, ts, actor_type, actor_id, action, resource, subject_ref,
                               purpose, outcome, request_id, detail_enc, prev_hash, hash)
        VALUES (p_tenant[i], v_seq, 1, p_ts[i], p_actor_type[i], p_actor_id[i], p_action[i], p_resource[i], v_ref,
                p_purpose[i], p_outcome[i], p_request_id[i], p_detail_enc[i], v_prev, v_hash);
        r_tenant_id := p_tenant[i];
        r_seq := v_seq;
        r_hash := v_hash;
        RETURN NEXT;
    END LOOP;
END
$$;

-- Roles: each function signs in as its own role (infra_cdk.constants.FUNCTIONS[...].db_user).
-- In Aurora db_migrate's bootstrap creates them with rds_iam; locally and in tests, here.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['wm_audit', 'wm_audit_checkpoint', 'wm_directory', 'wm_consent',
                             'wm_analytics', 'wm_reporting', 'wm_purge'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I LOGIN', r);
        END IF;
    END LOOP;
END
$$;

REVOKE ALL ON audit_log, audit_subjects FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_append(text[], timestamptz[], text[], text[], text[], text[], text[], text[], text[],
    text[], bytea[]) FROM PUBLIC;

GRANT USAGE ON SCHEMA public TO wm_audit, wm_audit_checkpoint, wm_directory, wm_consent, wm_analytics,
    wm_reporting, wm_purge;
-- Functions that read or change personal data record their accesses through audit_append; none
-- may INSERT, UPDATE or DELETE the log directly, and only the audit functions read it (who
-- looked at whom is itself personal data).
GRANT EXECUTE ON FUNCTION audit_append(text[], timestamptz[], text[], text[], text[], text[], text[], text[],
    text[], text[], bytea[]) TO wm_audit, wm_directory, wm_consent, wm_analytics, wm_reporting, wm_purge;
GRANT SELECT ON audit_log TO wm_audit, wm_audit_checkpoint;
-- The audit API shows subjects (its own access log, auditors' queries); the purge removes a
-- subject's pseudonym, and nothing of the chain.
GRANT SELECT ON audit_subjects TO wm_audit, wm_purge;
GRANT DELETE ON audit_subjects TO wm_purge;

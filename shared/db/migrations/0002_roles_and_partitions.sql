-- Least privilege for the stream consumer: it may read and add events and rollups, never
-- change or delete an event, and create daily partitions only through a function owned by
-- the schema owner (creating a partition otherwise needs ownership of activity_events).
-- In Aurora the role already exists (db_migrate's bootstrap creates it with rds_iam);
-- locally and in tests it is created here.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wm_ingest') THEN
        CREATE ROLE wm_ingest LOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO wm_ingest;
GRANT SELECT, INSERT ON activity_events TO wm_ingest;
GRANT SELECT, INSERT, UPDATE ON activity_hourly TO wm_ingest;

CREATE FUNCTION ensure_activity_partition(day date) RETURNS boolean
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    part text := format('activity_events_%s', to_char(day, 'YYYYMMDD'));
    lower_bound timestamptz := (day::timestamp AT TIME ZONE 'UTC');
BEGIN
    -- Serialise creators of the same day: IF NOT EXISTS alone still races on the catalog.
    PERFORM pg_advisory_xact_lock(hashtext(part));
    IF to_regclass(format('public.%I', part)) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format(
        'CREATE TABLE %I PARTITION OF activity_events FOR VALUES FROM (%L) TO (%L)',
        part, lower_bound, lower_bound + interval '1 day'
    );
    RETURN true;
END
$$;

REVOKE ALL ON FUNCTION ensure_activity_partition(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ensure_activity_partition(date) TO wm_ingest;

-- The stream consumer records, in the transaction that stores them, one audit entry per
-- employee whose events a batch stored (actor system:ingest_stream).
GRANT EXECUTE ON FUNCTION audit_append(text[], timestamptz[], text[], text[], text[], text[], text[], text[],
    text[], text[], bytea[]) TO wm_ingest;

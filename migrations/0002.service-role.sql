-- depends: 0001.events
-- The role the service runs as: it may read and append events, never change them.

DO $$
BEGIN
    CREATE ROLE target_ledger_app NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- another database of this cluster, or a concurrent migration, made it
END
$$;

DO $$
BEGIN
    EXECUTE format('GRANT target_ledger_app TO %I', current_user);
EXCEPTION WHEN insufficient_privilege OR invalid_grant_operation THEN
    NULL;  -- a superuser may SET ROLE anyway
END
$$;

GRANT USAGE ON SCHEMA public TO target_ledger_app;
REVOKE ALL ON events FROM target_ledger_app;
GRANT SELECT, INSERT ON events TO target_ledger_app;

-- The rights metakv needs day to day on PostgreSQL, and nothing more: run once, as the owner of
-- the objects, after `metakv provision` created them (provisioning itself needs CREATE on the
-- schema, or on the database for a new schema). The role then serves every operation; it
-- cannot create, alter or drop anything.
--
--   psql -v role=metakv_app -v schema=public -v table=metakv \
--        -v sequence=metakv_version -v migrations=metakv_migrations -f postgres.sql
--
-- (`sequence` and `migrations` are the table's name followed by `_version` and `_migrations`.)
-- kv-postgres's least-privilege conformance suite runs every behaviour as a role given exactly
-- these statements.

GRANT USAGE ON SCHEMA :"schema" TO :"role";
-- The entries.
GRANT SELECT, INSERT, UPDATE, DELETE ON :"schema".:"table" TO :"role";
-- Versions come from this sequence (nextval).
GRANT USAGE ON SEQUENCE :"schema".:"sequence" TO :"role";
-- Opening checks the schema version recorded here.
GRANT SELECT ON :"schema".:"migrations" TO :"role";

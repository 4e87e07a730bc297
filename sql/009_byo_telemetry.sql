-- Bring-your-own telemetry (issue 17). Only the minimum contract stays NOT NULL: interaction_id, session_id,
-- timestamp_utc, is_failure and failure_type on interactions; the keys on the summaries (a placeholder row
-- holds only its key until the summaries are derived from the interactions, in the same ingest). An interaction may reference an unknown user (NULL user_id) or prompt (NULL
-- prompt_id); sessions it references are derived from it when no sessions file names them. Rows carry their
-- project, and unknown source columns are kept in `extra` (JSONB). Existing rows migrate in place.
DO $$
DECLARE c record;
BEGIN
    FOR c IN
        SELECT table_name, column_name FROM information_schema.columns
        WHERE table_schema = current_schema() AND is_nullable = 'NO'
          AND table_name IN ('interactions', 'sessions', 'users', 'prompts')
          AND (table_name, column_name) NOT IN (
              ('interactions', 'interaction_id'), ('interactions', 'session_id'),
              ('interactions', 'timestamp_utc'), ('interactions', 'is_failure'), ('interactions', 'failure_type'),
              ('sessions', 'session_id'), ('users', 'user_id'), ('prompts', 'prompt_id'))
    LOOP
        EXECUTE format('ALTER TABLE %I ALTER COLUMN %I DROP NOT NULL', c.table_name, c.column_name);
    END LOOP;
END $$;

ALTER TABLE interactions ADD COLUMN IF NOT EXISTS project text NOT NULL DEFAULT 'default';
ALTER TABLE interactions ADD COLUMN IF NOT EXISTS extra jsonb;
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS project text NOT NULL DEFAULT 'default';
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS extra jsonb;
ALTER TABLE users ADD COLUMN IF NOT EXISTS project text NOT NULL DEFAULT 'default';
ALTER TABLE users ADD COLUMN IF NOT EXISTS extra jsonb;
ALTER TABLE prompts ADD COLUMN IF NOT EXISTS project text NOT NULL DEFAULT 'default';
ALTER TABLE prompts ADD COLUMN IF NOT EXISTS extra jsonb;
ALTER TABLE sft_samples ADD COLUMN IF NOT EXISTS project text NOT NULL DEFAULT 'default';
ALTER TABLE sft_samples ADD COLUMN IF NOT EXISTS extra jsonb;
-- 'file': the summary values came from a summary file (kept; derivation only fills its gaps and checks it);
-- 'derived': a placeholder made for an unknown key, whose values are re-derived whenever its interactions change.
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS summary_source text NOT NULL DEFAULT 'file';
ALTER TABLE users ADD COLUMN IF NOT EXISTS summary_source text NOT NULL DEFAULT 'file';
-- a session whose interactions changed since its summary was derived (the receiver derives them in the
-- background, off the request path)
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS summary_stale boolean NOT NULL DEFAULT false;
CREATE INDEX IF NOT EXISTS sessions_stale ON sessions (project) WHERE summary_stale;
CREATE INDEX IF NOT EXISTS interactions_project_time ON interactions (project, timestamp_utc);

ALTER TABLE ingest_runs ADD COLUMN IF NOT EXISTS project text NOT NULL DEFAULT 'default';
-- a quarantined span names its id here (a file row keeps row_number)
ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS record_id text;
ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS project text NOT NULL DEFAULT 'default';

-- Per-project API keys for the OTLP receiver: only a SHA-256 of the secret is stored.
CREATE TABLE IF NOT EXISTS api_keys (
    key_id     text PRIMARY KEY,
    project    text        NOT NULL,
    key_sha256 text        NOT NULL UNIQUE,
    label      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

-- The version of each project's telemetry: bumped by every ingest, trace batch or embedding run that changes
-- rows, so cached analytics are reused exactly while the data they read is unchanged.
CREATE TABLE IF NOT EXISTS telemetry_versions (
    project    text PRIMARY KEY,
    version    bigint      NOT NULL DEFAULT 0,
    changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO telemetry_versions (project, version)
    SELECT DISTINCT project, 1 FROM interactions ON CONFLICT DO NOTHING;

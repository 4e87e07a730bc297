-- Every ingestion run and the rows it refused, with the file, row and column that was wrong.
CREATE TABLE IF NOT EXISTS ingest_runs (
    ingest_id   text PRIMARY KEY,
    source_dir  text        NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status      text        NOT NULL DEFAULT 'running',
    summary     jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE TABLE IF NOT EXISTS quarantine (
    id          bigserial PRIMARY KEY,
    ingest_id   text        NOT NULL,
    table_name  text        NOT NULL,
    file        text        NOT NULL,
    row_number  bigint      NOT NULL,
    column_name text,
    reason      text        NOT NULL,
    raw         jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS quarantine_ingest ON quarantine (ingest_id);

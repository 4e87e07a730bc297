-- Evaluation lifecycle: projects, the runs of each stage, and the audit of every gate decision.
CREATE TABLE IF NOT EXISTS projects (
    project_id   text PRIMARY KEY,
    name         text        NOT NULL,
    target_agent text,
    automation   jsonb       NOT NULL DEFAULT '{"enabled": false}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS stage_runs (
    id            bigserial PRIMARY KEY,
    project_id    text        NOT NULL REFERENCES projects (project_id),
    thread_id     text        NOT NULL,
    stage         text        NOT NULL,
    status        text        NOT NULL,
    mlflow_run_id text,
    summary       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz
);
CREATE INDEX IF NOT EXISTS stage_runs_thread ON stage_runs (thread_id, stage);
CREATE TABLE IF NOT EXISTS approvals_audit (
    id            bigserial PRIMARY KEY,
    thread_id     text        NOT NULL,
    project_id    text,
    stage_from    text        NOT NULL,
    stage_to      text        NOT NULL,
    decision      text        NOT NULL CHECK (decision IN ('approve', 'reject', 'revise')),
    approver      text        NOT NULL,
    comment       text        NOT NULL DEFAULT '',
    artifact_ids  jsonb       NOT NULL DEFAULT '[]'::jsonb,
    automatic     boolean     NOT NULL DEFAULT false,
    justification text,
    decision_key  text UNIQUE,
    decided_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS approvals_thread ON approvals_audit (thread_id, decided_at);

-- The judge's review queue (issue 18): every trace the judge was unsure about (verdict "uncertain") waits here,
-- with the judgment and what was judged (scenario and trace), until a person labels it pass or fail. Labels are
-- kept per project and feed `opsgraph judge align`.
CREATE TABLE IF NOT EXISTS judge_reviews (
    review_id bigserial PRIMARY KEY,
    project_id text NOT NULL,
    run_id text NOT NULL,
    scenario_id text NOT NULL,
    seed integer NOT NULL,
    agent text NOT NULL,
    judgment jsonb NOT NULL,
    item jsonb NOT NULL,
    label boolean,
    comment text,
    labelled_by text,
    labelled_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, run_id, scenario_id, seed, agent)
);
CREATE INDEX IF NOT EXISTS judge_reviews_pending ON judge_reviews (project_id) WHERE label IS NULL;

-- A project's judge alignment (`opsgraph judge align`): the learned calibration and its cross-validated report.
CREATE TABLE IF NOT EXISTS judge_alignments (
    project_id text PRIMARY KEY,
    alignment jsonb NOT NULL,
    report jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Analytics runs (clustering + profiling + ranking + projection) and each interaction's cluster and map position.
-- Written by tools/analytics_run.py; the latest row of analytics_runs is what the agents' tools read.
CREATE TABLE IF NOT EXISTS analytics_runs (
    run_id     text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    method     text        NOT NULL,
    k          int         NOT NULL,
    params     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    metadata   jsonb       NOT NULL DEFAULT '{}'::jsonb,
    out_dir    text
);
CREATE INDEX IF NOT EXISTS analytics_runs_created ON analytics_runs (created_at DESC);
CREATE TABLE IF NOT EXISTS interaction_clusters (
    run_id         text   NOT NULL REFERENCES analytics_runs (run_id) ON DELETE CASCADE,
    interaction_id text   NOT NULL,
    cluster_id     int    NOT NULL,
    x_pca          real,
    y_pca          real,
    x_umap         real,
    y_umap         real,
    PRIMARY KEY (run_id, interaction_id)
);
CREATE INDEX IF NOT EXISTS interaction_clusters_cluster ON interaction_clusters (run_id, cluster_id);

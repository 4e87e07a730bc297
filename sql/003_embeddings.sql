-- One embedding per interaction. The dimension follows the configured embedder ({{EMBEDDING_DIM}} is
-- substituted at migration time); core.migrate refuses to run when an existing table has another dimension.
CREATE TABLE IF NOT EXISTS log_embeddings (
    interaction_id text PRIMARY KEY,
    text           text        NOT NULL,
    content_hash   text        NOT NULL,
    model_name     text        NOT NULL,
    embedding      vector({{EMBEDDING_DIM}}) NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS log_embeddings_hnsw
    ON log_embeddings USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);
CREATE INDEX IF NOT EXISTS log_embeddings_hash ON log_embeddings (content_hash);

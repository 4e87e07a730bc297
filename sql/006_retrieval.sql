-- hnsw.ef_search chosen from a measured recall@10 against exact search, per embedder.
CREATE TABLE IF NOT EXISTS retrieval_tuning (
    embedder     text PRIMARY KEY,
    ef_search    int              NOT NULL,
    recall_at_10 double precision NOT NULL,
    n_vectors    bigint           NOT NULL,
    measured_at  timestamptz      NOT NULL DEFAULT now()
);

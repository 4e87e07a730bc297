-- pgvector for embeddings; pgcrypto-free (ids are produced by the application).
CREATE EXTENSION IF NOT EXISTS vector;

-- A read-only view of the stored interaction embeddings with the columns LangChain's PGVectorStore reads
-- (issue 20): the id, the text that was embedded (request and response), the vector, and the filter columns that
-- live on `interactions`. No data is copied: the HNSW index on log_embeddings serves its nearest-neighbour queries.
CREATE OR REPLACE VIEW interaction_vectors AS
SELECT e.interaction_id,
       concat_ws(' | ', i.request_text, i.response_text_snippet) AS content,
       e.embedding,
       i.project, i.model_name, i.failure_type, i.use_case, i.timestamp_utc, i.session_id, i.is_failure
FROM log_embeddings e
JOIN interactions i ON i.interaction_id = e.interaction_id;

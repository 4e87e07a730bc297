"""opsgraph's interaction embeddings as a LangChain ``VectorStore`` (langchain-postgres ``PGVectorStore``) over the
read-only view ``interaction_vectors``, so other LangChain code can retrieve from opsgraph's index.

Queries keep the raw path's settings: the tuned ``hnsw.ef_search``, the forced index scan (pgvector's cost model
would pick an exact scan on small tables) and strict-order iterative scans, so filtered searches still return k
rows. Filters are PGVectorStore's metadata filters on the view's columns, e.g. ``{"failure_type": "tool_error"}``
or ``{"project": {"$eq": "default"}}``."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_postgres import PGEngine, PGVectorStore
from langchain_postgres.v2.indexes import QueryOptions

VIEW = "interaction_vectors"
METADATA = ["project", "model_name", "failure_type", "use_case", "timestamp_utc", "session_id", "is_failure"]


@dataclass
class TunedScan(QueryOptions):
    """The raw path's scan settings, applied with ``SET LOCAL`` before each query."""

    ef_search: int = 40

    def to_parameter(self) -> list[str]:
        """The settings, one per ``SET LOCAL``."""
        return [f"hnsw.ef_search = {int(self.ef_search)}", "hnsw.iterative_scan = strict_order",
                "enable_seqscan = off"]

    def to_string(self) -> str:
        """The settings as one string."""
        return ", ".join(self.to_parameter())


def engine_for(url: str) -> PGEngine:
    """A PGEngine (SQLAlchemy, psycopg 3 driver) for a ``postgresql://`` URL."""
    sa_url = url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url
    return PGEngine.from_connection_string(sa_url)


def interaction_store(engine: PGEngine, ef_search: int | None = None) -> PGVectorStore:
    """The interaction embeddings as a PGVectorStore (documents: the embedded text, the view's columns as
    metadata, the interaction id as document id), queried with the tuned scan settings."""
    from core.providers import get_embeddings
    from services.retrieval import ef_search_for
    from services.telemetry import pooled

    if ef_search is None:
        with pooled() as conn:
            ef_search = ef_search_for(conn)
    return PGVectorStore.create_sync(engine, table_name=VIEW, embedding_service=get_embeddings(),
                                     id_column="interaction_id", content_column="content",
                                     embedding_column="embedding", metadata_columns=METADATA,
                                     metadata_json_column=None,  # type: ignore[arg-type]  # the view has none
                                     index_query_options=TunedScan(ef_search))


def close(engine: PGEngine) -> None:
    """Close the engine's connection pool."""
    engine._run_as_sync(engine.close())

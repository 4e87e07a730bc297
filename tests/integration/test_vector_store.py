"""opsgraph's index through LangChain: a retriever from the PGVectorStore over ``interaction_vectors`` returns the
same top-k ids as the raw SQL search on the sample data, with and without filters."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

QUERIES = ["the sql tool keeps failing with a timeout", "refund for a duplicate charge",
           "summarise this contract in three bullet points", "the answer invented facts about the product"]


@pytest.fixture(scope="module")
def store(sample_db, database):  # type: ignore[no-untyped-def]
    from services.vector_store import close, engine_for, interaction_store

    engine = engine_for(database.info.url)
    yield interaction_store(engine)
    close(engine)


@pytest.mark.parametrize("filters", [None, {"failure_type": "tool_error"}, {"model_name": "gpt-4o-mini",
                                                                            "use_case": "customer_support"}])
def test_the_langchain_retriever_matches_the_raw_search(store, filters) -> None:  # type: ignore[no-untyped-def]
    from services.retrieval import SearchFilters, search_similar
    from services.telemetry import pooled

    retriever = store.as_retriever(search_kwargs={"k": 10, "filter": filters})
    for query in QUERIES:
        docs = retriever.invoke(query)
        with pooled() as conn:
            raw = search_similar(conn, query, 10, SearchFilters(**(filters or {})))
        assert [d.id for d in docs] == [r["interaction_id"] for r in raw], query
        assert len(docs) == 10 and all(d.metadata["failure_type"] == filters["failure_type"] for d in docs) \
            if filters and "failure_type" in filters else len(docs) == 10

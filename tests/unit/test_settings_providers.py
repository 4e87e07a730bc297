"""Settings and provider selection."""

from __future__ import annotations

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from core.offline_llm import OfflineChatModel
from core.providers import ProviderError, embed_texts, embedder_spec, get_chat_model, llm_provider
from core.settings import Settings


def test_offline_without_key() -> None:
    s = Settings(_env_file=None)
    assert llm_provider(s) == "offline"
    assert isinstance(get_chat_model("failure", s), OfflineChatModel)
    assert embedder_spec(s).dim == 384


def test_key_selects_gemini_and_forcing_offline_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "test-key")
    assert llm_provider(Settings()) == "gemini"
    monkeypatch.setenv("OPSGRAPH_LLM_PROVIDER", "offline")
    assert llm_provider(Settings()) == "offline"


def test_gemini_without_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSGRAPH_LLM_PROVIDER", "gemini")
    with pytest.raises(ProviderError, match="GOOGLE_API_KEY"):
        llm_provider(Settings())
    monkeypatch.setenv("OPSGRAPH_EMBEDDINGS", "gemini")
    with pytest.raises(ProviderError, match="GOOGLE_API_KEY"):
        embedder_spec(Settings())


def test_gemini_embeddings_dimension_follows_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "k")
    monkeypatch.setenv("OPSGRAPH_EMBEDDINGS", "gemini")
    spec = embedder_spec(Settings())
    assert (spec.name, spec.dim) == ("gemini", 768)


def test_home_paths(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OPSGRAPH_HOME", str(tmp_path))
    s = Settings()
    assert s.pg_dir == tmp_path / "pg" and s.mlflow_dir == tmp_path / "mlflow"


class _CountingEmbeddings(Embeddings):
    """A deterministic embedder that counts how many texts it was asked to embed."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.texts.extend(texts)
        return [[float(len(t)), 1.0, float(sum(map(ord, t)) % 7)] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def test_a_query_is_embedded_once_and_cached_vectors_cannot_be_corrupted() -> None:
    emb = _CountingEmbeddings()
    first = embed_texts(["why do requests time out?"], emb)
    first[0, 0] = 999.0  # a caller mutating its result must not change what the cache returns
    again = embed_texts(["why do requests time out?"], emb)
    other = embed_texts(["which model costs the most?"], emb)
    batch = embed_texts(["a", "b"], emb)
    assert emb.texts == ["why do requests time out?", "which model costs the most?", "a", "b"]
    assert again[0, 0] != 999.0 and abs(float(np.linalg.norm(again[0])) - 1.0) < 1e-6
    assert not np.allclose(again, other) and batch.shape == (2, 3)

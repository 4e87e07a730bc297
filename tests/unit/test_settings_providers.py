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


def test_an_openai_compatible_endpoint_is_a_hosted_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    from langchain_openai import ChatOpenAI, OpenAIEmbeddings

    from core.providers import chat_model_name, get_embeddings, is_hosted

    for var in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OPSGRAPH_OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPSGRAPH_OPENAI_MODEL", "local-model")
    s = Settings(_env_file=None)
    assert llm_provider(s) == "openai" and is_hosted(s) and chat_model_name(s) == "local-model"
    model = get_chat_model("judge", s)
    assert isinstance(model, ChatOpenAI) and model.model_name == "local-model"
    assert str(model.openai_api_base) == "http://127.0.0.1:9/v1"
    monkeypatch.setenv("OPSGRAPH_EMBEDDINGS", "openai")
    monkeypatch.setenv("OPSGRAPH_OPENAI_EMBEDDING_DIM", "768")
    s = Settings(_env_file=None)
    assert embedder_spec(s).dim == 768
    emb = get_embeddings(s)
    assert isinstance(emb, OpenAIEmbeddings) and emb.tiktoken_enabled is False  # no table download at run time
    monkeypatch.setenv("GOOGLE_API_KEY", "k")
    assert llm_provider(Settings(_env_file=None)) == "gemini"  # a Google key still comes first in auto
    monkeypatch.setenv("OPSGRAPH_LLM_PROVIDER", "openai")
    assert llm_provider(Settings(_env_file=None)) == "openai"
    monkeypatch.delenv("OPSGRAPH_OPENAI_BASE_URL")
    with pytest.raises(ProviderError, match="OPSGRAPH_OPENAI_BASE_URL"):
        llm_provider(Settings(_env_file=None))

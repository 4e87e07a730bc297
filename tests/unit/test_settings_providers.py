"""Settings and provider selection."""

from __future__ import annotations

import pytest

from core.offline_llm import OfflineChatModel
from core.providers import ProviderError, embedder_spec, get_chat_model, llm_provider
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

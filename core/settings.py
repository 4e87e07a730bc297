"""Runtime settings: one place for every environment variable opsgraph reads.

Values come from the environment (prefix ``OPSGRAPH_``) with a few well-known names read without the prefix
(``DATABASE_URL``, ``GOOGLE_API_KEY``/``GEMINI_API_KEY``, ``MLFLOW_TRACKING_URI``).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

LlmProvider = Literal["auto", "gemini", "openai", "offline"]
EmbeddingsProvider = Literal["auto", "minilm", "gemini", "openai"]


class Settings(BaseSettings):
    """opsgraph configuration (see the README's configuration table)."""

    model_config = SettingsConfigDict(env_prefix="OPSGRAPH_", extra="ignore", populate_by_name=True)

    home: Path = Field(default=Path(".opsgraph"), description="Data directory: Postgres, MLflow, artifacts.")
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "OPSGRAPH_DATABASE_URL"),
        description="External Postgres with pgvector; empty means the embedded server in the data dir.",
    )
    llm_provider: LlmProvider = Field(default="auto", description="auto | gemini | openai | offline")
    gemini_model: str = Field(default="gemini-2.5-flash", description="Chat model name for the gemini provider.")
    llm_timeout_s: float = Field(default=60.0, description="Per-call timeout of the hosted chat model.")
    llm_max_retries: int = Field(default=2, description="Retries of the hosted chat model.")
    judge_min_confidence: float = Field(default=0.6, ge=0, le=1, description="Below this confidence the judge "
                                        "abstains: the verdict is 'uncertain' and the trace goes to review.")
    embeddings: EmbeddingsProvider = Field(default="auto", description="auto | minilm | gemini | openai")
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPSGRAPH_OPENAI_BASE_URL", "OPENAI_BASE_URL"),
        description="An OpenAI-compatible endpoint (Ollama, vLLM, llama.cpp's server, LM Studio, OpenAI): .../v1")
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPSGRAPH_OPENAI_API_KEY", "OPENAI_API_KEY"))
    openai_model: str = Field(default="gpt-4o-mini", description="Chat model name at the OpenAI-compatible endpoint.")
    openai_structured_output: Literal["json_schema", "function_calling", "json_object_schema"] = Field(
        default="json_schema", description="How structured answers are asked for: json_schema (OpenAI, vLLM, Ollama, "
        "LM Studio), function_calling, or json_object_schema (llama.cpp's server: a json_object with a schema)")
    openai_embedding_model: str = Field(default="text-embedding-3-small")
    openai_embedding_dim: int = Field(default=1536)
    gemini_embedding_model: str = Field(default="models/gemini-embedding-001")
    gemini_embedding_dim: int = Field(default=768)
    google_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("GOOGLE_API_KEY", "GEMINI_API_KEY", "OPSGRAPH_GOOGLE_API_KEY")
    )
    mlflow_tracking_uri: str | None = Field(
        default=None, validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "OPSGRAPH_MLFLOW_TRACKING_URI")
    )
    embed_batch_size: int = Field(default=256, description="Texts per embedding batch (progress and writes).")
    model_cache: Path | None = Field(default=None, description="Where the one-time ONNX export of the embedder is "
                                     "kept (default: $XDG_CACHE_HOME/opsgraph or ~/.cache/opsgraph).")
    hnsw_ef_search: int = Field(default=100, description="pgvector hnsw.ef_search for similarity queries.")
    pool_max_size: int = Field(default=10, description="Max connections in the psycopg pool.")

    @property
    def home_dir(self) -> Path:
        """The data directory as an absolute path (created on demand by callers)."""
        return self.home.expanduser().resolve()

    @property
    def pg_dir(self) -> Path:
        """Data directory of the embedded Postgres server."""
        return self.home_dir / "pg"

    @property
    def mlflow_dir(self) -> Path:
        """Local MLflow store (sqlite database and artifacts)."""
        return self.home_dir / "mlflow"

    @property
    def artifacts_dir(self) -> Path:
        """Where ETL outputs, charts and reports are written."""
        return self.home_dir / "artifacts"

    @property
    def model_cache_dir(self) -> Path:
        """The model cache (shared by every data directory on this machine)."""
        if self.model_cache is not None:
            return self.model_cache.expanduser().resolve()
        return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "opsgraph"

    def has_google_key(self) -> bool:
        """True when a Gemini API key is configured."""
        return bool(self.google_api_key and self.google_api_key.get_secret_value().strip())

    def has_openai_endpoint(self) -> bool:
        """True when an OpenAI-compatible endpoint (a base URL or an OpenAI key) is configured."""
        return bool(self.openai_base_url) or (
            self.openai_api_key is not None and bool(self.openai_api_key.get_secret_value().strip()))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (read once from the environment)."""
    return Settings()


def reset_settings() -> None:
    """Forget cached settings so the next call re-reads the environment (tests, CLI options)."""
    get_settings.cache_clear()

"""Shared fixtures: one real embedded Postgres and MLflow store per test session, in a temp data dir."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
for _var in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "DATABASE_URL", "MLFLOW_TRACKING_URI", "OPSGRAPH_LLM_PROVIDER",
             "OPSGRAPH_EMBEDDINGS"):
    os.environ.pop(_var, None)


@pytest.fixture(scope="session", autouse=True)
def offline_handlers() -> None:
    """Register the offline model's handlers once, as every entry point does at start-up."""
    from agents.setup import register_offline_handlers

    register_offline_handlers()


@pytest.fixture(scope="session")
def opsgraph_home() -> Iterator[Path]:
    """A data dir for the whole session (embedded Postgres + MLflow); the server is stopped at the end.

    It lives outside pytest's rotating basetemp, which another pytest run may delete under a running server.
    """
    import shutil
    import tempfile

    from core.db import stop_embedded
    from core.settings import reset_settings

    home = Path(tempfile.mkdtemp(prefix="opsgraph-test-"))
    previous = os.environ.get("OPSGRAPH_HOME")
    os.environ["OPSGRAPH_HOME"] = str(home)
    reset_settings()
    yield home
    stop_embedded()
    shutil.rmtree(home, ignore_errors=True)
    if previous is None:
        os.environ.pop("OPSGRAPH_HOME", None)
    else:
        os.environ["OPSGRAPH_HOME"] = previous
    reset_settings()


@pytest.fixture(scope="session")
def database(opsgraph_home: Path) -> Iterator[object]:
    """An open, migrated connection to the session's embedded Postgres."""
    from core.bootstrap import open_database

    db = open_database()
    yield db
    db.conn.close()


@pytest.fixture()
def fresh_database(database, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A new, empty database on the session's server (DATABASE_URL points at it for this test); dropped after."""
    import re
    import uuid

    from core.settings import reset_settings

    name = "t_" + re.sub(r"\W", "_", request.node.name)[:40].lower() + "_" + uuid.uuid4().hex[:6]
    database.conn.execute(f'CREATE DATABASE "{name}"')
    url = database.info.url.replace("/postgres?", f"/{name}?")
    monkeypatch.setenv("DATABASE_URL", url)
    reset_settings()
    from services import telemetry as pool_owner

    pool_owner.reset_pool()  # a pool an earlier test opened points at another database
    yield url
    monkeypatch.delenv("DATABASE_URL")
    reset_settings()
    from services import telemetry as tools_data

    tools_data.reset_pool()
    database.conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


EMBED_CACHE = Path(tempfile.gettempdir()) / "opsgraph-test-cache"


def _restore_vectors(conn, cache: Path) -> bool:  # type: ignore[no-untyped-def]
    """Pre-load vectors a previous test session computed for the same sample (same ids, texts and embedder)."""
    import numpy as np
    import pandas as pd

    from ingest.embed import _store_batch

    if not cache.exists():
        return False
    data = np.load(cache, allow_pickle=False)
    meta = pd.read_parquet(cache.with_suffix(".parquet"))
    _store_batch(conn, meta["interaction_id"].tolist(), meta["text"].tolist(), meta["content_hash"].tolist(),
                 str(meta["model_name"].iloc[0]), data["vectors"])
    return True


def _save_vectors(conn, cache: Path) -> None:  # type: ignore[no-untyped-def]
    import numpy as np
    import pandas as pd
    from pgvector.psycopg import register_vector

    register_vector(conn)
    rows = conn.execute("SELECT interaction_id, text, content_hash, model_name, embedding FROM log_embeddings "
                        "ORDER BY interaction_id").fetchall()
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, vectors=np.vstack([r["embedding"] for r in rows]).astype(np.float32))
    pd.DataFrame([{k: r[k] for k in ("interaction_id", "text", "content_hash", "model_name")} for r in rows]
                 ).to_parquet(cache.with_suffix(".parquet"))


@pytest.fixture(scope="session")
def sample_db(database, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """The session database loaded with the generated 9,000-row sample (seed 0) and its embeddings.

    Vectors computed by an earlier test session on this machine are reused (the ingestion then finds them by
    content hash and embeds nothing); a changed generator or embedder changes the hashes, so they are recomputed.
    """
    import json

    from core.providers import embedder_spec
    from ingest.generator import generate
    from ingest.pipeline import ingest_dir

    out = tmp_path_factory.mktemp("sample") / "rows9000_seed0"
    generate(9000, 0, out)
    cache = EMBED_CACHE / f"sample9000_seed0_{embedder_spec().name}.npz"
    restored = _restore_vectors(database.conn, cache)
    summary = ingest_dir(database.conn, out, embed=True, out_dir=tmp_path_factory.mktemp("ingest-out"))
    if not restored or summary.embeddings.get("embedded"):
        _save_vectors(database.conn, cache)
    return {"dir": out, "summary": summary, "answer_key": json.loads((out / "answer_key.json").read_text())}

"""Shared fixtures: one real embedded Postgres and MLflow store per test session, in a temp data dir."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
for _var in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "DATABASE_URL", "MLFLOW_TRACKING_URI", "OPSGRAPH_LLM_PROVIDER",
             "OPSGRAPH_EMBEDDINGS"):
    os.environ.pop(_var, None)


@pytest.fixture(scope="session")
def opsgraph_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data dir for the whole session (embedded Postgres + MLflow); the server is stopped at the end."""
    from core.db import stop_embedded
    from core.settings import reset_settings

    home = tmp_path_factory.mktemp("home")
    previous = os.environ.get("OPSGRAPH_HOME")
    os.environ["OPSGRAPH_HOME"] = str(home)
    reset_settings()
    yield home
    stop_embedded()
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
    yield url
    monkeypatch.delenv("DATABASE_URL")
    reset_settings()
    from tools import data as tools_data

    tools_data.reset_pool()
    database.conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

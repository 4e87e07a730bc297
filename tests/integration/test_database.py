"""The real embedded Postgres: migrations, pgvector, dimension guard, persistence across processes, recovery."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.migrate import EmbeddingDimensionError, check_embedding_dim, migrate, stored_embedding_dim

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=os.environ.copy())


def test_migrations_are_recorded_and_idempotent(database) -> None:  # type: ignore[no-untyped-def]
    conn = database.conn
    before = conn.execute("SELECT version, checksum FROM schema_migrations ORDER BY version").fetchall()
    assert [r["version"] for r in before][:1] == [1]
    assert migrate(conn, 384, "minilm") == []  # second run applies nothing
    after = conn.execute("SELECT version, checksum FROM schema_migrations ORDER BY version").fetchall()
    assert before == after
    tables = {r["tablename"] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname='public'")}
    assert {"log_embeddings", "quarantine", "ingest_runs", "projects", "stage_runs", "approvals_audit"} <= tables


def test_pgvector_is_installed_and_hnsw_index_exists(database) -> None:  # type: ignore[no-untyped-def]
    conn = database.conn
    assert conn.execute("SELECT extversion FROM pg_extension WHERE extname='vector'").fetchone()["extversion"] >= "0.8"
    idx = conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname='log_embeddings_hnsw'").fetchone()
    assert "hnsw" in idx["indexdef"] and "vector_cosine_ops" in idx["indexdef"]
    dist = conn.execute("SELECT '[1,0,0]'::vector <=> '[0,1,0]'::vector AS d").fetchone()["d"]
    assert dist == pytest.approx(1.0)


def test_dimension_mismatch_is_a_clear_error(database) -> None:  # type: ignore[no-untyped-def]
    conn = database.conn
    assert stored_embedding_dim(conn) == 384
    with pytest.raises(EmbeddingDimensionError, match=r"vector\(384\).*768-d.*reset-embeddings"):
        check_embedding_dim(conn, 768, "gemini")
    with pytest.raises(EmbeddingDimensionError):
        migrate(conn, 768, "gemini")
    assert stored_embedding_dim(conn) == 384  # nothing was changed


def test_cli_doctor_reports_database_from_another_process(database) -> None:  # type: ignore[no-untyped-def]
    out = _cli("doctor", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["ok"] and report["database"]["server"] == "embedded"
    assert report["database"]["pgvector"].startswith("0.8")
    assert report["embedder"]["dim"] == 384 and report["llm_provider"] == "offline"
    assert report["database"]["pid"] == database.info.pid  # the same server is reused across processes


def test_data_survives_across_processes(database) -> None:  # type: ignore[no-untyped-def]
    database.conn.execute("INSERT INTO projects (project_id, name) VALUES ('persist-check', 'p') "
                          "ON CONFLICT DO NOTHING")
    code = ("from core.bootstrap import open_database; db = open_database(); "
            "print(db.conn.execute(\"SELECT name FROM projects WHERE project_id='persist-check'\").fetchone()['name'])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "p", out.stderr


def test_recovers_after_postgres_is_killed(database) -> None:  # type: ignore[no-untyped-def]
    pid = database.info.pid
    assert pid
    database.conn.close()
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    status = json.loads(_cli("db", "status", "--json").stdout)
    assert status["running"] is False
    out = _cli("doctor", "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    assert report["database"]["pid"] != pid
    from core.bootstrap import open_database

    fresh = open_database()  # the session's fixture connection is replaced for later tests
    database.conn, database.info = fresh.conn, fresh.info
    row = fresh.conn.execute("SELECT name FROM projects WHERE project_id='persist-check'").fetchone()
    assert row is not None and row["name"] == "p"  # committed data survived the crash

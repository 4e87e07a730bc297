"""Shared benchmark helpers: machine description, a throwaway data dir, and BENCHMARKS.md sections."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "BENCHMARKS.md"


def machine() -> str:
    """One line: CPU model, cores, memory, Python, load average, date."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{cpu}; {psutil.cpu_count()} cores; {psutil.virtual_memory().total / 2**30:.0f} GiB; "
            f"Python {platform.python_version()}; load average {load}; {dt.date.today().isoformat()}")


@contextmanager
def scratch_home() -> Iterator[Path]:
    """A fresh OPSGRAPH_HOME (own embedded Postgres) for one benchmark; stopped and removed afterwards."""
    from core.db import stop_embedded
    from core.settings import reset_settings

    home = Path(tempfile.mkdtemp(prefix="opsgraph-bench-"))
    old = os.environ.get("OPSGRAPH_HOME")
    os.environ["OPSGRAPH_HOME"] = str(home)
    reset_settings()
    try:
        yield home
    finally:
        stop_embedded()
        shutil.rmtree(home, ignore_errors=True)
        if old is None:
            os.environ.pop("OPSGRAPH_HOME", None)
        else:
            os.environ["OPSGRAPH_HOME"] = old
        reset_settings()


def record(section: str, body: str) -> None:
    """Replace (or add) ``## section`` in BENCHMARKS.md with ``body`` and the machine line."""
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n\nRecorded by `make bench`.\n"
    block = f"## {section}\n\nMachine: {machine()}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(section)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(block + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + block
    BENCHMARKS.write_text(text)


def peak_rss_mb() -> float:
    """Peak resident memory of this process (MiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def sample_database() -> Iterator[Any]:
    """An open database holding the 9k sample (seed 0) with its embeddings: OPSGRAPH_BENCH_HOME when it is set
    (ingested once, reused by later runs), else a scratch home."""
    from core.bootstrap import open_database

    home = os.environ.get("OPSGRAPH_BENCH_HOME")
    if home:
        os.environ["OPSGRAPH_HOME"] = home
    with scratch_home() if not home else nullcontext():
        db = open_database()
        stored = db.conn.execute("SELECT count(*) AS n FROM log_embeddings").fetchone()
        if not (stored and stored["n"]):
            from ingest.generator import generate
            from ingest.pipeline import ingest_dir

            generate(9000, 0, Path(os.environ["OPSGRAPH_HOME"]) / "d")
            ingest_dir(db.conn, Path(os.environ["OPSGRAPH_HOME"]) / "d", embed=True)
        try:
            yield db
        finally:
            db.conn.close()

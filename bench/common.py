"""Shared benchmark helpers: machine description, a throwaway data dir, and BENCHMARKS.md sections."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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

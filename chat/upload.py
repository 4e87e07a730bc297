"""Telemetry CSVs dropped into the chat: ingested with live progress, then summarised (rejects included).

The files must carry their telemetry names (``llm_system_interactions.csv`` ...). They are copied into a fresh
directory and handed to :func:`ingest.pipeline.ingest_dir` (validation, quarantine, load, features, embeddings)
in a worker thread; the chat message shows each phase's progress while it runs.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock
from typing import Any, Protocol

import chainlit as cl
from chainlit.utils import utc_now

from chat.render import ingest_markdown, table
from core.progress import progress_text


class Uploaded(Protocol):
    """What Chainlit hands over for an uploaded file."""

    name: str
    path: str | None


@dataclass
class Progress:
    """Counts per ingestion phase, written by the worker thread and read by the event loop."""

    phases: dict[str, list[float]] = field(default_factory=dict)  # phase -> [done, total, started]
    _lock: Lock = field(default_factory=Lock)

    def report(self, phase: str, advance: int, total: int | None) -> None:
        """The ``ingest_dir`` progress callback."""
        with self._lock:
            entry = self.phases.setdefault(phase, [0.0, 0.0, time.monotonic()])
            entry[0] += advance
            if total is not None:
                entry[1] = float(total)

    def lines(self) -> dict[str, str]:
        """Each phase seen so far, as the CLI prints it: ``embed: 3,072 / 9,000 (34/s, eta 2m54s)``."""
        now = time.monotonic()
        with self._lock:
            return {phase: progress_text(phase, done, total, now - started)
                    for phase, (done, total, started) in self.phases.items()}

    def render(self, elapsed: float) -> str:
        """Markdown lines: one per phase seen so far."""
        lines = [f"- {line}" for line in self.lines().values()]
        return f"Ingesting… ({elapsed:.0f} s)\n\n" + ("\n".join(lines) or "- validating")


def expected_files() -> dict[str, str]:
    """Telemetry file name -> table name."""
    from ingest.schema import TABLES

    return {spec.file_name: name for name, spec in TABLES.items()}


def _rejects(summary: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    import pandas as pd

    out: dict[str, list[dict[str, Any]]] = {}
    for name, t in (summary.get("tables") or {}).items():
        path = t.get("rejects_csv")
        if path and Path(path).is_file():
            frame = pd.read_csv(path, nrows=20).fillna("")
            out[name] = [{str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")]
    return out


def _run_ingest(directory: Path, progress: Progress) -> dict[str, Any]:
    from core.bootstrap import open_database
    from ingest.pipeline import ingest_dir

    db = open_database()
    try:
        return ingest_dir(db.conn, directory, embed=True, report=progress.report).to_dict()
    finally:
        db.conn.close()


async def ingest_uploads(files: list[Uploaded]) -> None:
    """Ingest the uploaded telemetry CSVs and post the summary (an error message names the file and the row)."""
    names = expected_files()
    usable = [f for f in files if f.name in names and f.path]
    others = [f.name for f in files if f.name not in names]
    if others:
        await cl.Message(content="Not telemetry files (ignored): " + ", ".join(f"`{n}`" for n in others)
                         + "\n\nExpected names:\n" + "\n".join(f"- `{n}` ({t})" for n, t in names.items())).send()
    if not usable:
        return
    directory = Path(tempfile.mkdtemp(prefix="opsgraph-upload-"))
    for f in usable:
        shutil.copyfile(str(f.path), directory / f.name)
    progress = Progress()
    msg = cl.Message(content="Ingesting " + ", ".join(f"`{f.name}`" for f in usable) + "…")
    await msg.send()
    started = time.monotonic()
    job = asyncio.ensure_future(asyncio.to_thread(_run_ingest, directory, progress))
    steps: dict[str, cl.Step] = {}
    try:
        while not job.done():
            await asyncio.wait({job}, timeout=1.0)
            msg.content = progress.render(time.monotonic() - started)
            await msg.update()
            await _update_steps(steps, progress.lines())
        await _update_steps(steps, progress.lines(), final=True)
        summary = job.result()
    except Exception as exc:  # shown to the person: what failed and where (IngestError names file/row/column)
        msg.content = f"**Ingestion failed:** {exc}"
        await msg.update()
        return
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    rejects = _rejects(summary)
    msg.content = progress.render(time.monotonic() - started).replace("Ingesting…", "Ingestion progress")
    await msg.update()
    elements: list[Any] = [cl.File(name=Path(t["rejects_csv"]).name, path=t["rejects_csv"], display="inline")
                           for t in (summary.get("tables") or {}).values() if t.get("rejects_csv")]
    await cl.Message(content=ingest_markdown(summary, rejects), elements=elements).send()


async def _update_steps(steps: dict[str, cl.Step], lines: dict[str, str], final: bool = False) -> None:
    """One chat step per ingestion phase whose output is its progress line (closed when ingestion ends)."""
    for phase, line in lines.items():
        step = steps.get(phase)
        if step is None:
            step = steps[phase] = cl.Step(name=f"ingest › {phase}", type="tool", show_input=False)
            await step.send()
        step.output = line
        if final:
            step.end = utc_now()
        await step.update()


def upload_help() -> str:
    """How to upload telemetry from the chat."""
    rows = [(n, t) for n, t in expected_files().items()]
    return ("Drop the telemetry CSV files into the message box (or use the paperclip) and send: they are "
            "validated, loaded (bad rows quarantined) and embedded.\n\n" + table(rows, ("file", "table")))

"""Shared CLI helpers: JSON output, error exit, console."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console

console = Console(stderr=True)


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def fail(message: str, code: int = 1, as_json: bool = False) -> NoReturn:
    """Print an error (as JSON when asked) and exit with ``code``."""
    if as_json:
        emit_json({"ok": False, "error": message})
    else:
        console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


class LineProgress:
    """Progress as timestamped lines, for output that is not a terminal (a CI log, a pipe): one line per phase
    at most every ``every`` seconds (an embedding batch takes about 5 s, so lines come every 5-10 s), and when a
    phase completes, e.g.
    ``[12:03:44] embed: 3,072 / 9,000 (34/s, eta 2m54s)``."""

    def __init__(self, out: Console, every: float = 5.0) -> None:
        self.out, self.every = out, every
        self._state: dict[str, list[float]] = {}  # phase -> [done, total, started, last printed]

    def __call__(self, phase: str, advance: int, total: int | None) -> None:
        """Advance ``phase`` by ``advance`` (of ``total``, when known); print when it is time."""
        import time

        now = time.monotonic()
        st = self._state.setdefault(phase, [0.0, float(total or 0), now, now])
        st[0] += advance
        if total:
            st[1] = float(total)
        finished = bool(st[1]) and st[0] >= st[1]
        if now - st[3] < self.every and not finished:
            return
        st[3] = now
        from core.progress import progress_text

        line = f"[{time.strftime('%H:%M:%S')}] {progress_text(phase, st[0], st[1], now - st[2])}"
        self.out.print(line, highlight=False, soft_wrap=True)

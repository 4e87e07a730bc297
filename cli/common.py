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

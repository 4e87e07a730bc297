"""Prompts are data: one Markdown file per agent in this folder, overridable per deployment.

``load_prompt("judge")`` returns ``judge.md`` from ``$OPSGRAPH_PROMPTS_DIR`` when that directory holds one,
otherwise the packaged file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parent
OVERRIDE_ENV = "OPSGRAPH_PROMPTS_DIR"
_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")


def prompt_path(name: str) -> Path:
    """Where the prompt ``name`` is read from (override directory first)."""
    if not _NAME.match(name):
        raise ValueError(f"invalid prompt name {name!r}: use letters, digits, '_' or '-'")
    override = os.environ.get(OVERRIDE_ENV, "").strip()
    if override:
        candidate = Path(override).expanduser() / f"{name}.md"
        if candidate.is_file():
            return candidate
    path = PROMPTS_DIR / f"{name}.md"
    if not path.is_file():
        raise FileNotFoundError(f"no prompt {name!r}: expected {path} (or {OVERRIDE_ENV}/{name}.md)")
    return path


def load_prompt(name: str) -> str:
    """The text of the prompt ``name`` (read on every call, so edits and overrides apply at once)."""
    return prompt_path(name).read_text(encoding="utf-8").strip()


def list_prompts() -> list[str]:
    """Names of the packaged prompts."""
    return sorted(p.stem for p in PROMPTS_DIR.glob("*.md"))

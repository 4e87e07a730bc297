"""Column mapping: which source column feeds which canonical column, per table.

Resolution, per canonical column: an explicit mapping (``--map target=source`` or a mapping file) first, then
the canonical name itself, then the aliases in ``ingest/data/column_aliases.json`` (names compared
case-insensitively, with spaces, dots and dashes read as underscores; the first alias present wins). A source
column feeds at most one canonical column. Source columns that feed none are *extras*: they are kept (in the
``extra`` JSONB column), never dropped.

Mapping files are JSON: ``{"interactions": {"request_text": "question"}, "sessions": {...}}``, or one flat
object for the interactions table.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from ingest.results import IngestError
from ingest.schema import TABLES

ALIASES_FILE = Path(__file__).with_name("data") / "column_aliases.json"
FAILURE_CONTEXT = "error"
"""A non-canonical interactions column the mapping recognises: an error message (a failure signal)."""
EXTRA = "extra"
"""A column that already holds the JSON object of a row's extra values (passed through as it is)."""


@cache
def aliases() -> dict[str, dict[str, list[str]]]:
    """Canonical column -> aliases, per table (from :data:`ALIASES_FILE`)."""
    data = json.loads(ALIASES_FILE.read_text())
    return {t: v for t, v in data.items() if not t.startswith("_")}


def _norm(name: str) -> str:
    return re.sub(r"[\s.\-]+", "_", name.strip().lower())


@dataclass(frozen=True)
class ColumnMap:
    """canonical -> source for one file, plus the source columns kept as extras."""

    table: str
    sources: dict[str, str]
    extras: list[str] = field(default_factory=list)

    def renamed(self) -> dict[str, str]:
        """source -> canonical for the mapped columns that are renamed."""
        return {s: c for c, s in self.sources.items() if s != c}


def resolve(table: str, header: list[str], explicit: dict[str, str] | None = None, *, file: str = "") -> ColumnMap:
    """Map ``header`` (a file's columns) onto ``table``'s canonical columns; see the module docstring."""
    explicit = explicit or {}
    known = set(TABLES[table].column_names) | {EXTRA} | ({FAILURE_CONTEXT} if table == "interactions" else set())
    for target, source in explicit.items():
        if target not in known:
            raise IngestError(f"--map {target}={source}: {target!r} is not a column of {table}", file=file)
        if source not in header:
            raise IngestError(f"--map {target}={source}: the file has no column {source!r}", file=file, row=1)
    sources: dict[str, str] = dict(explicit)
    used = set(sources.values())
    by_norm = {_norm(h): h for h in reversed(header)}  # first spelling wins
    table_aliases = aliases().get(table, {})
    for target in [*TABLES[table].column_names, *sorted(known - set(TABLES[table].column_names))]:
        if target in sources:
            continue
        for name in (target, *table_aliases.get(target, [])):
            found = name if name in header else by_norm.get(_norm(name))
            if found is not None and found not in used:
                sources[target] = found
                used.add(found)
                break
    return ColumnMap(table, sources, [h for h in header if h not in used])


def parse_map_flags(flags: list[str]) -> dict[str, dict[str, str]]:
    """``["interactions.request_text=question", "model_name=llm"]`` -> per-table mappings (a bare target
    belongs to interactions)."""
    out: dict[str, dict[str, str]] = {}
    for flag in flags:
        target, sep, source = flag.partition("=")
        if not sep or not target or not source:
            raise IngestError(f"--map {flag!r}: expected target=source", file="--map")
        table, dot, column = target.rpartition(".")
        out.setdefault(table if dot else "interactions", {})[column] = source
    return out


def load_mapping_file(path: Path) -> dict[str, dict[str, str]]:
    """A JSON mapping file (see the module docstring) as per-table mappings."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise IngestError(f"unreadable mapping file: {exc}", file=str(path)) from exc
    if not isinstance(data, dict):
        raise IngestError("a mapping file holds a JSON object", file=str(path))
    if all(isinstance(v, str) for v in data.values()):
        return {"interactions": data}
    bad = [t for t in data if t not in TABLES]
    if bad:
        raise IngestError(f"unknown table(s) {bad} (tables: {', '.join(TABLES)})", file=str(path))
    return {t: dict(v) for t, v in data.items()}

"""Which file holds which table: the real files' names, or any tabular file named for its table.

A folder may hold the five files under their published names (``llm_system_interactions.csv``, ...), or CSV,
Parquet or JSON Lines files whose names contain the table's name (``interactions.parquet``, ``my_sessions.csv``,
``users.jsonl``, ``prompts``, ``sft``). A folder with one tabular file, or a single file given directly, is the
interactions table.
"""

from __future__ import annotations

from pathlib import Path

from ingest.results import IngestError
from ingest.schema import LOAD_ORDER, TABLES
from ingest.sources import TABULAR_SUFFIXES

_WORDS = {"interactions": ("interaction",), "sessions": ("session",), "users": ("user",), "prompts": ("prompt",),
          "sft_samples": ("sft", "instruction_tuning")}  # fmt: skip


def find_tables(source: Path) -> dict[str, Path]:
    """Table name -> file, in load order (see the module docstring)."""
    if source.is_file():
        return {"interactions": source}
    if not source.is_dir():
        raise IngestError("no such file or folder", file=str(source))
    found = {n: source / TABLES[n].file_name for n in LOAD_ORDER if (source / TABLES[n].file_name).is_file()}
    tabular = sorted(p for p in source.iterdir() if p.is_file() and p.suffix.lower() in TABULAR_SUFFIXES
                     and p not in found.values())
    for path in tabular:
        stem = path.stem.lower()
        names = [n for n in LOAD_ORDER if any(w in stem for w in _WORDS[n])]
        if len(names) == 1 and names[0] not in found:
            found[names[0]] = path
        elif len(names) == 1:
            raise IngestError(f"two files for the {names[0]} table: {found[names[0]].name} and {path.name}",
                              file=str(source))
    if not found and len(tabular) == 1:
        found["interactions"] = tabular[0]
    if not found:
        expected = ", ".join(TABLES[n].file_name for n in LOAD_ORDER)
        raise IngestError(f"no telemetry files found (expected any of {expected}, or CSV / Parquet / JSON Lines files "
                          "named for their table, such as interactions.csv)", file=str(source))
    return {n: found[n] for n in LOAD_ORDER if n in found}

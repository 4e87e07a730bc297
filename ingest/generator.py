"""Synthetic replica of the LLM System Ops telemetry: the five real-schema CSVs plus an answer key.

``generate(rows, seed, out_dir)`` writes, with exactly the real file names, columns and formats:

- ``llm_system_interactions.csv`` (55 columns) and ``llm_system_instruction_tuning_samples.csv`` (16 columns,
  1:1 with interactions, ``sample_id`` = interaction number), written in chunks;
- ``llm_system_sessions_summary.csv`` (37), ``llm_system_users_summary.csv`` (21) and
  ``llm_system_prompts_lookup.csv`` (14), computed from the generated interactions (:mod:`ingest.summaries`);
- ``answer_key.json`` (the planted incidents with counts and sample interaction ids) and
  ``answer_key_labels.csv`` (interaction_id, incident_id or ``none``). The real-schema CSVs never get extra
  columns.

Planted failure structure (details and exact parameters in :mod:`ingest.planted_incidents`):

- INC-001: 2025-03-18..2025-03-24, ``llama-3.1-70b`` latency x3 and 50% ``latency_timeout``;
- INC-002: 2025-04-08..2025-04-21, requests using ``sql_query`` fail with ``tool_error`` (p = 0.6), tools_used
  gains ``tool_invocation_failed``, responses quote the SQL error;
- INC-003: ``data_analysis`` on ``gpt-4o-mini`` hallucinates (p = 0.4) over the whole period;
- INC-004: security / exploit requests in ``coding_assistant`` are safety-blocked (p = 0.65).

Overall about 28% of rows fail and about 4.5% are safety blocks, as in the real data.

Determinism and memory: users and sessions are drawn first (small); sessions, sorted by start time, are cut into
blocks of :data:`BLOCK_SESSIONS` sessions, each generated from its own random stream
``SeedSequence([seed, 1, block])``, so the output depends only on ``rows`` and ``seed`` (not on
``chunk_rows``). Blocks are grouped into chunks of about ``chunk_rows`` interactions that are appended to the CSVs;
session summaries are computed per block (a session never spans blocks), user and prompt summaries from
incremental aggregates, so memory stays bounded by the chunk size.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ingest.formulas import id_width
from ingest.planted_incidents import INCIDENTS
from ingest.population import make_population
from ingest.rows import Block, make_block
from ingest.schema import TABLES
from ingest.summaries import PROMPT_INPUT_COLUMNS, PromptStats, session_summary, users_summary

BLOCK_SESSIONS = 2048
ANSWER_KEY = "answer_key.json"
ANSWER_LABELS = "answer_key_labels.csv"
SAMPLE_IDS = 20
ProgressFn = Callable[[int, int], None]


@dataclass
class GenerationReport:
    """What :func:`generate` wrote and how long it took."""

    rows: int
    sessions: int
    users: int
    seed: int
    out_dir: Path
    files: dict[str, Path]
    seconds: float
    failure_rate: float
    safety_block_rate: float
    incidents: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "rows": self.rows, "sessions": self.sessions, "users": self.users, "seed": self.seed,
            "out_dir": str(self.out_dir), "files": {k: str(v) for k, v in self.files.items()},
            "seconds": round(self.seconds, 2), "failure_rate": round(self.failure_rate, 4),
            "safety_block_rate": round(self.safety_block_rate, 4),
            "incidents": [{k: v for k, v in i.items() if k != "sample_interaction_ids"} for i in self.incidents],
        }  # fmt: skip


def write_csv(df: pd.DataFrame, path: Path, *, append: bool) -> None:
    """Write like pandas' default CSV (True/False, NaN as empty cell), appending without a header."""
    df.to_csv(path, mode="a" if append else "w", header=not append, index=False, lineterminator="\n")


class _IncidentTally:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
        self.in_scope = {i.id: 0 for i in INCIDENTS}
        self.affected = {i.id: 0 for i in INCIDENTS}
        self.failures = {i.id: 0 for i in INCIDENTS}
        self.samples: dict[str, list[str]] = {i.id: [] for i in INCIDENTS}
        self.seen = {i.id: 0 for i in INCIDENTS}

    def update(self, block: Block) -> None:
        """Count one block's labelled rows and keep a reservoir sample of their ids."""
        lab = block.labels["incident_id"].to_numpy()
        ft = block.interactions["failure_type"].to_numpy()
        ids = block.labels["interaction_id"].to_numpy()
        for inc in INCIDENTS:
            self.in_scope[inc.id] += block.in_scope[inc.id]
            hit = lab == inc.id
            self.affected[inc.id] += int(hit.sum())
            self.failures[inc.id] += int((hit & (ft == inc.failure_type)).sum())
            for iid in ids[hit & (ft == inc.failure_type)].tolist():  # reservoir sample of failing rows
                self.seen[inc.id] += 1
                sample = self.samples[inc.id]
                if len(sample) < SAMPLE_IDS:
                    sample.append(iid)
                else:
                    j = int(self.rng.integers(0, self.seen[inc.id]))
                    if j < SAMPLE_IDS:
                        sample[j] = iid

    def answer_key(self) -> list[dict[str, Any]]:
        """Incidents with their counts and sample interaction ids."""
        return [{
            **inc.as_dict(), "n_in_scope": self.in_scope[inc.id], "n_affected": self.affected[inc.id],
            "n_failures": self.failures[inc.id], "sample_interaction_ids": sorted(self.samples[inc.id]),
        } for inc in INCIDENTS]  # fmt: skip


def generate(
    rows: int, seed: int, out_dir: Path, chunk_rows: int = 200_000, progress: ProgressFn | None = None
) -> GenerationReport:
    """Generate ``rows`` interactions (and the four other tables) into ``out_dir``; deterministic per seed.

    ``progress(done_rows, total_rows)`` is called after every chunk.
    """
    if rows < 1:
        raise ValueError("rows must be >= 1")
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {name: out_dir / spec.file_name for name, spec in TABLES.items()}
    pop = make_population(rows, np.random.default_rng(np.random.SeedSequence([seed, 0])))
    sessions = pop.sessions
    width = id_width(6, rows)
    tally = _IncidentTally(seed)
    prompts = PromptStats()
    summaries: list[pd.DataFrame] = []
    pending: list[Block] = []
    done = failures = safety = 0
    written = False

    def flush() -> None:
        """Append the pending blocks to the CSVs."""
        nonlocal written, done
        if not pending:
            return
        inter = pd.concat([b.interactions for b in pending], ignore_index=True)
        write_csv(inter, files["interactions"], append=written)
        write_csv(pd.concat([b.sft for b in pending], ignore_index=True), files["sft_samples"], append=written)
        write_csv(pd.concat([b.labels for b in pending], ignore_index=True), out_dir / ANSWER_LABELS, append=written)
        written = True
        done += len(inter)
        pending.clear()
        if progress is not None:
            progress(done, rows)

    next_number = 1
    pending_rows = 0
    for b, start in enumerate(range(0, len(sessions), BLOCK_SESSIONS)):
        sess = sessions.iloc[start : start + BLOCK_SESSIONS]
        rng = np.random.default_rng(np.random.SeedSequence([seed, 1, b]))
        block = make_block(sess, rng, next_number, width)
        n = len(block.interactions)
        next_number += n
        summaries.append(session_summary(block.interactions))
        prompts.update(block.interactions[PROMPT_INPUT_COLUMNS])
        tally.update(block)
        failures += int(block.interactions["is_failure"].sum())
        safety += int(block.interactions["safety_block_flag"].sum())
        pending.append(block)
        pending_rows += n
        if pending_rows >= chunk_rows:
            flush()
            pending_rows = 0
    flush()

    sess_summary = pd.concat(summaries, ignore_index=True).sort_values("session_id", kind="mergesort")
    write_csv(sess_summary, files["sessions"], append=False)
    write_csv(users_summary(sess_summary), files["users"], append=False)
    write_csv(prompts.lookup(), files["prompts"], append=False)
    incidents = tally.answer_key()
    key = {
        "seed": seed, "rows": rows, "generator": "ingest.generator", "labels_file": ANSWER_LABELS,
        "label_rule": "INC-001 labels every row in its scope (latency x3); the others label rows where the "
                      "incident fired (the row's failure_type is the incident's).",
        "incidents": incidents,
    }  # fmt: skip
    (out_dir / ANSWER_KEY).write_text(json.dumps(key, indent=2) + "\n", encoding="utf-8")
    files["answer_key"] = out_dir / ANSWER_KEY
    files["answer_key_labels"] = out_dir / ANSWER_LABELS
    return GenerationReport(
        rows=rows,
        sessions=len(sessions),
        users=pop.n_users,
        seed=seed,
        out_dir=out_dir,
        files=files,
        seconds=time.perf_counter() - t0,
        failure_rate=failures / rows,
        safety_block_rate=safety / rows,
        incidents=incidents,
    )

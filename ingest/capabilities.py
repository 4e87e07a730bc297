"""What the loaded telemetry of a project can support: each analysis, available or not, and why.

Computed from the stored rows (how many interactions of the project have each input), so it holds for any
source: the real files, a minimum-contract file, traces. The ingest summary carries it (``ingest --json``), and
the dashboard and the agents read it before they claim evidence.
"""

from __future__ import annotations

import psycopg
from psycopg import sql
from psycopg.rows import DictRow
from pydantic import BaseModel

from core.projects import DEFAULT_PROJECT

TEXT = ("request_text", "response_text_snippet")
STRUCTURED = ("latency_ms", "total_tokens", "cost_usd", "model_name", "use_case", "channel", "region",
              "account_tier", "tool_calls_count", "retry_index")  # fmt: skip

ANALYSES: dict[str, tuple[tuple[str, ...], int, str]] = {
    "failure_rates": (("is_failure",), 1, "failure rates and their breakdowns"),
    "trends": (("timestamp_utc",), 1, "failure, latency and cost over time"),
    "failure_types": (("failure_type",), 1, "failures broken down by type"),
    "latency": (("latency_ms",), 1, "latency percentiles and regressions"),
    "tokens": (("total_tokens",), 1, "token usage"),
    "cost": (("cost_usd",), 1, "cost reports"),
    "models": (("model_name",), 1, "per-model comparisons"),
    "feedback": (("user_feedback_score",), 1, "user feedback"),
    "tools": (("tools_used",), 1, "tool usage and tool errors"),
    "users": (("user_id",), 1, "per-user summaries"),
    "embeddings": (TEXT, 1, "embeddings of the interaction texts"),
    "text_clustering": (TEXT, 1, "clusters of similar interactions (KMeans / HDBSCAN on embeddings)"),
    "similarity_search": (TEXT, 1, "retrieval of similar past interactions (pgvector)"),
    "structured_clustering": (STRUCTURED, 2, "clusters on the structured columns (no text needed)"),
}  # fmt: skip
"""analysis -> (input columns, how many of them must have values, what it gives)."""


class Capability(BaseModel):
    """One analysis and whether the project's data supports it."""

    analysis: str
    available: bool
    reason: str
    inputs: list[str]


def column_counts(conn: psycopg.Connection[DictRow], project: str) -> tuple[int, dict[str, int]]:
    """The project's interaction count and, per analysis input, how many interactions have a value."""
    cols = sorted({c for inputs, _, _ in ANALYSES.values() for c in inputs})
    counts = []
    for c in cols:
        ident = sql.Identifier(c)
        if c == "failure_type":  # a type is known when it is neither "none" nor a placeholder
            typed = "count(*) FILTER (WHERE {0} NOT IN ('none', 'unspecified', 'error')) AS {0}"
            counts.append(sql.SQL(typed).format(ident))
        elif c in TEXT:
            counts.append(sql.SQL("count(*) FILTER (WHERE btrim({0}) <> '') AS {0}").format(ident))
        else:
            counts.append(sql.SQL("count({0}) AS {0}").format(ident))
    row = conn.execute(sql.SQL("SELECT count(*) AS n, {} FROM interactions WHERE project = %s").format(
        sql.SQL(", ").join(counts)), (project,)).fetchone()
    assert row is not None
    return int(row["n"]), {c: int(row[c]) for c in cols}


def capabilities(conn: psycopg.Connection[DictRow], project: str = DEFAULT_PROJECT) -> list[Capability]:
    """Each analysis of :data:`ANALYSES` for ``project``: available or not, and why."""
    n, counts = column_counts(conn, project)
    out = []
    for name, (inputs, need, what) in ANALYSES.items():
        have = [c for c in inputs if counts[c]]
        if not n:
            ok, reason = False, f"project {project!r} has no interactions"
        elif len(have) >= need:
            ok = True
            reason = f"{what}: " + ", ".join(f"{c} in {counts[c]:,} of {n:,} interactions" for c in have)
        else:
            ok = False
            wanted = " or ".join(inputs) if need == 1 else f"{need} of {', '.join(inputs)}"
            reason = (f"no {what}: no interaction of project {project!r} has {wanted}"
                      + (" with a type other than none/unspecified/error" if inputs == ("failure_type",) else "")
                      + "; map a source column with --map <column>=<source>")
        out.append(Capability(analysis=name, available=ok, reason=reason, inputs=list(inputs)))
    return out


def available(caps: list[Capability], analysis: str) -> Capability:
    """The entry of ``analysis`` (KeyError when it is not one of :data:`ANALYSES`)."""
    for c in caps:
        if c.analysis == analysis:
            return c
    raise KeyError(analysis)

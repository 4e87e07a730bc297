"""The judge's review queue in Postgres (``judge_reviews``): the traces the judge abstained on, and the labels
people give them (from the chat's buttons or ``opsgraph judge review``). The labels feed the judge's alignment."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from core.contracts import JudgeInput, Judgment
from services.telemetry import pooled


def enqueue_uncertain(project_id: str, run_id: str, items: Sequence[JudgeInput],
                      judgments: Sequence[Judgment]) -> int:
    """Queue the uncertain judgments of a judging run (``items`` aligned with ``judgments``); returns how many were
    queued (a run logged again queues nothing twice)."""
    rows = [(project_id, run_id, j.scenario_id, j.seed, j.agent.id, j.model_dump_json(), i.model_dump_json())
            for i, j in zip(items, judgments, strict=True) if j.verdict == "uncertain"]
    if not rows:
        return 0
    with pooled() as conn, conn.cursor() as cur:
        cur.executemany("INSERT INTO judge_reviews (project_id, run_id, scenario_id, seed, agent, judgment, item) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING", rows)
    return len(rows)


def pending(project_id: str, limit: int = 100) -> list[dict[str, Any]]:
    """The project's traces waiting for a label, oldest first."""
    with pooled() as conn:
        return list(conn.execute(
            "SELECT review_id, run_id, scenario_id, seed, agent, judgment, item, created_at FROM judge_reviews "
            "WHERE project_id = %s AND label IS NULL ORDER BY review_id LIMIT %s", (project_id, limit)).fetchall())


def label(review_id: int, passed: bool, labelled_by: str, comment: str = "", project_id: str | None = None
          ) -> dict[str, Any]:
    """Record a person's label on one queued trace (a later label replaces an earlier one); a LookupError names
    an unknown review id (or one of another project)."""
    with pooled() as conn:
        row = conn.execute(
            "UPDATE judge_reviews SET label = %s, comment = %s, labelled_by = %s, labelled_at = now() "
            "WHERE review_id = %s AND (%s::text IS NULL OR project_id = %s) RETURNING review_id, project_id, "
            "scenario_id, seed, agent, label", (passed, comment or None, labelled_by, review_id, project_id,
                                                project_id)).fetchone()
    if row is None:
        raise LookupError(f"no review {review_id}" + (f" in project {project_id}" if project_id else ""))
    return dict(row)


def labelled(project_id: str) -> list[dict[str, Any]]:
    """The project's labelled traces: what was judged, the judgment and the person's label and comment."""
    with pooled() as conn:
        rows = conn.execute("SELECT review_id, scenario_id, seed, agent, judgment, item, label, comment, labelled_by "
                            "FROM judge_reviews WHERE project_id = %s AND label IS NOT NULL ORDER BY review_id",
                            (project_id,)).fetchall()
    return [{**r, "judgment": _json(r["judgment"]), "item": _json(r["item"])} for r in rows]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def save_alignment(project_id: str, alignment: dict[str, Any], report: dict[str, Any]) -> None:
    """Store (replace) the project's judge alignment and its report."""
    with pooled() as conn:
        conn.execute("INSERT INTO judge_alignments (project_id, alignment, report) VALUES (%s, %s, %s) "
                     "ON CONFLICT (project_id) DO UPDATE SET alignment = EXCLUDED.alignment, report = EXCLUDED.report, "
                     "created_at = now()", (project_id, json.dumps(alignment), json.dumps(report, default=str)))


def load_alignment(project_id: str) -> dict[str, Any] | None:
    """The project's judge alignment, or None when it has none."""
    with pooled() as conn:
        row = conn.execute("SELECT alignment FROM judge_alignments WHERE project_id = %s", (project_id,)).fetchone()
    return _json(row["alignment"]) if row else None

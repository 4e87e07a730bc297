"""Markdown for the chat: diagnoses as Summary / Causes / Fix / Verification, approval cards, step results and
ingestion summaries. Pure functions over the graphs' JSON-ready outputs (no Chainlit imports)."""

from __future__ import annotations

from typing import Any

from agents.registry import AGENT_NAMES, get_agent

STAGE_NAMES = {
    "dataset": "dataset", "simulation": "simulation", "judging": "judging", "analytics": "analytics",
    "comparison": "comparison", "deployment": "deployment", "feedback": "production feedback",
}


def _cell(value: Any) -> str:
    if isinstance(value, float):
        text = f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"
    else:
        text = str(value)
    return text.replace("|", "/").replace("\n", " ")


def table(rows: list[tuple[Any, ...]], header: tuple[str, ...]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def route_line(route: dict[str, Any]) -> str:
    """Which agent answered, why it was chosen, and what it does (from the agent registry)."""
    conf = route.get("confidence")
    how = f"{route.get('method', '?')}" + (f", confidence {conf:.2f}" if isinstance(conf, int | float) else "")
    name = str(route.get("agent", "?"))
    role = f" {get_agent(name).description}" if name in AGENT_NAMES else ""
    return f"*Answered by the **{name}** agent ({how}).{role}*"


def diagnosis_markdown(diagnosis: dict[str, Any]) -> str:
    """A diagnosis in readable sections; every cause lists the interaction ids it cites."""
    parts = ["#### Summary", str(diagnosis.get("summary", "")).strip(), "#### Causes"]
    causes = diagnosis.get("causes") or []
    for i, cause in enumerate(causes, 1):
        lines = [f"{i}. {cause.get('statement', '')} *(confidence {float(cause.get('confidence', 0)):.2f})*"]
        ids = cause.get("evidence_ids") or []
        if ids:
            shown = ", ".join(f"`{x}`" for x in ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
            lines.append(f"    - Evidence: {shown}")
        lines += [f"    - {agg}" for agg in cause.get("aggregates") or []]
        parts.append("\n".join(lines))
    if not causes:
        parts.append("No cause is supported by the evidence.")
    parts.append("#### Fix")
    fixes = diagnosis.get("fixes") or []
    parts.append("\n".join(f"- **{f.get('action', '')}** — {f.get('based_on', '')}" for f in fixes)
                 or "- No fix is supported by the evidence.")
    parts.append("#### Verification")
    parts.append("\n".join(f"- {v}" for v in diagnosis.get("verification") or []) or "- (none proposed)")
    return "\n\n".join(parts)


def answer_markdown(route: dict[str, Any] | None, answer: dict[str, Any] | None) -> str:
    """The supervisor's answer for the chat."""
    answer = answer or {}
    head = route_line(route) + "\n\n" if route else ""
    if answer.get("kind") == "diagnosis":
        return head + diagnosis_markdown(answer.get("diagnosis") or {})
    text = str(answer.get("text", "")) or "No answer was produced."
    return head + text


def describe_node(name: str, result: dict[str, Any]) -> str:
    """One line for a finished graph node (shown as the output of its step)."""
    if "route" in result:
        r = result["route"]
        return f"route -> {r.get('agent')} ({r.get('method')}, confidence {float(r.get('confidence', 0)):.2f})"
    if "answer" in result:
        a = result["answer"]
        if a.get("kind") == "diagnosis":
            d = a.get("diagnosis") or {}
            calls = ", ".join(sorted({c.get("name", "?") for c in a.get("tool_calls") or []}))
            return f"diagnosis with {len(d.get('causes') or [])} cause(s)" + (f"; tools: {calls}" if calls else "")
        return "answered"
    messages = result.get("messages") or []
    tools = [str(getattr(m, "name", "")) for m in messages if getattr(m, "type", "") == "tool"]
    if tools:
        return "results of " + ", ".join(tools)
    requested = [c["name"] for m in messages for c in getattr(m, "tool_calls", None) or []]
    if requested:
        return "calls " + ", ".join(requested)
    if "last_decision" in result:
        d = result["last_decision"]
        return f"{d.get('decision')} by {d.get('approver')}" + (f": {d['comment']}" if d.get("comment") else "")
    done = [k for k in ("dataset", "traces", "judgments", "analysis", "comparison", "deployment", "feedback")
            if k in result]
    if done:
        runs = result.get("runs") or {}
        return f"{', '.join(done)} ready" + (f" (MLflow runs: {', '.join(runs)})" if runs else "")
    return _fallback(result)


def _fallback(result: dict[str, Any]) -> str:
    return ", ".join(sorted(result)) + " updated" if result else "done"


def gate_title(request: dict[str, Any]) -> str:
    """``dataset -> simulation`` in words."""
    frm, to = request.get("stage_from", "?"), request.get("stage_to", "?")
    return f"{STAGE_NAMES.get(frm, frm)} → {STAGE_NAMES.get(to, to)}"


def approval_card(request: dict[str, Any], thread_id: str, kind: str = "lifecycle") -> str:
    """The body of an approval card: summary, key metrics, artifacts and what each decision does."""
    metrics = request.get("metrics") or {}
    where = f"Project `{request.get('project_id')}` · {kind} thread `{thread_id}`"
    parts = [f"### Approval needed: {gate_title(request)}", f"{where} · gate #{request.get('gate_seq', 0)}",
             str(request.get("summary", ""))]
    if request.get("error"):
        parts.append(f"**Refused:** {request['error']}")
    if metrics:
        parts.append(table([(k, v) for k, v in metrics.items()], ("metric", "value")))
    artifacts = request.get("artifacts") or []
    if artifacts:
        parts.append("**Artifacts**\n\n" + "\n".join(f"- {a}" for a in artifacts))
    allowed = request.get("allowed") or ["approve", "reject", "revise"]
    meaning = {"approve": "**Approve** moves on", "reject": "**Reject** sends the work back with your reason",
               "revise": "**Revise** re-runs this stage with your instructions"}
    parts.append(" · ".join(meaning[d] for d in allowed if d in meaning) + ".")
    return "\n\n".join(parts)


def decision_line(decision: str, approver: str, comment: str) -> str:
    """What was decided at a gate, by whom."""
    verb = {"approve": "Approved", "reject": "Rejected", "revise": "Sent back for revision"}.get(decision, decision)
    return f"**{verb}** by `{approver}`" + (f": {comment}" if comment else ".")


def lifecycle_end(values: dict[str, Any]) -> str:
    """The closing message of a finished lifecycle run."""
    history = values.get("history") or []
    rows = [(h.get("gate"), h.get("decision"), h.get("approver"), h.get("comment") or "") for h in history]
    dep = values.get("deployment") or {}
    head = "### Lifecycle finished"
    if dep:
        head += f"\n\nDeployment: `{dep.get('registered_name')}` version {dep.get('version')} is {dep.get('status')}."
    return head + ("\n\n" + table(rows, ("gate", "decision", "approver", "comment")) if rows else "")


def ingest_markdown(summary: dict[str, Any], rejects: dict[str, list[dict[str, Any]]]) -> str:
    """An ingestion summary: rows per table (read / loaded / rejected), embeddings, timings, first rejects."""
    rows = [(name, t.get("rows_read", 0), t.get("rows_loaded", 0), t.get("rows_rejected", 0),
             t.get("inserted", 0), t.get("updated", 0), t.get("unchanged", 0))
            for name, t in (summary.get("tables") or {}).items()]
    parts = [f"### Ingestion `{summary.get('ingest_id')}` finished",
             table(rows, ("table", "read", "loaded", "rejected", "inserted", "updated", "unchanged"))]
    emb = summary.get("embeddings") or {}
    if emb.get("skipped"):
        parts.append("Embeddings: skipped.")
    elif emb:
        parts.append(f"Embeddings ({emb.get('embedder')}, {emb.get('dim')}-d): {emb.get('embedded', 0)} new, "
                     f"{emb.get('cached', 0)} from cache.")
    secs = summary.get("seconds") or {}
    if secs:
        parts.append("Time: " + ", ".join(f"{k} {v:.1f} s" for k, v in secs.items()))
    total_rejected = sum(int(t.get("rows_rejected", 0)) for t in (summary.get("tables") or {}).values())
    if total_rejected:
        noun = "row" if total_rejected == 1 else "rows"
        parts.append(f"**{total_rejected} {noun} rejected** (quarantined; the rejects CSVs are attached):")
        shown = [(name, r.get("row", ""), r.get("column", ""), r.get("reason", ""))
                 for name, items in rejects.items() for r in items[:5]]
        parts.append(table(shown, ("table", "row", "column", "reason")))
    else:
        parts.append("No rows rejected.")
    for name, t in (summary.get("tables") or {}).items():
        for w in t.get("warnings") or []:
            parts.append(f"- warning ({name}): {w}")
    return "\n\n".join(parts)

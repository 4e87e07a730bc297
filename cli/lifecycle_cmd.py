"""`opsgraph pipeline run` and `opsgraph approvals ...`: the evaluation lifecycle from the terminal."""

from __future__ import annotations

import getpass
import uuid
from typing import Any

import typer
from rich.panel import Panel
from rich.prompt import Prompt
from rich.table import Table

from cli.common import console, emit_json, fail
from core.lifecycle_config import DEFAULTS, agent_ref

pipeline_app = typer.Typer(help="The evaluation lifecycle end to end, with a gate at every stage.",
                           no_args_is_help=True)
approvals_app = typer.Typer(help="Pending stage gates: list, show, approve, reject, revise.", no_args_is_help=True)
AUTO_APPROVER = "pipeline-auto"


def _agent(ref: str) -> dict[str, str]:
    try:
        return agent_ref(ref)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def show_request(req: dict[str, Any]) -> None:
    """Print an approval request as a card."""
    table = Table(show_header=False, box=None)
    for k, v in req.get("metrics", {}).items():
        table.add_row(str(k), str(v))
    body = f"{req['summary']}\n" + (f"\n[red]{req['error']}[/]\n" if req.get("error") else "")
    console.print(Panel.fit(body, title=f"gate {req['stage_from']} -> {req['stage_to']} (thread {req['thread_id']})"))
    console.print(table)
    for a in req.get("artifacts", []):
        console.print(f"  artifact: {a}")


def _ask(req: dict[str, Any]) -> dict[str, Any]:
    choice = Prompt.ask("decision", choices=list(req.get("allowed", ["approve", "reject", "revise"])),
                        default="approve", console=console)
    comment = Prompt.ask("comment (reason or instructions)", default="", console=console)
    return {"decision": choice, "approver": getpass.getuser(), "comment": comment}


def _auto(req: dict[str, Any]) -> dict[str, Any]:
    return {"decision": "approve", "approver": AUTO_APPROVER,
            "comment": "auto-approved by `opsgraph pipeline run --approve auto` (no person reviewed this gate)"}


@pipeline_app.command("run")
def pipeline_run(
    project: str = typer.Option(..., "--project", help="Project id (one MLflow experiment per project)."),
    approve: str = typer.Option("interactive", "--approve", help="interactive (ask at each gate) | auto"),
    candidate: str = typer.Option(DEFAULTS.candidate, help="Agent under evaluation, NAME@VERSION."),
    baseline: str = typer.Option(DEFAULTS.baseline, help="Agent it is compared with, NAME@VERSION."),
    scenarios: int = typer.Option(DEFAULTS.n_scenarios, help="Scenarios in the dataset."),
    seeds: str = typer.Option(DEFAULTS.seeds_text, help="Simulation seeds, comma-separated."),
    thread: str | None = typer.Option(None, help="Resume this lifecycle thread instead of starting one."),
    registered_name: str = typer.Option(DEFAULTS.registered_name, help="Model name in the MLflow registry."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Chain every stage: dataset, simulation, judging, analytics, comparison, deployment, feedback."""
    from graphs.runner import decide, lifecycle_graph, pending, start, state_values

    if approve not in ("interactive", "auto"):
        fail("--approve must be interactive or auto", as_json=as_json)
    thread_id = thread or f"lc-{project}-{uuid.uuid4().hex[:8]}"
    decisions: list[dict[str, Any]] = []
    with lifecycle_graph() as graph:
        if thread:
            req = pending(graph, thread_id)
        else:
            with console.status("dataset stage"):
                req = start(graph, thread_id, {"project_id": project, "candidate": _agent(candidate),
                                               "baseline": _agent(baseline), "n_scenarios": scenarios,
                                               "registered_name": registered_name,
                                               "seeds": [int(s) for s in seeds.split(",") if s.strip()]})
        while req is not None:
            if not as_json:
                show_request(req)
            decision = _auto(req) if approve == "auto" else _ask(req)
            decisions.append({"gate": f"{req['stage_from']}->{req['stage_to']}", **decision})
            with console.status(f"{req['stage_to']} stage"):
                req = decide(graph, thread_id, decision)
        final = state_values(graph, thread_id)
    from agents.agents_report import agents_report

    with console.status("agents report"):  # the agents' own behaviour, the judge's cost and latency included
        final["agents_report"] = agents_report(project, probes=False)["run_id"]
    _report(thread_id, final, decisions, as_json)


def _report(thread_id: str, final: dict[str, Any], decisions: list[dict[str, Any]], as_json: bool) -> None:
    from core.tracking import tracking_uri

    out = {"thread_id": thread_id, "project_id": final.get("project_id"), "runs": final.get("runs", {}),
           "agents_report_run": final.get("agents_report"),
           "deployment": {k: v for k, v in (final.get("deployment") or {}).items() if k != "plan"},
           "comparison": {k: (final.get("comparison") or {}).get(k) for k in ("winner", "significant")},
           "decisions": decisions, "mlflow_tracking_uri": tracking_uri()}
    if as_json:
        emit_json(out)
        return
    console.print(f"[bold green]lifecycle finished[/] thread {thread_id}; deployment: {out['deployment']}")
    console.print(f"MLflow runs: {out['runs']}")
    console.print(f"open the MLflow UI: .venv/bin/mlflow ui --backend-store-uri {out['mlflow_tracking_uri']}")


@approvals_app.command("list")
def approvals_list(project: str | None = typer.Option(None, "--project"),
                   as_json: bool = typer.Option(False, "--json")) -> None:
    """Threads waiting at a gate: batch lifecycle runs and chat conversations."""
    from graphs.runner import gated_graphs, pending
    from graphs.threads import threads

    with gated_graphs() as graphs:
        waiting = [{**r, "kind": t["kind"]} for t in threads(project)
                   if (r := pending(graphs[t["kind"]], t["thread_id"])) is not None]
    if as_json:
        emit_json(waiting)
        return
    table = Table("thread", "kind", "project", "gate", "summary")
    for r in waiting:
        table.add_row(r["thread_id"], r["kind"], r["project_id"], f"{r['stage_from']} -> {r['stage_to']}",
                      r["summary"][:80])
    console.print(table)


@approvals_app.command("show")
def approvals_show(thread: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """The gate a thread waits on, and its audit trail."""
    from graphs.audit import audit_trail
    from graphs.runner import gated_graphs, pending
    from graphs.threads import thread_kind

    with gated_graphs() as graphs:
        req = pending(graphs[thread_kind(thread)], thread)
    trail = audit_trail(thread_id=thread)
    if as_json:
        emit_json({"pending": req, "audit": trail})
        return
    if req:
        show_request(req)
    else:
        console.print(f"thread {thread} is not waiting at a gate")
    for row in trail:
        console.print(f"  {row['decided_at']:%Y-%m-%d %H:%M:%S} {row['stage_from']}->{row['stage_to']}: "
                      f"{row['decision']} by {row['approver']} {row['comment']!r}")


def _decide(thread: str, decision: str, approver: str | None, comment: str, as_json: bool) -> None:
    from graphs.runner import decide, gated_graphs
    from graphs.threads import thread_kind

    payload = {"decision": decision, "approver": approver or getpass.getuser(), "comment": comment}
    with gated_graphs() as graphs:
        try:
            with console.status("running the next stage"):
                nxt = decide(graphs[thread_kind(thread)], thread, payload)
        except LookupError as exc:
            fail(str(exc), as_json=as_json)
    if nxt and nxt.get("error"):
        fail(f"decision refused, thread still paused: {nxt['error']}", code=2, as_json=as_json)
    if as_json:
        emit_json({"thread_id": thread, "decision": payload, "next": nxt})
    elif nxt:
        show_request(nxt)
    else:
        console.print(f"thread {thread} finished")


@approvals_app.command("approve")
def approvals_approve(thread: str, approver: str | None = typer.Option(None), comment: str = "",
                      as_json: bool = typer.Option(False, "--json")) -> None:
    """Approve the pending gate and run the next stage."""
    _decide(thread, "approve", approver, comment, as_json)


@approvals_app.command("reject")
def approvals_reject(thread: str, comment: str = typer.Option(..., help="The reason (required)."),
                     approver: str | None = typer.Option(None), as_json: bool = typer.Option(False, "--json")) -> None:
    """Reject: the work goes back to the stage that produced it, with the reason."""
    _decide(thread, "reject", approver, comment, as_json)


@approvals_app.command("revise")
def approvals_revise(thread: str, comment: str = typer.Option(..., help="The instructions (required)."),
                     approver: str | None = typer.Option(None), as_json: bool = typer.Option(False, "--json")) -> None:
    """Revise: the stage re-runs with the instructions."""
    _decide(thread, "revise", approver, comment, as_json)

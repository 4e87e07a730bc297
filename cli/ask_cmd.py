"""`opsgraph ask`: one turn of the supervisor on a (resumable) thread."""

from __future__ import annotations

import uuid
from contextlib import nullcontext
from typing import Any

import typer
from rich.markdown import Markdown

from cli.common import console, emit_json, fail


def ask_question(question: str, thread_id: str) -> dict[str, Any]:
    """Run the supervisor for ``question`` on ``thread_id`` with the Postgres checkpointer."""
    from graphs.persistence import postgres_checkpointer
    from graphs.runner import say
    from graphs.supervisor import build_supervisor

    with postgres_checkpointer() as saver:
        out = say(build_supervisor().compile(checkpointer=saver), thread_id, question)
    return {"thread_id": thread_id, "agent": out["route"]["agent"], "route": out["route"], "answer": out["answer"]}


def ask_cmd(
    question: str = typer.Argument(..., help="Your question, e.g. 'why did llama-3.1-70b time out in March?'"),
    thread: str | None = typer.Option(None, "--thread", help="Continue this thread (multi-turn)."),
    as_json: bool = typer.Option(False, "--json", help="Print the chosen agent and the structured answer."),
) -> None:
    """Ask opsgraph: the supervisor routes to one of nine agents and answers with evidence."""
    from graphs.runner import GatePending

    thread_id = thread or f"ask-{uuid.uuid4().hex[:12]}"
    with console.status("routing and gathering evidence") if not as_json else nullcontext():
        try:
            result = ask_question(question, thread_id)
        except GatePending as exc:
            fail(f"{exc}: `opsgraph approvals approve|reject|revise {thread_id}`", code=2, as_json=as_json)
    if as_json:
        emit_json(result)
        return
    route = result["route"]
    console.print(f"[bold]agent:[/] {route['agent']} ({route['method']}, confidence {route['confidence']:.2f})")
    answer = result["answer"]
    if answer.get("kind") == "diagnosis":
        from core.diagnosis import Diagnosis

        console.print(Markdown(Diagnosis.model_validate(answer["diagnosis"]).to_markdown()))
    else:
        console.print(answer.get("text", ""))
    console.print(f"[dim]thread: {thread_id} (continue with --thread {thread_id})[/]")


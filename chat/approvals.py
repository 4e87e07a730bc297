"""Evaluation lifecycles from the chat: start one, show each stage gate as an approval card, act on decisions.

A card shows the gate's summary, key metrics, artifact links (the MLflow run files, downloadable) and
Approve / Reject / Revise buttons. A click resumes the paused graph with ``Command(resume=...)``; the approver is
the signed-in user (``anonymous`` without authentication), and the graph's gate writes the audit record. Users
without the approver role are told so and the graph stays paused. Reject and revise ask for a comment first.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import uuid
from typing import Any

import chainlit as cl
from langgraph.types import Command

from chat.answer_charts import answer_figures
from chat.render import answer_markdown, approval_card, decision_line, describe_node, gate_title, lifecycle_end
from chat.runtime import get_runtime, stream_with_steps
from core.lifecycle_config import DEFAULTS, agent_ref
from core.users import ANONYMOUS, DENIED, can_approve, role_of
from graphs.threads import ThreadKind

ACTION = "gate_decision"
LABELS = {"approve": ("Approve", "check"), "reject": ("Reject", "x"), "revise": ("Revise", "pencil")}
COMMENT_TIMEOUT_S = 900
_locks: dict[str, asyncio.Lock] = {}
USAGE = ("`/lifecycle [project=P] [candidate=NAME@VERSION] [baseline=NAME@VERSION] [scenarios=N] [seeds=0,1] "
         f"[turns=N] [laps=N]` (defaults: project = the candidate's name, candidate {DEFAULTS.candidate}, "
         f"baseline {DEFAULTS.baseline}, {DEFAULTS.n_scenarios} scenarios, seeds {DEFAULTS.seeds_text}, "
         f"{DEFAULTS.max_turns} turns, {DEFAULTS.max_laps} lap)")


def parse_lifecycle_args(text: str) -> dict[str, Any]:
    """Lifecycle inputs from ``key=value`` words (see ``USAGE``); raises ValueError with the reason."""
    args: dict[str, str] = {}
    for word in shlex.split(text):
        key, sep, value = word.partition("=")
        if not sep or not value:
            raise ValueError(f"expected key=value, got {word!r}")
        args[key.strip().lower()] = value.strip()
    known = {"project", "candidate", "baseline", "scenarios", "seeds", "turns", "laps"}
    if unknown := sorted(set(args) - known):
        raise ValueError(f"unknown option(s) {', '.join(unknown)}")
    candidate = agent_ref(args.get("candidate", DEFAULTS.candidate))
    inputs: dict[str, Any] = {"project_id": args.get("project") or candidate["name"], "candidate": candidate,
                              "baseline": agent_ref(args.get("baseline", DEFAULTS.baseline))}
    try:
        if "scenarios" in args:
            inputs["n_scenarios"] = int(args["scenarios"])
        if "seeds" in args:
            inputs["seeds"] = [int(s) for s in args["seeds"].split(",") if s.strip()]
        if "turns" in args:
            inputs["max_turns"] = int(args["turns"])
        if "laps" in args:
            inputs["max_laps"] = int(args["laps"])
    except ValueError as exc:
        raise ValueError(f"scenarios, seeds, turns and laps are integers ({exc})") from exc
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", inputs["project_id"]):
        raise ValueError("project ids use letters, digits, '_', '.' and '-' (at most 64)")
    return inputs


def thread_prefix(chat_thread_id: str) -> str:
    """Lifecycle threads started from a chat are named after it, so a resumed chat finds them again."""
    return f"lc-{chat_thread_id}-"


def current_identity() -> str:
    """The signed-in user's identifier, or ``anonymous``."""
    user = cl.user_session.get("user")
    return str(getattr(user, "identifier", "") or ANONYMOUS)


def _artifact_files(artifacts: list[str]) -> list[tuple[str, str]]:
    """(display name, local path) of the files of the MLflow runs a gate cites (blocking)."""
    import mlflow

    from core.settings import get_settings
    from core.tracking import configure_mlflow

    configure_mlflow()
    out: list[tuple[str, str]] = []
    for item in artifacts:
        match = re.match(r"mlflow run (\S+): ([0-9a-f]+)$", item.strip())
        if not match:
            continue
        key, run_id = match.groups()
        dst = get_settings().home_dir / "chat" / "artifacts" / run_id
        done = dst / ".complete"
        try:
            if not done.exists():
                mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=str(dst))
                done.touch()
        except Exception:  # a missing run must not hide the card
            continue
        files = (p for p in dst.rglob("*") if p.is_file() and p != done and p.stat().st_size < 20_000_000)
        for path in sorted(files):
            out.append((f"{key}/{path.name}", str(path)))
    return out[:8]


async def show_gate(thread_id: str, request: dict[str, Any], kind: ThreadKind = "lifecycle") -> None:
    """Post the approval card of a paused thread (a lifecycle run, or this chat's conversation)."""
    files = await asyncio.to_thread(_artifact_files, list(request.get("artifacts") or []))
    actions = [cl.Action(name=ACTION, label=LABELS[d][0], icon=LABELS[d][1], tooltip=f"{d} this gate",
                         payload={"thread_id": thread_id, "gate_seq": request.get("gate_seq", 0), "decision": d,
                                  "kind": kind})
               for d in request.get("allowed") or LABELS if d in LABELS]
    elements: list[Any] = [cl.File(name=name, path=path, display="inline") for name, path in files]
    msg = cl.Message(content=approval_card(request, thread_id, kind), actions=actions, elements=elements)
    await msg.send()
    cards: dict[str, cl.Message] = cl.user_session.get("gate_cards") or {}
    cards[f"{thread_id}:{request.get('gate_seq', 0)}"] = msg
    cl.user_session.set("gate_cards", cards)


async def _graph(kind: ThreadKind) -> Any:
    rt = await get_runtime()
    return rt.lifecycle if kind == "lifecycle" else rt.supervisor


async def _pending(thread_id: str, kind: ThreadKind = "lifecycle") -> dict[str, Any] | None:
    from graphs.runner import pending

    return await asyncio.to_thread(pending, await _graph(kind), thread_id)


async def advance(thread_id: str, inputs: Any, title: str, kind: ThreadKind = "lifecycle") -> None:
    """Run the thread until its next gate (or the end) with steps shown, then post the card, the lifecycle's
    summary or the conversation's answer."""
    from graphs.runner import pending, state_values

    graph = await _graph(kind)
    if kind == "conversation" and not isinstance(inputs, Command):
        request = await asyncio.to_thread(pending, graph, thread_id)
        if request is not None:  # a new message would abandon the gate: it is decided first
            await cl.Message(content=f"This conversation waits for a decision at the {gate_title(request)} gate "
                             "(below): approve, reject or revise it first, then ask again.").send()
            await show_gate(thread_id, request, kind)
            return
    before = (await asyncio.to_thread(state_values, graph, thread_id)).get("answer") if kind == "conversation" \
        else None
    try:
        await stream_with_steps(graph, inputs, thread_id, title, describe=describe_node)
    except Exception as exc:  # the thread keeps its last checkpoint; say so
        await cl.ErrorMessage(content=f"The {kind} stopped with an error: {exc}\n\nThread `{thread_id}` keeps its "
                              "last checkpoint; `/approvals` lists its pending gate if there is one.").send()
        return
    values = await asyncio.to_thread(state_values, graph, thread_id)
    if kind == "conversation" and values.get("answer") != before:  # a rollout step leaves the answer as it was
        charts: list[Any] = [cl.Plotly(name=name, figure=fig, display="inline", size="large")
                             for name, fig in answer_figures(values.get("answer"))]
        await cl.Message(content=answer_markdown(values.get("route"), values.get("answer")), elements=charts).send()
    request = await _pending(thread_id, kind)
    if request is not None:
        await show_gate(thread_id, request, kind)
    elif kind == "lifecycle":
        await cl.Message(content=lifecycle_end(values)).send()


async def start_lifecycle(arg_text: str, chat_thread_id: str) -> None:
    """``/lifecycle ...``: start a run (a new LangGraph thread) and stop at its first gate."""
    from graphs.projects import ensure_project
    from graphs.threads import register_thread

    try:
        inputs = parse_lifecycle_args(arg_text)
    except ValueError as exc:
        await cl.Message(content=f"Cannot start the lifecycle: {exc}.\n\nUsage: {USAGE}").send()
        return
    thread_id = thread_prefix(chat_thread_id) + uuid.uuid4().hex[:8]
    await asyncio.to_thread(ensure_project, inputs["project_id"])
    await asyncio.to_thread(register_thread, thread_id, inputs["project_id"])
    cand = inputs["candidate"]
    await cl.Message(content=f"Starting the evaluation lifecycle of `{cand['name']}@{cand['version']}` in project "
                     f"`{inputs['project_id']}` (thread `{thread_id}`). Every stage waits for approval.").send()
    await advance(thread_id, inputs, "lifecycle: dataset")


async def _retire_card(thread_id: str, gate_seq: int, note: str) -> None:
    cards: dict[str, cl.Message] = cl.user_session.get("gate_cards") or {}
    msg = cards.pop(f"{thread_id}:{gate_seq}", None)
    if msg is not None:
        await msg.remove_actions()
        msg.content += f"\n\n{note}"
        await msg.update()


async def _comment(decision: str, request: dict[str, Any]) -> str | None:
    prompt = ("Why do you reject this gate? The reason goes back to the stage that produced the work."
              if decision == "reject" else "What should this stage change? Your instructions re-run it.")
    reply = await cl.AskUserMessage(content=f"{prompt} ({gate_title(request)})", timeout=COMMENT_TIMEOUT_S).send()
    text = str((reply or {}).get("output", "")).strip()
    return text or None


async def on_gate_action(action: cl.Action) -> None:
    """A click on Approve / Reject / Revise."""
    payload = action.payload
    thread_id, gate_seq, decision = str(payload["thread_id"]), int(payload["gate_seq"]), str(payload["decision"])
    kind: ThreadKind = "conversation" if payload.get("kind") == "conversation" else "lifecycle"
    approver = current_identity()
    if not can_approve(approver):
        await cl.Message(content=f"**Not allowed:** {DENIED}. You are signed in as `{approver}` "
                         f"(role: {role_of(approver)}); the gate stays paused for an approver.").send()
        return
    lock = _locks.setdefault(thread_id, asyncio.Lock())
    async with lock:
        request = await _pending(thread_id, kind)
        if request is None or int(request.get("gate_seq", -1)) != gate_seq:
            await _retire_card(thread_id, gate_seq, "*This gate was already decided.*")
            return
        comment = ""
        if decision in ("reject", "revise"):
            answer = await _comment(decision, request)
            if answer is None:
                await cl.Message(content="No comment given: the gate stays paused.").send()
                return
            comment = answer
        await _retire_card(thread_id, gate_seq, decision_line(decision, approver, comment))
        resume = {"decision": decision, "approver": approver, "comment": comment}
        await advance(thread_id, Command(resume=resume), f"{kind}: after {gate_title(request)}", kind)


async def list_pending(prefix: str | None = None, match: str = "", limit: int = 10) -> int:
    """Post a card for every paused thread (lifecycle runs and conversations), newest first; returns how many.

    ``prefix`` keeps one chat's threads; ``match`` keeps threads whose id or project contains it.
    """
    from graphs.threads import threads

    known = await asyncio.to_thread(threads)
    shown = 0
    for row in known:
        thread_id = str(row["thread_id"])
        if prefix and not thread_id.startswith(prefix):
            continue
        if match and match not in thread_id and match not in str(row.get("project_id", "")):
            continue
        request = await _pending(thread_id, row["kind"])
        if request is not None:
            await show_gate(thread_id, request, row["kind"])
            shown += 1
            if shown >= limit:
                break
    return shown

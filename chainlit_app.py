"""The opsgraph chat (Chainlit): ask the supervisor, see the dashboard, ingest telemetry, run the evaluation
lifecycle with its approval gates.

Nothing but UI: the graphs (``graphs.supervisor``, ``graphs.lifecycle``) do the work. Each chat is a LangGraph
thread on the Postgres checkpointer (``chat-<chainlit thread id>``), so a reopened chat continues its
conversation. Run it with ``make chat`` (``chainlit run chainlit_app.py --headless --host 127.0.0.1``). Login is
optional: set ``OPSGRAPH_CHAT_USERS`` (``alice:pw:approver,bob:pw:viewer``) and ``CHAINLIT_AUTH_SECRET``.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

for _key, _value in (("MLFLOW_DISABLE_TELEMETRY", "true"), ("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"),
                     ("TOKENIZERS_PARALLELISM", "false"), ("LANGGRAPH_CLI_NO_ANALYTICS", "1")):
    os.environ.setdefault(_key, _value)

import chainlit as cl  # noqa: E402
from chainlit.types import CommandDict, ThreadDict  # noqa: E402

from agents.setup import register_offline_handlers  # noqa: E402
from chat import approvals, history, offline, reviews, upload  # noqa: E402
from chat.runtime import close_runtime, get_runtime, graph_config  # noqa: E402
from core import users as auth  # noqa: E402

offline.install()
register_offline_handlers()

COMMANDS: list[CommandDict] = [
    {"id": cid, "icon": icon, "description": text, "button": False, "persistent": False, "selected": False}
    for cid, icon, text in (
        ("dashboard", "chart-line", "Failures over time, latency per model, top clusters, map (option: project)"),
        ("lifecycle", "workflow", "Start an evaluation lifecycle (options: key=value)"),
        ("approvals", "stamp", "Stage gates waiting for a decision (filter: project or thread)"),
        ("review", "list-checks", "Label the traces the judge was unsure about (option: project)"),
        ("upload", "upload", "How to ingest telemetry CSVs from the chat"),
    )
]
LOCAL_COMMANDS = {c["id"] for c in COMMANDS}


@cl.data_layer
def data_layer() -> Any:
    """Chat history in Postgres when login is on (else none; see ``chat.history``)."""
    return history.make_data_layer()


if auth.auth_enabled():

    @cl.password_auth_callback
    async def login(username: str, password: str) -> cl.User | None:
        """Accounts from ``OPSGRAPH_CHAT_USERS``; the role travels in the user's metadata."""
        user = auth.check_password(username, password)
        if user is None:
            return None
        return cl.User(identifier=user.identifier, metadata={"role": user.role, "provider": "credentials"})


@cl.set_starters
async def starters(user: cl.User | None = None, language: str | None = None) -> list[cl.Starter]:
    """Common tasks on an empty chat."""
    return [
        cl.Starter(label="Why are requests failing?", message="Why are requests failing?"),
        cl.Starter(label="Latency per model", message="What is the p95 latency per model?"),
        cl.Starter(label="Dashboard", message="/dashboard"),
        cl.Starter(label="Start an evaluation lifecycle", message="/lifecycle"),
    ]


def supervisor_thread() -> str:
    """The LangGraph thread of this chat (derived from Chainlit's thread id, stable across resumes)."""
    return f"chat-{cl.context.session.thread_id}"


async def _prepare_session() -> None:
    await cl.context.emitter.set_commands(COMMANDS)


@cl.on_chat_start
async def on_chat_start() -> None:
    """A new chat: register the commands (starters are shown by the UI)."""
    await _prepare_session()


@cl.on_chat_resume
async def on_chat_resume(thread: ThreadDict) -> None:
    """A reopened chat: the agent conversation continues on the same LangGraph thread; pending gates are shown."""
    await _prepare_session()
    # Chainlit replays the stored thread in the browser right after this hook, replacing what is shown, so the
    # greeting and the live approval cards are posted a moment later
    asyncio.create_task(_greet_resumed())  # noqa: RUF006 (the session holds the context; nothing awaits it)


async def _greet_resumed(delay_s: float = 1.0) -> None:
    await asyncio.sleep(delay_s)
    rt = await get_runtime()
    state = await asyncio.to_thread(rt.supervisor.get_state, graph_config(supervisor_thread()))
    n = len((state.values or {}).get("messages", []))
    await cl.Message(content=f"Welcome back. This chat continues its agent conversation ({n} earlier messages "
                     "kept), so follow-up questions keep their context.").send()
    await approvals.list_pending(prefix=approvals.thread_prefix(cl.context.session.thread_id))


_refresher: list[Any] = []


@cl.on_app_startup
def on_app_startup() -> None:
    """Serve the OTLP/HTTP receiver next to the chat (``POST /otlp/v1/traces``, project API keys) with its
    summary refresher."""
    from chainlit.server import app as server

    from services.otlp_receiver import SummaryRefresher, create_app

    server.mount("/otlp", create_app(refresh=False))
    _refresher.append(SummaryRefresher())
    _refresher[0].start()


@cl.on_app_shutdown
def on_app_shutdown() -> None:
    """Stop the receiver's refresher; close the checkpointer's pool."""
    for refresher in _refresher:
        refresher.stop()
    close_runtime()


async def ask_supervisor(question: str) -> None:
    """One turn of the supervisor, with its nodes shown as steps, answered as structured sections."""
    from langchain_core.messages import HumanMessage

    await approvals.advance(supervisor_thread(), {"messages": [HumanMessage(question)]}, "supervisor",
                            "conversation")


async def show_dashboard(project: str = "") -> None:
    """``/dashboard [project]``: headline figures, top clusters and the charts as interactive plotly elements."""
    from chat.dashboard import build_dashboard
    from core.projects import DEFAULT_PROJECT

    msg = cl.Message(content="Building the dashboard…")
    await msg.send()
    try:
        dash = await asyncio.to_thread(build_dashboard, project.strip() or DEFAULT_PROJECT)
    except Exception as exc:
        msg.content = f"The dashboard could not be built: {exc}"
        await msg.update()
        return
    msg.content = dash.overview + "".join(f"\n\n*{note}*" for note in dash.notes)
    charts: list[Any] = [cl.Plotly(name=title, figure=fig, display="inline", size="large")
                         for title, fig in dash.figures]
    msg.elements = charts
    await msg.update()


def split_command(message: cl.Message) -> tuple[str | None, str]:
    """(command, rest): from Chainlit's command picker or a typed ``/command`` (supervisor commands pass through)."""
    text = (message.content or "").strip()
    if message.command:
        return message.command, text
    if text.startswith("/"):
        word, _, rest = text[1:].partition(" ")
        if word.lower() in LOCAL_COMMANDS:
            return word.lower(), rest.strip()
    return None, text


@cl.on_message
async def on_message(message: cl.Message) -> None:
    """Route a message: uploaded CSVs, a chat command, or a question for the supervisor."""
    command, text = split_command(message)
    files = [e for e in message.elements or [] if getattr(e, "path", None)]
    if files:
        await upload.ingest_uploads(files)  # type: ignore[arg-type]
        if not text and not command:
            return
    if command == "dashboard":
        await show_dashboard(text)
    elif command == "lifecycle":
        await approvals.start_lifecycle(text, cl.context.session.thread_id)
    elif command == "approvals":
        if not await approvals.list_pending(match=text):
            await cl.Message(content="No stage gate is waiting for a decision"
                             + (f" matching `{text}`." if text else ".")).send()
    elif command == "review":
        await reviews.show_reviews(text)
    elif command == "upload":
        await cl.Message(content=upload.upload_help()).send()
    elif text:
        await ask_supervisor(text)


@cl.action_callback(reviews.ACTION)
async def on_review_label(action: cl.Action) -> None:
    """Pass / Fail on a review card of the judge's queue."""
    await reviews.on_label_action(action)


@cl.action_callback(approvals.ACTION)
async def on_gate_decision(action: cl.Action) -> None:
    """Approve / Reject / Revise on an approval card."""
    await approvals.on_gate_action(action)

"""The graphs the chat drives, compiled once with one Postgres checkpointer for the app's lifetime, and a
streaming helper that shows every graph node as a Chainlit step while it runs.

LangGraph's checkpointer here is synchronous, so graphs run in worker threads; their task events are passed
back to the event loop, which opens a step when a node starts and closes it with a short result when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from threading import Lock
from typing import Any

import chainlit as cl
from chainlit.utils import utc_now

from core.lifecycle_config import graph_config

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Compiled graphs sharing one checkpointer; close it at shutdown."""

    supervisor: Any
    lifecycle: Any
    _stack: contextlib.ExitStack

    def close(self) -> None:
        """Close the checkpointer's connection pool."""
        self._stack.close()


_runtime: Runtime | None = None
_lock = Lock()


def _open() -> Runtime:
    from graphs.lifecycle import build_lifecycle
    from graphs.persistence import postgres_checkpointer
    from graphs.supervisor import build_supervisor

    stack = contextlib.ExitStack()
    saver = stack.enter_context(postgres_checkpointer())
    return Runtime(build_supervisor().compile(checkpointer=saver), build_lifecycle().compile(checkpointer=saver),
                   stack)


def runtime_sync() -> Runtime:
    """The process-wide runtime, opened on first use (blocking)."""
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = _open()
        return _runtime


async def get_runtime() -> Runtime:
    """The process-wide runtime (opened in a worker thread on first use)."""
    return _runtime if _runtime is not None else await asyncio.to_thread(runtime_sync)


def close_runtime() -> None:
    """Close the runtime if it was opened."""
    global _runtime
    with _lock:
        if _runtime is not None:
            _runtime.close()
            _runtime = None


Describe = Callable[[str, dict[str, Any]], str]


def _default_describe(name: str, result: dict[str, Any]) -> str:
    return ", ".join(sorted(result)) if result else "done"


async def stream_with_steps(graph: Any, inputs: Any, thread_id: str, title: str,
                            describe: Describe = _default_describe, hidden: tuple[str, ...] = ()) -> None:
    """Run ``graph`` on ``inputs`` in a worker thread; show a parent step ``title`` with one child step per node,
    subgraph nodes included (an agent's model calls and tool rounds show as "failure › tools").

    Raises whatever the graph raised. Nodes named in ``hidden`` run without a step.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def work() -> None:
        try:
            for namespace, _mode, event in graph.stream(inputs, graph_config(thread_id), stream_mode=["tasks"],
                                                       subgraphs=True):
                parent_node = namespace[-1].split(":")[0] if namespace else ""
                loop.call_soon_threadsafe(queue.put_nowait, ("task", {**event, "parent": parent_node}))
        except BaseException as exc:  # handed to the event loop, re-raised there
            loop.call_soon_threadsafe(queue.put_nowait, ("error", exc))
        else:
            loop.call_soon_threadsafe(queue.put_nowait, ("done", None))

    worker = loop.run_in_executor(None, work)
    open_steps: dict[str, cl.Step] = {}
    async with cl.Step(name=title, type="run", default_open=False) as parent:
        parent.input = ""
        while True:
            kind, event = await queue.get()
            if kind == "error":
                for step in open_steps.values():
                    step.is_error, step.output = True, "failed"
                    await step.update()
                await worker
                raise event
            if kind == "done":
                break
            name = str(event.get("name", ""))
            if name in hidden or name.startswith("__"):
                continue
            if event.get("parent"):
                name = f"{event['parent']} › {name}"
            if "input" in event:  # a node starts
                step = cl.Step(name=name, type="tool", parent_id=parent.id, show_input=False)
                step.start = utc_now()
                await step.send()
                open_steps[str(event["id"])] = step
            elif (step_done := open_steps.pop(str(event.get("id")), None)) is not None:
                step_done.end = utc_now()
                if event.get("error"):
                    step_done.is_error, step_done.output = True, str(event["error"])[:500]
                elif event.get("interrupts"):
                    step_done.output = "paused: waiting for a decision"
                else:
                    step_done.output = describe(name, event.get("result") or {})
                await step_done.update()
        parent.output = "done"
    await worker

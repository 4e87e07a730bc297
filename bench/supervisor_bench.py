"""The supervisor offline with the Postgres checkpointer: a turn's own overhead and a whole uncached turn, 20
concurrent threads, and a complete lifecycle in one chat thread.

Uses OPSGRAPH_BENCH_HOME when set (a data dir with telemetry and embeddings already ingested), else a scratch
data dir with the generated 9k sample. Model loading is excluded by warm-up turns. Timed questions are texts not
asked before, and the tools' result caches are cleared before each one (the embedder, the router and the loaded
telemetry frame stay), so every tool computes its answer; each tool's own time is measured by a callback and
listed, and the turn's overhead is the turn minus its tools.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import HumanMessage

from bench.common import record, scratch_home

QUESTIONS = [
    "Why did llama-3.1-70b requests time out?", "What is the p95 latency per model?",
    "Why are we seeing so many tool errors?", "Which model costs the most?",
    "Show me interactions similar to a refund request that failed", "Why do hallucinations happen on data analysis?",
]


def _prepare(home: Path | None) -> None:
    if home is not None:
        return
    from core.bootstrap import open_database
    from ingest.generator import generate
    from ingest.pipeline import ingest_dir

    data = Path(os.environ["OPSGRAPH_HOME"]) / "data"
    generate(9000, 0, data)
    db = open_database()
    ingest_dir(db.conn, data, embed=True)
    db.conn.close()


def _distinct_questions() -> list[str]:
    """Debugging questions from the routing evaluation set: every timed turn asks a text not asked before, so
    no per-text cache hides the routing and retrieval embeddings."""
    import json

    from agents.registry import agents_of_kind

    path = Path(__file__).resolve().parents[1] / "tests" / "data" / "routing_eval.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r["q"] for r in rows if r["agent"] in agents_of_kind("debugging")]


class ToolTimer(BaseCallbackHandler):
    """Wall time of every tool call, by tool name (tool calls of one turn may run in parallel threads)."""

    def __init__(self) -> None:
        self.started: dict[Any, tuple[str, float]] = {}
        self.by_tool: dict[str, list[float]] = {}
        self.turn_ms = 0.0

    def on_tool_start(self, serialized: dict[str, Any], input_str: str, *, run_id: Any, **kwargs: Any) -> None:
        """A tool starts."""
        self.started[run_id] = (str((serialized or {}).get("name") or kwargs.get("name") or "tool"),
                                time.perf_counter())

    def on_tool_end(self, output: Any, *, run_id: Any, **kwargs: Any) -> None:
        """A tool ends: its time counts for the turn and for its name."""
        name, t0 = self.started.pop(run_id, ("tool", time.perf_counter()))
        ms = (time.perf_counter() - t0) * 1000
        self.by_tool.setdefault(name, []).append(ms)
        self.turn_ms += ms

    on_tool_error = on_tool_end  # a failing tool's time counts too


def _turn(graph: Any, question: str, thread: str, timer: ToolTimer | None = None) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    config: dict[str, Any] = {"configurable": {"thread_id": thread}, "callbacks": [timer] if timer else []}
    out = graph.invoke({"messages": [HumanMessage(question)]}, config)
    return (time.perf_counter() - t0) * 1000, out


def _clear_tool_caches() -> None:
    """Forget the tools' computed results (the loaded telemetry frame stays: it is the data, not a result)."""
    from tools import ops_tools

    with ops_tools._cache_lock:
        ops_tools._cache.pop("results", None)


def _lifecycle_in_chat(graph: Any) -> tuple[float, dict[str, float]]:
    """One chat thread from a 12-scenario dataset to production feedback, every gate approved at once (no human
    wait): total seconds and seconds per request."""
    from langgraph.types import Command

    thread = f"life-{uuid.uuid4().hex[:6]}"
    config = {"configurable": {"thread_id": thread}, "recursion_limit": 100}
    steps = [("dataset", "Build an evaluation dataset of 12 scenarios for support v2 in project bench-chat"),
             ("create", "looks good"), ("simulation", "simulate support v2 against support v1"),
             ("judging", "/judge judge the last simulation"), ("analytics", "/analyze write the report"),
             ("comparison", "/compare compare v1 and v2"), ("feedback", "/feedback production feedback")]
    spent: dict[str, float] = {}
    for name, text in steps:
        t0 = time.perf_counter()
        graph.invoke({"messages": [HumanMessage(text)]}, config)
        while any(t.interrupts for t in graph.get_state(config).tasks):  # every gate, the rollout steps included
            graph.invoke(Command(resume={"decision": "approve", "approver": "bench"}), config)
        spent[name] = time.perf_counter() - t0
    history = graph.get_state(config).values.get("history", [])
    if [h["gate"] for h in history][:5] != ["dataset->simulation", "simulation->judging", "judging->analytics",
                                             "analytics->comparison", "comparison->deployment"]:
        raise SystemExit(f"the chat lifecycle did not pass its gates: {history}")
    return sum(spent.values()), spent


def main() -> None:
    """Measure and record."""
    from agents.setup import register_offline_handlers
    from graphs.persistence import postgres_checkpointer
    from graphs.supervisor import build_supervisor

    register_offline_handlers()
    given = os.environ.get("OPSGRAPH_BENCH_HOME")
    if given:
        os.environ["OPSGRAPH_HOME"] = given
    with nullcontext() if given else scratch_home():
        _prepare(Path(given) if given else None)
        with postgres_checkpointer(max_size=24) as saver:
            graph = build_supervisor().compile(checkpointer=saver)
            for q in QUESTIONS:  # warm-up: model load, router fit/cache, frame cache
                _turn(graph, q, f"warm-{uuid.uuid4().hex[:6]}")
            timed = _distinct_questions()
            times, overhead, tool_times = [], [], ToolTimer()
            for q in timed:
                _clear_tool_caches()
                timer = ToolTimer()
                ms, _ = _turn(graph, q, f"b-{uuid.uuid4().hex[:8]}", timer)
                times.append(ms)
                overhead.append(ms - timer.turn_ms)
                for name, values in timer.by_tool.items():
                    tool_times.by_tool.setdefault(name, []).extend(values)
            lifecycle_s, lifecycle_steps = _lifecycle_in_chat(graph)

            def conversation(i: int) -> tuple[bool, list[float]]:
                thread = f"c{i}-{uuid.uuid4().hex[:6]}"
                t1, _ = _turn(graph, QUESTIONS[i % len(QUESTIONS)], thread)
                t2, second = _turn(graph, "and for gpt-4.1?", thread)
                own = [m.content for m in second["messages"] if isinstance(m, HumanMessage)]
                ok = own == [QUESTIONS[i % len(QUESTIONS)], "and for gpt-4.1?"] and all(
                    c["args"].get("model_name") == "gpt-4.1" for c in second["answer"].get("tool_calls", []))
                return ok, [t1, t2]

            t0 = time.perf_counter()
            with ThreadPoolExecutor(max_workers=20) as pool:
                results = list(pool.map(conversation, range(20)))
            wall = time.perf_counter() - t0
    q = statistics.quantiles(times, n=20)
    conc = [t for _, ts in results for t in ts]
    ok = sum(r[0] for r in results)
    qo = statistics.quantiles(overhead, n=20)
    per_tool = ", ".join(f"{name} p50 {statistics.median(v):.0f} ms (n={len(v)})"
                         for name, v in sorted(tool_times.by_tool.items()))
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in lifecycle_steps.items())
    body = (f"{len(times)} turns, each a question not asked before (the debugging questions of "
            f"tests/data/routing_eval.jsonl), the tools' result caches cleared before each (offline, Postgres "
            f"checkpointer, models loaded):\n\n"
            f"- graph, routing and checkpoint overhead, tools excluded: p50 {statistics.median(overhead):.0f} ms, "
            f"p95 {qo[18]:.0f} ms (target p50 < 50 ms);\n"
            f"- whole turn, uncached tools: p50 {statistics.median(times):.0f} ms, p95 {q[18]:.0f} ms "
            f"(target p50 < 500 ms);\n- each tool uncached: {per_tool}.\n\n"
            f"20 concurrent threads x 2 turns (question + follow-up): {ok}/20 threads "
            f"correct (own messages only, follow-up narrowed to gpt-4.1), 0 errors, wall {wall:.1f} s, "
            f"turn p50 {statistics.median(conc):.0f} ms under concurrency (tool caches warm).\n\n"
            f"Chat lifecycle (one supervisor thread: 12 scenarios, seeds 0 and 1, candidate and baseline, every "
            f"gate approved at once): {lifecycle_s:.1f} s of compute (target < 60 s): {steps}.")
    print(body)
    if ok != 20:
        raise SystemExit("cross-talk or wrong follow-up detected")
    record("Supervisor", body)


if __name__ == "__main__":
    main()

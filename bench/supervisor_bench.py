"""Supervisor overhead per turn offline with the Postgres checkpointer, and 20 concurrent threads.

Uses OPSGRAPH_BENCH_HOME when set (a data dir with telemetry and embeddings already ingested), else a scratch
data dir with the generated 9k sample. Model loading is excluded by a warm-up turn.
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


def _turn(graph: Any, question: str, thread: str) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    out = graph.invoke({"messages": [HumanMessage(question)]}, {"configurable": {"thread_id": thread}})
    return (time.perf_counter() - t0) * 1000, out


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
            times = [_turn(graph, q, f"b-{uuid.uuid4().hex[:8]}")[0] for q in timed]

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
    body = (f"Per turn (routing + one tool round + structured answer, offline, Postgres checkpointer; warm): "
            f"p50 {statistics.median(times):.0f} ms, p95 {q[18]:.0f} ms over {len(times)} turns, each a question "
            f"not asked before (the debugging questions of tests/data/routing_eval.jsonl) "
            f"(target p50 < 50 ms).\n\n20 concurrent threads x 2 turns (question + follow-up): {ok}/20 threads "
            f"correct (own messages only, follow-up narrowed to gpt-4.1), 0 errors, wall {wall:.1f} s, "
            f"turn p50 {statistics.median(conc):.0f} ms under concurrency.")
    print(body)
    if ok != 20:
        raise SystemExit("cross-talk or wrong follow-up detected")
    record("Supervisor", body)


if __name__ == "__main__":
    main()

"""The simulator: multi-turn conversations between the simulated user and a target, per scenario and seed.

Conversations run with bounded concurrency; each ends when the user's goal is met, when the user abandons, at
``max_turns`` assistant replies, or with an error (recorded in the trace, never raised). Runs are resumable:
``(scenario_id, seed)`` pairs in ``done_ids`` are skipped, and ``JsonlCheckpoint`` or ``load_traces`` (MLflow)
give those pairs back after an interruption.
"""

from __future__ import annotations

import statistics
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from agents.simulator.simulated_user import next_user_move
from agents.targets.base import TargetAgent, estimate_tokens
from core.contracts import Dataset, Scenario, SimulationTrace, Turn
from core.lifecycle_config import DEFAULTS

TraceCallback = Callable[[SimulationTrace], None]


def _user_turn(text: str) -> Turn:
    return Turn(role="user", content=text, tokens=estimate_tokens(text))


def run_conversation(scenario: Scenario, target: TargetAgent, seed: int,
                     max_turns: int = DEFAULTS.max_turns) -> SimulationTrace:
    """One conversation; failures of the target or the user model end it with outcome ``error``."""
    turns = [_user_turn(scenario.opening_message)]
    ref = target.ref
    try:
        for _ in range(max_turns):
            turns.extend(target.respond_turns(list(turns), seed))  # tool calls and results, then the reply
            move = next_user_move(scenario, seed, turns)
            if move.status != "continue":
                turns.append(_user_turn(move.message))
                return SimulationTrace(scenario_id=scenario.id, agent=ref, seed=seed, turns=turns,
                                       outcome=move.status)
            if len([t for t in turns if t.role == "assistant" and not t.tool_calls]) < max_turns:
                turns.append(_user_turn(move.message))
        return SimulationTrace(scenario_id=scenario.id, agent=ref, seed=seed, turns=turns, outcome="max_turns")
    except Exception as exc:  # a failed conversation is data for the report, not a crash of the whole run
        return SimulationTrace(scenario_id=scenario.id, agent=ref, seed=seed, turns=turns, outcome="error",
                               error=f"{type(exc).__name__}: {exc}"[:500])


def simulate(dataset: Dataset, target: TargetAgent, seeds: Iterable[int] = DEFAULTS.seeds,
             max_turns: int = DEFAULTS.max_turns, workers: int = DEFAULTS.workers,
             done_ids: set[tuple[str, int]] | None = None,
             on_trace: TraceCallback | None = None) -> list[SimulationTrace]:
    """Simulate every (scenario, seed) not in ``done_ids``; ``on_trace`` is called (in this thread) as each one
    finishes. Returns the new traces in dataset order, then seed order."""
    done = done_ids or set()
    seeds = list(seeds)
    jobs = [(i, s, seed) for i, s in enumerate(dataset.scenarios) for seed in seeds if (s.id, seed) not in done]
    results: dict[tuple[int, int], SimulationTrace] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(run_conversation, s, target, seed, max_turns): (i, seed) for i, s, seed in jobs}
        for fut in as_completed(futures):
            trace = fut.result()
            results[futures[fut]] = trace
            if on_trace:
                on_trace(trace)
    return [results[k] for k in sorted(results)]


class JsonlCheckpoint:
    """Append-only JSONL of finished traces: use as ``on_trace`` and read ``done_ids()`` to resume."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def __call__(self, trace: SimulationTrace) -> None:
        """Append one finished trace."""
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(trace.model_dump_json() + "\n")

    def traces(self) -> list[SimulationTrace]:
        """Every complete trace written so far (a torn last line is ignored)."""
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                try:
                    out.append(SimulationTrace.model_validate_json(line))
                except ValueError:
                    continue
        return out

    def done_ids(self) -> set[tuple[str, int]]:
        """``(scenario_id, seed)`` of the traces already written."""
        return {t.key for t in self.traces()}


def trace_metrics(traces: list[SimulationTrace]) -> dict[str, float]:
    """Outcome rates, latency (per assistant turn), tokens and cost."""
    n = len(traces) or 1
    lat = sorted(t.latency_ms for tr in traces for t in tr.turns if t.role == "assistant")
    out: dict[str, float] = {f"{o}_rate": sum(tr.outcome == o for tr in traces) / n
                             for o in ("goal_met", "abandoned", "max_turns", "error")}
    out.update({
        "traces": float(len(traces)),
        "mean_turns": sum(len(tr.turns) for tr in traces) / n,
        "latency_ms_mean": statistics.fmean(lat) if lat else 0.0,
        "latency_ms_p95": lat[min(len(lat) - 1, int(0.95 * len(lat)))] if lat else 0.0,
        "tokens_total": float(sum(t.tokens for tr in traces for t in tr.turns if t.role == "assistant")),
        "cost_usd_total": sum(t.cost_usd for tr in traces for t in tr.turns),
    })
    return {k: round(v, 6) for k, v in out.items()}


def log_traces(traces: list[SimulationTrace], project_id: str, dataset_version: str = "none",
               params: dict[str, Any] | None = None) -> str:
    """Log traces to MLflow (stage ``simulation``; artifact simulation/traces.jsonl and metrics)."""
    import mlflow

    from core.tracking import stage_run

    agent_id = traces[0].agent.id if traces else "none"
    with stage_run(project_id, "simulation", agent_id=agent_id, dataset_version=dataset_version) as run:
        mlflow.log_text("".join(t.model_dump_json() + "\n" for t in traces), "simulation/traces.jsonl")
        mlflow.log_metrics(trace_metrics(traces))
        if params:
            mlflow.log_params(params)
        return str(run.info.run_id)


def load_traces(run_id: str) -> list[SimulationTrace]:
    """Read the traces of a simulation run back from MLflow (e.g. to resume with their ``key``s as done_ids)."""
    import mlflow

    from core.tracking import configure_mlflow

    configure_mlflow()
    text = mlflow.artifacts.load_text(f"runs:/{run_id}/simulation/traces.jsonl")
    return [SimulationTrace.model_validate_json(line) for line in text.splitlines() if line.strip()]

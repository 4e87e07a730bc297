"""The six lifecycle agents as nodes of the supervisor, in the person's own thread.

Each node reads the request, does its stage's work with the same stage functions as the batch lifecycle
(:mod:`graphs.lifecycle_stages`, :mod:`graphs.lifecycle_deploy`) on the thread's state, and answers. Work that ends
a stage (a created dataset, a simulation, judgments, the analyst's report, a comparison, a feedback report) stops
at that stage's gate, the same ``interrupt()`` gate as the batch lifecycle (:func:`graphs.gates.make_gate`), until
a person decides. The dataset builder first works out the dataset with the person over several turns.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.runtime import Runtime

from core.contracts import Dataset, FailureCluster
from core.lifecycle_config import LifecycleConfig, agent_ref
from core.projects import DEFAULT_PROJECT, project_named
from graphs import gates as g
from graphs.lifecycle_deploy import feedback_stage
from graphs.lifecycle_stages import analyze_stage, build_dataset_stage, compare_stage, judge_stage, simulate_stage
from graphs.state import SupervisorState, lifecycle_config

# stage -> (gate summary, next stage, MLflow runs the gate cites)
GATES: dict[str, tuple[Callable[..., g.Summary], str, tuple[str, ...]]] = {
    "dataset": (g.dataset_summary, "simulation", ("dataset",)),
    "simulation": (g.simulation_summary, "judging", ("simulation_candidate", "simulation_baseline")),
    "judging": (g.judging_summary, "analytics", ("judging_candidate", "judging_baseline")),
    "analytics": (g.analytics_summary, "comparison", ("analytics",)),
    "comparison": (g.comparison_summary, "deployment", ("comparison",)),
    "feedback": (g.feedback_summary, "dataset", ("feedback",)),
}
NEXT_AGENT = {"dataset": "simulator", "simulation": "judge", "judging": "analyst", "analytics": "comparator",
              "feedback": "dataset_builder"}  # an approved comparison goes on to the gated rollout instead
_TARGET = re.compile(r"\b([a-z][a-z0-9_-]*)\s*(?:@|\s)\s*(v\d+)\b", re.I)
_VERSION = re.compile(r"\b(v\d+)\b", re.I)
_COUNT = re.compile(r"\b(\d{1,3})\s+scenarios?\b", re.I)
_NEW = re.compile(r"\b(build|create|make|generate|start|new)\b.*\b(dataset|eval(uation)? set|scenarios)\b", re.I)
_ACCEPT = re.compile(r"^\W*(ok(ay)?|yes|yep|sure|fine|great|good|perfect|go ahead|ship it|done|approve[ds]?|"
                     r"looks? (good|fine|great)|that'?s (good|fine|it)|create (it|the dataset)|save (it|the dataset)"
                     r"|use (it|this))\b", re.I)
_REPORT = re.compile(r"\b(write|log|save|produce|make)\b.*\breport\b", re.I)
_FROM_CLUSTER = re.compile(r"\b(?:(top|first|worst)\s+(?:failure\s+|failing\s+)?cluster|cluster\s+(\d+))"
                           r"(?:\s+of\s+run\s+([A-Za-z0-9_-]+))?", re.I)


def _cluster_seed(question: str) -> tuple[FailureCluster | None, str]:
    """The failure cluster a request names ("from cluster 12", "from the top cluster", "... of run R") as a
    dataset seed, and how it was found (or why not)."""
    from services.analytics_store import get_run
    from services.telemetry import pooled

    m = _FROM_CLUSTER.search(question)
    if m is None:
        return None, ""
    with pooled() as conn:
        run = get_run(conn, m[3])
    if run is None:
        return None, f"there is no analytics run{f' {m[3]}' if m[3] else ''} yet (ask for the top failure clusters)"
    profiles = {p["cluster_id"]: p for p in run["params"]["profiles"]}
    ranked = [c["cluster_id"] for c in run["metadata"]["clusters"] if profiles[c["cluster_id"]]["n_failures"]]
    cluster_id = int(m[2]) if m[2] else (ranked[0] if ranked else -1)
    if cluster_id not in profiles:
        return None, f"cluster {cluster_id} is not in run {run['run_id']} (clusters: {sorted(profiles)})"
    p = profiles[cluster_id]
    texts = [e["text"] for e in (p.get("failing_exemplars") or p.get("exemplars") or [])][:3]
    seed = FailureCluster(label=str(p["label"]), failure_type=str(p.get("dominant_failure_type") or "unknown"),
                          exemplars=texts)
    return seed, f"cluster {cluster_id} of run {run['run_id']} ('{p['label']}', {p['n_failures']} failures)"


def _question(state: SupervisorState) -> str:
    return next((m.text for m in reversed(state.get("messages", [])) if isinstance(m, HumanMessage)), "")


def _targets(question: str, config: LifecycleConfig) -> list[dict[str, str]]:
    """Agents named in the request ("support v2", "support@v1", or a bare "v1" of the default agent)."""
    from agents.targets import list_targets

    known = {r.name for r in list_targets()}
    found = [{"name": m[1].lower(), "version": m[2].lower()} for m in _TARGET.finditer(question)
             if m[1].lower() in known]
    if not found:
        name = agent_ref(config.candidate)["name"]
        found = [{"name": name, "version": v.lower()} for v in _VERSION.findall(question)]
    return list({f"{t['name']}@{t['version']}": t for t in found}.values())


def _run_state(state: SupervisorState, config: LifecycleConfig) -> dict[str, Any]:
    """The project and the run's values this thread holds, defaults filled in (the thread keeps them)."""
    question = _question(state)
    named = project_named(question)
    base = {**config.run_inputs(), **{k: v for k, v in state.items() if k in config.run_inputs() and v}}
    return {**base, "project_id": named or state.get("project_id") or DEFAULT_PROJECT,
            "gate_seq": state.get("gate_seq", 0), "lap": state.get("lap") or 1}


def _answer(agent: str, text: str, update: dict[str, Any], gate: str | None = None,
            **extra: Any) -> dict[str, Any]:
    if gate:  # the thread will wait at a gate: list it with the other gated threads of its project
        from langgraph.config import get_config

        from graphs.projects import ensure_project
        from graphs.threads import register_thread

        cand = update.get("candidate") or {}
        ensure_project(update["project_id"], f"{cand.get('name')}@{cand.get('version')}" if cand else None)
        thread = get_config().get("configurable", {}).get("thread_id")
        if thread:
            register_thread(str(thread), update["project_id"], "conversation")
    return {**update, "pending_gate": gate, "context": {"agent": agent},
            "answer": {"agent": agent, "kind": "lifecycle", "text": text, **extra},
            "messages": [AIMessage(content=text, name=agent)]}


def _missing(agent: str, what: str, ask: str, update: dict[str, Any]) -> dict[str, Any]:
    project = update["project_id"]
    return _answer(agent, f"There is no {what} in project `{project}` yet: {ask}.", update)


def _dataset_table(ds: Dataset, limit: int = 15) -> str:
    rows = [f"| {i} | `{s.id}` | {s.category} | {s.difficulty} | {s.persona[:60]} |"
            for i, s in enumerate(ds.scenarios[:limit], 1)]
    more = f"\n\n…and {len(ds.scenarios) - limit} more." if len(ds.scenarios) > limit else ""
    return "| # | id | category | difficulty | persona |\n|---|---|---|---|---|\n" + "\n".join(rows) + more


def _validation_line(ds: Dataset) -> str:
    v = ds.validation
    if v is None:
        return "not validated"
    return (f"quality score {v.score:.2f} ({'passes' if v.passed else 'below'} the {v.threshold:.2f} threshold), "
            f"{len(v.near_duplicates)} near-duplicate pair(s)")


def talk_to_dataset_builder(state: SupervisorState, runtime: Runtime[LifecycleConfig] | None = None
                            ) -> dict[str, Any]:
    """The dataset builder: proposes a dataset for the target, takes edits over several turns, and creates it
    (then the dataset gate) when the person agrees."""
    from agents.dataset_builder.agent import RevisionNotUnderstood, build_dataset, revise_dataset
    from agents.targets import get_target

    config = lifecycle_config(runtime)
    question = _question(state)
    update = _run_state(state, config)
    if targets := _targets(question, config):
        update["candidate"] = targets[0]
    draft = state.get("dataset_draft")
    if draft and _ACCEPT.search(question):
        done = build_dataset_stage({**state, **update})  # type: ignore[typeddict-item]
        ds = Dataset.model_validate(done["dataset"])
        text = (f"Created dataset **{ds.name} v{ds.version}** ({len(ds.scenarios)} scenarios; {_validation_line(ds)}), "
                f"logged as MLflow run `{done['runs']['dataset']}` in project `{update['project_id']}`. "
                "It waits for approval at the dataset gate.")
        return _answer("dataset_builder", text, {**update, **done}, gate="dataset")
    if draft and not _NEW.search(question):
        try:
            ds = revise_dataset(Dataset.model_validate(draft), question)
        except RevisionNotUnderstood as exc:
            text = (f"I could not read a change to the dataset from that ({exc}). Try, for example: \"add 3 hard "
                    "scenarios about refunds\", \"remove scenario 2\", \"make #4 hard\", \"change the persona of "
                    "scenario 1 to ...\", \"merge billing_disputes into refunds\", \"more angry personas\"; or "
                    "say \"looks good\" to create it.")
            return _answer("dataset_builder", text, update)
        text = (f"Revised the draft to version {ds.version}: {len(ds.scenarios)} scenarios; {_validation_line(ds)}."
                f"\n\n{_dataset_table(ds)}\n\nMore edits, or \"looks good\" to create it.")
        return _answer("dataset_builder", text, {**update, "dataset_draft": ds.model_dump(mode="json")})
    count = _COUNT.search(question)
    n = int(count[1]) if count else update["n_scenarios"]
    seed, found = _cluster_seed(question)
    if found and seed is None:
        return _answer("dataset_builder", f"I cannot seed the dataset from that: {found}.", update)
    target = get_target(**update["candidate"])
    ds = build_dataset(target, n=n, failure_clusters=[seed] if seed else None)
    meta = target.metadata
    source = f" and failure {found}" if seed else ""
    text = (f"Proposed **{ds.name}** for `{meta.name}@{meta.version}` from its metadata ({meta.description[:160]})"
            f"{source}: "
            f"{len(ds.scenarios)} scenarios in {len({s.category for s in ds.scenarios})} categories; "
            f"{_validation_line(ds)}.\n\n{_dataset_table(ds)}\n\nTell me what to change (add, remove or edit a "
            "scenario by number, drop or merge categories, restyle personas), or say \"looks good\" to create it.")
    return _answer("dataset_builder", text, {**update, "n_scenarios": n, "dataset_draft": ds.model_dump(mode="json")})


def _stage_node(agent: str, stage: str, needs: tuple[str, str, str],
                run: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """A lifecycle agent that runs one stage on the thread's state, then stops at that stage's gate."""
    key, what, ask = needs

    def talk(state: SupervisorState, runtime: Runtime[LifecycleConfig] | None = None) -> dict[str, Any]:
        config = lifecycle_config(runtime)
        update = _run_state(state, config)
        targets = _targets(_question(state), config)
        if targets and agent == "simulator":
            update["candidate"] = targets[0]
            if len(targets) > 1:
                update["baseline"] = targets[1]
        if key not in {**state, **update}:
            return _missing(agent, what, ask, update)
        done = run({**state, **update}, runtime)
        text, _metrics = GATES[stage][0]({**state, **update, **done})
        runs = ", ".join(f"`{k}`: `{v}`" for k, v in (done.get("runs") or {}).items())
        if stage == "feedback":
            text += ("\n\nThese are fleet-wide figures: telemetry rows do not carry the agent version that served "
                     "them yet, so the champion's own traffic cannot be told apart.")
        return _answer(agent, f"{text}\n\nMLflow runs: {runs or 'none'}. It waits for approval at the {stage} gate.",
                       {**update, **done}, gate=stage)
    talk.__name__ = f"talk_to_{agent}"
    talk.__doc__ = f"The {agent} in the conversation: runs the {stage} stage, then waits at its gate."
    return talk


def talk_to_analyst(state: SupervisorState, runtime: Runtime[LifecycleConfig] | None = None) -> dict[str, Any]:
    """The analyst: writes the report on the judgments (then the analytics gate), and answers follow-up
    questions about it."""
    from agents.analyst.agent import AnalystReport, answer_followup

    update = _run_state(state, lifecycle_config(runtime))
    question = _question(state)
    if "judgments" not in state:
        return _missing("analyst", "judged conversation", "ask the judge to judge a simulation first", update)
    group = next((g for g in ("persona", "difficulty") if g in question.lower()), "category")
    if state.get("analysis") and not _REPORT.search(question):
        report = AnalystReport.model_validate({**state["analysis"], "html": ""})
        return _answer("analyst", answer_followup(report, question), update,
                       chart=_pass_rates(state["analysis"], group))
    done = analyze_stage({**state, **update})  # type: ignore[typeddict-item]
    text = ("\n".join(f"- {f}" for f in done["analysis"]["key_findings"]) + "\n\n"
            + done["analysis"]["production_expectation"]
            + f"\n\nReport logged as MLflow run `{done['runs']['analytics']}`. Ask me about a category, persona or "
            "difficulty, or approve the analytics gate to compare.")
    return _answer("analyst", text, {**update, **done}, gate="analytics", chart=_pass_rates(done["analysis"], group))


def _pass_rates(analysis: dict[str, Any], group: str) -> dict[str, Any]:
    """The pass rate by ``group`` with its CI, for the chat to draw."""
    rows = analysis["aggregates"]["breakdown"].get(group, [])
    return {"kind": "pass_rates", "group": group, "agent": analysis.get("agent_id", ""),
            "rows": [{k: r[k] for k in ("value", "n", "pass_rate", "ci_low", "ci_high")} for r in rows]}


NODES: dict[str, Callable[..., dict[str, Any]]] = {
    "dataset_builder": talk_to_dataset_builder,
    "simulator": _stage_node("simulator", "simulation", ("dataset", "created dataset",
                                                         "ask the dataset builder to build one and approve it"),
                             simulate_stage),
    "judge": _stage_node("judge", "judging", ("traces", "simulation", "ask the simulator to run one first"),
                         lambda state, _runtime: judge_stage(state)),
    "analyst": talk_to_analyst,
    "comparator": _stage_node("comparator", "comparison", ("judgments", "judged simulation",
                                                           "ask the judge to judge a simulation first"),
                               lambda state, _runtime: compare_stage(state)),
    "feedback": _stage_node("feedback", "feedback", ("project_id", "project", "name one"), feedback_stage),
}


def make_gate_node(stage: str) -> Callable[..., dict[str, Any]]:
    """The gate after ``stage`` in the conversation: the batch lifecycle's gate node, same request and audit."""
    summary, nxt, artifacts = GATES[stage]
    return g.make_gate(stage, nxt, summary, artifacts)


def route_to_gate(state: SupervisorState) -> str:
    """Edge: the gate the agent reached, or the end of the turn."""
    stage = state.get("pending_gate")
    return f"gate_{stage}" if stage else "__end__"


def route_after_comparison(state: SupervisorState) -> str:
    """Edge: an approved comparison goes on to the deployment (the batch lifecycle's gated rollout)."""
    return "deployment" if state["last_decision"]["decision"] == "approve" else "report_decision"


def report_decision(state: SupervisorState) -> dict[str, Any]:
    """After a gate in the conversation: say what was decided and what comes next."""
    decision = state["last_decision"]
    stage = str(state.get("pending_gate"))
    agent = (state.get("route") or {}).get("agent", "general")
    verb = {"approve": "approved", "reject": "rejected", "revise": "sent back for revision"}[decision["decision"]]
    who = f"{verb} by {decision['approver']}" + (f": {decision['comment']}" if decision.get("comment") else "")
    update: dict[str, Any] = {"pending_gate": None}
    if decision["gate"].startswith("deployment->"):
        dep = state["deployment"]
        text = (f"Gate {decision['gate']}: {who}. `{dep['registered_name']}` version {dep['version']} is "
                f"{dep['status']}" + (f" ({dep['reason']})" if dep.get("reason") else "")
                + ". Ask the feedback agent for production feedback.")
    elif decision["decision"] != "approve":
        text = f"Gate {decision['gate']}: {who}. Tell the {agent} what to change."
    else:
        text = f"Gate {decision['gate']}: {who}. Next: the {NEXT_AGENT[stage]} agent."
    return {**update, "answer": {"agent": agent, "kind": "lifecycle", "text": text},
            "messages": [AIMessage(content=text, name=agent)]}

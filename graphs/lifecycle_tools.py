"""The lifecycle agents' tools: each does real work on the thread's state with the batch lifecycle's own stage
functions (:mod:`graphs.lifecycle_stages`, :mod:`graphs.lifecycle_deploy`) and returns what it found as text.

A tool reads the thread (``runtime.state["thread"]``, plus what earlier tools of the turn changed) and returns a
``Command``: its result for the model, the state it changed (``update``) and extras for the chat (``reply``).
Work that ends a stage sets ``pending_gate``: the thread then waits at that stage's gate.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, tool
from langgraph.prebuilt import ToolRuntime
from langgraph.types import Command

from core.contracts import Dataset, FailureCluster, FeedbackTheme, TargetSpec
from graphs import gates as g
from graphs.lifecycle_deploy import feedback_stage
from graphs.lifecycle_stages import analyze_stage, build_dataset_stage, compare_stage, judge_stage, simulate_stage

Runtime = ToolRuntime[Any, dict[str, Any]]


def thread_of(runtime: Runtime) -> dict[str, Any]:
    """The thread's state as this tool sees it: the turn's start plus what earlier tools changed."""
    return {**runtime.state["thread"], **(runtime.state.get("update") or {})}


def _result(runtime: Runtime, text: str, update: dict[str, Any] | None = None, gate: str | None = None,
            **reply: Any) -> Command[Any]:
    changed = {**(update or {}), **({"pending_gate": gate} if gate else {})}
    return Command(update={"update": changed, "reply": reply,
                           "messages": [ToolMessage(text, tool_call_id=runtime.tool_call_id or "")]})


def _missing(runtime: Runtime, what: str, ask: str) -> Command[Any]:
    return _result(runtime, f"There is no {what} in project `{thread_of(runtime)['project_id']}` yet: {ask}.")


def parse_target(text: str) -> dict[str, Any]:
    """A target as the thread keeps it: "name@version" of a registered agent, or a TargetSpec JSON object."""
    from agents.targets import list_targets

    text = text.strip()
    if text.startswith("{"):
        return TargetSpec.model_validate(json.loads(text)).model_dump(exclude_none=True)
    name, _, version = text.partition("@")
    known = {r.id for r in list_targets()}
    if f"{name}@{version}" not in known:
        raise ValueError(f"no target {text!r}; registered targets: {', '.join(sorted(known))}")
    return {"name": name, "version": version}


def target_label(ref: dict[str, Any]) -> str:
    """"name@version" of a target ref (and its kind when it is not a registered one)."""
    kind = ref.get("kind", "registered")
    return f"{ref['name']}@{ref['version']}" + ("" if kind == "registered" else f" ({kind})")


# --- dataset builder -------------------------------------------------------------------------------------------

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


def _cluster_seed(cluster_id: int | None, run_id: str | None) -> tuple[FailureCluster | None, str]:
    """The failure cluster ``cluster_id`` of analytics run ``run_id`` (None: the top failure cluster of the latest
    run) as a dataset seed, and how it was found (or why it was not)."""
    from services.analytics_store import get_run
    from services.telemetry import pooled

    with pooled() as conn:
        run = get_run(conn, run_id)
    if run is None:
        return None, f"there is no analytics run{f' {run_id}' if run_id else ''} yet (ask for the top failure clusters)"
    profiles = {p["cluster_id"]: p for p in run["params"]["profiles"]}
    ranked = [c["cluster_id"] for c in run["metadata"]["clusters"] if profiles[c["cluster_id"]]["n_failures"]]
    cid = cluster_id if cluster_id is not None else (ranked[0] if ranked else -1)
    if cid not in profiles:
        return None, f"cluster {cid} is not in run {run['run_id']} (clusters: {sorted(profiles)})"
    p = profiles[cid]
    texts = [e["text"] for e in (p.get("failing_exemplars") or p.get("exemplars") or [])][:3]
    seed = FailureCluster(label=str(p["label"]), failure_type=str(p.get("dominant_failure_type") or "unknown"),
                          exemplars=texts)
    return seed, f"cluster {cid} of run {run['run_id']} ('{p['label']}', {p['n_failures']} failures)"


@tool
def propose_dataset(runtime: Runtime, target: str | None = None, n_scenarios: int | None = None,
                    top_cluster: bool = False, cluster_id: int | None = None, analytics_run: str | None = None,
                    from_feedback: bool = False) -> Command[Any]:
    """Propose a dataset draft for a target agent from its metadata: ``target`` NAME@VERSION or a TargetSpec JSON
    object (default: the thread's candidate), ``n_scenarios`` (default: the thread's), optionally seeded from a
    failure cluster (``top_cluster``, or ``cluster_id`` of ``analytics_run``) or from the latest feedback report."""
    from agents.dataset_builder.agent import build_dataset
    from agents.targets import target_from_ref

    state = thread_of(runtime)
    update: dict[str, Any] = {"candidate": parse_target(target)} if target else {}
    n = n_scenarios or state["n_scenarios"]
    seed, found = (_cluster_seed(cluster_id, analytics_run) if top_cluster or cluster_id is not None
                   else (None, ""))
    if found and seed is None:
        return _result(runtime, f"I cannot seed the dataset from that: {found}.", update)
    themes = [FeedbackTheme.model_validate(t) for t in (state.get("feedback") or {}).get("themes_for_dataset", [])]
    if from_feedback and not themes:
        return _result(runtime, "There is no production feedback report with proposed scenarios in this thread yet: "
                                "ask the feedback agent for one first.", update)
    candidate = update.get("candidate") or state["candidate"]
    target_agent = target_from_ref(candidate)
    ds = build_dataset(target_agent, n=n, failure_clusters=[seed] if seed else None,
                       feedback_report=themes if from_feedback else None)
    meta = target_agent.metadata
    source = (f" and failure {found}" if seed else "") + (f" and {len(themes)} feedback theme(s)" if from_feedback
                                                          else "")
    text = (f"Proposed **{ds.name}** for `{target_label(candidate)}` from its metadata ({meta.description[:160]})"
            f"{source}: {len(ds.scenarios)} scenarios in {len({s.category for s in ds.scenarios})} categories; "
            f"{_validation_line(ds)}.\n\n{_dataset_table(ds)}\n\nTell me what to change (add, remove or edit a "
            "scenario by number, drop or merge categories, restyle personas), or say \"looks good\" to create it.")
    return _result(runtime, text, {**update, "n_scenarios": n, "dataset_draft": ds.model_dump(mode="json")})


@tool
def revise_draft(instruction: str, runtime: Runtime) -> Command[Any]:
    """Apply the person's edit of the dataset draft, in their own words ("add 3 hard scenarios about refunds",
    "remove scenario 2", "make #4 hard", "merge billing into refunds", "more angry personas")."""
    from agents.dataset_builder.agent import RevisionNotUnderstood, revise_dataset

    draft = thread_of(runtime).get("dataset_draft")
    if not draft:
        return _missing(runtime, "dataset draft", "ask me to build a dataset first")
    try:
        ds = revise_dataset(Dataset.model_validate(draft), instruction)
    except RevisionNotUnderstood as exc:
        return _result(runtime, f"I could not read a change to the dataset from that ({exc}). Try, for example: "
                                "\"add 3 hard scenarios about refunds\", \"remove scenario 2\", \"make #4 hard\", "
                                "\"change the persona of scenario 1 to ...\", \"merge billing_disputes into refunds\","
                                " \"more angry personas\"; or say \"looks good\" to create it.")
    text = (f"Revised the draft to version {ds.version}: {len(ds.scenarios)} scenarios; {_validation_line(ds)}."
            f"\n\n{_dataset_table(ds)}\n\nMore edits, or \"looks good\" to create it.")
    return _result(runtime, text, {"dataset_draft": ds.model_dump(mode="json")})


@tool
def create_dataset(runtime: Runtime) -> Command[Any]:
    """Create the agreed dataset draft: validate it, log it to MLflow, then wait at the dataset gate."""
    state = thread_of(runtime)
    if not state.get("dataset_draft"):
        return _missing(runtime, "dataset draft", "ask me to build a dataset first")
    done = build_dataset_stage(state)  # type: ignore[arg-type]
    ds = Dataset.model_validate(done["dataset"])
    text = (f"Created dataset **{ds.name} v{ds.version}** ({len(ds.scenarios)} scenarios; {_validation_line(ds)}), "
            f"logged as MLflow run `{done['runs']['dataset']}` in project `{state['project_id']}`. "
            "It waits for approval at the dataset gate.")
    return _result(runtime, text, done, gate="dataset")


# --- the stages that end at a gate -----------------------------------------------------------------------------

def _stage_result(runtime: Runtime, stage: str, state: dict[str, Any], done: dict[str, Any]) -> Command[Any]:
    summary = {"simulation": g.simulation_summary, "judging": g.judging_summary, "comparison": g.comparison_summary,
               "feedback": g.feedback_summary}[stage]
    text, _metrics = summary({**state, **done})  # type: ignore[typeddict-item]
    runs = ", ".join(f"`{k}`: `{v}`" for k, v in (done.get("runs") or {}).items())
    return _result(runtime, f"{text}\n\nMLflow runs: {runs or 'none'}. It waits for approval at the {stage} "
                            "gate.", done, gate=stage)


@tool
def simulate(runtime: Runtime, candidate: str | None = None, baseline: str | None = None) -> Command[Any]:
    """Simulate multi-turn conversations of the thread's dataset (every scenario x seed) against the candidate and
    the baseline (NAME@VERSION or TargetSpec JSON; default: the thread's), log them to MLflow, then wait at the
    simulation gate."""
    state = thread_of(runtime)
    if "dataset" not in state:
        return _missing(runtime, "created dataset", "ask the dataset builder to build one and approve it")
    named = {role: parse_target(ref) for role, ref in (("candidate", candidate), ("baseline", baseline)) if ref}
    state = {**state, **named}
    return _stage_result(runtime, "simulation", state, {**named, **simulate_stage(state, runtime)})  # type: ignore[arg-type]


@tool
def judge_simulations(runtime: Runtime) -> Command[Any]:
    """Judge every simulated conversation of the thread against its scenario's expected behaviour, log the
    judgments to MLflow, then wait at the judging gate."""
    state = thread_of(runtime)
    if "traces" not in state:
        return _missing(runtime, "simulation", "ask the simulator to run one first")
    return _stage_result(runtime, "judging", state, judge_stage(state))  # type: ignore[arg-type]


@tool
def compare_agents(runtime: Runtime) -> Command[Any]:
    """Compare the candidate with the baseline on the same judged scenarios and seeds (paired statistics and a
    recommendation), log it to MLflow, then wait at the comparison gate (its approval starts the deployment)."""
    state = thread_of(runtime)
    if "judgments" not in state:
        return _missing(runtime, "judged simulation", "ask the judge to judge a simulation first")
    return _stage_result(runtime, "comparison", state, compare_stage(state))  # type: ignore[arg-type]


@tool
def production_feedback(runtime: Runtime) -> Command[Any]:
    """Production feedback from the telemetry's latest window against the period before: the report and the
    scenarios it proposes for the next dataset, logged to MLflow, then the gate back to the dataset builder."""
    state = thread_of(runtime)
    done = feedback_stage(state, runtime)  # type: ignore[arg-type]
    return _stage_result(runtime, "feedback", state, done)


# --- analyst ---------------------------------------------------------------------------------------------------

def _pass_rates(analysis: dict[str, Any], group: str) -> dict[str, Any]:
    """The pass rate by ``group`` with its CI, for the chat to draw."""
    rows = analysis["aggregates"]["breakdown"].get(group, [])
    return {"kind": "pass_rates", "group": group, "agent": analysis.get("agent_id", ""),
            "rows": [{k: r[k] for k in ("value", "n", "pass_rate", "ci_low", "ci_high")} for r in rows]}


@tool
def write_report(runtime: Runtime, group: str = "category") -> Command[Any]:
    """Write the analyst's report on the candidate's judgments (pass rates with CIs, breakdowns, failure reasons,
    what to expect in production), log it to MLflow and chart the pass rate by ``group`` (category, persona or
    difficulty); then wait at the analytics gate."""
    state = thread_of(runtime)
    if "judgments" not in state:
        return _missing(runtime, "judged conversation", "ask the judge to judge a simulation first")
    done = analyze_stage(state)  # type: ignore[arg-type]
    text = ("\n".join(f"- {f}" for f in done["analysis"]["key_findings"]) + "\n\n"
            + done["analysis"]["production_expectation"]
            + f"\n\nReport logged as MLflow run `{done['runs']['analytics']}`. Ask me about a category, persona or "
            "difficulty, or approve the analytics gate to compare.")
    return _result(runtime, text, done, gate="analytics", chart=_pass_rates(done["analysis"], group))


@tool
def answer_question(question: str, runtime: Runtime, group: str = "category") -> Command[Any]:
    """Answer a question about the analyst's report from its figures, with the pass rate by ``group`` (category,
    persona or difficulty) as a chart."""
    from agents.analyst.agent import AnalystReport, answer_followup

    state = thread_of(runtime)
    if not state.get("analysis"):
        return _missing(runtime, "analyst report", "ask me to write the report first")
    report = AnalystReport.model_validate({**state["analysis"], "html": ""})
    return _result(runtime, answer_followup(report, question), chart=_pass_rates(state["analysis"], group))


TOOLS: dict[str, list[BaseTool]] = {
    "dataset_builder": [propose_dataset, revise_draft, create_dataset],
    "simulator": [simulate],
    "judge": [judge_simulations],
    "analyst": [write_report, answer_question],
    "comparator": [compare_agents],
    "feedback": [production_feedback],
}


"""In a fresh process that imports only one entry point (CLI, chat app, LangGraph server module), each agent's
request is answered by that agent's own offline handler: never a generic fallback or a missing-handler error.

The offline model records which handler answered (``response_metadata["offline_handler"]``); the probe runs every
agent of the registry once on small real inputs (the sample support target, a feedback theme, a question)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_layout import run_python

pytestmark = pytest.mark.integration


# How each entry point starts, as its framework runs it; then every agent of the registry is exercised.
ENTRY_POINTS = {
    "cli": "from typer.testing import CliRunner\nfrom cli.main import app\n"
           "assert CliRunner().invoke(app, ['contracts', '--help']).exit_code == 0",
    "chat": "import chainlit_app",
    "langgraph_server": "import graphs.server",
}
PROBE = """
import json
from collections import defaultdict
from core import offline_llm
used = defaultdict(list)
current = ["none"]
original = offline_llm.OfflineChatModel._generate
def recording(self, messages, stop=None, run_manager=None, **kwargs):
    result = original(self, messages, stop, run_manager, **kwargs)
    used[current[0]].append(result.generations[0].message.response_metadata["offline_handler"])
    return result
offline_llm.OfflineChatModel._generate = recording

from langchain_core.messages import HumanMessage
from agents.registry import AGENTS
from agents.targets import get_target
from agents.dataset_builder.agent import build_dataset
from agents.simulator.agent import simulate
from agents.judge.agent import judge
from agents.analyst.agent import analyze
from agents.comparator.agent import compare_runs
from agents.feedback.agent import propose_scenarios
from agents.feedback.models import Exemplar, NegativeTheme
from agents.debugging.agent import run_diagnostic_agent

state = {}
def dataset_builder():
    state["ds"] = build_dataset(get_target("support", "v1"), n=3)
def simulator():
    state["traces"] = simulate(state["ds"], get_target("support", "v1"), seeds=[0], max_turns=2, workers=1)
def judge_():
    sc = {s.id: s for s in state["ds"].scenarios}
    state["j"] = judge([{"scenario": sc[t.scenario_id], "trace": t} for t in state["traces"]], workers=1)
def analyst():
    analyze(state["j"], state["ds"])
def comparator():
    compare_runs(state["j"], state["j"], state["ds"], n_boot=50)
def feedback():
    ex = Exemplar(interaction_id="i1", text="I was charged twice, refund please", signals=["negative_feedback"],
                  failure_type="none", use_case="customer_support")
    theme = NegativeTheme(theme_id=1, label="refund", keywords=["refund"], size=1, share=1.0,
                          signals={"negative_feedback": 1}, failure_types={}, models={}, use_cases={},
                          interaction_ids=["i1"], exemplars=[ex], dominant_failure_type=None, category=None)
    propose_scenarios([theme])
def debugging(name):
    return lambda: run_diagnostic_agent(name, [HumanMessage("why did llama requests time out?")], {})
runs = {"dataset_builder": dataset_builder, "simulator": simulator, "judge": judge_, "analyst": analyst,
        "comparator": comparator, "feedback": feedback}
for spec in AGENTS:
    current[0] = spec.name
    (runs.get(spec.name) or debugging(spec.name))()
print(json.dumps(used))
"""


@pytest.mark.slow
@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_each_entry_point_answers_every_agent_with_its_own_offline_handler(entry: str, fresh_database: str,
                                                                          tmp_path: Path) -> None:
    """A fresh process imports one entry point only; then every agent of the registry runs once."""
    from agents.registry import AGENTS

    used = run_python(ENTRY_POINTS[entry] + "\n" + PROBE, DATABASE_URL=fresh_database, OPSGRAPH_HOME=str(tmp_path))
    for spec in AGENTS:
        package = spec.entry.split(":")[0].rsplit(".", 1)[0]  # agents.<folder>
        own = (f"{package}.",) + (("agents.targets.",) if spec.name == "simulator" else ())
        handlers = used.get(spec.name)
        assert handlers, f"{entry}: the {spec.name} agent never asked the offline model"
        assert all(isinstance(h, str) and h.startswith(own) for h in handlers), (
            f"{entry}: the {spec.name} agent was answered by {sorted(set(map(str, handlers)))}")

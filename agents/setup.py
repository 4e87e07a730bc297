"""The one registration step of opsgraph's offline model: every agent's offline handlers, registered explicitly.

Entry points call :func:`register_offline_handlers` once at start-up (the CLI, the chat app, the LangGraph server
module, the MLflow pyfunc model, the test fixtures); no module registers anything when it is imported.
"""

from __future__ import annotations

from agents.analyst import offline as analyst
from agents.comparator import offline as comparator
from agents.dataset_builder import offline as dataset_builder
from agents.debugging import offline as debugging
from agents.feedback import offline as feedback
from agents.judge import offline as judge
from agents.lifecycle_chat import offline as lifecycle_chat
from agents.simulator import offline as simulator
from agents.targets import offline as targets
from services import cluster_naming_offline as analytics_run

_MODULES = (debugging, dataset_builder, simulator, judge, analyst, comparator, feedback, targets, analytics_run,
            lifecycle_chat)


def register_offline_handlers() -> None:
    """Register the offline handlers of every agent, the sample targets and the analytics run (idempotent)."""
    for module in _MODULES:
        module.register_offline_handlers()

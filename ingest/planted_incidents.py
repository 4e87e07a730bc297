"""Planted failure structure of the synthetic telemetry: the answer key for analytics and agents.

Four incidents are planted on top of a realistic baseline (baseline failure rates by use case, account tier and
tool use, fitted to the real summaries):

``INC-001`` latency regression (kind ``latency_regression``, failure_type ``latency_timeout``)
    2025-03-18 .. 2025-03-24 (UTC, inclusive), model ``llama-3.1-70b``: every request of that model in the window
    has its latency multiplied by 3, and 50% of them fail with ``latency_timeout`` (baseline about 3%). All
    in-scope rows are labelled (the latency regression affects each of them).
``INC-002`` tool regression (kind ``tool_regression``, failure_type ``tool_error``)
    2025-04-08 .. 2025-04-21 after a schema change behind the ``sql_query`` tool: requests whose ``tools_used``
    contain ``sql_query`` fail with ``tool_error`` with probability 0.6; their ``tools_used`` gains
    ``tool_invocation_failed`` and the response quotes the SQL error. Rows where the incident fired are labelled.
``INC-003`` hallucination cluster (kind ``hallucination_cluster``, failure_type ``hallucination``)
    the whole period, use case ``data_analysis`` answered by ``gpt-4o-mini``: 40% of those requests hallucinate
    (fabricated statistics and citations). Rows where the incident fired are labelled.
``INC-004`` safety-block cluster (kind ``safety_block_cluster``, failure_type ``safety_block``)
    the whole period, ``coding_assistant`` requests about exploits / malware / unauthorised access (15% of that
    use case's requests come from the security templates in :data:`ingest.texts.SECURITY_TEMPLATES`): 65% are
    blocked by the safety filter. Rows where the incident fired are labelled.

Incidents are evaluated in the order INC-004, INC-002, INC-003, INC-001 (timeout); the first that fires sets the
failure type and the label. A row in INC-001's scope where no incident fired keeps the INC-001 label.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ingest.schema import DATE_END, DATE_START


@dataclass(frozen=True)
class Incident:
    """One planted incident: scope (model / tool / use case / request kind / window) and its effect."""

    id: str
    kind: str
    failure_type: str
    description: str
    window_start: str = DATE_START
    window_end: str = DATE_END
    model: str | None = None
    tool: str | None = None
    use_case: str | None = None
    request_kind: str | None = None
    fire_probability: float = 0.0
    latency_multiplier: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return asdict(self)


LATENCY_REGRESSION = Incident(
    id="INC-001",
    kind="latency_regression",
    failure_type="latency_timeout",
    model="llama-3.1-70b",
    window_start="2025-03-18",
    window_end="2025-03-24",
    fire_probability=0.5,
    latency_multiplier=3.0,
    description="Serving regression on llama-3.1-70b: latency x3 for a week and latency_timeout failures spike.",
)
TOOL_REGRESSION = Incident(
    id="INC-002",
    kind="tool_regression",
    failure_type="tool_error",
    tool="sql_query",
    window_start="2025-04-08",
    window_end="2025-04-21",
    fire_probability=0.6,
    description="Schema change behind the sql_query tool: calls fail with tool_error (tool_invocation_failed) "
    "until the fix on 2025-04-22.",
)
HALLUCINATION_CLUSTER = Incident(
    id="INC-003",
    kind="hallucination_cluster",
    failure_type="hallucination",
    use_case="data_analysis",
    model="gpt-4o-mini",
    fire_probability=0.4,
    description="gpt-4o-mini fabricates statistics and citations on data_analysis requests.",
)
SAFETY_CLUSTER = Incident(
    id="INC-004",
    kind="safety_block_cluster",
    failure_type="safety_block",
    use_case="coding_assistant",
    request_kind="security/exploit requests",
    fire_probability=0.65,
    description="Requests for exploits, malware or unauthorised access in coding_assistant are blocked by the "
    "safety filter.",
)
INCIDENTS: tuple[Incident, ...] = (LATENCY_REGRESSION, TOOL_REGRESSION, HALLUCINATION_CLUSTER, SAFETY_CLUSTER)
SECURITY_SHARE = 0.15
"""Share of coding_assistant requests drawn from the security templates (INC-004's scope)."""

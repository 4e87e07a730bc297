"""Calibration of the synthetic telemetry, fitted to the real sessions / users summaries.

How the constants were chosen (real values from ``ingest/reference``):

- latency: lognormal per model (sigma 0.36) around these medians, times ``(completion / 390) ** 0.12``; clipped
  to 150..6000 ms. Session mean latency of the real file: mean 1,213 ms, p5 821, p95 1,695.
- tools: share of requests using tools by use case (real: about 0.42 for coding / support / data analysis,
  0.03..0.06 elsewhere); tool users fail about twice as often (real share of tool users: 0.19 among successful
  requests, 0.52 among failed ones), largely through ``tool_error`` (``TOOL_ERROR_HAZARD``).
- failures: base probability by use case times an account-tier factor (real failure rates: brainstorming 0.16,
  coding 0.39, content 0.19, support 0.27, data analysis 0.35, internal_qa 0.32; free 0.32, pro 0.26,
  enterprise 0.21), so that with the planted incidents about 28% of rows fail and 4.5% are safety blocks.
- tokens: gamma-distributed prompt / completion tokens scaled by tier (real mean tokens per request: free 949,
  pro 1,251, enterprise 1,316), 10% fewer on failures, completions capped by ``max_tokens``.
- feedback: 54.5% of requests carry a score; score distributions give a mean of about 1.3 on success and -1.1
  on failure (real session-level regression of csat_mean on failure_rate).
- retries / escalations: P(retry) 0.054 vs 0.48 and P(escalation) 0.084 vs 0.40 for success vs failure (real
  session-level regressions).
"""

from __future__ import annotations

MODEL_LATENCY_MEDIAN = {
    "claude-3.5-sonnet": 1230, "custom-local-8b": 1110, "gemini-1.5-pro": 1190, "gpt-4.1": 1300,
    "gpt-4o-mini": 850, "llama-3.1-70b": 1320, "llama-3.1-8b": 800, "mistral-large": 1170,
}  # fmt: skip
LATENCY_SIGMA = 0.36
TOOL_SHARE = {
    "coding_assistant": 0.427,
    "customer_support": 0.409,
    "data_analysis": 0.424,
    "brainstorming": 0.031,
    "content_writing": 0.031,
    "internal_qa": 0.061,
}
TOOL_WEIGHTS: dict[str, dict[str, float]] = {
    "coding_assistant": {"code_run": 4, "http_request": 2, "vector_search": 1, "knowledge_lookup": 1,
                         "sql_query": 1},
    "customer_support": {"knowledge_lookup": 4, "workflow_orchestrator": 2, "email_send": 2, "http_request": 1,
                         "vector_search": 2},
    "data_analysis": {"sql_query": 5, "code_run": 3, "vector_search": 1, "http_request": 1},
    "brainstorming": {"http_request": 2, "vector_search": 2, "knowledge_lookup": 1},
    "content_writing": {"knowledge_lookup": 2, "http_request": 2, "vector_search": 1},
    "internal_qa": {"knowledge_lookup": 4, "vector_search": 3, "workflow_orchestrator": 1},
}  # fmt: skip
TOOL_ERROR_HAZARD = 0.25
BASE_FAIL = {
    "brainstorming": 0.15,
    "coding_assistant": 0.20,
    "content_writing": 0.18,
    "customer_support": 0.165,
    "data_analysis": 0.16,
    "internal_qa": 0.30,
}
TIER_FAIL = {"free": 1.2, "pro": 0.85, "enterprise": 0.68}
TOOL_USER_FAIL = 1.15
BASE_TYPES = {
    "hallucination": 0.32,
    "formatting_error": 0.22,
    "latency_timeout": 0.16,
    "safety_block": 0.15,
    "toxicity": 0.08,
}
TIER_TOKENS = {"free": 0.87, "pro": 1.13, "enterprise": 1.19}
PROMPT_MEAN, PROMPT_SHAPE, COMPLETION_MEAN, COMPLETION_SHAPE = 740.0, 3.0, 470.0, 2.5
MAX_TOKENS = (256, 512, 768, 1024, 1536, 2048)
MAX_TOKENS_P = (0.10, 0.20, 0.15, 0.25, 0.15, 0.15)
FEEDBACK_OBSERVED = 0.545
SCORE_P_OK = (0.01, 0.02, 0.12, 0.38, 0.47)  # -2..2
SCORE_P_FAIL = (0.35, 0.42, 0.20, 0.03, 0.0)
REPAIRS: dict[str, dict[str, float]] = {
    "ok": {"none": 0.92, "regenerate_with_lower_temp": 0.04, "add_constraints_to_prompt": 0.04},
    "hallucination": {"enable_tools": 0.35, "add_constraints_to_prompt": 0.3, "switch_model_family": 0.2,
                      "manual_post_edit": 0.15},
    "formatting_error": {"add_constraints_to_prompt": 0.5, "regenerate_with_lower_temp": 0.3,
                         "manual_post_edit": 0.2},
    "latency_timeout": {"switch_model_family": 0.5, "decompose_task": 0.3, "regenerate_with_lower_temp": 0.2},
    "tool_error": {"decompose_task": 0.4, "regenerate_with_lower_temp": 0.3, "manual_post_edit": 0.3},
    "safety_block": {"add_constraints_to_prompt": 0.4, "manual_post_edit": 0.4, "none": 0.2},
    "toxicity": {"regenerate_with_lower_temp": 0.5, "add_constraints_to_prompt": 0.3, "switch_model_family": 0.2},
}  # fmt: skip
IMPACT_OK = (0.03, 0.12, 0.35, 0.50)  # critical, high, medium, low
IMPACT_FAIL = (0.15, 0.30, 0.35, 0.20)

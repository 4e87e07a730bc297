"""Single source of truth for the five telemetry tables (names, order, types, levels, ranges, keys).

Column names and order are exactly those of the public "LLM System Ops Telemetry" files; see
``/work/shared/reference/llm_system_ops/README.md``. Formulas live in :mod:`ingest.formulas` and are
re-exported here (``split_for_session``, ``MODEL_RATES``, ``prompt_id``, ...).

Types: ``bool`` (written ``True``/``False``), ``int``, ``float`` (NaN written as an empty cell), ``str`` and
``timestamp`` (UTC, ``2025-03-25T11:14:35Z``). :func:`sql_type` maps them to Postgres types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ingest.formulas import (  # re-exported: the formulas belong to the schema
    FAILURE_FLAGS,
    MODEL_PROVIDERS,
    MODEL_RATES,
    REGION_BY_COUNTRY,
    TOOL_FAILURE_MARKER,
    cost_usd,
    instruction_id,
    prompt_id,
    prompt_len,
    prompt_sha1,
    split_for_session,
)

__all__ = [
    "FAILURE_FLAGS", "LEVELS", "MODEL_PROVIDERS", "MODEL_RATES", "REGION_BY_COUNTRY", "TABLES",
    "TOOL_FAILURE_MARKER", "ColumnSpec", "ForeignKey", "TableSpec", "cost_usd", "instruction_id", "prompt_id",
    "prompt_len", "prompt_sha1", "split_for_session", "sql_type",
]  # fmt: skip

DType = Literal["bool", "int", "float", "str", "timestamp"]

DATE_START = "2025-02-01"
DATE_END = "2025-04-30"

LEVELS: dict[str, tuple[str, ...]] = {
    "split": ("train", "val", "test"),
    "channel": ("api", "internal_tool", "mobile_app", "slack", "web_app"),
    "use_case": (
        "brainstorming", "coding_assistant", "content_writing", "customer_support", "data_analysis",
        "internal_qa",
    ),
    "country_code": ("AE", "AU", "BR", "CA", "DE", "EG", "FR", "GB", "IN", "US"),
    "region": ("AMER", "APAC", "EMEA"),
    "account_tier": ("enterprise", "free", "pro"),
    "segment": ("enterprise_team", "individual", "team"),
    "instruction_template": (
        "analytics_helper", "code_assistant_secure", "creative_writer", "general_assistant",
        "internal_policy_qa", "support_strict",
    ),
    "model_provider": ("anthropic", "google", "local", "meta", "mistral", "openai"),
    "model_name": tuple(sorted(MODEL_RATES)),
    "failure_type": (
        "none", "formatting_error", "hallucination", "latency_timeout", "safety_block", "tool_error", "toxicity",
    ),
    "user_feedback_label": ("negative", "neutral", "positive", "no_feedback"),
    "repair_strategy": (
        "none", "add_constraints_to_prompt", "decompose_task", "enable_tools", "manual_post_edit",
        "regenerate_with_lower_temp", "switch_model_family",
    ),
    "final_resolution_state": ("abandoned", "auto_resolved", "escalated_to_human"),
    "business_impact_tag": ("critical", "high", "medium", "low"),
}  # fmt: skip

TOOLS: tuple[str, ...] = (
    "code_run", "email_send", "http_request", "knowledge_lookup", "sql_query", TOOL_FAILURE_MARKER,
    "vector_search", "workflow_orchestrator",
)  # fmt: skip
_TOOL_ALT = "|".join(TOOLS)

ID_PATTERNS = {
    "interaction_id": r"INT\d{6,}",
    "session_id": r"S\d{5,}",
    "user_id": r"U\d{5,}",
    "sha1": r"[0-9a-f]{40}",
}
TOOLS_PATTERN = rf"none|(?:{_TOOL_ALT})(?:\|(?:{_TOOL_ALT}))*"
DATE_PATTERN = r"\d{4}-\d{2}-\d{2}"


@dataclass(frozen=True)
class ColumnSpec:
    """One column: type, nullability, allowed levels / pattern, inclusive numeric bounds."""

    name: str
    dtype: DType
    nullable: bool = False
    levels: tuple[str, ...] | None = None
    pattern: str | None = None  # full-match regex for str columns
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False


@dataclass(frozen=True)
class ForeignKey:
    """``column`` of this table must exist in ``ref_table.ref_column``."""

    column: str
    ref_table: str
    ref_column: str


@dataclass(frozen=True)
class TableSpec:
    """A table: logical name, real file name, ordered columns, keys."""

    name: str
    file_name: str
    columns: tuple[ColumnSpec, ...]
    primary_key: str
    unique: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        """Column names in file order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSpec:
        """The spec of one column (KeyError if unknown)."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    def dtypes(self) -> dict[str, DType]:
        """Column name -> dtype."""
        return {c.name: c.dtype for c in self.columns}


def _cat(name: str, level_key: str | None = None) -> ColumnSpec:
    return ColumnSpec(name, "str", levels=LEVELS[level_key or name])


def _txt(name: str, pattern: str | None = None) -> ColumnSpec:
    return ColumnSpec(name, "str", pattern=pattern)


def _i(name: str, lo: float | None = 0, hi: float | None = None, *, gt: bool = False) -> ColumnSpec:
    return ColumnSpec(name, "int", min=lo, max=hi, min_exclusive=gt)


def _f(
    name: str, lo: float | None = 0, hi: float | None = None, *, gt: bool = False, nullable: bool = False
) -> ColumnSpec:
    return ColumnSpec(name, "float", nullable=nullable, min=lo, max=hi, min_exclusive=gt)


def _b(name: str) -> ColumnSpec:
    return ColumnSpec(name, "bool")


def _ts(name: str) -> ColumnSpec:
    return ColumnSpec(name, "timestamp")


_IID = _txt("interaction_id", ID_PATTERNS["interaction_id"])
_SID = _txt("session_id", ID_PATTERNS["session_id"])
_UID = _txt("user_id", ID_PATTERNS["user_id"])
_PID = _txt("prompt_id", ID_PATTERNS["sha1"])
_DIMS = (_cat("use_case"), _cat("channel"), _cat("country_code"), _cat("region"), _cat("account_tier"), _cat("segment"))

INTERACTIONS = TableSpec(
    name="interactions",
    file_name="llm_system_interactions.csv",
    columns=(
        _IID,
        _SID,
        _UID,
        _ts("timestamp_utc"),
        _cat("split"),
        _cat("channel"),
        _cat("use_case"),
        _cat("country_code"),
        _cat("region"),
        _cat("account_tier"),
        _cat("segment"),
        _cat("instruction_template"),
        _cat("model_provider"),
        _cat("model_name"),
        _f("temperature", 0, 2),
        _f("top_p", 0, 1, gt=True),
        _i("max_tokens", 1, None),
        _i("prompt_tokens"),
        _i("completion_tokens"),
        _i("total_tokens"),
        _i("latency_ms", 0, gt=True),
        _f("cost_usd"),
        _f("response_quality_score", 0, 1),
        _b("is_failure"),
        _cat("failure_type"),
        _b("hallucination_flag"),
        _b("toxicity_flag"),
        _b("safety_block_flag"),
        _b("formatting_error_flag"),
        _b("tool_error_flag"),
        _b("latency_timeout_flag"),
        _i("tool_calls_count", 0, 50),
        _txt("tools_used", TOOLS_PATTERN),
        _f("user_feedback_score", -2, 2, nullable=True),
        _cat("user_feedback_label"),
        _b("user_reported_issue"),
        _i("retry_index", 0, 100),
        _cat("repair_strategy"),
        _cat("final_resolution_state"),
        _cat("business_impact_tag"),
        _txt("request_text"),
        _txt("response_text_snippet"),
        _f("tokens_per_second"),
        _txt("date_utc", DATE_PATTERN),
        _i("hour_of_day_utc", 0, 23),
        _i("day_of_week", 0, 6),
        _b("is_weekend"),
        _b("is_peak_hour"),
        _f("prompt_to_completion_ratio"),
        _txt("request_text_template"),
        _txt("instruction_text"),
        _b("user_feedback_observed"),
        _PID,
        _i("response_text_snippet_len_chars"),
        _b("response_text_snippet_is_truncated"),
    ),
    primary_key="interaction_id",
    foreign_keys=(
        ForeignKey("session_id", "sessions", "session_id"),
        ForeignKey("user_id", "users", "user_id"),
        ForeignKey("prompt_id", "prompts", "prompt_id"),
    ),
)

SESSIONS = TableSpec(
    name="sessions",
    file_name="llm_system_sessions_summary.csv",
    columns=(
        _SID,
        _UID,
        *_DIMS,
        _i("total_requests", 1),
        _i("failed_requests"),
        _f("failure_rate", 0, 1),
        _f("avg_latency_ms", 0, gt=True),
        _f("median_latency_ms", 0, gt=True),
        _f("avg_response_quality_score", 0, 1),
        _f("avg_tokens_per_request"),
        _i("requests_with_tools"),
        _f("share_requests_with_tools", 0, 1),
        _i("n_retry_requests"),
        _i("escalations_to_human"),
        _f("csat_mean", -2, 2, nullable=True),
        _f("csat_response_rate", 0, 1),
        _b("risk_session_flag"),
        _f("total_cost_usd"),
        _i("total_tokens"),
        _f("avg_cost_per_request"),
        _f("cost_per_1k_tokens"),
        _f("avg_tokens_per_second"),
        _ts("start_timestamp_utc"),
        _ts("end_timestamp_utc"),
        _f("session_duration_seconds"),
        _f("session_duration_minutes"),
        _f("requests_per_minute", 0, gt=True, nullable=True),
        _i("total_latency_ms", 0, gt=True),
        _b("zero_duration_session_flag"),
        _f("total_latency_seconds", 0, gt=True),
        _f("effective_session_duration_seconds", 0, gt=True),
        _f("requests_per_minute_effective", 0, gt=True),
    ),
    primary_key="session_id",
    foreign_keys=(ForeignKey("user_id", "users", "user_id"),),
)

USERS = TableSpec(
    name="users",
    file_name="llm_system_users_summary.csv",
    columns=(
        _UID,
        _i("total_sessions", 1),
        _i("total_requests", 1),
        _i("total_failed_requests"),
        _f("overall_failure_rate", 0, 1),
        _f("avg_csat", -2, 2, nullable=True),
        _f("risk_sessions_share", 0, 1),
        _f("escalations_per_100_sessions"),
        _f("total_cost_usd"),
        _i("total_tokens"),
        _f("avg_tokens_per_request"),
        _f("avg_requests_per_session", 1),
        _cat("primary_use_case", "use_case"),
        _cat("primary_channel", "channel"),
        _cat("dominant_segment", "segment"),
        _cat("dominant_account_tier", "account_tier"),
        _cat("dominant_country_code", "country_code"),
        _cat("dominant_region", "region"),
        _b("high_risk_user_flag"),
        _i("high_risk_sessions_count"),
        _i("total_escalations"),
    ),
    primary_key="user_id",
)

PROMPTS = TableSpec(
    name="prompts",
    file_name="llm_system_prompts_lookup.csv",
    columns=(
        _PID,
        _txt("prompt_sha1", ID_PATTERNS["sha1"]),
        _i("prompt_len", 1),
        _cat("instruction_template"),
        _cat("use_case"),
        _i("n_interactions"),
        _f("share_within_template", 0, 1),
        _i("n_sessions"),
        _i("n_users"),
        _i("use_case_mismatch_count"),
        _txt("instruction_text"),
        _txt("instruction_id", r"SP_[0-9a-f]{12}"),
        _txt("instruction_sha1", ID_PATTERNS["sha1"]),
        _i("instruction_len", 1),
    ),
    primary_key="prompt_id",
)

SFT_SAMPLES = TableSpec(
    name="sft_samples",
    file_name="llm_system_instruction_tuning_samples.csv",
    columns=(
        _IID,
        _SID,
        _UID,
        _PID,
        _cat("split"),
        _cat("use_case"),
        _cat("account_tier"),
        _cat("country_code"),
        _cat("segment"),
        _txt("raw_request_text"),
        _txt("raw_response_text"),
        _txt("sft_user_prompt"),
        _txt("sft_assistant_response"),
        _i("sample_id", 0),
        _cat("business_impact_tag"),
        _txt("instruction_text"),
    ),
    primary_key="sample_id",
    unique=("interaction_id",),
    foreign_keys=(ForeignKey("interaction_id", "interactions", "interaction_id"),),
)

TABLES: dict[str, TableSpec] = {t.name: t for t in (INTERACTIONS, SESSIONS, USERS, PROMPTS, SFT_SAMPLES)}
"""Logical name -> spec, in dependency order (parents before children)."""

LOAD_ORDER: tuple[str, ...] = ("users", "sessions", "prompts", "interactions", "sft_samples")

SQL_TYPES: dict[str, str] = {
    "bool": "boolean", "int": "bigint", "float": "double precision", "str": "text", "timestamp": "timestamptz",
}  # fmt: skip


def table_for_file(file_name: str) -> TableSpec | None:
    """The spec whose real file name is ``file_name`` (None if it is not one of the five)."""
    for t in TABLES.values():
        if t.file_name == file_name:
            return t
    return None


def sql_type(col: ColumnSpec | str, table: str | None = None) -> str:
    """Postgres type of a column (``text``, ``bigint``, ``double precision``, ``boolean``, ``timestamptz``).

    ``col`` is a :class:`ColumnSpec` or a column name; a bare name is looked up in ``table`` if given, else in
    every table (a name has the same type wherever it appears).
    """
    if isinstance(col, ColumnSpec):
        return SQL_TYPES[col.dtype]
    tables = [TABLES[table]] if table else list(TABLES.values())
    for t in tables:
        if col in t.column_names:
            return SQL_TYPES[t.column(col).dtype]
    raise KeyError(f"unknown column {col!r}" + (f" in table {table!r}" if table else ""))

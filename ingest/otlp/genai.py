"""GenAI spans to interactions: which spans are LLM calls, and how their attributes map to columns.

Recognised conventions (see docs/traces.md for the full table):

- OpenTelemetry GenAI, current: ``gen_ai.operation.name``, ``gen_ai.provider.name``, ``gen_ai.request.model`` /
  ``gen_ai.response.model``, ``gen_ai.usage.input_tokens`` / ``output_tokens``, ``gen_ai.input.messages`` /
  ``gen_ai.output.messages`` (JSON messages with text parts), ``gen_ai.conversation.id``;
- OpenTelemetry GenAI, older (as OpenLLMetry emits): ``gen_ai.system``, ``gen_ai.prompt.N.content`` /
  ``gen_ai.completion.N.content``, ``gen_ai.usage.prompt_tokens`` / ``completion_tokens``, and content sent as the
  ``gen_ai.content.prompt`` / ``gen_ai.content.completion`` span events;
- OpenInference: ``openinference.span.kind`` = LLM / TOOL, ``llm.model_name``, ``llm.provider`` / ``llm.system``,
  ``input.value`` / ``output.value``, ``llm.input_messages.N.message.content``, ``llm.token_count.*``.

An LLM span becomes one interaction: its id is the span id; the session is ``gen_ai.conversation.id`` or
``session.id``, else the trace; the user ``user.id`` or ``enduser.id``; latency is the span's duration. A span
with status ERROR or an ``exception`` event is a failure, its error message goes to ``extra.error``, and its
failure_type follows ``ingest/data/failure_types.json``. Tool spans (``execute_tool``, OpenInference TOOL) are
credited to the LLM span of their trace that started last before them: their names make ``tools_used``, and a
failing tool makes that interaction a ``tool_error``. Cost is tokens times ``ingest/data/model_prices.json``;
a model without a price has an unknown cost. Other spans (HTTP, database, agent wrappers) are not interactions.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from ingest.otlp.spans import STATUS_ERROR, SpanRecord

DATA = Path(__file__).resolve().parents[1] / "data"
LLM_OPERATIONS = {"chat", "text_completion", "generate_content", "completion"}
TOOL_OPERATIONS = {"execute_tool"}
TEXT_CHARS = 32_768


@cache
def _prices(override: str | None) -> dict[str, tuple[float, float]]:
    table = json.loads((DATA / "model_prices.json").read_text())
    if override:
        table.update(json.loads(Path(override).read_text()))
    return {k.lower(): (float(v[0]), float(v[1])) for k, v in table.items() if not k.startswith("_")}


def price(model: str | None) -> tuple[float, float] | None:
    """USD per 1M (input, output) tokens for ``model``: the longest matching prefix, or None."""
    return _price(model, os.environ.get("OPSGRAPH_PRICE_TABLE")) if model else None


@cache
def _price(model: str, override: str | None) -> tuple[float, float] | None:
    table = _prices(override)
    name = model.lower()
    keys = [k for k in table if name.startswith(k)]
    return table[max(keys, key=len)] if keys else None


@cache
def _failure_rules() -> list[tuple[str, list[str]]]:
    return [(kind, words) for kind, words in json.loads((DATA / "failure_types.json").read_text())["rules"]]


def failure_type(message: str) -> str:
    """The failure_type of an error text (``error`` when no rule matches)."""
    text = message.lower()
    return next((kind for kind, words in _failure_rules() if any(w in text for w in words)), "error")


def _texts_of_messages(value: Any, roles: set[str] | None) -> str:
    """Text parts of GenAI JSON messages (a JSON string or a list), optionally of some roles only."""
    if isinstance(value, str):
        try:
            value = orjson.loads(value)  # orjson: the messages of every span are parsed on the request path
        except orjson.JSONDecodeError:
            return value
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return "" if value is None else str(value)
    out = []
    for m in value:
        if not isinstance(m, dict) or (roles and m.get("role") not in roles):
            continue
        parts = m.get("parts")
        if isinstance(parts, list):
            out += [str(p.get("content", "")) for p in parts if isinstance(p, dict) and p.get("type") == "text"]
        elif m.get("content") is not None:
            content = m["content"]
            out.append(content if isinstance(content, str) else _texts_of_messages(content, None))
    return "\n".join(t for t in out if t)


def _indexed(span: SpanRecord, prefix: str, suffix: str, roles: set[str] | None) -> str:
    """Flattened messages such as ``gen_ai.prompt.0.content`` / ``llm.input_messages.0.message.content``."""
    out = []
    for i in range(1000):
        content = span.attributes.get(f"{prefix}.{i}.{suffix}content")
        if content is None:
            if i > 0 or f"{prefix}.1.{suffix}content" not in span.attributes:
                break
            continue
        role = span.attributes.get(f"{prefix}.{i}.{suffix}role")
        if roles is None or role is None or role in roles:
            out.append(str(content))
    return "\n".join(out)


def _event_text(span: SpanRecord, names: tuple[str, ...], keys: tuple[str, ...]) -> str:
    out = []
    for e in span.events:
        if e.name in names:
            for k in keys:
                if e.attributes.get(k) is not None:
                    out.append(_texts_of_messages(e.attributes[k], None))
    return "\n".join(t for t in out if t)


def prompt_text(span: SpanRecord) -> str:
    """The request text of an LLM span (user messages first; every message when no role says user)."""
    for value in (span.attributes.get("gen_ai.input.messages"), span.attributes.get("llm.input_messages")):
        if value is not None:
            return _texts_of_messages(value, {"user"}) or _texts_of_messages(value, None)
    return (_indexed(span, "gen_ai.prompt", "", {"user"}) or _indexed(span, "gen_ai.prompt", "", None)
            or _indexed(span, "llm.input_messages", "message.", {"user"})
            or _event_text(span, ("gen_ai.content.prompt", "gen_ai.user.message"), ("gen_ai.prompt", "content"))
            or str(span.attributes.get("input.value") or ""))


def completion_text(span: SpanRecord) -> str:
    """The response text of an LLM span."""
    for value in (span.attributes.get("gen_ai.output.messages"), span.attributes.get("llm.output_messages")):
        if value is not None:
            return _texts_of_messages(value, None)
    return (_indexed(span, "gen_ai.completion", "", None) or _indexed(span, "llm.output_messages", "message.", None)
            or _event_text(span, ("gen_ai.content.completion", "gen_ai.choice"), ("gen_ai.completion", "message",
                                                                                   "content"))
            or str(span.attributes.get("output.value") or ""))


def kind(span: SpanRecord) -> str:
    """``llm``, ``tool`` or ``other``."""
    op = str(span.attributes.get("gen_ai.operation.name") or "").lower()
    oi = str(span.attributes.get("openinference.span.kind") or "").upper()
    if op in TOOL_OPERATIONS or oi == "TOOL":
        return "tool"
    if op in LLM_OPERATIONS or oi == "LLM":
        return "llm"
    if op:  # embeddings, invoke_agent, create_agent, ...
        return "other"
    llm_keys = ("gen_ai.system", "gen_ai.provider.name", "gen_ai.request.model", "llm.model_name")
    return "llm" if any(k in span.attributes for k in llm_keys) else "other"


def error_message(span: SpanRecord) -> str:
    """Why the span failed ('' when it did not): status message, exception events, ``error.type``."""
    parts = []
    for e in span.events:
        if e.name == "exception":
            parts.append(": ".join(str(e.attributes[k]) for k in ("exception.type", "exception.message")
                                   if e.attributes.get(k)))
    failed = span.status_code == STATUS_ERROR or bool(parts) or bool(span.attributes.get("error.type"))
    if not failed:
        return ""
    head = [span.status_message, str(span.attributes.get("error.type") or "")]
    return "; ".join(dict.fromkeys(p for p in [*head, *parts] if p)) or "span status ERROR"


def _ts(ns: int) -> str:
    seconds, rest = divmod(ns, 1_000_000_000)
    try:
        stamp = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return str(ns)  # the validator rejects it as a malformed timestamp
    micros = rest // 1000
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + (f".{micros:06d}" if micros else "") + "Z"


def _listed(value: Any) -> str:
    """A string array as comma-joined text (Jaeger carries arrays as JSON text: both read the same)."""
    if isinstance(value, str) and value.startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return ",".join(map(str, value)) if isinstance(value, list) else ("" if value is None else str(value))


def _num(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return str(int(value))
    return str(value)


@dataclass
class MappedSpans:
    """The interaction rows of a batch (canonical column -> string) and the spans that are not interactions."""

    rows: list[dict[str, str]] = field(default_factory=list)
    spans: list[SpanRecord] = field(default_factory=list)  # the span of each row
    ignored: int = 0
    tool_spans: int = 0


def _credit_tools(llm: list[SpanRecord], tools: list[SpanRecord]) -> dict[str, list[SpanRecord]]:
    by_trace: dict[str, list[SpanRecord]] = {}
    for s in sorted(llm, key=lambda s: s.start_ns):
        by_trace.setdefault(s.trace_id, []).append(s)
    credit: dict[str, list[SpanRecord]] = {}
    for t in tools:
        calls = by_trace.get(t.trace_id)
        if calls:
            before = [s for s in calls if s.start_ns <= t.start_ns] or calls[:1]
            credit.setdefault(before[-1].span_id, []).append(t)
    return credit


def map_spans(spans: list[SpanRecord]) -> MappedSpans:
    """Interaction rows for the LLM spans of ``spans`` (see the module docstring)."""
    llm = [s for s in spans if kind(s) == "llm"]
    tools = [s for s in spans if kind(s) == "tool"]
    out = MappedSpans(ignored=len(spans) - len(llm) - len(tools), tool_spans=len(tools))
    credit = _credit_tools([s for s in llm if not s.problems], tools)
    for s in llm:
        error = error_message(s)
        used = credit.get(s.span_id, [])
        tool_errors = [(t, error_message(t)) for t in used if error_message(t)]
        ftype = failure_type(error) if error else ("tool_error" if tool_errors else "none")
        if tool_errors and not error:
            error = "; ".join(f"tool {t.attr('gen_ai.tool.name', 'tool.name') or t.name}: {m}" for t, m in tool_errors)
        p_tok = s.attr("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt")
        c_tok = s.attr("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion")
        total = s.attr("llm.token_count.total", "gen_ai.usage.total_tokens")
        if total is None and p_tok is not None and c_tok is not None:
            total = int(p_tok) + int(c_tok)
        model = s.attr("gen_ai.response.model", "gen_ai.request.model", "llm.model_name")
        rate = price(str(model) if model else None)
        cost = (round((int(p_tok) * rate[0] + int(c_tok) * rate[1]) / 1e6, 8)
                if rate and p_tok is not None and c_tok is not None else None)
        micros = s.end_ns // 1000 - s.start_ns // 1000  # Jaeger keeps microseconds: the same span, the same row
        duration_ms = math.ceil(micros / 1000) if micros >= 0 else -1
        names = [str(t.attr("gen_ai.tool.name", "tool.name") or t.name) for t in used]
        extra: dict[str, Any] = {"trace_id": s.trace_id, "span_name": s.name}
        for key, value in (("parent_span_id", s.parent_span_id), ("service.name", s.attr("service.name")),
                           ("agent_name", s.attr("gen_ai.agent.name", "service.name")),
                           ("agent_version", s.attr("gen_ai.agent.version", "service.version")),
                           ("operation", s.attr("gen_ai.operation.name", "openinference.span.kind")),
                           ("finish_reasons", _listed(s.attr("gen_ai.response.finish_reasons"))),
                           ("error", error)):
            if value:
                extra[key] = value
        if s.truncated:
            extra["truncated"] = s.truncated
        row = {
            "interaction_id": s.span_id,
            "session_id": str(s.attr("gen_ai.conversation.id", "session.id") or s.trace_id),
            "user_id": str(s.attr("user.id", "enduser.id") or ""),
            "timestamp_utc": _ts(s.start_ns),
            "model_provider": str(s.attr("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system") or ""),
            "model_name": str(model or ""),
            "temperature": _num(s.attr("gen_ai.request.temperature")),
            "top_p": _num(s.attr("gen_ai.request.top_p")),
            "max_tokens": _num(s.attr("gen_ai.request.max_tokens")),
            "prompt_tokens": _num(p_tok), "completion_tokens": _num(c_tok), "total_tokens": _num(total),
            "latency_ms": str(duration_ms), "cost_usd": _num(cost),
            "is_failure": "True" if ftype != "none" else "False", "failure_type": ftype,
            "tool_error_flag": "True" if ftype == "tool_error" else "False",
            "latency_timeout_flag": "True" if ftype == "latency_timeout" else "False",
            "tool_calls_count": str(len(used)), "tools_used": "|".join(names) if names else "none",
            "request_text": prompt_text(s)[:TEXT_CHARS], "response_text_snippet": completion_text(s)[:TEXT_CHARS],
            "extra": orjson.dumps(extra, default=str).decode(),
        }  # fmt: skip
        out.rows.append(row)
        out.spans.append(s)
    return out

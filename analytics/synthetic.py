"""Interaction frames with planted structure, for tests, demos and benchmarks of the analytics layer.

``make_planted_dataset`` draws gaussian blobs of unit-norm embeddings (one topic vocabulary per blob) and
interaction rows that follow the telemetry input contract. One blob is the planted problem: most of its
rows hit ``planted_model`` inside a short date window, fail with ``latency_timeout`` and take 8-15 s, with
critical/high business impact. The returned answer key lets tests check that the analytics recover it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

TOPICS: tuple[tuple[str, ...], ...] = (
    ("invoice", "refund", "billing", "subscription", "charge", "payment", "account", "receipt"),
    ("python", "function", "stacktrace", "refactor", "unittest", "compiler", "variable", "recursion"),
    ("sql", "dataframe", "aggregate", "revenue", "dashboard", "pivot", "quarterly", "forecast"),
    ("timeout", "gateway", "upstream", "export", "retry", "latency", "bulk", "pipeline"),
    ("slogan", "campaign", "headline", "brand", "tagline", "audience", "storytelling", "newsletter"),
)
USE_CASES = ("customer_support", "coding_assistant", "data_analysis", "internal_qa", "content_writing")
MODELS = ("gpt-4.1", "claude-3.5-sonnet", "llama-3.1-70b", "gpt-4o-mini")
RATES = {"gpt-4.1": 0.40, "claude-3.5-sonnet": 0.32, "llama-3.1-70b": 0.20, "gpt-4o-mini": 0.02}
FAILURES = ("formatting_error", "hallucination", "latency_timeout", "safety_block", "tool_error", "toxicity")
START, END = pd.Timestamp("2025-02-01", tz="UTC"), pd.Timestamp("2025-04-30", tz="UTC")


@dataclass
class PlantedDataset:
    """A synthetic frame, its embeddings and the answer key."""

    df: pd.DataFrame
    X: np.ndarray
    truth: np.ndarray
    planted_blob: int
    planted_model: str
    window_start: pd.Timestamp
    window_end: pd.Timestamp


def _blob_embeddings(rng: np.random.Generator, sizes: list[int], dim: int, spread: float) -> np.ndarray:
    centres = rng.normal(size=(len(sizes), dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    parts = [c + rng.normal(scale=spread, size=(s, dim)) for c, s in zip(centres, sizes, strict=True)]
    X = np.vstack(parts).astype(np.float32)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def _texts(rng: np.random.Generator, blob: int, n: int) -> tuple[list[str], list[str]]:
    words = TOPICS[blob % len(TOPICS)]
    prompts = [f"Quick question: please help with {' '.join(rng.choice(words, 5))}" for _ in range(n)]
    replies = [
        f"Sure, here is an answer about {' '.join(rng.choice(words, 4))} and next steps" for _ in range(n)
    ]
    return prompts, replies


def make_planted_dataset(
    sizes: tuple[int, ...] = (450, 450, 450, 300),
    dim: int = 384,
    seed: int = 0,
    spread: float = 0.06,
    planted_model: str = "llama-3.1-70b",
    window_start: str = "2025-03-10",
    window_days: int = 5,
) -> PlantedDataset:
    """Blobs of sizes ``sizes``; the last blob is the planted incident (see module docstring)."""
    rng = np.random.default_rng(seed)
    X = _blob_embeddings(rng, list(sizes), dim, spread)
    truth = np.repeat(np.arange(len(sizes)), sizes)
    n, planted = len(truth), len(sizes) - 1
    w_start = pd.Timestamp(window_start, tz="UTC")
    w_end = w_start + pd.Timedelta(days=window_days) - pd.Timedelta(seconds=1)

    span = (END - START).total_seconds()
    ts = START + pd.to_timedelta(rng.uniform(0, span, n), unit="s")
    model = rng.choice(MODELS, n)
    failed = rng.random(n) < 0.10
    ftype = np.where(failed, rng.choice(FAILURES, n), "none")
    latency = np.exp(rng.normal(np.log(1100), 0.35, n))
    impact = rng.choice(["critical", "high", "medium", "low"], n, p=[0.05, 0.15, 0.4, 0.4])

    hit = (truth == planted) & (rng.random(n) < 0.85)
    ts = ts.where(~hit, w_start + pd.to_timedelta(rng.uniform(0, window_days * 86400 - 1, n), unit="s"))
    model = np.where(hit, planted_model, model)
    timeout = hit & (rng.random(n) < 0.8)
    failed = failed | timeout
    ftype = np.where(timeout, "latency_timeout", ftype)
    latency = np.where(timeout, rng.uniform(8000, 15000, n), latency)
    impact = np.where(timeout, rng.choice(["critical", "high"], n, p=[0.6, 0.4]), impact)

    tokens = rng.integers(200, 2500, n)
    score = np.where(failed, rng.choice([-2.0, -1.0, 0.0], n), rng.choice([0.0, 1.0, 2.0], n))
    score = np.where(rng.random(n) < 0.45, np.nan, score)
    label = np.select(
        [np.isnan(score), score < 0, score > 0], ["no_feedback", "negative", "positive"], "neutral"
    )
    prompts: list[str] = []
    replies: list[str] = []
    for b, s in enumerate(sizes):
        p, r = _texts(rng, b, s)
        prompts += p
        replies += r
    df = pd.DataFrame(
        {
            "interaction_id": [f"INT{i + 1:06d}" for i in range(n)],
            "session_id": [f"S{i // 4 + 1:05d}" for i in range(n)],
            "user_id": [f"U{i // 20 + 1:05d}" for i in range(n)],
            "timestamp": ts,
            "model_name": model,
            "use_case": np.array(USE_CASES)[truth % len(USE_CASES)],
            "channel": rng.choice(["web_app", "api", "slack"], n),
            "failure_type": ftype,
            "is_failure": failed,
            "latency_ms": latency.round().astype(int),
            "total_tokens": tokens,
            "cost_usd": tokens / 1000 * np.array([RATES[m] for m in model]),
            "tools_used": np.where(
                truth == planted,
                "http_request|workflow_orchestrator",
                rng.choice(["none", "sql_query", "knowledge_lookup|vector_search"], n),
            ),
            "user_feedback_score": score,
            "user_feedback_label": label,
            "final_resolution_state": np.where(
                failed, rng.choice(["escalated_to_human", "abandoned"], n), "auto_resolved"
            ),
            "repair_strategy": np.where(
                timeout, "switch_model_family", np.where(failed, "regenerate_with_lower_temp", "none")
            ),
            "business_impact_tag": impact,
            "prompt_text": prompts,
            "completion_text": replies,
        }
    )
    return PlantedDataset(df, X, truth, planted, planted_model, w_start, w_end)

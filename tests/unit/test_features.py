"""Harmonised names, joins without suffix ambiguity, interaction features, RAG frame and embedding text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ingest.features import (
    FAILURE_TYPES,
    RAG_COLUMNS,
    add_features,
    embedding_text,
    failure_slice,
    harmonise,
    rag_frame,
)
from ingest.formulas import MODEL_RATES
from ingest.generator import generate
from ingest.schema import TABLES
from ingest.validate import validate_dir


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    out = tmp_path_factory.mktemp("feat")
    generate(1500, 9, out)
    return {name: pd.read_csv(out / spec.file_name) for name, spec in TABLES.items()}


@pytest.fixture(scope="module")
def joined(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return harmonise(tables["interactions"], tables["sessions"], tables["users"], tables["prompts"])


def test_harmonise_renames_and_joins_without_suffixes(tables: dict[str, pd.DataFrame], joined: pd.DataFrame) -> None:
    inter = tables["interactions"]
    assert len(joined) == len(inter) and joined["interaction_id"].tolist() == inter["interaction_id"].tolist()
    assert "prompt_text" in joined and "completion_text" in joined
    assert "request_text" not in joined and "response_text_snippet" not in joined
    assert not [c for c in joined.columns if c.endswith(("_x", "_y"))] and joined.columns.is_unique
    # interaction columns keep their names; summary columns are prefixed by table
    assert (joined["total_tokens"] == inter["total_tokens"]).all()
    assert (joined["session_total_tokens"] == joined.groupby("session_id")["total_tokens"].transform("sum")).all()
    assert (joined["user_total_requests"] == joined.groupby("user_id")["interaction_id"].transform("size")).all()
    assert (joined["prompt_use_case"] == joined["use_case"]).all() and "prompt_sha1" in joined


def test_harmonise_refuses_ambiguous_joins(tables: dict[str, pd.DataFrame]) -> None:
    inter = tables["interactions"].assign(session_failure_rate=0.0)
    with pytest.raises(ValueError, match="session_failure_rate"):
        harmonise(inter, tables["sessions"])
    dup_sessions = pd.concat([tables["sessions"], tables["sessions"].head(1)])
    with pytest.raises(pd.errors.MergeError):
        harmonise(tables["interactions"], dup_sessions)


def test_features_use_the_interaction_columns(joined: pd.DataFrame) -> None:
    f = add_features(joined)
    assert np.allclose(f["latency_per_token"], f["latency_ms"] / f["total_tokens"])
    assert not np.allclose(f["latency_per_token"], f["latency_ms"] / f["session_total_tokens"])
    assert np.allclose(f["cost_per_1k_tokens"], f["model_name"].map(MODEL_RATES), rtol=1e-9, atol=1e-12)
    for kind in FAILURE_TYPES:
        assert (f[f"is_{kind}"] == (f["failure_type"] == kind)).all()
    assert (f[[f"is_{k}" for k in FAILURE_TYPES]].sum(axis=1) == f["is_failure"].astype(int)).all()
    for col in ("cost_z", "tokens_z"):
        assert abs(f[col].mean()) < 1e-9 and abs(f[col].std(ddof=0) - 1) < 1e-9
    assert f["tokens_z"].corr(f["total_tokens"]) > 0.999
    const = add_features(joined.head(5).assign(cost_usd=0.5, total_tokens=100))
    assert (const["cost_z"] == 0).all() and (const["tokens_z"] == 0).all()
    zero = add_features(joined.head(1).assign(total_tokens=0))
    assert zero["latency_per_token"].isna().all() and zero["cost_per_1k_tokens"].isna().all()


def test_failure_slice(joined: pd.DataFrame) -> None:
    all_failed = failure_slice(joined)
    assert len(all_failed) == int(joined["is_failure"].sum()) and (all_failed["failure_type"] != "none").all()
    tool = failure_slice(joined, "tool_error")
    assert len(tool) == int((joined["failure_type"] == "tool_error").sum()) > 0
    assert tool["tools_used"].str.contains("tool_invocation_failed").all()


def test_rag_frame(tables: dict[str, pd.DataFrame], joined: pd.DataFrame) -> None:
    raw = rag_frame(tables["interactions"])
    assert list(raw.columns) == RAG_COLUMNS and len(raw) == len(tables["interactions"])
    assert (raw["prompt_text"] == tables["interactions"]["request_text"]).all()
    assert (raw["completion_text"] == tables["interactions"]["response_text_snippet"]).all()
    assert str(raw["timestamp"].dt.tz) == "UTC" and raw["is_failure"].dtype == bool
    assert (raw["is_failure"] == (raw["failure_type"] != "none")).all()
    pd.testing.assert_frame_equal(rag_frame(joined), raw)


def test_embedding_text(joined: pd.DataFrame) -> None:
    text = embedding_text(joined)
    assert len(text) == len(joined) and text.index.equals(joined.index)
    assert all(isinstance(t, str) for t in text)
    row = joined.iloc[0]
    expected = (
        f"prompt: {row['prompt_text']} | completion: {row['completion_text']} | failure: "
        f"{row['failure_type']} | tools: {row['tools_used']} | model: {row['model_name']}"
    )
    assert text.iloc[0] == expected
    assert embedding_text(row).iloc[0] == expected  # one row as a Series
    failed = joined.index[joined["failure_type"] == "tool_error"][0]
    assert "failure: tool_error" in text[failed] and "tool_invocation_failed" in text[failed]
    rag = embedding_text(rag_frame(joined))  # context columns are optional
    assert rag.iloc[0].startswith("prompt: ") and "| failure: " in rag.iloc[0] and "| model:" not in rag.iloc[0]


def test_features_on_validated_data(tmp_path: Path) -> None:
    generate(400, 1, tmp_path)
    res = validate_dir(tmp_path)
    data = {k: v.data for k, v in res.items()}
    assert all(d is not None for d in data.values())
    joined = harmonise(data["interactions"], data["sessions"], data["users"], data["prompts"])  # type: ignore[arg-type]
    f = add_features(joined)
    assert np.allclose(f["latency_per_token"], f["latency_ms"] / f["total_tokens"])
    rag = rag_frame(f)
    assert list(rag.columns) == RAG_COLUMNS and rag["timestamp"].notna().all()
    assert embedding_text(f).str.startswith("prompt: ").all()

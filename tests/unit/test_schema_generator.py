"""Schema, generator, summaries, answer key, KS comparison and the ``data`` CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.data_cmd import data_app
from ingest import compare, schema
from ingest.formulas import (
    MODEL_PROVIDERS,
    MODEL_RATES,
    REGION_BY_COUNTRY,
    format_ids,
    id_width,
    split_for_session,
)
from ingest.generator import ANSWER_KEY, ANSWER_LABELS, generate
from ingest.planted_incidents import INCIDENTS
from ingest.schema import TABLES, sql_type
from ingest.summaries import session_summary, users_summary
from ingest.texts import INSTRUCTION_TEXTS, PREFIXES, SECURITY_TEMPLATES

REF = compare.reference_dir()


def _read(d: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(d / TABLES[name].file_name, keep_default_na=True)


@pytest.fixture(scope="module", params=[7, 11])
def small(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp(f"gen{request.param}")
    generate(2000, request.param, out)
    return out


@pytest.fixture(scope="module")
def ninek(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen9k")
    generate(9000, 0, out)
    return out


def test_table_specs_match_real_headers() -> None:
    assert {k: len(t.columns) for k, t in TABLES.items()} == {
        "interactions": 55,
        "sessions": 37,
        "users": 21,
        "prompts": 14,
        "sft_samples": 16,
    }
    for name in ("sessions", "users", "prompts"):
        header = list(pd.read_csv(REF / TABLES[name].file_name, nrows=0).columns)
        assert header == TABLES[name].column_names
    counts = pd.Series([c.dtype for c in TABLES["interactions"].columns]).value_counts().to_dict()
    assert counts == {"str": 25, "bool": 12, "int": 10, "float": 7, "timestamp": 1}
    assert [c.name for c in TABLES["interactions"].columns if c.nullable] == ["user_feedback_score"]
    fks = {(t.name, fk.column, fk.ref_table) for t in TABLES.values() for fk in t.foreign_keys}
    assert {
        ("interactions", "session_id", "sessions"),
        ("interactions", "user_id", "users"),
        ("interactions", "prompt_id", "prompts"),
        ("sft_samples", "interaction_id", "interactions"),
    } <= fks


def test_sql_types() -> None:
    assert sql_type("latency_ms") == "bigint"
    assert sql_type("cost_usd") == "double precision"
    assert sql_type("is_failure") == "boolean"
    assert sql_type("timestamp_utc") == "timestamptz"
    assert sql_type("request_text") == "text"
    assert sql_type(TABLES["sessions"].column("csat_mean")) == "double precision"
    for t in TABLES.values():  # a name has one type across tables
        for c in t.columns:
            assert sql_type(c.name) == sql_type(c), (t.name, c.name)
    with pytest.raises(KeyError):
        sql_type("no_such_column")


def test_formulas_hold_on_the_real_prompts_lookup() -> None:
    p = pd.read_csv(REF / TABLES["prompts"].file_name)
    for r in p.itertuples():
        assert schema.prompt_id(r.use_case, r.instruction_template, r.instruction_text) == r.prompt_id
        assert schema.prompt_sha1(r.instruction_template, r.instruction_text) == r.prompt_sha1
        assert schema.prompt_len(r.instruction_template, r.instruction_text) == r.prompt_len
        assert schema.instruction_id(r.instruction_text) == r.instruction_id
        assert INSTRUCTION_TEXTS[r.use_case] == r.instruction_text


def test_generated_headers_are_the_real_ones(small: Path) -> None:
    for name, spec in TABLES.items():
        header = list(pd.read_csv(small / spec.file_name, nrows=0).columns)
        assert header == spec.column_names, name
    first = (small / TABLES["interactions"].file_name).read_text().splitlines()[1]
    assert ",True," in first or ",False," in first  # pandas-style booleans


def test_every_interaction_formula_holds(small: Path) -> None:
    i = _read(small, "interactions")
    assert len(i) == 2000
    assert i["interaction_id"].tolist() == [f"INT{n:06d}" for n in range(1, 2001)]
    assert i["session_id"].str.fullmatch(r"S\d{5}").all() and i["user_id"].str.fullmatch(r"U\d{5}").all()
    assert i["timestamp_utc"].str.fullmatch(r"2025-0[2-4]-\d\dT\d\d:\d\d:\d\dZ").all()
    ts = pd.to_datetime(i["timestamp_utc"], format="%Y-%m-%dT%H:%M:%SZ", utc=True)
    assert ts.min() >= pd.Timestamp("2025-02-01", tz="UTC") and ts.max() < pd.Timestamp("2025-05-01", tz="UTC")
    assert (i["split"] == i["session_id"].map(split_for_session)).all()
    assert (i["total_tokens"] == i["prompt_tokens"] + i["completion_tokens"]).all()
    rate = i["model_name"].map(MODEL_RATES)
    assert np.allclose(i["cost_usd"], np.round(i["total_tokens"] / 1000 * rate, 6), rtol=0, atol=1e-12)
    assert np.allclose(i["tokens_per_second"], np.round(i["total_tokens"] / (i["latency_ms"] / 1000), 6))
    assert np.allclose(i["prompt_to_completion_ratio"], np.round(i["prompt_tokens"] / i["completion_tokens"], 4))
    assert (i["model_provider"] == i["model_name"].map(MODEL_PROVIDERS)).all()
    assert (i["region"] == i["country_code"].map(REGION_BY_COUNTRY)).all()
    assert (i["date_utc"] == ts.dt.strftime("%Y-%m-%d")).all()
    assert (i["hour_of_day_utc"] == ts.dt.hour).all() and (i["day_of_week"] == ts.dt.day_of_week).all()
    assert (i["is_weekend"] == (i["day_of_week"] >= 5)).all()
    assert (i["is_peak_hour"] == i["hour_of_day_utc"].between(9, 18)).all()
    expected_pid = [
        hashlib.sha1(f"{u}|{t}|{x}".encode()).hexdigest()
        for u, t, x in zip(i["use_case"], i["instruction_template"], i["instruction_text"], strict=True)
    ]
    assert (i["prompt_id"] == expected_pid).all()
    assert (i["instruction_text"] == i["use_case"].map(INSTRUCTION_TEXTS)).all()
    assert (i["is_failure"] == (i["failure_type"] != "none")).all()
    for flag, kind in schema.FAILURE_FLAGS.items():
        assert (i[flag] == (i["failure_type"] == kind)).all(), flag
    assert (i["user_feedback_observed"] == i["user_feedback_score"].notna()).all()
    s = i["user_feedback_score"]
    label = np.where(s.isna(), "no_feedback", np.where(s < 0, "negative", np.where(s > 0, "positive", "neutral")))
    assert (i["user_feedback_label"] == label).all()
    n_tools = (
        i["tools_used"]
        .str.split("|")
        .map(lambda xs: len([x for x in xs if x not in ("none", "tool_invocation_failed")]))
    )
    assert (i["tool_calls_count"] == n_tools).all() and ((i["tools_used"] == "none") == (n_tools == 0)).all()
    assert (i["tools_used"].str.contains("tool_invocation_failed") == (i["failure_type"] == "tool_error")).all()
    snip = i["response_text_snippet"]
    assert (i["response_text_snippet_len_chars"] == snip.str.len()).all()
    assert snip.str.len().between(180, 263).all() and snip.str.endswith("...").all()
    assert i["response_text_snippet_is_truncated"].all()
    prefix = [r[: len(r) - len(t)] for r, t in zip(i["request_text"], i["request_text_template"], strict=True)]
    assert all(r.endswith(t) for r, t in zip(i["request_text"], i["request_text_template"], strict=True))
    assert set(prefix) <= set(PREFIXES)
    for col in (
        "channel",
        "use_case",
        "account_tier",
        "segment",
        "failure_type",
        "repair_strategy",
        "final_resolution_state",
        "business_impact_tag",
        "instruction_template",
        "model_name",
    ):
        assert set(i[col]) <= set(schema.LEVELS[col]), col
    assert i["max_tokens"].isin([256, 512, 768, 1024, 1536, 2048]).all()
    assert (i["completion_tokens"] <= i["max_tokens"]).all()
    assert i["temperature"].between(0, 2).all() and i["top_p"].between(0.71, 1.0).all()
    assert i["retry_index"].between(0, 3).all() and i["tool_calls_count"].between(0, 3).all()
    # session-level constants
    dims = ["user_id", "use_case", "channel", "country_code", "account_tier", "segment", "split"]
    assert (i.groupby("session_id")[dims].nunique() == 1).all().all()


def test_sft_samples_are_one_to_one(small: Path) -> None:
    i, f = _read(small, "interactions"), _read(small, "sft_samples")
    assert f["interaction_id"].tolist() == i["interaction_id"].tolist()
    assert f["sample_id"].tolist() == list(range(1, len(i) + 1))
    for col in (
        "session_id",
        "user_id",
        "prompt_id",
        "split",
        "use_case",
        "account_tier",
        "country_code",
        "segment",
        "business_impact_tag",
        "instruction_text",
    ):
        assert (f[col] == i[col]).all(), col
    assert (f["raw_request_text"] == i["request_text"]).all()
    assert all(
        full.startswith(s[:-3]) for full, s in zip(f["raw_response_text"], i["response_text_snippet"], strict=True)
    )
    assert (f["sft_user_prompt"] == "<|system|> " + f["instruction_text"] + " <|user|> " + f["raw_request_text"]).all()
    ok = ~i["is_failure"]
    assert (f.loc[ok, "sft_assistant_response"] == f.loc[ok, "raw_response_text"]).all()


def test_sessions_reconcile_with_interactions(small: Path) -> None:
    i, s = _read(small, "interactions"), _read(small, "sessions")
    g = i.groupby("session_id")
    assert list(s["session_id"]) == sorted(g.groups)
    s = s.set_index("session_id")
    assert (s["total_requests"] == g.size()).all()
    assert (s["failed_requests"] == g["is_failure"].sum()).all()
    assert (s["failure_rate"] == np.round(g["is_failure"].sum() / g.size(), 4)).all()
    assert (s["total_tokens"] == g["total_tokens"].sum()).all()
    assert (s["total_latency_ms"] == g["latency_ms"].sum()).all()
    assert (s["median_latency_ms"] == g["latency_ms"].median()).all()
    assert np.allclose(s["avg_latency_ms"], np.round(g["latency_ms"].mean(), 2))
    assert np.allclose(s["total_cost_usd"], g["cost_usd"].sum(), rtol=0, atol=1e-9)
    assert np.allclose(s["cost_per_1k_tokens"], s["total_cost_usd"] / s["total_tokens"] * 1000)
    q_milli = np.rint(i["response_quality_score"] * 1000).groupby(i["session_id"]).sum()
    assert (s["avg_response_quality_score"] == np.round(q_milli / g.size()) / 1000).all()
    assert ((s["avg_response_quality_score"] - g["response_quality_score"].mean()).abs() <= 0.0005 + 1e-12).all()
    assert ((s["avg_tokens_per_second"] - g["tokens_per_second"].mean()).abs() <= 5e-7 + 1e-9).all()
    assert (s["requests_with_tools"] == g["tool_calls_count"].apply(lambda x: int((x > 0).sum()))).all()
    assert (s["n_retry_requests"] == g["retry_index"].apply(lambda x: int((x > 0).sum()))).all()
    esc = i["final_resolution_state"].eq("escalated_to_human").groupby(i["session_id"]).sum()
    assert (s["escalations_to_human"] == esc).all()
    csat = g["user_feedback_score"].mean()
    assert ((s["csat_mean"] - csat).abs().fillna(0) < 1e-12).all() and (s["csat_mean"].isna() == csat.isna()).all()
    assert np.allclose(s["csat_response_rate"], g["user_feedback_score"].count() / g.size())
    assert (s["start_timestamp_utc"] == g["timestamp_utc"].min()).all()
    assert (s["end_timestamp_utc"] == g["timestamp_utc"].max()).all()
    start = pd.to_datetime(s["start_timestamp_utc"], utc=True)
    dur = (pd.to_datetime(s["end_timestamp_utc"], utc=True) - start).dt.total_seconds()
    assert (s["session_duration_seconds"] == dur).all()
    zero = dur == 0
    assert (s["zero_duration_session_flag"] == zero).all() and (s["requests_per_minute"].isna() == zero).all()
    assert np.allclose(s.loc[~zero, "requests_per_minute"], s.loc[~zero, "total_requests"] / (dur[~zero] / 60))
    eff = np.maximum(dur, s["total_latency_ms"] / 1000)
    assert (s["effective_session_duration_seconds"] == eff).all()
    assert np.allclose(s["requests_per_minute_effective"], s["total_requests"] / (eff / 60))
    # the library function reproduces the file from a re-read of the interactions
    again = session_summary(i).set_index("session_id")
    pd.testing.assert_frame_equal(again, s, check_dtype=False, rtol=1e-12)


def test_users_and_prompts_reconcile(small: Path) -> None:
    i, s, u, p = (_read(small, n) for n in ("interactions", "sessions", "users", "prompts"))
    gi = i.groupby("user_id")
    u = u.set_index("user_id")
    assert (u["total_requests"] == gi.size()).all()
    assert (u["total_sessions"] == gi["session_id"].nunique()).all()
    assert (u["total_failed_requests"] == gi["is_failure"].sum()).all()
    avg = gi["user_feedback_score"].mean()
    assert ((u["avg_csat"] - avg).abs().fillna(0) < 1e-12).all()
    assert np.allclose(u["total_cost_usd"], gi["cost_usd"].sum(), rtol=0, atol=1e-9)
    assert (u["total_tokens"] == gi["total_tokens"].sum()).all()
    gs = s.groupby("user_id")
    assert (u["high_risk_sessions_count"] == gs["risk_session_flag"].sum()).all()
    assert np.allclose(u["risk_sessions_share"], np.round(gs["risk_session_flag"].mean(), 4))
    assert np.allclose(u["escalations_per_100_sessions"], gs["escalations_to_human"].sum() / gs.size() * 100)
    for uid in u.index[:60]:  # modes over sessions, ties alphabetical
        counts = s.loc[s["user_id"] == uid, "use_case"].value_counts()
        assert u.loc[uid, "primary_use_case"] == sorted(counts[counts == counts.max()].index)[0]
    pd.testing.assert_frame_equal(users_summary(s).set_index("user_id"), u, check_dtype=False, rtol=1e-12)
    assert len(p) == 36 and p["n_interactions"].sum() == len(i)
    gp = i.groupby("prompt_id")
    p = p.set_index("prompt_id").sort_index()
    assert (p["n_interactions"] == gp.size()).all()
    assert (p["n_sessions"] == gp["session_id"].nunique()).all() and (p["n_users"] == gp["user_id"].nunique()).all()
    assert np.allclose(p.groupby("instruction_template")["share_within_template"].sum(), 1.0)
    assert (p["use_case_mismatch_count"] == 0).all()


def test_answer_key_matches_labels(small: Path) -> None:
    key = json.loads((small / ANSWER_KEY).read_text())
    labels = pd.read_csv(small / ANSWER_LABELS)
    i = _read(small, "interactions").merge(labels, on="interaction_id", validate="one_to_one")
    assert len(labels) == len(i) and {inc["id"] for inc in key["incidents"]} == {x.id for x in INCIDENTS}
    for inc in key["incidents"]:
        rows = i[i["incident_id"] == inc["id"]]
        assert len(rows) == inc["n_affected"]
        assert (rows["failure_type"] == inc["failure_type"]).sum() == inc["n_failures"]
        sample = i.set_index("interaction_id").loc[inc["sample_interaction_ids"]]
        assert (sample["incident_id"] == inc["id"]).all() and (sample["failure_type"] == inc["failure_type"]).all()
        day = rows["date_utc"]
        assert ((day >= inc["window_start"]) & (day <= inc["window_end"])).all()
        if inc["model"]:
            assert (rows["model_name"] == inc["model"]).all()
        if inc["use_case"]:
            assert (rows["use_case"] == inc["use_case"]).all()
        if inc["tool"]:
            assert rows["tools_used"].str.contains(inc["tool"]).all()


def test_planted_incidents_are_visible(ninek: Path) -> None:
    i = _read(ninek, "interactions")
    day = i["date_utc"]
    llama = i["model_name"] == "llama-3.1-70b"
    window = day.between("2025-03-18", "2025-03-24")
    assert i.loc[llama & window, "latency_ms"].median() > 2.5 * i.loc[llama & ~window, "latency_ms"].median()
    assert (
        i.loc[llama & window, "latency_timeout_flag"].mean() > 0.4 > 0.1 > i.loc[~window, "latency_timeout_flag"].mean()
    )
    sql = i["tools_used"].str.contains("sql_query")
    win2 = day.between("2025-04-08", "2025-04-21")
    assert i.loc[sql & win2, "tool_error_flag"].mean() > 0.5 > 0.35 > i.loc[sql & ~win2, "tool_error_flag"].mean()
    assert i.loc[sql & win2 & i["tool_error_flag"], "response_text_snippet"].str.contains("sql_query").mean() > 0.9
    da = i["use_case"] == "data_analysis"
    mini = i["model_name"] == "gpt-4o-mini"
    assert i.loc[da & mini, "hallucination_flag"].mean() > 3 * i.loc[da & ~mini, "hallucination_flag"].mean()
    security = i["request_text_template"].isin([t.split("{")[0] for t in SECURITY_TEMPLATES]) | i[
        "request_text_template"
    ].str.contains("exploit|keylogger|ransomware|injection payload|bypass authentication|escalate privileges")
    coding = i["use_case"] == "coding_assistant"
    assert i.loc[coding & security, "safety_block_flag"].mean() > 0.6
    assert i.loc[~security, "safety_block_flag"].mean() < 0.05
    assert 0.25 < i["is_failure"].mean() < 0.31 and 0.035 < i["safety_block_flag"].mean() < 0.055


def test_ks_against_real_sessions_at_9k_seed0(ninek: Path) -> None:
    ks = compare.compare_dir(ninek)
    assert set(ks) == set(compare.KS_METRICS)
    assert all(v < compare.KS_THRESHOLD for v in ks.values()), ks
    sessions = _read(ninek, "sessions")
    assert 1450 < len(sessions) < 1750  # real: 1,595 sessions, 438 users for 9,000 interactions
    assert 380 < sessions["user_id"].nunique() < 500


def test_deterministic_and_chunk_independent(tmp_path: Path) -> None:
    a, b, c, d = (tmp_path / x for x in "abcd")
    generate(25_000, 3, a)  # about two blocks of sessions
    seen: list[int] = []
    report = generate(25_000, 3, b, chunk_rows=5_000, progress=lambda done, total: seen.append(done))
    assert report.rows == 25_000 and len(seen) >= 2 and seen[-1] == 25_000 and seen == sorted(seen)
    for spec in TABLES.values():
        assert (a / spec.file_name).read_bytes() == (b / spec.file_name).read_bytes(), spec.name
    assert (a / ANSWER_KEY).read_bytes() == (b / ANSWER_KEY).read_bytes()
    assert (a / ANSWER_LABELS).read_bytes() == (b / ANSWER_LABELS).read_bytes()
    generate(3000, 3, c)
    generate(3000, 4, d)
    name = TABLES["interactions"].file_name
    assert (c / name).read_bytes() != (d / name).read_bytes()
    ids = pd.read_csv(b / name, usecols=["interaction_id"])["interaction_id"]
    assert ids.is_unique and ids.iloc[-1] == "INT025000"


def test_id_width_grows() -> None:
    assert id_width(6, 999_999) == 6 and id_width(6, 1_000_000) == 7 and id_width(5, 3) == 5
    assert format_ids("S", np.array([1, 123456]), id_width(5, 123456)).tolist() == ["S000001", "S123456"]


def test_reference_dir_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPSGRAPH_REFERENCE_DIR", raising=False)
    assert compare.reference_dir() == compare.PACKAGED_REFERENCE
    for f in compare.REFERENCE_FILES:
        assert (compare.PACKAGED_REFERENCE / f).is_file()
        if compare.SHARED_REFERENCE.is_dir():
            assert (compare.PACKAGED_REFERENCE / f).read_bytes() == (compare.SHARED_REFERENCE / f).read_bytes()
    assert (compare.PACKAGED_REFERENCE / "LICENSE-source.txt").is_file()
    for f in compare.REFERENCE_FILES:
        (tmp_path / f).write_bytes((compare.PACKAGED_REFERENCE / f).read_bytes())
    monkeypatch.setenv("OPSGRAPH_REFERENCE_DIR", str(tmp_path))
    assert compare.reference_dir() == tmp_path


def test_cli_generate_and_compare(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "data"
    res = runner.invoke(data_app, ["generate", "--rows", "1500", "--seed", "2", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.output)
    assert payload["report"]["rows"] == 1500 and set(payload["ks"]) == set(compare.KS_METRICS)
    assert all((out / spec.file_name).is_file() for spec in TABLES.values())
    res = runner.invoke(data_app, ["compare", str(out), "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["ks"] == payload["ks"]
    res = runner.invoke(data_app, ["compare", str(tmp_path / "missing")])
    assert res.exit_code == 1 and "not found" in res.output
    res = runner.invoke(data_app, ["generate", "--rows", "800", "--out", str(tmp_path / "tty")])
    assert res.exit_code == 0 and "KS" in res.output and "INC-001" in res.output
    sessions = pd.read_csv(out / TABLES["sessions"].file_name)
    sessions["avg_latency_ms"] *= 3  # a distribution far from the real one fails the comparison
    sessions.to_csv(tmp_path / "tty" / TABLES["sessions"].file_name, index=False)
    res = runner.invoke(data_app, ["compare", str(tmp_path / "tty"), "--json"])
    assert res.exit_code == 2 and json.loads(res.output)["ks"]["avg_latency_ms"] > 0.5

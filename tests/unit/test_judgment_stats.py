"""Analyst and comparator statistics, and the reports built from them (pure, no database, no MLflow)."""

from __future__ import annotations

import math
import re
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from analytics.judgment_reports import analyst_report, comparison_report
from analytics.judgment_stats import (
    MCNEMAR_UNIT,
    aggregate_judgments,
    compare,
    holm,
    pair_runs,
    power_note,
    wilcoxon_p,
    wilson_interval,
)

CATEGORIES = ("billing", "account", "technical")


def scenarios(n: int = 30) -> list[dict[str, Any]]:
    return [{"id": f"s{i:02d}", "category": CATEGORIES[i % 3], "persona": ("novice", "expert")[i % 2],
             "goal": "get help", "difficulty": ("easy", "medium", "hard")[i % 3]} for i in range(n)]


def judgment(sid: str, seed: int, score: int, passed: bool, agent: str = "a", version: str = "1",
             rubric: dict[str, Any] | None = None, rationale: str = "turn 1: fine") -> dict[str, Any]:
    return {"scenario_id": sid, "agent": {"name": agent, "version": version}, "seed": seed, "score": score,
            "passed": passed, "rationale": rationale, "rubric": rubric or {}}


def simulate(agent: str, p_pass: float, rng: np.random.Generator, n: int = 30, seeds: int = 2,
             bonus: int = 0) -> list[dict[str, Any]]:
    """Scores 3-5 when passed, 1-3 when failed, plus ``bonus`` (clipped to 1..5)."""
    out = []
    for s in scenarios(n):
        for seed in range(seeds):
            ok = bool(rng.random() < p_pass)
            score = int(np.clip(rng.integers(3, 6) if ok else rng.integers(1, 4), 1, 5))
            out.append(judgment(s["id"], seed, int(np.clip(score + bonus, 1, 5)), ok, agent))
    return out


def test_wilson_interval_known_values() -> None:
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    # z = 2.5758: centre (0.9 + z²/100) / (1 + z²/50) = 0.85314, half-width 0.11287
    assert wilson_interval(45, 50, conf=0.99) == pytest.approx((0.7403, 0.9660), abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


def test_aggregate_breakdowns_pass_k_and_failure_reasons() -> None:
    crit = SimpleNamespace  # objects with attributes work like dicts (e.g. pydantic CriterionScore)
    js: list[Any] = [
        judgment("s00", 0, 5, True), judgment("s00", 1, 4, True), judgment("s00", 2, 5, True),
        judgment("s01", 0, 4, True),
        judgment("s01", 1, 2, False, rubric={"policy": crit(score=1, notes=""), "tone": crit(score=4, notes="")},
                 rationale="turn 2: refund promised without verifying the order"),
        SimpleNamespace(scenario_id="s01", agent=SimpleNamespace(name="a", version="1"), seed=2, score=1,
                        passed=False, rationale="turn 3: refund promised again", rubric={"policy": False,
                                                                                         "tone": True}),
    ]
    agg = aggregate_judgments(js, scenarios(3))
    o = agg["overall"]
    assert (o["n"], o["passes"]) == (6, 4) and o["pass_rate"] == pytest.approx(4 / 6)
    assert (o["ci_low"], o["ci_high"]) == pytest.approx(wilson_interval(4, 6))
    assert agg["score_distribution"] == {1: 1, 2: 1, 3: 0, 4: 2, 5: 2}
    assert o["mean_score"] == pytest.approx(21 / 6)
    by_cat = {r["value"]: r for r in agg["breakdown"]["category"]}
    assert by_cat["billing"]["n"] == 3 and by_cat["account"]["pass_rate"] == pytest.approx(1 / 3)
    assert {r["value"] for r in agg["breakdown"]["difficulty"]} == {"easy", "medium"}
    pk = agg["pass_k"]
    assert pk["k"] == 3 and pk["multi_seed"]
    assert pk["pass_hat_k"][3] == pytest.approx(0.5) and pk["pass_at_k"][3] == pytest.approx(1.0)
    assert pk["pass_hat_k"][1] == pytest.approx(4 / 6)
    fr = agg["failure_reasons"]
    assert fr["n_failed"] == 2 and fr["criteria"][0]["reason"] == "policy" and fr["criteria"][0]["count"] == 2
    assert "tone" not in [c["reason"] for c in fr["criteria"]]
    assert {"refund", "promised"} <= {k["keyword"] for k in fr["keywords"]}


def test_pair_runs_reports_unpaired_and_rejects_empty_or_duplicate() -> None:
    a = [judgment("s00", 0, 3, True), judgment("s01", 0, 3, True), judgment("s02", 0, 3, True)]
    b = [judgment("s00", 0, 4, True, "b"), judgment("s01", 0, 2, False, "b"), judgment("s09", 0, 2, False, "b")]
    paired = pair_runs(a, b)
    assert len(paired.frame) == 2 and (paired.unpaired_a, paired.unpaired_b) == (1, 1)
    assert {r["scenario_id"] for r in paired.records()} == {"s00", "s01"}
    with pytest.raises(ValueError, match="no \\(scenario_id, seed\\) pairs"):
        pair_runs(a, [judgment("x", 0, 3, True, "b")])
    with pytest.raises(ValueError, match="duplicate"):
        pair_runs(a + a[:1], b)


@pytest.mark.parametrize("better", ["b", "a"])
def test_known_difference_is_significant_with_the_right_sign(better: str) -> None:
    rng = np.random.default_rng(7)
    weak, strong = simulate("weak", 0.45, rng), simulate("strong", 0.85, rng, bonus=1)
    a, b = (weak, strong) if better == "b" else (strong, weak)
    r = compare(a, b, scenarios())
    assert r["significant"] and r["winner"] == better
    sign = 1 if better == "b" else -1
    assert sign * r["mean_diff"] > 0 and sign * r["ci_low"] > 0 and sign * r["ci_high"] > 0
    assert r["wilcoxon"]["p"] < 0.05 and r["mcnemar"]["p"] < 0.05
    assert sign * r["cohens_dz"] > 0 and sign * r["rank_biserial"] > 0
    assert r["pass_k_a"]["k"] == 2 and r["n_scenarios"] == 30 and r["n_pairs"] == 60
    assert "recommended" in r["recommendation"]


def test_identical_agents_are_not_significant() -> None:
    js = simulate("same", 0.6, np.random.default_rng(1))
    r = compare(js, js, scenarios())
    assert r["mean_diff"] == 0 and (r["ci_low"], r["ci_high"]) == (0.0, 0.0)
    assert r["wilcoxon"]["p"] == 1.0 and r["mcnemar"] == {"a_only": 0, "b_only": 0, "p": 1.0, "unit": MCNEMAR_UNIT,
                                                           "uncertain_scenarios": 0}
    assert not r["significant"] and r["winner"] is None
    assert r["cohens_dz"] == 0.0 and r["rank_biserial"] == 0.0
    assert r["power"]["n_required"] is None and "No detectable difference" in r["power"]["text"]
    assert all(c["wilcoxon"]["p_holm"] == 1.0 and not c["significant"] for c in r["categories"])
    assert wilcoxon_p(np.zeros(5)) == 1.0


def test_noise_only_difference_is_not_significant() -> None:
    a = simulate("a", 0.6, np.random.default_rng(11), n=45, seeds=3)
    b = simulate("b", 0.6, np.random.default_rng(12), n=45, seeds=3)
    r = compare(a, b, scenarios(45), seed=3)
    assert r["mean_diff"] != 0
    assert not r["significant"] and r["winner"] is None
    assert r["ci_low"] < 0 < r["ci_high"]
    assert "not significant" in r["recommendation"]


def test_holm_is_monotone_and_not_below_raw() -> None:
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    raw = list(np.random.default_rng(0).uniform(0, 0.2, size=12))
    adj = holm(raw)
    assert all(q >= p for p, q in zip(raw, adj, strict=True)) and max(adj) <= 1.0
    ordered = [adj[i] for i in np.argsort(raw)]
    assert ordered == sorted(ordered)
    r = compare(simulate("a", 0.5, np.random.default_rng(2)), simulate("b", 0.8, np.random.default_rng(3)),
                scenarios())
    for c in r["categories"]:
        assert c["wilcoxon"]["p_holm"] >= c["wilcoxon"]["p"] and c["mcnemar"]["p_holm"] >= c["mcnemar"]["p"]


def test_power_note_numbers() -> None:
    note = power_note(0.5, 1.0, 20, alpha=0.05)
    assert note["n_raw"] == pytest.approx((1.959964 + 0.841621) ** 2 * 4, rel=1e-5)
    assert note["n_required"] == 32 and "32 scenarios" in note["text"] and "underpowered" in note["text"]
    assert power_note(-1.0, 1.0, 20)["n_required"] == 8  # sign does not matter
    assert power_note(0.0, 1.0, 20)["n_required"] is None
    r = compare(simulate("a", 0.5, np.random.default_rng(4)), simulate("b", 0.7, np.random.default_rng(5)),
                scenarios())
    expected = math.ceil(((1.959964 + 0.841621) * r["sd_diff"] / r["mean_diff"]) ** 2)
    assert r["power"]["n_required"] == max(2, expected)


def _assert_standalone(html: str) -> None:
    sources = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    without_images = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html)
    assert "http" not in without_images and "<link" not in without_images and "<script" not in without_images


def test_reports_contain_the_numbers_and_embed_images() -> None:
    a = simulate("support", 0.5, np.random.default_rng(8))
    agg = aggregate_judgments(a, scenarios())
    md, html = analyst_report(agg)
    o = agg["overall"]
    for text in (md, html):
        assert f"{100 * o['pass_rate']:.1f}%" in text and f"{100 * o['ci_low']:.1f}%" in text
        assert f"{o['mean_score']:.2f}" in text and "billing" in text
    assert "data:image" not in md and html.count("data:image/png;base64,") == 2
    _assert_standalone(html)

    r = compare(a, simulate("support", 0.9, np.random.default_rng(9), bonus=1), scenarios())
    md, html = comparison_report(r)
    for text in (md, html):
        assert f"{r['mean_diff']:+.3f}" in text and f"{r['ci_low']:+.3f}" in text
        assert "Holm" in text and r["recommendation"][:60] in text
        assert f"{r['categories'][0]['mcnemar']['p_holm']:.3f}"[:4] in text or "<0.001" in text
    assert html.count("data:image/png;base64,") == 1
    _assert_standalone(html)


def test_mcnemar_counts_scenarios_not_seeds() -> None:
    """Repeating the same per-scenario outcomes over more seeds leaves McNemar unchanged (seeds are not units);
    where seeds disagree, a scenario's outcome is its majority and a tie is a fail (hand-computed)."""
    from analytics.judgment_stats import _paired_tests as tests
    from analytics.judgment_stats import pair_runs

    def runs(outcomes: dict[str, list[bool]], agent: str) -> list[dict[str, object]]:
        return [{"scenario_id": s, "agent": {"name": agent, "version": "1"}, "seed": i, "score": 4 if ok else 2,
                 "passed": ok, "rationale": "turn 1", "rubric": {}} for s, oks in outcomes.items()
                for i, ok in enumerate(oks)]

    a = {f"s{i}": [i < 2] for i in range(10)}  # a passes s0, s1
    b = {f"s{i}": [i >= 1] for i in range(10)}  # b passes s1..s9
    one = tests(pair_runs(runs(a, "a"), runs(b, "b")).frame, 200, 0, 0.05)["mcnemar"]
    five = tests(pair_runs(runs({k: v * 5 for k, v in a.items()}, "a"),
                           runs({k: v * 5 for k, v in b.items()}, "b")).frame, 200, 0, 0.05)["mcnemar"]
    assert (one["a_only"], one["b_only"]) == (1, 8) and one == five
    assert one["p"] == pytest.approx(2 * (1 + 9) / 2**9)  # binomial(9, 1/2): 2 * P(X <= 1) = 0.0390625
    # seeds disagree: s0 a 2/3 -> pass, b 1/3 -> fail (a only); s1 a 1/3 -> fail, b 2/3 -> pass (b only);
    # s2 both pass; s3 a 1/2 is a tie -> fail, b 2/2 -> pass (b only)
    mixed_a = {"s0": [True, True, False], "s1": [False, False, True], "s2": [True, False, True], "s3": [True, False]}
    mixed_b = {"s0": [True, False, False], "s1": [True, True, False], "s2": [True, True, True], "s3": [True, True]}
    mc = tests(pair_runs(runs(mixed_a, "a"), runs(mixed_b, "b")).frame, 200, 0, 0.05)["mcnemar"]
    assert (mc["a_only"], mc["b_only"]) == (1, 2) and mc["unit"] == MCNEMAR_UNIT
    assert mc["p"] == pytest.approx(1.0)  # binomial(3, 1/2): 2 * P(X <= 1) = 1


def test_exact_tests_match_published_values() -> None:
    """McNemar's exact test is the two-sided binomial test on the discordant pairs; the Wilcoxon value is the
    one SciPy's documentation prints for Darwin's Zea mays differences (Fisher's table)."""
    from analytics.paired_stats import mcnemar_exact, wilcoxon_p

    assert mcnemar_exact(1, 9) == pytest.approx(22 / 1024)  # 2 * (C(10,0) + C(10,1)) / 2^10
    assert mcnemar_exact(2, 10) == pytest.approx(158 / 4096)  # 2 * (1 + 12 + 66) / 2^12
    assert mcnemar_exact(0, 0) == 1.0
    zea_mays = np.array([6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75], dtype=float)
    assert wilcoxon_p(zea_mays) == pytest.approx(0.041259765625)
    assert wilcoxon_p(np.array([1.0, 2, 3, 4, 5])) == pytest.approx(2 / 32)  # every sign positive: 2 * (1/2)^5


def test_uncertain_verdicts_are_reported_apart_never_counted() -> None:
    """An uncertain verdict is neither a pass nor a fail: the pass rate, pass^k and McNemar use the spoken ones,
    and the uncertain ones are counted (hand-computed)."""
    from analytics.judgment_stats import _paired_tests as tests
    from analytics.judgment_stats import verdict_counts

    sc = scenarios(4)
    a = [judgment(f"s{i:02d}", 0, 4, True) for i in range(3)] + [
        {**judgment("s03", 0, 3, True), "passed": None, "verdict": "uncertain"}]
    agg = aggregate_judgments(a, sc)
    assert (agg["overall"]["n"], agg["overall"]["passes"], agg["overall"]["uncertain"]) == (3, 3, 1)
    assert agg["overall"]["pass_rate"] == 1.0 and agg["n_judgments"] == 4 and agg["failure_reasons"]["n_failed"] == 0
    assert verdict_counts(a) == {"n": 4, "passes": 3, "fails": 0, "uncertain": 1, "pass_rate": 1.0}
    b = [judgment(f"s{i:02d}", 0, 2, False, agent="b") for i in range(4)]
    mc = tests(pair_runs(a, b).frame, 200, 0, 0.05)
    assert (mc["mcnemar"]["a_only"], mc["mcnemar"]["b_only"], mc["mcnemar"]["uncertain_scenarios"]) == (3, 0, 1)
    assert (mc["uncertain_a"], mc["uncertain_b"], mc["pass_rate_a"], mc["pass_rate_b"]) == (1, 0, 1.0, 0.0)

"""Evaluation statistics for the analyst (one agent) and the comparator (two agents on the same scenarios).

Inputs are judgments and scenarios as dicts or objects with the contract's attributes (``core.contracts``):
a judgment has ``scenario_id, agent {name, version}, seed, score (1-5), passed, rationale, rubric``; a scenario has
``id, category, persona, goal, difficulty``. Everything here is pure (numpy / scipy / pandas) and JSON-friendly.

Comparison design: runs are paired by ``(scenario_id, seed)``. Scenarios are the independent units, so when a
scenario was run with several seeds its per-seed score differences are averaged first (Wilcoxon, Cohen's d_z,
rank-biserial and the power note use these per-scenario differences) and the bootstrap resamples scenarios as
clusters. McNemar's exact test counts discordant pass/fail pairs over all paired runs.

Significance rule (``compare``): the difference is *significant* when the (1 - alpha) cluster-bootstrap CI of the
mean score difference (b - a) excludes 0 AND at least one paired test agrees at level alpha in the same
direction: Wilcoxon signed-rank on scores (rank-biserial sign = sign of the mean difference) or McNemar exact on
pass/fail (more b-only than a-only passes when b is better, and vice versa). ``winner`` is then "b" when the
mean difference is positive and "a" when negative; otherwise ``winner`` is None.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analytics.paired_stats import (
    cluster_bootstrap_ci,
    cohens_dz,
    holm,
    mcnemar_exact,
    power_note,
    rank_biserial,
    wilcoxon_p,
    wilson_interval,
)

__all__ = [
    "PairedRuns", "aggregate_judgments", "cluster_bootstrap_ci", "cohens_dz", "compare", "failure_reasons",
    "field_of", "holm", "judgments_frame", "mcnemar_exact", "pair_runs", "pass_k", "power_note", "rank_biserial",
    "recommendation_text", "wilcoxon_p", "wilson_interval",
]
GROUP_COLUMNS = ("category", "persona", "difficulty")
_FAIL_WORDS = {"fail", "failed", "false", "no", "missing", "incorrect", "wrong"}
_STOP_TEXT = (
    "the a an and or but of to in on for with without was were is are be been it its this that agent user response "
    "answer did not no has have had as at by from which who when than then so too very also should could would can "
    "will turn turns"
)
_STOP = frozenset(_STOP_TEXT.split())


def field_of(obj: Any, name: str, default: Any = None) -> Any:
    """Read ``name`` from a mapping or an object's attribute (pydantic models, dataclasses), else ``default``."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def judgments_frame(judgments: Iterable[Any]) -> pd.DataFrame:
    """One row per judgment: scenario_id, seed, agent_name, agent_version, score, passed, rationale, rubric."""
    rows = []
    for j in judgments:
        agent = field_of(j, "agent") or {}
        score = int(field_of(j, "score"))
        if not 1 <= score <= 5:
            raise ValueError(f"score must be in 1..5, got {score} for scenario {field_of(j, 'scenario_id')!r}")
        rubric = field_of(j, "rubric") or {}
        rows.append({"scenario_id": str(field_of(j, "scenario_id")), "seed": field_of(j, "seed", 0),
                     "agent_name": str(field_of(agent, "name", "") or ""),
                     "agent_version": str(field_of(agent, "version", "") or ""),
                     "score": score, "passed": _passed(j),
                     "rationale": str(field_of(j, "rationale", "") or ""),
                     "rubric": dict(rubric) if isinstance(rubric, Mapping) else {}})
    cols = ["scenario_id", "seed", "agent_name", "agent_version", "score", "passed", "rationale", "rubric"]
    frame = pd.DataFrame(rows, columns=cols)
    frame["passed"] = frame["passed"].astype("boolean")  # NA: the judge abstained (verdict "uncertain")
    return frame


def _passed(j: Any) -> bool | None:
    """A judgment's pass flag; None when its verdict is "uncertain"."""
    verdict = field_of(j, "verdict")
    if verdict == "uncertain":
        return None
    passed = field_of(j, "passed")
    return None if passed is None and verdict is None else (verdict == "pass" if verdict else bool(passed))


def verdict_counts(judgments: Iterable[Any]) -> dict[str, Any]:
    """Passes, fails and uncertain verdicts, and the pass rate over the spoken verdicts (uncertain ones are
    reported apart, never counted as passes or fails)."""
    flags = [_passed(j) for j in judgments]
    passes, fails = sum(f is True for f in flags), sum(f is False for f in flags)
    spoken = passes + fails
    return {"n": len(flags), "passes": passes, "fails": fails, "uncertain": len(flags) - spoken,
            "pass_rate": passes / spoken if spoken else 0.0}


def _spoken(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows with a verdict (pass or fail)."""
    return frame[frame["passed"].notna().to_numpy(dtype=bool)]


def _with_scenarios(frame: pd.DataFrame, scenarios: Iterable[Any]) -> pd.DataFrame:
    """Attach category / persona / difficulty by scenario id ("unknown" for scenarios not listed)."""
    meta = {str(field_of(s, "id")): {c: str(field_of(s, c) or "unknown") for c in GROUP_COLUMNS} for s in scenarios}
    out = frame.copy()
    for c in GROUP_COLUMNS:
        out[c] = [meta.get(sid, {}).get(c, "unknown") for sid in out["scenario_id"]]
    return out


def pass_k(frame: pd.DataFrame) -> dict[str, Any]:
    """pass^k (all k seeds pass) and pass@k (at least one passes) per k = 1..K, K = fewest seeds per scenario.

    Uses the unbiased estimators C(c, k) / C(n, k) and 1 - C(n - c, k) / C(n, k) per scenario (n runs, c passes),
    averaged over scenarios; with exactly K seeds everywhere, pass^K is the share of scenarios passing on all seeds.
    """
    frame = _spoken(frame)  # seeds the judge abstained on do not count as either
    if frame.empty:
        return {"k": 0, "multi_seed": False, "pass_hat_k": {}, "pass_at_k": {}}
    per = frame.assign(passed=frame["passed"].astype(int)).groupby("scenario_id")["passed"].agg(["size", "sum"])
    k_max = int(per["size"].min())
    hat, at = {}, {}
    for k in range(1, k_max + 1):
        hat[k] = float(np.mean([math.comb(int(c), k) / math.comb(int(n), k) for n, c in per.to_numpy()]))
        at[k] = float(np.mean([1 - math.comb(int(n - c), k) / math.comb(int(n), k) for n, c in per.to_numpy()]))
    return {"k": k_max, "multi_seed": k_max > 1, "pass_hat_k": hat, "pass_at_k": at}


def _criterion_value(value: Any) -> Any:
    """A criterion as a bool / number / string: pass flags win over scores (dicts or objects like CriterionScore)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    flag = field_of(value, "passed", field_of(value, "pass"))
    return flag if flag is not None else field_of(value, "score")


def _rubric_failures(rubric: Mapping[str, Any]) -> list[str]:
    """Criteria that failed: False / "fail"-like strings, pass flags that are False, or low scores.

    Numeric criteria use a 0-1 scale (fail below 0.5) when every numeric value of the rubric is within [0, 1],
    else the 1-5 scale (fail below 3).
    """
    values = {str(k): _criterion_value(v) for k, v in rubric.items()}
    nums = [v for v in values.values() if isinstance(v, int | float) and not isinstance(v, bool)]
    threshold = 0.5 if nums and all(0 <= v <= 1 for v in nums) else 3
    failed = []
    for name, value in values.items():
        if isinstance(value, bool):
            bad = not value
        elif isinstance(value, int | float):
            bad = value < threshold
        else:
            bad = isinstance(value, str) and value.strip().lower() in _FAIL_WORDS
        if bad:
            failed.append(name)
    return failed


def failure_reasons(frame: pd.DataFrame, top_n: int = 10) -> dict[str, Any]:
    """Failed judgments grouped by failed rubric criterion, plus the most frequent rationale keywords."""
    failed = frame[frame["passed"].eq(False).fillna(False).to_numpy(dtype=bool)]
    criteria: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    keywords: Counter[str] = Counter()
    unexplained = 0
    for rubric, rationale, sid in zip(failed["rubric"], failed["rationale"], failed["scenario_id"], strict=True):
        crit = _rubric_failures(rubric)
        unexplained += not crit
        for c in crit:
            criteria[c] += 1
            examples.setdefault(c, [])
            if sid not in examples[c] and len(examples[c]) < 3:
                examples[c].append(sid)
        words = {w for w in re.findall(r"[a-z][a-z_\-]{2,}", rationale.lower()) if w not in _STOP}
        keywords.update(words)
    n_failed = len(failed)
    return {
        "n_failed": n_failed,
        "unexplained": unexplained,
        "criteria": [{"reason": c, "count": k, "share": k / n_failed, "examples": examples[c]}
                     for c, k in criteria.most_common(top_n)],
        "keywords": [{"keyword": w, "count": k} for w, k in keywords.most_common(top_n)],
    }


def _rate_block(df: pd.DataFrame, conf: float) -> dict[str, Any]:
    """n (traces with a verdict), passes, pass rate with Wilson CI, uncertain (abstained, apart) and mean score
    (of every judged trace) of a frame."""
    spoken = _spoken(df)
    n, s = len(spoken), int(spoken["passed"].sum())
    low, high = wilson_interval(s, n, conf)
    return {"n": n, "passes": s, "pass_rate": s / n if n else 0.0, "ci_low": low, "ci_high": high,
            "uncertain": len(df) - n, "mean_score": float(df["score"].mean()) if len(df) else 0.0}


def aggregate_judgments(judgments: Iterable[Any], scenarios: Iterable[Any], conf: float = 0.95) -> dict[str, Any]:
    """What to expect from one agent: pass rate (Wilson CI), scores, breakdowns, failure reasons, pass^k."""
    frame = _with_scenarios(judgments_frame(judgments), scenarios)
    if frame.empty:
        raise ValueError("no judgments to aggregate")
    agents = sorted({f"{n} {v}".strip() for n, v in zip(frame["agent_name"], frame["agent_version"], strict=True)})
    dist = frame["score"].value_counts()
    return {
        "agent": ", ".join(a for a in agents if a) or "agent",
        "conf": conf,
        "n_judgments": len(frame),
        "n_scenarios": int(frame["scenario_id"].nunique()),
        "overall": _rate_block(frame, conf),
        "score_sd": float(frame["score"].std(ddof=1)) if len(frame) > 1 else 0.0,
        "score_distribution": {s: int(dist.get(s, 0)) for s in range(1, 6)},
        "breakdown": {c: [{"value": str(v), **_rate_block(g, conf)} for v, g in frame.groupby(c, sort=True)]
                      for c in GROUP_COLUMNS},
        "failure_reasons": failure_reasons(frame),
        "pass_k": pass_k(frame),
    }


@dataclass(frozen=True)
class PairedRuns:
    """Runs of agents a and b matched on (scenario_id, seed); ``frame`` has one row per pair."""

    frame: pd.DataFrame
    unpaired_a: int
    unpaired_b: int

    def records(self) -> list[dict[str, Any]]:
        """The pairs as plain dicts."""
        return [{str(k): v for k, v in r.items()} for r in self.frame.to_dict(orient="records")]


MCNEMAR_UNIT = "scenario (its majority over seeds; a tie counts as a fail)"

def pair_runs(judgments_a: Iterable[Any], judgments_b: Iterable[Any]) -> PairedRuns:
    """Pair two agents' judgments by (scenario_id, seed); raises ValueError on duplicates or an empty pairing."""
    fa, fb = judgments_frame(judgments_a), judgments_frame(judgments_b)
    fa["seed"], fb["seed"] = fa["seed"].astype(str), fb["seed"].astype(str)
    for label, f in (("a", fa), ("b", fb)):
        dup = f.duplicated(["scenario_id", "seed"])
        if dup.any():
            raise ValueError(f"agent {label} has {int(dup.sum())} duplicate (scenario_id, seed) judgments")
    keep = ["scenario_id", "seed", "score", "passed"]
    merged = fa[keep].merge(fb[keep], on=["scenario_id", "seed"], how="inner", suffixes=("_a", "_b"))
    if merged.empty:
        raise ValueError(f"no (scenario_id, seed) pairs in common between a ({len(fa)} judgments) and "
                         f"b ({len(fb)} judgments): compare runs over the same scenarios and seeds")
    return PairedRuns(merged, unpaired_a=len(fa) - len(merged), unpaired_b=len(fb) - len(merged))


def _paired_tests(pairs: pd.DataFrame, n_boot: int, seed: int, alpha: float) -> dict[str, Any]:
    """Difference, bootstrap CI, McNemar, Wilcoxon and effect sizes of one set of pairs."""
    d = (pairs["score_b"] - pairs["score_a"]).astype(float)
    per = d.groupby(pairs["scenario_id"]).agg(["sum", "size"])
    scen = (per["sum"] / per["size"]).to_numpy()
    # McNemar's units are scenarios (seeds of one scenario are not independent): a scenario passes for an agent
    # when most of its seeds pass, and a tie counts as a fail
    # seeds the judge abstained on are left out of the vote; a scenario without a spoken verdict for both agents is
    # left out of McNemar's test (counted in ``uncertain_scenarios``)
    votes = pairs[["scenario_id"]].assign(passed_a=pairs["passed_a"].astype("Float64"),
                                          passed_b=pairs["passed_b"].astype("Float64")).groupby("scenario_id").mean()
    decided = votes["passed_a"].notna() & votes["passed_b"].notna()
    votes = votes[decided.to_numpy(dtype=bool)].astype(float)
    maj_a, maj_b = votes["passed_a"] > 0.5, votes["passed_b"] > 0.5
    a_only = int((maj_a & ~maj_b).sum())
    b_only = int((~maj_a & maj_b).sum())
    low, high = cluster_bootstrap_ci(per["sum"].to_numpy(), per["size"].to_numpy().astype(float), n_boot, seed,
                                     alpha)
    return {"n_pairs": len(pairs), "n_scenarios": len(per), "mean_a": float(pairs["score_a"].mean()),
            "mean_b": float(pairs["score_b"].mean()), "mean_diff": float(d.mean()), "ci_low": low, "ci_high": high,
            "sd_diff": float(scen.std(ddof=1)) if len(scen) > 1 else 0.0,
            "pass_rate_a": _rate(pairs["passed_a"]), "pass_rate_b": _rate(pairs["passed_b"]),
            "uncertain_a": int(pairs["passed_a"].isna().sum()), "uncertain_b": int(pairs["passed_b"].isna().sum()),
            "mcnemar": {"a_only": a_only, "b_only": b_only, "p": mcnemar_exact(a_only, b_only),
                        "unit": MCNEMAR_UNIT, "uncertain_scenarios": int((~decided).sum())},
            "wilcoxon": {"p": wilcoxon_p(scen)}, "cohens_dz": cohens_dz(scen), "rank_biserial": rank_biserial(scen)}


def _rate(passed: pd.Series) -> float:
    """The pass rate over the spoken verdicts of a nullable pass column."""
    spoken = passed.dropna()
    return float(spoken.astype(float).mean()) if len(spoken) else 0.0


def _significant(block: Mapping[str, Any], p_wilcoxon: float, p_mcnemar: float, alpha: float) -> bool:
    """The decision rule: CI excludes 0 and Wilcoxon or McNemar (given p-values) agrees in the same direction."""
    sign = np.sign(block["mean_diff"])
    mc = block["mcnemar"]
    wil_ok = p_wilcoxon < alpha and np.sign(block["rank_biserial"]) == sign
    mc_ok = p_mcnemar < alpha and np.sign(mc["b_only"] - mc["a_only"]) == sign
    return bool(sign != 0 and (block["ci_low"] > 0 or block["ci_high"] < 0) and (wil_ok or mc_ok))


def _label(frame: pd.DataFrame, default: str) -> str:
    names = {f"{n} {v}".strip() for n, v in zip(frame["agent_name"], frame["agent_version"], strict=True)} - {""}
    return ", ".join(sorted(names)) or default


def compare(judgments_a: Iterable[Any], judgments_b: Iterable[Any], scenarios: Iterable[Any], n_boot: int = 5000,
            seed: int = 0, alpha: float = 0.05) -> dict[str, Any]:
    """Compare agent b (the candidate) against agent a (the baseline, e.g. the champion) on paired runs.

    Differences are b - a. See the module docstring for the pairing design and the significance rule; the
    recommendation keeps a unless b is significantly better (or recommends a when it is significantly better).
    """
    ja, jb, scenarios = list(judgments_a), list(judgments_b), list(scenarios)
    paired = pair_runs(ja, jb)
    pairs = _with_scenarios(paired.frame, scenarios)
    overall = _paired_tests(pairs, n_boot, seed, alpha)
    significant = _significant(overall, overall["wilcoxon"]["p"], overall["mcnemar"]["p"], alpha)
    sign = float(np.sign(overall["mean_diff"]))
    categories = [{"category": str(c), **_paired_tests(g, n_boot, seed, alpha)}
                  for c, g in pairs.groupby("category", sort=True)]
    for key, adj in (("wilcoxon", holm([c["wilcoxon"]["p"] for c in categories])),
                     ("mcnemar", holm([c["mcnemar"]["p"] for c in categories]))):
        for c, p in zip(categories, adj, strict=True):
            c[key]["p_holm"] = p
    for c in categories:
        c["significant"] = _significant(c, c["wilcoxon"]["p_holm"], c["mcnemar"]["p_holm"], alpha)
    label_a, label_b = _label(judgments_frame(ja), "a"), _label(judgments_frame(jb), "b")
    if label_a == label_b:
        label_a, label_b = f"{label_a} [a]", f"{label_b} [b]"
    result: dict[str, Any] = {
        "label_a": label_a, "label_b": label_b, "alpha": alpha, "n_boot": n_boot,
        "unpaired_a": paired.unpaired_a, "unpaired_b": paired.unpaired_b, **overall,
        "significant": significant,
        "winner": ("b" if sign > 0 else "a") if significant else None,
        "pass_k_a": pass_k(pairs.rename(columns={"passed_a": "passed"})),
        "pass_k_b": pass_k(pairs.rename(columns={"passed_b": "passed"})), "categories": categories,
        "power": power_note(overall["mean_diff"], overall["sd_diff"], overall["n_scenarios"], alpha),
        "rule": "significant = bootstrap CI of mean(b - a) excludes 0 AND (Wilcoxon p < alpha or McNemar p < alpha, "
                "in the same direction)",
    }
    result["recommendation"] = recommendation_text(result)
    return result


def recommendation_text(r: Mapping[str, Any]) -> str:
    """One paragraph composed from a ``compare`` result."""
    a, b, pct = r["label_a"], r["label_b"], f"{1 - r['alpha']:.0%}"
    mc = r["mcnemar"]
    text = (f"Over {r['n_scenarios']} scenarios ({r['n_pairs']} paired runs), {b} scored {r['mean_diff']:+.2f} points "
            f"relative to {a} (mean {r['mean_b']:.2f} vs {r['mean_a']:.2f}; {pct} bootstrap CI "
            f"{r['ci_low']:+.2f} to {r['ci_high']:+.2f}); pass rate {r['pass_rate_b']:.1%} vs {r['pass_rate_a']:.1%}. "
            f"Wilcoxon p={r['wilcoxon']['p']:.3g}; McNemar p={mc['p']:.3g} ({mc['b_only']} runs passed only with {b}, "
            f"{mc['a_only']} only with {a}).")
    if r["significant"]:
        win, lose = (b, a) if r["winner"] == "b" else (a, b)
        text += f" The difference is significant: {win} is recommended over {lose}."
    else:
        text += (f" The difference is not significant under the decision rule, so there is no evidence to switch: "
                 f"keep {a} (or gather more scenarios).")
    sig_cats = [c for c in r["categories"] if c["significant"]]
    if sig_cats:
        text += " Categories with a significant difference after Holm correction: " + ", ".join(
            f"{c['category']} ({c['mean_diff']:+.2f})" for c in sig_cats) + "."
    return f"{text} {r['power']['text']}"

"""Paired-sample statistics used by the evaluation comparator: Wilson intervals, Holm correction, McNemar exact,
Wilcoxon signed-rank (zsplit), effect sizes, a cluster bootstrap and a paired-t power approximation.

Pure numpy / scipy; every function returns plain Python numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats


def wilson_interval(successes: int, n: int, conf: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; ``(0.0, 1.0)`` when ``n == 0``."""
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in 0..n, got {successes} of {n}")
    z = float(stats.norm.ppf(1 - (1 - conf) / 2))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (same order as given; monotone in rank, each >= its raw p, <= 1)."""
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p)
    m = len(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return [float(x) for x in adjusted]


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts; 1.0 when there are none."""
    n = a_only + b_only
    return 1.0 if n == 0 else float(stats.binomtest(min(a_only, b_only), n, 0.5).pvalue)


def wilcoxon_p(diffs: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p-value, zero_method="zsplit"; 1.0 when every difference is 0.

    Up to 13 differences the exact sign-flip distribution is enumerated (what scipy's permutation fallback computes
    for ties or zeros, vectorised); larger samples use ``scipy.stats.wilcoxon``.
    """
    d = np.asarray(diffs, dtype=float)
    if d.size == 0 or np.allclose(d, 0):
        return 1.0
    if d.size > 13:
        p = float(stats.wilcoxon(d, zero_method="zsplit").pvalue)
        return 1.0 if math.isnan(p) else p
    ranks = stats.rankdata(np.abs(d))[d != 0]
    observed = ranks[d[d != 0] > 0].sum()
    signs = (np.arange(2 ** ranks.size)[:, None] >> np.arange(ranks.size)) & 1
    centre = ranks.sum() / 2
    return float(np.mean(np.abs(signs @ ranks - centre) >= abs(observed - centre) - 1e-9))


def rank_biserial(diffs: np.ndarray) -> float:
    """Matched-pairs rank-biserial correlation (W+ - W-) / (W+ + W-) over non-zero differences."""
    d = np.asarray(diffs, dtype=float)
    d = d[d != 0]
    if d.size == 0:
        return 0.0
    ranks = stats.rankdata(np.abs(d))
    return float((ranks[d > 0].sum() - ranks[d < 0].sum()) / ranks.sum())


def cohens_dz(diffs: np.ndarray) -> float | None:
    """Cohen's d_z = mean / sd of paired differences; 0 when all are 0, None when sd is 0 but the mean is not."""
    d = np.asarray(diffs, dtype=float)
    sd = float(d.std(ddof=1)) if d.size > 1 else 0.0
    if sd == 0:
        return 0.0 if np.allclose(d, 0) else None
    return float(d.mean() / sd)


def cluster_bootstrap_ci(sums: np.ndarray, counts: np.ndarray, n_boot: int, seed: int,
                         alpha: float) -> tuple[float, float]:
    """Percentile CI of sum(diff)/sum(count) resampling clusters (scenarios) with replacement."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(sums), size=(n_boot, len(sums)))
    means = sums[idx].sum(axis=1) / counts[idx].sum(axis=1)
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def power_note(diff: float, sd: float, n_now: int, alpha: float = 0.05, power: float = 0.8) -> dict[str, Any]:
    """Scenarios needed to detect ``diff`` with ``power``, by the normal approximation to the paired test:
    ((z_{1-a/2} + z_pow) sd / diff)^2 (normal quantiles, not t: it slightly underestimates for small samples).

    ``sd`` is the standard deviation of the per-scenario differences; the answer is at least 2. A zero ``diff``
    gives ``n_required`` None and a "no detectable difference" note.
    """
    z = float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power))
    if diff == 0:
        return {"n_required": None, "n_now": n_now, "text": "No detectable difference: the observed mean score "
                "difference is 0, so no number of scenarios would detect it."}
    n_raw = (z * sd / diff) ** 2
    n_req = max(2, math.ceil(n_raw))
    verdict = "enough for this effect size" if n_now >= n_req else "too few: underpowered for this effect size"
    were = "was" if n_now == 1 else "were"
    return {"n_required": n_req, "n_raw": n_raw, "n_now": n_now,
            "text": f"Detecting a mean difference of {diff:+.3f} (sd of differences {sd:.3f}) with "
                    f"{power:.0%} power at alpha={alpha:g} needs about {n_req} scenarios (normal approximation); "
                    f"{n_now} {were} compared ({verdict})."}


def cohens_kappa(y_true: Sequence[bool], y_pred: Sequence[bool], n_boot: int = 2000, seed: int = 0,
                 conf: float = 0.95) -> dict[str, float | None]:
    """Cohen's kappa between two raters with a percentile bootstrap CI over items (None when undefined: fewer
    than two items, or a single class on both sides)."""
    from sklearn.metrics import cohen_kappa_score

    a, b = np.asarray(y_true, dtype=bool), np.asarray(y_pred, dtype=bool)
    if len(a) < 2 or (len(set(a)) == 1 and len(set(b)) == 1):
        return {"kappa": None, "ci_low": None, "ci_high": None}
    point = float(cohen_kappa_score(a, b))
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(a), len(a))
        if len(set(a[idx])) > 1 or len(set(b[idx])) > 1:
            value = cohen_kappa_score(a[idx], b[idx])
            if not np.isnan(value):
                draws.append(float(value))
    if not draws:
        return {"kappa": point, "ci_low": None, "ci_high": None}
    tail = (1 - conf) / 2 * 100
    return {"kappa": point, "ci_low": float(np.percentile(draws, tail)),
            "ci_high": float(np.percentile(draws, 100 - tail))}


def balanced_accuracy(y_true: Sequence[bool], y_pred: Sequence[bool]) -> float | None:
    """Mean of the recall on passes and the recall on fails (None when a class is absent from the labels)."""
    a, b = np.asarray(y_true, dtype=bool), np.asarray(y_pred, dtype=bool)
    if a.all() or not a.any():
        return None
    return float(((b & a).sum() / a.sum() + (~b & ~a).sum() / (~a).sum()) / 2)

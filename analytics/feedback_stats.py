"""Production feedback statistics: rates of bad signals in a window against a baseline, and themes among the
interactions that carry them.

Signals per interaction (telemetry columns, harmonised names): ``negative_feedback`` (user_feedback_label ==
"negative"; its rate is over the interactions that got any feedback), ``reported_issue`` (user_reported_issue),
``escalated`` (final_resolution_state == "escalated_to_human") and ``failed`` (is_failure); the last three are
rates over all interactions. A trend compares the window's rate with the baseline's by a two-sided
two-proportion z-test (pooled variance). Themes cluster the flagged interactions (any signal) on given vectors
(stored embeddings) or, without them, on TF-IDF + SVD of the request texts, with K-means (K by silhouette) and
c-TF-IDF keywords. Everything here is pure (numpy / pandas / scipy / sklearn).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analytics.clustering import kmeans_auto
from analytics.keywords import TOKEN_PATTERN, class_tfidf_keywords

SIGNALS = ("negative_feedback", "reported_issue", "escalated", "failed")
DESCRIPTIONS = {
    "negative_feedback": "negative feedback among interactions with feedback",
    "reported_issue": "interactions where the user reported an issue",
    "escalated": "interactions escalated to a human",
    "failed": "failed interactions (is_failure)",
}


_LEAD_IN = re.compile(r"^\s*[A-Za-z][\w'-]*(?:\s+[\w'-]+){0,3}\s*[:!]\s+(?=\S)")


def strip_lead_in(text: str) -> str:
    """``text`` without a short conversational lead-in ("Hey there! ", "Quick question: ", up to 4 words)."""
    return _LEAD_IN.sub("", text, count=1)


def _bool(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df:
        return np.zeros(len(df), dtype=bool)
    return df[col].fillna(False).astype(bool).to_numpy()


def signal_masks(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """Boolean arrays per signal, plus ``rated`` (feedback given) and ``flagged`` (any signal)."""
    label = df["user_feedback_label"].astype(str) if "user_feedback_label" in df else pd.Series([""] * len(df))
    state = df["final_resolution_state"].astype(str) if "final_resolution_state" in df else pd.Series([""] * len(df))
    masks = {
        "negative_feedback": (label == "negative").to_numpy(),
        "reported_issue": _bool(df, "user_reported_issue"),
        "escalated": (state == "escalated_to_human").to_numpy(),
        "failed": _bool(df, "is_failure"),
        "rated": (~label.isin(["no_feedback", "nan", "None", ""])).to_numpy(),
    }
    masks["flagged"] = masks["negative_feedback"] | masks["reported_issue"] | masks["escalated"]
    return masks


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> tuple[float | None, float | None]:
    """z and two-sided p of H0: p1 == p2 (pooled); (None, None) when a sample is empty."""
    if n1 <= 0 or n2 <= 0:
        return None, None
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 0.0, 1.0
    z = (x1 / n1 - x2 / n2) / se
    return z, float(2 * stats.norm.sf(abs(z)))


def rate_trends(window: pd.DataFrame, baseline: pd.DataFrame, alpha: float = 0.05) -> list[dict[str, Any]]:
    """Per signal: count / n / rate in the window and the baseline, delta, relative change, z, p, direction
    (``worse`` / ``better`` when p < alpha, else ``stable``; ``no_baseline`` without baseline rows)."""
    mw, mb = signal_masks(window), signal_masks(baseline)
    out = []
    for sig in SIGNALS:
        nw = int(mw["rated"].sum()) if sig == "negative_feedback" else len(window)
        nb = int(mb["rated"].sum()) if sig == "negative_feedback" else len(baseline)
        xw, xb = int(mw[sig].sum()), int(mb[sig].sum())
        rw, rb = (xw / nw if nw else None), (xb / nb if nb else None)
        z, p = two_proportion_z(xw, nw, xb, nb)
        delta = rw - rb if rw is not None and rb is not None else None
        if p is None or delta is None:
            direction = "no_baseline" if not nb else "no_data"
        else:
            direction = ("worse" if delta > 0 else "better") if p < alpha else "stable"
        out.append({"metric": f"{sig}_rate", "signal": sig, "description": DESCRIPTIONS[sig], "count": xw, "n": nw,
                    "rate": rw, "baseline_count": xb, "baseline_n": nb, "baseline_rate": rb, "delta": delta,
                    "relative_change": delta / rb if delta is not None and rb else None, "z": z, "p_value": p,
                    "direction": direction})
    return out


def tfidf_vectors(texts: list[str], dims: int = 64, seed: int = 0) -> np.ndarray:
    """Unit vectors from TF-IDF of ``texts`` without lead-ins (TruncatedSVD to at most ``dims`` dimensions)."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    try:
        tfidf = TfidfVectorizer(stop_words="english", token_pattern=TOKEN_PATTERN, sublinear_tf=True,
                                ngram_range=(1, 2), min_df=1).fit_transform([strip_lead_in(t) for t in texts])
    except ValueError:  # no usable token in any text
        return np.ones((len(texts), 1), dtype=np.float32)
    k = min(dims, tfidf.shape[1] - 1, len(texts) - 1)
    X = TruncatedSVD(n_components=k, random_state=seed).fit_transform(tfidf) if k >= 2 else tfidf.toarray()
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return (X / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def _str(frame: pd.DataFrame, i: int, col: str) -> str | None:
    value: Any = frame.at[i, col] if col in frame else None
    return None if value is None or pd.isna(value) else str(value)


def _top(values: pd.Series, n: int = 5) -> dict[str, int]:
    counts = values.dropna().astype(str).value_counts()
    return {str(k): int(v) for k, v in counts.head(n).items()}


def theme_clusters(frame: pd.DataFrame, X: np.ndarray, max_themes: int = 6, n_exemplars: int = 3,
                   seed: int = 0, text_col: str = "prompt_text") -> list[dict[str, Any]]:
    """Cluster the rows of ``frame`` (row-aligned with ``X``) into themes, largest first.

    Each theme: ``theme_id`` (1 = largest), ``size``, ``share``, ``keywords`` (c-TF-IDF over ``text_col``),
    ``signals`` (counts per signal), ``failure_types``, ``models``, ``use_cases``, ``exemplars`` (distinct
    texts closest to the theme's centroid: ``interaction_id, text, use_case, failure_type, signals``) and every
    member's ``interaction_ids``. Keywords and the distinctness of exemplars ignore conversational lead-ins.
    """
    n = len(frame)
    if n == 0:
        return []
    frame = frame.reset_index(drop=True)
    X = np.asarray(X, dtype=np.float32)
    X = X / np.where((norm := np.linalg.norm(X, axis=1, keepdims=True)) == 0, 1.0, norm)
    if n < 6:
        labels = np.zeros(n, dtype=np.int64)
    else:
        labels = kmeans_auto(X, k_range=(2, max(2, min(max_themes, n // 3))), sample=2000, seed=seed).labels
    texts = frame[text_col].fillna("").astype(str).tolist()
    keywords = class_tfidf_keywords([strip_lead_in(t) for t in texts], labels, top_n=6)
    masks = signal_masks(frame)
    themes: list[dict[str, Any]] = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        centre = X[idx].mean(axis=0)
        order = idx[np.argsort(-(X[idx] @ centre), kind="stable")]
        seen: set[str] = set()
        exemplars = []
        for i in order:
            if (key := strip_lead_in(texts[i]).strip().lower()) not in seen:
                seen.add(key)
                exemplars.append({"interaction_id": str(frame.at[i, "interaction_id"]), "text": texts[i],
                                  "use_case": _str(frame, i, "use_case"),
                                  "failure_type": _str(frame, i, "failure_type"),
                                  "signals": [s for s in SIGNALS if masks[s][i]]})
            if len(exemplars) == n_exemplars:
                break
        sub = frame.iloc[idx]
        failing = sub[masks["failed"][idx]]
        themes.append({
            "size": len(idx), "share": len(idx) / n, "keywords": [w for w, _ in keywords.get(int(c), [])],
            "signals": {s: int(masks[s][idx].sum()) for s in SIGNALS},
            "failure_types": _top(failing["failure_type"]) if "failure_type" in sub else {},
            "models": _top(sub["model_name"]) if "model_name" in sub else {},
            "use_cases": _top(sub["use_case"]) if "use_case" in sub else {},
            "exemplars": exemplars, "interaction_ids": [str(i) for i in sub["interaction_id"]],
        })
    themes.sort(key=lambda t: (-t["size"], t["interaction_ids"][0]))
    for i, t in enumerate(themes[:max_themes], 1):
        t["theme_id"] = i
    return themes[:max_themes]

"""Route a user's request to one of the nine agents.

Only the user's own request is ever routed; retrieved data (logs, traces) never reaches the router. Order:

1. explicit commands: ``/failure``, ``/perf``, ``/dataset``, ``/simulate``, ``/judge``, ``/analyze``, ``/compare``,
   ``/feedback``, ``/general`` or ``@agent_name`` at the start (see ``COMMANDS``); an unknown command is ignored;
2. a classifier trained on ``agents/routing/data/routing_train.jsonl``: candidates over MiniLM embeddings (logistic
   regression, nearest centroid), a TF-IDF word + char n-gram logistic regression, and ensembles of both; the best
   by stratified 5-fold cross-validation on the training set is kept (``Router.chosen``, ``Router.cv_scores``).

Labelling rules of the training and evaluation sets, for requests that could go two ways:
- a request that *failed* (error, exception, timeout, tool error, hallucination, refusal, safety block, incident)
  goes to ``failure`` even if slowness caused it; latency/throughput/cost/token distributions go to ``performance``;
- comparing *models* on telemetry metrics (latency, cost) is ``performance``; comparing agents, versions, prompts or
  evaluation runs (A/B, significance, which to promote) is ``comparator``;
- what production users say (ratings, complaints, escalations, even about hallucinations or slowness) and turning it
  into scenarios is ``feedback``; building or revising scenarios otherwise is ``dataset_builder``;
- grading single traces is ``judge``; aggregating grades into pass rates and reports is ``analyst``;
- greetings, help, log search and anything that is no specialist's task (including "approve the deployment": no
  agent approves anything) is ``general``.

The fitted model is cached with pickle under the data dir (``models/router.pkl``), keyed by a sha1 of the training
file, the embedder and ``MODEL_VERSION``; the data dir belongs to the user, as the Postgres and MLflow stores do.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from agents.registry import AGENT_NAMES, DEFAULT_AGENT, AgentName
from agents.routing.examples import load_jsonl
from agents.routing.models import RouteDecision, RoutingExample

AGENTS: tuple[str, ...] = AGENT_NAMES
MODEL_VERSION = "2"  # bump when the pickled structure changes
TRAIN_PATH = Path(__file__).parent / "data" / "routing_train.jsonl"
CANDIDATES: tuple[str, ...] = ("centroid", "emb_lr", "tfidf_lr", "ensemble_50", "ensemble_70")
MAX_CHARS = 2000

COMMANDS: dict[str, AgentName] = {
    **{name: name for name in AGENT_NAMES},
    "failures": "failure", "fail": "failure", "perf": "performance", "dataset": "dataset_builder",
    "simulate": "simulator", "sim": "simulator", "analyze": "analyst", "analyse": "analyst",
    "compare": "comparator", "ask": "general", "help": "general",
}
_COMMAND_RE = re.compile(r"^\s*[/@]([A-Za-z][\w-]*)(?=\s|$|[:,.!?])[:,]?\s*", re.DOTALL)

EmbedFn = Callable[[list[str]], np.ndarray]


def parse_command(q: str) -> tuple[AgentName | None, str]:
    """Split a leading ``/command`` or ``@agent`` off ``q``: (agent or None, the rest of the request)."""
    m = _COMMAND_RE.match(q)
    if m is None:
        return None, q
    agent = COMMANDS.get(m.group(1).lower().replace("-", "_"))
    return (agent, q[m.end():]) if agent else (None, q)


def _clean(q: str) -> str:
    return " ".join(q.split())[:MAX_CHARS]


def _default_embed() -> tuple[EmbedFn, str]:
    from core.providers import embed_texts, embedder_spec, get_embeddings

    spec = embedder_spec()

    def embed(texts: list[str]) -> np.ndarray:
        return embed_texts(texts, get_embeddings())

    return embed, f"{spec.name}:{spec.model}:{spec.dim}"


def _tfidf_pipeline() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    features = make_union(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=1),
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w[\w.-]*\b"),
    )
    return make_pipeline(features, LogisticRegression(C=20.0, solver="newton-cg", max_iter=1000))


def _emb_lr() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=20.0, solver="newton-cg", max_iter=1000)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return np.asarray(e / e.sum(axis=1, keepdims=True))


class _Fitted:
    """Fitted components (centroids, embedding LR, TF-IDF LR) and how ``kind`` combines them into probabilities."""

    def __init__(self, kinds: Sequence[str], texts: list[str], emb: np.ndarray, y: np.ndarray) -> None:
        self.kinds = tuple(kinds)
        need = {p for k in self.kinds for p in (("emb_lr", "tfidf_lr") if k.startswith("ensemble") else (k,))}
        self.centroids: np.ndarray | None = None
        self.emb_clf: Any = _emb_lr().fit(emb, y) if "emb_lr" in need else None
        self.tfidf: Any = _tfidf_pipeline().fit(texts, y) if "tfidf_lr" in need else None
        if "centroid" in need:
            c = np.stack([emb[y == i].mean(axis=0) for i in range(len(AGENTS))])
            self.centroids = c / np.linalg.norm(c, axis=1, keepdims=True)

    def proba(self, texts: list[str], emb: np.ndarray) -> dict[str, np.ndarray]:
        """(n, 9) probabilities in ``AGENTS`` order for each kind this was fitted for."""
        parts: dict[str, np.ndarray] = {}
        if self.centroids is not None:
            parts["centroid"] = _softmax(20.0 * emb @ self.centroids.T)
        if self.emb_clf is not None:
            parts["emb_lr"] = np.asarray(self.emb_clf.predict_proba(emb))
        if self.tfidf is not None:
            parts["tfidf_lr"] = np.asarray(self.tfidf.predict_proba(texts))
        out = {}
        for kind in self.kinds:
            if kind.startswith("ensemble"):
                w = int(kind.rsplit("_", 1)[1]) / 100.0
                out[kind] = w * parts["emb_lr"] + (1 - w) * parts["tfidf_lr"]
            else:
                out[kind] = parts[kind]
        return out


class Router:
    """Commands first, then a classifier chosen by cross-validation over embedding and lexical models."""

    fit_count: ClassVar[int] = 0

    def __init__(self, embed: EmbedFn | None = None, embedder_name: str | None = None,
                 candidates: Sequence[str] = CANDIDATES, cv_folds: int = 5, seed: int = 0) -> None:
        if embed is None:
            embed, default_name = _default_embed()
            embedder_name = embedder_name or default_name
        self._embed: EmbedFn | None = embed
        self.embedder_name = embedder_name or "custom"
        self.candidates = tuple(candidates)
        self.cv_folds = cv_folds
        self.seed = seed
        self.cv_scores: dict[str, float] = {}
        self.chosen: str = ""
        self._model: _Fitted | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_embed"] = None  # the embedder is re-attached on load, never pickled
        return state

    def attach_embedder(self, embed: EmbedFn) -> Router:
        """Set the embedding function (after unpickling)."""
        self._embed = embed
        return self

    def _embed_texts(self, texts: list[str]) -> np.ndarray:
        if self._embed is None:
            raise RuntimeError("Router has no embedder: call attach_embedder() after loading")
        return self._embed(texts)

    def fit(self, examples: Sequence[RoutingExample | Mapping[str, str]]) -> Router:
        """Cross-validate the candidates on ``examples``, keep the best, refit it on all of them."""
        from sklearn.model_selection import StratifiedKFold

        rows = [e if isinstance(e, RoutingExample) else RoutingExample.model_validate(e) for e in examples]
        texts = [_clean(r.q) for r in rows]
        y = np.array([AGENTS.index(r.agent) for r in rows])
        missing = [a for i, a in enumerate(AGENTS) if not np.any(y == i)]
        if missing:
            raise ValueError(f"training set has no examples for {missing}")
        emb = self._embed_texts(texts)
        folds = list(StratifiedKFold(self.cv_folds, shuffle=True, random_state=self.seed).split(texts, y))
        scores = dict.fromkeys(self.candidates, 0.0)
        for tr, te in folds:
            probas = _Fitted(self.candidates, [texts[i] for i in tr], emb[tr], y[tr]).proba(
                [texts[i] for i in te], emb[te])
            for kind, p in probas.items():
                scores[kind] += float(np.mean(p.argmax(axis=1) == y[te])) / len(folds)
        scores = {k: round(v, 4) for k, v in scores.items()}
        self.cv_scores = scores
        self.chosen = max(self.candidates, key=lambda k: scores[k])  # ties: the earlier (simpler) candidate
        self._model = _Fitted([self.chosen], texts, emb, y)
        type(self).fit_count += 1
        return self

    def _classify(self, texts: list[str]) -> list[RouteDecision]:
        if self._model is None:
            raise RuntimeError("Router is not fitted: call fit() or use load_router()")
        probs = self._model.proba(texts, self._embed_texts(texts))[self.chosen]
        out = []
        for p in probs:
            order = np.argsort(-p)
            top, second = AGENTS[int(order[0])], AGENTS[int(order[1])]
            out.append(RouteDecision(
                agent=top, confidence=round(float(p[order[0]]), 4), method="classifier",  # type: ignore[arg-type]
                reason=f"{self.chosen} classifier: {top} {p[order[0]]:.2f}, then {second} {p[order[1]]:.2f}",
                scores={a: round(float(s), 4) for a, s in zip(AGENTS, p, strict=True)},
            ))
        return out

    def predict_many(self, qs: Sequence[str]) -> list[RouteDecision]:
        """Route many requests (the classifier embeds them in one batch)."""
        results: list[RouteDecision | None] = [None] * len(qs)
        pending: list[tuple[int, str]] = []
        for i, q in enumerate(qs):
            agent, rest = parse_command(q if isinstance(q, str) else str(q))
            if agent is not None:
                results[i] = RouteDecision(agent=agent, confidence=1.0, method="command", scores={agent: 1.0},
                                           reason=f"explicit command for {agent}")
            elif not _clean(rest):
                results[i] = RouteDecision(agent=DEFAULT_AGENT, confidence=1.0 / len(AGENTS), method="classifier",
                                           reason="empty request: defaulting to general")
            else:
                pending.append((i, _clean(rest)))
        if pending:
            for (i, _), decision in zip(pending, self._classify([t for _, t in pending]), strict=True):
                results[i] = decision
        return [r for r in results if r is not None]

    def predict(self, q: str) -> RouteDecision:
        """Route one request: an explicit command wins, otherwise the classifier decides."""
        return self.predict_many([q])[0]


def cache_key(train_path: Path, embedder_name: str) -> str:
    """sha1 of the training file's bytes, the embedder's name and the model version."""
    h = hashlib.sha1(train_path.read_bytes())
    h.update(f"\0{embedder_name}\0{MODEL_VERSION}".encode())
    return h.hexdigest()


def default_cache_path() -> Path:
    """``<data dir>/models/router.pkl``."""
    from core.settings import get_settings

    return get_settings().home_dir / "models" / "router.pkl"


_LOADED: dict[tuple[str, str], Router] = {}


def clear_router_cache() -> None:
    """Forget routers loaded in this process (the file cache on disk stays)."""
    _LOADED.clear()


def load_router(train_path: Path | None = None, cache_path: Path | None = None, refit: bool = False) -> Router:
    """The router fitted on the shipped training set: from memory, else from the disk cache, else fitted and cached."""
    train_path = train_path or TRAIN_PATH
    cache_path = cache_path or default_cache_path()
    embed, embedder_name = _default_embed()
    key = cache_key(train_path, embedder_name)
    memo = (key, str(cache_path))
    if not refit and memo in _LOADED:
        return _LOADED[memo]
    router: Router | None = None
    if not refit and cache_path.exists():
        try:
            with cache_path.open("rb") as fh:
                blob = pickle.load(fh)
            if isinstance(blob, dict) and blob.get("key") == key and isinstance(blob.get("router"), Router):
                router = blob["router"].attach_embedder(embed)
        except Exception:  # a stale or corrupt cache is refitted, never fatal
            router = None
    if router is None:
        router = Router(embed=embed, embedder_name=embedder_name).fit(load_jsonl(train_path))
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            pickle.dump({"key": key, "router": router}, fh)
        os.replace(tmp, cache_path)
    _LOADED[memo] = router
    return router

"""Cluster keywords by class-based TF-IDF (c-TF-IDF, as in BERTopic).

All documents of a cluster are treated as one class document. For term t and class c:
``w(t, c) = tf(t, c) / sum_t' tf(t', c) * log(1 + A / f(t))`` where ``A`` is the average number of term
occurrences per class and ``f(t)`` the frequency of t across all classes. Terms frequent in one cluster
and rare elsewhere score highest. English stop words and tokens shorter than 3 letters are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer

TOKEN_PATTERN = r"(?u)\b[a-zA-Z][a-zA-Z0-9_\-]{2,}\b"


def class_tfidf_keywords(
    texts: Sequence[str],
    labels: np.ndarray,
    top_n: int = 8,
    ngram_range: tuple[int, int] = (1, 1),
    max_features: int = 20000,
    extra_stop_words: Sequence[str] = (),
) -> dict[int, list[tuple[str, float]]]:
    """Top ``top_n`` (term, weight) pairs per label by c-TF-IDF; labels without any token map to ``[]``.

    ``texts`` and ``labels`` are aligned row by row; every distinct label (noise -1 included) is a class.
    """
    labels = np.asarray(labels)
    classes = [int(c) for c in np.unique(labels)]
    if not classes:
        return {}
    joined = [" ".join(str(t) for t, keep in zip(texts, labels == c, strict=True) if keep) for c in classes]
    stop: list[str] | str = "english"
    if extra_stop_words:
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        stop = sorted(ENGLISH_STOP_WORDS.union(w.lower() for w in extra_stop_words))
    vectorizer = CountVectorizer(
        stop_words=stop,
        token_pattern=TOKEN_PATTERN,
        lowercase=True,
        ngram_range=ngram_range,
        max_features=max_features,
    )
    try:
        counts = vectorizer.fit_transform(joined)
    except ValueError:  # empty vocabulary: no usable tokens anywhere
        return {c: [] for c in classes}
    tf = np.asarray(counts.toarray(), dtype=np.float64)
    totals = tf.sum(axis=1, keepdims=True)
    tf_norm = tf / np.where(totals == 0, 1.0, totals)
    avg_words = float(totals.mean())
    term_freq = tf.sum(axis=0)
    idf = np.log(1.0 + avg_words / np.where(term_freq == 0, 1.0, term_freq))
    weights = tf_norm * idf
    vocab = vectorizer.get_feature_names_out()
    out: dict[int, list[tuple[str, float]]] = {}
    for row, c in enumerate(classes):
        order = np.argsort(-weights[row], kind="stable")[:top_n]
        out[c] = [(str(vocab[j]), round(float(weights[row, j]), 5)) for j in order if weights[row, j] > 0]
    return out

"""What a reply does, read by meaning rather than by its words: speech acts recognised through the embedder.

Each act has a few prototype sentences (written here in plain words of their own, not copied from any agent's
wording). A sentence performs an act when its cosine similarity to the act's nearest prototype reaches the act's
threshold and it is not negated ("I can't transfer you"). Used by the simulated user and the judge beside their
structural checks, so a paraphrased agent is understood."""

from __future__ import annotations

import re
from functools import cache

import numpy as np

PROTOTYPES: dict[str, tuple[str, ...]] = {
    "asks_order_reference": ("Can you tell me the number of your order?",
                             "Please send me the reference of the purchase you mean.",
                             "Which order are you asking about? I need its identifier from the receipt."),
    "hands_off": ("I am transferring you to a person from our team.",
                  "Someone from our staff will continue this conversation with you.",
                  "Let me pass you to a live representative who will reply here."),
    "refund_done": ("Your payment has been returned to you.",
                    "We have given you your money back to your card.",
                    "The charge was reversed and the amount credited to you."),
    "apologises": ("I am sorry for the inconvenience this caused.",
                   "My apologies, that must be very annoying for you."),
}
THRESHOLD = {"asks_order_reference": 0.5, "hands_off": 0.35, "refund_done": 0.5, "apologises": 0.5}
# what the sentence must also show, whatever its meaning: a question or request, or a completed (not offered) act
GUARD: dict[str, re.Pattern[str]] = {
    "asks_order_reference": re.compile(r"\?|\b(please|send|share|give|tell|provide)\b", re.I),
    "refund_done": re.compile(r"\b(has|have|had|is|are|was|were)\b|'ve\b|'s\b", re.I),
    "hands_off": re.compile(r"\b(colleague|agent|person|people|human|specialist|representative|staff|someone|"
                            r"team ?mate|supervisor|manager)\b.*\b(transfer\w*|hand\w*|pass\w*|connect\w*|"
                            r"tak\w* over|join\w*|continu\w*|escalat\w*|forward\w*|answer\w*|reply|replies)\b|"
                            r"\b(transfer\w*|hand\w*|pass\w*|connect\w*|escalat\w*|forward\w*)\b.*\b(colleague|"
                            r"agent|person|human|specialist|representative|staff|someone|supervisor|manager)\b", re.I),
}
UNLESS: dict[str, re.Pattern[str]] = {
    "refund_done": re.compile(r"\b(can|could|would|arrange|able to|if|once|after|until|when)\b", re.I),
}
NEGATED = re.compile(r"\b(can't|cannot|unable|not able|no need|won't|will not|don't|do not|never|nobody|no one)\b",
                     re.I)
_VECTORS: dict[str, np.ndarray] = {}
_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+|;\s*")


@cache
def _prototype_vectors(act: str) -> np.ndarray:
    from core.providers import embed_texts

    return _unit(embed_texts(list(PROTOTYPES[act])))


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` (lines and sentence ends)."""
    return [s.strip() for s in _SPLIT.split(text) if len(s.strip()) > 3]


def act_scores(text: str, act: str) -> list[tuple[str, float]]:
    """Each sentence of ``text`` with its similarity to ``act`` (0 for a negated sentence, or one without the act's
    guard)."""
    from core.providers import embed_texts

    said = sentences(text)
    if not said:
        return []
    missing = [x for x in dict.fromkeys(said) if x not in _VECTORS]
    if missing:  # agents repeat their phrases: each sentence is embedded once per process
        for x, v in zip(missing, _unit(embed_texts(missing)), strict=True):
            _VECTORS[x] = v
    sims = (np.stack([_VECTORS[x] for x in said]) @ _prototype_vectors(act).T).max(axis=1)
    guard, unless = GUARD.get(act), UNLESS.get(act)
    return [(s, 0.0 if NEGATED.search(s) or (guard and not guard.search(s)) or (unless and unless.search(s))
             else float(v)) for s, v in zip(said, sims, strict=True)]


def performs(text: str, act: str) -> bool:
    """Whether some sentence of ``text`` performs ``act``."""
    return any(v >= THRESHOLD[act] for _, v in act_scores(text, act))

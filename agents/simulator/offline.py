"""The simulated user's offline handler: the persona played deterministically from the request.

What the goal needs (a handoff, a refund, information, or steps), the private facts (the order id, given only
when asked), and patience (lower for angry personas; an unacknowledged angry turn costs extra).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from langchain_core.messages import BaseMessage

from agents.simulator.models import UserMove, UserMoveRequest
from analytics.speech_acts import performs
from core.contracts import Scenario, strip_provider_note
from core.evidence import request_of
from core.offline_llm import register_structured_handler

_I = re.IGNORECASE
ASKED_ORDER = re.compile(r"order (id|number|#|reference)[^.!\n]*\?|(share|send|provide|give|need)[^.!?\n]{0,40}"
                         r"order (id|number|#|reference)", _I)
HANDOFF = re.compile(r"\b(human|real person|specialist|supervisor|manager|handing you|hand you|transfer\w*|"
                     r"escalat\w*|colleague)\b", _I)
REFUSAL = re.compile(r"\b(can't|cannot|unable|not able|myself)\b", _I)
REFUND_DONE = re.compile(r"\b(refund\w*|revers\w*|money back)\b[^.\n]*\b(processed|issued|reversed|submitted|"
                         r"approved|on its way|initiated|refunded)\b|\b(processed|issued|reversed|submitted|approved|"
                         r"initiated)\b[^.\n]*\b(refund|charge|reversal)", _I)
EMPATHY = re.compile(r"\b(sorry|apolog\w*|understand how|frustrat\w*)", _I)
STEPS = re.compile(r"^\s*\d+[.)]\s", re.M)
STOPWORDS = {"with", "that", "this", "from", "what", "whether", "after", "before", "about", "learn", "find",
             "understand", "know", "the", "and", "get", "out", "for"}

CLOSING = {False: ["Thanks, that's what I needed.", "Great, that sorts it. Thank you!", "Perfect, thank you."],
           True: ["Fine. That works.", "Okay, finally. That's what I needed.", "Right. That will do."]}
ABANDON = {False: ["I don't think this is going anywhere, I'll try another way.", "Never mind, I'll look elsewhere."],
           True: ["Forget it. This is useless, I'm done.", "Unbelievable. I'm taking my business elsewhere."]}
NUDGE = {
    "handoff": (["Can I talk to a human, please?", "I'd really prefer to speak with a person about this."],
                ["Get me a real person. Now.", "I said I want a human, not a bot. This is ridiculous!"]),
    "refund": (["So will I get my money back or not?", "Could you just process the refund, please?"],
               ["Just give me my money back!!", "Stop stalling and refund me. This is unacceptable."]),
    "info": (["That doesn't really answer my question.", "Sorry, I still don't know the answer to what I asked."],
             ["You didn't answer my question. Useless!", "That's not what I asked. This is ridiculous."]),
    "steps": (["I tried that and it still doesn't work. What exactly should I do?", "Could you walk me through it?"],
              ["That didn't help at all!! What do I actually do?", "Still broken. This is unacceptable."]),
}


def _pick(options: list[str], *key: object) -> str:
    digest = hashlib.sha1("|".join(map(str, key)).encode()).hexdigest()
    return options[int(digest, 16) % len(options)]


def goal_need(scenario: Scenario) -> str:
    """What the goal needs from the agent: handoff, refund, info or steps."""
    goal = scenario.goal.lower()
    if re.search(r"human|manager|specialist|escalat|person", goal):
        return "handoff"
    if re.search(r"^(learn|find out|understand|know)\b", goal):
        return "info"
    if re.search(r"refund|money back|revers|duplicate charge|extra charges", goal):
        return "refund"
    return "steps"


def _stems(text: str) -> set[str]:
    return {w[:5] for w in re.findall(r"[a-z0-9]{3,}", text.lower()) if w not in STOPWORDS}


def asked_for_order(reply: str) -> bool:
    """Whether ``reply`` asks which order (purchase, reference) this is about."""
    return bool(ASKED_ORDER.search(reply)) or performs(reply, "asks_order_reference")


def satisfied(need: str, reply: str, scenario: Scenario) -> bool:
    """Whether ``reply`` delivers what the goal needs, by what it does (speech acts read through the embedder,
    the structure of its steps) and not by any agent's exact words."""
    if need == "handoff":
        return any(HANDOFF.search(s) and not REFUSAL.search(s)
                   for s in re.split(r"(?<=[.!?])\s+", reply)) or performs(reply, "hands_off")
    if need == "refund":
        return bool(REFUND_DONE.search(reply)) or performs(reply, "refund_done")
    if need == "info":
        goal = _stems(scenario.goal)
        return len(goal & _stems(reply)) >= max(2, len(goal) // 3)
    return len(STEPS.findall(reply)) >= 2


def offline_move(req: UserMoveRequest) -> UserMove:
    """Play the persona for one move from the request (scenario, seed, facts, numbered conversation)."""
    sc, seed, facts, turns = req.scenario, req.seed, req.facts, req.conversation
    angry = bool(facts.get("angry"))
    need = goal_need(sc)
    replies = [strip_provider_note(t.content) for t in turns if t.role == "assistant"]
    last = replies[-1] if replies else ""
    if satisfied(need, last, sc):
        return UserMove(message=_pick(CLOSING[angry], sc.id, seed, len(turns)), status="goal_met",
                        reason=f"the {need} the goal needs was delivered in the last reply")
    if asked_for_order(last) and facts.get("order_id"):
        oid = facts["order_id"]
        return UserMove(message=_pick([f"It's {oid}.", f"Sure, the order id is {oid}.", f"{oid}"], sc.id, seed,
                                      len(turns)), status="continue", reason="the agent asked for the order id")
    wasted = sum(1 for r in replies if not asked_for_order(r))
    if angry:
        wasted += sum(1 for r in replies if not EMPATHY.search(r))
    if wasted >= int(facts.get("patience", 3)):
        return UserMove(message=_pick(ABANDON[angry], sc.id, seed), status="abandoned",
                        reason=f"patience exhausted after {len(replies)} unhelpful replies")
    return UserMove(message=_pick(NUDGE[need][angry], sc.id, seed, len(turns)), status="continue",
                    reason=f"still waiting for the {need} the goal needs")


def move_offline(messages: Sequence[BaseMessage]) -> UserMove:
    """The offline simulated-user model: the persona's move for the request in ``messages``."""
    return offline_move(request_of(messages, UserMoveRequest))


def register_offline_handlers() -> None:
    """Register the simulated user's offline handler with the offline model."""
    register_structured_handler(UserMove, move_offline)

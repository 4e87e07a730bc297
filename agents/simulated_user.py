"""The simulated user: an LLM role (``get_chat_model(agent="simulated_user")``) that plays a scenario's persona.

Each move is a structured ``UserMove`` (message + status continue | goal_met | abandoned). Offline the persona is
played deterministically per seed from the scenario and the conversation: what the goal needs (a handoff, a
refund, information, or steps), private facts (the order id, given only when asked), and patience (lower for angry
personas, and an unacknowledged angry turn costs extra).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any, Literal

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from agents.llm_io import json_request
from agents.prompts import load_prompt
from core.contracts import Scenario, Turn, strip_provider_note
from core.offline_llm import register_structured_handler
from core.providers import get_chat_model

_I = re.IGNORECASE
ANGRY = re.compile(r"angry|furious|irate|frustrated|fuming|livid|impatient|fed up|unacceptable|ridiculous", _I)
ORDER_IN_TEXT = re.compile(r"\bORD-?\d{4,}\b", _I)
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


class UserMove(BaseModel):
    """The simulated user's next message and whether the conversation goes on."""

    message: str
    status: Literal["continue", "goal_met", "abandoned"]
    reason: str


def _pick(options: list[str], *key: object) -> str:
    digest = hashlib.sha1("|".join(map(str, key)).encode()).hexdigest()
    return options[int(digest, 16) % len(options)]


def private_facts(scenario: Scenario, seed: int) -> dict[str, Any]:
    """What only the user knows: the order id (from the opening, else derived) and their patience."""
    found = ORDER_IN_TEXT.search(scenario.opening_message)
    digits = int(hashlib.sha1(f"{scenario.id}:{seed}".encode()).hexdigest(), 16) % 90000 + 10000
    angry = bool(ANGRY.search(f"{scenario.persona} {scenario.opening_message}"))
    return {"order_id": found.group(0).upper() if found else f"ORD-{digits}",
            "patience": (2 if angry else 3) + seed % 2, "angry": angry}


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


def satisfied(need: str, reply: str, scenario: Scenario) -> bool:
    """Whether ``reply`` delivers what the goal needs."""
    if need == "handoff":
        return any(HANDOFF.search(s) and not REFUSAL.search(s) for s in re.split(r"(?<=[.!?])\s+", reply))
    if need == "refund":
        return bool(REFUND_DONE.search(reply))
    if need == "info":
        goal = _stems(scenario.goal)
        return len(goal & _stems(reply)) >= max(2, len(goal) // 3)
    return len(STEPS.findall(reply)) >= 2 or "Settings >" in reply


def offline_move(req: dict[str, Any]) -> UserMove:
    """Play the persona for one move from the request (scenario, seed, facts, numbered conversation)."""
    sc = Scenario.model_validate(req["scenario"])
    seed, facts = int(req.get("seed", 0)), req.get("facts") or {}
    turns: list[dict[str, str]] = req.get("conversation", [])
    angry = bool(facts.get("angry"))
    need = goal_need(sc)
    replies = [strip_provider_note(t["content"]) for t in turns if t["role"] == "assistant"]
    last = replies[-1] if replies else ""
    if satisfied(need, last, sc):
        return UserMove(message=_pick(CLOSING[angry], sc.id, seed, len(turns)), status="goal_met",
                        reason=f"the {need} the goal needs was delivered in the last reply")
    if ASKED_ORDER.search(last) and facts.get("order_id"):
        oid = facts["order_id"]
        return UserMove(message=_pick([f"It's {oid}.", f"Sure, the order id is {oid}.", f"{oid}"], sc.id, seed,
                                      len(turns)), status="continue", reason="the agent asked for the order id")
    wasted = sum(1 for r in replies if not ASKED_ORDER.search(r))
    if angry:
        wasted += sum(1 for r in replies if not EMPATHY.search(r))
    if wasted >= int(facts.get("patience", 3)):
        return UserMove(message=_pick(ABANDON[angry], sc.id, seed), status="abandoned",
                        reason=f"patience exhausted after {len(replies)} unhelpful replies")
    return UserMove(message=_pick(NUDGE[need][angry], sc.id, seed, len(turns)), status="continue",
                    reason=f"still waiting for the {need} the goal needs")


def _handler(messages: Sequence[BaseMessage]) -> UserMove:
    return offline_move(json_request(messages))


register_structured_handler(UserMove, _handler)


def next_user_move(scenario: Scenario, seed: int, history: list[Turn]) -> UserMove:
    """Ask the simulated-user model for its next move after ``history``."""
    payload = {"scenario": scenario.model_dump(mode="json"), "seed": seed,
               "facts": private_facts(scenario, seed),
               "conversation": [{"turn": i, "role": t.role, "content": t.content} for i, t in enumerate(history, 1)]}
    model = get_chat_model(agent="simulated_user").with_structured_output(UserMove)
    out = model.invoke([SystemMessage(load_prompt("simulator_user")),
                        HumanMessage(json.dumps(payload, sort_keys=True))])
    return out if isinstance(out, UserMove) else UserMove.model_validate(out)

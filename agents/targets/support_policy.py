"""The offline support policy: a rule-based reply computed from the system prompt and the conversation.

It is the offline provider's text handler for the sample support agents, so offline they answer through the same
``get_chat_model(...).invoke`` call as on Gemini. It reads, from the messages:

- the system prompt's ``## Policies`` (name -> text) and ``## Rules`` sections; only explicit rules change
  behaviour (verify the order id before a refund, hand off on request, cite the policy, a word limit,
  acknowledge frustration), so a prompt edit is what distinguishes one version from another;
- the conversation: the intent (refund, duplicate charge, account access, export, cancellation,
  troubleshooting, policy question), order ids, escalation requests, anger and thanks.

Without rules it behaves like an over-eager assistant: verbose step-by-step answers, immediate refund promises,
no policy names and no handoff.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from agents.targets.support_wording import WORDINGS
from analytics.elapsed import days_ago

ORDER_ID = re.compile(r"\bORD-?\d{4,}\b|\border\s*(?:#|number|no\.?|id)?\s*(?:is\s*)?:?\s*#?(\d{5,})\b", re.I)
_ESCALATE = re.compile(r"\b(human|real person|manager|supervisor|escalat\w*|someone else|live agent|an agent)\b", re.I)
_ANGRY = re.compile(r"!!|\b(ridiculous|unacceptable|furious|angry|worst|useless|joke|sick of|fed up|"
                    r"third time|wtf|outrageous|scam)\b", re.IGNORECASE)
_THANKS = re.compile(r"\b(thanks|thank you|that worked|perfect|great, that|all sorted|that's all)\b", re.I)
_POLICY_Q = re.compile(r"\b(how long|window|eligible|policy|what is your|what's your|do you offer|allowed|"
                       r"am i able|is it possible|refundable|can i still)\b", re.IGNORECASE)
_REQUEST = re.compile(r"\b(i want|i need|i'd like|i would like|please|give me|refund me|process|"
                      r"get my money|want my money)\b", re.IGNORECASE)
INTENTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("duplicate_charge", re.compile(r"charged twice|double[- ]charged|duplicate (charge|payment)|billed twice|"
                                    r"two charges|charged two times", re.I)),
    ("refund", re.compile(r"refund|money back|reimburs|charge ?back", re.I)),
    ("account", re.compile(r"password|log ?in|sign ?in|locked out|2fa|two-factor|reset link", re.I)),
    ("export", re.compile(r"export|download (all )?(my|our) data|backup|migrate our data", re.I)),
    ("cancel", re.compile(r"cancel|unsubscribe|close (my|our) account|stop (my|the|our) subscription", re.I)),
    ("troubleshoot", re.compile(r"error|bug|crash|not working|broken|doesn'?t work|won'?t (load|sync|open)|"
                                r"\bsync|slow|fail|stuck|blank", re.I)),
)
POLICY_FOR = {"refund": "refund", "duplicate_charge": "billing", "account": "security", "export": "export",
              "cancel": "cancel"}
@dataclass
class PromptRules:
    """What the system prompt tells the agent to do (explicit rules only) and the policies it knows."""

    verify_order: bool = False
    honour_escalation: bool = False
    cite_policy: bool = False
    acknowledge: bool = False
    max_words: int | None = None
    max_steps: int | None = None
    policies: dict[str, str] = field(default_factory=dict)
    wording: str = "default"  # "paraphrased": the alternative house wording (``## Style``)
    check_window: bool = False  # past the refund policy's full-refund window, offer only what it allows

    @classmethod
    def from_prompt(cls, prompt: str) -> PromptRules:
        """Parse the ``## Rules`` and ``## Policies`` sections of a system prompt."""
        rules = _section(prompt, "rules").lower()
        policies = {m["name"].strip(): m["text"].strip() for m in re.finditer(
            r"^-\s*(?P<name>[^:\n]*Polic[^:\n]*):\s*(?P<text>.+)$", _section(prompt, "policies"), re.M)}
        words = re.search(r"under (\d+) words", rules)
        steps = re.search(r"at most (\d+)\b[^.\n]{0,20}steps", rules)
        return cls(
            verify_order=bool(re.search(r"order id[^\n]{0,80}\b(before|until)\b|\b(before|until)\b[^\n]{0,80}"
                                        r"order id", rules)),
            honour_escalation=bool(re.search(r"\b(human|manager|escalat)", rules)),
            cite_policy=bool(re.search(r"\bcite\b[^\n]{0,40}polic", rules)),
            acknowledge=bool(re.search(r"(acknowledge|apologi[sz]e|empathi[sz]e)[^\n]{0,60}(frustrat|angry|upset)",
                                       rules)),
            max_words=int(words.group(1)) if words else None,
            max_steps=int(steps.group(1)) if steps else None,
            policies=policies,
            wording="paraphrased" if "alternative house wording" in _section(prompt, "style").lower() else "default",
            check_window=bool(re.search(r"how long ago|purchase date|refund window", rules)),
        )

    def policy(self, key: str) -> tuple[str, str] | None:
        """The first policy whose name contains ``key``."""
        return next(((n, t) for n, t in self.policies.items() if key in n.lower()), None)

    def best_policy(self, text: str) -> tuple[str, str] | None:
        """The policy sharing most words with ``text``."""
        words = _stems(text)
        scored = [(len(words & _stems(f"{n} {t}")), n, t) for n, t in self.policies.items()]
        best = max(scored, default=(0, "", ""))
        return (best[1], best[2]) if best[0] else None


def _stems(text: str) -> set[str]:
    return {w[:5] for w in re.findall(r"[a-z]{4,}", text.lower())} - {"your", "with", "from", "that", "this", "what"}


def _section(prompt: str, title: str) -> str:
    m = re.search(rf"^##\s*{title}\b.*?$(.*?)(?=^##\s|\Z)", prompt, re.I | re.M | re.S)
    return m.group(1) if m else ""


def find_order_id(text: str) -> str | None:
    """The order id mentioned in ``text``, normalised to ``ORD-<digits>``."""
    m = ORDER_ID.search(text)
    if not m:
        return None
    digits = re.sub(r"\D", "", m.group(0))
    return f"ORD-{digits}"


def detect_intent(user_texts: list[str]) -> str:
    """The latest topical intent of the user (an order-id reply or an escalation request keeps the earlier one)."""
    for text in reversed(user_texts):
        if _POLICY_Q.search(text) and not _REQUEST.search(text) and not find_order_id(text):
            return "policy"
        for name, pattern in INTENTS:
            if pattern.search(text):
                return name
    return "unknown"


def _pick(options: list[str], key: str) -> str:
    return options[int(hashlib.sha1(key.encode()).hexdigest(), 16) % len(options)]


def _words(text: str) -> int:
    return len(text.split())


def compose_reply(rules: PromptRules, user_texts: list[str], assistant_texts: list[str]) -> str:
    """The agent's next reply, from its rules and the conversation so far."""
    words, _, padding = WORDINGS[rules.wording]
    last = user_texts[-1] if user_texts else ""
    key = "|".join(user_texts)
    order_id = next((o for o in map(find_order_id, reversed(user_texts)) if o), None)
    intent = detect_intent(user_texts)
    if _THANKS.search(last) and not _ESCALATE.search(last) and assistant_texts:
        return _pick(words["welcome"], key)
    lead: list[str] = []
    if _ANGRY.search(last):
        lead.append(words["acknowledge" if rules.acknowledge else "patience"][0])
    if _ESCALATE.search(last) and rules.honour_escalation:
        return " ".join([*lead, words["handoff"][0]])
    if _ESCALATE.search(last):
        lead.append(words["myself"][0])
    core, steps, policy = _answer(rules, intent, order_id, last, user_texts)
    if policy and rules.cite_policy:
        core.append(words["cite"][0].format(name=policy[0], text=policy[1][0].lower() + policy[1][1:]))
    elif policy:
        core.append(policy[1][0].upper() + policy[1][1:])
    if rules.max_words is None:  # no length rule: the verbose house style
        pre = _pick(words["pre"], key)
        padded = (steps + [p for p in padding if p not in steps])[:6]
        body = " ".join([pre, *lead, *core, words["overview"][0]])
        lines = [body, *[f"{i}. {s}" for i, s in enumerate(padded, 1)], words["outro"][0]]
        return "\n".join(lines)
    steps = steps[: rules.max_steps or 3]
    closing = _pick(words["closing"], key)
    while True:
        lines = [" ".join([*lead, *core]), *[f"{i}. {s}" for i, s in enumerate(steps, 1)], closing]
        text = "\n".join(line for line in lines if line)
        if _words(text) <= rules.max_words or (not steps and not closing):
            return text
        if steps:
            steps = steps[:-1]
        else:
            closing = ""


def _full_refund_days(policy: tuple[str, str] | None) -> int | None:
    """The full-refund window of the refund policy ("in full within 30 days")."""
    m = re.search(r"within (\d+) days", policy[1]) if policy else None
    return int(m[1]) if m else None


def _answer(rules: PromptRules, intent: str, order_id: str | None,
            last: str, users: list[str] | None = None) -> tuple[list[str], list[str], tuple[str, str] | None]:
    words, steps, _ = WORDINGS[rules.wording]
    policy = rules.policy(POLICY_FOR[intent]) if intent in POLICY_FOR else None
    if intent in ("refund", "duplicate_charge"):
        kind = "refund" if intent == "refund" else "reversal"
        if rules.verify_order and not order_id:
            return [words[f"help_{kind}"][0], words["ask_id"][0]], [], None
        found = words["found"][0].format(order_id=order_id) if order_id else ""
        window = _full_refund_days(policy)
        age = max(days_ago(last) or days_ago(" ".join(users or [])) or [0])
        if kind == "refund" and rules.check_window and window and age and age > window:
            return [found + words["pro_rata"][0].format(days=age, window=window)], [], policy
        return [found + words[f"done_{kind}"][0]], [], policy
    if intent in steps:
        return [words[f"intro_{intent}"][0]], list(steps[intent]), policy
    if intent == "policy":
        found_policy = rules.best_policy(last)
        if found_policy:
            return [words["good_question"][0]], [], found_policy
    return [words["clarify"][0]], [], None


def support_reply(messages: Sequence[BaseMessage]) -> str:
    """Text handler of the offline provider for the support agents: read the prompt and the conversation."""
    prompt = "\n".join(m.text for m in messages if isinstance(m, SystemMessage))
    users = [str(m.text) for m in messages if isinstance(m, HumanMessage)]
    assistants = [str(m.text) for m in messages if isinstance(m, AIMessage)]
    return compose_reply(PromptRules.from_prompt(prompt), users, assistants)

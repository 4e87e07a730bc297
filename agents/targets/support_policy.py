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
STEPS = {
    "account": ['Open the sign-in page and choose "Forgot password".',
                "Follow the reset link we email you (check spam if it has not arrived in 5 minutes).",
                "Sign in with the new password and re-enable two-factor authentication if asked."],
    "export": ["Go to Settings > Export.", "Choose CSV or JSON and start the export.",
               "Download the file from the link we email you."],
    "cancel": ["Open Settings > Billing.", 'Choose "Cancel subscription" and confirm.'],
    "troubleshoot": ["Sign out and back in, then reload the page.", "Update the app or clear the browser cache.",
                     "If it still fails, send me the exact error message and when it started."],
}
PADDING = ["Double-check that you are signed in to the correct workspace.",
           "Make sure your browser or desktop app is on the latest version.",
           "Check our status page for any ongoing incidents in your region.",
           "Review the help-center articles related to your question for more background.",
           "Keep an eye on your inbox, because confirmations are sent by email.",
           "Reach out again at any time if something still looks wrong."]


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
    last = user_texts[-1] if user_texts else ""
    key = "|".join(user_texts)
    order_id = next((o for o in map(find_order_id, reversed(user_texts)) if o), None)
    intent = detect_intent(user_texts)
    if _THANKS.search(last) and not _ESCALATE.search(last) and assistant_texts:
        return _pick(["You're welcome, glad that's sorted.", "Happy to help. Have a good day!"], key)
    lead: list[str] = []
    if _ANGRY.search(last):
        lead.append("I'm sorry about this, I understand how frustrating it is." if rules.acknowledge
                    else "Please note that we handle many requests and ask for your patience.")
    if _ESCALATE.search(last) and rules.honour_escalation:
        return " ".join([*lead, "I'm handing you over to a human agent now; they will see this whole conversation "
                                "and reply here within a few minutes."])
    if _ESCALATE.search(last):
        lead.append("I can definitely help you with this myself.")
    core, steps, policy = _answer(rules, intent, order_id, last)
    if policy and rules.cite_policy:
        core.append(f"This follows {policy[0]}: {policy[1][0].lower()}{policy[1][1:]}")
    elif policy:
        core.append(policy[1][0].upper() + policy[1][1:])
    if rules.max_words is None:  # no length rule: the verbose house style
        pre = _pick(["Thanks for contacting Nimbus support! Here is everything you need to know.",
                     "Thank you for reaching out to us today! I have gone through your request in detail.",
                     "Hello, and thanks for getting in touch with Nimbus support!"], key)
        padded = (steps + [p for p in PADDING if p not in steps])[:6]
        body = " ".join([pre, *lead, *core, "Here is a step-by-step overview:"])
        lines = [body, *[f"{i}. {s}" for i, s in enumerate(padded, 1)],
                 "If you have any other questions, feel free to reach out at any time. We are always happy to help, "
                 "and we truly appreciate your patience and your business."]
        return "\n".join(lines)
    steps = steps[: rules.max_steps or 3]
    closing = _pick(["Anything else I can help with?", "Let me know if anything else comes up."], key)
    while True:
        lines = [" ".join([*lead, *core]), *[f"{i}. {s}" for i, s in enumerate(steps, 1)], closing]
        text = "\n".join(line for line in lines if line)
        if _words(text) <= rules.max_words or (not steps and not closing):
            return text
        if steps:
            steps = steps[:-1]
        else:
            closing = ""


def _answer(rules: PromptRules, intent: str, order_id: str | None,
            last: str) -> tuple[list[str], list[str], tuple[str, str] | None]:
    policy = rules.policy(POLICY_FOR[intent]) if intent in POLICY_FOR else None
    if intent in ("refund", "duplicate_charge"):
        what = "a full refund" if intent == "refund" else "the reversal of the duplicate charge"
        if rules.verify_order and not order_id:
            return [f"I can help with {what}.", "What is your order id (it looks like ORD-12345)?"], [], None
        found = f"Thanks, I found order {order_id}. " if order_id else ""
        done = ("I've processed a full refund to your original payment method; it arrives within 5-7 business days."
                if intent == "refund" else "I've reversed the duplicate charge on your card.")
        return [found + done], [], policy
    if intent in STEPS:
        intro = {"account": "Let's get you back into your account.", "export": "You can export your data yourself.",
                 "cancel": "You can cancel the subscription in a few clicks.",
                 "troubleshoot": "Let's get that working again."}[intent]
        return [intro], list(STEPS[intent]), policy
    if intent == "policy":
        found_policy = rules.best_policy(last)
        if found_policy:
            return ["Good question."], [], found_policy
    return ["Could you tell me a little more about what you need, for example which feature or order it "
            "concerns?"], [], None


def support_reply(messages: Sequence[BaseMessage]) -> str:
    """Text handler of the offline provider for the support agents: read the prompt and the conversation."""
    prompt = "\n".join(m.text for m in messages if isinstance(m, SystemMessage))
    users = [str(m.text) for m in messages if isinstance(m, HumanMessage)]
    assistants = [str(m.text) for m in messages if isinstance(m, AIMessage)]
    return compose_reply(PromptRules.from_prompt(prompt), users, assistants)
